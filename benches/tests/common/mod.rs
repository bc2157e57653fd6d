//! What the benchmark smoke tests share: the `strata` binary next to `strata-bench`, and one
//! run of `strata-bench` in a temporary directory with its JSON report and its SVG plot.
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

/// What one run printed, its JSON report and its plot.
pub struct Run {
    pub stdout: String,
    pub stderr: String,
    pub report: Value,
    /// The SVG `--plot` wrote.
    pub plot: String,
}

/// Runs `strata-bench ARGS --json FILE --plot FILE.svg` in a temporary directory, asserts
/// that it succeeded and that the plot is an SVG document, and reads both.
pub fn bench(args: &[&str]) -> Run {
    let temp = tempfile::tempdir().expect("temp dir");
    let json = temp.path().join("report.json");
    let svg = temp.path().join("plot.svg");
    let output = Command::new(env!("CARGO_BIN_EXE_strata-bench"))
        .current_dir(temp.path())
        .args(args)
        .arg("--json")
        .arg(&json)
        .arg("--plot")
        .arg(&svg)
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
    let plot = std::fs::read_to_string(&svg).expect("plot written");
    assert_svg(&plot, &[]);
    Run {
        stdout,
        stderr,
        report,
        plot,
    }
}

/// `svg` is a whole SVG document with both panels, holding every text of `expected`.
pub fn assert_svg(svg: &str, expected: &[&str]) {
    assert!(svg.trim_start().starts_with("<svg"), "not an SVG:\n{svg}");
    assert!(svg.trim_end().ends_with("</svg>"), "SVG cut short");
    for text in ["Throughput over time", "Latency distribution"]
        .iter()
        .chain(expected)
    {
        assert!(svg.contains(text), "no {text:?} in the plot");
    }
}

/// A latency object with every percentile and at least one sample.
pub fn assert_latency(value: &Value) {
    for key in ["p50_us", "p90_us", "p99_us", "p999_us", "max_us"] {
        assert!(value.get(key).is_some(), "latency lacks {key}: {value:#}");
    }
    assert!(value["count"].as_u64().unwrap_or(0) > 0, "{value:#}");
}
