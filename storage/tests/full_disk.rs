//! A full disk poisoned shards until restart: on a small ext4 filesystem appends first failed
//! with "No space left on device", then every shard of the stream answered "poisoned", and
//! freeing space fixed nothing until the server was restarted. And on a tmpfs the server had
//! filled, the next start died of `SIGBUS`: recovery read the holes of sparse, memory-mapped
//! segment files through the mapping, and a page fault on a full tmpfs cannot be served.
//!
//! These tests mount a small filesystem of their own (a tmpfs, and an ext4 image on a loop
//! device where the kernel allows it), fill it with a file they own, and prove:
//!
//! - an append that finds the disk full fails with the retriable [`storage::Error::StorageFull`],
//!   nothing is poisoned, and the log never crashes;
//! - every acknowledged record is intact and readable, in order, with dense offsets;
//! - creating a stream on the full disk fails the same way and leaves nothing behind;
//! - once the filler is deleted, appends resume by themselves (no reopen), at the next offset;
//! - after a reopen everything is still there and appends go on;
//! - opening a log whose segment files have holes, on a full tmpfs, does not crash.
//!
//! Both with preallocated segment files (the default: the full disk is found when a segment is
//! created) and sparse ones (found by the writes themselves, partial writes included), on
//! whichever write path `STRATA_TEST_IO` selects. Without the right to mount (not root, or a
//! sandbox), each test prints why it is skipped and passes.

mod common;

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use storage::{Error, Fsync, Log, LogConfig, NewRecord, Owner, RETENTION_DEFAULT, ReadLimits};
use tempfile::TempDir;

/// A filesystem mounted for one test; unmounted (and its loop device freed) when dropped.
struct Mount {
    path: PathBuf,
}

impl Drop for Mount {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Something still holds it: detach it now, it goes once released.
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    match command.output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(String::from_utf8_lossy(&out.stderr).trim().to_string()),
        Err(error) => Err(error.to_string()),
    }
}

/// Mounts a tmpfs of `size_bytes` at `dir/mnt`, or says why not.
fn mount_tmpfs(dir: &Path, size_bytes: u64) -> Option<Mount> {
    let path = dir.join("mnt");
    std::fs::create_dir_all(&path).expect("mount point");
    let options = format!("size={size_bytes}");
    match run(Command::new("mount")
        .args(["-t", "tmpfs", "-o", &options, "tmpfs"])
        .arg(&path))
    {
        Ok(()) => Some(Mount { path }),
        Err(why) => {
            println!("SKIPPED: cannot mount a tmpfs here (needs root): {why}");
            None
        }
    }
}

/// Makes an ext4 image of `size_bytes` in `dir` and mounts it on a loop device at `dir/mnt`.
fn mount_ext4(dir: &Path, size_bytes: u64) -> Option<Mount> {
    let image = dir.join("ext4.img");
    File::create(&image)
        .and_then(|f| f.set_len(size_bytes))
        .expect("image file");
    if let Err(why) = run(Command::new("mkfs.ext4").args(["-q", "-F"]).arg(&image)) {
        println!("SKIPPED: mkfs.ext4 failed: {why}");
        return None;
    }
    let path = dir.join("mnt");
    std::fs::create_dir_all(&path).expect("mount point");
    match run(Command::new("mount")
        .args(["-t", "ext4", "-o", "loop"])
        .arg(&image)
        .arg(&path))
    {
        Ok(()) => Some(Mount { path }),
        Err(why) => {
            println!("SKIPPED: cannot loop-mount an ext4 image here: {why}");
            None
        }
    }
}

/// Fills the filesystem of `dir` with one file, until the disk is full; returns its path.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = File::create(&path).expect("filler");
    let chunk = vec![0xa5u8; 64 * 1024];
    let mut size = chunk.len();
    loop {
        match file.write(&chunk[..size]) {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) if is_full(&error) => {
                if size == 1 {
                    break;
                }
                size /= 2;
            }
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => panic!("filling the disk: {error}"),
        }
    }
    let _ = file.sync_all();
    path
}

/// `ENOSPC` on Linux.
const ENOSPC: i32 = 28;

fn is_full(error: &std::io::Error) -> bool {
    error.raw_os_error() == Some(ENOSPC)
}

fn small_config(dir: &Path, preallocate: bool, fsync: Fsync) -> LogConfig {
    let mut config = common::config(dir);
    config.segment_bytes_max = 64 * 1024;
    config.record_bytes_max = 8 * 1024;
    config.batch_bytes_max = 16 * 1024;
    config.segment_preallocate = preallocate;
    config.fsync = fsync;
    config
}

fn payload(shard: u32, offset: u64) -> Vec<u8> {
    let mut data = format!("shard {shard} offset {offset} ").into_bytes();
    data.resize(1000, b'a' + (offset % 26) as u8);
    data
}

/// Every segment data file under `dir`.
fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("list").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "log") {
                found.push(path);
            }
        }
    }
    found
}

const STREAM: &str = "full";
const SHARDS: u32 = 2;

