//! The queue view's failures as SQS errors: the one place a view error gets its wire code.

use protocol::aws::sqs::errors::{Error, ErrorCode};

use crate::views::queues::Error as ViewError;

/// The SQS error of a queue-view failure.
pub fn from_view(error: ViewError) -> Error {
    match error {
        ViewError::QueueNotFound(_) => Error::queue_does_not_exist(),
        ViewError::QueueExists(name) => Error::new(
            ErrorCode::QueueNameExists,
            format!(
                "A queue already exists with the same name ({name}) and a different value for an attribute."
            ),
        ),
        ViewError::DeletedRecently(_) => Error::new(
            ErrorCode::QueueDeletedRecently,
            "You must wait 60 seconds after deleting a queue before you can create another with the same name.",
        ),
        ViewError::PurgeInProgress(name) => Error::new(
            ErrorCode::PurgeQueueInProgress,
            format!("Only one PurgeQueue operation on {name} is allowed every 60 seconds."),
        ),
        ViewError::ReceiptInvalid(handle) => Error::new(
            ErrorCode::ReceiptHandleIsInvalid,
            format!(
                "The input receipt handle \"{}\" is not a valid receipt handle.",
                handle.chars().take(256).collect::<String>()
            ),
        ),
        ViewError::ReceiptExpired => Error::new(
            ErrorCode::InvalidParameterValue,
            "Value for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.",
        ),
        ViewError::MessageNotInflight => Error::of(ErrorCode::MessageNotInflight),
        ViewError::InvalidValue(message) => Error::new(ErrorCode::InvalidParameterValue, message),
        ViewError::MessageTooLong { max, .. } => Error::new(
            ErrorCode::InvalidParameterValue,
            format!(
                "One or more parameters are invalid. Reason: Message must be shorter than {max} bytes."
            ),
        ),
        ViewError::TooManyInFlight(max) => Error::new(
            ErrorCode::OverLimit,
            format!("The maximum number of in flight messages ({max}) is reached."),
        ),
        ViewError::MoveTaskNotFound(message) => {
            Error::new(ErrorCode::ResourceNotFoundException, message)
        }
        ViewError::MoveTaskRunning(message) => Error::new(ErrorCode::UnsupportedOperation, message),
        ViewError::StorageFull => Error::new(
            ErrorCode::ServiceUnavailable,
            "The server's disk is full; nothing was written. Retry later.",
        ),
        ViewError::Internal(detail) => super::internal(&detail),
    }
}
