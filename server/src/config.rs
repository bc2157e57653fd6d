//! Configuration: one typed tree, layered, validated once at startup.
//!
//! # Layers
//!
//! Each key takes its value from the highest layer that sets it:
//!
//! 1. the embedded defaults ([`defaults`]);
//! 2. the TOML file given with `--config`;
//! 3. environment variables (`STRATA_DATA_DIR`, `STRATA_FSYNC`, `STRATA_IO`, `STRATA_HTTP`,
//!    `STRATA_NATIVE`, `STRATA_LOG`);
//! 4. command-line flags (`--data-dir`, `--fsync`, `--io`, `--http`, `--native`).
//!
//! The AWS SDK's variables for the S3 store of delivery streams (`AWS_ENDPOINT_URL_S3`,
//! `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`) are a layer
//! just above the defaults ([`Layer::from_aws_env`]): a fallback that the file overrides.
//!
//! Every layer has the shape of the TOML file with every key optional ([`Layer`]). Values stay
//! raw until [`Config::resolve`] has picked each key's winner; only then is each one parsed and
//! checked, so a bad value is reported once, naming the key and the layer it came from
//! (`storage.fsync (from env STRATA_FSYNC)`), and a bad value that a higher layer overrides is
//! harmless.
//!
//! The result is a [`Config`] whose sections are handed to the subsystems by value; nothing
//! reads the environment or a global after startup. [`StorageConfig::into_log_config`] is the
//! one place where the storage section becomes a [`storage::LogConfig`].

pub mod defaults;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use storage::{Fsync, IoBackend, LogConfig};

use crate::views::delivery::sink::{BucketSettings, SinkSettings};

/// The validated configuration of `strata serve`.
#[derive(Debug)]
pub struct Config {
    /// The log engine: `[storage]`.
    pub storage: StorageConfig,
    /// Listener addresses: `[server]`.
    pub server: ServerConfig,
    /// Log output: `[log]`.
    pub log: TelemetryConfig,
    /// The Kinesis API: `[kinesis]`.
    pub kinesis: KinesisConfig,
    /// Request authentication: `[auth]`.
    pub auth: AuthConfig,
    /// Delivery streams and their object stores: `[delivery]`.
    pub delivery: DeliveryConfig,
}

/// The validated `[delivery]` section.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Where objects go: the global store settings and per-bucket overrides.
    pub sink: SinkSettings,
    /// First wait after a failed put; doubles up to `retry_backoff_max`.
    pub retry_backoff_min: Duration,
    /// Longest wait between two attempts.
    pub retry_backoff_max: Duration,
    /// How long a buffer's put may keep failing before the buffer goes to the error prefix.
    pub retry_duration: Duration,
    /// How often an idle delivery task looks for new records and due buffers.
    pub poll_interval: Duration,
    /// Buffers one delivery stream encodes and stores at once.
    pub objects_in_flight: usize,
    /// Format-conversion schemas by table name.
    pub schemas: std::collections::BTreeMap<String, crate::views::delivery::convert::Schema>,
}

/// The validated `[kinesis]` section.
#[derive(Debug, Clone)]
pub struct KinesisConfig {
    /// The region in ARNs.
    pub region: String,
    /// The 12-digit account id in ARNs.
    pub account: String,
    /// How long a stream stays CREATING, UPDATING or DELETING after a change.
    pub state_change: Duration,
    /// Enforce the AWS per-shard write limits (1 MiB/s and 1,000 records/s per shard).
    pub shard_write_limits: bool,
    /// Open shards all Kinesis and native streams may have together.
    pub shards_max: u32,
}

/// The validated `[auth]` section.
#[derive(Clone, Default)]
pub struct AuthConfig {
    /// Access key id → secret access key. Empty: any credentials are accepted.
    pub access_keys: std::collections::BTreeMap<String, String>,
}

impl fmt::Debug for AuthConfig {
    /// Written by hand: secrets are never printed.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("AuthConfig")
            .field("access_keys", &self.access_keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The validated `[storage]` section.
pub struct StorageConfig {
    /// Directory holding the segments, indexes and metadata; created if missing.
    pub data_dir: PathBuf,
    /// When appended data is fsynced, and so what an acknowledged record survives.
    pub fsync: Fsync,
    /// Which write path to use.
    pub io: IoBackend,
    /// A segment is sealed and a new one started once it holds this many bytes.
    pub segment_bytes_max: u64,
    /// A segment is sealed once its first record is this old.
    pub segment_age_max: Duration,
    /// The largest single record accepted, in bytes; at most `segment_bytes_max`.
    pub record_bytes_max: usize,
    /// How often expired segments are looked for and deleted.
    pub retention_check_interval: Duration,
    /// Bytes of a segment allocated for real at a time ahead of the writer; 0: sparse files.
    pub segment_allocate_step_bytes: u64,
    /// Segment files kept open at most; `None`: a quarter of the open-files limit.
    pub open_files_max: Option<usize>,
}

impl fmt::Debug for StorageConfig {
    /// Written by hand: the engine's enums promise `Display`, not `Debug`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("StorageConfig")
            .field("data_dir", &self.data_dir)
            .field("fsync", &format_args!("{}", self.fsync))
            .field("io", &format_args!("{}", self.io))
            .field("segment_bytes_max", &self.segment_bytes_max)
            .field("segment_age_max", &self.segment_age_max)
            .field("record_bytes_max", &self.record_bytes_max)
            .field("retention_check_interval", &self.retention_check_interval)
            .field(
                "segment_allocate_step_bytes",
                &self.segment_allocate_step_bytes,
            )
            .field("open_files_max", &self.open_files_max)
            .finish()
    }
}

impl StorageConfig {
    /// Converts this section into the engine's configuration.
    ///
    /// This is the only place where server configuration becomes [`LogConfig`]: a new storage
    /// setting is added here and nowhere else. Every field is set explicitly, so the engine's
    /// own defaults apply only to settings the server does not expose.
    pub fn into_log_config(self) -> LogConfig {
        let mut config = LogConfig::new(self.data_dir);
        config.fsync = self.fsync;
        config.io = self.io;
        config.segment_bytes_max = self.segment_bytes_max;
        config.segment_age_max = self.segment_age_max;
        config.record_bytes_max = self.record_bytes_max;
        config.retention_check_interval = self.retention_check_interval;
        config.segment_preallocate = self.segment_allocate_step_bytes > 0;
        config.segment_allocate_step_bytes = self.segment_allocate_step_bytes;
        config.open_files_max = self.open_files_max;
        config
    }
}

/// The validated `[server]` section.
#[derive(Debug)]
pub struct ServerConfig {
    /// Where the AWS-compatible HTTP listener binds.
    pub http: SocketAddr,
    /// Where the native binary-protocol listener binds.
    pub native: SocketAddr,
    /// The native listener's connection and timeout bounds.
    pub native_limits: NativeLimits,
    /// Whether listening on a non-loopback address with no access keys is allowed.
    pub allow_anonymous: bool,
    /// `server.console`: whether the HTTP listener serves the web console at `/console`.
    pub console: bool,
    /// `server.clock = "manual"`: the engine's clock moves only when told to, through the
    /// HTTP listener's `/_strata/clock` endpoint (tests of visibility, delays and retention
    /// without sleeping). Only on loopback listeners.
    pub manual_clock: bool,
    /// `server.public_url`: scheme and authority of the queue URLs given to clients; `None`:
    /// built from each request's `Host`.
    pub public_url: Option<String>,
    /// TLS on both listeners, when set.
    pub tls: Option<crate::tls::TlsFiles>,
    /// Largest HTTP request body accepted, in bytes.
    pub http_body_bytes_max: usize,
    // The HTTP listener's resource limits (`server.http_*`), one block.
    /// Bytes of request bodies the HTTP listener holds in memory at once, over all connections;
    /// at least `http_body_bytes_max`. A request that would exceed it is answered 503.
    pub http_body_budget_bytes: usize,
    /// Most HTTP connections served at once; further ones wait in the listen backlog.
    pub http_connections_max: usize,
    /// How long an HTTP/1 request head may take to arrive, counted from the first byte of a
    /// new connection or from the end of the previous response on a kept-alive one.
    pub http_header_read_timeout: Duration,
    /// How long a connection may stay with no request in flight before it is closed.
    pub http_idle_timeout: Duration,
    /// How long a request body may take to arrive once its head has.
    pub http_body_read_timeout: Duration,
}

/// Bounds of the native listener (`server.native_*`).
#[derive(Debug, Clone, Copy)]
pub struct NativeLimits {
    /// Connections served at once; more wait in the listen backlog.
    pub connections_max: usize,
    /// How long a new connection has to complete `Hello` (and `Authenticate`).
    pub handshake_timeout: Duration,
    /// How long a connection with no request in flight may stay silent.
    pub idle_timeout: Duration,
}

/// The validated `[log]` section.
#[derive(Debug)]
pub struct TelemetryConfig {
    /// A tracing filter: a level (`info`) or directives (`warn,strata=debug`).
    pub level: String,
    /// How each log line is written.
    pub format: LogFormat,
}

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err("expected `text` or `json`".to_owned()),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Text => "text",
            Self::Json => "json",
        })
    }
}

