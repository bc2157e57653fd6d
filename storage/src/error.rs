//! The engine's errors, in engine words. The server maps them to wire codes in one place.

use std::path::PathBuf;

/// Everything a log operation can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error.
    #[error("{context}: {source}")]
    Io {
        /// What the engine was doing.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Bytes on disk failed validation; they are never served.
    #[error("corrupt data in {}: {reason} at byte {position}", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte position in the file.
        position: u64,
        /// What was wrong.
        reason: String,
    },
    /// No stream of that name.
    #[error("stream {0:?} not found")]
    StreamNotFound(String),
    /// A stream of that name exists already.
    #[error("stream {0:?} already exists")]
    StreamExists(String),
    /// No such shard in the stream.
    #[error("shard {shard} not found in stream {stream:?}")]
    ShardNotFound {
        /// Stream name.
        stream: String,
        /// Shard id.
        shard: u32,
    },
    /// The shard was closed by a split or merge and takes no more appends.
    #[error("shard {shard} of stream {stream:?} is closed at offset {ending_offset}")]
    ShardClosed {
        /// Stream name.
        stream: String,
        /// Shard id.
        shard: u32,
        /// Offset one past the shard's last record.
        ending_offset: u64,
    },
    /// The requested offset was deleted by retention.
    #[error("offset {requested} was trimmed; the earliest retained offset is {earliest}")]
    Trimmed {
        /// The offset asked for.
        requested: u64,
        /// The earliest offset still retained.
        earliest: u64,
    },
    /// The requested offset has not been written yet.
    #[error("offset {requested} is past the end of the shard (next offset {next})")]
    OffsetBeyondEnd {
        /// The offset asked for.
        requested: u64,
        /// The next offset to be written.
        next: u64,
    },
    /// A record is larger than the configured limit.
    #[error("record of {size} bytes exceeds the limit of {max} bytes")]
    RecordTooLarge {
        /// Record payload size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// An append is larger than one batch may be.
    #[error("append of {size} bytes exceeds the batch limit of {max} bytes")]
    BatchTooLarge {
        /// Encoded size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A caller-supplied value is out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A sync failed on this shard earlier; it refuses appends until the log is reopened.
    #[error("shard {shard} of stream {stream:?} is poisoned by an earlier I/O failure")]
    Poisoned {
        /// Stream name.
        stream: String,
        /// Shard id.
        shard: u32,
    },
    /// The disk (or the user's quota) is full: `ENOSPC` or `EDQUOT`. **Retriable**: nothing of
    /// the failed operation was written or made visible (a shard stays at its last committed
    /// offset, a stream or shard being created does not exist), nothing is poisoned, and the
    /// same call succeeds once space is freed, without reopening the log.
    #[error("no space left while {context}; nothing was written, retry once space is freed")]
    StorageFull {
        /// What the engine was doing.
        context: String,
    },
    /// The log has been closed.
    #[error("the log is closed")]
    Closed,
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// Another process holds the data directory's lock.
    #[error(
        "the data directory {} is in use by {} (it holds {}/LOCK); stop it or choose another \
         --data-dir",
        dir.display(),
        pid.map_or_else(|| "another process".to_owned(), |pid| format!("process {pid}")),
        dir.display()
    )]
    DirectoryInUse {
        /// The data directory.
        dir: std::path::PathBuf,
        /// The holder's process id, as it wrote it into the lock file.
        pid: Option<u32>,
    },
}

impl Error {
    /// A copy for handing one failure to every producer of a commit round.
    pub(crate) fn clone_for_reply(&self) -> Self {
        match self {
            Self::Io { context, source } => Self::Io {
                context: context.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            Self::Corrupt {
                path,
                position,
                reason,
            } => Self::Corrupt {
                path: path.clone(),
                position: *position,
                reason: reason.clone(),
            },
            Self::StreamNotFound(name) => Self::StreamNotFound(name.clone()),
            Self::StreamExists(name) => Self::StreamExists(name.clone()),
            Self::ShardNotFound { stream, shard } => Self::ShardNotFound {
                stream: stream.clone(),
                shard: *shard,
            },
            Self::ShardClosed {
                stream,
                shard,
                ending_offset,
            } => Self::ShardClosed {
                stream: stream.clone(),
                shard: *shard,
                ending_offset: *ending_offset,
            },
            Self::Trimmed {
                requested,
                earliest,
            } => Self::Trimmed {
                requested: *requested,
                earliest: *earliest,
            },
            Self::OffsetBeyondEnd { requested, next } => Self::OffsetBeyondEnd {
                requested: *requested,
                next: *next,
            },
            Self::RecordTooLarge { size, max } => Self::RecordTooLarge {
                size: *size,
                max: *max,
            },
            Self::BatchTooLarge { size, max } => Self::BatchTooLarge {
                size: *size,
                max: *max,
            },
            Self::InvalidArgument(what) => Self::InvalidArgument(what.clone()),
            Self::Poisoned { stream, shard } => Self::Poisoned {
                stream: stream.clone(),
                shard: *shard,
            },
            Self::StorageFull { context } => Self::StorageFull {
                context: context.clone(),
            },
            Self::Closed => Self::Closed,
            Self::InvalidConfig(what) => Self::InvalidConfig(what.clone()),
            Self::DirectoryInUse { dir, pid } => Self::DirectoryInUse {
                dir: dir.clone(),
                pid: *pid,
            },
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) trait IoContext<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    /// The engine error for a failed I/O call: [`Error::StorageFull`] for a full disk, else
    /// [`Error::Io`]. Failed syncs never come through here: they are always `Io` (see
    /// [`Error::io`]), because a failed fsync is not retriable.
    fn context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::from_io(context(), source))
    }
}

/// Whether an I/O error says the disk or the quota is full.
pub(crate) fn is_storage_full(error: &std::io::Error) -> bool {
    matches!(error.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

impl Error {
    /// [`Error::StorageFull`] when `source` is a full disk, else [`Error::Io`].
    pub(crate) fn from_io(context: String, source: std::io::Error) -> Self {
        if is_storage_full(&source) {
            Self::StorageFull { context }
        } else {
            Self::Io { context, source }
        }
    }

    /// Always [`Error::Io`], whatever the cause: for failed syncs, which poison.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }

    /// Whether this is [`Error::StorageFull`]: retriable, nothing was written.
    pub fn is_storage_full(&self) -> bool {
        matches!(self, Self::StorageFull { .. })
    }
}
