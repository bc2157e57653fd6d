//! Damaged files: what recovery and reads do with bytes that are not what the log wrote.
//!
//! Each test writes a valid log, closes it, damages its files the way crashes and bad disks do,
//! reopens it and proves the promises of the format:
//!
//! - a torn or damaged tail of the active segment is cut off on open; everything before it is
//!   intact and appends continue at the right offset, consistently across later reopens;
//! - a damaged batch that is not at the tail (followed by good batches, or in a sealed segment) is
//!   never served: reads of it fail with [`storage::Error::Corrupt`], reads elsewhere still work;
//! - an offset is never silently skipped: a read returns records starting at the offset asked for,
//!   or an error;
//! - segment files left empty by a crash in the middle of a segment roll open no gap in offsets;
//! - index files are a cache: deleted, garbage or stale ones are rebuilt and every lookup (by
//!   offset and by timestamp) still works;
//! - a torn metadata journal tail is cut off and the catalog survives, and later metadata
//!   changes are durable;
//! - whatever bytes overwrite a segment, opening never panics and every read either fails or
//!   returns exactly the bytes that were written (a property test).

mod common;

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use storage::{
    Error, Fsync, Log, ManualClock, NewRecord, Owner, RETENTION_DEFAULT, ReadLimits, Record,
    StreamInfo,
};
use tempfile::TempDir;

const STREAM: &str = "damaged";
/// Timestamps start here and move one second per append, so every batch has its own.
const CLOCK_START_MS: i64 = 1_700_000_000_000;
const CLOCK_STEP_MS: i64 = 1_000;

// ---- fixtures ----------------------------------------------------------------------------------

/// The data of the record at `offset`: deterministic bytes derived from the offset.
fn payload(offset: u64, len: usize) -> Bytes {
    let mut state = offset.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x2545_f491_4f6c_dd1d;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out.into()
}

fn key(offset: u64) -> Bytes {
    format!("key-{offset}").into()
}

/// One acknowledged append.
#[derive(Clone, Copy, Debug)]
struct Written {
    first_offset: u64,
    timestamp_ms: i64,
}

/// A log of one stream with one shard, the records written to it (by offset) and its appends.
struct Fixture {
    dir: TempDir,
    clock: Arc<ManualClock>,
    expected: Vec<(Bytes, Bytes)>,
    appends: Vec<Written>,
}

impl Fixture {
    fn new() -> Self {
        let fixture = Self {
            dir: tempfile::tempdir().expect("tempdir"),
            clock: Arc::new(ManualClock::new(CLOCK_START_MS)),
            expected: Vec::new(),
            appends: Vec::new(),
        };
        let log = fixture.open();
        log.create_stream(STREAM, 1, RETENTION_DEFAULT, Owner::KINESIS)
            .expect("create stream");
        close(log);
        fixture
    }

    fn config(&self) -> storage::LogConfig {
        let mut config = common::config(self.dir.path());
        config.fsync = Fsync::Always;
        config
    }

    fn open(&self) -> Log {
        Log::open_with_clock(self.config(), self.clock.clone()).expect("open the log")
    }

    /// Appends `appends` batches of `records` records of `data_len` bytes each, one second
    /// apart.
    fn append(&mut self, log: &Log, appends: usize, records: usize, data_len: usize) {
        for _ in 0..appends {
            self.clock.advance_ms(CLOCK_STEP_MS);
            let first = self.expected.len() as u64;
            let batch: Vec<(Bytes, Bytes)> = (first..first + records as u64)
                .map(|offset| (key(offset), payload(offset, data_len)))
                .collect();
            let ack = log
                .append_blocking(
                    STREAM,
                    0,
                    batch
                        .iter()
                        .map(|(k, d)| NewRecord::new(k.clone(), d.clone()))
                        .collect(),
                )
                .expect("append");
            assert_eq!(ack.first_offset, first, "appends are dense");
            self.expected.extend(batch);
            self.appends.push(Written {
                first_offset: ack.first_offset,
                timestamp_ms: ack.timestamp_ms,
            });
        }
    }

    /// Opens, appends, closes: the starting point of most tests.
    fn write(&mut self, appends: usize, records: usize, data_len: usize) {
        let log = self.open();
        self.append(&log, appends, records, data_len);
        close(log);
    }

