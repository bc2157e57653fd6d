//! Runs `strata-bench kinesis` against a server it spawns, with small settings, and checks its
//! JSON report: records stored, none failed, every one read back by the tailing readers and
//! by the replay; and its plot.

mod common;

use common::{assert_latency, ensure_strata};

#[test]
fn kinesis_against_a_spawned_server() {
    ensure_strata();
    let run = common::bench(&[
        "kinesis",
        "--spawn-server",
        "--duration-secs",
        "2",
        "--shards",
        "2",
        "--connections",
        "2",
        "--consumers",
        "1",
        "--batch-records",
        "50",
        "--record-bytes",
        "256",
        "--fsync",
        "interval:5",
    ]);
    assert!(
        run.stdout.contains("p99.9 µs"),
        "no table in:\n{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("rec/s"),
        "no live progress in:\n{}",
        run.stderr
    );
    common::assert_svg(
        &run.plot,
        &[
            "strata (spawned, fsync=interval:5): PutRecords",
            "strata (spawned, fsync=interval:5): put to get",
        ],
    );
    let report = run.report;
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