/// One layer of configuration: the shape of the TOML file, with every key optional.
///
/// The TOML file is read into this type directly; the defaults, the environment and the flags
/// are turned into it, so all four layers are stacked and validated the same way.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// The log engine.
    #[serde(default)]
    pub storage: StorageLayer,
    /// The network listeners.
    #[serde(default)]
    pub server: ServerLayer,
    /// Log output.
    #[serde(default)]
    pub log: LogLayer,
    /// The Kinesis API.
    #[serde(default)]
    pub kinesis: KinesisLayer,
    /// Request authentication.
    #[serde(default)]
    pub auth: AuthLayer,
    /// Delivery streams.
    #[serde(default)]
    pub delivery: DeliveryLayer,
}

/// The `[delivery]` section of a [`Layer`]: the S3-compatible store delivery streams write
/// to. Without a file setting, the AWS SDK environment variables are used (below the file:
/// `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`; `AWS_REGION`; `AWS_ACCESS_KEY_ID` and
/// `AWS_SECRET_ACCESS_KEY`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryLayer {
    /// The S3 endpoint URL (`http://127.0.0.1:9000`). Default: AWS's regional endpoint.
    pub s3_endpoint: Option<String>,
    /// The signing region. Default `us-east-1`.
    pub s3_region: Option<String>,
    /// Access key id; without keys requests are unsigned.
    pub s3_access_key_id: Option<String>,
    /// Secret access key.
    pub s3_secret_access_key: Option<String>,
    /// Path-style requests (`endpoint/bucket/key`). Default: true when an endpoint is set.
    pub s3_path_style: Option<bool>,
    /// Objects of at least this many bytes are uploaded in 8 MiB parts. Default 16777216.
    pub multipart_bytes_min: Option<u64>,
    /// First wait after a failed put, in milliseconds; doubles per failure. Default 100.
    pub retry_backoff_min_ms: Option<u64>,
    /// Longest wait between two attempts, in milliseconds. Default 10000.
    pub retry_backoff_max_ms: Option<u64>,
    /// How long, in seconds, a buffer's put may keep failing before its records are written
    /// under the error output prefix instead (Firehose's S3 retry duration). Default 86400.
    pub retry_duration_secs: Option<u64>,
    /// Buffers one delivery stream encodes (compresses, converts) and stores at once, so
    /// compression uses every core; 0 means one per core. Default 0.
    pub objects_in_flight: Option<u64>,
    /// Record format conversion schemas (`[delivery.schemas.<table>]`, column name → `string`,
    /// `int`, `bigint`, `double`, `boolean` or `timestamp`), named by a delivery stream's
    /// `SchemaConfiguration.TableName` (Strata's stand-in for the AWS Glue table).
    pub schemas:
        Option<std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>>,
    /// Per-bucket settings (`[delivery.buckets.<bucket>]`), replacing the global ones for
    /// that bucket.
    pub buckets: Option<std::collections::BTreeMap<String, BucketLayer>>,
}

/// `[delivery.buckets.<bucket>]`: one bucket's store.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BucketLayer {
    /// The S3 endpoint URL.
    pub endpoint: Option<String>,
    /// The signing region (default: `delivery.s3_region`).
    pub region: Option<String>,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
    /// Path-style requests (default: true when an endpoint is set).
    pub path_style: Option<bool>,
    /// Deliver into this local directory instead of S3 (objects become files under it).
    pub directory: Option<PathBuf>,
}

/// The `[kinesis]` section of a [`Layer`].
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KinesisLayer {
    /// The region in ARNs. Default `us-east-1`; env `STRATA_REGION`.
    pub region: Option<String>,
    /// The 12-digit account id in ARNs. Default `000000000000`; env `STRATA_ACCOUNT`.
    pub account: Option<String>,
    /// Milliseconds a stream stays CREATING, UPDATING or DELETING after a change, as AWS
    /// streams do for a while; 0 (the default) makes changes take effect at once.
    pub state_change_ms: Option<u64>,
    /// Enforce the AWS per-shard write limits (1 MiB/s, 1,000 records/s): excess writes get
    /// ProvisionedThroughputExceededException. Default false.
    pub shard_write_limits: Option<bool>,
    /// Open shards all Kinesis and native streams may have together (DescribeLimits'
    /// ShardLimit); a change that would exceed it gets LimitExceededException. Default 500,
    /// as on AWS; at most 100000.
    pub shards_max: Option<u64>,
}

