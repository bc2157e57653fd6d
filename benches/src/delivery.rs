//! `strata-bench delivery`: sustained throughput of a Firehose delivery stream, from
//! PutRecordBatch to objects in the store.
//!
//! - A `strata serve` is spawned on a temporary directory with a `[delivery]` configuration
//!   that maps the bucket to a local directory (default) or points at an S3-compatible
//!   endpoint (`--s3-endpoint`, the bucket must exist there).
//! - One DirectPut delivery stream is created with `--compression`, `--buffer-mib` and
//!   `--buffer-secs`.
//! - *Put*: `--connections` tasks, each on its own keep-alive HTTP/1.1 connection, send
//!   PutRecordBatch requests of `--batch-records` records of `--record-bytes` one after the
//!   other for `--duration-secs`. Records the answer lists as failed are counted, not retried.
//!   Records are random lowercase letters and digits (one batch, sent again and again).
//! - *Drain*: after the last acknowledgement the benchmark polls the server's `/metrics` until
//!   the delivery stream reports every acknowledged record delivered (at most `--drain-secs`),
//!   then, with a local directory, reads the objects back and counts them and their bytes.
//!
//! Reported: put throughput (acknowledged records over the put phase), delivery throughput
//! (acknowledged records over the time from the first put to the last record delivered), the
//! time from the last acknowledgement to fully delivered, objects and stored bytes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::json;

use crate::kinesis::wire::{Connection, Endpoint};
use crate::plot::{Figure, Role, Sampler, Timeline};
use crate::report::{self, Align, Latency, Live, Machine, Table, Throughput, decimal, group, size};
use crate::spawn::StrataServer;
use crate::storage::BoxError;

/// The bucket objects go to.
const BUCKET: &str = "strata-bench";
/// The delivery stream's name.
const DELIVERY_STREAM: &str = "bench";
/// PutRecordBatch's data limit per request (4 MiB).
const BATCH_PAYLOAD_BYTES_MAX: u64 = 4 * 1024 * 1024;
/// How often the server's delivery counters are read during the put phase, for `--plot`.
const DELIVERED_SAMPLE_INTERVAL: Duration = Duration::from_millis(250);
/// Firehose's record limit (1,000 KiB).
const RECORD_BYTES_MAX: u64 = 1_024_000;

/// Options of `strata-bench delivery`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Record payload size (bytes, or with a unit: 1KiB).
    #[arg(long, default_value = "1024", value_parser = crate::args::parse_record_size)]
    pub record_bytes: u64,
    /// Records per PutRecordBatch request (fewer if they would pass 4 MiB).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=500))]
    pub batch_records: u32,
    /// PutRecordBatch connections, each with one request in flight.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub connections: u32,
    /// How long producers send, in seconds (fractions allowed).
    #[arg(long, default_value_t = 5.0, value_parser = crate::args::parse_secs)]
    pub duration_secs: f64,
    /// CompressionFormat: UNCOMPRESSED, GZIP, ZSTD, Snappy, HADOOP_SNAPPY or ZIP.
    #[arg(long, default_value = "UNCOMPRESSED")]
    pub compression: String,
    /// BufferingHints.SizeInMBs (1–128).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=128))]
    pub buffer_mib: u32,
    /// BufferingHints.IntervalInSeconds (0–900).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=900))]
    pub buffer_secs: u32,
    /// Longest wait for everything acknowledged to be delivered after the put phase.
    #[arg(long, default_value_t = 120.0, value_parser = crate::args::parse_secs)]
    pub drain_secs: f64,
    /// Deliver to this S3-compatible endpoint (bucket `strata-bench` must exist) instead of a
    /// local directory.
    #[arg(long)]
    pub s3_endpoint: Option<String>,
    /// Access key for --s3-endpoint.
    #[arg(long, default_value = "test")]
    pub s3_access_key_id: String,
    /// Secret key for --s3-endpoint.
    #[arg(long, default_value = "test")]
    pub s3_secret_access_key: String,
    /// Durability of the spawned server: always, interval:<ms> or never.
    #[arg(long, default_value = "interval:5")]
    pub fsync: String,
    /// Write a JSON report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also draw records acknowledged and delivered over time and the PutRecordBatch latency
    /// distribution as SVG to this file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

