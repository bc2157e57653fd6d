//! Prometheus metrics for every layer, through the `metrics` facade.
//!
//! Code that counts events (the engine's syncs and retention, HTTP requests, Kinesis puts and
//! reads, native connections, deliveries) emits them where they happen, with the facade's
//! macros or the helpers here; `strata serve` installs one Prometheus recorder per process
//! ([`install`]) and `GET /metrics` renders it ([`render`]). State that is cheaper to read
//! than to track (queue depths, bytes on disk, the commit thread's totals, delivery streams'
//! counters) is read from the views when a scrape comes and set as gauges and counters then.
//!
//! Without a recorder (unit tests) every macro is a no-op. Labels only ever carry names the
//! server knows (streams, queues, topics, operations it implements, error codes it sends),
//! never unchecked request text, so a client cannot grow the series without bound.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use metrics::{Counter, Histogram, counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::listener::http::HttpState;

/// Bucket bounds of every `*_seconds` histogram: 50 µs to 10 s.
const SECONDS_BUCKETS: [f64; 16] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 10.0,
];

/// Bucket bounds of the appends covered by one sync.
const COUNT_BUCKETS: [f64; 12] = [
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 4096.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's Prometheus recorder (once: a second server in the same process
/// shares it) and starts its upkeep, which drains histograms between scrapes.
pub fn install() -> Result<PrometheusHandle, String> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS)
        .and_then(|builder| {
            builder.set_buckets_for_metric(
                Matcher::Full("strata_log_appends_per_sync".into()),
                &COUNT_BUCKETS,
            )
        })
        .map_err(|error| error.to_string())?
        .build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        // Another recorder won a race (or was installed by someone else): use ours only if
        // it was ours.
        return HANDLE
            .get()
            .cloned()
            .ok_or_else(|| "a metrics recorder is already installed".to_owned());
    }
    let handle = HANDLE.get_or_init(|| handle).clone();
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// The metrics in the Prometheus text format, after reading the views' state; empty if no
/// recorder is installed.
pub fn render(state: &HttpState) -> String {
    let Some(handle) = HANDLE.get() else {
        return String::new();
    };
    collect(state);
    handle.render()
}

/// Reads what the views hold now into gauges and counters.
fn collect(state: &HttpState) {
    let log = state.streams.log();
    let commit = log.commit_counters();
    counter!("strata_log_commit_rounds_total").absolute(commit.rounds);
    counter!("strata_log_appends_total").absolute(commit.appends);
    counter!("strata_log_bytes_written_total").absolute(commit.bytes_written);
    counter!("strata_log_syncs_total").absolute(commit.syncs);
    gauge!("strata_log_commit_queue_depth").set(log.commit_queue_depth() as f64);
    gauge!("strata_log_open_segment_files").set(log.open_segment_files() as f64);
    for (stream, usage) in log.disk_usage() {
        gauge!("strata_log_segments", "stream" => stream.clone()).set(usage.segments as f64);
        gauge!("strata_log_bytes_on_disk", "stream" => stream).set(usage.bytes as f64);
    }

    for (stream, m) in state.delivery.metrics() {
        let label = || [("delivery_stream", stream.clone())];
        counter!("strata_delivery_records_in_total", &label()).absolute(m.records_in);
        counter!("strata_delivery_bytes_in_total", &label()).absolute(m.bytes_in);
        counter!("strata_delivery_objects_total", &label()).absolute(m.objects_delivered);
        counter!("strata_delivery_records_delivered_total", &label()).absolute(m.records_delivered);
        counter!("strata_delivery_bytes_delivered_total", &label()).absolute(m.bytes_delivered);
        counter!("strata_delivery_failures_total", &label()).absolute(m.failures);
        gauge!("strata_delivery_freshness_milliseconds", &label())
            .set(m.freshness_ms.max(0) as f64);
    }

    for name in state.queues.list("") {
        let Ok(info) = state.queues.info(&name) else {
            continue;
        };
        let label = || [("queue", name.clone())];
        gauge!("strata_queue_messages_visible", &label()).set(info.counts.visible as f64);
        gauge!("strata_queue_messages_in_flight", &label()).set(info.counts.in_flight as f64);
        gauge!("strata_queue_messages_delayed", &label()).set(info.counts.delayed as f64);
        let age = state
            .queues
            .oldest_sent_ms(&name)
            .map_or(0, |sent| log.now_ms().saturating_sub(sent).max(0));
        gauge!("strata_queue_oldest_message_age_seconds", &label()).set(age as f64 / 1000.0);
    }

    for topic in state.topics.list() {
        let subscriptions = state.topics.subscriptions(&topic).map_or(0, |s| s.len());
        gauge!("strata_topic_subscriptions", "topic" => topic).set(subscriptions as f64);
    }
}