/// The `[auth]` section of a [`Layer`].
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthLayer {
    /// Access key id → secret access key (`[auth.access_keys]`, `AKID = "secret"`). When any
    /// are set, every request must carry a valid SigV4 signature by one of them; otherwise
    /// any credentials are accepted. Env `STRATA_ACCESS_KEY_ID` with
    /// `STRATA_SECRET_ACCESS_KEY` adds one pair.
    pub access_keys: Option<std::collections::BTreeMap<String, String>>,
}

/// The `[storage]` section of a [`Layer`].
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageLayer {
    /// Directory holding the segments, indexes and metadata; created if missing.
    /// Default `./strata-data`; env `STRATA_DATA_DIR`; flag `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `always` (acknowledged data survives kill -9 and power loss), `interval:<ms>` (survives
    /// kill -9; power loss may lose the last interval) or `never` (survives kill -9; power loss
    /// may lose anything since the last segment roll or clean shutdown).
    /// Default `interval:5`; env `STRATA_FSYNC`; flag `--fsync`.
    pub fsync: Option<String>,
    /// Write path: `auto` (io_uring where available, else pwrite), `uring` or `pwrite`.
    /// Default `auto`; env `STRATA_IO`; flag `--io`.
    pub io: Option<String>,
    /// A segment is sealed once it holds this many bytes. Default 134217728 (128 MiB).
    pub segment_bytes_max: Option<u64>,
    /// A segment is sealed once its first record is this many seconds old. Default 3600.
    pub segment_age_max_secs: Option<u64>,
    /// The largest single record accepted, in bytes; at most `segment_bytes_max`.
    /// Default 10485760 (10 MiB, the largest a Kinesis stream can be set to take; each API
    /// enforces its own, smaller limit per request).
    pub record_bytes_max: Option<usize>,
    /// Seconds between looks for expired segments to delete. Default 60.
    pub retention_check_interval_secs: Option<u64>,
    /// Bytes of a segment file allocated for real (`fallocate`) at a time, ahead of the data
    /// written to it, so a full disk is found before a write. 0 leaves segment files sparse.
    /// Default 4194304 (4 MiB).
    pub segment_allocate_step_bytes: Option<u64>,
    /// Segment files kept open at most (the active segment of each shard being written holds
    /// two); others are closed and reopened on demand. Default: a quarter of the open-files
    /// limit, at least 64.
    pub open_files_max: Option<u64>,
}

/// The `[server]` section of a [`Layer`].
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerLayer {
    /// Socket address of the AWS-compatible HTTP listener.
    /// Default `127.0.0.1:4566`; env `STRATA_HTTP`; flag `--http`.
    pub http: Option<String>,
    /// Socket address of the native binary-protocol listener.
    /// Default `127.0.0.1:4567`; env `STRATA_NATIVE`; flag `--native`.
    pub native: Option<String>,
    /// Native connections served at once (more wait in the listen backlog). Default 1024.
    pub native_connections_max: Option<u64>,
    /// Milliseconds a new native connection has to complete its handshake (`Hello`, and
    /// `Authenticate` when keys are configured) before it is closed. Default 10000.
    pub native_handshake_timeout_ms: Option<u64>,
    /// Seconds a native connection with no request in flight may stay silent before it is
    /// closed. Default 3600.
    pub native_idle_timeout_secs: Option<u64>,
    /// Allow listening on an address other than loopback with no `[auth.access_keys]`
    /// configured (anyone who can reach the port can then read, write and delete every
    /// stream). Default false: `strata serve` refuses to start.
    pub allow_anonymous: Option<bool>,
    /// Serve the read-only web console at `/console` on the HTTP port (behind HTTP Basic
    /// credentials, an access key id and its secret, when `[auth.access_keys]` is set).
    /// Default true.
    pub console: Option<bool>,
    /// `system` (the real-time clock) or `manual`: the engine's clock, which every timestamp,
    /// visibility timeout, delay, retention and deduplication window reads, moves only when a
    /// client calls `POST /_strata/clock?advance_ms=N` on the HTTP port (`GET` reads it), so
    /// an application's tests run without sleeping. `manual` is refused unless both listeners
    /// are on loopback. Default `system`.
    pub clock: Option<String>,
    /// Scheme and authority (`http://strata:4566`) of the queue URLs given to clients, for
    /// when the name clients reach Strata by is not the one in their requests' `Host` (a
    /// proxy). Queues are found by account and name whatever the host. Default none: each
    /// URL is built from its request's `Host`.
    pub public_url: Option<String>,
    /// PEM certificate chain for TLS on both listeners (HTTPS and native TLS); set together
    /// with `tls_key_file`. Default none: plain TCP.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
    /// Largest HTTP request body accepted, in bytes. Default 16777216 (16 MiB: a 10 MiB
    /// PutRecords request in base64 with its JSON).
    pub http_body_bytes_max: Option<u64>,
    // The HTTP listener's resource limits, one block.
    /// Bytes of request bodies held in memory at once over all HTTP connections; must be at
    /// least `http_body_bytes_max`. A request whose body would exceed it is answered 503
    /// `ServiceUnavailable` (an error every AWS SDK retries with backoff). Default 268435456
    /// (256 MiB).
    pub http_body_budget_bytes: Option<u64>,
    /// Most HTTP connections served at once; beyond it, new connections wait in the listen
    /// backlog until one closes (timeouts guarantee one does). Default 1024.
    pub http_connections_max: Option<u64>,
    /// Milliseconds an HTTP/1 request head may take to arrive (slow clients sending headers
    /// byte by byte are closed after it); on a kept-alive HTTP/1 connection it also bounds the
    /// wait for the next request. Default 30000.
    pub http_header_read_timeout_ms: Option<u64>,
    /// Milliseconds a connection (HTTP/1 or HTTP/2) may stay with no request in flight before
    /// it is closed. Default 60000.
    pub http_idle_timeout_ms: Option<u64>,
    /// Milliseconds a request body may take to arrive once its head has; slower bodies are
    /// answered 408 `RequestTimeoutException`. Default 60000.
    pub http_body_read_timeout_ms: Option<u64>,
}

/// The `[log]` section of a [`Layer`].
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogLayer {
    /// A level (`trace`, `debug`, `info`, `warn`, `error`, `off`) or comma-separated
    /// `target=level` directives. Default `info`; env `STRATA_LOG`.
    pub level: Option<String>,
    /// `text` (human-readable lines) or `json` (one object per line). Default `text`.
    pub format: Option<String>,
}

