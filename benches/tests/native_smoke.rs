//! Runs `strata-bench produce` and `e2e` against a server they spawn, with tiny parameters,
//! and checks their JSON reports.

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

fn run(mode: &str) -> Value {
    let temp = tempfile::tempdir().expect("temp dir");
    let json = temp.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_strata-bench"))
        .current_dir(temp.path())
        .args([mode, "--spawn-server", "--duration-secs", "0.5"])
        .args(["--producers", "1", "--shards", "2", "--baseline-mib", "2"])
        .args(["--queue-records", "4096", "--fsync", "interval:5", "--json"])
        .arg(&json)
        .output()
        .expect("running strata-bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "strata-bench {mode} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("p99.9 µs"), "no table in:\n{stdout}");
    serde_json::from_str(&std::fs::read_to_string(&json).expect("JSON written"))
        .expect("valid JSON")
}

fn assert_latency(value: &Value) {
    for key in ["p50_us", "p90_us", "p99_us", "p999_us", "max_us"] {
        assert!(value.get(key).is_some(), "latency lacks {key}: {value:#}");
    }
    assert!(value["count"].as_u64().unwrap_or(0) > 0, "{value:#}");
}

#[test]
fn produce_and_e2e_against_a_spawned_server() {
    ensure_strata();

    let produce = run("produce");
    for key in ["machine", "config", "baseline", "produce"] {
        assert!(
            produce.get(key).is_some(),
            "report lacks {key}: {produce:#}"
        );
    }
    let result = &produce["produce"];
    assert!(result["throughput"]["records"].as_u64().unwrap_or(0) > 0);
    assert_eq!(result["errors"].as_u64(), Some(0), "{result:#}");
    assert!(result["ratio_to_raw_buffered"].as_f64().unwrap_or(0.0) > 0.0);
    assert_latency(&result["latency"]);

    let e2e = run("e2e");
    let produced = e2e["produce"]["throughput"]["records"]
        .as_u64()
        .unwrap_or(0);
    assert!(produced > 0, "{e2e:#}");
    assert_eq!(e2e["e2e"]["received"].as_u64(), Some(produced), "{e2e:#}");
    assert_latency(&e2e["e2e"]["latency"]);
}
