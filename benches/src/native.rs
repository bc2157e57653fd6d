//! `strata-bench produce | consume | e2e`: a strata server over its native protocol.
//!
//! - *produce*: `--producers` tasks, each with its own connection and [`Producer`], queue
//!   records as fast as the producer's queue takes them for the duration. Every record's
//!   latency runs from the moment it is handed to the producer to its acknowledgement.
//! - *consume*: one [`ShardConsumer`] per shard reads from the trim horizon until a fetch
//!   comes back empty. A missing stream is created and filled by a produce phase first.
//! - *e2e*: one consumer per shard tails from `Latest` while producers run; every record
//!   carries its send time (nanoseconds since a shared `Instant`, little-endian, in its first
//!   8 bytes), so the consumer measures produce-to-receive latency.
//!
//! With `--spawn-server` the benchmark measures the raw disk under a temporary directory,
//! starts `strata serve` on it, and reports produce MB/s against the disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use client::{
    BatchProducer, BatchProducerConfig, Client, ErrorCode, Producer, ProducerConfig, ShardConsumer,
    StartPosition,
};
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::baseline::{self, Buffered, Synced};
use crate::cpu::{CpuSpan, CpuUse};
use crate::pin::{self, Pinning};
use crate::plot::{self, Figure, Role, Sampler};
use crate::report::{
    self, Align, Latency, Live, Machine, Table, Throughput, decimal, group, rate, ratio, size,
};
use crate::spawn::StrataServer;
use crate::storage::BoxError;

/// Partition keys cycled through by every producer.
const KEYS: usize = 1024;
/// Bytes of the send timestamp at the start of every e2e record.
const STAMP_BYTES: usize = 8;
/// How long consumers may take to catch up once producers are done.
const CATCH_UP: Duration = Duration::from_secs(30);

/// Which native workload to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Produce,
    Consume,
    E2e,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Self::Produce => "produce",
            Self::Consume => "consume",
            Self::E2e => "e2e",
        }
    }
}

/// Options of `strata-bench produce | consume | e2e`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Native protocol address of the server (ignored with --spawn-server).
    #[arg(long, default_value = "127.0.0.1:4567")]
    pub addr: String,
    /// Stream to use; created if missing.
    #[arg(long, default_value = "bench")]
    pub stream: String,
    /// Shards of the stream when it is created.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub shards: u32,
    #[command(flatten)]
    pub load: crate::args::Load,
    /// Producer linger, in milliseconds.
    #[arg(long, default_value_t = 5)]
    pub linger_ms: u64,
    /// Producer batch size limit (bytes, or with a unit).
    #[arg(long, default_value = "1MiB", value_parser = report::parse_size)]
    pub batch_bytes: u64,
    /// Offered load in records/s over all producers, for latency at a given rate; 0 sends
    /// as fast as the server acknowledges (the throughput figure).
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Which producer: `batch` encodes records into per-shard `ProduceBatch` requests
    /// (`BatchProducer`); `record` queues them one at a time into `Produce` requests
    /// (`Producer`).
    #[arg(long, value_enum, default_value_t = ClientKind::Batch)]
    pub client: ClientKind,
    /// Produce requests in flight per producer.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub in_flight: u32,
    /// Records queued or in flight per producer (acknowledged records not yet counted by the
    /// benchmark included, so a busy load generator slows the producers down rather than
    /// piling up acknowledgements and inflating their latency).
    #[arg(long, default_value_t = 32_768, value_parser = clap::value_parser!(u32).range(1..))]
    pub queue_records: u32,
    /// Start `strata serve` (next to this executable) on a temporary directory, and stop it
    /// at the end.
    #[arg(long)]
    pub spawn_server: bool,
    /// Durability of the spawned server: always, interval:<ms> or never.
    #[arg(long, default_value = "interval:5")]
    pub fsync: String,
    /// Volume of the raw-disk baseline measured with --spawn-server, in MiB; it is measured
    /// before and after the run, and produce is compared with the mean of the two.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub baseline_mib: u64,
    /// Pin the spawned server (and the raw-disk baseline) to these CPUs, e.g. `0`, and the
    /// load generator to all the others.
    #[arg(long, value_parser = crate::pin::parse_cpus)]
    pub pin_server: Option<crate::pin::CpuList>,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also draw throughput over time and the latency distribution, beside the raw disk, as
    /// SVG to this file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

/// The producer a benchmark drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientKind {
    Batch,
    Record,
}

/// Everything one run found.
#[derive(Debug, Serialize)]
pub struct Report {
    pub benchmark: &'static str,
    pub machine: Machine,
    pub config: Config,
    /// The raw disk under the spawned server's directory.
    pub baseline: Option<Baseline>,
    /// CPUs of the server and of the load generator, when pinned.
    pub pinning: Option<Pinning>,
    pub produce: Option<ProduceResult>,
    pub consume: Option<ConsumeResult>,
    pub e2e: Option<E2eResult>,
}