impl Layer {
    /// Reads the TOML file at `path`.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(path, &text)
    }

    /// Parses TOML text; `path` is only used in error messages.
    pub fn from_toml(path: &Path, text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Builds the environment layer; `lookup` is `std::env::var_os` outside tests.
    pub fn from_env(
        lookup: impl Fn(&'static str) -> Option<OsString>,
    ) -> Result<Self, ConfigError> {
        let text = |key: Key| -> Result<Option<String>, ConfigError> {
            let Some(var) = key.env else {
                return Ok(None);
            };
            lookup(var)
                .map(|value| {
                    value
                        .into_string()
                        .map_err(|_| ConfigError::NotUnicode { key: key.name, var })
                })
                .transpose()
        };
        Ok(Self {
            storage: StorageLayer {
                data_dir: keys::DATA_DIR.env.and_then(&lookup).map(PathBuf::from),
                fsync: text(keys::FSYNC)?,
                io: text(keys::IO)?,
                ..StorageLayer::default()
            },
            server: ServerLayer {
                http: text(keys::HTTP)?,
                native: text(keys::NATIVE)?,
                ..ServerLayer::default()
            },
            log: LogLayer {
                level: text(keys::LOG_LEVEL)?,
                format: None,
            },
            kinesis: KinesisLayer {
                region: text(keys::REGION)?,
                account: text(keys::ACCOUNT)?,
                ..KinesisLayer::default()
            },
            auth: AuthLayer {
                access_keys: match (text(keys::ACCESS_KEY_ID)?, text(keys::SECRET_ACCESS_KEY)?) {
                    (Some(id), Some(secret)) => Some([(id, secret)].into_iter().collect()),
                    _ => None,
                },
            },
            delivery: DeliveryLayer::default(),
        })
    }
}

impl Layer {
    /// The AWS SDK's environment variables as a layer below the config file: the store
    /// delivery streams write to when the file does not say.
    pub fn from_aws_env(
        lookup: impl Fn(&'static str) -> Option<OsString>,
    ) -> Result<Self, ConfigError> {
        let text = |var: &'static str, key: &'static str| -> Result<Option<String>, ConfigError> {
            lookup(var)
                .map(|value| {
                    value
                        .into_string()
                        .map_err(|_| ConfigError::NotUnicode { key, var })
                })
                .transpose()
                .map(|value| value.filter(|v| !v.is_empty()))
        };
        let endpoint = match text("AWS_ENDPOINT_URL_S3", keys::S3_ENDPOINT.name)? {
            Some(endpoint) => Some(endpoint),
            None => text("AWS_ENDPOINT_URL", keys::S3_ENDPOINT.name)?,
        };
        Ok(Self {
            delivery: DeliveryLayer {
                s3_endpoint: endpoint,
                s3_region: text("AWS_REGION", keys::S3_REGION.name)?,
                s3_access_key_id: text("AWS_ACCESS_KEY_ID", keys::S3_ACCESS_KEY_ID.name)?,
                s3_secret_access_key: text(
                    "AWS_SECRET_ACCESS_KEY",
                    keys::S3_SECRET_ACCESS_KEY.name,
                )?,
                ..DeliveryLayer::default()
            },
            ..Self::default()
        })
    }
}

/// A configuration key: its dotted name in the TOML file and the variable and flag that can
/// also set it.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// `section.key`, as written in the TOML file.
    pub name: &'static str,
    /// The environment variable that sets it, if any.
    pub env: Option<&'static str>,
    /// The `strata serve` flag that sets it, if any.
    pub flag: Option<&'static str>,
}

/// Every configuration key.
pub mod keys {
    use super::Key;

    const fn key(name: &'static str) -> Key {
        Key {
            name,
            env: None,
            flag: None,
        }
    }

    const fn key_with(name: &'static str, env: &'static str, flag: Option<&'static str>) -> Key {
        Key {
            name,
            env: Some(env),
            flag,
        }
    }

    /// `storage.data_dir`.
    pub const DATA_DIR: Key = key_with("storage.data_dir", "STRATA_DATA_DIR", Some("--data-dir"));
    /// `storage.fsync`.
    pub const FSYNC: Key = key_with("storage.fsync", "STRATA_FSYNC", Some("--fsync"));
    /// `storage.io`.
    pub const IO: Key = key_with("storage.io", "STRATA_IO", Some("--io"));
    /// `storage.segment_bytes_max`.
    pub const SEGMENT_BYTES_MAX: Key = key("storage.segment_bytes_max");
    /// `storage.segment_age_max_secs`.
    pub const SEGMENT_AGE_MAX_SECS: Key = key("storage.segment_age_max_secs");
    /// `storage.record_bytes_max`.
    pub const RECORD_BYTES_MAX: Key = key("storage.record_bytes_max");
    /// `storage.segment_allocate_step_bytes`.
    pub const SEGMENT_ALLOCATE_STEP_BYTES: Key = key("storage.segment_allocate_step_bytes");
    /// `storage.open_files_max`.
    pub const OPEN_FILES_MAX: Key = key("storage.open_files_max");
    /// `storage.retention_check_interval_secs`.
    pub const RETENTION_CHECK_INTERVAL_SECS: Key = key("storage.retention_check_interval_secs");
    /// `server.http`.
    pub const HTTP: Key = key_with("server.http", "STRATA_HTTP", Some("--http"));
    /// `server.native`.
    pub const NATIVE: Key = key_with("server.native", "STRATA_NATIVE", Some("--native"));
    /// `server.native_connections_max`.
    pub const NATIVE_CONNECTIONS_MAX: Key = key("server.native_connections_max");
    /// `server.native_handshake_timeout_ms`.
    pub const NATIVE_HANDSHAKE_TIMEOUT_MS: Key = key("server.native_handshake_timeout_ms");
    /// `server.native_idle_timeout_secs`.
    pub const NATIVE_IDLE_TIMEOUT_SECS: Key = key("server.native_idle_timeout_secs");
    /// `server.allow_anonymous`.
    pub const ALLOW_ANONYMOUS: Key = key("server.allow_anonymous");
    /// `server.console`.
    pub const CONSOLE: Key = key("server.console");
    /// `server.clock`.
    pub const CLOCK: Key = key("server.clock");
    /// `server.public_url`.
    pub const PUBLIC_URL: Key = key("server.public_url");
    /// `server.tls_cert_file`.
    pub const TLS_CERT_FILE: Key = key("server.tls_cert_file");
    /// `server.tls_key_file`.
    pub const TLS_KEY_FILE: Key = key("server.tls_key_file");
    /// `kinesis.shards_max`.
    pub const SHARDS_MAX: Key = key("kinesis.shards_max");
    /// `log.level`.
    pub const LOG_LEVEL: Key = key_with("log.level", "STRATA_LOG", None);
    /// `log.format`.
    pub const LOG_FORMAT: Key = key("log.format");
    /// `server.http_body_bytes_max`.
    pub const HTTP_BODY_BYTES_MAX: Key = key("server.http_body_bytes_max");
    /// `server.http_body_budget_bytes`.
    pub const HTTP_BODY_BUDGET_BYTES: Key = key("server.http_body_budget_bytes");
    /// `server.http_connections_max`.
    pub const HTTP_CONNECTIONS_MAX: Key = key("server.http_connections_max");
    /// `server.http_header_read_timeout_ms`.
    pub const HTTP_HEADER_READ_TIMEOUT_MS: Key = key("server.http_header_read_timeout_ms");
    /// `server.http_idle_timeout_ms`.
    pub const HTTP_IDLE_TIMEOUT_MS: Key = key("server.http_idle_timeout_ms");
    /// `server.http_body_read_timeout_ms`.
    pub const HTTP_BODY_READ_TIMEOUT_MS: Key = key("server.http_body_read_timeout_ms");
    /// `kinesis.region`.
    pub const REGION: Key = key_with("kinesis.region", "STRATA_REGION", None);
    /// `kinesis.account`.
    pub const ACCOUNT: Key = key_with("kinesis.account", "STRATA_ACCOUNT", None);
    /// `kinesis.state_change_ms`.
    pub const STATE_CHANGE_MS: Key = key("kinesis.state_change_ms");
    /// `kinesis.shard_write_limits`.
    pub const SHARD_WRITE_LIMITS: Key = key("kinesis.shard_write_limits");
    /// `auth.access_keys` (one pair from the environment).
    pub const ACCESS_KEY_ID: Key = key_with("auth.access_keys", "STRATA_ACCESS_KEY_ID", None);
    /// `delivery.s3_endpoint`.
    pub const S3_ENDPOINT: Key = key_with("delivery.s3_endpoint", "AWS_ENDPOINT_URL_S3", None);
    /// `delivery.s3_region`.
    pub const S3_REGION: Key = key_with("delivery.s3_region", "AWS_REGION", None);
    /// `delivery.s3_access_key_id`.
    pub const S3_ACCESS_KEY_ID: Key =
        key_with("delivery.s3_access_key_id", "AWS_ACCESS_KEY_ID", None);
    /// `delivery.s3_secret_access_key`.
    pub const S3_SECRET_ACCESS_KEY: Key = key_with(
        "delivery.s3_secret_access_key",
        "AWS_SECRET_ACCESS_KEY",
        None,
    );
    /// `delivery.multipart_bytes_min`.
    pub const MULTIPART_BYTES_MIN: Key = key("delivery.multipart_bytes_min");
    /// `delivery.retry_backoff_min_ms`.
    pub const RETRY_BACKOFF_MIN_MS: Key = key("delivery.retry_backoff_min_ms");
    /// `delivery.retry_backoff_max_ms`.
    pub const RETRY_BACKOFF_MAX_MS: Key = key("delivery.retry_backoff_max_ms");
    /// `delivery.retry_duration_secs`.
    pub const RETRY_DURATION_SECS: Key = key("delivery.retry_duration_secs");
    /// `delivery.objects_in_flight`.
    pub const OBJECTS_IN_FLIGHT: Key = key("delivery.objects_in_flight");
    /// `delivery.buckets`.
    pub const BUCKETS: Key = key("delivery.buckets");
    /// `delivery.schemas`.
    pub const SCHEMAS: Key = key("delivery.schemas");
    /// The secret of `STRATA_ACCESS_KEY_ID`.
    pub const SECRET_ACCESS_KEY: Key =
        key_with("auth.access_keys", "STRATA_SECRET_ACCESS_KEY", None);
}

/// Which layer a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The embedded defaults.
    Default,
    /// The TOML file at this path.
    File(PathBuf),
    /// An environment variable.
    Env,
    /// A command-line flag.
    Flag,
}

