//! Log settings. Every tunable is a named field with its unit last; defaults live in
//! [`LogConfig::new`].

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

pub use crate::io::IoBackend;

/// When appended data reaches the disk, and so what an acknowledgement promises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    /// Every acknowledgement follows an `fdatasync` covering the record (group commit: one
    /// sync acknowledges every append of its round). Survives kill -9 and power loss.
    Always,
    /// Acknowledged once written to the page cache; synced at most this long afterwards.
    /// Survives kill -9; power loss can lose up to the interval.
    Interval(Duration),
    /// Acknowledged once written to the page cache; synced when a segment is sealed and at
    /// shutdown. Survives kill -9; power loss can lose everything since the last seal.
    Never,
}

impl fmt::Display for Fsync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Always => f.write_str("always"),
            Self::Interval(every) => write!(f, "interval:{}", every.as_millis()),
            Self::Never => f.write_str("never"),
        }
    }
}

impl FromStr for Fsync {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "always" => Ok(Self::Always),
            "never" => Ok(Self::Never),
            other => {
                let millis = other
                    .strip_prefix("interval:")
                    .and_then(|ms| ms.trim_end_matches("ms").parse::<u64>().ok())
                    .filter(|ms| *ms > 0)
                    .ok_or_else(|| {
                        format!(
                            "invalid fsync {other:?}: expected always, never or interval:<ms> \
                             with ms > 0"
                        )
                    })?;
                Ok(Self::Interval(Duration::from_millis(millis)))
            }
        }
    }
}

/// Everything [`crate::Log::open`] needs.
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// Data directory; created if missing.
    pub dir: PathBuf,
    /// Durability of acknowledgements.
    pub fsync: Fsync,
    /// Write path.
    pub io: IoBackend,
    /// A segment is sealed once it holds this many bytes.
    pub segment_bytes_max: u64,
    /// A segment is sealed once its first record is this old, so retention can delete it.
    pub segment_age_max: Duration,
    /// Largest record payload accepted.
    pub record_bytes_max: usize,
    /// Largest single append (one batch), in encoded bytes.
    pub batch_bytes_max: usize,
    /// A group-commit round stops collecting appends past this many bytes.
    pub commit_bytes_max: usize,
    /// Appends waiting for the writer before producers wait (backpressure).
    pub commit_queue_depth_max: usize,
    /// An index entry is written after at least this many segment bytes.
    pub index_interval_bytes: u64,
    /// How often expired segments are looked for.
    pub retention_check_interval: Duration,
    /// The metadata journal is compacted into a snapshot past this size.
    pub meta_journal_bytes_max: u64,
    /// Segment files the log keeps open at most (each active segment being written holds two:
    /// data and index; sealed segments hold none, their mappings need no descriptor). Files of
    /// idle shards are closed, least recently used first, and reopened when written again.
    /// `None`: a quarter of the soft `RLIMIT_NOFILE` when the log opens, at least 64.
    pub open_files_max: Option<usize>,
    /// Allocate segment files for real (`fallocate`), `segment_allocate_step_bytes` at a time
    /// ahead of the writer, so a full disk is found before a batch is written rather than by
    /// the write. Off: sparse files, and a full disk is found by the writes themselves (also
    /// [`crate::Error::StorageFull`]).
    pub segment_preallocate: bool,
    /// How much of a segment is allocated at a time: at its creation, and whenever the writer
    /// reaches the end of what is allocated. Small enough that thousands of idle shards hold
    /// little disk; large enough that the `fallocate` calls cost nothing next to the writes.
    pub segment_allocate_step_bytes: u64,
    /// A segment of a stream's state (see [`crate::State`]) is sealed once it holds this many
    /// bytes; small, so compaction can delete the changes a snapshot covers soon.
    pub state_segment_bytes_max: u64,
    /// A stream's state is snapshotted once the changes since its last snapshot number at
    /// least this many and at least its live entries.
    pub state_snapshot_changes_min: u64,
    /// … or once the bytes of those changes reach this and the live state's bytes.
    pub state_snapshot_bytes_min: u64,
    /// Injected I/O failures, for tests (none by default).
    pub faults: crate::faults::Faults,
}

impl LogConfig {
    /// The defaults, for a log in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            fsync: Fsync::Interval(Duration::from_millis(5)),
            io: IoBackend::Auto,
            segment_bytes_max: 128 * 1024 * 1024,
            segment_age_max: Duration::from_secs(3600),
            record_bytes_max: 1024 * 1024,
            batch_bytes_max: 16 * 1024 * 1024,
            commit_bytes_max: 1024 * 1024,
            commit_queue_depth_max: 4096,
            index_interval_bytes: 4096,
            retention_check_interval: Duration::from_secs(60),
            meta_journal_bytes_max: 4 * 1024 * 1024,
            open_files_max: None,
            segment_preallocate: true,
            segment_allocate_step_bytes: 4 * 1024 * 1024,
            state_segment_bytes_max: 8 * 1024 * 1024,
            state_snapshot_changes_min: 16 * 1024,
            state_snapshot_bytes_min: 32 * 1024 * 1024,
            faults: crate::faults::Faults::default(),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), crate::Error> {
        let invalid = |what: &str| Err(crate::Error::InvalidConfig(what.to_string()));
        if self.segment_bytes_max < 4096 {
            return invalid("segment_bytes_max must be at least 4096");
        }
        if self.record_bytes_max == 0 {
            return invalid("record_bytes_max must be positive");
        }
        if self.batch_bytes_max < self.record_bytes_max + 1024 {
            return invalid("batch_bytes_max must exceed record_bytes_max by at least 1 KiB");
        }
        if self.batch_bytes_max > crate::record::BATCH_BYTES_LIMIT as usize {
            return invalid("batch_bytes_max must be at most 1 GiB");
        }
        if self.commit_queue_depth_max == 0 || self.commit_bytes_max == 0 {
            return invalid("commit_queue_depth_max and commit_bytes_max must be positive");
        }
        if self.index_interval_bytes == 0 {
            return invalid("index_interval_bytes must be positive");
        }
        if self.state_segment_bytes_max < 4096 {
            return invalid("state_segment_bytes_max must be at least 4096");
        }
        if self.state_snapshot_changes_min == 0 {
            return invalid("state_snapshot_changes_min must be positive");
        }
        if self.open_files_max.is_some_and(|max| max < 2) {
            return invalid("open_files_max must be at least 2");
        }
        Ok(())
    }

    /// The bound on open segment files: the setting, or a quarter of the soft descriptor limit
    /// (at least 64).
    pub(crate) fn open_files_max_or_default(&self) -> usize {
        self.open_files_max.unwrap_or_else(|| {
            let soft = crate::sys::open_files_limit().map_or(1024, |(soft, _)| soft);
            usize::try_from(soft / 4).unwrap_or(usize::MAX).max(64)
        })
    }

    /// Bytes a segment file is created with: room for a full segment plus one maximal batch.
    pub(crate) fn segment_file_bytes(&self) -> u64 {
        self.segment_bytes_max + self.batch_bytes_max as u64
    }
}
