//! Native error codes: the numbers an error response carries.
//!
//! The table is append-only. A code's number never changes, and a retired code is never
//! reused for a different meaning, because clients compiled against an older table would
//! misread it. Retire a code by leaving its number out with a comment saying so.

/// Every native error code. Numbers are pinned by a snapshot test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
#[non_exhaustive]
pub enum ErrorCode {
    /// No protocol version in the client's range is supported by the server.
    UnsupportedVersion = 1,
    /// A frame or body did not decode.
    MalformedFrame = 2,
    /// A frame is larger than the receiver's `frame_bytes_max`.
    FrameTooLarge = 3,
    /// The operation code is unknown to the server.
    UnknownOperation = 4,
    /// A request other than `Hello` arrived before the handshake completed.
    HandshakeRequired = 5,
    /// The server requires authentication and the connection has not authenticated (or the
    /// client's protocol version cannot): only `Authenticate` is served until it has.
    AuthenticationRequired = 6,
    /// `Authenticate` named an unknown access key or carried a wrong signature. The server
    /// closes the connection after sending it.
    AuthenticationFailed = 7,
    /// The named stream does not exist.
    StreamNotFound = 10,
    /// A stream with that name already exists.
    StreamExists = 11,
    /// The stream has no shard with that id.
    ShardNotFound = 12,
    /// The shard was split or merged and accepts no more records.
    ShardClosed = 13,
    /// The requested offset was removed by retention.
    OffsetTrimmed = 14,
    /// The requested offset is past the end of the shard.
    OffsetBeyondEnd = 15,
    /// A field is out of its allowed range.
    InvalidArgument = 16,
    /// A record exceeds the server's record size limit.
    RecordTooLarge = 17,
    /// The change would take the server over a limit (its open shard budget).
    LimitExceeded = 18,
    /// The server is shutting down or cannot serve the request now; retry later.
    Unavailable = 20,
    /// A bug or an I/O failure on the server.
    Internal = 21,
    /// The named queue does not exist.
    QueueNotFound = 22,
    /// A queue with that name exists with other attributes (or was deleted less than 60
    /// seconds ago).
    QueueExists = 23,
    /// A `ProduceBatch` record's hash key is outside the shard's range: the producer's shard
    /// map is stale (the stream was recreated); it refreshes the map and routes again.
    WrongShard = 24,
}

impl ErrorCode {
    /// Every code, in table order.
    pub const ALL: [Self; 21] = [
        Self::UnsupportedVersion,
        Self::MalformedFrame,
        Self::FrameTooLarge,
        Self::UnknownOperation,
        Self::HandshakeRequired,
        Self::AuthenticationRequired,
        Self::AuthenticationFailed,
        Self::StreamNotFound,
        Self::StreamExists,
        Self::ShardNotFound,
        Self::ShardClosed,
        Self::OffsetTrimmed,
        Self::OffsetBeyondEnd,
        Self::InvalidArgument,
        Self::RecordTooLarge,
        Self::LimitExceeded,
        Self::Unavailable,
        Self::Internal,
        Self::QueueNotFound,
        Self::QueueExists,
        Self::WrongShard,
    ];

    /// The code's wire number.
    #[must_use]
    pub const fn as_u32(self) -> u32 {
        self as u32
    }

    /// The code for a wire number, or `None` for a number this version does not know (a
    /// newer peer's code); callers keep the raw number in that case.
    #[must_use]
    pub fn from_u32(value: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_u32() == value)
    }

    /// Whether retrying the same request later may succeed.
    #[must_use]
    pub const fn is_retriable(self) -> bool {
        matches!(self, Self::Unavailable)
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    /// Snapshot: changing a number here breaks every deployed client. Add, never edit.
    #[test]
    fn error_code_numbers_are_pinned() {
        let table: Vec<(ErrorCode, u32)> = ErrorCode::ALL
            .iter()
            .map(|code| (*code, code.as_u32()))
            .collect();
        let expected = format!("{table:?}");
        assert_eq!(
            expected,
            "[(UnsupportedVersion, 1), (MalformedFrame, 2), (FrameTooLarge, 3), \
             (UnknownOperation, 4), (HandshakeRequired, 5), (AuthenticationRequired, 6), \
             (AuthenticationFailed, 7), (StreamNotFound, 10), \
             (StreamExists, 11), (ShardNotFound, 12), (ShardClosed, 13), (OffsetTrimmed, 14), \
             (OffsetBeyondEnd, 15), (InvalidArgument, 16), (RecordTooLarge, 17), \
             (LimitExceeded, 18), (Unavailable, 20), (Internal, 21), (QueueNotFound, 22), \
             (QueueExists, 23), (WrongShard, 24)]"
        );
    }

    #[test]
    fn every_code_round_trips_and_unknown_numbers_are_none() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_u32(code.as_u32()), Some(code));
        }
        assert_eq!(ErrorCode::from_u32(0), None);
        assert_eq!(ErrorCode::from_u32(8), None);
        assert_eq!(ErrorCode::from_u32(u32::MAX), None);
    }
}
