//! What the topic view fails with, in domain words; the SNS API layer maps each variant to
//! its wire code in one place.

/// A topic-view failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No topic of that name.
    #[error("Topic does not exist")]
    TopicNotFound(String),
    /// No platform application or endpoint of that name.
    #[error("{0}")]
    NotFound(String),
    /// No subscription of that id on the topic.
    #[error("Subscription does not exist")]
    SubscriptionNotFound(String),
    /// A value is out of range or inconsistent with the topic (the text follows
    /// "Invalid parameter: ").
    #[error("{0}")]
    InvalidParameter(String),
    /// A confirmation token that matches no pending subscription, or has expired.
    #[error("Invalid token")]
    InvalidToken,
    /// The topic has as many filter policies as it may.
    #[error("Filter policy limit exceeded")]
    FilterPolicyLimit,
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
