//! Runs `strata-bench produce` and `e2e` against a server they spawn, with tiny parameters,
//! and checks their JSON reports.

mod common;

use common::{assert_latency, ensure_strata};
use serde_json::Value;

fn run(mode: &str) -> Value {
    let run = common::bench(&[
        mode,
        "--spawn-server",
        "--duration-secs",
        "0.5",
        "--producers",
        "1",
        "--shards",
        "2",
        "--baseline-mib",
        "2",
        "--queue-records",
        "4096",
        "--fsync",
        "interval:5",
    ]);
    assert!(
        run.stdout.contains("p99.9 µs"),
        "no table in:\n{}",
        run.stdout
    );
    run.report
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
