//! `strata-bench sqs`: the SQS API over HTTP, against Strata and against moto's server as the
//! baseline.
//!
//! Two phases, each on a queue of its own created for it (and deleted after it):
//!
//! - *Send*: `--connections` tasks, each on its own HTTP/1.1 connection, send
//!   SendMessageBatch requests of 10 messages of `--message-bytes` random printable ASCII one
//!   after the other for `--duration-secs`. Messages/s counts the entries accepted.
//! - *Cycle*: the same connections loop on SendMessageBatch, then ReceiveMessage (up to 10
//!   messages, a 1 s long poll), then DeleteMessageBatch of what came back. Messages/s counts
//!   the messages deleted; latency is reported per request type.
//!
//! Every answer must be 200: other answers and broken connections count as failed requests,
//! entries in a batch answer's `Failed` as failed entries; a connection gives up after ten
//! failures in a row. The target is a running server (`--endpoint`), a `strata serve` spawned
//! on a temporary directory (`--spawn-server`), moto's server spawned in memory
//! (`--spawn-moto`), or, with `--compare`, a spawned Strata and then a spawned moto's server
//! under the same load, with the ratio Strata / moto of both phases.

pub(crate) mod load;
pub mod wire;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use self::load::{Counters, Outcome, Requests, Ticker, Worker};
use self::wire::{Connection, SendBatch};
use crate::kinesis::load::cpu_time;
use crate::kinesis::wire::Endpoint;
use crate::plot::{Figure, Role};
use crate::report::{self, Align, Latency, Machine, Table, Throughput, decimal, group, size};
use crate::spawn::{MotoServer, StrataServer};
use crate::storage::BoxError;

/// Messages in every SendMessageBatch (the SQS limit).
const BATCH_ENTRIES: usize = protocol::aws::sqs::limits::BATCH_ENTRIES_MAX;

/// Options of `strata-bench sqs`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// SQS endpoint of a running server (not used with --spawn-server, --spawn-moto or
    /// --compare).
    #[arg(long, default_value = "http://127.0.0.1:4566")]
    pub endpoint: String,
    /// Start `strata serve` (next to this executable) on a temporary directory and free
    /// ports, and stop it at the end.
    #[arg(long)]
    pub spawn_server: bool,
    /// Start moto's server, the baseline, in memory on a free port, and stop it at the end.
    #[arg(long)]
    pub spawn_moto: bool,
    /// Run against a spawned Strata, then a spawned moto's server, and report both with the
    /// ratio Strata / moto.
    #[arg(long)]
    pub compare: bool,
    /// moto's server executable (default: `moto_server` on PATH, else installed with pip
    /// into a virtual environment in $XDG_CACHE_HOME/strata-bench/moto on first use).
    #[arg(long)]
    pub moto_server: Option<PathBuf>,
    /// Prefix of the queue names; each phase creates `<prefix>-<phase>-<time>`.
    #[arg(long, default_value = "strata-bench", value_parser = parse_queue_prefix)]
    pub queue_prefix: String,
    /// Message body size (bytes, or with a unit: 1KiB); 10 make one SendMessageBatch.
    #[arg(long, default_value = "1024", value_parser = parse_message_size)]
    pub message_bytes: u64,
    /// Connections, each with one request in flight.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub connections: u32,
    /// How long each phase runs, in seconds (fractions allowed).
    #[arg(long, default_value_t = 5.0, value_parser = crate::args::parse_secs)]
    pub duration_secs: f64,
    /// Durability of the spawned Strata server: always, interval:<ms> or never.
    #[arg(long, default_value = "interval:5")]
    pub fsync: String,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also draw each phase's throughput over time and request latency distribution,
    /// Strata's beside the baseline's with --compare, as SVG to this file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

/// A queue name prefix that leaves room for the phase and time suffix (SQS names: 1-80 of
/// letters, digits, `-` and `_`).
fn parse_queue_prefix(text: &str) -> Result<String, String> {
    let valid = (1..=40).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if valid {
        Ok(text.to_string())
    } else {
        Err(format!(
            "invalid queue prefix {text:?}: 1-40 of a-z, A-Z, 0-9, _ -"
        ))
    }
}