impl Origin {
    /// Says where `key`'s value came from, for error messages.
    fn describe(&self, key: Key) -> String {
        match self {
            Self::Default => "the embedded default".to_owned(),
            Self::File(path) => format!("config file {}", path.display()),
            Self::Env => format!("env {}", key.env.unwrap_or("?")),
            Self::Flag => format!("flag {}", key.flag.unwrap_or("?")),
        }
    }
}

/// Why the configuration could not be loaded. Each variant names the key or file at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("Cannot read config file {}: {source}", path.display())]
    Read {
        /// The file given with `--config`.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The config file is not valid TOML, has an unknown key or a value of the wrong type.
    #[error("Invalid config file {}: {source}", path.display())]
    Parse {
        /// The file given with `--config`.
        path: PathBuf,
        /// The parser's message, which names the key.
        source: toml::de::Error,
    },
    /// An environment variable is not valid Unicode.
    #[error("Invalid value for `{key}` (from env {var}): not valid Unicode")]
    NotUnicode {
        /// The key the variable sets.
        key: &'static str,
        /// The variable.
        var: &'static str,
    },
    /// A value was read but is not acceptable.
    #[error("Invalid value {value:?} for `{key}` (from {origin}): {reason}")]
    Invalid {
        /// The key, as named in the TOML file.
        key: &'static str,
        /// The offending value.
        value: String,
        /// Where the value came from.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No layer sets the key; the embedded defaults set every key, so this is a bug.
    #[error("No value for `{key}`: the embedded defaults are missing it")]
    Missing {
        /// The key.
        key: &'static str,
    },
}

impl ConfigError {
    fn invalid(
        key: Key,
        origin: &Origin,
        value: impl fmt::Display,
        reason: impl fmt::Display,
    ) -> Self {
        Self::Invalid {
            key: key.name,
            value: value.to_string(),
            origin: origin.describe(key),
            reason: reason.to_string(),
        }
    }
}

/// Loads the configuration: the defaults, then the file at `file` (if given), then the
/// environment as seen through `env`, then `flags`; and validates the result.
pub fn load(
    file: Option<&Path>,
    env: impl Fn(&'static str) -> Option<OsString>,
    flags: Layer,
) -> Result<Config, ConfigError> {
    let mut layers = vec![
        (Origin::Default, defaults::layer()),
        (Origin::Env, Layer::from_aws_env(&env)?),
    ];
    if let Some(path) = file {
        layers.push((Origin::File(path.to_path_buf()), Layer::from_file(path)?));
    }
    layers.push((Origin::Env, Layer::from_env(env)?));
    layers.push((Origin::Flag, flags));
    Config::resolve(&layers)
}

impl Config {
    /// Picks each key's value from the highest layer that sets it (`layers` is ordered from
    /// lowest to highest) and validates it.
    pub fn resolve(layers: &[(Origin, Layer)]) -> Result<Self, ConfigError> {
        let (data_dir, origin) = pick(layers, keys::DATA_DIR, |l| l.storage.data_dir.as_ref())?;
        if data_dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid(
                keys::DATA_DIR,
                origin,
                "",
                "must not be empty",
            ));
        }
        let segment_bytes_max = positive(layers, keys::SEGMENT_BYTES_MAX, |l| {
            l.storage.segment_bytes_max.as_ref()
        })?;
        let (record_bytes_max, origin) = pick(layers, keys::RECORD_BYTES_MAX, |l| {
            l.storage.record_bytes_max.as_ref()
        })?;
        let record_bytes_max = match origin {
            // The default (the Kinesis maximum) yields to a smaller segment size set by the
            // user; an explicit value that does not fit is an error below.
            Origin::Default => usize::try_from(segment_bytes_max)
                .map_or(*record_bytes_max, |segment| {
                    (*record_bytes_max).min(segment)
                }),
            _ => *record_bytes_max,
        };
        if record_bytes_max == 0 {
            return Err(ConfigError::invalid(
                keys::RECORD_BYTES_MAX,
                origin,
                record_bytes_max,
                "must be greater than zero",
            ));
        }
        if u64::try_from(record_bytes_max).map_or(true, |bytes| bytes > segment_bytes_max) {
            return Err(ConfigError::invalid(
                keys::RECORD_BYTES_MAX,
                origin,
                record_bytes_max,
                format_args!(
                    "must not exceed `{}` ({segment_bytes_max}): a record must fit in a segment",
                    keys::SEGMENT_BYTES_MAX.name
                ),
            ));
        }
        let level = log_level(layers)?;
        let server = server(layers)?;
        Ok(Self {
            storage: StorageConfig {
                data_dir: data_dir.clone(),
                fsync: parse(layers, keys::FSYNC, |l| l.storage.fsync.as_ref())?,
                io: parse(layers, keys::IO, |l| l.storage.io.as_ref())?,
                segment_bytes_max,
                segment_age_max: Duration::from_secs(positive(
                    layers,
                    keys::SEGMENT_AGE_MAX_SECS,
                    |l| l.storage.segment_age_max_secs.as_ref(),
                )?),
                record_bytes_max,
                retention_check_interval: Duration::from_secs(positive(
                    layers,
                    keys::RETENTION_CHECK_INTERVAL_SECS,
                    |l| l.storage.retention_check_interval_secs.as_ref(),
                )?),
                segment_allocate_step_bytes: *pick(
                    layers,
                    keys::SEGMENT_ALLOCATE_STEP_BYTES,
                    |l| l.storage.segment_allocate_step_bytes.as_ref(),
                )?
                .0,
                open_files_max: match optional(layers, |l| l.storage.open_files_max.as_ref()) {
                    None => None,
                    Some((&value, origin)) if value < 8 => {
                        return Err(ConfigError::invalid(
                            keys::OPEN_FILES_MAX,
                            origin,
                            value,
                            "must be at least 8",
                        ));
                    }
                    Some((&value, _)) => Some(usize::try_from(value).unwrap_or(usize::MAX)),
                },
            },
            server,
            log: TelemetryConfig {
                level,
                format: parse(layers, keys::LOG_FORMAT, |l| l.log.format.as_ref())?,
            },
            kinesis: kinesis(layers)?,
            delivery: delivery(layers)?,
            auth: AuthConfig {
                access_keys: layers
                    .iter()
                    .rev()
                    .find_map(|(_, layer)| layer.auth.access_keys.clone())
                    .unwrap_or_default(),
            },
        })
    }
}

