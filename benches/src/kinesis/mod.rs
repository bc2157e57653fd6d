//! `strata-bench kinesis`: the Kinesis API over HTTP, against Strata and against kinesalite as
//! the baseline.
//!
//! - *Put*: `--connections` tasks, each on its own keep-alive HTTP/1.1 connection, send
//!   PutRecords requests one after the other for the duration: `--batch-records` records of
//!   `--record-bytes` under random partition keys. Every record opens with its request's send
//!   time (see [`wire::write_stamp`]). Latency is per request; records that come back in
//!   `FailedRecordCount` are counted, not retried.
//! - *Tail*: `--consumers` readers per shard, each on its own connection, take a `LATEST`
//!   iterator before the producers start and follow `NextShardIterator` with GetRecords,
//!   pausing `--poll-ms` after an empty page; once the producers stop they read on until
//!   caught up. Each record's put-to-get latency comes from its stamp.
//! - *Replay*: one reader per shard reads the stream from `TRIM_HORIZON` to its end (at most
//!   `--duration-secs`), alone on the server: GetRecords read throughput.
//!
//! The target is a running server (`--endpoint`), a `strata serve` spawned on a temporary
//! directory (`--spawn-server`), a kinesalite spawned in memory (`--spawn-kinesalite`), or,
//! with `--compare`, a spawned Strata and then a spawned kinesalite under the same load, with
//! the ratio Strata / kinesalite of their throughput.

pub mod load;
pub mod wire;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use self::load::{Counters, Finish, GetOutcome, PutBatch, PutOutcome, Reader, Ticker};
use self::wire::{Connection, Endpoint, STAMP_BYTES, Start};
use crate::plot::{Figure, Role};
use crate::report::{
    self, Align, Latency, Machine, Table, Throughput, decimal, group, ratio, size,
};
use crate::spawn::{KinesaliteServer, StrataServer};
use crate::storage::BoxError;

/// Longest a tailing reader keeps reading after the producers stop, at least.
const CATCH_UP_MIN: Duration = Duration::from_secs(30);
/// Largest PutRecords payload per request (the Kinesis limit is 5 MiB of data and keys).
const PUT_PAYLOAD_BYTES_MAX: u64 = 5 * 1024 * 1024;
/// Bytes of the random partition keys.
const KEY_BYTES: u64 = 16;

/// Options of `strata-bench kinesis`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Kinesis endpoint of a running server (not used with --spawn-server, --spawn-kinesalite
    /// or --compare).
    #[arg(long, default_value = "http://127.0.0.1:4566")]
    pub endpoint: String,
    /// Start `strata serve` (next to this executable) on a temporary directory and free
    /// ports, and stop it at the end.
    #[arg(long)]
    pub spawn_server: bool,
    /// Start kinesalite, the baseline, in memory on a free port (installed with npm into
    /// $XDG_CACHE_HOME/strata-bench/kinesalite on first use), and stop it at the end.
    #[arg(long)]
    pub spawn_kinesalite: bool,
    /// Run against a spawned Strata, then a spawned kinesalite, and report both with the
    /// ratio Strata / kinesalite.
    #[arg(long)]
    pub compare: bool,
    /// Stream to use; created if missing.
    #[arg(long, default_value = "bench", value_parser = parse_stream_name)]
    pub stream: String,
    /// Shards of the stream when it is created.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub shards: u32,
    /// Record payload size (bytes, or with a unit: 1KiB).
    #[arg(long, default_value = "1024", value_parser = crate::args::parse_record_size)]
    pub record_bytes: u64,
    /// Records per PutRecords request.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=500))]
    pub batch_records: u32,
    /// PutRecords connections, each with one request in flight.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub connections: u32,
    /// Tailing readers per shard, each on its own connection (0: none).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub consumers: u32,
    /// How long producers send, in seconds (fractions allowed).
    #[arg(long, default_value_t = 5.0, value_parser = crate::args::parse_secs)]
    pub duration_secs: f64,
    /// Skip reading the stream back from TRIM_HORIZON after the put phase.
    #[arg(long)]
    pub no_replay: bool,
    /// `Limit` of every GetRecords request.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub get_limit: u32,
    /// Pause of a tailing reader after an empty GetRecords page, in milliseconds.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub poll_ms: u64,
    /// Durability of the spawned Strata server: always, interval:<ms> or never.
    #[arg(long, default_value = "interval:5")]
    pub fsync: String,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also draw put and tail throughput over time and their latency distributions, Strata's
    /// beside the baseline's with --compare, as SVG to this file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