/// The settings a run used.
#[derive(Clone, Debug, Serialize)]
pub struct Config {
    pub record_bytes: u64,
    pub batch_records: u32,
    pub connections: u32,
    pub duration_secs: f64,
    pub compression: String,
    pub buffer_mib: u32,
    pub buffer_secs: u32,
    pub fsync: String,
    /// `directory` or the S3 endpoint.
    pub store: String,
}

/// What a run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub benchmark: &'static str,
    pub machine: Machine,
    pub config: Config,
    /// Acknowledged records over the put phase.
    pub put: Throughput,
    /// Per PutRecordBatch request answered.
    pub put_latency: Latency,
    /// Records the answers listed as failed.
    pub put_failed_records: u64,
    /// Acknowledged records over the time from the first put to the last delivery.
    pub delivered: Throughput,
    /// From the last acknowledgement to every acknowledged record delivered, in seconds.
    pub drain_secs: f64,
    /// Objects stored (from the server's counters).
    pub objects: u64,
    /// Bytes stored (after compression, from the server's counters).
    pub stored_bytes: u64,
    /// Objects and bytes read back from the local directory (None with --s3-endpoint).
    pub read_back: Option<ReadBack>,
}

/// The objects found in the local directory.
#[derive(Clone, Debug, Serialize)]
pub struct ReadBack {
    pub objects: u64,
    pub bytes: u64,
}