/// Records a Kinesis put that committed: `records` records of `bytes` bytes of data into a
/// shard.
pub fn kinesis_records_in(stream: &str, shard: u32, records: usize, bytes: usize) {
    let series = shard_series(stream, shard);
    series.records_in.increment(records as u64);
    series.bytes_in.increment(bytes as u64);
}

/// The record and byte counters of one Kinesis shard.
struct ShardSeries {
    records_in: Counter,
    bytes_in: Counter,
    records_out: Counter,
    bytes_out: Counter,
}

/// The series of a stream's shard, registered on first use and kept, so a put or a read
/// costs a map lookup rather than building the series' labels and keys. A stream deleted
/// and created again under its name has the same labels, so it shares them, as Prometheus
/// would see it anyway.
fn shard_series(stream: &str, shard: u32) -> Arc<ShardSeries> {
    type ByShard = HashMap<String, HashMap<u32, Arc<ShardSeries>>>;
    static SERIES: OnceLock<RwLock<ByShard>> = OnceLock::new();
    let all = SERIES.get_or_init(RwLock::default);
    if let Some(found) = all
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(stream)
        .and_then(|shards| shards.get(&shard))
    {
        return found.clone();
    }
    let mut all = all.write().unwrap_or_else(|e| e.into_inner());
    all.entry(stream.to_owned())
        .or_default()
        .entry(shard)
        .or_insert_with(|| {
            let labels = [
                ("stream", stream.to_owned()),
                ("shard", crate::views::streams::sequence::shard_name(shard)),
            ];
            Arc::new(ShardSeries {
                records_in: counter!("strata_kinesis_records_in_total", &labels),
                bytes_in: counter!("strata_kinesis_bytes_in_total", &labels),
                records_out: counter!("strata_kinesis_records_out_total", &labels),
                bytes_out: counter!("strata_kinesis_bytes_out_total", &labels),
            })
        })
        .clone()
}

/// Records a Kinesis read (GetRecords, or an enhanced fan-out event for `consumer`, its ARN)
/// and how far behind the shard's tip it left the reader.
pub fn kinesis_records_out(
    stream: &str,
    shard: u32,
    records: &[storage::Record],
    consumer: &str,
    millis_behind: i64,
) {
    if !records.is_empty() {
        let series = shard_series(stream, shard);
        let bytes: usize = records.iter().map(|record| record.data.len()).sum();
        series.records_out.increment(records.len() as u64);
        series.bytes_out.increment(bytes as u64);
    }
    let shard = crate::views::streams::sequence::shard_name(shard);
    let consumer = consumer_name(consumer).to_owned();
    lock(&CONSUMER_LAGS).insert((stream.to_owned(), consumer.clone()), millis_behind);
    gauge!(
        "strata_kinesis_millis_behind_latest",
        "stream" => stream.to_owned(),
        "shard" => shard,
        "consumer" => consumer
    )
    .set(millis_behind as f64);
}

/// The last MillisBehindLatest of each (stream, consumer), for the console: the largest over
/// the shards would need every shard's; the last read's is what a consumer last saw.
static CONSUMER_LAGS: Mutex<BTreeMap<(String, String), i64>> = Mutex::new(BTreeMap::new());

