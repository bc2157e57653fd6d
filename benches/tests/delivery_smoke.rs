//! Runs `strata-bench delivery` against a server it spawns, with small settings, and checks
//! its JSON report: records acknowledged, none failed, every one delivered, and (uncompressed,
//! into a local directory) the files read back hold exactly the acknowledged bytes.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Makes sure the `strata` binary sits next to `strata-bench`, building it if needed.
fn ensure_strata() {
    let strata = Path::new(env!("CARGO_BIN_EXE_strata-bench")).with_file_name("strata");
    if !strata.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "strata-server", "--bin", "strata"])
            .status()
            .expect("running cargo build");
        assert!(status.success(), "building strata failed");
    }
    assert!(strata.exists(), "no strata binary at {}", strata.display());
}

fn run(compression: &str) -> Value {
    let temp = tempfile::tempdir().expect("temp dir");
    let json = temp.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_strata-bench"))
        .current_dir(temp.path())
        .args(["delivery", "--duration-secs", "1", "--connections", "2"])
        .args(["--batch-records", "50", "--record-bytes", "256"])
        .args([
            "--buffer-mib",
            "1",
            "--buffer-secs",
            "0",
            "--drain-secs",
            "60",
        ])
        .args(["--compression", compression, "--json"])
        .arg(&json)
        .output()
        .expect("running strata-bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "strata-bench delivery failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("last ack → all delivered"),
        "no summary in:\n{stdout}"
    );
    assert!(stderr.contains("put:"), "no live progress in:\n{stderr}");
    serde_json::from_str(&std::fs::read_to_string(&json).expect("JSON written"))
        .expect("valid JSON")
}

#[test]
fn delivery_lands_every_acknowledged_byte_in_the_directory() {
    ensure_strata();
    let report = run("UNCOMPRESSED");
    for key in [
        "machine",
        "config",
        "put",
        "delivered",
        "drain_secs",
        "read_back",
    ] {
        assert!(report.get(key).is_some(), "report lacks {key}: {report:#}");
    }
    let acked = report["put"]["records"].as_u64().unwrap_or(0);
    assert!(acked > 0, "{report:#}");
    assert_eq!(report["put_failed_records"].as_u64(), Some(0), "{report:#}");
    assert_eq!(
        report["delivered"]["records"].as_u64(),
        Some(acked),
        "{report:#}"
    );
    let bytes = report["put"]["bytes"].as_u64();
    assert_eq!(bytes, Some(acked * 256), "{report:#}");
    assert_eq!(report["read_back"]["bytes"].as_u64(), bytes, "{report:#}");
    assert_eq!(report["stored_bytes"].as_u64(), bytes, "{report:#}");
    let objects = report["objects"].as_u64().unwrap_or(0);
    assert!(objects > 0, "{report:#}");
    assert_eq!(
        report["read_back"]["objects"].as_u64(),
        Some(objects),
        "{report:#}"
    );
}

#[test]
fn gzip_delivery_stores_fewer_bytes_than_it_was_given() {
    ensure_strata();
    let report = run("GZIP");
    let acked = report["put"]["records"].as_u64().unwrap_or(0);
    assert!(acked > 0, "{report:#}");
    assert_eq!(
        report["delivered"]["records"].as_u64(),
        Some(acked),
        "{report:#}"
    );
    let stored = report["stored_bytes"].as_u64().unwrap_or(u64::MAX);
    assert!(
        stored < report["put"]["bytes"].as_u64().unwrap_or(0),
        "{report:#}"
    );
}
