//! Under the common soft limit of 1,024 open files, about 500 streams made a restart
//! impossible: every segment of every shard held its data and index descriptors for the life of
//! the log, so opening the log failed with EMFILE (and creating streams did too, leaving them
//! half-made).
//!
//! Now sealed segments hold no descriptor and active segments' files live in a bounded cache
//! (`LogConfig::open_files_max`, by default a quarter of the soft limit). This test runs a child
//! process whose `RLIMIT_NOFILE` is 1,024 (soft and hard, set by `prlimit` or the shell's
//! `ulimit` before the child starts), which creates 2,000 one-shard streams, appends to all of
//! them (some across several segments), closes, reopens, reads everything back and appends
//! again, never holding more segment files than the bound.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use storage::{Fsync, Log, LogConfig, NewRecord, Owner, RETENTION_DEFAULT, ReadLimits};
use tempfile::TempDir;

const ENV_DIR: &str = "STRATA_TEST_DESCRIPTORS_DIR";
const STREAMS: u32 = 2_000;
const LIMIT: u64 = 1_024;
/// Every this many streams gets enough records to roll a few segments.
const ROLLING_EVERY: u32 = 50;

fn config(dir: &Path) -> LogConfig {
    let mut config = common::config(dir);
    config.segment_bytes_max = 8 * 1024;
    config.record_bytes_max = 1024;
    config.batch_bytes_max = 4 * 1024;
    config.fsync = Fsync::Never;
    config
}

fn records_for(stream: u32) -> u64 {
    if stream.is_multiple_of(ROLLING_EVERY) {
        40
    } else {
        1
    }
}

fn data(stream: u32, offset: u64) -> Vec<u8> {
    let mut data = format!("stream {stream} offset {offset}").into_bytes();
    data.resize(600, b'.');
    data
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// The child: runs only when the parent test starts it with a directory (and the limit).
#[test]
fn child_with_1024_descriptors() {
    let Some(dir) = std::env::var_os(ENV_DIR) else {
        return;
    };
    let dir = Path::new(&dir);
    let limits = std::fs::read_to_string("/proc/self/limits").expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("open files line");
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(
        numbers,
        [LIMIT, LIMIT],
        "the child runs with 1024:1024: {line}"
    );

    let log = Log::open(config(dir)).expect("open");
    let bound = 256; // A quarter of the soft limit.
    for stream in 0..STREAMS {
        let name = format!("s{stream}");
        log.create_stream(&name, 1, RETENTION_DEFAULT, Owner::KINESIS)
            .unwrap_or_else(|e| panic!("create {name}: {e}"));
        for offset in 0..records_for(stream) {
            let ack = log
                .append_blocking(&name, 0, vec![NewRecord::new("k", data(stream, offset))])
                .unwrap_or_else(|e| panic!("append to {name}: {e}"));
            assert_eq!(ack.first_offset, offset);
        }
        assert!(
            log.open_segment_files() <= bound,
            "{} segment files open",
            log.open_segment_files()
        );
    }
    println!(
        "descriptors in use with {STREAMS} streams: {}",
        open_descriptors()
    );
    log.close().expect("close");
    drop(log);

    let started = Instant::now();
    let log = Log::open(config(dir)).expect("reopen with 2000 streams under 1024 descriptors");
    println!("reopened {STREAMS} shards in {:?}", started.elapsed());
    assert_eq!(log.open_segment_files(), 0, "opening holds no segment file");
    for stream in 0..STREAMS {
        let name = format!("s{stream}");
        let mut from = 0;
        while from < records_for(stream) {
            let batch = log
                .read(&name, 0, from, ReadLimits::default())
                .unwrap_or_else(|e| panic!("read {name}: {e}"));
            for record in &batch.records {
                assert_eq!(&record.data[..], &data(stream, record.offset)[..]);
            }
            from = batch.next_offset;
        }
        let next = records_for(stream);
        let ack = log
            .append_blocking(&name, 0, vec![NewRecord::new("k", data(stream, next))])
            .unwrap_or_else(|e| panic!("append to {name} after reopen: {e}"));
        assert_eq!(ack.first_offset, next);
        assert!(log.open_segment_files() <= bound);
    }
    println!("descriptors in use after reopen: {}", open_descriptors());
    log.close().expect("close");
    println!("CHILD OK");
}

#[test]
fn two_thousand_streams_are_created_and_reopened_within_1024_descriptors() {
    let dir = TempDir::new().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let limit = format!("--nofile={LIMIT}:{LIMIT}");
    let child_args = [
        "--exact",
        "child_with_1024_descriptors",
        "--nocapture",
        "--test-threads=1",
    ];
    let mut command = if Command::new("prlimit").arg("--version").output().is_ok() {
        let mut command = Command::new("prlimit");
        command.arg(&limit).arg(&exe).args(child_args);
        command
    } else {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("ulimit -n {LIMIT} && exec \"$0\" \"$@\""))
            .arg(&exe)
            .args(child_args);
        command
    };
    let output = command
        .env(ENV_DIR, dir.path())
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success() && stdout.contains("CHILD OK"),
        "child failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

/// A segment written under `fsync = never` stays to be synced; if its files were evicted from
/// the cache and its stream deleted before that sync, the sync found no file to reopen and
/// failed, poisoning every other shard of the round. A deleted file needs no sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncing_a_deleted_stream_whose_files_were_closed_poisons_nothing() {
    let dir = TempDir::new().expect("tempdir");
    let mut config = config(dir.path());
    config.open_files_max = Some(2); // One segment's files at a time.
    let log = Log::open(config).expect("open");
    for name in ["doomed", "kept"] {
        log.create_stream(name, 1, RETENTION_DEFAULT, Owner::KINESIS)
            .expect("create");
    }
    log.append("doomed", 0, vec![NewRecord::new("k", "x")])
        .await
        .expect("append");
    log.append("kept", 0, vec![NewRecord::new("k", "y")])
        .await
        .expect("append (evicts the other stream's files)");
    assert!(log.open_segment_files() <= 2);
    log.delete_stream("doomed").expect("delete");
    log.sync().await.expect("the sync skips the deleted file");
    let ack = log
        .append("kept", 0, vec![NewRecord::new("k", "z")])
        .await
        .expect("not poisoned");
    assert_eq!(ack.first_offset, 1);
    log.sync().await.expect("sync");
    tokio::task::spawn_blocking(move || log.close())
        .await
        .expect("join")
        .expect("close");
}

const ENV_RAISE: &str = "STRATA_TEST_RAISE_LIMIT";

/// The child of the next test: started with a soft limit of 256 under a hard one of 4096.
#[test]
fn child_raising_its_limit() {
    if std::env::var_os(ENV_RAISE).is_none() {
        return;
    }
    let (soft, hard) = storage::raise_open_files_limit().expect("raise");
    assert_eq!((soft, hard), (4096, 4096));
    let limits = std::fs::read_to_string("/proc/self/limits").expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("open files line");
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(numbers, [4096, 4096], "{line}");
    println!("CHILD OK");
}

/// A server with many shards raises its soft descriptor limit to the hard one at start.
#[test]
fn raising_the_open_files_limit_reaches_the_hard_limit() {
    if Command::new("prlimit").arg("--version").output().is_err() {
        println!("SKIPPED: prlimit is not installed");
        return;
    }
    let output = Command::new("prlimit")
        .arg("--nofile=256:4096")
        .arg(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "child_raising_its_limit",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV_RAISE, "1")
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("CHILD OK"),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
