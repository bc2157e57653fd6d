//! Injected I/O failures reach every failure path: a failed or torn segment write, a failed
//! fsync, a full disk when a segment is created or grown, a failed directory sync, a failed
//! metadata write or sync, a failed state change. After each, the log refuses or rolls back as
//! its invariants say, and a reopen serves every acknowledged record and nothing refused.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use storage::{
    Error, FaultPlan, Faults, Fsync, IoPoint, Log, NewRecord, Owner, ReadLimits, StateChange,
};

const STREAM: &str = "faults";

fn open(dir: &Path, plan: &Arc<FaultPlan>) -> Log {
    let mut config = common::config(dir);
    config.fsync = Fsync::Always;
    config.faults = Faults::with(plan.clone());
    Log::open(config).unwrap()
}

fn records(tag: &str, count: usize) -> Vec<NewRecord> {
    (0..count)
        .map(|i| NewRecord::new(format!("{tag}-{i}"), format!("{tag} payload {i}")))
        .collect()
}

/// Every record of shard 0, as (key, data).
fn contents(log: &Log) -> Vec<(Bytes, Bytes)> {
    let mut out = Vec::new();
    let mut from = log.shard_bounds(STREAM, 0).unwrap().earliest;
    loop {
        let batch = log.read(STREAM, 0, from, ReadLimits::default()).unwrap();
        if batch.records.is_empty() {
            return out;
        }
        from = batch.next_offset;
        out.extend(batch.records.into_iter().map(|r| (r.key, r.data)));
    }
}

fn keys(records: &[NewRecord]) -> Vec<(Bytes, Bytes)> {
    records
        .iter()
        .map(|r| (r.key.clone(), r.data.clone()))
        .collect()
}

fn reopen(log: Log, dir: &Path, plan: &Arc<FaultPlan>) -> Log {
    plan.clear();
    log.close().unwrap();
    drop(log);
    open(dir, plan)
}

#[test]
fn a_failed_segment_write_poisons_the_shard_until_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let plan = FaultPlan::new();
    let log = open(dir.path(), &plan);
    log.create_stream(STREAM, 1, Duration::from_secs(3600), Owner::KINESIS)
        .unwrap();
    let before = records("before", 5);
    log.append_blocking(STREAM, 0, before.clone()).unwrap();
    plan.fail(IoPoint::SegmentWrite, 1, libc::EIO);
    let failed = log.append_blocking(STREAM, 0, records("failed", 3));
    assert!(matches!(failed, Err(Error::Io { .. })), "{failed:?}");
    assert!(matches!(
        log.append_blocking(STREAM, 0, records("after", 1)),
        Err(Error::Poisoned { .. })
    ));
    assert_eq!(contents(&log), keys(&before), "nothing refused is served");
    let log = reopen(log, dir.path(), &plan);
    assert_eq!(contents(&log), keys(&before));
    let after = records("after", 2);
    log.append_blocking(STREAM, 0, after.clone()).unwrap();
    assert_eq!(contents(&log), [keys(&before), keys(&after)].concat());
    log.close().unwrap();
}

#[test]
fn a_torn_write_on_a_full_disk_rolls_back_and_appends_resume_without_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let plan = FaultPlan::new();
    let log = open(dir.path(), &plan);
    log.create_stream(STREAM, 1, Duration::from_secs(3600), Owner::KINESIS)
        .unwrap();
    let first = records("first", 4);
    log.append_blocking(STREAM, 0, first.clone()).unwrap();
    plan.short(IoPoint::SegmentWrite, 1, libc::ENOSPC);
    let torn = log.append_blocking(STREAM, 0, records("torn", 50));
    assert!(matches!(torn, Err(Error::StorageFull { .. })), "{torn:?}");
    // Space is back: the shard goes on at its last committed offset, over the torn bytes.
    let second = records("second", 3);
    let ack = log.append_blocking(STREAM, 0, second.clone()).unwrap();
    assert_eq!(ack.first_offset, 4);
    assert_eq!(contents(&log), [keys(&first), keys(&second)].concat());
    let log = reopen(log, dir.path(), &plan);
    assert_eq!(contents(&log), [keys(&first), keys(&second)].concat());
    log.close().unwrap();
}

#[test]
fn a_failed_fsync_fails_the_round_and_poisons() {
    let dir = tempfile::tempdir().unwrap();
    let plan = FaultPlan::new();
    let log = open(dir.path(), &plan);
    log.create_stream(STREAM, 1, Duration::from_secs(3600), Owner::KINESIS)
        .unwrap();
    let kept = records("kept", 3);
    log.append_blocking(STREAM, 0, kept.clone()).unwrap();
    plan.fail(IoPoint::SegmentSync, 1, libc::EIO);
    let failed = log.append_blocking(STREAM, 0, records("unsynced", 2));
    assert!(matches!(failed, Err(Error::Io { .. })), "{failed:?}");
    assert!(matches!(
        log.append_blocking(STREAM, 0, records("refused", 1)),
        Err(Error::Poisoned { .. })
    ));
    // Whatever of the failed round reached the disk, the acknowledged records are all there.
    let log = reopen(log, dir.path(), &plan);
    let found = contents(&log);
    assert_eq!(found.get(..3), Some(&keys(&kept)[..]));
    log.append_blocking(STREAM, 0, records("again", 1)).unwrap();
    log.close().unwrap();
}

