//! The one mapping from engine errors to native protocol error codes.

use protocol::native::{ErrorCode, ErrorResponse};

/// The native error response for an engine error.
pub fn from_storage(error: &storage::Error) -> ErrorResponse {
    use storage::Error as E;
    let code = match error {
        E::StreamNotFound(_) => ErrorCode::StreamNotFound,
        E::StreamExists(_) => ErrorCode::StreamExists,
        E::ShardNotFound { .. } => ErrorCode::ShardNotFound,
        E::ShardClosed { .. } => ErrorCode::ShardClosed,
        E::Trimmed { .. } => ErrorCode::OffsetTrimmed,
        E::OffsetBeyondEnd { .. } => ErrorCode::OffsetBeyondEnd,
        E::RecordTooLarge { .. } | E::BatchTooLarge { .. } => ErrorCode::RecordTooLarge,
        E::InvalidArgument(_) | E::InvalidConfig(_) => ErrorCode::InvalidArgument,
        E::Closed | E::Poisoned { .. } => ErrorCode::Unavailable,
        E::StorageFull { .. } => {
            // Retriable; the engine's message names files, which clients need not see.
            return ErrorResponse::new(ErrorCode::Unavailable, "the disk is full; retry later");
        }
        _ => ErrorCode::Internal,
    };
    if code == ErrorCode::Internal {
        // The detail (file paths, OS errors) is for the operator's log, not for clients.
        tracing::warn!(%error, "A native request failed inside the server");
        return ErrorResponse::new(code, "internal error; the server log has the details");
    }
    ErrorResponse::new(code, error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_errors_map_to_their_codes() {
        let cases = [
            (
                storage::Error::StreamNotFound("s".into()),
                ErrorCode::StreamNotFound,
            ),
            (
                storage::Error::StreamExists("s".into()),
                ErrorCode::StreamExists,
            ),
            (
                storage::Error::ShardNotFound {
                    stream: "s".into(),
                    shard: 1,
                },
                ErrorCode::ShardNotFound,
            ),
            (
                storage::Error::ShardClosed {
                    stream: "s".into(),
                    shard: 1,
                    ending_offset: 3,
                },
                ErrorCode::ShardClosed,
            ),
            (
                storage::Error::Trimmed {
                    requested: 1,
                    earliest: 5,
                },
                ErrorCode::OffsetTrimmed,
            ),
            (
                storage::Error::OffsetBeyondEnd {
                    requested: 9,
                    next: 5,
                },
                ErrorCode::OffsetBeyondEnd,
            ),
            (
                storage::Error::RecordTooLarge { size: 9, max: 5 },
                ErrorCode::RecordTooLarge,
            ),
            (
                storage::Error::InvalidArgument("x".into()),
                ErrorCode::InvalidArgument,
            ),
            (storage::Error::Closed, ErrorCode::Unavailable),
        ];
        for (error, code) in cases {
            let response = from_storage(&error);
            assert_eq!(response.error_code(), Some(code), "{error}");
            assert_eq!(response.message, error.to_string());
        }
    }

    #[test]
    fn internal_errors_do_not_show_paths_or_os_detail() {
        let error = storage::Error::Io {
            context: "writing /var/lib/strata/streams/7/0/00000000000000000000.log".into(),
            source: std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
        };
        let response = from_storage(&error);
        assert_eq!(response.error_code(), Some(ErrorCode::Internal));
        assert!(
            !response.message.contains("/var/lib"),
            "{}",
            response.message
        );
        assert!(
            !response.message.contains("UnexpectedEof"),
            "{}",
            response.message
        );
    }

    /// A full disk used to reach clients as an internal error carrying the engine's text (file
    /// paths included); it is the retriable `Unavailable`, with a plain message.
    #[test]
    fn a_full_disk_is_unavailable_with_a_plain_message() {
        let error = storage::Error::StorageFull {
            context: "allocating /data/streams/1/0/00000000000000000000.log".into(),
        };
        let response = from_storage(&error);
        assert_eq!(response.error_code(), Some(ErrorCode::Unavailable));
        assert_eq!(response.message, "the disk is full; retry later");
    }
}
