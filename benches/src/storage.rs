//! `strata-bench storage`: the log engine alone, no network.
//!
//! One run measures, on one data directory:
//!
//! 1. the raw disk beneath it (see [`crate::baseline`]);
//! 2. appends for every combination of record size × fsync setting × producer count: producers
//!    are tokio tasks, each looping `Log::append` of `--batch` records to shard
//!    `producer % shards` for the phase's duration; records and bytes are counted from acks and
//!    every append's latency goes into a histogram. Each phase gets a fresh log, deleted after;
//! 3. memory-mapped reads, per record size: the log of that size's largest append phase is
//!    reopened and every shard read from offset 0 to its end on one thread;
//! 4. keyed state changes (`State::change`, one put of a 100-byte value per call, over 1,024
//!    keys per writer) for each `--state-fsync` × `--state-writers`, beside single-record
//!    appends of the same size by the same number of tasks under the same fsync, measured
//!    right before on a fresh log: the ratio is changes/s over those appends/s.

use std::collections::BTreeSet;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use serde::Serialize;
use storage::{
    Fsync, IoBackend, Log, LogConfig, NewRecord, Owner, RETENTION_DEFAULT, ReadLimits, StateChange,
};

use crate::args::{parse_record_size, parse_secs};
use crate::baseline::{self, Buffered, Synced};
use crate::plot::{self, Figure, Role, Sampler, Timeline};
use crate::report::{
    self, Align, Latency, MB, Machine, Progress, Table, Throughput, decimal, group, rate, size,
};

pub type BoxError = Box<dyn Error + Send + Sync>;

const STREAM: &str = "bench";
const READ_RECORDS_MAX: usize = 10_000;
const READ_BYTES_MAX: usize = 10 * 1024 * 1024;

/// Options of `strata-bench storage`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Directory to put the data in [default: a fresh ./strata-bench-data-* removed at the end].
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Record payload sizes (bytes, or with a unit: 1KiB).
    #[arg(long, value_delimiter = ',', default_value = "100,1024", value_parser = parse_record_size)]
    pub sizes: Vec<u64>,
    /// Durability settings to measure: never, interval:<ms>, always.
    #[arg(long, value_delimiter = ',', default_value = "never,interval:5,always")]
    pub fsync: Vec<Fsync>,
    /// Concurrent producer counts to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub producers: Vec<u32>,
    /// Length of each append phase, in seconds (fractions allowed).
    #[arg(long, default_value_t = 3.0, value_parser = parse_secs)]
    pub duration_secs: f64,
    /// Records per append.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: u32,
    /// Shards of the benchmark stream; producer i appends to shard i % shards.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub shards: u32,
    /// Write path: auto, uring or pwrite.
    #[arg(long, default_value = "auto")]
    pub io: IoBackend,
    /// Volume of the buffered raw-disk baseline, in MiB.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub baseline_mib: u64,
    /// Volume of the write+fdatasync raw-disk baseline, in MiB.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    pub baseline_sync_mib: u64,
    /// Durability settings of the state-change phases.
    #[arg(long, value_delimiter = ',', default_value = "interval:5,always")]
    pub state_fsync: Vec<Fsync>,
    /// Concurrent writer counts of the state-change phases (none: `--state-writers ''`).
    #[arg(long, value_delimiter = ',', default_value = "1,64", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub state_writers: Vec<u32>,
    /// Also write every result, with machine and configuration, as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also draw every append phase's MB/s over time and latency distribution, beside the raw
    /// disk, as SVG to this file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

/// Bytes of a state value (and of the record of the matched append phase).
const STATE_VALUE_BYTES: usize = 100;
/// Keys each state writer cycles through.
const STATE_KEYS_PER_WRITER: u32 = 1024;

/// Everything one run found.
#[derive(Debug, Serialize)]
pub struct Report {
    pub benchmark: &'static str,
    pub machine: Machine,
    /// The write path the log actually used (`Log::io_backend`).
    pub io_backend: String,
    pub config: Config,
    pub baseline: Baseline,
    pub append: Vec<AppendResult>,
    pub read: Vec<ReadResult>,
    pub state: Vec<StateResult>,
}

