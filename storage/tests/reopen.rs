//! Reopening must stay flat in the number of shards and the data retained: a restart with
//! thousands of shards used to rewrite every active segment's index file and map whole files to
//! check every index entry against the data. Now opening reads only each shard's tail (from the
//! last index entry, with `pread`) and writes nothing unless recovery changed something.
//!
//! Because only the active segment's last index entry is checked at open, an earlier entry that
//! disagrees with the data is found by the lookup that uses it; the lookup then verifies the
//! whole index and still answers right.

mod common;

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use storage::{
    Fsync, Log, LogConfig, ManualClock, NewRecord, Owner, RETENTION_DEFAULT, ReadLimits,
};
use tempfile::TempDir;

const START_MS: i64 = 1_700_000_000_000;
const STEP_MS: i64 = 1_000;

fn config(dir: &Path) -> LogConfig {
    let mut config = common::config(dir);
    config.fsync = Fsync::Always;
    config
}

/// Appends `count` batches of one 300-byte record, one second apart; returns their timestamps.
fn fill(log: &Log, clock: &ManualClock, stream: &str, count: u64) -> Vec<i64> {
    (0..count)
        .map(|offset| {
            clock.advance_ms(STEP_MS);
            let mut data = format!("record {offset}").into_bytes();
            data.resize(300, b'-');
            let ack = log
                .append_blocking(stream, 0, vec![NewRecord::new("k", data)])
                .expect("append");
            assert_eq!(ack.first_offset, offset);
            ack.timestamp_ms
        })
        .collect()
}

fn files_with(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("list").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == extension) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .expect("mtime")
}

#[test]
fn a_clean_reopen_writes_no_index_file() {
    let dir = TempDir::new().expect("tempdir");
    let clock = Arc::new(ManualClock::new(START_MS));
    let log = Log::open_with_clock(config(dir.path()), clock.clone()).expect("open");
    for stream in ["a", "b", "c"] {
        log.create_stream(stream, 1, RETENTION_DEFAULT, Owner::KINESIS)
            .expect("create");
        // Enough for several segments of 64 KiB, so there are sealed ones and an active one.
        fill(&log, &clock, stream, 500);
    }
    log.close().expect("close");
    drop(log);
    let indexes = files_with(dir.path(), "idx");
    assert!(indexes.len() > 3, "sealed and active segments: {indexes:?}");
    let before: Vec<_> = indexes
        .iter()
        .map(|p| (modified(p), std::fs::read(p).expect("read")))
        .collect();

    let log = Log::open_with_clock(config(dir.path()), clock).expect("reopen");
    let after: Vec<_> = indexes
        .iter()
        .map(|p| (modified(p), std::fs::read(p).expect("read")))
        .collect();
    assert_eq!(before, after, "opening rewrote an index file");
    let batch = log
        .read("b", 0, 499, ReadLimits::default())
        .expect("read the tail");
    assert_eq!(batch.records.len(), 1);
    log.close().expect("close");
}

#[test]
fn a_bad_earlier_index_entry_of_the_active_segment_is_healed_by_the_lookup() {
    let dir = TempDir::new().expect("tempdir");
    let clock = Arc::new(ManualClock::new(START_MS));
    let mut config = config(dir.path());
    config.segment_bytes_max = 1024 * 1024; // One segment: the active one.
    let log = Log::open_with_clock(config.clone(), clock.clone()).expect("open");
    log.create_stream("s", 1, RETENTION_DEFAULT, Owner::KINESIS)
        .expect("create");
    let stamps = fill(&log, &clock, "s", 100);
    log.close().expect("close");
    drop(log);

    // Move the third index entry's position one byte into its batch: still ordered, so only a
    // check against the data can tell.
    let index = files_with(dir.path(), "idx").pop().expect("the index file");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&index)
        .expect("open index");
    let mut position = [0u8; 4];
    file.read_exact_at(&mut position, 2 * 16 + 4)
        .expect("read entry");
    let moved = u32::from_le_bytes(position) + 1;
    file.write_all_at(&moved.to_le_bytes(), 2 * 16 + 4)
        .expect("damage entry");
    drop(file);

    let log = Log::open_with_clock(config, clock).expect("reopen");
    // Time lookups first: a read through the bad entry would heal the index before them.
    for (offset, stamp) in stamps.iter().enumerate() {
        let found = log
            .offset_for_timestamp("s", 0, *stamp)
            .unwrap_or_else(|e| panic!("lookup of offset {offset}'s time: {e}"));
        assert_eq!(found, offset as u64);
    }
    for offset in 0..stamps.len() {
        let batch = log
            .read("s", 0, offset as u64, ReadLimits::default())
            .expect("read");
        assert_eq!(batch.records.first().map(|r| r.offset), Some(offset as u64));
    }
    log.close().expect("close");
}