/// Runs the benchmark.
pub fn run(args: &Args) -> Result<Report, BoxError> {
    if args.record_bytes == 0 || args.record_bytes > RECORD_BYTES_MAX {
        return Err(format!("--record-bytes must be 1..={RECORD_BYTES_MAX}").into());
    }
    let temp = tempfile::tempdir()?;
    let data_dir = temp.path().join("data");
    let lake = temp.path().join("lake");
    std::fs::create_dir_all(&data_dir)?;
    std::fs::create_dir_all(&lake)?;
    let config_path = temp.path().join("strata.toml");
    let (config_text, store) = match &args.s3_endpoint {
        Some(endpoint) => (
            format!(
                "[delivery]\ns3_endpoint = {}\ns3_access_key_id = {}\ns3_secret_access_key = {}\n",
                toml_string(endpoint),
                toml_string(&args.s3_access_key_id),
                toml_string(&args.s3_secret_access_key)
            ),
            endpoint.clone(),
        ),
        None => (
            format!(
                "[delivery.buckets.{BUCKET}]\ndirectory = {}\n",
                toml_string(&lake.to_string_lossy())
            ),
            "directory".to_owned(),
        ),
    };
    std::fs::write(&config_path, config_text)?;
    let server = StrataServer::start_with_config(&data_dir, &args.fsync, Some(&config_path))?;
    eprintln!("strata serve (pid {}) at {}", server.pid(), server.http);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let measured = runtime.block_on(measure(args, server.http));
    server.stop()?;
    let measured = measured?;
    let read_back = args.s3_endpoint.is_none().then(|| read_back(&lake));
    let acked_bytes = measured.acked * args.record_bytes;
    Ok(Report {
        benchmark: "delivery",
        machine: Machine::probe(temp.path()),
        config: Config {
            record_bytes: args.record_bytes,
            batch_records: batch_records(args),
            connections: args.connections,
            duration_secs: args.duration_secs,
            compression: args.compression.clone(),
            buffer_mib: args.buffer_mib,
            buffer_secs: args.buffer_secs,
            fsync: args.fsync.clone(),
            store,
        },
        put: Throughput::new(measured.acked, acked_bytes, measured.put_elapsed)
            .with_timeline(measured.put_timeline),
        put_latency: Latency::from_histogram(&measured.put_latency),
        put_failed_records: measured.failed,
        delivered: Throughput::new(measured.acked, acked_bytes, measured.delivered_elapsed)
            .with_timeline(measured.delivered_timeline),
        drain_secs: measured.drain.as_secs_f64(),
        objects: measured.objects,
        stored_bytes: measured.stored_bytes,
        read_back,
    })
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn batch_records(args: &Args) -> u32 {
    let fit = (BATCH_PAYLOAD_BYTES_MAX / args.record_bytes).max(1);
    u32::try_from(fit)
        .unwrap_or(u32::MAX)
        .min(args.batch_records)
}

struct Measured {
    acked: u64,
    failed: u64,
    put_latency: Histogram<u64>,
    put_timeline: Timeline,
    /// Records delivered over time, from the server's counters (the records' bytes).
    delivered_timeline: Timeline,
    put_elapsed: Duration,
    delivered_elapsed: Duration,
    drain: Duration,
    objects: u64,
    stored_bytes: u64,
}

async fn measure(args: &Args, http: SocketAddr) -> Result<Measured, BoxError> {
    let endpoint = Endpoint::at(http)?;
    let mut admin = Connection::open_firehose(&endpoint).await?;
    let create = json!({
        "DeliveryStreamName": DELIVERY_STREAM,
        "DeliveryStreamType": "DirectPut",
        "ExtendedS3DestinationConfiguration": {
            "RoleARN": "arn:aws:iam::000000000000:role/bench",
            "BucketARN": format!("arn:aws:s3:::{BUCKET}"),
            "Prefix": "bench/",
            "ErrorOutputPrefix": "bench-errors/",
            "CompressionFormat": args.compression,
            "BufferingHints": {"SizeInMBs": args.buffer_mib, "IntervalInSeconds": args.buffer_secs},
        },
    });
    admin
        .call(
            "CreateDeliveryStream",
            Bytes::from(serde_json::to_vec(&create)?),
        )
        .await??;

    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let records = (0..batch_records(args))
        .map(|_| {
            let data = text_record(&mut seed, usize::try_from(args.record_bytes)?);
            Ok(json!({ "Data": STANDARD.encode(data) }))
        })
        .collect::<Result<Vec<serde_json::Value>, BoxError>>()?;
    let body = Bytes::from(serde_json::to_vec(&json!({
        "DeliveryStreamName": DELIVERY_STREAM,
        "Records": records,
    }))?);
    let acked = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let duration = Duration::from_secs_f64(args.duration_secs);
    let record_bytes = args.record_bytes;
    let put_sampler = {
        let acked = Arc::clone(&acked);
        Sampler::start(move || {
            let records = acked.load(Ordering::Relaxed);
            (records, records * record_bytes)
        })
    };
    let start = Instant::now();
    let deadline = start + duration;
    let mut producers = Vec::new();
    for _ in 0..args.connections {
        let mut connection = Connection::open_firehose(&endpoint).await?;
        let (body, acked, failed) = (body.clone(), acked.clone(), failed.clone());
        let count = u64::from(batch_records(args));
        producers.push(tokio::spawn(async move {
            let mut last_ack = Instant::now();
            let mut latency = report::latency_histogram();
            while Instant::now() < deadline {
                let sent = Instant::now();
                match connection.call("PutRecordBatch", body.clone()).await? {
                    Ok(answer) => {
                        report::record_latency(&mut latency, sent.elapsed());
                        let failures = failed_put_count(&answer)?;
                        acked.fetch_add(count - failures.min(count), Ordering::Relaxed);
                        failed.fetch_add(failures, Ordering::Relaxed);
                        last_ack = Instant::now();
                    }
                    Err(error) if error.retryable() => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err(error) => return Err(BoxError::from(error)),
                }
            }
            Ok::<_, BoxError>((last_ack, latency))
        }));
    }
    // Delivered records over time, read from the server's counters a few times a second.
    let mut delivered = Timeline::default();
    let sample_delivered = async |delivered: &mut Timeline| {
        let counters = tokio::task::spawn_blocking(move || delivery_counters(http)).await??;
        delivered.push(
            start.elapsed().as_secs_f64(),
            counters.records,
            counters.records * record_bytes,
        );
        Ok::<_, BoxError>(counters)
    };
    let live = Live::new("put:");
    let mut progress = tokio::time::interval(Duration::from_millis(50));
    let mut shown = Instant::now();
    let mut sampled = Instant::now();
    while producers.iter().any(|p| !p.is_finished()) {
        progress.tick().await;
        if sampled.elapsed() >= DELIVERED_SAMPLE_INTERVAL {
            sampled = Instant::now();
            // A missed reading leaves a wider interval, nothing more.
            let _ = sample_delivered(&mut delivered).await;
        }
        if shown.elapsed() < Duration::from_secs(1) {
            continue;
        }
        shown = Instant::now();
        let so_far = acked.load(Ordering::Relaxed);
        live.show(&format!(
            "{} records, {} MB/s",
            group(so_far),
            decimal(
                (so_far * args.record_bytes) as f64
                    / report::MB
                    / start.elapsed().as_secs_f64().max(1e-9)
            )
        ));
    }
    drop(live);
    // The put phase ends at the last acknowledgement of any producer.
    let mut last_ack = start;
    let mut put_latency = report::latency_histogram();
    for producer in producers {
        let (last, latency) = producer.await??;
        last_ack = last_ack.max(last);
        put_latency.add(&latency)?;
    }
    let put_timeline = put_sampler.finish();
    let acked = acked.load(Ordering::Relaxed);
    eprintln!("put: {} records acknowledged; draining", group(acked));

    let drain_deadline = last_ack + Duration::from_secs_f64(args.drain_secs);
    let counters = loop {
        let counters = sample_delivered(&mut delivered).await?;
        if counters.records >= acked {
            break counters;
        }
        if Instant::now() >= drain_deadline {
            return Err(format!(
                "only {} of {acked} acknowledged records were delivered within {} s",
                counters.records, args.drain_secs
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let delivered_at = Instant::now();
    Ok(Measured {
        acked,
        failed: failed.load(Ordering::Relaxed),
        put_latency,
        put_timeline,
        delivered_timeline: delivered,
        put_elapsed: last_ack.duration_since(start),
        delivered_elapsed: delivered_at.duration_since(start),
        drain: delivered_at.duration_since(last_ack),
        objects: counters.objects,
        stored_bytes: counters.bytes,
    })
}

/// A record of `bytes` random lowercase letters and digits (xorshift from `seed`): text
/// that compresses about as well as typical log lines, unlike a repeated byte.
fn text_record(seed: &mut u64, bytes: usize) -> Vec<u8> {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..bytes)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            ALPHABET
                .get(usize::try_from(*seed % 36).unwrap_or(0))
                .copied()
                .unwrap_or(b'a')
        })
        .collect()
}

/// `FailedPutCount` of a PutRecordBatch answer.
fn failed_put_count(answer: &[u8]) -> Result<u64, BoxError> {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "FailedPutCount")]
        failed_put_count: u64,
    }
    Ok(serde_json::from_slice::<Answer>(answer)?.failed_put_count)
}

