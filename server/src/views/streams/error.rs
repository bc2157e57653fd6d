//! What the streams view fails with, in domain words; `crate::api::kinesis::error` maps each
//! variant to its AWS exception in one place.

/// A streams-view failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No stream of that name (or it is being created or deleted and the operation needs an
    /// ACTIVE one).
    #[error("Stream {stream} under account {account} not found.")]
    StreamNotFound {
        /// The stream name.
        stream: String,
        /// The account in its ARN.
        account: String,
    },
    /// A stream of that name exists already (or is still being deleted).
    #[error("Stream {stream} under account {account} already exists.")]
    StreamExists {
        /// The stream name.
        stream: String,
        /// The account in its ARN.
        account: String,
    },
    /// The stream is not ACTIVE, so it cannot change now.
    #[error("Stream {stream} under account {account} not ACTIVE, instead in state {status}")]
    StreamNotActive {
        /// The stream name.
        stream: String,
        /// The account.
        account: String,
        /// Its current status.
        status: &'static str,
    },
    /// No shard of that id in the stream.
    #[error("Could not find shard {shard} in stream {stream} under account {account}.")]
    ShardNotFound {
        /// The stream name.
        stream: String,
        /// The shard id as given.
        shard: String,
        /// The account.
        account: String,
    },
    /// A named consumer or other sub-resource does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A named consumer or other sub-resource exists already or is busy.
    #[error("{0}")]
    InUse(String),
    /// A parameter is out of range or inconsistent with the stream.
    #[error("{0}")]
    InvalidArgument(String),
    /// A member breaks a shape constraint.
    #[error("{0}")]
    Validation(String),
    /// The shard iterator is too old.
    #[error(
        "Iterator expired. The iterator was created at time {issued_ms} while right now it is {now_ms} which is further in the future than the tolerated delay of {ttl_ms} milliseconds."
    )]
    IteratorExpired {
        /// When it was issued, ms since the epoch.
        issued_ms: i64,
        /// Now.
        now_ms: i64,
        /// The time to live.
        ttl_ms: i64,
    },
    /// A NextToken is too old.
    #[error("{0}")]
    NextTokenExpired(String),
    /// A per-shard write limit was exceeded.
    #[error("Rate exceeded for shard {shard} in stream {stream} under account {account}.")]
    ThroughputExceeded {
        /// The stream.
        stream: String,
        /// The shard id.
        shard: String,
        /// The account.
        account: String,
    },
    /// Too many of something.
    #[error("{0}")]
    LimitExceeded(String),
    /// The engine failed (I/O, corruption, shutdown): not the caller's fault.
    #[error("{0}")]
    Internal(String),
    /// The disk is full: nothing of the failed write was stored. Retriable: the same request
    /// succeeds once space is freed.
    #[error("The disk is full; nothing was written. Retry later.")]
    StorageFull,
}

impl Error {
    /// Wraps an engine failure that is not the caller's fault (a full disk is
    /// [`Error::StorageFull`]).
    pub fn internal(error: &storage::Error) -> Self {
        match error {
            storage::Error::StorageFull { .. } => Self::StorageFull,
            other => Self::Internal(other.to_string()),
        }
    }
}

/// Shorthand for results of this view.
pub type Result<T, E = Error> = std::result::Result<T, E>;