/// Every record acknowledged so far, per shard, is there, intact, in order, from offset 0.
fn check(log: &Log, acked: &[Vec<Vec<u8>>], context: &str) {
    for shard in 0..SHARDS {
        let expected = &acked[shard as usize];
        let mut got = Vec::new();
        let mut from = 0;
        while (got.len() as u64) < expected.len() as u64 {
            let batch = log
                .read(STREAM, shard, from, ReadLimits::default())
                .unwrap_or_else(|e| panic!("{context}: read shard {shard} at {from}: {e}"));
            assert!(
                !batch.records.is_empty(),
                "{context}: shard {shard} ends at {from}"
            );
            for record in batch.records {
                assert_eq!(record.offset, got.len() as u64, "{context}: dense offsets");
                got.push(record.data.to_vec());
            }
            from = batch.next_offset;
        }
        assert_eq!(&got, expected, "{context}: shard {shard} records");
        let bounds = log.shard_bounds(STREAM, shard).expect("bounds");
        assert_eq!(
            bounds.next,
            expected.len() as u64,
            "{context}: shard {shard} next offset"
        );
    }
}

fn append(log: &Log, shard: u32, acked: &mut [Vec<Vec<u8>>]) -> Result<(), Error> {
    let offset = acked[shard as usize].len() as u64;
    let data = payload(shard, offset);
    let ack = log.append_blocking(STREAM, shard, vec![NewRecord::new("key", data.clone())])?;
    assert_eq!(ack.first_offset, offset, "an append gets the next offset");
    acked[shard as usize].push(data);
    Ok(())
}

/// Queues `count` appends at once (so commit rounds are pipelined: a round is prepared while
/// the one before is being written), round-robin over the shards, and records the acknowledged
/// ones. Every failure must be StorageFull, and the acknowledged offsets of each shard must
/// continue densely where the shard stood, whatever failed in between. Returns the failures.
fn burst(log: &Log, acked: &mut [Vec<Vec<u8>>], count: usize, label: &str) -> usize {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut stored: Vec<Vec<(u64, Vec<u8>)>> = vec![Vec::new(); SHARDS as usize];
    let mut failures = 0;
    runtime.block_on(async {
        let mut pending = Vec::with_capacity(count);
        for i in 0..count {
            let shard = (i % SHARDS as usize) as u32;
            let mut data = format!("burst {label} {i}").into_bytes();
            data.resize(1000, b'b');
            let record = NewRecord::new("key", data.clone());
            let queued = log
                .enqueue_append(STREAM, shard, vec![record])
                .await
                .expect("queued");
            pending.push((shard, data, queued));
        }
        for (shard, data, queued) in pending {
            match queued.acknowledged().await {
                Ok(ack) => stored[shard as usize].push((ack.first_offset, data)),
                Err(error) => {
                    assert!(error.is_storage_full(), "{label}: {error:?}");
                    failures += 1;
                }
            }
        }
    });
    for (shard, mut records) in stored.into_iter().enumerate() {
        records.sort_by_key(|(offset, _)| *offset);
        for (offset, data) in records {
            assert_eq!(
                offset,
                acked[shard].len() as u64,
                "{label}: acknowledged offsets of shard {shard} are dense"
            );
            acked[shard].push(data);
        }
    }
    failures
}

/// The whole story on the filesystem mounted at `root`.
fn fill_fail_free_resume(root: &Path, preallocate: bool, fsync: Fsync) {
    let label = format!("preallocate={preallocate} fsync={fsync}");
    let dir = root.join("log");
    let config = small_config(&dir, preallocate, fsync);
    let log = Log::open(config.clone()).expect("open");
    log.create_stream(STREAM, SHARDS, RETENTION_DEFAULT, Owner::KINESIS)
        .expect("create");
    let mut acked = vec![Vec::new(); SHARDS as usize];
    for i in 0..20 {
        append(&log, i % SHARDS, &mut acked).expect("appends before the disk is full");
    }
    let filler = fill(root);

    // Append until the disk refuses, then keep trying: every failure is StorageFull.
    let mut full = 0;
    let mut consecutive = 0;
    for i in 0..100_000u32 {
        match append(&log, i % SHARDS, &mut acked) {
            Ok(()) => consecutive = 0,
            Err(error) => {
                assert!(
                    matches!(error, Error::StorageFull { .. }) && error.is_storage_full(),
                    "{label}: a full disk is StorageFull, got {error:?}"
                );
                full += 1;
                consecutive += 1;
                if consecutive >= 10 {
                    break;
                }
            }
        }
    }
    assert!(full >= 10, "{label}: the disk never filled up");
    check(&log, &acked, &format!("{label}, disk full"));
    let failures = burst(&log, &mut acked, 200, &format!("{label}, full burst"));
    assert!(failures > 0, "{label}: the burst found the disk full");
    check(
        &log,
        &acked,
        &format!("{label}, after a burst on a full disk"),
    );
    if preallocate {
        // No half-made segment: every segment file has its full size, allocated for real.
        let file_bytes = config.segment_bytes_max + config.batch_bytes_max as u64;
        for path in segment_files(&dir) {
            let meta = std::fs::metadata(&path).expect("stat");
            assert_eq!(meta.len(), file_bytes, "{label}: {}", path.display());
            assert!(
                meta.blocks() * 512 >= file_bytes,
                "{label}: {} is not allocated",
                path.display()
            );
        }
        let error = log
            .create_stream("more", 1, RETENTION_DEFAULT, Owner::KINESIS)
            .expect_err("no room for a new stream's segment");
        assert!(error.is_storage_full(), "{label}: {error:?}");
        assert!(log.stream("more").is_err(), "{label}: not half-created");
    }

    // Space returns: appends resume by themselves, at the next offsets.
    std::fs::remove_file(&filler).expect("free space");
    for i in 0..(4 * SHARDS) {
        append(&log, i % SHARDS, &mut acked)
            .unwrap_or_else(|e| panic!("{label}: appends resume once space is freed: {e:?}"));
    }
    log.create_stream("more", 1, RETENTION_DEFAULT, Owner::KINESIS)
        .expect("creating a stream works again");
    let failures = burst(&log, &mut acked, 200, &format!("{label}, freed burst"));
    assert_eq!(failures, 0, "{label}: a burst once space is freed");
    check(&log, &acked, &format!("{label}, space freed"));
    log.close().expect("close");

    let log = Log::open(config).expect("reopen");
    check(&log, &acked, &format!("{label}, reopened"));
    for i in 0..SHARDS {
        append(&log, i, &mut acked).expect("append after reopen");
    }
    check(&log, &acked, &format!("{label}, reopened and appended"));
    log.close().expect("close");
    std::fs::remove_dir_all(&dir).expect("clean up for the next run");
}