#[derive(Debug, Serialize)]
pub struct Config {
    pub addr: String,
    pub spawned_server: bool,
    /// The spawned server's durability; `None` for a server started elsewhere.
    pub fsync: Option<String>,
    pub stream: String,
    pub shards: u32,
    pub record_bytes: u64,
    pub producers: u32,
    pub duration_secs: f64,
    pub linger_ms: u64,
    pub batch_bytes: u64,
    pub in_flight: u32,
    pub queue_records: u32,
    /// Offered records/s; 0 for as fast as acknowledged.
    pub rate: u64,
    pub client: ClientKind,
}

#[derive(Debug, Serialize)]
pub struct Baseline {
    /// `--baseline-mib`, measured just before the run.
    pub buffered: Buffered,
    /// As many bytes as the run's producers wrote (at least 256 MiB, at most 4 GiB), measured
    /// just after the run on the same directory once the server's data is gone: the same
    /// volume under the same conditions, which is what produce is compared with. A short
    /// buffered write can run far faster than the disk sustains (the kernel, or a virtual
    /// machine's memory, absorbs a burst), so the volume matters.
    pub buffered_after: Option<Buffered>,
    /// Measured for `fsync = always` only.
    pub synced: Option<Synced>,
}

impl Baseline {
    /// The buffered figure produce is compared with: the same-volume measurement after the
    /// run when there is one, else the one before.
    pub fn buffered_mb_per_s(&self) -> f64 {
        self.buffered_after
            .as_ref()
            .map_or(self.buffered.mb_per_s, |after| after.mb_per_s)
    }
}

/// The volume of the raw baseline after a run whose producers wrote `bytes`.
fn same_volume(bytes: u64) -> u64 {
    bytes.clamp(256 * 1024 * 1024, 4 * 1024 * 1024 * 1024)
}

/// Producers' results.
#[derive(Debug, Serialize)]
pub struct ProduceResult {
    /// Records and payload bytes acknowledged, over the time from the first send to the last
    /// acknowledgement.
    pub throughput: Throughput,
    /// From handing a record to the producer to its acknowledgement.
    pub latency: Latency,
    /// `Produce` requests sent.
    pub requests: u64,
    /// Records whose acknowledgement was an error.
    pub errors: u64,
    pub first_error: Option<String>,
    /// Payload MB/s over the buffered raw-disk baseline of the same volume, after the run.
    pub ratio_to_raw_buffered: Option<f64>,
    /// Payload MB/s over the write+fdatasync raw-disk baseline (`fsync = always`).
    pub ratio_to_raw_synced: Option<f64>,
    /// CPU the server and this benchmark used while producing.
    pub cpu: CpuUse,
}

/// A full read of the stream.
#[derive(Debug, Serialize)]
pub struct ConsumeResult {
    pub shards: usize,
    /// Fetch requests made.
    pub fetches: u64,
    pub throughput: Throughput,
    /// Sum of one byte of every record, so the reads cannot be skipped.
    pub checksum: u64,
}

/// Produce-to-receive latency.
#[derive(Debug, Serialize)]
pub struct E2eResult {
    /// Records the tailing consumers received.
    pub received: u64,
    pub throughput: Throughput,
    pub latency: Latency,
}

/// Records and payload bytes done so far, for the live progress line.
#[derive(Default)]
struct Counters {
    records: AtomicU64,
    bytes: AtomicU64,
}

