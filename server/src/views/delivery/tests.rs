//! The delivery view on a real log with a directory "bucket": the crash-recovery plan and
//! the cursor's rule (it moves only after the object is stored).
#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use storage::{Log, LogConfig};

use super::encode::Compression;
use super::sink::BucketSettings;
use super::*;

fn settings(lake: &Path) -> Settings {
    let mut settings = Settings {
        retry_backoff_min: Duration::from_millis(10),
        retry_backoff_max: Duration::from_millis(50),
        poll_interval: Duration::from_millis(20),
        ..Settings::default()
    };
    settings.sink.buckets.insert(
        "lake".into(),
        BucketSettings {
            directory: Some(lake.to_path_buf()),
            ..BucketSettings::default()
        },
    );
    settings
}

pub(super) fn definition(name: &str, buffer_seconds: u32) -> Definition {
    Definition {
        name: name.into(),
        created_ms: 1,
        updated_ms: None,
        version: 1,
        source: Source::DirectPut,
        destination: Destination {
            extended: true,
            role_arn: "arn:aws:iam::000000000000:role/r".into(),
            bucket_arn: "arn:aws:s3:::lake".into(),
            prefix: Some("p/".into()),
            error_prefix: None,
            buffer_mib: 128,
            buffer_seconds,
            compression: Compression::Uncompressed,
            kms_key: None,
            delimiter: true,
            processing_enabled: Some(true),
            file_extension: None,
            custom_time_zone: None,
            dynamic_partitioning: false,
            metadata_query: None,
            retry_seconds: None,
            conversion: None,
            s3_backup_mode: None,
            logging_enabled: None,
            log_group: None,
            log_stream: None,
        },
        encryption: None,
        tags: BTreeMap::new(),
    }
}

fn records(count: usize) -> Vec<Bytes> {
    (0..count).map(|i| Bytes::from(format!("r{i}"))).collect()
}

/// Every file under `root`, by path relative to it.
fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(root).unwrap().to_path_buf();
                found.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    found
}