/// One state-change phase and its matched append phase.
#[derive(Clone, Debug, Serialize)]
pub struct StateResult {
    pub fsync: String,
    pub writers: u32,
    /// `State::change` calls acknowledged (one put each).
    pub changes: u64,
    pub changes_per_s: f64,
    /// Latency of one change, from call to acknowledgement.
    pub latency: Latency,
    /// Syncs the log issued during the phase, and changes per sync.
    pub syncs: u64,
    pub changes_per_sync: f64,
    /// Snapshots written during the phase (compaction kept up if this is above zero on long
    /// phases) and live keys at the end.
    pub snapshots_taken: bool,
    pub live_keys: usize,
    /// Single-record appends/s of the same size, same tasks, same fsync, same run.
    pub appends_per_s: f64,
    pub append_latency: Latency,
    /// changes/s over appends/s.
    pub ratio_to_appends: f64,
}

/// The run's settings.
#[derive(Debug, Serialize)]
pub struct Config {
    pub dir: String,
    /// Whether `dir` was a temporary directory, removed at the end.
    pub dir_temporary: bool,
    pub record_sizes: Vec<u64>,
    pub fsync: Vec<String>,
    pub producers: Vec<u32>,
    pub duration_secs: f64,
    pub batch_records: u32,
    pub shards: u32,
    pub io_requested: String,
    pub segment_bytes: u64,
    pub read_records_max: usize,
    pub read_bytes_max: usize,
}

/// The raw-disk baselines.
#[derive(Debug, Serialize)]
pub struct Baseline {
    pub buffered: Buffered,
    pub synced: Synced,
}

/// One append phase.
#[derive(Clone, Debug, Serialize)]
pub struct AppendResult {
    pub record_bytes: u64,
    pub fsync: String,
    pub producers: u32,
    pub io_backend: String,
    /// `Log::append` calls acknowledged.
    pub appends: u64,
    /// Records and payload bytes acknowledged.
    pub throughput: Throughput,
    /// Encoded log bytes (headers, keys and payload) written per second, in MB.
    pub log_mb_per_s: f64,
    /// Latency of one `Log::append` call, from call to acknowledgement.
    pub latency: Latency,
    /// Payload MB/s over the buffered raw-disk baseline.
    pub ratio_to_raw_buffered: f64,
    /// For `fsync = always`: payload MB/s over the write+fdatasync raw-disk baseline.
    pub ratio_to_raw_synced: Option<f64>,
    /// The log's commit counters for the phase: how well group commit batched.
    pub commit: CommitStats,
}

/// Group-commit effectiveness over one phase (`Log::commit_counters`).
#[derive(Clone, Debug, Serialize)]
pub struct CommitStats {
    /// Write submissions (commit rounds).
    pub rounds: u64,
    /// `fdatasync` rounds (each covers every file written since the previous one).
    pub syncs: u64,
    /// Acknowledged appends per commit round.
    pub appends_per_round: f64,
    /// Acknowledged appends per sync.
    pub appends_per_sync: f64,
}

/// One read-back of a log.
#[derive(Clone, Debug, Serialize)]
pub struct ReadResult {
    pub record_bytes: u64,
    /// The append phase whose log was read.
    pub source_fsync: String,
    pub source_producers: u32,
    pub shards: u32,
    /// Time to reopen (recover) the log before reading.
    pub open_secs: f64,
    /// `Log::read` calls made.
    pub reads: u64,
    /// Records and payload bytes read.
    pub throughput: Throughput,
    /// Sum of one byte of every record, so the reads cannot be skipped.
    pub checksum: u64,
}

/// The data directory and what to remove if the run is interrupted.
struct WorkDir {
    root: PathBuf,
    temporary: Option<tempfile::TempDir>,
    live: Arc<Mutex<BTreeSet<PathBuf>>>,
}