/// A message size such that 10 fit one SendMessageBatch.
fn parse_message_size(text: &str) -> Result<u64, String> {
    let bytes = report::parse_size(text)?;
    let max = (protocol::aws::sqs::limits::BATCH_BYTES_MAX / BATCH_ENTRIES) as u64;
    if bytes == 0 || bytes > max {
        return Err(format!(
            "message size {text} must be 1 byte to {} (10 per 1 MiB batch)",
            size(max)
        ));
    }
    Ok(bytes)
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
    pub message_bytes: u64,
    pub batch_entries: usize,
    pub connections: u32,
    pub duration_secs: f64,
    pub receive_messages_max: u32,
    pub receive_wait_secs: u32,
}

/// One server under the load.
#[derive(Debug, Serialize)]
pub struct Run {
    /// `strata`, `moto`, or `external`.
    pub server: &'static str,
    /// How it ran: `spawned, fsync=interval:5`, `spawned, in memory`, `external server`.
    pub setup: String,
    pub endpoint: String,
    pub send: Phase,
    pub cycle: Phase,
}

/// One phase on one server.
#[derive(Debug, Serialize)]
pub struct Phase {
    pub queue_url: String,
    /// The phase's figure: messages sent (send phase) or deleted (cycle phase), with their
    /// body bytes, from the first request to the last answer.
    pub throughput: Throughput,
    pub send: RequestResult,
    /// `None` in the send phase.
    pub receive: Option<RequestResult>,
    pub delete: Option<RequestResult>,
    pub sent_messages: u64,
    pub received_messages: u64,
    /// ReceiveMessage answers with no message.
    pub empty_receives: u64,
    pub deleted_messages: u64,
    /// Batch entries answered in `Failed`.
    pub failed_entries: u64,
    /// Requests answered with a status other than 200, or not answered.
    pub failed_requests: u64,
    /// TCP connections opened.
    pub connects: u64,
    pub first_error: Option<String>,
    pub cpu: Cpu,
}

/// One request type in one phase.
#[derive(Debug, Serialize)]
pub struct RequestResult {
    /// Messages it carried (sent, received or deleted) per second of the phase.
    pub throughput: Throughput,
    /// Per answered request.
    pub latency: Latency,
    pub requests: u64,
    pub failed_requests: u64,
}

/// Cores busy on average during a phase, in CPU seconds per second.
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
    pub send_messages_per_s: f64,
    pub send_mb_per_s: f64,
    pub cycle_messages_per_s: f64,
    pub cycle_mb_per_s: f64,
}

/// A server to run the load against.
pub(crate) struct Target {
    pub(crate) server: &'static str,
    pub(crate) setup: String,
    pub(crate) endpoint: Endpoint,
    pub(crate) pid: Option<u32>,
}

/// Which servers a benchmark of an AWS API runs against, from its options.
pub(crate) struct Servers<'a> {
    /// A spawned `strata serve` (`--spawn-server` or `--compare`).
    pub(crate) strata: bool,
    /// A spawned moto's server (`--spawn-moto` or `--compare`).
    pub(crate) moto: bool,
    pub(crate) moto_server: Option<&'a std::path::Path>,
    /// The running server used when nothing is spawned.
    pub(crate) endpoint: &'a str,
    pub(crate) fsync: &'a str,
    /// Where a spawned Strata keeps its data.
    pub(crate) data_dir: &'a std::path::Path,
}

impl Servers<'_> {
    /// Runs `work` against every server asked for, in order (Strata first), each spawned
    /// server stopped after its run.
    pub(crate) fn each<R>(
        &self,
        mut work: impl FnMut(&Target) -> Result<R, BoxError>,
    ) -> Result<Vec<R>, BoxError> {
        // Found (or installed) before anything runs, so a missing baseline fails fast.
        let moto = if self.moto {
            Some(crate::spawn::moto_server_binary(self.moto_server)?)
        } else {
            None
        };
        let mut runs = Vec::new();
        if self.strata {
            let data = self.data_dir.join("strata");
            std::fs::create_dir_all(&data)?;
            let server = StrataServer::start(&data, self.fsync)?;
            let target = Target {
                server: "strata",
                setup: format!("spawned, fsync={}", self.fsync),
                endpoint: Endpoint::at(server.http)?,
                pid: Some(server.pid()),
            };
            eprintln!(
                "strata serve (fsync={}) listening on {}",
                self.fsync, target.endpoint.url
            );
            let outcome = work(&target);
            let stopped = server.stop();
            runs.push(outcome?);
            stopped?;
            std::fs::remove_dir_all(&data)?;
        } else if !self.moto {
            let target = Target {
                server: "external",
                setup: "external server".into(),
                endpoint: Endpoint::parse(self.endpoint)?,
                pid: None,
            };
            runs.push(work(&target)?);
        }
        if let Some(binary) = moto {
            let server = MotoServer::start(&binary)?;
            let target = Target {
                server: "moto",
                setup: "spawned, in memory".into(),
                endpoint: Endpoint::at(server.addr)?,
                pid: Some(server.pid()),
            };
            eprintln!(
                "moto's server ({}) listening on {}",
                binary.display(),
                target.endpoint.url
            );
            let outcome = work(&target);
            let stopped = server.stop();
            runs.push(outcome?);
            stopped?;
        }
        Ok(runs)
    }
}

