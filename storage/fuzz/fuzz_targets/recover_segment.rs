//! A real log whose segment is overwritten with arbitrary bytes opens, and every record it
//! then serves is one that was written: recovery never panics and never serves bad bytes.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use storage::{Fsync, Log, Owner, LogConfig, NewRecord, ReadLimits};

fn config(dir: &std::path::Path) -> LogConfig {
    let mut config = LogConfig::new(dir);
    config.fsync = Fsync::Never;
    config.io = storage::IoBackend::Pwrite;
    config.segment_bytes_max = 64 * 1024;
    config.batch_bytes_max = 64 * 1024;
    config.record_bytes_max = 32 * 1024;
    config
}

fn payload(offset: u64) -> Vec<u8> {
    (0..(offset % 97) as usize)
        .map(|i| (offset as u8).wrapping_add(i as u8))
        .collect()
}

/// Every file of a closed log holding 40 records, by path relative to its directory: made
/// once, so each input costs a copy, a corruption and one open, not 40 appends.
fn pristine() -> &'static [(PathBuf, Vec<u8>)] {
    static FILES: OnceLock<Vec<(PathBuf, Vec<u8>)>> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(config(dir.path())).unwrap();
        log.create_stream("f", 1, Duration::from_secs(86_400), Owner::KINESIS)
            .unwrap();
        for offset in 0..40u64 {
            log.append_blocking("f", 0, vec![NewRecord::new("k", payload(offset))])
                .unwrap();
        }
        log.close().unwrap();
        drop(log);
        let mut files = Vec::new();
        let mut pending = vec![dir.path().to_path_buf()];
        while let Some(at) = pending.pop() {
            for entry in std::fs::read_dir(&at).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    let relative = path.strip_prefix(dir.path()).unwrap().to_path_buf();
                    files.push((relative, std::fs::read(&path).unwrap()));
                }
            }
        }
        files
    })
}

/// A fresh directory, in memory where the machine has a tmpfs (no disk writes per input).
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(dir) = tempfile::tempdir_in(shm) {
            return dir;
        }
    }
    tempfile::tempdir().unwrap()
}

fuzz_target!(|input: (u16, Vec<u8>)| {
    let (at, garbage) = input;
    let dir = scratch();
    let segment = Path::new("streams/0/0/00000000000000000000.log");
    for (relative, bytes) in pristine() {
        let path = dir.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        if relative == segment {
            let mut bytes = bytes.clone();
            let start = usize::from(at) % 4096;
            for (i, byte) in garbage.iter().enumerate() {
                if let Some(slot) = bytes.get_mut(start + i) {
                    *slot = *byte;
                }
            }
            std::fs::write(&path, &bytes).unwrap();
        } else {
            std::fs::write(&path, bytes).unwrap();
        }
    }
    let log = Log::open(config(dir.path())).unwrap();
    let mut from = 0;
    while let Ok(batch) = log.read("f", 0, from, ReadLimits::default()) {
        if batch.records.is_empty() {
            break;
        }
        for record in &batch.records {
            assert_eq!(record.data.as_ref(), payload(record.offset).as_slice());
        }
        from = batch.next_offset;
    }
    log.close().unwrap();
});
