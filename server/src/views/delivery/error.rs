//! The delivery-stream view's errors, in domain words; `api/firehose/error.rs` maps them to
//! Firehose exceptions.

/// A delivery-stream operation's failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No delivery stream of that name.
    #[error("Firehose {name} under account {account} not found.")]
    NotFound {
        /// The name.
        name: String,
        /// The account.
        account: String,
    },
    /// A delivery stream of that name exists already.
    #[error("Firehose {name} under accountId {account} already exists")]
    Exists {
        /// The name.
        name: String,
        /// The account.
        account: String,
    },
    /// The request is inconsistent with the delivery stream or its source.
    #[error("{0}")]
    InvalidArgument(String),
    /// UpdateDestination named a version that is no longer current.
    #[error("{0}")]
    ConcurrentModification(String),
    /// Too many tags.
    #[error("{0}")]
    LimitExceeded(String),
    /// The log failed (I/O, closed).
    #[error("{0}")]
    Internal(String),
    /// The disk is full: nothing of the failed write was stored. Retriable.
    #[error("The disk is full; nothing was written. Retry later.")]
    StorageFull,
}

impl From<storage::Error> for Error {
    fn from(error: storage::Error) -> Self {
        match error {
            storage::Error::StorageFull { .. } => Self::StorageFull,
            other => Self::Internal(other.to_string()),
        }
    }
}

/// The view's result.
pub type Result<T> = std::result::Result<T, Error>;
