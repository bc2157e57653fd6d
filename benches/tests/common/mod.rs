//! What the benchmark smoke tests share: the `strata` binary next to `strata-bench`, and one
//! run of `strata-bench` in a temporary directory with its JSON report.
#![allow(dead_code, reason = "each smoke test uses the part it needs")]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Makes sure the `strata` binary sits next to `strata-bench`, building it if needed.
pub fn ensure_strata() {
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

/// What one run printed, and its JSON report.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub report: Value,
}

/// Runs `strata-bench ARGS --json FILE` in a temporary directory, asserts that it succeeded,
/// and reads the report.
pub fn bench(args: &[&str]) -> Run {
    let temp = tempfile::tempdir().expect("temp dir");
    let json = temp.path().join("report.json");
    let output = Command::new(env!("CARGO_BIN_EXE_strata-bench"))
        .current_dir(temp.path())
        .args(args)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("running strata-bench");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "strata-bench {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let report = serde_json::from_str(&std::fs::read_to_string(&json).expect("JSON written"))
        .expect("valid JSON");
    Run {
        stdout,
        stderr,
        report,
    }
}

/// A latency object with every percentile and at least one sample.
pub fn assert_latency(value: &Value) {
    for key in ["p50_us", "p90_us", "p99_us", "p999_us", "max_us"] {
        assert!(value.get(key).is_some(), "latency lacks {key}: {value:#}");
    }
    assert!(value["count"].as_u64().unwrap_or(0) > 0, "{value:#}");
}
