//! The embedded defaults: what `strata serve` runs with when no config file, environment
//! variable or flag sets a key.
//!
//! They are kept in this one file so that the defaults can be read (and changed) in one place,
//! and they are written in the same form as the TOML file, so they go through the same
//! validation as every other layer.

use std::path::PathBuf;

use super::{Layer, LogLayer, ServerLayer, StorageLayer};

/// A data directory beside the working directory, so a first `strata serve` needs no setup.
pub const DATA_DIR: &str = "./strata-data";

/// Acknowledged records survive kill -9; a power loss may lose the last 5 ms.
pub const FSYNC: &str = "interval:5";

/// io_uring where the kernel allows it, pwrite otherwise.
pub const IO: &str = "auto";

/// 128 MiB: large enough that a segment roll is rare, small enough that retention deletes
/// data in reasonably fine steps.
pub const SEGMENT_BYTES_MAX: u64 = 128 * 1024 * 1024;

/// One hour: retention works on whole segments, so this bounds how long expired data may
/// outlive its retention period on a quiet stream.
pub const SEGMENT_AGE_MAX_SECS: u64 = 60 * 60;

/// 1 MiB, the Kinesis record size limit.
pub const RECORD_BYTES_MAX: usize = 1024 * 1024;

/// How often the background task looks for expired segments.
pub const RETENTION_CHECK_INTERVAL_SECS: u64 = 60;

/// The Kinesis port LocalStack users already point their SDKs at; loopback only.
pub const HTTP: &str = "127.0.0.1:4566";

/// The next port up; loopback only.
pub const NATIVE: &str = "127.0.0.1:4567";

/// Startup, shutdown and warnings, without per-request noise.
pub const LOG_LEVEL: &str = "info";

/// Human-readable lines.
pub const LOG_FORMAT: &str = "text";

/// The defaults as the bottom layer of the configuration stack: every key is set.
pub fn layer() -> Layer {
    Layer {
        storage: StorageLayer {
            data_dir: Some(PathBuf::from(DATA_DIR)),
            fsync: Some(FSYNC.to_owned()),
            io: Some(IO.to_owned()),
            segment_bytes_max: Some(SEGMENT_BYTES_MAX),
            segment_age_max_secs: Some(SEGMENT_AGE_MAX_SECS),
            record_bytes_max: Some(RECORD_BYTES_MAX),
            retention_check_interval_secs: Some(RETENTION_CHECK_INTERVAL_SECS),
        },
        server: ServerLayer {
            http: Some(HTTP.to_owned()),
            native: Some(NATIVE.to_owned()),
        },
        log: LogLayer {
            level: Some(LOG_LEVEL.to_owned()),
            format: Some(LOG_FORMAT.to_owned()),
        },
    }
}