impl Counters {
    fn add(&self, records: u64, bytes: u64) {
        self.records.fetch_add(records, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

impl Counters {
    /// Records and bytes so far.
    fn read(&self) -> (u64, u64) {
        (
            self.records.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }

    /// Samples these counters for `--plot` until the sampler is finished.
    fn sample(self: &Arc<Self>) -> Sampler {
        let counters = Arc::clone(self);
        Sampler::start(move || counters.read())
    }
}

/// Shows `label` progress once per second until dropped.
struct Ticker(tokio::task::JoinHandle<()>);

impl Ticker {
    fn start(label: &'static str, counters: Arc<Counters>) -> Self {
        Self(tokio::spawn(async move {
            let live = Live::new(label);
            let started = Instant::now();
            let mut interval = tokio::time::interval(Duration::from_secs(1));
            interval.tick().await;
            let (mut records, mut bytes) = (0, 0);
            loop {
                interval.tick().await;
                let now_records = counters.records.load(Ordering::Relaxed);
                let now_bytes = counters.bytes.load(Ordering::Relaxed);
                live.show(&format!(
                    "{:>5.1}s: {} rec/s, {} MB/s",
                    started.elapsed().as_secs_f64(),
                    group(now_records - records),
                    decimal((now_bytes - bytes) as f64 / report::MB),
                ));
                (records, bytes) = (now_records, now_bytes);
            }
        }))
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `mode`.
pub fn run(mode: Mode, args: &Args) -> Result<Report, BoxError> {
    if mode == Mode::E2e && args.load.record_bytes < STAMP_BYTES as u64 {
        return Err(format!("e2e needs --record-bytes of at least {STAMP_BYTES}").into());
    }
    let temp = tempfile::Builder::new()
        .prefix("strata-bench-native-")
        .tempdir_in(".")?;
    let pinning = match &args.pin_server {
        Some(cpus) => Some(Pinning::split(&cpus.0)?),
        None => None,
    };
    let mut baseline = None;
    let mut server = None;
    let mut addr = args.addr.clone();
    let baseline_file = temp.path().join("baseline.dat");
    let baseline_bytes = args.baseline_mib * 1024 * 1024;
    if args.spawn_server {
        eprintln!("raw disk baseline ({} MiB) ...", args.baseline_mib);
        let (buffered, synced) = pin::on_server(pinning.as_ref(), || {
            let buffered = baseline::buffered(&baseline_file, baseline_bytes)?;
            let synced = if args.fsync == "always" {
                Some(baseline::synced(
                    &baseline_file,
                    (args.baseline_mib / 32).max(1) * 1024 * 1024,
                )?)
            } else {
                None
            };
            Ok::<_, std::io::Error>((buffered, synced))
        })??;
        eprintln!(
            "  buffered {} MB/s{}",
            decimal(buffered.mb_per_s),
            synced.as_ref().map_or(String::new(), |s| format!(
                ", write+fdatasync {} MB/s",
                decimal(s.mb_per_s)
            ))
        );
        baseline = Some(Baseline {
            buffered,
            buffered_after: None,
            synced,
        });
        let data = temp.path().join("data");
        std::fs::create_dir_all(&data)?;
        let started =
            pin::on_server(pinning.as_ref(), || StrataServer::start(&data, &args.fsync))??;
        addr = started.native.to_string();
        eprintln!(
            "strata serve (fsync={}) listening on {addr}{}",
            args.fsync,
            pinning.as_ref().map_or(String::new(), |p| format!(
                ", on CPUs {:?}; load generator on {:?}",
                p.server, p.client
            ))
        );
        server = Some(started);
    } else if let Some(pinning) = &pinning {
        pinning.to_client()?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let server_pid = server.as_ref().map(StrataServer::pid);
    let outcome = runtime.block_on(workload(mode, &addr, args, server_pid));
    drop(runtime);
    if let Some(server) = server {
        server.stop()?;
        // The server's data goes first, so the second baseline has the same room.
        let _ = std::fs::remove_dir_all(temp.path().join("data"));
        if let Some(baseline) = baseline.as_mut() {
            let written = match &outcome {
                Ok((Some(produce), _, _)) => produce.throughput.bytes,
                _ => baseline_bytes,
            };
            let volume = same_volume(written);
            eprintln!(
                "raw disk baseline again, the run's volume ({} MiB) ...",
                volume / (1024 * 1024)
            );
            let after = pin::on_server(pinning.as_ref(), || {
                baseline::buffered(&baseline_file, volume)
            })??;
            eprintln!("  buffered {} MB/s", decimal(after.mb_per_s));
            baseline.buffered_after = Some(after);
        }
    }
    let (mut produce, consume, e2e) = outcome?;
    if let (Some(produce), Some(baseline)) = (produce.as_mut(), baseline.as_ref()) {
        let mb = produce.throughput.mb_per_s;
        produce.ratio_to_raw_buffered = Some(mb / baseline.buffered_mb_per_s().max(1e-9));
        produce.ratio_to_raw_synced = baseline.synced.as_ref().map(|s| mb / s.mb_per_s.max(1e-9));
    }
    Ok(Report {
        benchmark: mode.name(),
        machine: Machine::probe(temp.path()),
        config: Config {
            addr,
            spawned_server: args.spawn_server,
            fsync: args.spawn_server.then(|| args.fsync.clone()),
            stream: args.stream.clone(),
            shards: args.shards,
            record_bytes: args.load.record_bytes,
            producers: args.load.producers,
            duration_secs: args.load.duration_secs,
            linger_ms: args.linger_ms,
            batch_bytes: args.batch_bytes,
            in_flight: args.in_flight,
            queue_records: args.queue_records,
            rate: args.rate,
            client: args.client,
        },
        baseline,
        pinning,
        produce,
        consume,
        e2e,
    })
}

type Outcome = (
    Option<ProduceResult>,
    Option<ConsumeResult>,
    Option<E2eResult>,
);

async fn workload(
    mode: Mode,
    addr: &str,
    args: &Args,
    server_pid: Option<u32>,
) -> Result<Outcome, BoxError> {
    let admin = Client::connect(addr)
        .await
        .map_err(|e| format!("connecting to {addr}: {e}"))?;
    let created = ensure_stream(&admin, &args.stream, args.shards).await?;
    match mode {
        Mode::Produce => {
            let produce = produce(addr, args, None, server_pid).await?;
            Ok((Some(produce), None, None))
        }
        Mode::Consume => {
            let produce = if created {
                eprintln!("filling the new stream {} first", args.stream);
                Some(produce(addr, args, None, server_pid).await?)
            } else {
                None
            };
            let consume = consume(addr, &admin, &args.stream).await?;
            Ok((produce, Some(consume), None))
        }
        Mode::E2e => {
            let (produce, e2e) = e2e(addr, &admin, args, server_pid).await?;
            Ok((Some(produce), None, Some(e2e)))
        }
    }
}

/// Creates the stream unless it exists; returns whether it was created.
async fn ensure_stream(client: &Client, stream: &str, shards: u32) -> Result<bool, BoxError> {
    match client.create_stream(stream, shards, 24).await {
        Ok(()) => Ok(true),
        Err(error) if error.code() == Some(ErrorCode::StreamExists) => Ok(false),
        Err(error) => Err(format!("creating stream {stream}: {error}").into()),
    }
}

/// The ids of every shard of `stream`.
async fn shard_ids(client: &Client, stream: &str) -> Result<Vec<u32>, BoxError> {
    let description = client.describe_stream(stream).await?;
    Ok(description.shards.iter().map(|s| s.id).collect())
}

/// What one producer task saw.
struct ProducerOutcome {
    histogram: Histogram<u64>,
    records: u64,
    bytes: u64,
    requests: u64,
    errors: u64,
    first_error: Option<String>,
}

impl ProducerOutcome {
    fn new() -> Self {
        Self {
            histogram: report::latency_histogram(),
            records: 0,
            bytes: 0,
            requests: 0,
            errors: 0,
            first_error: None,
        }
    }

    /// Counts `records` acknowledged records of `bytes` payload bytes.
    fn acknowledged(&mut self, records: u64, bytes: u64, counters: &Counters) {
        self.records += records;
        self.bytes += bytes;
        counters.add(records, bytes);
    }

    /// Counts `records` failed records.
    fn failed(&mut self, records: u64, error: &client::ClientError) {
        self.errors += records;
        self.first_error.get_or_insert_with(|| error.to_string());
    }
}

async fn produce(
    addr: &str,
    args: &Args,
    stamp: Option<Instant>,
    server_pid: Option<u32>,
) -> Result<ProduceResult, BoxError> {
    eprintln!(
        "produce: {} {} producers, {} records, {} s",
        args.load.producers,
        match args.client {
            ClientKind::Batch => "batch",
            ClientKind::Record => "record",
        },
        size(args.load.record_bytes),
        args.load.duration_secs
    );
    let config = ProducerConfig {
        linger: Duration::from_millis(args.linger_ms),
        batch_bytes_max: usize::try_from(args.batch_bytes)?,
        in_flight_max: args.in_flight as usize,
        queue_records_max: args.queue_records as usize,
        ..ProducerConfig::default()
    };
    let payload = Bytes::from(
        (0..args.load.record_bytes)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<_>>(),
    );
    let keys: Arc<[Bytes]> = (0..KEYS).map(|k| Bytes::from(format!("k{k}"))).collect();
    let counters = Arc::new(Counters::default());
    let mut clients = Vec::new();
    for _ in 0..args.load.producers {
        clients.push(Client::connect(addr).await?);
    }
    let _ticker = Ticker::start("produce", Arc::clone(&counters));
    let sampler = counters.sample();
    let cpu = CpuSpan::start(server_pid);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.load.duration_secs);
    let mut tasks = Vec::new();
    for (index, client) in clients.into_iter().enumerate() {
        let load = TaskLoad {
            payload: payload.clone(),
            keys: Arc::clone(&keys),
            index,
            deadline,
            stamp,
            counters: Arc::clone(&counters),
            window: config.queue_records_max.max(1),
            interval: per_producer_interval(args.rate, args.load.producers),
        };
        match args.client {
            ClientKind::Record => {
                let producer = Producer::new(client, args.stream.clone(), config.clone());
                tasks.push(tokio::spawn(produce_task(producer, load)));
            }
            ClientKind::Batch => {
                let batch_config = BatchProducerConfig {
                    batch_bytes_max: config.batch_bytes_max,
                    ..BatchProducerConfig::default()
                };
                let producer =
                    BatchProducer::new(client, args.stream.clone(), batch_config).await?;
                tasks.push(tokio::spawn(batch_task(
                    producer,
                    load,
                    config.linger,
                    config.in_flight_max,
                )));
            }
        }
    }
    let mut histogram = report::latency_histogram();
    let (mut records, mut bytes, mut requests, mut errors) = (0, 0, 0, 0);
    let mut first_error = None;
    for task in tasks {
        let outcome = task.await??;
        histogram.add(&outcome.histogram)?;
        records += outcome.records;
        bytes += outcome.bytes;
        requests += outcome.requests;
        errors += outcome.errors;
        if first_error.is_none() {
            first_error = outcome.first_error;
        }
    }
    let elapsed = started.elapsed();
    let cpu = cpu.finish(bytes);
    Ok(ProduceResult {
        throughput: Throughput::new(records, bytes, elapsed).with_timeline(sampler.finish()),
        latency: Latency::from_histogram(&histogram),
        requests,
        errors,
        first_error,
        ratio_to_raw_buffered: None,
        ratio_to_raw_synced: None,
        cpu,
    })
}

/// What one producer task sends, and until when.
struct TaskLoad {
    payload: Bytes,
    keys: Arc<[Bytes]>,
    index: usize,
    deadline: Instant,
    /// The e2e clock's zero, stamped into every record; `None` outside e2e.
    stamp: Option<Instant>,
    counters: Arc<Counters>,
    /// Acknowledgements the collector may lag behind.
    window: usize,
    /// Time between two records of this producer at an offered rate; `None`: flat out.
    interval: Option<Duration>,
}

/// The gap between records of one producer when `rate` records/s are spread over
/// `producers`; `None` for `rate == 0` (as fast as the server takes them).
fn per_producer_interval(rate: u64, producers: u32) -> Option<Duration> {
    (rate > 0).then(|| Duration::from_secs_f64(f64::from(producers.max(1)) / rate as f64))
}

/// When a producer's records leave: on a schedule at an offered rate, where a record's clock
/// starts at its scheduled time, so a late send counts against the system (no coordinated
/// omission); else as fast as they can.
struct Pace {
    interval: Option<Duration>,
    next: Instant,
}

impl Pace {
    fn new(interval: Option<Duration>) -> Self {
        Self {
            interval,
            next: Instant::now(),
        }
    }

    /// Moves the schedule to the next record; its due time, at an offered rate.
    fn advance(&mut self) -> Option<Instant> {
        let interval = self.interval?;
        self.next += interval;
        Some(self.next)
    }

    /// Sleeps until the record is due (not at all when flat out).
    async fn wait(&self) {
        if self.interval.is_some() && self.next > Instant::now() {
            tokio::time::sleep_until(self.next.into()).await;
        }
    }

    /// The record's start: its due time at an offered rate, else now.
    fn now(&self) -> Instant {
        if self.interval.is_some() {
            self.next
        } else {
            Instant::now()
        }
    }
}

/// The e2e stamp: nanoseconds since `base`, little endian.
fn stamp_bytes(base: Instant) -> [u8; STAMP_BYTES] {
    u64::try_from(base.elapsed().as_nanos())
        .unwrap_or(u64::MAX)
        .to_le_bytes()
}

/// Queues records until `deadline`, then flushes; a second task awaits the acknowledgements
/// in queue order.
async fn produce_task(producer: Producer, load: TaskLoad) -> Result<ProducerOutcome, BoxError> {
    let TaskLoad {
        payload,
        keys,
        index,
        deadline,
        stamp,
        counters,
        window,
        interval,
    } = load;
    let mut pace = Pace::new(interval);
    let (acks, mut acked) = mpsc::channel::<(Instant, u64, client::Ack)>(window);
    let collector = tokio::spawn(async move {
        let mut outcome = ProducerOutcome::new();
        while let Some((sent, len, ack)) = acked.recv().await {
            match ack.await {
                Ok(_) => {
                    report::record_latency(&mut outcome.histogram, sent.elapsed());
                    outcome.acknowledged(1, len, &counters);
                }
                Err(error) => outcome.failed(1, &error),
            }
        }
        outcome
    });
    let len = payload.len() as u64;
    let mut sent = 0usize;
    loop {
        // Room for the acknowledgement first: time spent waiting for this benchmark's own
        // collector is not the server's, so it comes before the clock starts.
        let Ok(slot) = acks.reserve().await else {
            break;
        };
        pace.advance();
        pace.wait().await;
        let now = pace.now();
        if now >= deadline {
            break;
        }
        let data = match stamp {
            Some(base) => {
                let mut data = BytesMut::from(&payload[..]);
                data[..STAMP_BYTES].copy_from_slice(&stamp_bytes(base));
                data.freeze()
            }
            None => payload.clone(),
        };
        let key = keys[(index * 7 + sent) % keys.len()].clone();
        let ack = producer.queue(key, data).await?;
        slot.send((now, len, ack));
        sent += 1;
        if sent.is_multiple_of(256) {
            tokio::task::yield_now().await;
        }
    }
    producer.flush().await?;
    drop(acks);
    let mut outcome = collector.await?;
    outcome.requests = producer.stats().requests;
    Ok(outcome)
}

/// A batch on its way: when each of its records was pushed, and their payload bytes.
struct InFlight {
    sent: client::Sent,
    pushed: Vec<Instant>,
    bytes: u64,
}

/// Pushes records into a [`BatchProducer`] until `deadline`, sending its batches once they
/// reach the batch size or `linger` after their first record; at most `in_flight` sends
/// await their acknowledgements, which a second task collects in order. A record's latency
/// runs from its push (its scheduled time at an offered rate) to its batch's
/// acknowledgement.
async fn batch_task(
    mut producer: BatchProducer,
    load: TaskLoad,
    linger: Duration,
    in_flight: usize,
) -> Result<ProducerOutcome, BoxError> {
    let TaskLoad {
        payload,
        keys,
        index,
        deadline,
        stamp,
        counters,
        window: _,
        interval,
    } = load;
    let batch_bytes = producer_batch_bytes(&producer);
    let (acks, mut acked) = mpsc::channel::<InFlight>(in_flight.max(1));
    let collector = tokio::spawn(async move {
        let mut outcome = ProducerOutcome::new();
        while let Some(batch) = acked.recv().await {
            match batch.sent.acknowledged().await {
                Ok(_) => {
                    let now = Instant::now();
                    for pushed in &batch.pushed {
                        report::record_latency(&mut outcome.histogram, now - *pushed);
                    }
                    outcome.acknowledged(batch.pushed.len() as u64, batch.bytes, &counters);
                }
                Err(error) => outcome.failed(batch.pushed.len() as u64, &error),
            }
        }
        outcome
    });
    let len = payload.len() as u64;
    let mut data = payload.to_vec();
    let key_names: Vec<String> = keys
        .iter()
        .map(|key| String::from_utf8_lossy(key).into_owned())
        .collect();
    let mut pushed: Vec<Instant> = Vec::new();
    let mut pace = Pace::new(interval);
    let mut sent = 0usize;
    loop {
        // Send what lingered long enough before sleeping past its deadline.
        if let Some(due) = pace.advance()
            && pushed.first().is_some_and(|first| *first + linger <= due)
        {
            send_batch(&mut producer, &acks, &mut pushed, len).await?;
        }
        pace.wait().await;
        let now = pace.now();
        if now >= deadline {
            break;
        }
        if let Some(base) = stamp {
            data[..STAMP_BYTES].copy_from_slice(&stamp_bytes(base));
        }
        let key = &key_names[(index * 7 + sent) % key_names.len()];
        producer.push(key, &data)?;
        pushed.push(now);
        sent += 1;
        if producer.buffered_bytes() >= batch_bytes
            || pushed.first().is_some_and(|first| now >= *first + linger)
        {
            send_batch(&mut producer, &acks, &mut pushed, len).await?;
        }
    }
    if !pushed.is_empty() {
        send_batch(&mut producer, &acks, &mut pushed, len).await?;
    }
    drop(acks);
    let mut outcome = collector.await?;
    outcome.requests = producer.requests();
    Ok(outcome)
}

/// The buffered bytes at which [`batch_task`] sends: `--batch-bytes` over all shards, as the
/// per-record producer counts it (a shard's batch fills up only when the records all go
/// there).
fn producer_batch_bytes(producer: &BatchProducer) -> usize {
    producer.batch_bytes_max()
}

/// Sends the producer's batches once the collector has room for them.
async fn send_batch(
    producer: &mut BatchProducer,
    acks: &mpsc::Sender<InFlight>,
    pushed: &mut Vec<Instant>,
    record_bytes: u64,
) -> Result<(), BoxError> {
    let slot = acks.reserve().await?;
    let sent = producer.send()?;
    let pushed = std::mem::replace(pushed, Vec::with_capacity(pushed.capacity()));
    let bytes = pushed.len() as u64 * record_bytes;
    slot.send(InFlight {
        sent,
        pushed,
        bytes,
    });
    Ok(())
}

/// Reads every shard from the trim horizon until caught up.
async fn consume(addr: &str, admin: &Client, stream: &str) -> Result<ConsumeResult, BoxError> {
    let shards = shard_ids(admin, stream).await?;
    eprintln!("consume: {} shards from the trim horizon", shards.len());
    let counters = Arc::new(Counters::default());
    let mut clients = Vec::new();
    for _ in &shards {
        clients.push(Client::connect(addr).await?);
    }
    let _ticker = Ticker::start("consume", Arc::clone(&counters));
    let sampler = counters.sample();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (client, shard) in clients.into_iter().zip(shards.iter().copied()) {
        let counters = Arc::clone(&counters);
        let stream = stream.to_string();
        tasks.push(tokio::spawn(async move {
            let mut consumer =
                ShardConsumer::new(client, stream, shard, StartPosition::TrimHorizon);
            let (mut fetches, mut checksum) = (0u64, 0u64);
            loop {
                let records = consumer.next_batch(Duration::ZERO).await?;
                fetches += 1;
                if records.is_empty() {
                    break;
                }
                let mut bytes = 0;
                for record in &records {
                    bytes += record.data.len() as u64;
                    checksum += u64::from(record.data.last().copied().unwrap_or(0));
                }
                counters.add(records.len() as u64, bytes);
            }
            Ok::<_, client::ClientError>((fetches, checksum))
        }));
    }
    let (mut fetches, mut checksum) = (0, 0);
    for task in tasks {
        let (f, c) = task.await??;
        fetches += f;
        checksum += c;
    }
    Ok(ConsumeResult {
        shards: shards.len(),
        fetches,
        throughput: Throughput::new(
            counters.records.load(Ordering::Relaxed),
            counters.bytes.load(Ordering::Relaxed),
            started.elapsed(),
        )
        .with_timeline(sampler.finish()),
        checksum,
    })
}

/// Producers plus one tailing consumer per shard.
async fn e2e(
    addr: &str,
    admin: &Client,
    args: &Args,
    server_pid: Option<u32>,
) -> Result<(ProduceResult, E2eResult), BoxError> {
    let shards = shard_ids(admin, &args.stream).await?;
    let base = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let counters = Arc::new(Counters::default());
    let mut tasks = Vec::new();
    for shard in shards.iter().copied() {
        let client = Client::connect(addr).await?;
        let mut consumer =
            ShardConsumer::new(client, args.stream.clone(), shard, StartPosition::Latest);
        // Pins the position at the shard's end before anything is produced.
        let _ = consumer.next_batch(Duration::ZERO).await?;
        let done = Arc::clone(&done);
        let counters = Arc::clone(&counters);
        tasks.push(tokio::spawn(async move {
            let mut histogram = report::latency_histogram();
            let mut deadline = None;
            loop {
                let finishing = done.load(Ordering::Acquire);
                let wait = if finishing {
                    Duration::ZERO
                } else {
                    Duration::from_millis(100)
                };
                let records = consumer.next_batch(wait).await?;
                let now = u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX);
                let mut bytes = 0;
                for record in &records {
                    bytes += record.data.len() as u64;
                    if let Some(stamp) = record.data.get(..STAMP_BYTES) {
                        let mut sent = [0; STAMP_BYTES];
                        sent.copy_from_slice(stamp);
                        let nanos = now.saturating_sub(u64::from_le_bytes(sent));
                        report::record_latency(&mut histogram, Duration::from_nanos(nanos));
                    }
                }
                counters.add(records.len() as u64, bytes);
                if finishing {
                    let deadline = *deadline.get_or_insert_with(|| Instant::now() + CATCH_UP);
                    if records.is_empty() || Instant::now() >= deadline {
                        break;
                    }
                }
            }
            Ok::<_, client::ClientError>(histogram)
        }));
    }
    let _ticker = Ticker::start("consume", Arc::clone(&counters));
    let sampler = counters.sample();
    let started = Instant::now();
    let produced = produce(addr, args, Some(base), server_pid).await;
    done.store(true, Ordering::Release);
    let mut histogram = report::latency_histogram();
    for task in tasks {
        histogram.add(&task.await??)?;
    }
    let produced = produced?;
    let received = counters.records.load(Ordering::Relaxed);
    if received < produced.throughput.records {
        eprintln!(
            "warning: consumers received {received} of {} acknowledged records",
            produced.throughput.records
        );
    }
    Ok((
        produced,
        E2eResult {
            received,
            throughput: Throughput::new(
                received,
                counters.bytes.load(Ordering::Relaxed),
                started.elapsed(),
            )
            .with_timeline(sampler.finish()),
            latency: Latency::from_histogram(&histogram),
        },
    ))
}

/// `cpu: server …, strata-bench …` for the produce phase.
fn cpu_line(cpu: &CpuUse) -> String {
    let server = match (cpu.server_secs, cpu.server_secs_per_gb) {
        (Some(secs), Some(per_gb)) => format!(
            "server {:.2} s ({:.2} cores, {:.2} s/GB)",
            secs,
            secs / cpu.wall_secs.max(1e-9),
            per_gb
        ),
        _ => "server not measured (not spawned)".to_string(),
    };
    format!(
        "cpu while producing: {server}, strata-bench {:.2} s ({:.2} cores, {:.2} s/GB)\n",
        cpu.bench_secs,
        cpu.bench_secs / cpu.wall_secs.max(1e-9),
        cpu.bench_secs_per_gb
    )
}

fn latency_columns() -> Vec<(&'static str, Align)> {
    vec![
        ("p50 µs", Align::Right),
        ("p90 µs", Align::Right),
        ("p99 µs", Align::Right),
        ("p99.9 µs", Align::Right),
        ("max µs", Align::Right),
    ]
}

pub fn latency_cells(latency: &Latency) -> Vec<String> {
    [
        latency.p50_us,
        latency.p90_us,
        latency.p99_us,
        latency.p999_us,
        latency.max_us,
    ]
    .iter()
    .map(|v| group(*v))
    .collect()
}

/// A throughput-and-latency table of one or more rows.
pub fn table(rows: &[(&str, &Throughput, Option<&Latency>)]) -> String {
    let mut columns = vec![
        ("", Align::Left),
        ("records", Align::Right),
        ("secs", Align::Right),
        ("rec/s", Align::Right),
        ("MB/s", Align::Right),
    ];
    columns.extend(latency_columns());
    let mut table = Table::new(&columns);
    for (label, throughput, latency) in rows {
        let mut cells = vec![
            (*label).to_string(),
            group(throughput.records),
            format!("{:.2}", throughput.secs),
            rate(throughput.records_per_s),
            decimal(throughput.mb_per_s),
        ];
        if let Some(latency) = latency {
            cells.extend(latency_cells(latency));
        }
        table.row(cells);
    }
    table.render()
}

/// The report as text.
pub fn render(report: &Report) -> String {
    let config = &report.config;
    let mut out = format!(
        "strata-bench {}: {} ({}), stream {}, {} records, {} producers, {} s\n\n",
        report.benchmark,
        config.addr,
        config
            .fsync
            .as_ref()
            .map_or("external server".to_string(), |f| format!(
                "spawned, fsync={f}"
            )),
        config.stream,
        size(config.record_bytes),
        config.producers,
        config.duration_secs,
    );
    let mut rows = Vec::new();
    if let Some(produce) = &report.produce {
        rows.push((
            "produce (ack latency)",
            &produce.throughput,
            Some(&produce.latency),
        ));
    }
    if let Some(consume) = &report.consume {
        rows.push(("consume", &consume.throughput, None));
    }
    if let Some(e2e) = &report.e2e {
        rows.push(("e2e (send to receive)", &e2e.throughput, Some(&e2e.latency)));
    }
    out.push_str(&table(&rows));
    if let Some(produce) = &report.produce {
        out.push_str(&format!(
            "\nproduce: {} requests, {} errors{}\n",
            group(produce.requests),
            group(produce.errors),
            produce
                .first_error
                .as_ref()
                .map_or(String::new(), |e| format!(" (first: {e})"))
        ));
    }
    if let Some(produce) = &report.produce {
        out.push_str(&cpu_line(&produce.cpu));
    }
    if let Some(baseline) = &report.baseline {
        out.push_str(&format!(
            "raw disk: buffered {} MB/s",
            decimal(baseline.buffered.mb_per_s)
        ));
        if let Some(after) = &baseline.buffered_after {
            out.push_str(&format!(
                " ({} MiB before the run), {} MB/s ({} MiB, the run's volume, after it)",
                baseline.buffered.bytes / (1024 * 1024),
                decimal(after.mb_per_s),
                after.bytes / (1024 * 1024),
            ));
        }
        if let Some(synced) = &baseline.synced {
            out.push_str(&format!(
                ", {} write+fdatasync {} MB/s",
                size(synced.write_bytes),
                decimal(synced.mb_per_s)
            ));
        }
        out.push('\n');
        if let Some(produce) = &report.produce
            && let Some(buffered) = produce.ratio_to_raw_buffered
        {
            out.push_str(&format!("produce / raw buffered: {}", ratio(buffered)));
            if let Some(synced) = produce.ratio_to_raw_synced {
                out.push_str(&format!(", produce / raw synced: {}", ratio(synced)));
            }
            out.push('\n');
        }
    }
    out
}

/// The run as a figure: produce (and consume or e2e) throughput over time beside the raw
/// disk's buffered rate (and, under `fsync = always`, its write+fdatasync rate), and ack
/// (and send-to-receive) latency beside one 64 KiB write+fdatasync of the raw disk.
pub fn figure(report: &Report) -> Figure {
    let config = &report.config;
    let mut figure = Figure::new(
        format!(
            "strata-bench {}: {} records, {} producers, {} shards, {}",
            report.benchmark,
            size(config.record_bytes),
            config.producers,
            config.shards,
            config
                .fsync
                .as_ref()
                .map_or("external server".to_string(), |f| format!("fsync={f}")),
        ),
        caption(&report.machine, report.pinning.as_ref()),
    );
    figure.record_bytes = Some(config.record_bytes);
    if let Some(baseline) = &report.baseline {
        figure.level_mb(
            format!(
                "raw disk: buffered writes of the run's volume, {} MB/s",
                decimal(baseline.buffered_mb_per_s())
            ),
            plot::GRAY,
            baseline.buffered_mb_per_s(),
        );
        if let Some(synced) = &baseline.synced {
            figure.synced_disk_level(synced.write_bytes, synced.mb_per_s);
        }
    }
    if let Some(produce) = &report.produce {
        let label = if report.consume.is_some() {
            "produce (filling the stream first)"
        } else {
            "produce: acknowledged"
        };
        figure.line(label, Role::Measured, 0, &produce.throughput.timeline);
        figure.curve(
            "produce: ack latency",
            Role::Measured,
            0,
            &produce.latency.curve,
        );
    }
    if let Some(consume) = &report.consume {
        figure.line(
            "consume: read from the trim horizon",
            Role::Measured,
            1,
            &consume.throughput.timeline,
        );
    }
    if let Some(e2e) = &report.e2e {
        figure.line(
            "e2e: received by tailing consumers",
            Role::Measured,
            1,
            &e2e.throughput.timeline,
        );
        figure.curve(
            "e2e: send to receive",
            Role::Measured,
            1,
            &e2e.latency.curve,
        );
    }
    if let Some(synced) = report.baseline.as_ref().and_then(|b| b.synced.as_ref()) {
        figure.curve(
            format!("raw disk: one {} write+fdatasync", size(synced.write_bytes)),
            Role::Baseline,
            plot::BROWN,
            &synced.latency.curve,
        );
    }
    figure
}

/// A figure's caption: the machine, and where server and load generator ran. Pinned, this
/// process sees only the load generator's CPUs, so the machine's count is the two sets'.
pub fn caption(machine: &Machine, pinning: Option<&Pinning>) -> String {
    match pinning {
        Some(pinning) => {
            let whole = Machine {
                nproc: pinning.server.len() + pinning.client.len(),
                ..machine.clone()
            };
            format!(
                "{}; server on CPUs {:?}, load generator on {:?}",
                whole.describe(),
                pinning.server,
                pinning.client
            )
        }
        None => machine.describe(),
    }
}

/// Writes the JSON report when asked to.
pub fn write_json<T: Serialize>(path: Option<&Path>, report: &T) -> Result<(), String> {
    if let Some(path) = path {
        report::write_json(path, report).map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!("JSON report written to {}", path.display());
    }
    Ok(())
}
