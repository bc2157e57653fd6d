//! A failed CreateStream left a half-created stream: the catalog entry was written before the
//! shard files existed, so after EMFILE or ENOSPC the stream was listed, a retry answered
//! "exists", and every append failed with "shard 0 not found". The same held for the children
//! of a split or merge.
//!
//! These tests make the file work fail (something in the way of the directory the shard needs)
//! and prove that nothing of the stream or child is in the catalog afterwards, that no file of
//! it is left, that the parents of a failed split or merge still take appends, and that the same
//! call succeeds once the obstacle is gone, in the same log and after a reopen. Directories a
//! crash between the files and the catalog entry would leave are removed on open.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use storage::{Log, NewRecord, Owner, RETENTION_DEFAULT, ReadLimits};
use tempfile::TempDir;

fn stream_dir(dir: &Path, id: u64) -> PathBuf {
    dir.join("streams").join(id.to_string())
}

fn append_one(log: &Log, stream: &str, shard: u32, data: &str) -> u64 {
    log.append_blocking(stream, shard, vec![NewRecord::new("k", data.to_string())])
        .unwrap_or_else(|error| panic!("append to {stream}/{shard}: {error}"))
        .first_offset
}

fn read_all(log: &Log, stream: &str, shard: u32) -> Vec<String> {
    let earliest = log.shard_bounds(stream, shard).expect("bounds").earliest;
    let batch = log
        .read(stream, shard, earliest, ReadLimits::default())
        .expect("read");
    batch
        .records
        .iter()
        .map(|r| String::from_utf8_lossy(&r.data).into_owned())
        .collect()
}

/// A file where the stream's directory must go makes creating its shards fail.
#[test]
fn a_failed_create_stream_leaves_nothing_and_can_be_retried() {
    let dir = TempDir::new().expect("tempdir");
    let log = Log::open(common::config(dir.path())).expect("open");
    let first = log
        .create_stream("first", 1, RETENTION_DEFAULT, Owner::KINESIS)
        .expect("create first");
    let blocked = stream_dir(dir.path(), first.id + 1);
    std::fs::write(&blocked, b"in the way").expect("obstacle");

    let error = log
        .create_stream("second", 2, RETENTION_DEFAULT, Owner::KINESIS)
        .expect_err("creating shards under a file fails");
    assert!(!matches!(error, storage::Error::StreamExists(_)), "{error}");
    assert!(
        log.stream("second").is_err(),
        "a failed create is not listed"
    );
    assert_eq!(log.list_streams().len(), 1);
    // Retried while the obstacle is there: the same failure, never "exists".
    let again = log
        .create_stream("second", 2, RETENTION_DEFAULT, Owner::KINESIS)
        .expect_err("still blocked");
    assert!(!matches!(again, storage::Error::StreamExists(_)), "{again}");

    std::fs::remove_file(&blocked).expect("remove obstacle");
    let second = log
        .create_stream("second", 2, RETENTION_DEFAULT, Owner::KINESIS)
        .expect("the retry succeeds once the obstacle is gone");
    assert_eq!(append_one(&log, "second", 1, "hello"), 0);
    assert_eq!(read_all(&log, "second", 1), ["hello"]);
    log.close().expect("close");

    let log = Log::open(common::config(dir.path())).expect("reopen");
    assert_eq!(log.stream("second").expect("listed").id, second.id);
    assert_eq!(read_all(&log, "second", 1), ["hello"]);
    assert_eq!(append_one(&log, "second", 0, "again"), 0);
    log.close().expect("close");
}

