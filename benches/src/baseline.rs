//! What the disk under the data directory does without Strata, so results read as a fraction
//! of the hardware rather than as bare numbers.
//!
//! - *buffered*: sequential 1 MiB `write`s into a new file, then one `fdatasync`, timed end to
//!   end: the best case for a write-behind log (`fsync = never | interval`).
//! - *synced*: 64 KiB `write`s into a new file, each followed by `fdatasync`: the best case for
//!   a log that must be durable before acknowledging (`fsync = always`) at that write size.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::report::{self, Latency, MB};

/// Size of each write of the buffered baseline.
pub const BUFFERED_WRITE_BYTES: usize = 1024 * 1024;
/// Size of each write of the synced baseline.
pub const SYNCED_WRITE_BYTES: usize = 64 * 1024;

/// Sequential buffered writes then one `fdatasync`.
#[derive(Clone, Debug, Serialize)]
pub struct Buffered {
    pub bytes: u64,
    pub write_bytes: u64,
    pub secs: f64,
    pub mb_per_s: f64,
    /// How long the final `fdatasync` took, within `secs`.
    pub sync_secs: f64,
}

/// Writes each followed by `fdatasync`.
#[derive(Clone, Debug, Serialize)]
pub struct Synced {
    pub bytes: u64,
    pub write_bytes: u64,
    pub syncs: u64,
    pub secs: f64,
    pub mb_per_s: f64,
    pub syncs_per_s: f64,
    /// Latency of one write plus its `fdatasync`.
    pub latency: Latency,
}

fn create(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
}

/// A buffer of `len` bytes that is not all zeros.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Writes `total_bytes` (rounded up to whole writes) to a new file `path` in 1 MiB writes,
/// then syncs it; removes the file afterwards.
pub fn buffered(path: &Path, total_bytes: u64) -> io::Result<Buffered> {
    let buf = pattern(BUFFERED_WRITE_BYTES);
    let writes = total_bytes.div_ceil(BUFFERED_WRITE_BYTES as u64).max(1);
    let result = (|| -> io::Result<(Duration, Duration)> {
        let mut file = create(path)?;
        let started = Instant::now();
        for _ in 0..writes {
            file.write_all(&buf)?;
        }
        let sync_started = Instant::now();
        file.sync_data()?;
        Ok((started.elapsed(), sync_started.elapsed()))
    })();
    let _ = std::fs::remove_file(path);
    let (elapsed, sync) = result?;
    let bytes = writes * BUFFERED_WRITE_BYTES as u64;
    let secs = elapsed.as_secs_f64().max(1e-9);
    Ok(Buffered {
        bytes,
        write_bytes: BUFFERED_WRITE_BYTES as u64,
        secs,
        mb_per_s: bytes as f64 / MB / secs,
        sync_secs: sync.as_secs_f64(),
    })
}

/// Writes `total_bytes` (rounded up to whole writes) to a new file `path` in 64 KiB writes,
/// each followed by `fdatasync`; removes the file afterwards.
pub fn synced(path: &Path, total_bytes: u64) -> io::Result<Synced> {
    let buf = pattern(SYNCED_WRITE_BYTES);
    let writes = total_bytes.div_ceil(SYNCED_WRITE_BYTES as u64).max(1);
    let mut histogram = report::latency_histogram();
    let result = (|| -> io::Result<Duration> {
        let mut file = create(path)?;
        let started = Instant::now();
        for _ in 0..writes {
            let write_started = Instant::now();
            file.write_all(&buf)?;
            file.sync_data()?;
            report::record_latency(&mut histogram, write_started.elapsed());
        }
        Ok(started.elapsed())
    })();
    let _ = std::fs::remove_file(path);
    let elapsed = result?;
    let bytes = writes * SYNCED_WRITE_BYTES as u64;
    let secs = elapsed.as_secs_f64().max(1e-9);
    Ok(Synced {
        bytes,
        write_bytes: SYNCED_WRITE_BYTES as u64,
        syncs: writes,
        secs,
        mb_per_s: bytes as f64 / MB / secs,
        syncs_per_s: writes as f64 / secs,
        latency: Latency::from_histogram(&histogram),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_and_cleans_up() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("baseline.dat");
        let buffered = buffered(&path, 3 * 1024 * 1024).expect("buffered");
        assert_eq!(buffered.bytes, 3 * 1024 * 1024);
        assert!(buffered.mb_per_s > 0.0);
        assert!(!path.exists());
        let synced = synced(&path, 100 * 1024).expect("synced");
        assert_eq!(synced.syncs, 2);
        assert_eq!(synced.latency.count, 2);
        assert!(!path.exists());
    }
}
