//! Strata's log engine: durable, segmented, append-only logs of streams and shards.
//!
//! Records go in through [`Log::append`] (group-committed by one writer thread over io_uring,
//! or `pwrite` where io_uring is unavailable) and come out of [`Log::read`] as slices of
//! memory-mapped segments. Every batch carries a CRC that is checked when recovering and when
//! reading; a torn tail is cut off on open. Metadata (streams, shards and their lineage, named
//! cursors, view properties) lives in a checksummed journal with snapshots beside the data.
//!
//! This crate knows nothing of HTTP, AWS or sockets.
//!
//! # Layout
//!
//! - [`record`]: the batch format (pure encode/decode).
//! - `segment`: one data file, its mapping and sparse offset/time index; scan and recovery.
//! - `shard`: ordered segments, the committed watermark that wakes tail readers.
//! - `commit`: the group-commit writer thread.
//! - `io` and `sys`: the io_uring and `pwrite` write paths; `sys` holds the only `unsafe`.
//! - `files`: the bounded cache of open segment files.
//! - `meta`: the catalog, cursors and properties journal.
//! - `retention`: deletion of expired segments.
//! - [`State`]: durable keyed state per stream (changes group-committed like appends,
//!   snapshotted and compacted).
//! - [`Log`]: the public handle; [`Route`] (from [`Log::route`]), a stream's routes by hash
//!   key, held while appends are queued so that no split or merge closes a shard under them.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use storage::{Fsync, Log, LogConfig, NewRecord, Owner, ReadLimits};
//!
//! let dir = tempfile::tempdir()?;
//! let mut config = LogConfig::new(dir.path());
//! config.fsync = Fsync::Always;
//! let log = Log::open(config)?;
//! log.create_stream("clicks", 2, Duration::from_secs(24 * 3600), Owner::KINESIS)?;
//! let ack = log.append_blocking("clicks", 0, vec![NewRecord::new("user-1", "hello")])?;
//! let batch = log.read("clicks", 0, ack.first_offset, ReadLimits::default())?;
//! assert_eq!(&batch.records[0].data[..], b"hello");
//! log.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(unsafe_code)]

mod clock;
mod commit;
mod config;
mod error;
mod faults;
mod files;
mod io;
mod log;
mod meta;
pub mod record;
mod retention;
mod segment;
mod shard;
mod state;
mod sys;

pub use clock::{Clock, ManualClock, SystemClock};
pub use commit::{AppendAck, CommitCounters};
pub use config::{Fsync, IoBackend, LogConfig};
pub use error::{Error, Result};
pub use faults::{Fault, FaultPlan, Faults, IoPoint};
pub use log::{
    DiskUsage, Log, PendingAppend, RETENTION_DEFAULT, Route, StreamIdentity, hash_key,
    record_hash_key,
};
pub use meta::{CursorKey, Owner, ShardInfo, StreamInfo};
pub use record::{EncodedRecords, EncodedRecordsBuilder, NewRecord, Record};
pub use segment::ReadLimits;
pub use shard::{ReadBatch, ShardBounds};
pub use state::{PendingChange, STATE_KEY_BYTES_MAX, State, StateChange, StateStats};
pub use sys::raise_open_files_limit;

/// Entry points for the fuzz targets in `storage/fuzz/`; not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    /// Decodes metadata journal entries; returns how many decoded and the good prefix length.
    pub fn meta_entries(bytes: &[u8]) -> (usize, usize) {
        let (entries, good, _) = crate::meta::decode_entries(bytes);
        (entries.len(), good)
    }

    /// Scans `bytes` as a segment starting at offset 0; returns the verified end and the next
    /// offset.
    pub fn scan_segment(bytes: &[u8]) -> (u64, u64) {
        let mut entries = Vec::new();
        let window = crate::segment::Window::whole(bytes);
        let end = crate::segment::scan(window, 0, 0, 64, &mut entries);
        (end.valid_end, end.next_offset)
    }

    /// Decodes a state snapshot; on success, re-encoding it gives the same bytes.
    pub fn state_snapshot(bytes: &[u8]) -> Option<(u64, usize)> {
        let (offset, entries) = crate::state::decode_snapshot(bytes).ok()?;
        assert_eq!(
            crate::state::encode_snapshot(offset, &entries),
            bytes,
            "a decoded snapshot re-encodes to its bytes"
        );
        Some((offset, entries.len()))
    }
}