async fn until<T>(mut probe: impl FnMut() -> Option<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(value) = probe() {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("condition met within 10 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buffer_planned_before_a_crash_is_delivered_again_whole_under_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let log = Log::open(LogConfig::new(dir.path().join("data"))).unwrap();
    let view = DeliveryStreams::open(log.clone(), settings(&lake)).unwrap();
    // Fifteen minutes of buffering: nothing is flushed by size or age in this test.
    view.create(definition("ds", 900)).unwrap();
    view.put("ds", records(10)).await.unwrap();
    view.shutdown();
    // As if the task had planned offsets 0..6 and crashed around the put.
    let backing = log.stream("firehose:ds").unwrap();
    // The delivery stream's own engine stream is the view's by owner; the name is a scheme.
    assert_eq!(backing.owner, OWNER);
    log.put_property(
        &plan_namespace("ds"),
        &format!("firehose:ds/{}/0", backing.id),
        b"6\tplanned/ds-1-key".to_vec(),
    )
    .unwrap();
    // A plan of an older stream of the same name does not apply.
    log.put_property(
        &plan_namespace("ds"),
        &format!("firehose:ds/{}/0", backing.id + 100),
        b"3\tstale/key".to_vec(),
    )
    .unwrap();

    let reopened = DeliveryStreams::open(log.clone(), settings(&lake)).unwrap();
    let delivered = until(|| {
        let found = files(&lake);
        (!found.is_empty()).then_some(found)
    })
    .await;
    let expected: BTreeMap<PathBuf, Vec<u8>> = [(
        PathBuf::from("planned/ds-1-key"),
        b"r0\nr1\nr2\nr3\nr4\nr5\n".to_vec(),
    )]
    .into_iter()
    .collect();
    assert_eq!(delivered, expected);
    until(|| (log.cursor(&cursor_name("ds"), "firehose:ds", 0) == Some(6)).then_some(())).await;
    // The rest waits for its interval, in a buffer of its own.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(files(&lake).len(), 1);
    reopened.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cursor_moves_only_after_the_object_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    // The "bucket" directory cannot be created while a file is in its place.
    let lake = dir.path().join("lake");
    std::fs::write(&lake, b"in the way").unwrap();
    let log = Log::open(LogConfig::new(dir.path().join("data"))).unwrap();
    let view = DeliveryStreams::open(log.clone(), settings(&lake)).unwrap();
    view.create(definition("ds", 0)).unwrap();
    view.put("ds", records(3)).await.unwrap();
    let failure = until(|| view.describe("ds").unwrap().failure).await;
    assert!(failure.details.contains("put the object"), "{failure:?}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(log.cursor(&cursor_name("ds"), "firehose:ds", 0), None);
    let (_, metrics) = view.metrics().into_iter().next().unwrap();
    assert!(metrics.failures > 0);
    assert_eq!(metrics.objects_delivered, 0);

    std::fs::remove_file(&lake).unwrap();
    until(|| (log.cursor(&cursor_name("ds"), "firehose:ds", 0) == Some(3)).then_some(())).await;
    let found = files(&lake);
    assert_eq!(found.len(), 1);
    assert_eq!(found.values().next().unwrap(), b"r0\nr1\nr2\n");
    let key = found.keys().next().unwrap().to_string_lossy().into_owned();
    assert!(key.starts_with("p/") && key.contains("/ds-1-"), "{key}");
    until(|| view.describe("ds").unwrap().failure.is_none().then_some(())).await;
    let (_, metrics) = view.metrics().into_iter().next().unwrap();
    assert_eq!(
        (metrics.objects_delivered, metrics.records_delivered),
        (1, 3)
    );
    assert_eq!(metrics.freshness_ms, 0);
    view.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_forgets_records_and_positions_and_a_new_stream_starts_clean() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let log = Log::open(LogConfig::new(dir.path().join("data"))).unwrap();
    let view = DeliveryStreams::open(log.clone(), settings(&lake)).unwrap();
    view.create(definition("ds", 900)).unwrap();
    view.put("ds", records(2)).await.unwrap();
    view.delete("ds").unwrap();
    assert!(matches!(view.describe("ds"), Err(Error::NotFound { .. })));
    assert!(log.stream("firehose:ds").is_err());
    assert!(log.property(DEFINITIONS, "ds").is_none());
    view.create(definition("ds", 900)).unwrap();
    assert_eq!(log.shard_bounds("firehose:ds", 0).unwrap().next, 0);
    assert!(matches!(
        view.create(definition("ds", 900)),
        Err(Error::Exists { .. })
    ));
    view.shutdown();
}

/// The JSON error documents of an error object, as (rawData decoded, errorCode).
fn error_documents(body: &[u8]) -> Vec<(Vec<u8>, String)> {
    use base64::Engine as _;
    body.split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let document: serde_json::Value = serde_json::from_slice(line).unwrap();
            let raw = base64::engine::general_purpose::STANDARD
                .decode(document["rawData"].as_str().unwrap())
                .unwrap();
            (raw, document["errorCode"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buffer_failing_past_the_retry_duration_goes_to_the_error_prefix_once() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    std::fs::create_dir_all(&lake).unwrap();
    // Keys under `p/` cannot be written while a file is in the way; others can.
    std::fs::write(lake.join("p"), b"in the way").unwrap();
    let log = Log::open(LogConfig::new(dir.path().join("data"))).unwrap();
    let settings = Settings {
        retry_duration: Duration::from_millis(300),
        ..settings(&lake)
    };
    let view = DeliveryStreams::open(log.clone(), settings.clone()).unwrap();
    let mut ds = definition("ds", 0);
    ds.destination.error_prefix = Some("err/!{firehose:error-output-type}/".into());
    view.create(ds).unwrap();
    view.put("ds", records(3)).await.unwrap();
    until(|| (log.cursor(&cursor_name("ds"), "firehose:ds", 0) == Some(3)).then_some(())).await;
    let found = files(&lake);
    let errors: Vec<_> = found
        .iter()
        .filter(|(path, _)| path.starts_with("err/s3-failed"))
        .collect();
    assert_eq!(errors.len(), 1, "{found:?}");
    let (path, body) = errors[0];
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("ds-1-"), "{name}");
    let documents = error_documents(body);
    let raw: Vec<&[u8]> = documents.iter().map(|(raw, _)| raw.as_slice()).collect();
    assert_eq!(raw, [b"r0".as_slice(), b"r1", b"r2"]);
    assert!(
        documents
            .iter()
            .all(|(_, code)| code == "S3.PutObjectFailed")
    );
    // The store is writable again: the next buffer goes to its prefix.
    std::fs::remove_file(lake.join("p")).unwrap();
    view.put("ds", records(1)).await.unwrap();
    until(|| (log.cursor(&cursor_name("ds"), "firehose:ds", 0) == Some(4)).then_some(())).await;
    let found = files(&lake);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.keys().any(|path| path.starts_with("p/")));
    view.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buffer_sent_to_the_error_prefix_before_a_crash_is_written_there_again() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let log = Log::open(LogConfig::new(dir.path().join("data"))).unwrap();
    let view = DeliveryStreams::open(log.clone(), settings(&lake)).unwrap();
    view.create(definition("ds", 900)).unwrap();
    view.put("ds", records(4)).await.unwrap();
    view.shutdown();
    let backing = log.stream("firehose:ds").unwrap();
    log.put_property(
        &plan_namespace("ds"),
        &format!("firehose:ds/{}/0", backing.id),
        b"2/failed\terr/s3-failed/ds-1-key".to_vec(),
    )
    .unwrap();
    let reopened = DeliveryStreams::open(log.clone(), settings(&lake)).unwrap();
    until(|| (log.cursor(&cursor_name("ds"), "firehose:ds", 0) == Some(2)).then_some(())).await;
    let found = files(&lake);
    assert_eq!(found.len(), 1, "{found:?}");
    let body = &found[&PathBuf::from("err/s3-failed/ds-1-key")];
    let raw: Vec<Vec<u8>> = error_documents(body).into_iter().map(|(r, _)| r).collect();
    assert_eq!(raw, [b"r0".to_vec(), b"r1".to_vec()]);
    reopened.shutdown();
}

fn partitioned(name: &str, buffer_seconds: u32) -> Definition {
    let mut definition = definition(name, buffer_seconds);
    definition.destination.dynamic_partitioning = true;
    definition.destination.metadata_query = Some("{customer: .customer}".into());
    definition.destination.prefix = Some("c=!{partitionKeyFromQuery:customer}/".into());
    definition.destination.error_prefix = Some("err/!{firehose:error-output-type}/".into());
    definition
}

fn json_records() -> Vec<Bytes> {
    [
        r#"{"customer":"a","n":0}"#,
        r#"{"customer":"b","n":1}"#,
        "not json",
        r#"{"customer":"a","n":3}"#,
        r#"{"n":4}"#,
    ]
    .into_iter()
    .map(|text| Bytes::from_static(text.as_bytes()))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_buffered_per_partition_and_unpartitionable_ones_go_to_the_error_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let log = Log::open(LogConfig::new(dir.path().join("data"))).unwrap();
    let view = DeliveryStreams::open(log.clone(), settings(&lake)).unwrap();
    view.create(partitioned("ds", 1)).unwrap();
    view.put("ds", json_records()).await.unwrap();
    until(|| (log.cursor(&cursor_name("ds"), "firehose:ds", 0) == Some(5)).then_some(())).await;
    let found = files(&lake);
    assert_eq!(found.len(), 3, "{found:?}");
    let under = |prefix: &str| -> Vec<u8> {
        let (_, body) = found
            .iter()
            .find(|(path, _)| path.starts_with(prefix))
            .unwrap_or_else(|| panic!("no object under {prefix}: {found:?}"));
        body.clone()
    };
    assert_eq!(
        under("c=a"),
        b"{\"customer\":\"a\",\"n\":0}\n{\"customer\":\"a\",\"n\":3}\n"
    );
    assert_eq!(under("c=b"), b"{\"customer\":\"b\",\"n\":1}\n");
    let documents = error_documents(&under("err/partitioning-failed"));
    let raw: Vec<&[u8]> = documents.iter().map(|(raw, _)| raw.as_slice()).collect();
    assert_eq!(raw, [b"not json".as_slice(), br#"{"n":4}"#]);
    assert!(
        documents
            .iter()
            .all(|(_, code)| code == "DynamicPartitioning.MetadataExtractionFailed")
    );
    view.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_planned_before_a_crash_is_stored_again_and_holds_the_cursor_for_the_rest() {
    let hex = |text: &str| -> String { text.bytes().map(|b| format!("{b:02x}")).collect() };
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let log = Log::open(LogConfig::new(dir.path().join("data"))).unwrap();
    let view = DeliveryStreams::open(log.clone(), settings(&lake)).unwrap();
    // Fifteen minutes of buffering: only the planned buffer is flushed in this test.
    view.create(partitioned("ds", 900)).unwrap();
    view.put("ds", json_records()).await.unwrap();
    view.shutdown();
    // As if partition a's records 0 and 3 had been planned (and perhaps stored) before a crash.
    let backing = log.stream("firehose:ds").unwrap();
    let plans = format!("v2 0 4 0 {} {}", hex("customer=a"), hex("planned/a-object"));
    log.put_property(
        &plan_namespace("ds"),
        &format!("firehose:ds/{}/0", backing.id),
        plans.into_bytes(),
    )
    .unwrap();
    let reopened = DeliveryStreams::open(log.clone(), settings(&lake)).unwrap();
    let delivered = until(|| {
        let found = files(&lake);
        (!found.is_empty()).then_some(found)
    })
    .await;
    let expected: BTreeMap<PathBuf, Vec<u8>> = [(
        PathBuf::from("planned/a-object"),
        b"{\"customer\":\"a\",\"n\":0}\n{\"customer\":\"a\",\"n\":3}\n".to_vec(),
    )]
    .into_iter()
    .collect();
    assert_eq!(delivered, expected);
    // Record 1 (partition b) is not stored yet, so the cursor stops before it.
    until(|| (log.cursor(&cursor_name("ds"), "firehose:ds", 0) == Some(1)).then_some(())).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(files(&lake).len(), 1);
    assert_eq!(log.cursor(&cursor_name("ds"), "firehose:ds", 0), Some(1));
    reopened.shutdown();
}

/// Partition a's object cannot be stored (a file sits where its prefix's directory goes);
/// partition b's can. Returns the lake's files and the cursor while a keeps failing, then
/// checks that both land and the cursor passes them once a's way is clear.
async fn one_partition_failing(
    objects_in_flight: usize,
) -> (BTreeMap<PathBuf, Vec<u8>>, Option<u64>) {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    std::fs::create_dir_all(&lake).unwrap();
    std::fs::write(lake.join("c=a"), b"in the way").unwrap();
    let log = Log::open(LogConfig::new(dir.path().join("data"))).unwrap();
    let settings = Settings {
        objects_in_flight,
        ..settings(&lake)
    };
    let view = DeliveryStreams::open(log.clone(), settings).unwrap();
    view.create(partitioned("ds", 0)).unwrap();
    let records = [r#"{"customer":"a","n":0}"#, r#"{"customer":"b","n":1}"#]
        .map(|text| Bytes::from_static(text.as_bytes()));
    view.put("ds", records.to_vec()).await.unwrap();
    until(|| view.describe("ds").unwrap().failure).await;
    // Long enough for b's upload to finish if it may run beside a's.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let while_failing = (
        files(&lake)
            .into_iter()
            .filter(|(path, _)| !path.starts_with("c=a"))
            .collect(),
        log.cursor(&cursor_name("ds"), "firehose:ds", 0),
    );
    std::fs::remove_file(lake.join("c=a")).unwrap();
    until(|| (log.cursor(&cursor_name("ds"), "firehose:ds", 0) == Some(2)).then_some(())).await;
    let found = files(&lake);
    let bodies: Vec<&[u8]> = found.values().map(Vec::as_slice).collect();
    assert_eq!(
        bodies,
        [
            b"{\"customer\":\"a\",\"n\":0}\n".as_slice(),
            b"{\"customer\":\"b\",\"n\":1}\n".as_slice(),
        ]
    );
    let (_, metrics) = view.metrics().into_iter().next().unwrap();
    assert_eq!(
        (metrics.objects_delivered, metrics.records_delivered),
        (2, 2)
    );
    view.shutdown();
    while_failing
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffers_upload_side_by_side_and_the_cursor_waits_for_the_first_in_flight() {
    let (stored, cursor) = one_partition_failing(2).await;
    // b's object is stored while a's upload is still retrying...
    assert_eq!(
        stored.values().map(Vec::as_slice).collect::<Vec<_>>(),
        [b"{\"customer\":\"b\",\"n\":1}\n".as_slice()]
    );
    // ...but record 0 is not in a stored object, so the cursor has not moved.
    assert_eq!(cursor, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_object_in_flight_buffers_upload_one_after_the_other() {
    let (stored, cursor) = one_partition_failing(1).await;
    assert!(stored.is_empty(), "{stored:?}");
    assert_eq!(cursor, None);
}