/// Runs the benchmark against every server asked for.
pub fn run(args: &Args) -> Result<Report, BoxError> {
    let temp = tempfile::Builder::new()
        .prefix("strata-bench-data-sqs-")
        .tempdir_in(".")?;
    let servers = Servers {
        strata: args.compare || args.spawn_server,
        moto: args.compare || args.spawn_moto,
        moto_server: args.moto_server.as_deref(),
        endpoint: &args.endpoint,
        fsync: &args.fsync,
        data_dir: temp.path(),
    };
    let runs = servers.each(|target| on_runtime(run_target(target, args)))?;
    let ratio = match runs.as_slice() {
        [strata, baseline] if strata.server == "strata" => Some(Ratio {
            baseline: baseline.server,
            send_messages_per_s: over(
                strata.send.throughput.records_per_s,
                baseline.send.throughput.records_per_s,
            ),
            send_mb_per_s: over(
                strata.send.throughput.mb_per_s,
                baseline.send.throughput.mb_per_s,
            ),
            cycle_messages_per_s: over(
                strata.cycle.throughput.records_per_s,
                baseline.cycle.throughput.records_per_s,
            ),
            cycle_mb_per_s: over(
                strata.cycle.throughput.mb_per_s,
                baseline.cycle.throughput.mb_per_s,
            ),
        }),
        _ => None,
    };
    Ok(Report {
        benchmark: "sqs",
        machine: Machine::probe(temp.path()),
        config: Config {
            message_bytes: args.message_bytes,
            batch_entries: BATCH_ENTRIES,
            connections: args.connections,
            duration_secs: args.duration_secs,
            receive_messages_max: load::RECEIVE_MESSAGES_MAX,
            receive_wait_secs: load::RECEIVE_WAIT_SECS,
        },
        runs,
        ratio,
    })
}

/// `value / baseline`, without dividing by zero.
pub(crate) fn over(value: f64, baseline: f64) -> f64 {
    value / baseline.max(1e-9)
}

/// Runs `work` on a runtime of its own, so nothing of one server's run outlives it.
pub(crate) fn on_runtime<T>(
    work: impl std::future::Future<Output = Result<T, BoxError>>,
) -> Result<T, BoxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(work);
    runtime.shutdown_timeout(Duration::from_secs(1));
    outcome
}

/// The send phase, then the cycle phase, each on a fresh queue.
async fn run_target(target: &Target, args: &Args) -> Result<Run, BoxError> {
    let send = phase(target, args, false).await?;
    let cycle = phase(target, args, true).await?;
    Ok(Run {
        server: target.server,
        setup: target.setup.clone(),
        endpoint: target.endpoint.url.clone(),
        send,
        cycle,
    })
}

