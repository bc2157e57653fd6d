//! Keyed state: a proptest model (any sequence of changes, compactions, reopens and damaged
//! snapshots equals a `BTreeMap`), and the properties around it: compaction bounds what an
//! open replays, a deleted stream's state goes with it, concurrent changes share syncs, and
//! damage is refused, never served.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use storage::{Error, Fsync, Log, Owner, State, StateChange};

const STREAM: &str = "queue";

fn config(dir: &Path, fsync: Fsync) -> storage::LogConfig {
    let mut config = common::config(dir);
    config.fsync = fsync;
    config.state_segment_bytes_max = 4096;
    config.state_snapshot_changes_min = 16;
    config.state_snapshot_bytes_min = 64 * 1024;
    config
}

fn open(dir: &Path, fsync: Fsync) -> Log {
    Log::open(config(dir, fsync)).unwrap()
}

fn create(log: &Log) -> State {
    log.create_stream(
        STREAM,
        1,
        Duration::from_secs(3600),
        Owner::new("sqs").unwrap(),
    )
    .unwrap();
    log.create_state(STREAM).unwrap()
}

fn state_dir(log: &Log, dir: &Path) -> PathBuf {
    let id = log.stream(STREAM).unwrap().id;
    dir.join("streams").join(id.to_string()).join("state")
}

fn files_with(dir: &Path, f: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(&f))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

fn snapshots(dir: &Path) -> Vec<PathBuf> {
    files_with(dir, |name| {
        name.starts_with("snapshot.") && name != "snapshot.tmp"
    })
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    files_with(dir, |name| name.ends_with(".log"))
}

fn everything(state: &State) -> BTreeMap<Bytes, Bytes> {
    state.scan(b"").unwrap().into_iter().collect()
}

#[derive(Clone, Debug)]
enum Op {
    /// Puts (`Some`) and deletes (`None`), as one atomic step.
    Change(Vec<(u8, Option<u16>)>),
    Compact,
    Reopen,
    /// Flips a byte of the newest snapshot, then reopens: the older snapshot takes over.
    DamageNewestSnapshot(u16),
    Scan(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => proptest::collection::vec((0u8..24, proptest::option::weighted(0.7, 0u16..2000)), 1..6)
            .prop_map(Op::Change),
        1 => Just(Op::Compact),
        2 => Just(Op::Reopen),
        1 => any::<u16>().prop_map(Op::DamageNewestSnapshot),
        2 => (0u8..4).prop_map(Op::Scan),
    ]
}

fn key(k: u8) -> Bytes {
    Bytes::from(format!("{}/key-{k:02}", k % 4))
}

fn value(k: u8, v: u16) -> Bytes {
    // Sizes vary so segments roll at different changes.
    Bytes::from(format!("{k}:{v}:{}", "v".repeat(usize::from(v % 200))))
}

fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), Fsync::Never);
    let mut state = create(&log);
    let mut model: BTreeMap<Bytes, Bytes> = BTreeMap::new();
    for op in ops {
        match op {
            Op::Change(changes) => {
                let changes: Vec<StateChange> = changes
                    .into_iter()
                    .map(|(k, v)| match v {
                        Some(v) => StateChange::put(key(k), value(k, v)),
                        None => StateChange::delete(key(k)),
                    })
                    .collect();
                for change in &changes {
                    match change {
                        StateChange::Put { key, value } => {
                            model.insert(key.clone(), value.clone());
                        }
                        StateChange::Delete { key } => {
                            model.remove(key);
                        }
                    }
                }
                state.change_blocking(changes).unwrap();
                assert_eq!(state.len().unwrap(), model.len());
            }
            Op::Compact => {
                state.compact().unwrap();
            }
            Op::Reopen => {
                log.close().unwrap();
                drop(state);
                drop(log);
                log = open(dir.path(), Fsync::Never);
                state = log.state(STREAM).unwrap();
            }
            Op::DamageNewestSnapshot(at) => {
                let state_dir = state_dir(&log, dir.path());
                log.close().unwrap();
                drop(state);
                drop(log);
                let found = snapshots(&state_dir);
                // Only with an older snapshot to fall back on; a lone snapshot's changes may
                // already be gone from the segments, and then refusing is right (tested below).
                if found.len() >= 2 {
                    let newest = found.last().unwrap();
                    let mut bytes = std::fs::read(newest).unwrap();
                    let at = usize::from(at) % bytes.len();
                    bytes[at] ^= 0x5a;
                    std::fs::write(newest, bytes).unwrap();
                }
                log = open(dir.path(), Fsync::Never);
                state = log.state(STREAM).unwrap();
            }
            Op::Scan(prefix) => {
                let prefix = format!("{prefix}/");
                let want: Vec<(Bytes, Bytes)> = model
                    .iter()
                    .filter(|(k, _)| k.starts_with(prefix.as_bytes()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert_eq!(state.scan(prefix.as_bytes()).unwrap(), want);
                // Paged, two at a time.
                let mut paged = Vec::new();
                let mut after: Option<Bytes> = None;
                loop {
                    let page = state
                        .scan_page(prefix.as_bytes(), after.as_deref(), 2)
                        .unwrap();
                    if page.is_empty() {
                        break;
                    }
                    after = page.last().map(|(k, _)| k.clone());
                    paged.extend(page);
                }
                assert_eq!(paged, want);
            }
        }
        for (k, v) in &model {
            assert_eq!(state.get(k).unwrap().as_ref(), Some(v));
        }
    }
    assert_eq!(everything(&state), model);
    log.close().unwrap();
    drop(state);
    drop(log);
    let log = open(dir.path(), Fsync::Never);
    assert_eq!(everything(&log.state(STREAM).unwrap()), model);
    log.close().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn state_equals_a_map_through_changes_compactions_and_reopens(
        ops in proptest::collection::vec(op(), 1..120)
    ) {
        run(ops);
    }
}

#[test]
fn compaction_bounds_what_an_open_replays_and_deletes_old_segments() {
    let dir = tempfile::tempdir().unwrap();
    // Under `always` a rolled segment is sealed before the change after it is acknowledged
    // (compaction deletes sealed segments only), so what is deleted is deterministic.
    let log = open(dir.path(), Fsync::Always);
    let state = create(&log);
    let state_dir = state_dir(&log, dir.path());
    // 40 keys rewritten 200 times: a history of 8,000 changes over a live state of 40.
    for round in 0..200u32 {
        let changes = (0..40u32)
            .map(|k| StateChange::put(format!("k{k:02}"), format!("{round}:{}", "x".repeat(40))))
            .collect();
        state.change_blocking(changes).unwrap();
    }
    // Snapshots are taken by the maintenance thread once due; two more by hand make the two
    // newest ones recent, whatever it has done so far.
    state.compact().unwrap();
    state
        .change_blocking(vec![StateChange::put("k00", "last")])
        .unwrap();
    state.compact().unwrap();
    let stats = state.stats().unwrap();
    assert_eq!(stats.entries, 40);
    assert_eq!(stats.next_offset, 8001);
    assert_eq!(stats.changes_since_snapshot, 0);
    assert!(
        stats.earliest_offset > 7000,
        "compaction deleted the segments before the older snapshot: {stats:?}"
    );
    assert!(snapshots(&state_dir).len() <= 2);
    assert!(
        segments(&state_dir).len() <= 4,
        "{:?}",
        segments(&state_dir)
    );
    let want = everything(&state);
    log.close().unwrap();
    drop(state);
    drop(log);
    let log = open(dir.path(), Fsync::Always);
    let state = log.state(STREAM).unwrap();
    assert_eq!(everything(&state), want);
    assert_eq!(state.stats().unwrap().changes_since_snapshot, 0);
    log.close().unwrap();
}

#[test]
fn a_deleted_streams_state_goes_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), Fsync::Always);
    let state = create(&log);
    state
        .change_blocking(vec![StateChange::put("a", "1")])
        .unwrap();
    let state_dir = state_dir(&log, dir.path());
    log.delete_stream(STREAM).unwrap();
    assert!(!state_dir.exists());
    assert!(matches!(
        state.change_blocking(vec![StateChange::put("b", "2")]),
        Err(Error::StreamNotFound(_))
    ));
    assert!(matches!(state.get(b"a"), Err(Error::StreamNotFound(_))));
    // A new stream of the same name starts with no state at all.
    let state = create(&log);
    assert_eq!(state.get(b"a").unwrap(), None);
    log.close().unwrap();
}

