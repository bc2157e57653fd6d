//! Runs `strata-bench delivery` against a server it spawns, with small settings, and checks
//! its JSON report: records acknowledged, none failed, every one delivered, and (uncompressed,
//! into a local directory) the files read back hold exactly the acknowledged bytes.

mod common;

use common::ensure_strata;
use serde_json::Value;

fn run(compression: &str) -> Value {
    let run = common::bench(&[
        "delivery",
        "--duration-secs",
        "1",
        "--connections",
        "2",
        "--batch-records",
        "50",
        "--record-bytes",
        "256",
        "--buffer-mib",
        "1",
        "--buffer-secs",
        "0",
        "--drain-secs",
        "60",
        "--compression",
        compression,
    ]);
    assert!(
        run.stdout.contains("last ack → all delivered"),
        "no summary in:\n{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("put:"),
        "no live progress in:\n{}",
        run.stderr
    );
    common::assert_svg(
        &run.plot,
        &[
            "put: acknowledged",
            "delivered to the store",
            "PutRecordBatch request",
        ],
    );
    run.report
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