/// One phase: creates its queue, runs the connections for the duration, deletes the queue.
async fn phase(target: &Target, args: &Args, cycle: bool) -> Result<Phase, BoxError> {
    let name = if cycle { "cycle" } else { "send" };
    let millis = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let queue = format!("{}-{name}-{millis}", args.queue_prefix);
    let mut admin = Connection::open(&target.endpoint).await?;
    let queue_url = wire::create_queue(&mut admin, &queue).await?;
    eprintln!(
        "{} {name}: {} connections × SendMessageBatch of {} × {}{}, {} s, queue {queue_url}",
        target.server,
        args.connections,
        BATCH_ENTRIES,
        size(args.message_bytes),
        if cycle {
            " → ReceiveMessage → DeleteMessageBatch"
        } else {
            ""
        },
        args.duration_secs,
    );
    let batch = Arc::new(SendBatch::new(
        &queue_url,
        BATCH_ENTRIES,
        usize::try_from(args.message_bytes)?,
    )?);
    let mut connections = Vec::new();
    for _ in 0..args.connections {
        connections.push(Connection::open(&target.endpoint).await?);
    }
    let counters = Arc::new(Counters::default());
    let ticker = Ticker::start(
        format!("{} {name}", target.server),
        Arc::clone(&counters),
        args.message_bytes,
    );
    let sampler = counters.sample(cycle, args.message_bytes);
    let cpu_before = cpu_times(target.pid);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.duration_secs);
    let tasks: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(index, connection)| {
            let worker = Worker {
                queue_url: queue_url.clone(),
                batch: Arc::clone(&batch),
                message_bytes: args.message_bytes,
                cycle,
                seed: 0x5EED_0000 + index as u64,
                deadline,
            };
            tokio::spawn(load::run(connection, worker, Arc::clone(&counters)))
        })
        .collect();
    let mut total = Outcome::new();
    let mut failure = None;
    for task in tasks {
        match task.await? {
            Ok(outcome) => total.add(&outcome)?,
            Err(error) => failure = failure.or(Some(error)),
        }
    }
    let elapsed = started.elapsed();
    let timeline = sampler.finish();
    let cpu_after = cpu_times(target.pid);
    drop(ticker);
    if let Err(error) = wire::delete_queue(&mut admin, &queue_url).await {
        eprintln!("warning: deleting {queue_url}: {error}");
    }
    if let Some(error) = failure {
        return Err(error);
    }
    let cores = |before: Option<Duration>, after: Option<Duration>| {
        before
            .zip(after)
            .map(|(b, a)| a.saturating_sub(b).as_secs_f64() / elapsed.as_secs_f64())
    };
    let result = |requests: &Requests, messages: u64| RequestResult {
        throughput: Throughput::new(messages, messages * args.message_bytes, elapsed),
        latency: Latency::from_histogram(&requests.histogram),
        requests: requests.requests,
        failed_requests: requests.failed,
    };
    let (messages, bytes) = if cycle {
        (total.deleted, total.deleted_bytes)
    } else {
        (total.sent, total.sent_bytes)
    };
    Ok(Phase {
        queue_url,
        throughput: Throughput::new(messages, bytes, elapsed).with_timeline(timeline),
        send: result(&total.send, total.sent),
        receive: cycle.then(|| result(&total.receive, total.received)),
        delete: cycle.then(|| result(&total.delete, total.deleted)),
        sent_messages: total.sent,
        received_messages: total.received,
        empty_receives: total.empty_receives,
        deleted_messages: total.deleted,
        failed_entries: total.failed_entries,
        failed_requests: total.send.failed + total.receive.failed + total.delete.failed,
        connects: total.connects,
        first_error: total.first_error,
        cpu: Cpu {
            server_cores: cores(cpu_before.0, cpu_after.0),
            bench_cores: cores(cpu_before.1, cpu_after.1),
        },
    })
}

/// The runs as a figure: messages sent in the send phase and deleted in the cycle phase over
/// time, SendMessageBatch latency in the send phase and ReceiveMessage latency in the cycle
/// phase; a baseline server's dashed.
pub fn figure(report: &Report) -> Figure {
    let config = &report.config;
    let mut figure = Figure::new(
        format!(
            "strata-bench sqs: {} connections x SendMessageBatch of {} x {}",
            config.connections,
            config.batch_entries,
            size(config.message_bytes)
        ),
        report.machine.describe(),
    );
    figure.record_bytes = Some(config.message_bytes);
    figure.unit = "messages";
    for (index, run) in report.runs.iter().enumerate() {
        let role = Role::of_run(index);
        let server = run.server;
        figure.line(
            format!("{server}: send phase, sent"),
            role,
            index,
            &run.send.throughput.timeline,
        );
        figure.line(
            format!("{server}: cycle phase, deleted"),
            role,
            index + 2,
            &run.cycle.throughput.timeline,
        );
        figure.curve(
            format!("{server}: SendMessageBatch (send phase)"),
            role,
            index,
            &run.send.send.latency.curve,
        );
        if let Some(receive) = &run.cycle.receive {
            figure.curve(
                format!("{server}: ReceiveMessage (cycle phase)"),
                role,
                index + 2,
                &receive.latency.curve,
            );
        }
    }
    figure
}

/// CPU time used so far by the server (when its process is known) and by this process.
pub(crate) fn cpu_times(server: Option<u32>) -> (Option<Duration>, Option<Duration>) {
    (server.and_then(|pid| cpu_time(Some(pid))), cpu_time(None))
}