/// The delivery stream's counters from `/metrics`.
#[derive(Default)]
struct Counters {
    records: u64,
    objects: u64,
    bytes: u64,
}

fn delivery_counters(http: SocketAddr) -> Result<Counters, BoxError> {
    let mut stream = TcpStream::connect_timeout(&http, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {http}\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    let mut counters = Counters::default();
    let label = format!("delivery_stream=\"{DELIVERY_STREAM}\"");
    for line in text.lines().filter(|line| line.contains(&label)) {
        let value = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        if line.starts_with("strata_delivery_records_delivered_total") {
            counters.records = value;
        } else if line.starts_with("strata_delivery_objects_total") {
            counters.objects = value;
        } else if line.starts_with("strata_delivery_bytes_delivered_total") {
            counters.bytes = value;
        }
    }
    Ok(counters)
}

/// Counts the files under `dir` and their bytes.
fn read_back(dir: &Path) -> ReadBack {
    let mut found = ReadBack {
        objects: 0,
        bytes: 0,
    };
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => pending.push(entry.path()),
                Ok(meta) => {
                    found.objects += 1;
                    found.bytes += meta.len();
                }
                Err(_) => {}
            }
        }
    }
    found
}

/// The run as a figure: records acknowledged and records delivered over time (the second
/// from the server's counters, read four times a second, so it shows how delivery trails the
/// puts and how buffers flush), and PutRecordBatch latency. There is no baseline server.
pub fn figure(report: &Report) -> Figure {
    let config = &report.config;
    let mut figure = Figure::new(
        format!(
            "strata-bench delivery: {} connections x PutRecordBatch of {} x {}, {}, buffers {} MiB / {} s",
            config.connections,
            config.batch_records,
            size(config.record_bytes),
            config.compression,
            config.buffer_mib,
            config.buffer_secs
        ),
        format!(
            "{}; fsync={}, store: {}",
            report.machine.describe(),
            config.fsync,
            config.store
        ),
    );
    figure.record_bytes = Some(config.record_bytes);
    figure.line("put: acknowledged", Role::Measured, 0, &report.put.timeline);
    figure.line(
        "delivered to the store",
        Role::Measured,
        1,
        &report.delivered.timeline,
    );
    figure.curve(
        "PutRecordBatch request",
        Role::Measured,
        0,
        &report.put_latency.curve,
    );
    figure
}