#[test]
fn a_full_disk_at_a_segment_roll_fails_that_append_alone() {
    let dir = tempfile::tempdir().unwrap();
    let plan = FaultPlan::new();
    let log = open(dir.path(), &plan);
    log.create_stream(STREAM, 1, Duration::from_secs(3600), Owner::KINESIS)
        .unwrap();
    // 64 KiB segments (the test configuration): fill most of one.
    let big: Vec<NewRecord> = (0..60)
        .map(|i| NewRecord::new(format!("big-{i}"), vec![b'b'; 1000]))
        .collect();
    log.append_blocking(STREAM, 0, big.clone()).unwrap();
    plan.fail_from(IoPoint::SegmentAllocate, 1, libc::ENOSPC);
    let rolled = log.append_blocking(STREAM, 0, big.clone());
    assert!(
        matches!(rolled, Err(Error::StorageFull { .. })),
        "{rolled:?}"
    );
    let again = log.append_blocking(STREAM, 0, big.clone());
    assert!(matches!(again, Err(Error::StorageFull { .. })), "{again:?}");
    plan.clear();
    let ack = log.append_blocking(STREAM, 0, big.clone()).unwrap();
    assert_eq!(
        ack.first_offset, 60,
        "offsets stay dense across the refusals"
    );
    let log = reopen(log, dir.path(), &plan);
    assert_eq!(contents(&log), [keys(&big), keys(&big)].concat());
    log.close().unwrap();
}

#[test]
fn a_failed_directory_sync_leaves_no_stream() {
    let dir = tempfile::tempdir().unwrap();
    let plan = FaultPlan::new();
    let log = open(dir.path(), &plan);
    plan.fail(IoPoint::DirSync, 1, libc::EIO);
    let made = log.create_stream(STREAM, 2, Duration::from_secs(3600), Owner::KINESIS);
    assert!(matches!(made, Err(Error::Io { .. })), "{made:?}");
    assert!(log.list_streams().is_empty());
    let log = reopen(log, dir.path(), &plan);
    assert!(log.list_streams().is_empty());
    assert_eq!(
        std::fs::read_dir(dir.path().join("streams"))
            .unwrap()
            .count(),
        0,
        "no files of the failed create"
    );
    log.create_stream(STREAM, 2, Duration::from_secs(3600), Owner::KINESIS)
        .unwrap();
    log.close().unwrap();
}

#[test]
fn a_refused_metadata_change_does_not_come_back_at_the_next_open() {
    for point in [IoPoint::MetaWrite, IoPoint::MetaSync] {
        let dir = tempfile::tempdir().unwrap();
        let plan = FaultPlan::new();
        let log = open(dir.path(), &plan);
        log.create_stream("kept", 1, Duration::from_secs(3600), Owner::KINESIS)
            .unwrap();
        plan.fail(point, 1, libc::EIO);
        let made = log.create_stream(STREAM, 1, Duration::from_secs(3600), Owner::KINESIS);
        assert!(matches!(made, Err(Error::Io { .. })), "{point:?}: {made:?}");
        plan.short(point, 1, libc::ENOSPC);
        let torn = log.set_retention("kept", Duration::from_secs(60));
        assert!(torn.is_err(), "{point:?}: {torn:?}");
        let names =
            |log: &Log| -> Vec<String> { log.list_streams().into_iter().map(|s| s.name).collect() };
        assert_eq!(names(&log), ["kept"]);
        let log = reopen(log, dir.path(), &plan);
        assert_eq!(names(&log), ["kept"], "{point:?}");
        assert_eq!(
            log.stream("kept").unwrap().retention,
            Duration::from_secs(3600),
            "{point:?}: the refused retention change stays refused"
        );
        log.create_stream(STREAM, 1, Duration::from_secs(3600), Owner::KINESIS)
            .unwrap();
        log.close().unwrap();
    }
}

#[test]
fn a_failed_state_change_is_not_applied_and_the_state_refuses_until_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let plan = FaultPlan::new();
    let log = open(dir.path(), &plan);
    log.create_stream(
        STREAM,
        1,
        Duration::from_secs(3600),
        Owner::new("sqs").unwrap(),
    )
    .unwrap();
    let state = log.create_state(STREAM).unwrap();
    state
        .change_blocking(vec![StateChange::put("visible", "1")])
        .unwrap();
    plan.fail(IoPoint::SegmentSync, 1, libc::EIO);
    let failed = state.change_blocking(vec![StateChange::delete("visible")]);
    assert!(matches!(failed, Err(Error::Io { .. })), "{failed:?}");
    assert!(matches!(
        state.change_blocking(vec![StateChange::put("other", "2")]),
        Err(Error::Poisoned { .. })
    ));
    drop(state);
    let log = reopen(log, dir.path(), &plan);
    let state = log.state(STREAM).unwrap();
    // The failed delete may or may not have reached the disk before its sync failed; the
    // acknowledged put is never lost, and the state takes changes again.
    let value = state.get(b"visible").unwrap();
    assert!(value.is_none() || value.as_deref() == Some(&b"1"[..]));
    state
        .change_blocking(vec![StateChange::put("other", "2")])
        .unwrap();
    assert_eq!(state.get(b"other").unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(
        plan.fired(),
        [(IoPoint::SegmentSync, storage::Fault::Fail(libc::EIO))]
    );
    log.close().unwrap();
}
