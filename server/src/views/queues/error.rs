//! What the queue view fails with, in domain words; the SQS API layer maps each variant to
//! its wire code in one place.

/// A queue-view failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No queue of that name.
    #[error("The specified queue {0} does not exist.")]
    QueueNotFound(String),
    /// A queue of that name exists with different attributes.
    #[error("A queue named {0} already exists with different attributes.")]
    QueueExists(String),
    /// A queue of that name was deleted less than 60 seconds ago.
    #[error(
        "You must wait 60 seconds after deleting a queue before you can create another with the same name ({0})."
    )]
    DeletedRecently(String),
    /// The queue was purged less than 60 seconds ago.
    #[error("Only one PurgeQueue operation on {0} is allowed every 60 seconds.")]
    PurgeInProgress(String),
    /// The receipt handle is malformed, forged, or of another queue.
    #[error("The receipt handle {0} is not valid.")]
    ReceiptInvalid(String),
    /// The receipt handle is genuine but the message was received again since (a FIFO
    /// delete, or any visibility change, needs the latest handle).
    #[error("The receipt handle has expired.")]
    ReceiptExpired,
    /// The message is not in flight (visible again, or gone), so its visibility cannot
    /// change.
    #[error("The message referred to is not in flight.")]
    MessageNotInflight,
    /// A value is out of range or inconsistent with the queue.
    #[error("{0}")]
    InvalidValue(String),
    /// The message (body and attributes) exceeds the queue's maximum message size.
    #[error("The message is {size} bytes, more than the queue's limit of {max} bytes.")]
    MessageTooLong {
        /// Its size.
        size: usize,
        /// The queue's `MaximumMessageSize`.
        max: u32,
    },
    /// A standard queue has as many messages in flight as it may.
    #[error("Too many messages in flight (at most {0}).")]
    TooManyInFlight(usize),
    /// No move task of that handle, or none running.
    #[error("{0}")]
    MoveTaskNotFound(String),
    /// The source queue has a running move task already.
    #[error("{0}")]
    MoveTaskRunning(String),
    /// The disk is full: nothing of the failed change was stored. Retriable.
    #[error("The disk is full; nothing was written. Retry later.")]
    StorageFull,
    /// The engine failed (I/O, corruption, shutdown): not the caller's fault.
    #[error("{0}")]
    Internal(String),
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
