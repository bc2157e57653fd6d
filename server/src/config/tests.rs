use std::collections::HashMap;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use storage::{Fsync, IoBackend};

use super::{Config, ConfigError, Layer, LogFormat, Origin, defaults, load};

/// A fake environment: tests never touch the process's own.
fn env(vars: &[(&'static str, &str)]) -> impl Fn(&'static str) -> Option<OsString> {
    let vars: HashMap<&'static str, OsString> = vars
        .iter()
        .map(|(name, value)| (*name, OsString::from(value)))
        .collect();
    move |name| vars.get(name).cloned()
}

fn toml(text: &str) -> Layer {
    Layer::from_toml(Path::new("strata.toml"), text).expect("valid TOML")
}

/// Resolves defaults → `file` → `vars` → `flags`, as `load` does, without touching disk.
fn resolve(file: &str, vars: &[(&'static str, &str)], flags: Layer) -> Result<Config, ConfigError> {
    Config::resolve(&[
        (Origin::Default, defaults::layer()),
        (Origin::File(PathBuf::from("strata.toml")), toml(file)),
        (Origin::Env, Layer::from_env(env(vars))?),
        (Origin::Flag, flags),
    ])
}

fn flags(edit: impl FnOnce(&mut Layer)) -> Layer {
    let mut layer = Layer::default();
    edit(&mut layer);
    layer
}

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("valid socket address")
}

fn invalid_key(error: &ConfigError) -> &'static str {
    match error {
        ConfigError::Invalid { key, .. } => key,
        other => panic!("expected an invalid value, got: {other}"),
    }
}

#[test]
fn defaults_alone_are_valid() {
    let config = resolve("", &[], Layer::default()).expect("defaults are valid");
    assert_eq!(config.storage.data_dir, PathBuf::from("./strata-data"));
    assert!(matches!(config.storage.fsync, Fsync::Interval(d) if d == Duration::from_millis(5)));
    assert!(matches!(config.storage.io, IoBackend::Auto));
    assert_eq!(config.storage.segment_bytes_max, 128 * 1024 * 1024);
    assert_eq!(config.storage.segment_age_max, Duration::from_secs(3600));
    assert_eq!(config.storage.record_bytes_max, 10 * 1024 * 1024);
    assert_eq!(
        config.storage.retention_check_interval,
        Duration::from_secs(60)
    );
    assert_eq!(config.server.http, addr("127.0.0.1:4566"));
    assert_eq!(config.server.native, addr("127.0.0.1:4567"));
    assert_eq!(config.log.level, "info");
    assert_eq!(config.log.format, LogFormat::Text);
}

#[test]
fn layers_apply_in_order_default_file_env_flag() {
    let file = r#"
        [storage]
        data_dir = "/from/file"
        fsync = "never"
        io = "pwrite"
        segment_bytes_max = 4194304

        [server]
        http = "0.0.0.0:1000"
        native = "0.0.0.0:1001"

        [log]
        level = "debug"
        format = "json"
    "#;
    let vars = [
        ("STRATA_DATA_DIR", "/from/env"),
        ("STRATA_FSYNC", "always"),
        ("STRATA_HTTP", "0.0.0.0:2000"),
        ("STRATA_LOG", "warn"),
    ];
    let flags = flags(|layer| {
        layer.storage.data_dir = Some(PathBuf::from("/from/flag"));
        layer.server.http = Some("0.0.0.0:3000".to_owned());
    });
    let config = resolve(file, &vars, flags).expect("valid");

    // Flag beats env beats file.
    assert_eq!(config.storage.data_dir, PathBuf::from("/from/flag"));
    assert_eq!(config.server.http, addr("0.0.0.0:3000"));
    // Env beats file.
    assert!(matches!(config.storage.fsync, Fsync::Always));
    assert_eq!(config.log.level, "warn");
    // File beats default.
    assert!(matches!(config.storage.io, IoBackend::Pwrite));
    assert_eq!(config.server.native, addr("0.0.0.0:1001"));
    assert_eq!(config.storage.segment_bytes_max, 4 * 1024 * 1024);
    assert_eq!(config.log.format, LogFormat::Json);
    // Untouched keys keep their default.
    assert_eq!(config.storage.segment_age_max, Duration::from_secs(3600));
}

#[test]
fn every_env_var_sets_its_key() {
    let vars = [
        ("STRATA_DATA_DIR", "/env/data"),
        ("STRATA_FSYNC", "interval:250"),
        ("STRATA_IO", "uring"),
        ("STRATA_HTTP", "127.0.0.1:9000"),
        ("STRATA_NATIVE", "127.0.0.1:9001"),
        ("STRATA_LOG", "warn,strata=debug"),
    ];
    let config = resolve("", &vars, Layer::default()).expect("valid");
    assert_eq!(config.storage.data_dir, PathBuf::from("/env/data"));
    assert!(matches!(config.storage.fsync, Fsync::Interval(d) if d == Duration::from_millis(250)));
    assert!(matches!(config.storage.io, IoBackend::Uring));
    assert_eq!(config.server.http, addr("127.0.0.1:9000"));
    assert_eq!(config.server.native, addr("127.0.0.1:9001"));
    assert_eq!(config.log.level, "warn,strata=debug");
}

#[test]
fn a_bad_value_overridden_by_a_higher_layer_is_harmless() {
    let file = "[storage]\nfsync = \"sometimes\"\n";
    let config = resolve(file, &[("STRATA_FSYNC", "never")], Layer::default()).expect("valid");
    assert!(matches!(config.storage.fsync, Fsync::Never));
}

#[test]
fn unknown_key_is_rejected() {
    let error = Layer::from_toml(Path::new("strata.toml"), "[storage]\nsegment_size = 1\n")
        .expect_err("unknown key");
    assert!(matches!(error, ConfigError::Parse { .. }));
    assert!(error.to_string().contains("segment_size"), "{error}");
}

#[test]
fn unknown_section_is_rejected() {
    let error = Layer::from_toml(Path::new("strata.toml"), "[kafka]\nshards = 4\n")
        .expect_err("unknown section");
    assert!(error.to_string().contains("kafka"), "{error}");
}

#[test]
fn bad_fsync_value_error_names_key() {
    let error = resolve("[storage]\nfsync = \"sometimes\"\n", &[], Layer::default())
        .expect_err("bad fsync");
    assert_eq!(invalid_key(&error), "storage.fsync");
    let message = error.to_string();
    assert!(message.contains("storage.fsync"), "{message}");
    assert!(message.contains("sometimes"), "{message}");
    assert!(message.contains("config file strata.toml"), "{message}");
}

#[test]
fn bad_fsync_from_env_names_the_variable() {
    let error =
        resolve("", &[("STRATA_FSYNC", "interval:soon")], Layer::default()).expect_err("bad fsync");
    let message = error.to_string();
    assert!(message.contains("storage.fsync"), "{message}");
    assert!(message.contains("env STRATA_FSYNC"), "{message}");
}

#[test]
fn bad_io_from_flag_names_the_flag() {
    let flags = flags(|layer| layer.storage.io = Some("aio".to_owned()));
    let error = resolve("", &[], flags).expect_err("bad io");
    assert_eq!(invalid_key(&error), "storage.io");
    assert!(error.to_string().contains("flag --io"), "{error}");
}

#[test]
fn bad_socket_address_names_key() {
    // A host name without a port is not an address.
    let error = resolve("[server]\nnative = \"localhost\"\n", &[], Layer::default())
        .expect_err("bad address");
    assert_eq!(invalid_key(&error), "server.native");
    assert!(error.to_string().contains("host:port"), "{error}");
}

#[test]
fn listen_addresses_take_host_names() {
    let config = resolve(
        "[server]\nhttp = \"localhost:4566\"\nnative = \"[::1]:4567\"\n",
        &[],
        Layer::default(),
    )
    .expect("host names resolve");
    assert_eq!(config.server.http, addr("127.0.0.1:4566"));
    assert_eq!(config.server.native, addr("[::1]:4567"));
}

#[test]
fn bad_log_format_names_key() {
    let error =
        resolve("[log]\nformat = \"xml\"\n", &[], Layer::default()).expect_err("bad format");
    assert_eq!(invalid_key(&error), "log.format");
}

#[test]
fn misspelt_log_level_is_rejected() {
    let error = resolve("", &[("STRATA_LOG", "verbose")], Layer::default()).expect_err("bad level");
    assert_eq!(invalid_key(&error), "log.level");
    let error = resolve("", &[("STRATA_LOG", "info,storage=loud")], Layer::default())
        .expect_err("bad directive");
    assert_eq!(invalid_key(&error), "log.level");
}

#[test]
fn zero_limits_are_rejected() {
    for (file, key) in [
        (
            "[storage]\nsegment_bytes_max = 0\n",
            "storage.segment_bytes_max",
        ),
        (
            "[storage]\nsegment_age_max_secs = 0\n",
            "storage.segment_age_max_secs",
        ),
        (
            "[storage]\nrecord_bytes_max = 0\n",
            "storage.record_bytes_max",
        ),
        (
            "[storage]\nretention_check_interval_secs = 0\n",
            "storage.retention_check_interval_secs",
        ),
    ] {
        let error = resolve(file, &[], Layer::default()).expect_err(file);
        assert_eq!(invalid_key(&error), key);
    }
}

#[test]
fn record_larger_than_a_segment_is_rejected() {
    let file = "[storage]\nsegment_bytes_max = 1024\nrecord_bytes_max = 2048\n";
    let error = resolve(file, &[], Layer::default()).expect_err("record too large");
    assert_eq!(invalid_key(&error), "storage.record_bytes_max");
    assert!(
        error.to_string().contains("storage.segment_bytes_max"),
        "{error}"
    );
}

#[test]
fn empty_data_dir_is_rejected() {
    let error = resolve("", &[("STRATA_DATA_DIR", "")], Layer::default()).expect_err("empty");
    assert_eq!(invalid_key(&error), "storage.data_dir");
}

#[test]
fn wrong_type_in_file_is_rejected() {
    let error = Layer::from_toml(
        Path::new("strata.toml"),
        "[storage]\nsegment_bytes_max = \"big\"\n",
    )
    .expect_err("wrong type");
    assert!(error.to_string().contains("segment_bytes_max"), "{error}");
}

#[test]
fn load_reads_the_file_and_reports_a_missing_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("strata.toml");
    std::fs::write(&path, "[storage]\nio = \"pwrite\"\n").expect("write config");
    let config = load(Some(&path), env(&[]), Layer::default()).expect("valid");
    assert!(matches!(config.storage.io, IoBackend::Pwrite));

    let missing = dir.path().join("missing.toml");
    let error = load(Some(&missing), env(&[]), Layer::default()).expect_err("missing file");
    assert!(matches!(error, ConfigError::Read { .. }));
    assert!(error.to_string().contains("missing.toml"), "{error}");
}

#[test]
fn storage_section_becomes_the_log_config_field_for_field() {
    let file = r#"
        [storage]
        data_dir = "/data"
        fsync = "always"
        io = "pwrite"
        segment_bytes_max = 8192
        segment_age_max_secs = 30
        record_bytes_max = 512
        retention_check_interval_secs = 7
    "#;
    let config = resolve(file, &[], Layer::default()).expect("valid");
    let log = config.storage.into_log_config();
    assert_eq!(log.dir, PathBuf::from("/data"));
    assert!(matches!(log.fsync, Fsync::Always));
    assert!(matches!(log.io, IoBackend::Pwrite));
    assert_eq!(log.segment_bytes_max, 8192);
    assert_eq!(log.segment_age_max, Duration::from_secs(30));
    assert_eq!(log.record_bytes_max, 512);
    assert_eq!(log.retention_check_interval, Duration::from_secs(7));
}

/// defaults → AWS env → file, as `load` stacks the S3 settings of `[delivery]`.
fn resolve_delivery(file: &str, vars: &[(&'static str, &str)]) -> Result<Config, ConfigError> {
    Config::resolve(&[
        (Origin::Default, defaults::layer()),
        (Origin::Env, Layer::from_aws_env(env(vars))?),
        (Origin::File(PathBuf::from("strata.toml")), toml(file)),
    ])
}

#[test]
fn delivery_store_defaults_to_aws_unsigned() {
    let config = resolve_delivery("", &[]).expect("valid");
    let store = &config.delivery.sink.default;
    assert_eq!(store.endpoint, None);
    assert_eq!(store.region, "us-east-1");
    assert!(!store.path_style);
    assert_eq!(store.access_key_id, None);
    assert_eq!(config.delivery.retry_backoff_max, Duration::from_secs(10));
    assert_eq!(config.delivery.retry_duration, Duration::from_secs(86_400));
    let config = resolve_delivery("[delivery]\nretry_duration_secs = 60\n", &[]).expect("valid");
    assert_eq!(config.delivery.retry_duration, Duration::from_secs(60));
    // 0, the default: one buffer in flight per core.
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    assert_eq!(config.delivery.objects_in_flight, cores);
    let config = resolve_delivery("[delivery]\nobjects_in_flight = 3\n", &[]).expect("valid");
    assert_eq!(config.delivery.objects_in_flight, 3);
    let error = resolve_delivery("[delivery]\nobjects_in_flight = 65\n", &[]).unwrap_err();
    assert_eq!(invalid_key(&error), "delivery.objects_in_flight");
}

#[test]
fn aws_environment_is_the_fallback_and_the_file_wins() {
    let vars = [
        ("AWS_ENDPOINT_URL", "http://generic:1"),
        ("AWS_ENDPOINT_URL_S3", "http://s3-only:2/"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "AKID"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
    ];
    let config = resolve_delivery("", &vars).expect("valid");
    let store = &config.delivery.sink.default;
    assert_eq!(store.endpoint.as_deref(), Some("http://s3-only:2"));
    assert!(store.path_style, "a custom endpoint means path-style");
    assert_eq!(store.region, "eu-west-1");
    assert_eq!(store.access_key_id.as_deref(), Some("AKID"));
    let only_generic = resolve_delivery("", &vars[..1]).expect("valid");
    assert_eq!(
        only_generic.delivery.sink.default.endpoint.as_deref(),
        Some("http://generic:1")
    );

    let file = "[delivery]\ns3_endpoint = \"https://minio:9000\"\ns3_path_style = false\n\
                [delivery.buckets.local]\ndirectory = \"/tmp/lake\"\n\
                [delivery.buckets.other]\nendpoint = \"http://other:9000\"\nregion = \"x-1\"\n";
    let config = resolve_delivery(file, &vars).expect("valid");
    let sink = &config.delivery.sink;
    assert_eq!(sink.default.endpoint.as_deref(), Some("https://minio:9000"));
    assert!(!sink.default.path_style);
    assert_eq!(sink.default.region, "eu-west-1");
    let local = &sink.buckets["local"];
    assert_eq!(local.directory, Some(PathBuf::from("/tmp/lake")));
    let other = &sink.buckets["other"];
    assert_eq!(other.endpoint.as_deref(), Some("http://other:9000"));
    assert!(other.path_style);
    assert_eq!(other.region, "x-1");
    assert_eq!(other.access_key_id.as_deref(), Some("AKID"));
}

#[test]
fn bad_delivery_settings_name_their_key() {
    let error = resolve_delivery("[delivery]\ns3_endpoint = \"minio:9000\"\n", &[]).unwrap_err();
    assert_eq!(invalid_key(&error), "delivery.s3_endpoint");
    let error = resolve_delivery("[delivery]\ns3_access_key_id = \"a\"\n", &[]).unwrap_err();
    assert_eq!(invalid_key(&error), "delivery.s3_secret_access_key");
    let error = resolve_delivery(
        "[delivery]\nretry_backoff_min_ms = 500\nretry_backoff_max_ms = 100\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(invalid_key(&error), "delivery.retry_backoff_max_ms");
    let error = resolve_delivery("[delivery]\nretry_duration_secs = 0\n", &[]).unwrap_err();
    assert_eq!(invalid_key(&error), "delivery.retry_duration_secs");
    let error = resolve_delivery("[delivery.schemas.t]\nc = \"varchar\"\n", &[]).unwrap_err();
    assert_eq!(invalid_key(&error), "delivery.schemas");
    let config = resolve_delivery(
        "[delivery.schemas.clicks]\nuser = \"string\"\nat = \"timestamp\"\n",
        &[],
    )
    .expect("valid");
    assert_eq!(config.delivery.schemas["clicks"].columns.len(), 2);
    assert!(
        Layer::from_toml(
            Path::new("strata.toml"),
            "[delivery.buckets.b]\nendpont = \"x\"\n"
        )
        .is_err()
    );
}

#[test]
fn http_limits_have_defaults_and_are_checked() {
    let config = resolve("", &[], Layer::default()).expect("defaults are valid");
    assert_eq!(config.server.http_body_budget_bytes, 256 * 1024 * 1024);
    assert_eq!(config.server.http_connections_max, 1024);
    assert_eq!(
        config.server.http_header_read_timeout,
        Duration::from_secs(30)
    );
    assert_eq!(config.server.http_idle_timeout, Duration::from_secs(60));
    assert_eq!(
        config.server.http_body_read_timeout,
        Duration::from_secs(60)
    );

    let file = "[server]\nhttp_connections_max = 10\nhttp_header_read_timeout_ms = 1500\n\
                http_idle_timeout_ms = 2500\nhttp_body_read_timeout_ms = 3500\n\
                http_body_bytes_max = 1024\nhttp_body_budget_bytes = 4096\n";
    let config = resolve(file, &[], Layer::default()).expect("valid limits");
    assert_eq!(config.server.http_connections_max, 10);
    assert_eq!(
        config.server.http_header_read_timeout,
        Duration::from_millis(1500)
    );
    assert_eq!(config.server.http_idle_timeout, Duration::from_millis(2500));
    assert_eq!(
        config.server.http_body_read_timeout,
        Duration::from_millis(3500)
    );
    assert_eq!(config.server.http_body_budget_bytes, 4096);

    for (file, key) in [
        (
            "[server]\nhttp_connections_max = 0\n",
            "server.http_connections_max",
        ),
        (
            "[server]\nhttp_header_read_timeout_ms = 0\n",
            "server.http_header_read_timeout_ms",
        ),
        (
            "[server]\nhttp_idle_timeout_ms = 0\n",
            "server.http_idle_timeout_ms",
        ),
        (
            "[server]\nhttp_body_read_timeout_ms = 0\n",
            "server.http_body_read_timeout_ms",
        ),
        (
            "[server]\nhttp_body_bytes_max = 0\n",
            "server.http_body_bytes_max",
        ),
        (
            "[server]\nhttp_body_bytes_max = 5000000000\nhttp_body_budget_bytes = 9000000000\n",
            "server.http_body_bytes_max",
        ),
        // The budget must hold at least one largest body.
        (
            "[server]\nhttp_body_bytes_max = 4096\nhttp_body_budget_bytes = 1024\n",
            "server.http_body_budget_bytes",
        ),
    ] {
        let error = resolve(file, &[], Layer::default()).expect_err(file);
        assert_eq!(invalid_key(&error), key, "{file}");
    }
}

#[test]
fn the_clock_is_system_unless_manual_is_asked_for() {
    let config = resolve("", &[], Layer::default()).expect("defaults");
    assert!(!config.server.manual_clock);
    let manual = resolve("[server]\nclock = \"manual\"\n", &[], Layer::default()).expect("manual");
    assert!(manual.server.manual_clock);
    let error = resolve("[server]\nclock = \"fast\"\n", &[], Layer::default()).expect_err("bad");
    assert_eq!(invalid_key(&error), "server.clock");
}

#[test]
fn a_public_url_is_a_scheme_and_an_authority() {
    let config = resolve(
        "[server]\npublic_url = \"http://strata:4566/\"\n",
        &[],
        Layer::default(),
    )
    .expect("valid");
    assert_eq!(
        config.server.public_url.as_deref(),
        Some("http://strata:4566")
    );
    for bad in [
        "strata:4566",
        "http://",
        "http://strata:4566/path",
        "ftp://x",
    ] {
        let error = resolve(
            &format!("[server]\npublic_url = \"{bad}\"\n"),
            &[],
            Layer::default(),
        )
        .expect_err(bad);
        assert_eq!(invalid_key(&error), "server.public_url");
    }
    assert_eq!(
        resolve("", &[], Layer::default())
            .expect("defaults")
            .server
            .public_url,
        None
    );
}