    fn shard_dir(&self) -> PathBuf {
        let log = self.open();
        let id = log.stream(STREAM).expect("stream").id;
        close(log);
        self.dir
            .path()
            .join("streams")
            .join(id.to_string())
            .join("0")
    }

    /// The shard's segment data files, oldest first.
    fn segments(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(self.shard_dir())
            .expect("list the shard")
            .map(|entry| entry.expect("entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "log"))
            .collect();
        found.sort();
        found
    }

    fn index_files(&self) -> Vec<PathBuf> {
        self.segments()
            .iter()
            .map(|path| path.with_extension("idx"))
            .collect()
    }
}

/// A batch as found in a segment file.
#[derive(Clone, Copy, Debug)]
struct BatchAt {
    position: u64,
    len: u64,
    base_offset: u64,
    count: u64,
}

impl BatchAt {
    fn next_offset(&self) -> u64 {
        self.base_offset + self.count
    }
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// The batches of a segment file, read from the format directly, up to the zero end marker.
fn batches(path: &Path) -> Vec<BatchAt> {
    let bytes = std::fs::read(path).expect("read a segment");
    let mut out = Vec::new();
    let mut position = 0usize;
    while position + 40 <= bytes.len() {
        let len = le_u32(&bytes, position) as usize;
        if len == 0 {
            break;
        }
        let base_offset = u64::from_le_bytes(
            bytes[position + 16..position + 24]
                .try_into()
                .expect("8 bytes"),
        );
        out.push(BatchAt {
            position: position as u64,
            len: len as u64,
            base_offset,
            count: u64::from(le_u32(&bytes, position + 12)),
        });
        position += len;
    }
    out
}

fn overwrite(path: &Path, position: u64, bytes: &[u8]) {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open for damage");
    file.write_all_at(bytes, position).expect("damage");
    file.sync_all().expect("sync the damage");
}

fn flip_bit(path: &Path, position: u64, bit: u8) {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open for damage");
    let mut byte = [0u8];
    file.read_exact_at(&mut byte, position)
        .expect("read a byte");
    byte[0] ^= 1 << bit;
    file.write_all_at(&byte, position).expect("flip a bit");
    file.sync_all().expect("sync the damage");
}

fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..len).map(|_| rng.r#gen()).collect()
}

/// Checks that `records` are `expected`'s records from `from` on, densely.
fn assert_records(records: &[Record], from: u64, expected: &[(Bytes, Bytes)], context: &str) {
    for (record, offset) in records.iter().zip(from..) {
        assert_eq!(record.offset, offset, "{context}: offsets from {from}");
        let (key, data) = expected
            .get(offset as usize)
            .unwrap_or_else(|| panic!("{context}: record at {offset} was never written"));
        assert_eq!(&record.key, key, "{context}: key at {offset}");
        assert!(
            record.data == data,
            "{context}: data at {offset} differs from what was written"
        );
    }
}

/// Reads the whole shard, failing on any error.
fn read_all(log: &Log, context: &str) -> Vec<Record> {
    let next = log.shard_bounds(STREAM, 0).expect("bounds").next;
    let mut out = Vec::new();
    let mut from = 0;
    while from < next {
        let batch = log
            .read(STREAM, 0, from, ReadLimits::default())
            .unwrap_or_else(|error| panic!("{context}: read at {from} failed: {error}"));
        assert!(
            !batch.records.is_empty(),
            "{context}: read at {from} returned nothing before the end at {next}"
        );
        from = batch.next_offset;
        out.extend(batch.records);
    }
    out
}

/// Closes the log and drops the handle, which releases the data directory's lock.
fn close(log: Log) {
    log.close().expect("close");
}

fn is_corrupt<T>(result: &Result<T, Error>) -> bool {
    matches!(result, Err(Error::Corrupt { .. }))
}

fn single_record_limits() -> ReadLimits {
    ReadLimits {
        records_max: 1,
        ..ReadLimits::default()
    }
}

// ---- torn tails ----------------------------------------------------------------------------------

/// Damages the tail of the active segment with `damage` (given the file and its batches; returns
/// the offset the log must end at afterwards), then checks the cut, appends and rereads.
fn torn_tail_case(name: &str, damage: impl FnOnce(&Path, &[BatchAt]) -> u64) {
    let mut fixture = Fixture::new();
    fixture.write(10, 3, 300);
    let segments = fixture.segments();
    assert_eq!(segments.len(), 1, "{name}: the fixture fits one segment");
    let active = segments.last().expect("an active segment");
    let found = batches(active);
    assert_eq!(found.len(), 10, "{name}: one batch per append");
    let end = damage(active, &found);

    let log = fixture.open();
    assert_eq!(
        log.shard_bounds(STREAM, 0).expect("bounds").next,
        end,
        "{name}: the torn batches are cut off"
    );
    let survivors = read_all(&log, name);
    assert_eq!(
        survivors.len() as u64,
        end,
        "{name}: records before the tear"
    );
    assert_records(&survivors, 0, &fixture.expected, name);
    // Appends continue where the intact records end; a smaller batch than the torn one leaves
    // room for leftovers of the tear past it, which must not come back either.
    fixture.expected.truncate(end as usize);
    fixture.appends.retain(|w| w.first_offset < end);
    fixture.append(&log, 2, 1, 20);
    let after = read_all(&log, name);
    assert_eq!(
        after.len(),
        fixture.expected.len(),
        "{name}: after appending"
    );
    assert_records(&after, 0, &fixture.expected, name);
    close(log);

    let log = fixture.open();
    let reread = read_all(&log, name);
    assert_eq!(
        reread.len(),
        fixture.expected.len(),
        "{name}: after reopening"
    );
    assert_records(&reread, 0, &fixture.expected, name);
    close(log);
}

#[test]
fn torn_tail_zeroed_mid_batch_is_truncated_and_appends_continue() {
    torn_tail_case("zeroed second half", |path, found| {
        let last = found.last().expect("a batch");
        let half = last.len / 2;
        overwrite(
            path,
            last.position + half,
            &vec![0; (last.len - half) as usize],
        );
        last.base_offset
    });
}

#[test]
fn torn_tail_overwritten_with_garbage_is_truncated_and_appends_continue() {
    torn_tail_case("garbage second half", |path, found| {
        let last = found.last().expect("a batch");
        let half = last.len / 2;
        overwrite(
            path,
            last.position + half,
            &random_bytes(7, (last.len - half) as usize + 100),
        );
        last.base_offset
    });
}

#[test]
fn torn_tail_with_only_the_length_written_is_truncated_and_appends_continue() {
    torn_tail_case("only the length field", |path, found| {
        let last = found.last().expect("a batch");
        overwrite(path, last.position + 4, &vec![0; last.len as usize - 4]);
        last.base_offset
    });
}

#[test]
fn torn_tail_spanning_two_batches_is_truncated_and_appends_continue() {
    torn_tail_case("torn across the last two batches", |path, found| {
        let before_last = found.get(found.len() - 2).expect("two batches");
        let last = found.last().expect("a batch");
        let from = before_last.position + before_last.len / 3;
        let to = last.position + last.len;
        overwrite(path, from, &vec![0; (to - from) as usize]);
        before_last.base_offset
    });
}

#[test]
fn flipped_bit_in_the_tail_batch_is_truncated_on_open() {
    // Bytes of the last batch, counted from its start (or, when negative, from its end).
    for (field, at, bit) in [
        ("length", 1_i64, 0),
        ("checksum", 5, 3),
        ("record count", 12, 1),
        ("base offset", 16, 0),
        ("first timestamp", 27, 6),
        ("a record's length", 41, 2),
        ("data", -3, 4),
    ] {
        let name = format!("bit {bit} of the {field} field of the tail batch");
        torn_tail_case(&name, |path, found| {
            let last = found.last().expect("a batch");
            let end = last.position + last.len;
            let position = if at >= 0 {
                last.position + at.unsigned_abs()
            } else {
                end - at.unsigned_abs()
            };
            flip_bit(path, position, bit);
            last.base_offset
        });
    }
}

// ---- damage in the middle --------------------------------------------------------------------

/// Flips a bit at byte `at` of the fifth of ten batches of the active segment, then checks
/// twice (the second time after appending and reopening): the log keeps every good batch, reads
/// of the damaged one fail with `Corrupt`, every other record is readable.
fn mid_active_segment_case(name: &str, at: impl FnOnce(&BatchAt) -> u64) {
    let mut fixture = Fixture::new();
    fixture.write(10, 3, 300);
    let active = fixture.segments().pop().expect("a segment");
    let found = batches(&active);
    let damaged = found[4];
    flip_bit(&active, damaged.position + at(&damaged), 5);

    for round in 0..2 {
        let context = format!("{name}, reopen {round}");
        let log = fixture.open();
        let total = fixture.expected.len() as u64;
        assert_eq!(
            log.shard_bounds(STREAM, 0).expect("bounds").next,
            total,
            "{context}: good batches after the damage are kept"
        );
        for from in damaged.base_offset..damaged.next_offset() {
            let result = log.read(STREAM, 0, from, ReadLimits::default());
            assert!(
                is_corrupt(&result),
                "{context}: read at {from}, inside the damaged batch, gave {result:?}"
            );
        }
        // A read starting before the damage may stop short of it or fail; never wrong bytes.
        match log.read(STREAM, 0, 0, ReadLimits::default()) {
            Ok(batch) => {
                assert!(
                    batch.next_offset <= damaged.base_offset,
                    "{context}: read over it"
                );
                assert_records(&batch.records, 0, &fixture.expected, &context);
            }
            Err(error) => assert!(matches!(error, Error::Corrupt { .. }), "{context}: {error}"),
        }
        // Every record after the damaged batch is readable.
        let after = log
            .read(STREAM, 0, damaged.next_offset(), ReadLimits::default())
            .expect("read after the damaged batch");
        assert_eq!(
            after.records.len() as u64,
            total - damaged.next_offset(),
            "{context}: records after the damage"
        );
        assert_records(
            &after.records,
            damaged.next_offset(),
            &fixture.expected,
            &context,
        );
        // Every record before it, one at a time.
        for from in 0..damaged.base_offset {
            let batch = log
                .read(STREAM, 0, from, single_record_limits())
                .unwrap_or_else(|error| panic!("{context}: read at {from}: {error}"));
            assert_records(&batch.records, from, &fixture.expected, &context);
            assert_eq!(batch.records.len(), 1, "{context}: read at {from}");
        }
        // Appends continue after the last good batch, and the next reopen scans over the damage
        // again.
        fixture.append(&log, 1, 2, 50);
        let tail = log
            .read(STREAM, 0, total, ReadLimits::default())
            .expect("read the new records");
        assert_records(&tail.records, total, &fixture.expected, &context);
        close(log);
    }
}

#[test]
fn flipped_bit_mid_segment_reads_corrupt_and_other_batches_stay_readable() {
    mid_active_segment_case("data of a middle batch", |batch| batch.len - 10);
}

// Header fields of a middle batch of the active segment. The good batches after it were
// acknowledged; recovery must not cut them off as if they were a torn tail.

#[test]
fn flipped_bit_in_a_mid_segment_base_offset_field_keeps_later_batches() {
    mid_active_segment_case("base offset field of a middle batch", |_| 16);
}

#[test]
fn flipped_bit_in_a_mid_segment_record_count_field_keeps_later_batches() {
    mid_active_segment_case("record count field of a middle batch", |_| 12);
}

#[test]
fn flipped_bit_in_a_mid_segment_length_field_keeps_later_batches() {
    mid_active_segment_case("length field of a middle batch", |_| 1);
}

/// Writes at least three segments, flips a bit in the batch of the second (sealed) one that
/// `pick` chooses, at the byte `at` chooses, and checks every read: inside the damaged batch it
/// fails with `Corrupt`; everywhere else it succeeds; and no read ever skips or repeats an
/// offset or returns wrong bytes.
fn sealed_segment_case(
    name: &str,
    pick: impl FnOnce(&[BatchAt]) -> BatchAt,
    at: impl FnOnce(&BatchAt) -> u64,
) {
    let mut fixture = Fixture::new();
    fixture.write(60, 3, 1000);
    let segments = fixture.segments();
    assert!(
        segments.len() >= 3,
        "{name}: the fixture has three segments"
    );
    let sealed = &segments[1];
    let damaged = pick(&batches(sealed));
    flip_bit(sealed, damaged.position + at(&damaged), 2);

    for round in 0..2 {
        let context = format!("{name}, reopen {round}");
        let log = fixture.open();
        let next = log.shard_bounds(STREAM, 0).expect("bounds").next;
        assert_eq!(
            next,
            fixture.expected.len() as u64,
            "{context}: a damaged sealed segment loses no later records"
        );
        for from in 0..next {
            let result = log.read(STREAM, 0, from, single_record_limits());
            let inside = (damaged.base_offset..damaged.next_offset()).contains(&from);
            match result {
                Ok(batch) if !inside => {
                    assert_eq!(batch.records.len(), 1, "{context}: read at {from}");
                    assert_records(&batch.records, from, &fixture.expected, &context);
                }
                Ok(batch) => panic!(
                    "{context}: read at {from}, inside the damaged batch at offsets {}..{}, \
                     returned records {:?} instead of Corrupt",
                    damaged.base_offset,
                    damaged.next_offset(),
                    batch.records.iter().map(|r| r.offset).collect::<Vec<_>>()
                ),
                Err(error) => assert!(
                    inside && matches!(error, Error::Corrupt { .. }),
                    "{context}: read at {from} failed with {error}"
                ),
            }
        }
        // Big reads over the damage fail or stop before it; never wrong bytes.
        for from in [0, damaged.base_offset.saturating_sub(1)] {
            match log.read(STREAM, 0, from, ReadLimits::default()) {
                Ok(batch) => {
                    assert!(
                        batch.next_offset <= damaged.base_offset,
                        "{context}: read over it"
                    );
                    assert_records(&batch.records, from, &fixture.expected, &context);
                }
                Err(error) => assert!(matches!(error, Error::Corrupt { .. }), "{context}: {error}"),
            }
        }
        close(log);
    }
}

/// A byte in the data of a record near the end of the batch.
fn in_the_data(batch: &BatchAt) -> u64 {
    batch.len - 100
}

#[test]
fn flipped_bit_in_a_sealed_segment_reads_corrupt_never_wrong_data() {
    sealed_segment_case(
        "middle batch of a sealed segment",
        |found| found[found.len() / 2],
        in_the_data,
    );
}

#[test]
fn flipped_bit_in_the_first_batch_of_a_sealed_segment_reads_corrupt() {
    sealed_segment_case(
        "first batch of a sealed segment",
        |found| found[0],
        in_the_data,
    );
}

#[test]
fn flipped_bit_in_the_last_batch_of_a_sealed_segment_reads_corrupt() {
    sealed_segment_case(
        "last batch of a sealed segment",
        |found| *found.last().expect("a batch"),
        in_the_data,
    );
}

// A damaged header field the reader walks by. Reads that start past the damaged batch must
// still work, whatever reads came before them.

#[test]
fn flipped_bit_in_a_sealed_batch_base_offset_field_reads_corrupt_and_later_batches_stay_readable() {
    sealed_segment_case(
        "base offset field of a middle batch of a sealed segment",
        |found| found[found.len() / 2],
        |_| 16,
    );
}

#[test]
fn flipped_bit_in_a_sealed_batch_record_count_field_reads_corrupt_and_later_batches_stay_readable()
{
    sealed_segment_case(
        "record count field of a middle batch of a sealed segment",
        |found| found[found.len() / 2],
        |_| 12,
    );
}

#[test]
fn flipped_bit_in_a_sealed_batch_length_field_reads_corrupt_and_later_batches_stay_readable() {
    sealed_segment_case(
        "length field of a middle batch of a sealed segment",
        |found| found[found.len() / 2],
        |_| 1,
    );
}

// ---- crash debris ------------------------------------------------------------------------------

/// A round that rolls a segment creates the new segment file before its writes reach the disk:
/// a crash then leaves the new file empty, named after offsets that were never written (or
/// acknowledged). Recovery must not skip those offsets.
#[test]
fn empty_segment_left_by_an_interrupted_roll_opens_no_offset_gap() {
    let mut fixture = Fixture::new();
    fixture.write(30, 3, 1000);
    let segments = fixture.segments();
    assert!(segments.len() >= 2, "the fixture rolled at least once");
    let written = fixture.expected.len() as u64;
    // What a crash leaves after a round assigned offsets `written..written + 4` to the old
    // segment and then rolled: a preallocated, empty segment and an empty index.
    let debris = fixture.shard_dir().join(format!("{:020}.log", written + 4));
    let file = std::fs::File::create(&debris).expect("create the debris");
    file.set_len(fixture.config().segment_bytes_max + fixture.config().batch_bytes_max as u64)
        .expect("size the debris");
    std::fs::File::create(debris.with_extension("idx")).expect("create its index");

    let log = fixture.open();
    assert_eq!(
        log.shard_bounds(STREAM, 0).expect("bounds").next,
        written,
        "the next offset is the one after the last record on disk"
    );
    assert_records(&read_all(&log, "debris"), 0, &fixture.expected, "debris");
    fixture.append(&log, 2, 2, 100);
    let all = read_all(&log, "debris, after appending");
    assert_eq!(all.len(), fixture.expected.len(), "dense after appending");
    assert_records(&all, 0, &fixture.expected, "debris, after appending");
    close(log);
    let log = fixture.open();
    let all = read_all(&log, "debris, reopened");
    assert_eq!(all.len(), fixture.expected.len(), "dense after reopening");
    assert_records(&all, 0, &fixture.expected, "debris, reopened");
    close(log);
}

// ---- indexes -----------------------------------------------------------------------------------

/// Damages every index file with `damage`, reopens, and checks reads by offset and by time.
fn index_case(name: &str, damage: impl Fn(&Fixture, usize, &Path)) {
    let mut fixture = Fixture::new();
    fixture.write(45, 2, 1500);
    let segments = fixture.segments();
    assert!(
        segments.len() >= 3,
        "{name}: the fixture has three segments"
    );
    for (i, index) in fixture.index_files().iter().enumerate() {
        damage(&fixture, i, index);
    }

    for round in 0..2 {
        let context = format!("{name}, reopen {round}");
        let log = fixture.open();
        let all = read_all(&log, &context);
        assert_eq!(all.len(), fixture.expected.len(), "{context}: every record");
        assert_records(&all, 0, &fixture.expected, &context);
        for from in 0..fixture.expected.len() as u64 {
            let batch = log
                .read(STREAM, 0, from, single_record_limits())
                .unwrap_or_else(|error| panic!("{context}: read at {from}: {error}"));
            assert_records(&batch.records, from, &fixture.expected, &context);
        }
        for written in &fixture.appends {
            for at in [
                written.timestamp_ms,
                written.timestamp_ms - CLOCK_STEP_MS / 2,
            ] {
                let offset = log
                    .offset_for_timestamp(STREAM, 0, at)
                    .unwrap_or_else(|error| panic!("{context}: lookup of time {at}: {error}"));
                assert_eq!(
                    offset, written.first_offset,
                    "{context}: first record at or after time {at}"
                );
            }
        }
        let last = fixture.appends.last().expect("appends");
        assert_eq!(
            log.offset_for_timestamp(STREAM, 0, last.timestamp_ms + 1)
                .expect("lookup past the end"),
            fixture.expected.len() as u64,
            "{context}: a time after every record gives the next offset"
        );
        // New appends are indexed too.
        fixture.append(&log, 3, 2, 1500);
        let newest = *fixture.appends.last().expect("appends");
        assert_eq!(
            log.offset_for_timestamp(STREAM, 0, newest.timestamp_ms)
                .expect("lookup of a new append"),
            newest.first_offset,
            "{context}: lookup of a new append"
        );
        close(log);
    }
}

#[test]
fn deleted_index_files_are_rebuilt_and_lookups_work() {
    index_case("deleted", |_, _, index| {
        std::fs::remove_file(index).expect("delete an index");
    });
}

#[test]
fn garbage_index_files_are_rebuilt_and_lookups_work() {
    index_case("random garbage", |_, i, index| {
        std::fs::write(index, random_bytes(i as u64, 16 * (i + 1) + i)).expect("garbage");
    });
}

#[test]
fn truncated_index_files_are_rebuilt_and_lookups_work() {
    index_case("cut mid-entry", |_, _, index| {
        let len = std::fs::metadata(index).expect("stat").len();
        let file = OpenOptions::new().write(true).open(index).expect("open");
        file.set_len(len.saturating_sub(5)).expect("cut");
    });
}

#[test]
fn stale_index_files_from_other_segments_are_rebuilt_and_lookups_work() {
    // Every index is replaced by its neighbour's: entries that are well formed, ordered and in
    // range, but point at the wrong places.
    let originals = std::cell::RefCell::new(Vec::new());
    index_case("swapped", |fixture, i, index| {
        if i == 0 {
            *originals.borrow_mut() = fixture
                .index_files()
                .iter()
                .map(|path| std::fs::read(path).expect("read an index"))
                .collect();
        }
        let originals = originals.borrow();
        let other = &originals[(i + 1) % originals.len()];
        std::fs::write(index, other).expect("swap in another index");
    });
}

#[test]
fn plausible_but_wrong_index_entries_are_not_trusted() {
    // Each index keeps its last entry (so a sealed segment opens without a scan) but its earlier
    // entries point into the middle of batches, with offsets and times that look right.
    index_case("misaligned entries", |_, _, index| {
        let raw = std::fs::read(index).expect("read an index");
        let entries = raw.len() / 16;
        let mut damaged = raw.clone();
        for e in 0..entries.saturating_sub(1) {
            let at = e * 16 + 4;
            let position = u32::from_le_bytes(raw[at..at + 4].try_into().expect("4 bytes"));
            damaged[at..at + 4].copy_from_slice(&(position + 7).to_le_bytes());
        }
        std::fs::write(index, damaged).expect("rewrite the index");
    });
}

// ---- the metadata journal ------------------------------------------------------------------------

struct Catalog {
    streams: Vec<StreamInfo>,
    cursors: Vec<(storage::CursorKey, u64)>,
    properties: Vec<(String, Vec<u8>)>,
}

fn catalog(log: &Log) -> Catalog {
    let mut streams = log.list_streams();
    streams.sort_by(|a, b| a.name.cmp(&b.name));
    Catalog {
        streams,
        cursors: log.cursors("reader"),
        properties: log.properties("view"),
    }
}

fn assert_catalog(found: &Catalog, expected: &Catalog, context: &str) {
    assert_eq!(found.streams, expected.streams, "{context}: streams");
    assert_eq!(found.cursors, expected.cursors, "{context}: cursors");
    assert_eq!(
        found.properties, expected.properties,
        "{context}: properties"
    );
}

fn journal_tail_case(name: &str, tail: &[u8]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = common::config(dir.path());
    config.fsync = Fsync::Always;
    let log = Log::open(config.clone()).expect("open");
    log.create_stream("a", 2, RETENTION_DEFAULT, Owner::KINESIS)
        .expect("create a");
    log.create_stream("b", 1, RETENTION_DEFAULT, Owner::KINESIS)
        .expect("create b");
    log.set_retention("a", Duration::from_secs(48 * 3600))
        .expect("retention");
    log.commit_cursor("reader", "a", 1, 17).expect("cursor");
    log.put_property("view", "tag", b"blue".to_vec())
        .expect("property");
    let ack = log
        .append_blocking("b", 0, vec![NewRecord::new("k", "v")])
        .expect("append");
    let before = catalog(&log);
    close(log);

    let journals: Vec<PathBuf> = std::fs::read_dir(dir.path().join("meta"))
        .expect("list meta")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("journal."))
        })
        .collect();
    assert_eq!(journals.len(), 1, "{name}: one journal");
    let journal = &journals[0];
    let len = std::fs::metadata(journal).expect("stat").len();
    overwrite(journal, len, tail);

    let log = Log::open(config.clone()).expect("open with a torn journal");
    assert_catalog(&catalog(&log), &before, name);
    let record = log
        .read("b", 0, ack.first_offset, ReadLimits::default())
        .expect("read b");
    assert_eq!(&record.records[0].data[..], b"v", "{name}: data");
    // Later changes land after the cut, so the next open sees them.
    log.commit_cursor("reader", "a", 1, 18).expect("cursor");
    log.put_property("view", "size", b"7".to_vec())
        .expect("property");
    log.create_stream("c", 3, RETENTION_DEFAULT, Owner::KINESIS)
        .expect("create c");
    let after = catalog(&log);
    close(log);
    let log = Log::open(config).expect("reopen");
    assert_catalog(
        &catalog(&log),
        &after,
        &format!("{name}, changes after the cut"),
    );
    close(log);
}

