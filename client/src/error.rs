//! [`ClientError`]: every way a request can fail.

use std::sync::Arc;

use protocol::native::{DecodeError, ErrorCode, ErrorResponse};

/// Why a request failed.
///
/// The error is `Clone` (I/O errors are shared behind an [`Arc`]) so that one failed
/// `Produce` can fail every record of its batch with the same error.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with an error response.
    #[error(
        "{message} ({}, code {raw_code})",
        code.map_or_else(|| "unknown error".to_string(), |code| format!("{code:?}"))
    )]
    Server {
        /// The error code, or `None` for a number this client does not know.
        code: Option<ErrorCode>,
        /// The code as sent on the wire.
        raw_code: u32,
        /// The server's explanation.
        message: String,
    },
    /// The connection closed (or broke) before the response arrived. The request may or may
    /// not have been applied.
    #[error("the connection to the server is closed")]
    Disconnected,
    /// No response arrived within the request timeout. The request may or may not have been
    /// applied.
    #[error("the request timed out")]
    Timeout,
    /// Connecting or writing failed.
    #[error("I/O error: {0}")]
    Io(Arc<std::io::Error>),
    /// The server sent bytes this client could not decode.
    #[error("protocol error: {0}")]
    Protocol(#[from] DecodeError),
    /// The server answered with a response of the wrong kind or shape.
    #[error("unexpected response: {0}")]
    UnexpectedResponse(String),
    /// The request was refused by the client before it was sent (for example a partition
    /// key of the wrong length).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl ClientError {
    /// Whether the same request may succeed if retried later: the server said
    /// [`ErrorCode::Unavailable`], the connection dropped, or the request timed out.
    ///
    /// A retry after [`Self::Disconnected`] needs a new [`crate::Client`].
    #[must_use]
    pub fn is_retriable(&self) -> bool {
        match self {
            Self::Server {
                code: Some(code), ..
            } => code.is_retriable(),
            Self::Disconnected | Self::Timeout => true,
            _ => false,
        }
    }

    /// The server's error code, if the server answered with one this client knows.
    #[must_use]
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Server { code, .. } => *code,
            _ => None,
        }
    }
}

impl From<std::io::Error> for ClientError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(Arc::new(error))
    }
}

impl From<ErrorResponse> for ClientError {
    fn from(error: ErrorResponse) -> Self {
        Self::Server {
            code: error.error_code(),
            raw_code: error.code,
            message: error.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retriable_errors_are_unavailable_disconnects_and_timeouts() {
        let unavailable = ClientError::from(ErrorResponse::new(ErrorCode::Unavailable, "later"));
        assert_eq!(unavailable.code(), Some(ErrorCode::Unavailable));
        assert!(unavailable.is_retriable());
        assert!(ClientError::Disconnected.is_retriable());
        assert!(ClientError::Timeout.is_retriable());
        let missing = ClientError::from(ErrorResponse::new(ErrorCode::StreamNotFound, "no"));
        assert!(!missing.is_retriable());
        let unknown = ClientError::from(ErrorResponse {
            code: 999,
            message: "newer server".into(),
        });
        assert_eq!(unknown.code(), None);
        assert!(!unknown.is_retriable());
        assert!(!ClientError::from(std::io::Error::other("refused")).is_retriable());
    }
}