/// The report as text: one table per server, then the ratio.
pub fn render(report: &Report) -> String {
    let config = &report.config;
    let mut out = format!(
        "strata-bench sqs: {} connections × SendMessageBatch of {} × {} (random printable \
         ASCII); cycle: → ReceiveMessage (max {}, wait {} s) → DeleteMessageBatch; {} s per \
         phase\n",
        config.connections,
        config.batch_entries,
        size(config.message_bytes),
        config.receive_messages_max,
        config.receive_wait_secs,
        config.duration_secs,
    );
    let cores = |value: Option<f64>| value.map_or("?".to_string(), |v| format!("{v:.2}"));
    for run in &report.runs {
        out.push_str(&format!(
            "\n{} ({}) at {}\n",
            run.server, run.setup, run.endpoint
        ));
        let mut rows = vec![(
            "send: SendMessageBatch (sent)",
            &run.send.send.throughput,
            Some(&run.send.send.latency),
        )];
        rows.push((
            "cycle: SendMessageBatch (sent)",
            &run.cycle.send.throughput,
            Some(&run.cycle.send.latency),
        ));
        if let Some(receive) = &run.cycle.receive {
            rows.push((
                "cycle: ReceiveMessage (received)",
                &receive.throughput,
                Some(&receive.latency),
            ));
        }
        if let Some(delete) = &run.cycle.delete {
            rows.push((
                "cycle: DeleteMessageBatch (deleted)",
                &delete.throughput,
                Some(&delete.latency),
            ));
        }
        out.push_str(&crate::native::table(&rows));
        for (name, phase) in [("send", &run.send), ("cycle", &run.cycle)] {
            out.push_str(&format!(
                "{name}: {} failed requests, {} failed entries, {} empty receives, \
                 {} TCP connections; CPU: server {} cores, strata-bench {} cores{}\n",
                group(phase.failed_requests),
                group(phase.failed_entries),
                group(phase.empty_receives),
                group(phase.connects),
                cores(phase.cpu.server_cores),
                cores(phase.cpu.bench_cores),
                phase
                    .first_error
                    .as_deref()
                    .map_or(String::new(), |e| format!(" (first error: {e})")),
            ));
        }
    }
    if let (Some(ratio), [strata, baseline]) = (&report.ratio, report.runs.as_slice()) {
        out.push_str(&format!("\nStrata / {}\n", ratio.baseline));
        let mut table = Table::new(&[
            ("", Align::Left),
            ("strata", Align::Right),
            (ratio.baseline, Align::Right),
            ("ratio", Align::Right),
        ]);
        let rows = [
            (
                "send messages/s",
                strata.send.throughput.records_per_s,
                baseline.send.throughput.records_per_s,
                ratio.send_messages_per_s,
                false,
            ),
            (
                "send MB/s",
                strata.send.throughput.mb_per_s,
                baseline.send.throughput.mb_per_s,
                ratio.send_mb_per_s,
                true,
            ),
            (
                "cycle messages/s (deleted)",
                strata.cycle.throughput.records_per_s,
                baseline.cycle.throughput.records_per_s,
                ratio.cycle_messages_per_s,
                false,
            ),
            (
                "cycle MB/s (deleted)",
                strata.cycle.throughput.mb_per_s,
                baseline.cycle.throughput.mb_per_s,
                ratio.cycle_mb_per_s,
                true,
            ),
        ];
        for (label, strata, baseline, value, mb) in rows {
            let show = |v: f64| if mb { decimal(v) } else { report::rate(v) };
            table.row(vec![
                label.to_string(),
                show(strata),
                show(baseline),
                ratio_cell(value),
            ]);
        }
        out.push_str(&table.render());
        out.push_str(&format!(
            "SendMessageBatch latency p50 / p99 (send phase): strata {} / {} µs, {} {} / {} µs\n",
            group(strata.send.send.latency.p50_us),
            group(strata.send.send.latency.p99_us),
            ratio.baseline,
            group(baseline.send.send.latency.p50_us),
            group(baseline.send.send.latency.p99_us),
        ));
    }
    out
}

/// A ratio as shown in a table: one decimal from 10× on.
pub(crate) fn ratio_cell(value: f64) -> String {
    if value >= 10.0 {
        format!("{value:.1}x")
    } else {
        report::ratio(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_sizes_must_fit_a_batch() {
        assert_eq!(parse_message_size("1KiB"), Ok(1024));
        assert!(parse_message_size("0").is_err());
        assert!(parse_message_size("104857").is_ok());
        assert!(parse_message_size("104858").is_err());
    }

    #[test]
    fn queue_prefixes_are_sqs_names() {
        assert!(parse_queue_prefix("strata-bench_1").is_ok());
        assert!(parse_queue_prefix("").is_err());
        assert!(parse_queue_prefix("a.b").is_err());
    }
}