#[test]
fn a_stream_without_state_says_so_and_create_state_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), Fsync::Always);
    log.create_stream(STREAM, 1, Duration::from_secs(60), Owner::KINESIS)
        .unwrap();
    assert!(matches!(log.state(STREAM), Err(Error::InvalidArgument(_))));
    assert!(matches!(log.state("nope"), Err(Error::StreamNotFound(_))));
    let first = log.create_state(STREAM).unwrap();
    first
        .change_blocking(vec![StateChange::put("k", "v")])
        .unwrap();
    let again = log.create_state(STREAM).unwrap();
    assert_eq!(again.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
    assert!(matches!(
        again.change_blocking(vec![]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        again.change_blocking(vec![StateChange::put("", "v")]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        again.change_blocking(vec![StateChange::put(vec![b'k'; 1025], "v")]),
        Err(Error::InvalidArgument(_))
    ));
    // Data shards are not touched by state changes.
    assert_eq!(log.shard_bounds(STREAM, 0).unwrap().next, 0);
    log.close().unwrap();
}

#[test]
fn concurrent_changes_share_one_sync() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), Fsync::Always);
    let state = create(&log);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let before = log.commit_counters();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..64u32)
            .map(|writer| {
                let state = state.clone();
                tokio::spawn(async move {
                    for i in 0..20u32 {
                        state
                            .change(vec![StateChange::put(format!("w{writer}"), i.to_string())])
                            .await
                            .unwrap();
                        // Read-after-acknowledge, from the same handle.
                        assert_eq!(
                            state.get(format!("w{writer}").as_bytes()).unwrap(),
                            Some(Bytes::from(i.to_string()))
                        );
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let after = log.commit_counters();
    let changes = 64 * 20;
    let syncs = after.syncs - before.syncs;
    assert!(
        syncs < changes / 4,
        "{changes} acknowledged changes under fsync=always took {syncs} syncs"
    );
    assert_eq!(state.len().unwrap(), 64);
    log.close().unwrap();
}

#[test]
fn damage_is_refused_never_served_and_the_log_still_opens() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), Fsync::Always);
    let state = create(&log);
    for i in 0..200u32 {
        state
            .change_blocking(vec![StateChange::put(
                format!("k{}", i % 10),
                "y".repeat(60),
            )])
            .unwrap();
    }
    state.compact().unwrap();
    for i in 0..100u32 {
        state
            .change_blocking(vec![StateChange::put(
                format!("k{}", i % 10),
                i.to_string(),
            )])
            .unwrap();
    }
    let state_dir = state_dir(&log, dir.path());
    log.close().unwrap();
    drop(state);
    drop(log);
    // Every snapshot damaged: the changes they covered are gone from the segments, so the
    // state cannot be known. It is refused; the log and its data shards still work.
    for snapshot in snapshots(&state_dir) {
        let mut bytes = std::fs::read(&snapshot).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        std::fs::write(&snapshot, bytes).unwrap();
    }
    let log = open(dir.path(), Fsync::Always);
    let state = log.state(STREAM).unwrap();
    assert!(matches!(state.get(b"k1"), Err(Error::Corrupt { .. })));
    assert!(matches!(
        state.change_blocking(vec![StateChange::put("k1", "z")]),
        Err(Error::Corrupt { .. })
    ));
    log.append_blocking(STREAM, 0, vec![storage::NewRecord::new("p", "data")])
        .unwrap();
    log.close().unwrap();
}

#[test]
fn a_flipped_bit_in_the_changes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), Fsync::Always);
    let state = create(&log);
    // No snapshot yet (fewer changes than the minimum): everything is in the segments.
    for i in 0..12u32 {
        state
            .change_blocking(vec![StateChange::put(format!("k{i}"), "z".repeat(500))])
            .unwrap();
    }
    let state_dir = state_dir(&log, dir.path());
    log.close().unwrap();
    drop(state);
    drop(log);
    assert!(snapshots(&state_dir).is_empty());
    let first = segments(&state_dir).into_iter().next().unwrap();
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[700] ^= 0x10;
    std::fs::write(&first, bytes).unwrap();
    let log = open(dir.path(), Fsync::Always);
    let state = log.state(STREAM).unwrap();
    assert!(matches!(state.scan(b""), Err(Error::Corrupt { .. })));
    log.close().unwrap();
}

#[test]
fn concurrent_first_calls_make_one_state() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), Fsync::Never);
    log.create_stream(
        STREAM,
        1,
        Duration::from_secs(60),
        Owner::new("sqs").unwrap(),
    )
    .unwrap();
    let states: Vec<State> = std::thread::scope(|scope| {
        let makers: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| log.create_state(STREAM).unwrap()))
            .collect();
        makers.into_iter().map(|m| m.join().unwrap()).collect()
    });
    for (i, state) in states.iter().enumerate() {
        state
            .change_blocking(vec![StateChange::put(format!("k{i}"), "v")])
            .unwrap();
    }
    for state in &states {
        assert_eq!(
            state.len().unwrap(),
            states.len(),
            "every handle is the same state"
        );
    }
    log.close().unwrap();
    drop(states);
    drop(log);
    let log = open(dir.path(), Fsync::Never);
    assert_eq!(log.state(STREAM).unwrap().len().unwrap(), 8);
    log.close().unwrap();
}

/// Changes queued one after another commit in that order, whatever order their
/// acknowledgements are awaited in: the last one queued wins.
#[tokio::test]
async fn enqueued_changes_commit_in_queue_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), Fsync::Always);
    let state = create(&log);
    let mut pending = Vec::new();
    for i in 0..8u8 {
        pending.push(
            state
                .enqueue_change(vec![StateChange::put("k", vec![i])])
                .await
                .unwrap(),
        );
    }
    let mut offsets = Vec::new();
    for change in pending.into_iter().rev() {
        offsets.push(change.acknowledged().await.unwrap());
    }
    offsets.reverse();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(state.get(b"k").unwrap(), Some(Bytes::from_static(&[7])));
}