/// `server.tls_cert_file` and `server.tls_key_file`: both or neither.
fn tls(layers: &[(Origin, Layer)]) -> Result<Option<crate::tls::TlsFiles>, ConfigError> {
    let cert = optional(layers, |l| l.server.tls_cert_file.as_ref());
    let key = optional(layers, |l| l.server.tls_key_file.as_ref());
    match (cert, key) {
        (None, None) => Ok(None),
        (Some((cert, _)), Some((key, _))) => Ok(Some(crate::tls::TlsFiles {
            cert_file: cert.clone(),
            key_file: key.clone(),
        })),
        (Some((path, origin)), None) => Err(ConfigError::invalid(
            keys::TLS_CERT_FILE,
            origin,
            path.display(),
            "`server.tls_key_file` must be set too",
        )),
        (None, Some((path, origin))) => Err(ConfigError::invalid(
            keys::TLS_KEY_FILE,
            origin,
            path.display(),
            "`server.tls_cert_file` must be set too",
        )),
    }
}

/// The largest `kinesis.shards_max`: every open shard holds a segment and an index.
const SHARDS_MAX_CEILING: u32 = 100_000;

/// The `[server]` section.
fn server(layers: &[(Origin, Layer)]) -> Result<ServerConfig, ConfigError> {
    let bytes = |value: u64| usize::try_from(value).unwrap_or(usize::MAX);
    let millis = |key: Key, get: fn(&Layer) -> Option<&u64>| {
        positive(layers, key, get).map(Duration::from_millis)
    };
    let (&body_max, origin) = pick(layers, keys::HTTP_BODY_BYTES_MAX, |l| {
        l.server.http_body_bytes_max.as_ref()
    })?;
    // A body's bytes are taken from the budget (a semaphore) in one `u32`-sized acquisition.
    if body_max == 0 || body_max > u64::from(u32::MAX) {
        return Err(ConfigError::invalid(
            keys::HTTP_BODY_BYTES_MAX,
            origin,
            body_max,
            format_args!("must be from 1 to {}", u32::MAX),
        ));
    }
    let http_body_bytes_max = bytes(body_max);
    let (&budget, origin) = pick(layers, keys::HTTP_BODY_BUDGET_BYTES, |l| {
        l.server.http_body_budget_bytes.as_ref()
    })?;
    if bytes(budget) < http_body_bytes_max || bytes(budget) > tokio::sync::Semaphore::MAX_PERMITS {
        return Err(ConfigError::invalid(
            keys::HTTP_BODY_BUDGET_BYTES,
            origin,
            budget,
            format_args!(
                "must be at least `{}` ({http_body_bytes_max}), so that the largest body fits",
                keys::HTTP_BODY_BYTES_MAX.name
            ),
        ));
    }
    Ok(ServerConfig {
        http: listen_address(layers, keys::HTTP, |l| l.server.http.as_ref())?,
        native: listen_address(layers, keys::NATIVE, |l| l.server.native.as_ref())?,
        native_limits: NativeLimits {
            connections_max: bytes(positive(layers, keys::NATIVE_CONNECTIONS_MAX, |l| {
                l.server.native_connections_max.as_ref()
            })?),
            handshake_timeout: millis(keys::NATIVE_HANDSHAKE_TIMEOUT_MS, |l| {
                l.server.native_handshake_timeout_ms.as_ref()
            })?,
            idle_timeout: Duration::from_secs(positive(
                layers,
                keys::NATIVE_IDLE_TIMEOUT_SECS,
                |l| l.server.native_idle_timeout_secs.as_ref(),
            )?),
        },
        console: *pick(layers, keys::CONSOLE, |l| l.server.console.as_ref())?.0,
        allow_anonymous: *pick(layers, keys::ALLOW_ANONYMOUS, |l| {
            l.server.allow_anonymous.as_ref()
        })?
        .0,
        public_url: match layers
            .iter()
            .rev()
            .find_map(|(origin, layer)| layer.server.public_url.as_ref().map(|url| (url, origin)))
        {
            None => None,
            Some((url, origin)) => {
                let trimmed = url.trim_end_matches('/');
                let authority = trimmed
                    .strip_prefix("http://")
                    .or_else(|| trimmed.strip_prefix("https://"));
                match authority {
                    Some(authority)
                        if !authority.is_empty() && !authority.contains(['/', '?', '#', ' ']) =>
                    {
                        Some(trimmed.to_owned())
                    }
                    _ => {
                        return Err(ConfigError::invalid(
                            keys::PUBLIC_URL,
                            origin,
                            url,
                            "expected http:// or https:// and a host[:port], with no path",
                        ));
                    }
                }
            }
        },
        manual_clock: {
            let (clock, origin) = pick(layers, keys::CLOCK, |l| l.server.clock.as_ref())?;
            match clock.as_str() {
                "system" => false,
                "manual" => true,
                other => {
                    return Err(ConfigError::invalid(
                        keys::CLOCK,
                        origin,
                        other,
                        "expected `system` or `manual`",
                    ));
                }
            }
        },
        tls: tls(layers)?,
        http_body_bytes_max,
        http_body_budget_bytes: bytes(budget),
        http_connections_max: bytes(positive(layers, keys::HTTP_CONNECTIONS_MAX, |l| {
            l.server.http_connections_max.as_ref()
        })?),
        http_header_read_timeout: millis(keys::HTTP_HEADER_READ_TIMEOUT_MS, |l| {
            l.server.http_header_read_timeout_ms.as_ref()
        })?,
        http_idle_timeout: millis(keys::HTTP_IDLE_TIMEOUT_MS, |l| {
            l.server.http_idle_timeout_ms.as_ref()
        })?,
        http_body_read_timeout: millis(keys::HTTP_BODY_READ_TIMEOUT_MS, |l| {
            l.server.http_body_read_timeout_ms.as_ref()
        })?,
    })
}