/// Deliveries per (topic, subscription id, result), for the console.
static TOPIC_DELIVERIES: Mutex<BTreeMap<(String, String, &'static str), u64>> =
    Mutex::new(BTreeMap::new());

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The last MillisBehindLatest each (stream, consumer) was answered with; `GetRecords` for
/// shared-throughput readers.
pub fn consumer_lags() -> BTreeMap<(String, String), i64> {
    lock(&CONSUMER_LAGS).clone()
}

/// Deliveries so far per (topic, subscription id, `delivered` or `failed`).
pub fn topic_delivery_counts() -> BTreeMap<(String, String, &'static str), u64> {
    lock(&TOPIC_DELIVERIES).clone()
}

/// A consumer's name from its ARN (`…/consumer/<name>:<created>`); anything else as it is.
fn consumer_name(arn: &str) -> &str {
    match arn.rsplit_once("/consumer/") {
        Some((_, rest)) => rest.rsplit_once(':').map_or(rest, |(name, _)| name),
        None => arn,
    }
}

/// Counts `count` deliveries of a topic's messages to a subscription (by id) that ended as
/// `result`: `delivered`, or `failed` (refused, or out of retries).
pub fn topic_deliveries(topic: &str, subscription: &str, result: &'static str, count: usize) {
    if count == 0 {
        return;
    }
    *lock(&TOPIC_DELIVERIES)
        .entry((topic.to_owned(), subscription.to_owned(), result))
        .or_default() += count as u64;
    counter!(
        "strata_topic_deliveries_total",
        "topic" => topic.to_owned(),
        "subscription" => subscription.to_owned(),
        "result" => result
    )
    .increment(count as u64);
}

/// Counts a retry scheduled for a delivery to an HTTP/S subscription.
pub fn topic_retry(topic: &str, subscription: &str) {
    counter!(
        "strata_topic_delivery_retries_total",
        "topic" => topic.to_owned(),
        "subscription" => subscription.to_owned()
    )
    .increment(1);
}

/// Records one answered HTTP request: its service, operation, how long it took and, if it
/// failed, the error code it was answered with.
pub fn http_request(
    service: &'static str,
    operation: &str,
    error: Option<&'static str>,
    elapsed: Duration,
) {
    let operation = operation_label(operation, error);
    let series = request_series(service, operation);
    series.requests.increment(1);
    series.duration.record(elapsed.as_secs_f64());
    if let Some(code) = error {
        counter!(
            "strata_http_errors_total",
            "service" => service,
            "operation" => operation.to_owned(),
            "code" => code
        )
        .increment(1);
    }
}

/// The request counter and latency histogram of one service and operation.
struct RequestSeries {
    requests: Counter,
    duration: Histogram,
}

/// The series of `service` and `operation`, registered on first use and kept, so a request
/// costs a map lookup rather than building the series' key.
fn request_series(service: &'static str, operation: &str) -> Arc<RequestSeries> {
    type BySeries = HashMap<&'static str, HashMap<String, Arc<RequestSeries>>>;
    static SERIES: OnceLock<RwLock<BySeries>> = OnceLock::new();
    let all = SERIES.get_or_init(RwLock::default);
    if let Some(found) = all
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(service)
        .and_then(|operations| operations.get(operation))
    {
        return found.clone();
    }
    let mut all = all.write().unwrap_or_else(|e| e.into_inner());
    all.entry(service)
        .or_default()
        .entry(operation.to_owned())
        .or_insert_with(|| {
            let labels = [
                ("service", service.to_owned()),
                ("operation", operation.to_owned()),
            ];
            Arc::new(RequestSeries {
                requests: counter!("strata_http_requests_total", &labels),
                duration: histogram!("strata_http_request_duration_seconds", &labels),
            })
        })
        .clone()
}

/// An operation's name as a label: `unknown` for operations the server does not implement
/// (their names are the client's text) and for anything that is not a plain name.
fn operation_label<'a>(operation: &'a str, error: Option<&'static str>) -> &'a str {
    let unknown = matches!(
        error,
        Some("UnknownOperationException" | "InvalidAction" | "MissingAction")
    ) || operation.is_empty()
        || operation.len() > 64
        || !operation.bytes().all(|byte| byte.is_ascii_alphanumeric());
    if unknown { "unknown" } else { operation }
}

#[cfg(test)]
mod tests {
    use super::{consumer_name, operation_label};

    #[test]
    fn consumer_labels_are_names() {
        assert_eq!(
            consumer_name("arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c1:1700000000"),
            "c1"
        );
        assert_eq!(consumer_name("GetRecords"), "GetRecords");
    }

    #[test]
    fn operation_labels_never_carry_unchecked_text() {
        assert_eq!(operation_label("PutRecord", None), "PutRecord");
        assert_eq!(
            operation_label("PutRecord", Some("ValidationException")),
            "PutRecord"
        );
        assert_eq!(
            operation_label("Anything", Some("UnknownOperationException")),
            "unknown"
        );
        assert_eq!(operation_label("a b\n", None), "unknown");
        assert_eq!(operation_label(&"x".repeat(65), None), "unknown");
    }
}
