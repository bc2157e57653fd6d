//! Runs `strata-bench storage` end to end with tiny parameters and checks its JSON report and
//! its plot.

use std::process::Command;

use serde_json::Value;

#[test]
fn storage_benchmark_runs_and_reports() {
    let temp = tempfile::tempdir().expect("temp dir");
    let data = temp.path().join("data");
    let json = temp.path().join("report.json");
    let svg = temp.path().join("storage.svg");
    let output = Command::new(env!("CARGO_BIN_EXE_strata-bench"))
        .args(["storage", "--duration-secs", "0.2", "--sizes", "100"])
        .args(["--fsync", "interval:5", "--producers", "1", "--batch", "16"])
        .args([
            "--shards",
            "2",
            "--baseline-mib",
            "2",
            "--baseline-sync-mib",
            "1",
        ])
        .args(["--state-fsync", "interval:5", "--state-writers", "1,4"])
        .arg("--dir")
        .arg(&data)
        .arg("--json")
        .arg(&json)
        .arg("--plot")
        .arg(&svg)
        .output()
        .expect("running strata-bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "strata-bench failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("Appends"), "no table in:\n{stdout}");
    assert!(
        stderr.contains("[3/8] append 100B fsync=interval:5 producers=1"),
        "{stderr}"
    );

    let plot = std::fs::read_to_string(&svg).expect("plot written");
    assert!(plot.starts_with("<svg"), "{plot}");
    for text in [
        "Throughput over time (MB/s)",
        "Latency distribution",
        "100B fsync=interval:5 ×1",
        "raw disk: 2MiB buffered writes",
        "raw disk: 64KiB write+fdatasync",
    ] {
        assert!(plot.contains(text), "no {text:?} in the plot:\n{plot}");
    }

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("JSON written"))
            .expect("valid JSON");
    for key in [
        "machine",
        "io_backend",
        "config",
        "baseline",
        "append",
        "read",
        "state",
    ] {
        assert!(report.get(key).is_some(), "report lacks {key}: {report:#}");
    }
    let states = report["state"].as_array().expect("state rows");
    assert_eq!(states.len(), 2, "{report:#}");
    for row in states {
        assert!(row["changes"].as_u64().is_some_and(|n| n > 0), "{row:#}");
        assert!(
            row["ratio_to_appends"].as_f64().is_some_and(|r| r > 0.0),
            "{row:#}"
        );
    }
    assert!(stdout.contains("Keyed state changes"), "{stdout}");
    for key in ["nproc", "kernel"] {
        assert!(report["machine"].get(key).is_some(), "machine lacks {key}");
    }
    let backend = report["io_backend"]
        .as_str()
        .expect("io_backend is a string");
    assert!(
        ["uring", "pwrite"].contains(&backend),
        "io_backend {backend}"
    );
    assert!(report["baseline"]["buffered"]["mb_per_s"].as_f64() > Some(0.0));
    assert!(report["baseline"]["synced"]["syncs_per_s"].as_f64() > Some(0.0));

    let appends = report["append"].as_array().expect("append is a list");
    assert_eq!(appends.len(), 1);
    let append = &appends[0];
    assert_eq!(append["record_bytes"], 100);
    assert_eq!(append["fsync"], "interval:5");
    assert_eq!(append["producers"], 1);
    assert_eq!(append["io_backend"], backend);
    assert!(append["throughput"]["records"].as_u64() > Some(0));
    assert!(append["throughput"]["mb_per_s"].as_f64() > Some(0.0));
    for key in ["p50_us", "p99_us", "p999_us", "max_us"] {
        assert!(
            append["latency"][key].as_u64() > Some(0),
            "latency lacks {key}"
        );
    }
    assert!(append["ratio_to_raw_buffered"].as_f64() > Some(0.0));
    assert!(append["ratio_to_raw_synced"].is_null());

    let reads = report["read"].as_array().expect("read is a list");
    assert_eq!(reads.len(), 1);
    assert_eq!(
        reads[0]["throughput"]["records"],
        append["throughput"]["records"]
    );

    // The phase directories are gone; the directory given stays.
    let left: Vec<_> = std::fs::read_dir(&data)
        .expect("data dir kept")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
