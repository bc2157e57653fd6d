//! Runs `strata-bench produce` and `e2e` against a server they spawn, with tiny parameters,
//! and checks their JSON reports and plots.

mod common;

use common::{assert_latency, assert_svg, ensure_strata};

fn run(mode: &str) -> common::Run {
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
    run
}

#[test]
fn produce_and_e2e_against_a_spawned_server() {
    ensure_strata();

    let run_produce = run("produce");
    // Throughput and ack latency, beside the raw disk's buffered level.
    assert_svg(
        &run_produce.plot,
        &[
            "produce: acknowledged",
            "produce: ack latency",
            "raw disk: buffered writes of the run",
            "MB/s",
        ],
    );
    let produce = run_produce.report;
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

    let run_e2e = run("e2e");
    assert_svg(
        &run_e2e.plot,
        &["e2e: received by tailing consumers", "e2e: send to receive"],
    );
    let e2e = run_e2e.report;
    let produced = e2e["produce"]["throughput"]["records"]
        .as_u64()
        .unwrap_or(0);
    assert!(produced > 0, "{e2e:#}");
    assert_eq!(e2e["e2e"]["received"].as_u64(), Some(produced), "{e2e:#}");
    assert_latency(&e2e["e2e"]["latency"]);
}
