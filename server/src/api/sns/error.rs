//! The topic view's failures as SNS errors: the one place a view error gets its wire code.

use protocol::aws::sns::errors::{Error, ErrorCode};

use crate::views::topics::Error as ViewError;

/// The SNS error of a topic-view failure.
pub fn from_view(error: ViewError) -> Error {
    match error {
        ViewError::TopicNotFound(_) => {
            Error::new(ErrorCode::NotFound, "Topic does not exist".to_owned())
        }
        ViewError::SubscriptionNotFound(_) => Error::new(
            ErrorCode::NotFound,
            "Subscription does not exist".to_owned(),
        ),
        ViewError::NotFound(message) => Error::new(ErrorCode::NotFound, message),
        ViewError::InvalidParameter(message) => Error::new(
            ErrorCode::InvalidParameter,
            format!("Invalid parameter: {message}"),
        ),
        ViewError::InvalidToken => {
            Error::new(ErrorCode::InvalidParameter, "Invalid token".to_owned())
        }
        ViewError::FilterPolicyLimit => Error::new(
            ErrorCode::FilterPolicyLimitExceeded,
            "Filter policy limit exceeded".to_owned(),
        ),
        ViewError::StorageFull => Error::new(
            ErrorCode::InternalError,
            "The server's disk is full; nothing was written. Retry later.".to_owned(),
        ),
        ViewError::Internal(detail) => super::internal(&detail),
    }
}

impl From<ViewError> for Error {
    fn from(error: ViewError) -> Self {
        from_view(error)
    }
}