/// The `[kinesis]` section.
fn kinesis(layers: &[(Origin, Layer)]) -> Result<KinesisConfig, ConfigError> {
    let (region, origin) = pick(layers, keys::REGION, |l| l.kinesis.region.as_ref())?;
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(ConfigError::invalid(
            keys::REGION,
            origin,
            region,
            "expected a region name such as `us-east-1`",
        ));
    }
    let (account, origin) = pick(layers, keys::ACCOUNT, |l| l.kinesis.account.as_ref())?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConfigError::invalid(
            keys::ACCOUNT,
            origin,
            account,
            "expected 12 digits",
        ));
    }
    let (&state_change_ms, _) = pick(layers, keys::STATE_CHANGE_MS, |l| {
        l.kinesis.state_change_ms.as_ref()
    })?;
    let (&shard_write_limits, _) = pick(layers, keys::SHARD_WRITE_LIMITS, |l| {
        l.kinesis.shard_write_limits.as_ref()
    })?;
    let shards_max = positive(layers, keys::SHARDS_MAX, |l| l.kinesis.shards_max.as_ref())?;
    let shards_max = match u32::try_from(shards_max) {
        Ok(value) if value <= SHARDS_MAX_CEILING => value,
        _ => {
            let origin = pick(layers, keys::SHARDS_MAX, |l| l.kinesis.shards_max.as_ref())?.1;
            return Err(ConfigError::invalid(
                keys::SHARDS_MAX,
                origin,
                shards_max,
                format!("must be at most {SHARDS_MAX_CEILING}"),
            ));
        }
    };
    Ok(KinesisConfig {
        region: region.clone(),
        account: account.clone(),
        state_change: Duration::from_millis(state_change_ms),
        shard_write_limits,
        shards_max,
    })
}

/// The value of `key` in the highest layer that sets it, if any layer does.
fn optional<'a, T: ?Sized>(
    layers: &'a [(Origin, Layer)],
    get: impl Fn(&'a Layer) -> Option<&'a T>,
) -> Option<(&'a T, &'a Origin)> {
    layers
        .iter()
        .rev()
        .find_map(|(origin, layer)| get(layer).map(|value| (value, origin)))
}

/// Checks an endpoint URL: `http://` or `https://` and a host.
fn endpoint(key: Key, origin: &Origin, url: &str) -> Result<String, ConfigError> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => {
            Ok(url.trim_end_matches('/').to_owned())
        }
        _ => Err(ConfigError::invalid(
            key,
            origin,
            url,
            "expected an http:// or https:// URL such as `http://127.0.0.1:9000`",
        )),
    }
}

