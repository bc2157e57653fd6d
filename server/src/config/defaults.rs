//! The embedded defaults: what `strata serve` runs with when no config file, environment
//! variable or flag sets a key.
//!
//! They are kept in this one file so that the defaults can be read (and changed) in one place,
//! and they are written in the same form as the TOML file, so they go through the same
//! validation as every other layer.

use std::path::PathBuf;

use super::{AuthLayer, DeliveryLayer, KinesisLayer, Layer, LogLayer, ServerLayer, StorageLayer};

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

/// 10 MiB, the largest record a Kinesis stream can be configured to take (its
/// MaxRecordSizeInKiB; 1 MiB unless raised, which the Kinesis API enforces per stream).
pub const RECORD_BYTES_MAX: usize = 10 * 1024 * 1024;

/// 16 MiB: a 10 MiB PutRecords request in base64, with its JSON.
pub const HTTP_BODY_BYTES_MAX: u64 = 16 * 1024 * 1024;

/// 256 MiB of request bodies in memory at once: sixteen of the largest, or fifty 5 MiB
/// PutRecords calls; beyond it requests get a 503 that the SDKs retry.
pub const HTTP_BODY_BUDGET_BYTES: u64 = 256 * 1024 * 1024;

/// Connections served at once; with the default descriptor limit of 1024 raised (as systemd
/// does) this leaves room for segment files and the native listener.
pub const HTTP_CONNECTIONS_MAX: u64 = 1024;

/// 30 s for a request head to arrive (hyper's own default once a timer is set).
pub const HTTP_HEADER_READ_TIMEOUT_MS: u64 = 30_000;

/// 60 s without a request before a connection is closed (what AWS load balancers use; the
/// SDKs' pools reopen a closed connection transparently).
pub const HTTP_IDLE_TIMEOUT_MS: u64 = 60_000;

/// 60 s for a request body (up to 16 MiB) to arrive.
pub const HTTP_BODY_READ_TIMEOUT_MS: u64 = 60_000;

/// The region in ARNs.
pub const REGION: &str = "us-east-1";

/// The account id in ARNs (the one the emulators use).
pub const ACCOUNT: &str = "000000000000";

/// Changes take effect at once; streams are ACTIVE as soon as they are created.
pub const STATE_CHANGE_MS: u64 = 0;

/// Per-shard write limits are off: Strata is not priced per shard.
pub const SHARD_WRITE_LIMITS: bool = false;

/// Open shards of all Kinesis and native streams together: AWS's default account limit
/// (DescribeLimits' ShardLimit in the largest regions).
pub const SHARDS_MAX: u64 = 500;

/// Native connections served at once.
pub const NATIVE_CONNECTIONS_MAX: u64 = 1024;

/// A client that has not finished its handshake within 10 s is gone or hostile.
pub const NATIVE_HANDSHAKE_TIMEOUT_MS: u64 = 10_000;

/// An hour: an idle connection costs a descriptor and a task, and the client does not yet
/// reconnect by itself, so only connections idle far longer than any poll loop are closed.
pub const NATIVE_IDLE_TIMEOUT_SECS: u64 = 3600;

/// Without keys, listen on loopback only.
pub const ALLOW_ANONYMOUS: bool = false;
/// The web console is served.
pub const CONSOLE: bool = true;
/// The engine's clock: the real-time one.
pub const CLOCK: &str = "system";

/// 4 MiB of disk allocated ahead of each shard's writer: a thousand idle shards hold 4 GiB, and
/// an `fallocate` every 4 MiB costs nothing next to the writes.
pub const SEGMENT_ALLOCATE_STEP_BYTES: u64 = 4 * 1024 * 1024;

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

/// The region delivery streams sign S3 requests for.
pub const S3_REGION: &str = "us-east-1";

/// 16 MiB: objects this large are uploaded in parts (a buffer holds up to 128 MiB).
pub const MULTIPART_BYTES_MIN: u64 = 16 * 1024 * 1024;

/// A failed put is retried after 100 ms, then after twice as long each time...
pub const RETRY_BACKOFF_MIN_MS: u64 = 100;

/// ...up to every 10 s, for as long as the store fails (up to the retry duration).
pub const RETRY_BACKOFF_MAX_MS: u64 = 10_000;

/// A buffer whose put fails for 24 hours (Firehose's fixed S3 retry duration) is written under
/// the error output prefix instead.
pub const RETRY_DURATION_SECS: u64 = 86_400;

/// A delivery stream encodes and stores as many buffers at once as the machine has cores
/// (0), so GZIP or Parquet is not bound to one core.
pub const OBJECTS_IN_FLIGHT: u64 = 0;

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
            segment_allocate_step_bytes: Some(SEGMENT_ALLOCATE_STEP_BYTES),
            open_files_max: None,
        },
        server: ServerLayer {
            http: Some(HTTP.to_owned()),
            native: Some(NATIVE.to_owned()),
            http_body_bytes_max: Some(HTTP_BODY_BYTES_MAX),
            native_connections_max: Some(NATIVE_CONNECTIONS_MAX),
            native_handshake_timeout_ms: Some(NATIVE_HANDSHAKE_TIMEOUT_MS),
            native_idle_timeout_secs: Some(NATIVE_IDLE_TIMEOUT_SECS),
            allow_anonymous: Some(ALLOW_ANONYMOUS),
            console: Some(CONSOLE),
            clock: Some(CLOCK.to_owned()),
            public_url: None,
            tls_cert_file: None,
            tls_key_file: None,
            http_body_budget_bytes: Some(HTTP_BODY_BUDGET_BYTES),
            http_connections_max: Some(HTTP_CONNECTIONS_MAX),
            http_header_read_timeout_ms: Some(HTTP_HEADER_READ_TIMEOUT_MS),
            http_idle_timeout_ms: Some(HTTP_IDLE_TIMEOUT_MS),
            http_body_read_timeout_ms: Some(HTTP_BODY_READ_TIMEOUT_MS),
        },
        log: LogLayer {
            level: Some(LOG_LEVEL.to_owned()),
            format: Some(LOG_FORMAT.to_owned()),
        },
        kinesis: KinesisLayer {
            region: Some(REGION.to_owned()),
            account: Some(ACCOUNT.to_owned()),
            state_change_ms: Some(STATE_CHANGE_MS),
            shard_write_limits: Some(SHARD_WRITE_LIMITS),
            shards_max: Some(SHARDS_MAX),
        },
        auth: AuthLayer { access_keys: None },
        delivery: DeliveryLayer {
            s3_region: Some(S3_REGION.to_owned()),
            multipart_bytes_min: Some(MULTIPART_BYTES_MIN),
            retry_backoff_min_ms: Some(RETRY_BACKOFF_MIN_MS),
            retry_backoff_max_ms: Some(RETRY_BACKOFF_MAX_MS),
            retry_duration_secs: Some(RETRY_DURATION_SECS),
            objects_in_flight: Some(OBJECTS_IN_FLIGHT),
            ..DeliveryLayer::default()
        },
    }
}
