//! Runs `strata-bench kinesis` against a server it spawns, with small settings, and checks its
//! JSON report: records stored, none failed, every one read back by the tailing readers and
//! by the replay.

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

fn assert_latency(value: &Value) {
    for key in ["p50_us", "p90_us", "p99_us", "p999_us", "max_us"] {
        assert!(value.get(key).is_some(), "latency lacks {key}: {value:#}");
    }
    assert!(value["count"].as_u64().unwrap_or(0) > 0, "{value:#}");
}

#[test]
fn kinesis_against_a_spawned_server() {
    ensure_strata();
    let temp = tempfile::tempdir().expect("temp dir");
    let json = temp.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_strata-bench"))
        .current_dir(temp.path())
        .args(["kinesis", "--spawn-server", "--duration-secs", "2"])
        .args(["--shards", "2", "--connections", "2", "--consumers", "1"])
        .args(["--batch-records", "50", "--record-bytes", "256"])
        .args(["--fsync", "interval:5", "--json"])
        .arg(&json)
        .output()
        .expect("running strata-bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "strata-bench kinesis failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("p99.9 µs"), "no table in:\n{stdout}");
    assert!(stderr.contains("rec/s"), "no live progress in:\n{stderr}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("JSON written"))
            .expect("valid JSON");
    for key in ["machine", "config", "runs"] {
        assert!(report.get(key).is_some(), "report lacks {key}: {report:#}");
    }
    let runs = report["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "{report:#}");
    let run = &runs[0];
    assert_eq!(run["server"], "strata", "{run:#}");

    let put = &run["put"];
    let stored = put["throughput"]["records"].as_u64().unwrap_or(0);
    assert!(stored > 0, "{put:#}");
    assert!(put["throughput"]["mb_per_s"].as_f64().unwrap_or(0.0) > 0.0);
    assert_eq!(put["failed_records"].as_u64(), Some(0), "{put:#}");
    assert_eq!(put["failed_requests"].as_u64(), Some(0), "{put:#}");
    assert_latency(&put["latency"]);

    let tail = &run["tail"];
    assert_eq!(
        tail["throughput"]["records"].as_u64(),
        Some(stored),
        "{tail:#}"
    );
    assert_eq!(tail["errors"].as_u64(), Some(0), "{tail:#}");
    assert_eq!(tail["caught_up"].as_bool(), Some(true), "{tail:#}");
    assert_latency(&tail["put_to_get_latency"]);

    let replay = &run["replay"];
    assert_eq!(
        replay["throughput"]["records"].as_u64(),
        Some(stored),
        "{replay:#}"
    );
    assert_eq!(replay["caught_up"].as_bool(), Some(true), "{replay:#}");
    assert_latency(&replay["request_latency"]);
}
