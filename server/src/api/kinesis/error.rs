//! The one mapping from failures to Kinesis exceptions and HTTP statuses.

use protocol::aws::body::BodyError;
use protocol::aws::kinesis::errors as code;

pub use crate::api::aws::ApiError;
use crate::views::streams::Error;

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let message = error.to_string();
        let code = match error {
            Error::StreamNotFound { .. } | Error::ShardNotFound { .. } | Error::NotFound(_) => {
                code::RESOURCE_NOT_FOUND
            }
            Error::StreamExists { .. } | Error::StreamNotActive { .. } | Error::InUse(_) => {
                code::RESOURCE_IN_USE
            }
            Error::InvalidArgument(_) => code::INVALID_ARGUMENT,
            Error::Validation(_) => code::VALIDATION,
            Error::IteratorExpired { .. } => code::EXPIRED_ITERATOR,
            Error::NextTokenExpired(_) => code::EXPIRED_NEXT_TOKEN,
            Error::ThroughputExceeded { .. } => code::PROVISIONED_THROUGHPUT_EXCEEDED,
            Error::LimitExceeded(_) => code::LIMIT_EXCEEDED,
            Error::Internal(_) => {
                return Self {
                    status: 500,
                    code: code::INTERNAL_FAILURE,
                    message: crate::api::internal_message(&message),
                };
            }
            // Retried by the SDKs (a 503); nothing of the request was written.
            Error::StorageFull => {
                return Self {
                    status: 503,
                    code: code::SERVICE_UNAVAILABLE,
                    message,
                };
            }
        };
        Self::new(code, message)
    }
}

/// A channel's delivery-stream failure (the Channel operations), in Kinesis's words.
impl From<crate::views::delivery::Error> for ApiError {
    fn from(error: crate::views::delivery::Error) -> Self {
        use crate::views::delivery::Error as Delivery;
        use crate::views::delivery::channels::DELIVERY_PREFIX;
        let channel = |name: &str| {
            name.strip_prefix(DELIVERY_PREFIX)
                .unwrap_or(name)
                .to_owned()
        };
        match error {
            Delivery::NotFound { name, account } => Self::new(
                code::RESOURCE_NOT_FOUND,
                format!(
                    "Channel {} under account {account} not found.",
                    channel(&name)
                ),
            ),
            Delivery::Exists { name, account } => Self::new(
                code::RESOURCE_IN_USE,
                format!(
                    "Channel {} under account {account} already exists.",
                    channel(&name)
                ),
            ),
            Delivery::InvalidArgument(message) | Delivery::ConcurrentModification(message) => {
                Self::new(code::INVALID_ARGUMENT, message)
            }
            Delivery::LimitExceeded(message) => Self::new(code::LIMIT_EXCEEDED, message),
            Delivery::Internal(message) => Self {
                status: 500,
                code: code::INTERNAL_FAILURE,
                message: crate::api::internal_message(&message),
            },
            Delivery::StorageFull => Self {
                status: 503,
                code: code::SERVICE_UNAVAILABLE,
                message: Delivery::StorageFull.to_string(),
            },
        }
    }
}

impl From<BodyError> for ApiError {
    fn from(error: BodyError) -> Self {
        let message = error.to_string();
        match error {
            BodyError::MissingMember(_) => Self::new(code::VALIDATION, message),
            _ => Self::new(code::SERIALIZATION, message),
        }
    }
}

/// The message a failed PutRecords entry reports (`ErrorMessage`): an internal failure's
/// detail is logged, not sent.
pub fn record_error_message(error: &Error) -> String {
    match error {
        Error::Internal(detail) => crate::api::internal_message(detail),
        other => other.to_string(),
    }
}

/// The error code a failed PutRecords entry reports (`ErrorCode`).
pub fn record_error_code(error: &Error) -> &'static str {
    match error {
        Error::ThroughputExceeded { .. } => code::PROVISIONED_THROUGHPUT_EXCEEDED,
        _ => "InternalFailure",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_view_error_has_its_exception() {
        let cases = [
            (
                Error::StreamNotFound {
                    stream: "s".into(),
                    account: "0".into(),
                },
                400,
                "ResourceNotFoundException",
            ),
            (
                Error::StreamExists {
                    stream: "s".into(),
                    account: "0".into(),
                },
                400,
                "ResourceInUseException",
            ),
            (
                Error::InvalidArgument("x".into()),
                400,
                "InvalidArgumentException",
            ),
            (Error::Validation("x".into()), 400, "ValidationException"),
            (
                Error::IteratorExpired {
                    issued_ms: 0,
                    now_ms: 1,
                    ttl_ms: 1,
                },
                400,
                "ExpiredIteratorException",
            ),
            (
                Error::LimitExceeded("x".into()),
                400,
                "LimitExceededException",
            ),
            (Error::Internal("x".into()), 500, "InternalFailureException"),
            (Error::StorageFull, 503, "ServiceUnavailableException"),
        ];
        for (error, status, name) in cases {
            let mapped = ApiError::from(error);
            assert_eq!((mapped.status, mapped.code), (status, name));
        }
    }
}
