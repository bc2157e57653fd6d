//! The one mapping from delivery-stream failures to Firehose exceptions and HTTP statuses.
//! (Body decoding failures map as for Kinesis: `SerializationException`, or
//! `ValidationException` for a missing member.)

use protocol::aws::firehose::errors as code;

pub use crate::api::kinesis::error::ApiError;
use crate::views::delivery::Error;

/// Converts a view error.
pub fn from_view(error: Error) -> ApiError {
    let message = error.to_string();
    let code = match error {
        Error::NotFound { .. } => code::RESOURCE_NOT_FOUND,
        Error::Exists { .. } => code::RESOURCE_IN_USE,
        Error::InvalidArgument(_) => code::INVALID_ARGUMENT,
        Error::ConcurrentModification(_) => code::CONCURRENT_MODIFICATION,
        Error::LimitExceeded(_) => code::LIMIT_EXCEEDED,
        Error::Internal(_) | Error::StorageFull => {
            return ApiError {
                status: 503,
                code: code::SERVICE_UNAVAILABLE,
                message: crate::api::internal_message(&message),
            };
        }
    };
    ApiError::new(code, message)
}

/// `InvalidArgumentException`.
pub fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(code::INVALID_ARGUMENT, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_view_error_has_its_exception() {
        let cases = [
            (
                Error::NotFound {
                    name: "d".into(),
                    account: "0".into(),
                },
                400,
                "ResourceNotFoundException",
            ),
            (
                Error::Exists {
                    name: "d".into(),
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
            (
                Error::ConcurrentModification("x".into()),
                400,
                "ConcurrentModificationException",
            ),
            (
                Error::LimitExceeded("x".into()),
                400,
                "LimitExceededException",
            ),
            (
                Error::Internal("x".into()),
                503,
                "ServiceUnavailableException",
            ),
            (Error::StorageFull, 503, "ServiceUnavailableException"),
        ];
        for (error, status, name) in cases {
            let mapped = from_view(error);
            assert_eq!((mapped.status, mapped.code), (status, name));
        }
    }
}