/// A stream name that needs no escaping in JSON (the Kinesis name pattern).
fn parse_stream_name(text: &str) -> Result<String, String> {
    let valid = (1..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if valid {
        Ok(text.to_string())
    } else {
        Err(format!(
            "invalid stream name {text:?}: 1-128 of a-z, A-Z, 0-9, _ . -"
        ))
    }
}

/// Everything one invocation found.
#[derive(Debug, Serialize)]
pub struct Report {
    pub benchmark: &'static str,
    pub machine: Machine,
    pub config: Config,
    /// One per server, in the order run (Strata first).
    pub runs: Vec<Run>,
    /// Strata over the baseline, when both ran.
    pub ratio: Option<Ratio>,
}

#[derive(Debug, Serialize)]
pub struct Config {
    pub stream: String,
    pub shards: u32,
    pub record_bytes: u64,
    pub batch_records: u32,
    pub connections: u32,
    pub consumers: u32,
    pub duration_secs: f64,
    pub replay: bool,
    pub get_limit: u32,
    pub poll_ms: u64,
}

/// One server under the load.
#[derive(Debug, Serialize)]
pub struct Run {
    /// `strata`, `kinesalite`, or `external`.
    pub server: &'static str,
    /// How it ran: `spawned, fsync=interval:5`, `spawned, in memory`, `external server`.
    pub setup: String,
    pub endpoint: String,
    /// Whether the benchmark created the stream (false: it existed).
    pub stream_created: bool,
    /// Shards of the stream (open ones are tailed).
    pub shards: usize,
    pub put: PutResult,
    pub tail: Option<TailResult>,
    pub replay: Option<ReadResult>,
    /// CPU use during the put phase (producers and tailing readers).
    pub cpu: Cpu,
}

#[derive(Debug, Serialize)]
pub struct PutResult {
    /// Records stored and their payload bytes, from the first request to the last answer.
    pub throughput: Throughput,
    /// Per PutRecords request.
    pub latency: Latency,
    pub requests: u64,
    /// Sum of `FailedRecordCount`.
    pub failed_records: u64,
    /// Requests answered with an error, or not answered.
    pub failed_requests: u64,
    pub first_error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TailResult {
    /// Readers (shards × consumers).
    pub readers: usize,
    /// Records received, from the first put to the readers catching up.
    pub throughput: Throughput,
    /// From a record's PutRecords send to its GetRecords answer.
    pub put_to_get_latency: Latency,
    /// Per GetRecords request (empty pages included).
    pub request_latency: Latency,
    pub requests: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Every reader read to the end within its catch-up time.
    pub caught_up: bool,
}

#[derive(Debug, Serialize)]
pub struct ReadResult {
    pub readers: usize,
    pub throughput: Throughput,
    /// Per GetRecords request.
    pub request_latency: Latency,
    pub requests: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Every reader reached the end within the time allowed.
    pub caught_up: bool,
}

/// Cores busy on average, in CPU seconds per second.
#[derive(Debug, Serialize)]
pub struct Cpu {
    /// The spawned server's process (`None` for an external server).
    pub server_cores: Option<f64>,
    /// This load generator.
    pub bench_cores: Option<f64>,
}

/// Strata / baseline.
#[derive(Debug, Serialize)]
pub struct Ratio {
    pub baseline: &'static str,
    pub put_records_per_s: f64,
    pub put_mb_per_s: f64,
    pub replay_records_per_s: Option<f64>,
    pub replay_mb_per_s: Option<f64>,
}

/// A server to run the load against.
struct Target {
    server: &'static str,
    setup: String,
    endpoint: Endpoint,
    pid: Option<u32>,
}

/// Runs the benchmark against every server asked for.
pub fn run(args: &Args) -> Result<Report, BoxError> {
    if args.record_bytes < STAMP_BYTES as u64 {
        return Err(format!("--record-bytes must be at least {STAMP_BYTES}").into());
    }
    let payload = u64::from(args.batch_records) * (args.record_bytes + KEY_BYTES);
    if payload > PUT_PAYLOAD_BYTES_MAX {
        return Err(format!(
            "{} records of {} exceed the {} PutRecords limit: lower --batch-records",
            args.batch_records,
            size(args.record_bytes),
            size(PUT_PAYLOAD_BYTES_MAX)
        )
        .into());
    }
    let temp = tempfile::Builder::new()
        .prefix("strata-bench-data-kinesis-")
        .tempdir_in(".")?;
    let spawn_strata = args.compare || args.spawn_server;
    let spawn_baseline = args.compare || args.spawn_kinesalite;
    let mut runs = Vec::new();
    if spawn_strata {
        let data = temp.path().join("strata");
        std::fs::create_dir_all(&data)?;
        let server = StrataServer::start(&data, &args.fsync)?;
        let target = Target {
            server: "strata",
            setup: format!("spawned, fsync={}", args.fsync),
            endpoint: Endpoint::at(server.http)?,
            pid: Some(server.pid()),
        };
        eprintln!(
            "strata serve (fsync={}) listening on {}",
            args.fsync, target.endpoint.url
        );
        let outcome = on_runtime(run_target(&target, args));
        let stopped = server.stop();
        runs.push(outcome?);
        stopped?;
        // Frees the disk before the next server runs.
        std::fs::remove_dir_all(&data)?;
    } else if !spawn_baseline {
        let target = Target {
            server: "external",
            setup: "external server".into(),
            endpoint: Endpoint::parse(&args.endpoint)?,
            pid: None,
        };
        runs.push(on_runtime(run_target(&target, args))?);
    }
    if spawn_baseline {
        let server = KinesaliteServer::start()?;
        let target = Target {
            server: "kinesalite",
            setup: "spawned, in memory".into(),
            endpoint: Endpoint::at(server.addr)?,
            pid: Some(server.pid()),
        };
        eprintln!("kinesalite listening on {}", target.endpoint.url);
        let outcome = on_runtime(run_target(&target, args));
        let stopped = server.stop();
        runs.push(outcome?);
        stopped?;
    }
    let ratio = match runs.as_slice() {
        [strata, baseline] if strata.server == "strata" => Some(Ratio {
            baseline: baseline.server,
            put_records_per_s: over(
                strata.put.throughput.records_per_s,
                baseline.put.throughput.records_per_s,
            ),
            put_mb_per_s: over(
                strata.put.throughput.mb_per_s,
                baseline.put.throughput.mb_per_s,
            ),
            replay_records_per_s: strata
                .replay
                .as_ref()
                .zip(baseline.replay.as_ref())
                .map(|(s, b)| over(s.throughput.records_per_s, b.throughput.records_per_s)),
            replay_mb_per_s: strata
                .replay
                .as_ref()
                .zip(baseline.replay.as_ref())
                .map(|(s, b)| over(s.throughput.mb_per_s, b.throughput.mb_per_s)),
        }),
        _ => None,
    };
    Ok(Report {
        benchmark: "kinesis",
        machine: Machine::probe(temp.path()),
        config: Config {
            stream: args.stream.clone(),
            shards: args.shards,
            record_bytes: args.record_bytes,
            batch_records: args.batch_records,
            connections: args.connections,
            consumers: args.consumers,
            duration_secs: args.duration_secs,
            replay: !args.no_replay,
            get_limit: args.get_limit,
            poll_ms: args.poll_ms,
        },
        runs,
        ratio,
    })
}

/// `value / baseline`, without dividing by zero.
fn over(value: f64, baseline: f64) -> f64 {
    value / baseline.max(1e-9)
}

/// Runs `work` on a runtime of its own, so nothing of one server's run outlives it.
fn on_runtime<T>(work: impl Future<Output = Result<T, BoxError>>) -> Result<T, BoxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(work);
    runtime.shutdown_timeout(Duration::from_secs(1));
    outcome
}

/// The put phase with its tailing readers, then the replay.
async fn run_target(target: &Target, args: &Args) -> Result<Run, BoxError> {
    let endpoint = &target.endpoint;
    let mut admin = Connection::open(endpoint).await?;
    let stream_created = wire::ensure_stream(&mut admin, &args.stream, args.shards).await?;
    let shards = wire::list_shards(&mut admin, &args.stream).await?;
    eprintln!(
        "{}: {} connections × PutRecords of {} × {}, {} tailing readers on {} shards, {} s",
        target.server,
        args.connections,
        args.batch_records,
        size(args.record_bytes),
        args.consumers as usize * shards.iter().filter(|s| s.open).count(),
        shards.len(),
        args.duration_secs
    );
    let counters = Arc::new(Counters::default());
    let base = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let poll = Duration::from_millis(args.poll_ms);
    let mut readers = Vec::new();
    for _ in 0..args.consumers {
        for shard in shards.iter().filter(|s| s.open) {
            let mut connection = Connection::open(endpoint).await?;
            // Taken before anything is put, so the reader sees every record of the run.
            let iterator =
                wire::shard_iterator(&mut connection, &args.stream, &shard.id, Start::Latest)
                    .await?;
            let reader = Reader {
                stream: args.stream.clone(),
                shard: shard.id.clone(),
                limit: args.get_limit,
                poll,
                stamps: Some(base),
            };
            readers.push((connection, reader, iterator));
        }
    }
    let mut producers = Vec::new();
    for _ in 0..args.connections {
        producers.push(Connection::open(endpoint).await?);
    }
    let batch = Arc::new(PutBatch::new(
        &args.stream,
        args.batch_records as usize,
        usize::try_from(args.record_bytes)?,
    ));

    let ticker = Ticker::start(target.server.to_string(), Arc::clone(&counters));
    let put_sampler = counters.sample_put();
    let get_sampler = counters.sample_get();
    let cpu_before = cpu_times(target.pid);
    let started = Instant::now();
    let catch_up = CATCH_UP_MIN.max(Duration::from_secs_f64(args.duration_secs));
    let reader_tasks: Vec<_> = readers
        .into_iter()
        .map(|(connection, reader, iterator)| {
            let finish = Finish {
                done: Arc::clone(&done),
                catch_up,
            };
            tokio::spawn(load::read_shard(
                connection,
                reader,
                iterator,
                finish,
                Arc::clone(&counters),
            ))
        })
        .collect();
    let deadline = started + Duration::from_secs_f64(args.duration_secs);
    let producer_tasks: Vec<_> = producers
        .into_iter()
        .enumerate()
        .map(|(index, connection)| {
            tokio::spawn(load::produce(
                connection,
                Arc::clone(&batch),
                args.record_bytes,
                0x5EED_0000 + index as u64,
                base,
                deadline,
                Arc::clone(&counters),
            ))
        })
        .collect();
    let mut put = PutOutcome {
        histogram: report::latency_histogram(),
        records: 0,
        bytes: 0,
        requests: 0,
        failed_records: 0,
        failed_requests: 0,
        first_error: None,
    };
    let mut failure = None;
    for task in producer_tasks {
        match task.await? {
            Ok(outcome) => {
                put.histogram.add(&outcome.histogram)?;
                put.records += outcome.records;
                put.bytes += outcome.bytes;
                put.requests += outcome.requests;
                put.failed_records += outcome.failed_records;
                put.failed_requests += outcome.failed_requests;
                if put.first_error.is_none() {
                    put.first_error = outcome.first_error;
                }
            }
            Err(error) => failure = failure.or(Some(error)),
        }
    }
    let put_elapsed = started.elapsed();
    let put_timeline = put_sampler.finish();
    let cpu_after = cpu_times(target.pid);
    done.store(true, Ordering::Release);
    let tail_count = reader_tasks.len();
    let tail = join_readers(reader_tasks).await?;
    let tail_elapsed = started.elapsed();
    let get_timeline = get_sampler.finish();
    drop(ticker);
    if let Some(error) = failure {
        return Err(error);
    }
    let cores = |before: Option<Duration>, after: Option<Duration>| {
        before
            .zip(after)
            .map(|(b, a)| a.saturating_sub(b).as_secs_f64() / put_elapsed.as_secs_f64())
    };
    let cpu = Cpu {
        server_cores: cores(cpu_before.0, cpu_after.0),
        bench_cores: cores(cpu_before.1, cpu_after.1),
    };
    let put = PutResult {
        throughput: Throughput::new(put.records, put.bytes, put_elapsed)
            .with_timeline(put_timeline),
        latency: Latency::from_histogram(&put.histogram),
        requests: put.requests,
        failed_records: put.failed_records,
        failed_requests: put.failed_requests,
        first_error: put.first_error,
    };
    let tail = (tail_count > 0).then(|| TailResult {
        readers: tail_count,
        throughput: Throughput::new(tail.records, tail.bytes, tail_elapsed)
            .with_timeline(get_timeline),
        put_to_get_latency: Latency::from_histogram(&tail.e2e),
        request_latency: Latency::from_histogram(&tail.requests_latency),
        requests: tail.requests,
        errors: tail.errors,
        first_error: tail.first_error,
        caught_up: tail.caught_up,
    });
    if let Some(tail) = &tail {
        let expected = put.throughput.records * u64::from(args.consumers);
        if tail.throughput.records != expected {
            eprintln!(
                "warning: tailing readers received {} records, expected {expected}",
                tail.throughput.records
            );
        }
    }
    let replay = if args.no_replay {
        None
    } else {
        Some(replay(target, args, &shards).await?)
    };
    Ok(Run {
        server: target.server,
        setup: target.setup.clone(),
        endpoint: endpoint.url.clone(),
        stream_created,
        shards: shards.len(),
        put,
        tail,
        replay,
        cpu,
    })
}

/// CPU time used so far by the server (when its process is known) and by this process.
fn cpu_times(server: Option<u32>) -> (Option<Duration>, Option<Duration>) {
    (
        server.and_then(|pid| load::cpu_time(Some(pid))),
        load::cpu_time(None),
    )
}

/// Every shard from `TRIM_HORIZON` to its end, one reader per shard, for at most the duration.
async fn replay(
    target: &Target,
    args: &Args,
    shards: &[wire::Shard],
) -> Result<ReadResult, BoxError> {
    eprintln!(
        "{}: reading {} shards back from TRIM_HORIZON",
        target.server,
        shards.len()
    );
    let counters = Arc::new(Counters::default());
    let done = Arc::new(AtomicBool::new(true));
    let mut readers = Vec::new();
    for shard in shards {
        let mut connection = Connection::open(&target.endpoint).await?;
        let iterator =
            wire::shard_iterator(&mut connection, &args.stream, &shard.id, Start::TrimHorizon)
                .await?;
        let reader = Reader {
            stream: args.stream.clone(),
            shard: shard.id.clone(),
            limit: args.get_limit,
            poll: Duration::from_millis(args.poll_ms),
            stamps: None,
        };
        readers.push((connection, reader, iterator));
    }
    let ticker = Ticker::start(format!("{} replay", target.server), Arc::clone(&counters));
    let started = Instant::now();
    let tasks: Vec<_> = readers
        .into_iter()
        .map(|(connection, reader, iterator)| {
            let finish = Finish {
                done: Arc::clone(&done),
                catch_up: Duration::from_secs_f64(args.duration_secs),
            };
            tokio::spawn(load::read_shard(
                connection,
                reader,
                iterator,
                finish,
                Arc::clone(&counters),
            ))
        })
        .collect();
    let count = tasks.len();
    let read = join_readers(tasks).await?;
    let elapsed = started.elapsed();
    drop(ticker);
    Ok(ReadResult {
        readers: count,
        throughput: Throughput::new(read.records, read.bytes, elapsed),
        request_latency: Latency::from_histogram(&read.requests_latency),
        requests: read.requests,
        errors: read.errors,
        first_error: read.first_error,
        caught_up: read.caught_up,
    })
}

/// Awaits every reader and adds up what they saw.
async fn join_readers(
    tasks: Vec<tokio::task::JoinHandle<Result<GetOutcome, BoxError>>>,
) -> Result<GetOutcome, BoxError> {
    let mut total = GetOutcome {
        e2e: report::latency_histogram(),
        requests_latency: report::latency_histogram(),
        records: 0,
        bytes: 0,
        requests: 0,
        errors: 0,
        first_error: None,
        caught_up: true,
    };
    for task in tasks {
        let outcome = task.await??;
        total.e2e.add(&outcome.e2e)?;
        total.requests_latency.add(&outcome.requests_latency)?;
        total.records += outcome.records;
        total.bytes += outcome.bytes;
        total.requests += outcome.requests;
        total.errors += outcome.errors;
        total.caught_up &= outcome.caught_up;
        if total.first_error.is_none() {
            total.first_error = outcome.first_error;
        }
    }
    Ok(total)
}

/// The runs as a figure: PutRecords and tailing GetRecords throughput over time, and
/// PutRecords request and put-to-get latency, each server's in its own colors, a baseline
/// server's dashed.
pub fn figure(report: &Report) -> Figure {
    let config = &report.config;
    let mut figure = Figure::new(
        format!(
            "strata-bench kinesis: {} connections x PutRecords of {} x {}, {} tailing reader(s) per shard",
            config.connections,
            config.batch_records,
            size(config.record_bytes),
            config.consumers
        ),
        report.machine.describe(),
    );
    figure.record_bytes = Some(config.record_bytes);
    for (index, run) in report.runs.iter().enumerate() {
        let role = Role::of_run(index);
        let server = format!("{} ({})", run.server, run.setup);
        figure.line(
            format!("{server}: PutRecords"),
            role,
            index,
            &run.put.throughput.timeline,
        );
        figure.curve(
            format!("{server}: PutRecords request"),
            role,
            index,
            &run.put.latency.curve,
        );
        if let Some(tail) = &run.tail {
            figure.line(
                format!("{server}: GetRecords tail"),
                role,
                index + 2,
                &tail.throughput.timeline,
            );
            figure.curve(
                format!("{server}: put to get"),
                role,
                index + 2,
                &tail.put_to_get_latency.curve,
            );
        }
    }
    figure
}

/// The report as text: one table per server, then the ratio.
pub fn render(report: &Report) -> String {
    let config = &report.config;
    let mut out = format!(
        "strata-bench kinesis: stream {}, {} connections × PutRecords of {} × {} (random keys), \
         {} tailing reader(s) per shard, {} s\n",
        config.stream,
        config.connections,
        config.batch_records,
        size(config.record_bytes),
        config.consumers,
        config.duration_secs,
    );
    for run in &report.runs {
        out.push_str(&format!(
            "\n{} ({}) at {}, {} shards\n",
            run.server, run.setup, run.endpoint, run.shards
        ));
        let mut rows = vec![(
            "PutRecords (request latency)",
            &run.put.throughput,
            Some(&run.put.latency),
        )];
        if let Some(tail) = &run.tail {
            rows.push((
                "GetRecords tail (put-to-get latency)",
                &tail.throughput,
                Some(&tail.put_to_get_latency),
            ));
        }
        if let Some(replay) = &run.replay {
            rows.push((
                "GetRecords replay (request latency)",
                &replay.throughput,
                Some(&replay.request_latency),
            ));
        }
        out.push_str(&crate::native::table(&rows));
        out.push_str(&format!(
            "PutRecords: {} requests, {} failed records, {} failed requests{}\n",
            group(run.put.requests),
            group(run.put.failed_records),
            group(run.put.failed_requests),
            first_error(run.put.first_error.as_deref()),
        ));
        if let Some(tail) = &run.tail {
            out.push_str(&format!(
                "GetRecords tail: {} readers, {} requests (p50 {} µs), {} errors, {}{}\n",
                tail.readers,
                group(tail.requests),
                group(tail.request_latency.p50_us),
                group(tail.errors),
                if tail.caught_up {
                    "caught up"
                } else {
                    "did not catch up"
                },
                first_error(tail.first_error.as_deref()),
            ));
        }
        if let Some(replay) = &run.replay {
            out.push_str(&format!(
                "GetRecords replay: {} readers, {} requests, {} errors, {}{}\n",
                replay.readers,
                group(replay.requests),
                group(replay.errors),
                if replay.caught_up {
                    "read to the end"
                } else {
                    "stopped before the end"
                },
                first_error(replay.first_error.as_deref()),
            ));
        }
        let cores = |value: Option<f64>| value.map_or("?".to_string(), |v| format!("{v:.2}"));
        out.push_str(&format!(
            "CPU during the put phase: server {} cores, strata-bench {} cores\n",
            cores(run.cpu.server_cores),
            cores(run.cpu.bench_cores),
        ));
    }
    if let (Some(ratio), [strata, baseline]) = (&report.ratio, report.runs.as_slice()) {
        out.push_str(&format!("\nStrata / {}\n", ratio.baseline));
        let mut table = Table::new(&[
            ("", Align::Left),
            ("strata", Align::Right),
            (ratio.baseline, Align::Right),
            ("ratio", Align::Right),
        ]);
        let mut row = |label: &str, strata: f64, baseline: f64, value: f64, mb: bool| {
            let show = |v: f64| if mb { decimal(v) } else { report::rate(v) };
            table.row(vec![
                label.to_string(),
                show(strata),
                show(baseline),
                ratio_text(value),
            ]);
        };
        row(
            "PutRecords records/s",
            strata.put.throughput.records_per_s,
            baseline.put.throughput.records_per_s,
            ratio.put_records_per_s,
            false,
        );
        row(
            "PutRecords MB/s",
            strata.put.throughput.mb_per_s,
            baseline.put.throughput.mb_per_s,
            ratio.put_mb_per_s,
            true,
        );
        if let (Some(s), Some(b), Some(records), Some(mb)) = (
            &strata.replay,
            &baseline.replay,
            ratio.replay_records_per_s,
            ratio.replay_mb_per_s,
        ) {
            row(
                "GetRecords replay records/s",
                s.throughput.records_per_s,
                b.throughput.records_per_s,
                records,
                false,
            );
            row(
                "GetRecords replay MB/s",
                s.throughput.mb_per_s,
                b.throughput.mb_per_s,
                mb,
                true,
            );
        }
        out.push_str(&table.render());
        out.push_str(&format!(
            "PutRecords request latency p50 / p99: strata {} / {} µs, {} {} / {} µs\n",
            group(strata.put.latency.p50_us),
            group(strata.put.latency.p99_us),
            ratio.baseline,
            group(baseline.put.latency.p50_us),
            group(baseline.put.latency.p99_us),
        ));
    }
    out
}

fn ratio_text(value: f64) -> String {
    if value >= 10.0 {
        format!("{value:.1}x")
    } else {
        ratio(value)
    }
}

fn first_error(error: Option<&str>) -> String {
    error.map_or(String::new(), |e| format!(" (first: {e})"))
}