#[test]
fn torn_metadata_journal_tail_is_cut_and_catalog_survives() {
    journal_tail_case("random garbage", &random_bytes(3, 37));
    journal_tail_case("a torn entry header", &[9, 0, 0]);
    let mut torn_entry = 1000u32.to_le_bytes().to_vec();
    torn_entry.extend_from_slice(&[0xab; 20]);
    journal_tail_case("an entry cut short", &torn_entry);
    let mut bad_crc = 4u32.to_le_bytes().to_vec();
    bad_crc.extend_from_slice(&0xdead_beef_u32.to_le_bytes());
    bad_crc.extend_from_slice(&1u32.to_le_bytes());
    journal_tail_case("an entry with a wrong checksum", &bad_crc);
    let payload = [1u8, 0, 0, 0, 99];
    let mut unknown_op = (payload.len() as u32).to_le_bytes().to_vec();
    unknown_op.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    unknown_op.extend_from_slice(&payload);
    journal_tail_case("a checksummed entry with an unknown op", &unknown_op);
}

// ---- arbitrary damage ------------------------------------------------------------------------

/// Overwrites `len` bytes at a position chosen by `start` (within the written bytes of the
/// segment chosen by `segment`, or just past them) with `fill`, optionally garbles the index
/// too, and checks that the log opens and never serves wrong bytes.
fn arbitrary_damage_case(
    segment: prop::sample::Index,
    start: prop::sample::Index,
    len: usize,
    fill: &[u8],
    garble_index: bool,
) -> Result<(), TestCaseError> {
    let mut fixture = Fixture::new();
    {
        let log = fixture.open();
        fixture.append(&log, 25, 3, 600);
        close(log);
    }
    let segments = fixture.segments();
    let path = segment.get(&segments);
    let written = batches(path).last().map_or(0, |b| b.position + b.len);
    let position = start.index(written as usize + 64) as u64;
    overwrite(path, position, &fill[..len]);
    if garble_index {
        std::fs::write(path.with_extension("idx"), &fill[..len]).expect("garble the index");
    }

    let log = Log::open_with_clock(fixture.config(), fixture.clock.clone())
        .map_err(|error| TestCaseError::fail(format!("open failed: {error}")))?;
    let next = log.shard_bounds(STREAM, 0).expect("bounds").next;
    prop_assert!(
        next <= fixture.expected.len() as u64,
        "the log claims {next} records, {} were written",
        fixture.expected.len()
    );
    let limits = ReadLimits {
        records_max: 16,
        ..ReadLimits::default()
    };
    for from in 0..=next {
        if let Ok(batch) = log.read(STREAM, 0, from, limits) {
            let offsets: Vec<u64> = batch.records.iter().map(|r| r.offset).collect();
            for (record, offset) in batch.records.iter().zip(from..) {
                prop_assert_eq!(
                    record.offset,
                    offset,
                    "a read from {} returned offsets {:?} ({} bytes at byte {} of {})",
                    from,
                    &offsets,
                    len,
                    position,
                    path.display()
                );
                let (key, data) = &fixture.expected[record.offset as usize];
                prop_assert_eq!(&record.key, key, "key at {}", record.offset);
                prop_assert!(record.data == data, "wrong bytes at {}", record.offset);
            }
        }
    }
    for written in &fixture.appends {
        if let Ok(offset) = log.offset_for_timestamp(STREAM, 0, written.timestamp_ms) {
            prop_assert!(offset <= next, "time lookup past the end");
        }
    }
    // The log still takes appends, and serves them.
    let ack = log
        .append_blocking(STREAM, 0, vec![NewRecord::new("after", "damage")])
        .map_err(|error| TestCaseError::fail(format!("append after damage: {error}")))?;
    let batch = log
        .read(STREAM, 0, ack.first_offset, ReadLimits::default())
        .map_err(|error| TestCaseError::fail(format!("read of the new record: {error}")))?;
    prop_assert_eq!(&batch.records[0].data[..], b"damage");
    close(log);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn recovery_never_panics_and_never_serves_wrong_bytes(
        segment in any::<prop::sample::Index>(),
        start in any::<prop::sample::Index>(),
        len in 1usize..1024,
        fill in prop::collection::vec(any::<u8>(), 1024),
        garble_index in any::<bool>(),
    ) {
        arbitrary_damage_case(segment, start, len, &fill, garble_index)?;
    }
}