impl WorkDir {
    fn new(dir: Option<&Path>) -> std::io::Result<Self> {
        let (root, temporary) = match dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                (dir.to_path_buf(), None)
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("strata-bench-data-")
                    .tempdir_in(".")?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        let live = Arc::new(Mutex::new(BTreeSet::new()));
        if temporary.is_some() {
            lock(&live).insert(root.clone());
        }
        Ok(Self {
            root,
            temporary,
            live,
        })
    }

    /// A fresh path under the root, removed on interrupt until [`WorkDir::remove`].
    fn path(&self, name: &str) -> PathBuf {
        let path = self.root.join(name);
        lock(&self.live).insert(path.clone());
        path
    }

    fn remove(&self, path: &Path) {
        let _ = if path.is_dir() {
            std::fs::remove_dir_all(path)
        } else {
            std::fs::remove_file(path)
        };
        lock(&self.live).remove(path);
    }

    /// On Ctrl-C, removes what the run created and exits.
    fn remove_on_interrupt(&self, runtime: &tokio::runtime::Runtime) {
        let live = self.live.clone();
        runtime.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\ninterrupted: removing benchmark data");
                for path in lock(&live).iter().rev() {
                    let _ = std::fs::remove_dir_all(path);
                    let _ = std::fs::remove_file(path);
                }
                std::process::exit(130);
            }
        });
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs the whole benchmark, prints the table and writes the JSON report if asked.
pub fn run(args: &Args) -> Result<Report, BoxError> {
    if args.sizes.is_empty() || args.fsync.is_empty() || args.producers.is_empty() {
        return Err("--sizes, --fsync and --producers each need at least one value".into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let work = WorkDir::new(args.dir.as_deref())?;
    work.remove_on_interrupt(&runtime);
    let machine = Machine::probe(&work.root);
    let segment_bytes = LogConfig::new(&work.root).segment_bytes_max;
    let phases = args.sizes.len() * args.fsync.len() * args.producers.len();
    let state_phases = args.state_fsync.len() * args.state_writers.len();
    let mut progress = Progress::new(2 + phases + args.sizes.len() + 2 * state_phases);

    let baseline_bytes = args.baseline_mib * 1024 * 1024;
    progress.start(&format!(
        "baseline: {} in {} writes, then fdatasync",
        size(baseline_bytes),
        size(baseline::BUFFERED_WRITE_BYTES as u64)
    ));
    let path = work.path("baseline-buffered.dat");
    let buffered = baseline::buffered(&path, baseline_bytes)?;
    work.remove(&path);
    progress.finish(&format!("{} MB/s", decimal(buffered.mb_per_s)));

    let sync_bytes = args.baseline_sync_mib * 1024 * 1024;
    progress.start(&format!(
        "baseline: {} in {} writes, fdatasync after each",
        size(sync_bytes),
        size(baseline::SYNCED_WRITE_BYTES as u64)
    ));
    let path = work.path("baseline-synced.dat");
    let synced = baseline::synced(&path, sync_bytes)?;
    work.remove(&path);
    progress.finish(&format!(
        "{} MB/s, {} syncs/s",
        decimal(synced.mb_per_s),
        rate(synced.syncs_per_s)
    ));

    let mut appends = Vec::new();
    let mut reads = Vec::new();
    let mut phase = 0usize;
    for &record_bytes in &args.sizes {
        // The log of this size's largest phase, kept for the read-back.
        let mut kept: Option<(PathBuf, AppendResult)> = None;
        for &fsync in &args.fsync {
            for &producers in &args.producers {
                phase += 1;
                progress.start(&format!(
                    "append {} fsync={fsync} producers={producers}",
                    size(record_bytes)
                ));
                let dir = work.path(&format!("append-{phase}"));
                let spec = AppendSpec {
                    record_bytes,
                    fsync,
                    producers,
                    batch: args.batch,
                    shards: args.shards,
                    io: args.io,
                    duration: Duration::from_secs_f64(args.duration_secs),
                };
                let mut result = append_phase(&runtime, &dir, &spec)?;
                result.ratio_to_raw_buffered = result.throughput.mb_per_s / buffered.mb_per_s;
                if fsync == Fsync::Always {
                    result.ratio_to_raw_synced = Some(result.throughput.mb_per_s / synced.mb_per_s);
                }
                progress.finish(&format!(
                    "{} rec/s, {} MB/s, p99 {} µs, io={}",
                    rate(result.throughput.records_per_s),
                    decimal(result.throughput.mb_per_s),
                    group(result.latency.p99_us),
                    result.io_backend
                ));
                let larger = kept
                    .as_ref()
                    .is_none_or(|(_, best)| result.throughput.bytes > best.throughput.bytes);
                if larger {
                    if let Some((old, _)) = kept.take() {
                        work.remove(&old);
                    }
                    kept = Some((dir, result.clone()));
                } else {
                    work.remove(&dir);
                }
                appends.push(result);
            }
        }
        if let Some((dir, source)) = kept {
            progress.start(&format!(
                "read {} (log of fsync={} producers={}), mmap, 1 thread",
                size(record_bytes),
                source.fsync,
                source.producers
            ));
            let result = read_phase(&dir, &source, args)?;
            work.remove(&dir);
            progress.finish(&format!(
                "{} rec/s, {} MB/s",
                rate(result.throughput.records_per_s),
                decimal(result.throughput.mb_per_s)
            ));
            reads.push(result);
        }
    }

    let mut states = Vec::new();
    for &fsync in &args.state_fsync {
        for &writers in &args.state_writers {
            phase += 1;
            let spec = AppendSpec {
                record_bytes: STATE_VALUE_BYTES as u64,
                fsync,
                producers: writers,
                batch: 1,
                shards: args.shards,
                io: args.io,
                duration: Duration::from_secs_f64(args.duration_secs),
            };
            progress.start(&format!(
                "append {STATE_VALUE_BYTES} B one record per append fsync={fsync} producers={writers}"
            ));
            let dir = work.path(&format!("append-{phase}"));
            let matched = append_phase(&runtime, &dir, &spec)?;
            work.remove(&dir);
            progress.finish(&format!(
                "{} appends/s, p99 {} µs",
                rate(matched.appends as f64 / matched.throughput.secs),
                group(matched.latency.p99_us)
            ));
            progress.start(&format!(
                "state change {STATE_VALUE_BYTES} B fsync={fsync} writers={writers}"
            ));
            let dir = work.path(&format!("state-{phase}"));
            let result = state_phase(&runtime, &dir, &spec, &matched)?;
            work.remove(&dir);
            progress.finish(&format!(
                "{} changes/s, p99 {} µs, {} the appends/s",
                rate(result.changes_per_s),
                group(result.latency.p99_us),
                report::ratio(result.ratio_to_appends)
            ));
            states.push(result);
        }
    }

    let backends: BTreeSet<&str> = appends.iter().map(|a| a.io_backend.as_str()).collect();
    let report = Report {
        benchmark: "storage",
        machine,
        io_backend: backends.into_iter().collect::<Vec<_>>().join(","),
        config: Config {
            dir: std::fs::canonicalize(&work.root)
                .unwrap_or_else(|_| work.root.clone())
                .display()
                .to_string(),
            dir_temporary: work.temporary.is_some(),
            record_sizes: args.sizes.clone(),
            fsync: args.fsync.iter().map(ToString::to_string).collect(),
            producers: args.producers.clone(),
            duration_secs: args.duration_secs,
            batch_records: args.batch,
            shards: args.shards,
            io_requested: args.io.to_string(),
            segment_bytes,
            read_records_max: READ_RECORDS_MAX,
            read_bytes_max: READ_BYTES_MAX,
        },
        baseline: Baseline { buffered, synced },
        append: appends,
        read: reads,
        state: states,
    };
    drop(work);
    Ok(report)
}

/// One append phase's settings.
struct AppendSpec {
    record_bytes: u64,
    fsync: Fsync,
    producers: u32,
    batch: u32,
    shards: u32,
    io: IoBackend,
    duration: Duration,
}

/// What one producer task did.
struct ProducerTally {
    appends: u64,
    records: u64,
    latency: Histogram<u64>,
}

/// Opens a fresh log in `dir`, runs the producers, closes the log (leaving its files).
fn append_phase(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    spec: &AppendSpec,
) -> Result<AppendResult, BoxError> {
    let mut config = LogConfig::new(dir);
    config.fsync = spec.fsync;
    config.io = spec.io;
    let log = Log::open(config)?;
    log.create_stream(STREAM, spec.shards, RETENTION_DEFAULT, Owner::KINESIS)?;
    let payload = Bytes::from(
        (0..spec.record_bytes)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let outcome = runtime.block_on(run_producers(&log, spec, payload.clone()));
    let counters = log.commit_counters();
    let closed = log.close();
    let (tallies, elapsed, timeline) = outcome?;
    closed?;

    let mut latency = report::latency_histogram();
    let (mut appends, mut records) = (0u64, 0u64);
    for tally in &tallies {
        appends += tally.appends;
        records += tally.records;
        latency.add(&tally.latency)?;
    }
    let throughput =
        Throughput::new(records, records * spec.record_bytes, elapsed).with_timeline(timeline);
    let sample: Vec<NewRecord> = (0..spec.batch)
        .map(|_| NewRecord::new(producer_key(0), payload.clone()))
        .collect();
    let log_bytes = appends * storage::record::batch_len(&sample) as u64;
    Ok(AppendResult {
        record_bytes: spec.record_bytes,
        fsync: spec.fsync.to_string(),
        producers: spec.producers,
        io_backend: log.io_backend().to_string(),
        appends,
        log_mb_per_s: log_bytes as f64 / MB / throughput.secs,
        throughput,
        latency: Latency::from_histogram(&latency),
        ratio_to_raw_buffered: 0.0,
        ratio_to_raw_synced: None,
        commit: CommitStats {
            rounds: counters.rounds,
            syncs: counters.syncs,
            appends_per_round: counters.appends as f64 / counters.rounds.max(1) as f64,
            appends_per_sync: counters.appends as f64 / counters.syncs.max(1) as f64,
        },
    })
}

/// Opens a fresh log in `dir` with one stream's state, runs `spec.producers` writers each
/// putting 100-byte values, one per call, for the phase's duration.
fn state_phase(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    spec: &AppendSpec,
    matched: &AppendResult,
) -> Result<StateResult, BoxError> {
    let mut config = LogConfig::new(dir);
    config.fsync = spec.fsync;
    config.io = spec.io;
    let log = Log::open(config)?;
    log.create_stream(STREAM, 1, RETENTION_DEFAULT, Owner::new("bench")?)?;
    let state = log.create_state(STREAM)?;
    let before = log.commit_counters();
    let outcome = runtime.block_on(async {
        let started = Instant::now();
        let deadline = started + spec.duration;
        let mut tasks = tokio::task::JoinSet::new();
        for writer in 0..spec.producers {
            let state = state.clone();
            tasks.spawn(async move {
                let value = Bytes::from(vec![b'v'; STATE_VALUE_BYTES]);
                let mut latency = report::latency_histogram();
                let mut changes = 0u64;
                let mut i = 0u32;
                while Instant::now() < deadline {
                    let key = format!("w{writer:05}/k{:04}", i % STATE_KEYS_PER_WRITER);
                    i = i.wrapping_add(1);
                    let sent = Instant::now();
                    state
                        .change(vec![StateChange::put(key, value.clone())])
                        .await?;
                    report::record_latency(&mut latency, sent.elapsed());
                    changes += 1;
                }
                Ok::<_, storage::Error>((changes, latency))
            });
        }
        let mut tallies = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            tallies.push(joined??);
        }
        Ok::<_, BoxError>((tallies, started.elapsed()))
    });
    let counters = log.commit_counters();
    let stats = state.stats();
    let closed = log.close();
    let (tallies, elapsed) = outcome?;
    closed?;
    let stats = stats?;
    let mut latency = report::latency_histogram();
    let mut changes = 0;
    for (count, histogram) in &tallies {
        changes += count;
        latency.add(histogram)?;
    }
    let syncs = counters.syncs - before.syncs;
    let changes_per_s = changes as f64 / elapsed.as_secs_f64();
    let appends_per_s = matched.appends as f64 / matched.throughput.secs;
    Ok(StateResult {
        fsync: spec.fsync.to_string(),
        writers: spec.producers,
        changes,
        changes_per_s,
        latency: Latency::from_histogram(&latency),
        syncs,
        changes_per_sync: changes as f64 / syncs.max(1) as f64,
        snapshots_taken: stats.snapshot_offset.is_some(),
        live_keys: stats.entries,
        appends_per_s,
        append_latency: matched.latency.clone(),
        ratio_to_appends: changes_per_s / appends_per_s.max(f64::MIN_POSITIVE),
    })
}

/// Partition key of a producer; every producer's keys are the same length.
fn producer_key(id: u32) -> Bytes {
    Bytes::from(format!("producer-{id:06}"))
}

/// Runs the producers for the phase's duration; returns what each did, the time taken, and
/// the records acknowledged over time.
async fn run_producers(
    log: &Log,
    spec: &AppendSpec,
    payload: Bytes,
) -> Result<(Vec<ProducerTally>, Duration, Timeline), BoxError> {
    // Records acknowledged so far, for the plot: one relaxed add per append (of `--batch`
    // records), beside the append's own work in the commit queue.
    let acked = Arc::new(AtomicU64::new(0));
    let sampler = {
        let acked = Arc::clone(&acked);
        let record_bytes = spec.record_bytes;
        Sampler::start(move || {
            let records = acked.load(Ordering::Relaxed);
            (records, records * record_bytes)
        })
    };
    let started = Instant::now();
    let deadline = started + spec.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for id in 0..spec.producers {
        let log = log.clone();
        let key = producer_key(id);
        let payload = payload.clone();
        let shard = id % spec.shards;
        let batch = spec.batch;
        let acked = Arc::clone(&acked);
        tasks.spawn(async move {
            let mut tally = ProducerTally {
                appends: 0,
                records: 0,
                latency: report::latency_histogram(),
            };
            while Instant::now() < deadline {
                let records: Vec<NewRecord> = (0..batch)
                    .map(|_| NewRecord::new(key.clone(), payload.clone()))
                    .collect();
                let sent = Instant::now();
                let ack = log.append(STREAM, shard, records).await?;
                report::record_latency(&mut tally.latency, sent.elapsed());
                tally.appends += 1;
                tally.records += u64::from(ack.record_count);
                acked.fetch_add(u64::from(ack.record_count), Ordering::Relaxed);
            }
            Ok::<_, storage::Error>(tally)
        });
    }
    let mut tallies = Vec::with_capacity(spec.producers as usize);
    while let Some(joined) = tasks.join_next().await {
        tallies.push(joined??);
    }
    let elapsed = started.elapsed();
    Ok((tallies, elapsed, sampler.finish()))
}

/// Reopens the log in `dir` and reads every shard from offset 0 to its end.
fn read_phase(dir: &Path, source: &AppendResult, args: &Args) -> Result<ReadResult, BoxError> {
    let mut config = LogConfig::new(dir);
    config.io = args.io;
    let opening = Instant::now();
    let log = Log::open(config)?;
    let open_secs = opening.elapsed().as_secs_f64();
    let limits = ReadLimits {
        records_max: READ_RECORDS_MAX,
        bytes_max: READ_BYTES_MAX,
    };
    let (mut records, mut bytes, mut reads, mut checksum) = (0u64, 0u64, 0u64, 0u64);
    let started = Instant::now();
    for shard in 0..args.shards {
        let end = log.shard_bounds(STREAM, shard)?.next;
        let mut from = 0;
        while from < end {
            let batch = log.read(STREAM, shard, from, limits)?;
            reads += 1;
            if batch.records.is_empty() {
                break;
            }
            for record in &batch.records {
                checksum += u64::from(record.data.first().copied().unwrap_or(0));
                bytes += record.data.len() as u64;
            }
            records += batch.records.len() as u64;
            from = batch.next_offset;
        }
    }
    let elapsed = started.elapsed();
    std::hint::black_box(checksum);
    log.close()?;
    if records != source.throughput.records {
        return Err(format!(
            "read back {records} records but {} were acknowledged",
            source.throughput.records
        )
        .into());
    }
    Ok(ReadResult {
        record_bytes: source.record_bytes,
        source_fsync: source.fsync.clone(),
        source_producers: source.producers,
        shards: args.shards,
        open_secs,
        reads,
        throughput: Throughput::new(records, bytes, elapsed),
        checksum,
    })
}

/// Every append phase as a figure: payload MB/s over time beside the raw disk's buffered and
/// write+fdatasync rates, and append latency beside one write+fdatasync of the raw disk.
pub fn figure(report: &Report) -> Figure {
    let config = &report.config;
    let mut figure = Figure::new(
        format!(
            "strata-bench storage: appends of {} records, {} s per phase, io={}",
            config.batch_records, config.duration_secs, report.io_backend
        ),
        report.machine.describe(),
    );
    figure.by_bytes = true;
    let buffered = &report.baseline.buffered;
    figure.level_mb(
        format!(
            "raw disk: {} buffered writes, {} MB/s",
            size(buffered.bytes),
            decimal(buffered.mb_per_s)
        ),
        plot::GRAY,
        buffered.mb_per_s,
    );
    let synced = &report.baseline.synced;
    figure.synced_disk_level(synced.write_bytes, synced.mb_per_s);
    // The raw disk's gray and brown are kept for the baselines.
    let colors = (0..).filter(|c| *c != plot::GRAY && *c != plot::BROWN);
    for (result, color) in report.append.iter().zip(colors) {
        let label = format!(
            "{} fsync={} ×{}",
            size(result.record_bytes),
            result.fsync,
            result.producers
        );
        figure.line(
            label.clone(),
            Role::Measured,
            color,
            &result.throughput.timeline,
        );
        figure.curve(label, Role::Measured, color, &result.latency.curve);
    }
    figure.curve(
        format!("raw disk: one {} write+fdatasync", size(synced.write_bytes)),
        Role::Baseline,
        plot::BROWN,
        &synced.latency.curve,
    );
    figure
}

/// The report as text tables.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let fs = report.machine.fs.as_ref().map_or_else(
        || "unknown filesystem".to_string(),
        |fs| format!("{} on {} ({})", fs.fs_type, fs.source, fs.mount_point),
    );
    let config = &report.config;
    out.push_str("Strata storage benchmark\n");
    out.push_str(&format!(
        "  machine  {} CPUs, kernel {}, {fs}\n",
        report.machine.nproc, report.machine.kernel
    ));
    out.push_str(&format!(
        "  io       {} (requested {})\n",
        report.io_backend, config.io_requested
    ));
    out.push_str(&format!(
        "  phases   {} s each, {} records per append, {} shards, {} segments, fresh log per phase\n",
        config.duration_secs,
        config.batch_records,
        config.shards,
        size(config.segment_bytes)
    ));
    out.push_str(&format!("  data     {}\n\n", config.dir));

    out.push_str("Raw disk baseline (same filesystem)\n");
    let mut table = Table::new(&[
        ("test", Align::Left),
        ("volume", Align::Right),
        ("MB/s", Align::Right),
        ("syncs/s", Align::Right),
        ("p50 µs", Align::Right),
        ("p99 µs", Align::Right),
    ]);
    let buffered = &report.baseline.buffered;
    table.row(vec![
        format!(
            "{} writes, then one fdatasync (buffered)",
            size(buffered.write_bytes)
        ),
        size(buffered.bytes),
        decimal(buffered.mb_per_s),
        "-".into(),
        "-".into(),
        "-".into(),
    ]);
    let synced = &report.baseline.synced;
    table.row(vec![
        format!(
            "{} writes, fdatasync after each (synced)",
            size(synced.write_bytes)
        ),
        size(synced.bytes),
        decimal(synced.mb_per_s),
        rate(synced.syncs_per_s),
        group(synced.latency.p50_us),
        group(synced.latency.p99_us),
    ]);
    out.push_str(&table.render());

    out.push_str(
        "\nAppends (MB/s of payload; log MB/s includes headers and keys; \
         x buffered / x synced = payload MB/s over the baselines)\n",
    );
    let mut table = Table::new(&[
        ("size", Align::Left),
        ("fsync", Align::Left),
        ("producers", Align::Right),
        ("rec/s", Align::Right),
        ("MB/s", Align::Right),
        ("log MB/s", Align::Right),
        ("p50 µs", Align::Right),
        ("p99 µs", Align::Right),
        ("p999 µs", Align::Right),
        ("max µs", Align::Right),
        ("x buffered", Align::Right),
        ("x synced", Align::Right),
        ("appends/round", Align::Right),
        ("appends/sync", Align::Right),
    ]);
    for result in &report.append {
        table.row(vec![
            size(result.record_bytes),
            result.fsync.clone(),
            result.producers.to_string(),
            rate(result.throughput.records_per_s),
            decimal(result.throughput.mb_per_s),
            decimal(result.log_mb_per_s),
            group(result.latency.p50_us),
            group(result.latency.p99_us),
            group(result.latency.p999_us),
            group(result.latency.max_us),
            report::ratio(result.ratio_to_raw_buffered),
            result
                .ratio_to_raw_synced
                .map_or_else(|| "-".into(), report::ratio),
            format!("{:.1}", result.commit.appends_per_round),
            format!("{:.1}", result.commit.appends_per_sync),
        ]);
    }
    out.push_str(&table.render());

    out.push_str(&format!(
        "\nReads (mmap, one thread over every shard from offset 0, {} records / {} per read)\n",
        group(config.read_records_max as u64),
        size(config.read_bytes_max as u64)
    ));
    let mut table = Table::new(&[
        ("size", Align::Left),
        ("log of", Align::Left),
        ("records", Align::Right),
        ("open ms", Align::Right),
        ("rec/s", Align::Right),
        ("MB/s", Align::Right),
    ]);
    for result in &report.read {
        table.row(vec![
            size(result.record_bytes),
            format!(
                "fsync={} producers={}",
                result.source_fsync, result.source_producers
            ),
            group(result.throughput.records),
            decimal(result.open_secs * 1000.0),
            rate(result.throughput.records_per_s),
            decimal(result.throughput.mb_per_s),
        ]);
    }
    out.push_str(&table.render());

    if !report.state.is_empty() {
        out.push_str(&format!(
            "\nKeyed state changes (one {STATE_VALUE_BYTES}-byte put per call) beside \
             single-record appends of the same size, tasks and fsync\n"
        ));
        let mut table = Table::new(&[
            ("fsync", Align::Left),
            ("writers", Align::Right),
            ("changes/s", Align::Right),
            ("p50 µs", Align::Right),
            ("p99 µs", Align::Right),
            ("p999 µs", Align::Right),
            ("changes/sync", Align::Right),
            ("appends/s", Align::Right),
            ("append p99 µs", Align::Right),
            ("x appends", Align::Right),
        ]);
        for result in &report.state {
            table.row(vec![
                result.fsync.clone(),
                result.writers.to_string(),
                rate(result.changes_per_s),
                group(result.latency.p50_us),
                group(result.latency.p99_us),
                group(result.latency.p999_us),
                format!("{:.1}", result.changes_per_sync),
                rate(result.appends_per_s),
                group(result.append_latency.p99_us),
                report::ratio(result.ratio_to_appends),
            ]);
        }
        out.push_str(&table.render());
    }
    out
}