/// The `[delivery]` section.
fn delivery(layers: &[(Origin, Layer)]) -> Result<DeliveryConfig, ConfigError> {
    let endpoint_of = |found: Option<(&String, &Origin)>| {
        found
            .map(|(url, origin)| endpoint(keys::S3_ENDPOINT, origin, url))
            .transpose()
    };
    let global_endpoint = endpoint_of(optional(layers, |l| l.delivery.s3_endpoint.as_ref()))?;
    let (region, _) = pick(layers, keys::S3_REGION, |l| l.delivery.s3_region.as_ref())?;
    let access_key_id = optional(layers, |l| l.delivery.s3_access_key_id.as_ref());
    let secret = optional(layers, |l| l.delivery.s3_secret_access_key.as_ref());
    if let (Some((_, origin)), None) = (access_key_id, secret) {
        return Err(ConfigError::invalid(
            keys::S3_SECRET_ACCESS_KEY,
            origin,
            "",
            "must be set with `delivery.s3_access_key_id`",
        ));
    }
    let path_style = optional(layers, |l| l.delivery.s3_path_style.as_ref()).map(|(v, _)| *v);
    let default = BucketSettings {
        path_style: path_style.unwrap_or(global_endpoint.is_some()),
        endpoint: global_endpoint,
        region: region.clone(),
        access_key_id: access_key_id.map(|(v, _)| v.clone()),
        secret_access_key: secret.map(|(v, _)| v.clone()),
        directory: None,
    };
    let mut buckets = std::collections::BTreeMap::new();
    if let Some((table, origin)) = optional(layers, |l| l.delivery.buckets.as_ref()) {
        for (bucket, layer) in table {
            let endpoint = layer
                .endpoint
                .as_ref()
                .map(|url| endpoint(keys::BUCKETS, origin, url))
                .transpose()?;
            let uses_default_store = endpoint.is_none() && layer.directory.is_none();
            buckets.insert(
                bucket.clone(),
                BucketSettings {
                    path_style: layer.path_style.unwrap_or(if uses_default_store {
                        default.path_style
                    } else {
                        endpoint.is_some()
                    }),
                    endpoint: endpoint.or_else(|| {
                        uses_default_store
                            .then(|| default.endpoint.clone())
                            .flatten()
                    }),
                    region: layer.region.clone().unwrap_or_else(|| region.clone()),
                    access_key_id: layer
                        .access_key_id
                        .clone()
                        .or_else(|| default.access_key_id.clone()),
                    secret_access_key: layer
                        .secret_access_key
                        .clone()
                        .or_else(|| default.secret_access_key.clone()),
                    directory: layer.directory.clone(),
                },
            );
        }
    }
    let multipart_bytes_min = positive(layers, keys::MULTIPART_BYTES_MIN, |l| {
        l.delivery.multipart_bytes_min.as_ref()
    })?;
    let backoff_min = positive(layers, keys::RETRY_BACKOFF_MIN_MS, |l| {
        l.delivery.retry_backoff_min_ms.as_ref()
    })?;
    let (&backoff_max, origin) = pick(layers, keys::RETRY_BACKOFF_MAX_MS, |l| {
        l.delivery.retry_backoff_max_ms.as_ref()
    })?;
    let retry_duration_secs = positive(layers, keys::RETRY_DURATION_SECS, |l| {
        l.delivery.retry_duration_secs.as_ref()
    })?;
    let (&objects_in_flight, in_flight_origin) = pick(layers, keys::OBJECTS_IN_FLIGHT, |l| {
        l.delivery.objects_in_flight.as_ref()
    })?;
    if objects_in_flight > OBJECTS_IN_FLIGHT_MAX {
        return Err(ConfigError::invalid(
            keys::OBJECTS_IN_FLIGHT,
            in_flight_origin,
            objects_in_flight,
            format_args!("must be at most {OBJECTS_IN_FLIGHT_MAX} (0: one per core)"),
        ));
    }
    let objects_in_flight = match usize::try_from(objects_in_flight).unwrap_or(usize::MAX) {
        0 => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
        n => n,
    };
    let mut schemas = std::collections::BTreeMap::new();
    if let Some((tables, origin)) = optional(layers, |l| l.delivery.schemas.as_ref()) {
        use crate::views::delivery::convert::{ColumnType, Schema};
        for (table, columns) in tables {
            let mut schema = Schema::default();
            for (column, kind) in columns {
                let kind = ColumnType::parse(kind).ok_or_else(|| {
                    ConfigError::invalid(
                        keys::SCHEMAS,
                        origin,
                        format_args!("{table}.{column} = {kind:?}"),
                        "a column type must be string, int, bigint, double, boolean or timestamp",
                    )
                })?;
                schema.columns.push((column.clone(), kind));
            }
            if schema.columns.is_empty() {
                return Err(ConfigError::invalid(
                    keys::SCHEMAS,
                    origin,
                    table,
                    "a schema needs at least one column",
                ));
            }
            schemas.insert(table.clone(), schema);
        }
    }
    if backoff_max < backoff_min {
        return Err(ConfigError::invalid(
            keys::RETRY_BACKOFF_MAX_MS,
            origin,
            backoff_max,
            format_args!(
                "must be at least `{}` ({backoff_min})",
                keys::RETRY_BACKOFF_MIN_MS.name
            ),
        ));
    }
    Ok(DeliveryConfig {
        sink: SinkSettings {
            default,
            buckets,
            multipart_bytes_min: usize::try_from(multipart_bytes_min).unwrap_or(usize::MAX),
            ..SinkSettings::default()
        },
        retry_backoff_min: Duration::from_millis(backoff_min),
        retry_backoff_max: Duration::from_millis(backoff_max),
        retry_duration: Duration::from_secs(retry_duration_secs),
        poll_interval: Duration::from_millis(100),
        objects_in_flight,
        schemas,
    })
}

/// The most buffers one delivery stream may encode and store at once (each holds up to
/// 128 MiB).
const OBJECTS_IN_FLIGHT_MAX: u64 = 64;

/// The value of `key` in the highest layer that sets it, and where it came from.
fn pick<'a, T: ?Sized>(
    layers: &'a [(Origin, Layer)],
    key: Key,
    get: impl Fn(&'a Layer) -> Option<&'a T>,
) -> Result<(&'a T, &'a Origin), ConfigError> {
    layers
        .iter()
        .rev()
        .find_map(|(origin, layer)| get(layer).map(|value| (value, origin)))
        .ok_or(ConfigError::Missing { key: key.name })
}

/// The value of `key`, parsed with [`FromStr`].
fn parse<'a, T>(
    layers: &'a [(Origin, Layer)],
    key: Key,
    get: impl Fn(&'a Layer) -> Option<&'a String>,
) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    let (text, origin) = pick(layers, key, get)?;
    text.parse()
        .map_err(|error| ConfigError::invalid(key, origin, text, error))
}

/// A listen address: an IP literal and port (`127.0.0.1:4566`, `[::1]:4566`), or a host name
/// and port (`localhost:4566`), resolved now; of several addresses the first IPv4 one.
fn listen_address<'a>(
    layers: &'a [(Origin, Layer)],
    key: Key,
    get: impl Fn(&'a Layer) -> Option<&'a String>,
) -> Result<SocketAddr, ConfigError> {
    use std::net::ToSocketAddrs as _;
    let (text, origin) = pick(layers, key, get)?;
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Ok(address);
    }
    let resolved: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|error| {
            ConfigError::invalid(
                key,
                origin,
                text,
                format!("expected host:port, such as 127.0.0.1:4566 or localhost:4566 ({error})"),
            )
        })?
        .collect();
    resolved
        .iter()
        .find(|address| address.is_ipv4())
        .or(resolved.first())
        .copied()
        .ok_or_else(|| ConfigError::invalid(key, origin, text, "the host name has no address"))
}

/// The value of `key`, which must be greater than zero.
fn positive<'a>(
    layers: &'a [(Origin, Layer)],
    key: Key,
    get: impl Fn(&'a Layer) -> Option<&'a u64>,
) -> Result<u64, ConfigError> {
    let (&value, origin) = pick(layers, key, get)?;
    if value == 0 {
        return Err(ConfigError::invalid(
            key,
            origin,
            value,
            "must be greater than zero",
        ));
    }
    Ok(value)
}

/// The `log.level` filter. Each comma-separated directive must be a level or `target=level`:
/// tracing's own parser would take a misspelt level (`verbose`) for a target name and quietly
/// log nothing.
fn log_level(layers: &[(Origin, Layer)]) -> Result<String, ConfigError> {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    let key = keys::LOG_LEVEL;
    let (text, origin) = pick(layers, key, |l| l.log.level.as_ref())?;
    for directive in text.split(',').map(str::trim) {
        let level = directive
            .rsplit_once('=')
            .map_or(directive, |(_, level)| level);
        if !LEVELS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(level.trim()))
        {
            return Err(ConfigError::invalid(
                key,
                origin,
                text,
                format_args!(
                    "`{directive}` is not a level ({}) or a `target=level` directive",
                    LEVELS.join(", ")
                ),
            ));
        }
    }
    tracing_subscriber::EnvFilter::try_new(text)
        .map_err(|error| ConfigError::invalid(key, origin, text, error))?;
    Ok(text.clone())
}