#[test]
fn a_full_tmpfs_is_a_retriable_condition_and_appends_resume_when_space_returns() {
    let dir = TempDir::new().expect("tempdir");
    let Some(mount) = mount_tmpfs(dir.path(), 4 * 1024 * 1024) else {
        return;
    };
    fill_fail_free_resume(&mount.path, true, Fsync::Always);
    fill_fail_free_resume(&mount.path, false, Fsync::Always);
    fill_fail_free_resume(&mount.path, false, Fsync::Never);
}

#[test]
fn a_full_ext4_filesystem_is_a_retriable_condition_and_appends_resume_when_space_returns() {
    let dir = TempDir::new().expect("tempdir");
    let Some(mount) = mount_ext4(dir.path(), 32 * 1024 * 1024) else {
        return;
    };
    fill_fail_free_resume(&mount.path, true, Fsync::Always);
    fill_fail_free_resume(
        &mount.path,
        false,
        Fsync::Interval(std::time::Duration::from_millis(2)),
    );
}

/// Records sized so that one batch is exactly one page: the data of every segment ends on a
/// page boundary, and the page after it (the end marker) is a hole in a sparse file.
fn page_sized_record() -> NewRecord {
    (0..4096)
        .map(|len| NewRecord::new("k", vec![7u8; len]))
        .find(|record| storage::record::batch_len(std::slice::from_ref(record)) == 4096)
        .expect("a record size giving a 4096-byte batch")
}

#[test]
fn opening_sparse_segments_on_a_full_tmpfs_does_not_fault_their_holes() {
    let dir = TempDir::new().expect("tempdir");
    let Some(mount) = mount_tmpfs(dir.path(), 2 * 1024 * 1024) else {
        return;
    };
    let mut config = small_config(&mount.path.join("log"), false, Fsync::Always);
    // Two page-sized batches fill a segment: the third rolls, so there is a sealed segment
    // (ending at byte 8192) and an active one (ending at byte 4096), both followed by holes.
    config.segment_bytes_max = 8192;
    let log = Log::open(config.clone()).expect("open");
    log.create_stream(STREAM, 1, RETENTION_DEFAULT, Owner::KINESIS)
        .expect("create");
    for _ in 0..3 {
        log.append_blocking(STREAM, 0, vec![page_sized_record()])
            .expect("append");
    }
    log.close().expect("close");
    drop(log);
    let filler = fill(&mount.path);
    let probe = std::fs::write(mount.path.join("probe"), vec![1u8; 8192]);
    assert!(
        probe.as_ref().is_err_and(is_full),
        "the tmpfs is full: {probe:?}"
    );

    // Before the fix this open died of SIGBUS.
    let log = Log::open(config.clone()).expect("open on a full tmpfs");
    let batch = log.read(STREAM, 0, 0, ReadLimits::default()).expect("read");
    assert_eq!(batch.records.len(), 3);
    assert!(
        batch
            .records
            .iter()
            .all(|r| r.data == page_sized_record().data)
    );
    let error = log
        .append_blocking(STREAM, 0, vec![page_sized_record()])
        .expect_err("no room for a sparse page");
    assert!(error.is_storage_full(), "{error:?}");
    log.close().expect("close");
    drop(log);

    std::fs::remove_file(filler).expect("free space");
    let log = Log::open(config).expect("reopen");
    let ack = log
        .append_blocking(STREAM, 0, vec![page_sized_record()])
        .expect("append once space is back");
    assert_eq!(ack.first_offset, 3);
    log.close().expect("close");
}
