//! Shared by the storage integration tests: which write path to test.
#![allow(dead_code)]

use std::path::Path;

use storage::{IoBackend, LogConfig};

/// The write path under test: `STRATA_TEST_IO=uring|pwrite` (default: auto).
pub fn io_backend() -> IoBackend {
    std::env::var("STRATA_TEST_IO")
        .ok()
        .map(|value| {
            value
                .parse()
                .expect("STRATA_TEST_IO must be auto, uring or pwrite")
        })
        .unwrap_or(IoBackend::Auto)
}

/// A configuration for tests: small segments so rolls happen, the write path under test.
pub fn config(dir: &Path) -> LogConfig {
    let mut config = LogConfig::new(dir);
    config.io = io_backend();
    config.segment_bytes_max = 64 * 1024;
    config.batch_bytes_max = 2 * 1024 * 1024;
    config.record_bytes_max = 1024 * 1024;
    config.index_interval_bytes = 1024;
    config
}