/// The report as text.
pub fn render(report: &Report) -> String {
    let config = &report.config;
    let mut out = format!(
        "strata-bench delivery: {} connections × PutRecordBatch of {} × {}, {} s, \
         {} buffers of {} MiB / {} s, store: {}, fsync {}\n\n",
        config.connections,
        config.batch_records,
        size(config.record_bytes),
        config.duration_secs,
        config.compression,
        config.buffer_mib,
        config.buffer_secs,
        config.store,
        config.fsync,
    );
    let mut table = Table::new(&[
        ("phase", Align::Left),
        ("records", Align::Right),
        ("records/s", Align::Right),
        ("MB/s", Align::Right),
        ("seconds", Align::Right),
    ]);
    for (phase, throughput) in [
        ("put (acknowledged)", &report.put),
        ("delivered (first put → last object)", &report.delivered),
    ] {
        table.row(vec![
            phase.to_owned(),
            group(throughput.records),
            report::rate(throughput.records_per_s),
            decimal(throughput.mb_per_s),
            format!("{:.2}", throughput.secs),
        ]);
    }
    out.push_str(&table.render());
    let latency = &report.put_latency;
    out.push_str(&format!(
        "PutRecordBatch latency p50 / p99 / p99.9 / max: {} / {} / {} / {} µs\n",
        group(latency.p50_us),
        group(latency.p99_us),
        group(latency.p999_us),
        group(latency.max_us),
    ));
    out.push_str(&format!(
        "\nlast ack → all delivered: {:.2} s; {} objects, {} stored ({} of the records' bytes); \
         {} records failed at put\n",
        report.drain_secs,
        group(report.objects),
        size_mb(report.stored_bytes),
        percent(report.stored_bytes, report.put.bytes),
        group(report.put_failed_records),
    ));
    if let Some(read_back) = &report.read_back {
        out.push_str(&format!(
            "read back from the directory: {} objects, {}\n",
            group(read_back.objects),
            size_mb(read_back.bytes)
        ));
    }
    out
}

fn size_mb(bytes: u64) -> String {
    format!("{} MB", decimal(bytes as f64 / report::MB))
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}
