//! What the peer-server baselines (`strata-bench redis`, `strata-bench nats`) share: each
//! producer task's tally, driving the producers for the load's duration with the throughput
//! sampled for the plot, and the report with its figure and results table.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::args::Load;
use crate::native;
use crate::pin::Pinning;
use crate::plot::{Figure, Role, Sampler, Timeline};
use crate::report::{self, Latency, Machine, Throughput};
use crate::storage::BoxError;

/// What one producer task, or all of them, saw.
pub struct Tally {
    /// Latency of each measured unit (a round trip, or a publish to its ack).
    pub histogram: hdrhistogram::Histogram<u64>,
    /// Records acknowledged.
    pub ok: u64,
    /// Records answered with an error.
    pub errors: u64,
    pub first_error: Option<String>,
}

impl Tally {
    pub fn new() -> Self {
        Self {
            histogram: report::latency_histogram(),
            ok: 0,
            errors: 0,
            first_error: None,
        }
    }

    /// Adds another task's tally into this one.
    pub fn add(&mut self, other: Self) -> Result<(), BoxError> {
        self.histogram.add(&other.histogram)?;
        self.ok += other.ok;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        Ok(())
    }
}

/// The producers' combined tally, the sampled throughput and how long they ran.
pub struct Driven {
    pub tally: Tally,
    pub timeline: Timeline,
    pub elapsed: Duration,
}

/// Runs `flags.load.producers` tasks of the `mode` on `runtime`, each made by
/// `producer(deadline, acked)`, where a task adds the records acknowledged to `acked` as
/// they come (the sampler reads it), and waits for all of them.
pub fn drive<F, Fut>(
    runtime: &tokio::runtime::Runtime,
    mode: &str,
    flags: &Flags,
    mut producer: F,
) -> Result<Driven, BoxError>
where
    F: FnMut(Instant, Arc<AtomicU64>) -> Fut,
    Fut: Future<Output = Result<Tally, BoxError>> + Send + 'static,
{
    let load = &flags.load;
    eprintln!(
        "{mode}: {} producers, {} records, pipeline {}, {} s",
        load.producers,
        report::size(load.record_bytes),
        flags.pipeline,
        load.duration_secs
    );
    let acked = Arc::new(AtomicU64::new(0));
    let record_bytes = load.record_bytes;
    let started = Instant::now();
    let (tally, timeline) = runtime.block_on(async {
        let sampler = {
            let acked = Arc::clone(&acked);
            Sampler::start(move || {
                let records = acked.load(Ordering::Relaxed);
                (records, records * record_bytes)
            })
        };
        let deadline = Instant::now() + Duration::from_secs_f64(load.duration_secs);
        let tasks: Vec<_> = (0..load.producers)
            .map(|_| tokio::spawn(producer(deadline, Arc::clone(&acked))))
            .collect();
        let mut total = Tally::new();
        for task in tasks {
            total.add(task.await??)?;
        }
        Ok::<_, BoxError>((total, sampler.finish()))
    })?;
    Ok(Driven {
        tally,
        timeline,
        elapsed: started.elapsed(),
    })
}

/// A baseline run's report, with the mode's own configuration `C`.
#[derive(Debug, Serialize)]
pub struct Report<C> {
    pub benchmark: &'static str,
    pub machine: Machine,
    pub config: C,
    /// CPUs of the server and of the load generator, when pinned.
    pub pinning: Option<Pinning>,
    /// Records acknowledged and their payload bytes.
    pub throughput: Throughput,
    /// Per measured unit: the mode's table row says which.
    pub latency: Latency,
    /// Records answered with an error.
    pub errors: u64,
    pub first_error: Option<String>,
}

impl<C> Report<C> {
    /// The report of a run that `driven` describes, on the machine of `dir`.
    pub fn new(
        benchmark: &'static str,
        dir: &std::path::Path,
        config: C,
        pinning: Option<Pinning>,
        driven: Driven,
        record_bytes: u64,
    ) -> Self {
        let Driven {
            tally,
            timeline,
            elapsed,
        } = driven;
        Self {
            benchmark,
            machine: Machine::probe(dir),
            config,
            pinning,
            throughput: Throughput::new(tally.ok, tally.ok * record_bytes, elapsed)
                .with_timeline(timeline),
            latency: Latency::from_histogram(&tally.histogram),
            errors: tally.errors,
            first_error: tally.first_error,
        }
    }

    /// The run as a figure titled `title`: throughput over time labelled `acked`, latency
    /// labelled `latency`. A baseline is itself the comparison, so nothing is drawn beside
    /// it.
    pub fn figure(
        &self,
        title: String,
        record_bytes: u64,
        acked: impl Into<String>,
        latency: impl Into<String>,
    ) -> Figure {
        let mut figure = Figure::new(title, native::caption(&self.machine, self.pinning.as_ref()));
        figure.record_bytes = Some(record_bytes);
        figure.line(acked, Role::Measured, 0, &self.throughput.timeline);
        figure.curve(latency, Role::Measured, 0, &self.latency.curve);
        figure
    }

    /// The results table with its row labelled `row`, then the count of errors (`errors`
    /// names them) and the first one.
    pub fn results(&self, row: &str, errors: &str) -> String {
        format!(
            "{}\n{} {errors}{}\n",
            native::table(&[(row, &self.throughput, Some(&self.latency))]),
            self.errors,
            self.first_error
                .as_ref()
                .map_or(String::new(), |e| format!(" (first: {e})")),
        )
    }
}

/// The flags every baseline mode takes beside its own.
#[derive(Clone, Debug, clap::Args)]
pub struct Flags {
    #[command(flatten)]
    pub load: Load,
    /// Records in flight per producer: XADDs per round trip (redis), publishes awaiting
    /// their ack (nats).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub pipeline: u32,
    /// Pin the spawned server to these CPUs, e.g. `0`, and the load generator to all the
    /// others (as `strata-bench produce --pin-server`).
    #[arg(long, value_parser = crate::pin::parse_cpus)]
    pub pin_server: Option<crate::pin::CpuList>,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
    /// Also draw throughput over time and the latency distribution as SVG to this file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<std::path::PathBuf>,
}

/// What a baseline run starts from: its scratch directory (the spawned server's data and
/// the machine probe's volume), the CPU split, and the server it spawned.
pub struct Setup<S> {
    pub temp: tempfile::TempDir,
    pub pinning: Option<Pinning>,
    pub server: Option<S>,
}

/// Makes the scratch directory `strata-bench-<mode>-…`, spawns the server with `spawn` on
/// the server's CPUs if one is to be spawned, then pins the calling thread (and the threads
/// it starts) to the load generator's.
pub fn set_up<S>(
    mode: &str,
    flags: &Flags,
    spawn: Option<impl FnOnce(&std::path::Path) -> Result<S, BoxError>>,
) -> Result<Setup<S>, BoxError> {
    let temp = tempfile::Builder::new()
        .prefix(&format!("strata-bench-{mode}-"))
        .tempdir_in(".")?;
    let pinning = match &flags.pin_server {
        Some(cpus) => Some(Pinning::split(&cpus.0)?),
        None => None,
    };
    let server = match spawn {
        Some(spawn) => Some(crate::pin::on_server(pinning.as_ref(), || {
            spawn(temp.path())
        })??),
        None => None,
    };
    if let Some(pinning) = &pinning {
        pinning.to_client()?;
    }
    Ok(Setup {
        temp,
        pinning,
        server,
    })
}