/// A file where a child shard's directory must go makes a split (and a merge) fail after it
/// closed its parents: the parents must be open again, in memory and in the catalog.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_split_or_merge_reopens_its_parents_and_can_be_retried() {
    let dir = TempDir::new().expect("tempdir");
    let log = Log::open(common::config(dir.path())).expect("open");
    let info = log
        .create_stream("lineage", 2, RETENTION_DEFAULT, Owner::KINESIS)
        .expect("create");
    let blocked = dir
        .path()
        .join("streams")
        .join(info.id.to_string())
        .join(info.next_shard_id.to_string());
    std::fs::write(&blocked, b"in the way").expect("obstacle");
    log.append("lineage", 0, vec![NewRecord::new("k", "before")])
        .await
        .expect("append");

    let middle =
        info.shards[0].hash_start + (info.shards[0].hash_end - info.shards[0].hash_start) / 2;
    log.split_shard("lineage", 0, middle)
        .await
        .expect_err("the child's directory cannot be made");
    let after = log.stream("lineage").expect("stream");
    assert_eq!(after.shards.len(), 2, "no child in the catalog");
    assert!(after.shards.iter().all(|s| s.is_open()), "parents open");
    assert_eq!(log.shard_bounds("lineage", 0).expect("bounds").ending, None);
    log.append(
        "lineage",
        0,
        vec![NewRecord::new("k", "after split failed")],
    )
    .await
    .expect("the parent takes appends again");

    log.merge_shards("lineage", 0, 1)
        .await
        .expect_err("the merged child's directory cannot be made");
    let after = log.stream("lineage").expect("stream");
    assert_eq!(after.shards.len(), 2, "no child in the catalog");
    assert!(after.shards.iter().all(|s| s.is_open()), "parents open");
    for shard in [0, 1] {
        log.append(
            "lineage",
            shard,
            vec![NewRecord::new("k", "after merge failed")],
        )
        .await
        .expect("both parents take appends again");
    }

    std::fs::remove_file(&blocked).expect("remove obstacle");
    let children = log
        .split_shard("lineage", 0, middle)
        .await
        .expect("the retried split succeeds");
    log.append("lineage", children[1], vec![NewRecord::new("k", "child")])
        .await
        .expect("append to child");
    assert_eq!(
        read_all(&log, "lineage", 0),
        ["before", "after split failed", "after merge failed"]
    );
    let log2 = log.clone();
    tokio::task::spawn_blocking(move || log2.close())
        .await
        .expect("join")
        .expect("close");

    let log = Log::open(common::config(dir.path())).expect("reopen");
    assert_eq!(read_all(&log, "lineage", children[1]), ["child"]);
    assert_eq!(read_all(&log, "lineage", 1), ["after merge failed"]);
    tokio::task::spawn_blocking(move || log.close())
        .await
        .expect("join")
        .expect("close");
}

/// What a crash between making the files and writing the catalog entry leaves: directories the
/// catalog does not know. Opening removes them, so the next create starts clean.
#[test]
fn open_removes_stream_and_shard_directories_the_catalog_does_not_know() {
    let dir = TempDir::new().expect("tempdir");
    let log = Log::open(common::config(dir.path())).expect("open");
    let known = log
        .create_stream("known", 1, RETENTION_DEFAULT, Owner::KINESIS)
        .expect("create");
    append_one(&log, "known", 0, "kept");
    log.close().expect("close");

    let stray_shard = stream_dir(dir.path(), known.id).join("7");
    let stray_stream = stream_dir(dir.path(), known.id + 1).join("0");
    for stray in [&stray_shard, &stray_stream] {
        std::fs::create_dir_all(stray).expect("stray dir");
        std::fs::write(stray.join("00000000000000000000.log"), b"stale").expect("stray file");
    }

    let log = Log::open(common::config(dir.path())).expect("reopen");
    assert!(!stray_shard.exists(), "unknown shard directory removed");
    assert!(
        !stream_dir(dir.path(), known.id + 1).exists(),
        "unknown stream directory removed"
    );
    assert_eq!(read_all(&log, "known", 0), ["kept"]);
    let fresh = log
        .create_stream("fresh", 1, Duration::from_secs(24 * 3600), Owner::KINESIS)
        .expect("create after cleanup");
    assert_eq!(fresh.id, known.id + 1);
    assert_eq!(append_one(&log, "fresh", 0, "new"), 0);
    assert_eq!(read_all(&log, "fresh", 0), ["new"]);
    log.close().expect("close");
}
