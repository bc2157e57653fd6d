//! The one AWS error answer every service's operations fail with: a status, the exception
//! name, a message and, for services that speak the query protocol too, the legacy code the
//! SDKs read from `x-amzn-query-error`. Each service maps its view's errors to it once, in its
//! own `error.rs`.

use protocol::aws::body::{ErrorBody, Format};
use protocol::aws::kinesis::errors as code;

use crate::api::{Reply, ReplyBody};

/// An AWS error answer: status, exception name, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status (400 for everything the caller did; 500 only for server failures).
    pub status: u16,
    /// The exception name (`__type`).
    pub code: &'static str,
    /// Detail.
    pub message: String,
}

impl ApiError {
    /// An error with status 400.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: 400,
            code,
            message: message.into(),
        }
    }

    /// `InvalidArgumentException`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_ARGUMENT, message)
    }

    /// The error as an HTTP reply in `format`.
    pub fn reply(&self, format: Format) -> Reply {
        let body = ErrorBody {
            kind: self.code.to_owned(),
            message: self.message.clone(),
        };
        Reply::new(
            self.status,
            format.content_type(),
            ReplyBody::Full(protocol::aws::body::encode(format, &body).into()),
        )
        .with_error_code(self.code)
    }
}
