//! `strata-bench sns`: the SNS API (query protocol) fanning out to SQS queues, against
//! Strata and against moto's server as the baseline.
//!
//! For every subscription count N of `--subscriptions`, two phases, each on a topic and N
//! queues of its own created for it (and deleted after it):
//!
//! - *Publish*: `--connections` tasks, each on its own HTTP/1.1 connection, send Publish
//!   requests of one message of `--message-bytes` one after the other for `--duration-secs`.
//! - *Batch*: the same with PublishBatch of 10 messages.
//!
//! Every queue is subscribed to the topic (with raw message delivery unless `--raw false`);
//! every second subscription has the filter policy `{"kind":["a"]}`, and messages carry the
//! attribute `kind` = `a` and `b` in turn, so filtered queues get half of them. After the
//! last publish the benchmark reads every queue's depth until each holds the deliveries it
//! should (sum over the subscriptions of the messages they match), no queue gained one for
//! 15 s, or 120 s passed: delivered/s is the deliveries found over the time from the first
//! publish until then. During the phase `--receivers` receivers long-poll the first queue (no
//! filter policy), delete what they get and record publish-to-receive latency from the send
//! time every message body opens with. Flat out, the fan-out falls behind the publishers and
//! that latency is the backlog's; `--rate` paces the publishers (messages/s over all
//! connections) to measure it at a load the server keeps up with. The spawned server's CPU time over a phase, divided by
//! the messages published, is its cost per published message, compared between 10 and 100
//! subscriptions. The target is a running server (`--endpoint`), a spawned `strata serve`
//! (`--spawn-server`), moto's server (`--spawn-moto`), or, with `--compare`, both under the
//! same load, with the ratio Strata / moto per subscription count.

mod load;
pub mod wire;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use self::load::{BATCH_ENTRIES, PublishOutcome, PublishWorker, Watched};
use self::wire::{Publisher, STAMP_BYTES};
use crate::plot::{Figure, Role};
use crate::report::{self, Align, Latency, Machine, Table, Throughput, group, size};
use crate::sqs::load::{Counters, Requests, Ticker};
use crate::sqs::wire::{self as sqs_wire, Connection};
use crate::sqs::{Cpu, RequestResult, Servers, Target, cpu_times, on_runtime, over, ratio_cell};
use crate::storage::BoxError;

/// Bytes of all messages of one PublishBatch at most (the SNS limit, 256 KiB), less room
/// for the request's own fields.
/// <https://docs.aws.amazon.com/sns/latest/api/API_PublishBatch.html>
const PUBLISH_BATCH_BYTES_MAX: u64 = 256 * 1024;
/// The filter policy of every second subscription.
const FILTER_POLICY: &str = r#"{"kind":["a"]}"#;
/// Subscriptions of one topic at most, so a typo cannot create a million queues.
const SUBSCRIPTIONS_MAX: u32 = 1_000;

/// Options of `strata-bench sns`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// SNS and SQS endpoint of a running server (not used with --spawn-server, --spawn-moto
    /// or --compare).
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
    /// Subscription counts to run, each with its own topic and queues: a comma-separated
    /// list.
    #[arg(long, default_value = "1,10,100", value_parser = parse_subscriptions)]
    pub subscriptions: Subscriptions,
    /// Raw message delivery: queues get the message body alone instead of an SNS JSON
    /// envelope around it.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub raw: bool,
    /// Message body size (bytes, or with a unit: 1KiB); 10 make one PublishBatch.
    #[arg(long, default_value = "1024", value_parser = parse_message_size)]
    pub message_bytes: u64,
    /// Publishing connections, each with one request in flight.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub connections: u32,
    /// How long each phase publishes, in seconds (fractions allowed).
    #[arg(long, default_value_t = 5.0, value_parser = crate::args::parse_secs)]
    pub duration_secs: f64,
    /// Offered load in published messages/s over all connections, paced per connection;
    /// 0 publishes as fast as the server answers (the throughput figures).
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// Receivers long-polling the first queue for the publish-to-receive latency, each on
    /// its own connection.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub receivers: u32,
    /// Durability of the spawned Strata server: always, interval:<ms> or never.
    #[arg(long, default_value = "interval:5")]
    pub fsync: String,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also draw each phase's publishes over time and publish-to-receive latency
    /// distribution, Strata's beside the baseline's with --compare, as SVG to this file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

/// The subscription counts of `--subscriptions`, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscriptions(pub Vec<u32>);

/// A comma-separated list of subscription counts, each 1 to [`SUBSCRIPTIONS_MAX`].
fn parse_subscriptions(text: &str) -> Result<Subscriptions, String> {
    let counts = text
        .split(',')
        .map(|item| match item.trim().parse::<u32>() {
            Ok(count) if (1..=SUBSCRIPTIONS_MAX).contains(&count) => Ok(count),
            _ => Err(format!(
                "invalid subscription count {item:?}: expected 1 to {SUBSCRIPTIONS_MAX}"
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Subscriptions(counts))
}

/// A message size that holds the send-time stamp, with 10 in one PublishBatch.
fn parse_message_size(text: &str) -> Result<u64, String> {
    let bytes = report::parse_size(text)?;
    let min = STAMP_BYTES as u64;
    let max = PUBLISH_BATCH_BYTES_MAX / BATCH_ENTRIES as u64;
    if !(min..=max).contains(&bytes) {
        return Err(format!(
            "message size {text} must be {min} bytes (the send-time stamp) to {} (10 per \
             256 KiB batch)",
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
    /// Strata over the baseline per subscription count, when both ran.
    pub ratios: Vec<Ratio>,
}

#[derive(Debug, Serialize)]
pub struct Config {
    pub message_bytes: u64,
    pub batch_entries: usize,
    pub connections: u32,
    pub duration_secs: f64,
    /// Offered messages/s (0: flat out).
    pub rate: u64,
    pub receivers: u32,
    pub subscriptions: Vec<u32>,
    pub raw_message_delivery: bool,
    pub filter_policy: &'static str,
    pub receive_messages_max: u32,
    pub receive_wait_secs: u32,
    pub drain_wait_max_secs: f64,
    pub drain_stall_max_secs: f64,
}

/// One server under the load.
#[derive(Debug, Serialize)]
pub struct Run {
    /// `strata`, `moto`, or `external`.
    pub server: &'static str,
    pub setup: String,
    pub endpoint: String,
    pub fanouts: Vec<Fanout>,
    /// Server CPU per published message at 100 subscriptions over that at 10.
    pub cost_ratio_100_over_10: Option<CostRatio>,
}

/// Both phases at one subscription count.
#[derive(Debug, Serialize)]
pub struct Fanout {
    pub subscriptions: u32,
    /// Subscriptions with the filter policy (they match half of the messages).
    pub filtered_subscriptions: u32,
    pub publish: Phase,
    pub batch: Phase,
}

/// One phase on one server.
#[derive(Debug, Serialize)]
pub struct Phase {
    pub topic_arn: String,
    /// Messages accepted, with their body bytes, over the publishing time.
    pub published: Throughput,
    /// Publish or PublishBatch requests.
    pub requests: RequestResult,
    pub published_a: u64,
    pub published_b: u64,
    /// Deliveries the queues should get: every message for an unfiltered subscription,
    /// kind `a` for a filtered one.
    pub deliveries_expected: u64,
    /// Deliveries found, over the time from the first publish until they were all there
    /// (or the wait gave up).
    pub delivered: Throughput,
    /// Every queue held what it should before the wait gave up.
    pub complete: bool,
    /// From the last publish until every queue held its deliveries (or the wait gave up).
    pub drain_secs: f64,
    /// One round of depth reads over every queue, the resolution of `drain_secs`.
    pub drain_round_secs: f64,
    /// Publish-to-receive latency on the first (unfiltered) queue, during the phase.
    pub end_to_end: Latency,
    pub receive: RequestResult,
    pub delete: RequestResult,
    /// Messages the latency receiver got, of the deliveries to its queue.
    pub receiver_messages: u64,
    pub receiver_queue_deliveries: u64,
    pub failed_entries: u64,
    pub failed_requests: u64,
    pub connects: u64,
    pub first_error: Option<String>,
    /// Over the publishing time.
    pub cpu: Cpu,
    /// The spawned server's CPU time from the first publish until the deliveries were all
    /// there, per message published, in microseconds.
    pub server_cpu_per_message_us: Option<f64>,
}

/// Server CPU per published message, 100 subscriptions over 10 (the target is ≤ 3).
#[derive(Debug, Serialize)]
pub struct CostRatio {
    pub publish: Option<f64>,
    pub batch: Option<f64>,
}

/// Strata / baseline at one subscription count.
#[derive(Debug, Serialize)]
pub struct Ratio {
    pub baseline: &'static str,
    pub subscriptions: u32,
    pub publish_published_per_s: f64,
    pub publish_delivered_per_s: f64,
    pub batch_published_per_s: f64,
    pub batch_delivered_per_s: f64,
}

/// Runs the benchmark against every server asked for.
pub fn run(args: &Args) -> Result<Report, BoxError> {
    let temp = tempfile::Builder::new()
        .prefix("strata-bench-data-sns-")
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
    let ratios = match runs.as_slice() {
        [strata, baseline] if strata.server == "strata" => strata
            .fanouts
            .iter()
            .zip(&baseline.fanouts)
            .map(|(s, b)| Ratio {
                baseline: baseline.server,
                subscriptions: s.subscriptions,
                publish_published_per_s: over(
                    s.publish.published.records_per_s,
                    b.publish.published.records_per_s,
                ),
                publish_delivered_per_s: over(
                    s.publish.delivered.records_per_s,
                    b.publish.delivered.records_per_s,
                ),
                batch_published_per_s: over(
                    s.batch.published.records_per_s,
                    b.batch.published.records_per_s,
                ),
                batch_delivered_per_s: over(
                    s.batch.delivered.records_per_s,
                    b.batch.delivered.records_per_s,
                ),
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(Report {
        benchmark: "sns",
        machine: Machine::probe(temp.path()),
        config: Config {
            message_bytes: args.message_bytes,
            batch_entries: BATCH_ENTRIES,
            connections: args.connections,
            duration_secs: args.duration_secs,
            rate: args.rate,
            receivers: args.receivers,
            subscriptions: args.subscriptions.0.clone(),
            raw_message_delivery: args.raw,
            filter_policy: FILTER_POLICY,
            receive_messages_max: load::RECEIVE_MESSAGES_MAX,
            receive_wait_secs: load::RECEIVE_WAIT_SECS,
            drain_wait_max_secs: load::DRAIN_WAIT_MAX.as_secs_f64(),
            drain_stall_max_secs: load::DRAIN_STALL_MAX.as_secs_f64(),
        },
        runs,
        ratios,
    })
}

/// Both phases at every subscription count.
async fn run_target(target: &Target, args: &Args) -> Result<Run, BoxError> {
    let mut fanouts = Vec::new();
    for &subscriptions in &args.subscriptions.0 {
        let publish = phase(target, args, subscriptions, false).await?;
        let batch = phase(target, args, subscriptions, true).await?;
        fanouts.push(Fanout {
            subscriptions,
            filtered_subscriptions: subscriptions / 2,
            publish,
            batch,
        });
    }
    let cost = |count: u32, batch: bool| {
        fanouts
            .iter()
            .find(|f| f.subscriptions == count)
            .and_then(|f| if batch { &f.batch } else { &f.publish }.server_cpu_per_message_us)
    };
    let cost_ratio = |batch: bool| {
        cost(100, batch)
            .zip(cost(10, batch))
            .map(|(high, low)| over(high, low))
    };
    let cost_ratio_100_over_10 =
        (cost_ratio(false).is_some() || cost_ratio(true).is_some()).then(|| CostRatio {
            publish: cost_ratio(false),
            batch: cost_ratio(true),
        });
    Ok(Run {
        server: target.server,
        setup: target.setup.clone(),
        endpoint: target.endpoint.url.clone(),
        fanouts,
        cost_ratio_100_over_10,
    })
}

/// A topic and its subscribed queues, made for one phase.
struct Fixture {
    topic_arn: String,
    /// Queue URLs, the first the latency receiver's; odd indexes are filtered.
    queues: Vec<String>,
}

impl Fixture {
    /// Creates the topic `name` and `subscriptions` queues `name-<i>`, and subscribes each.
    async fn create(
        admin: &mut Connection,
        name: &str,
        subscriptions: u32,
        raw: bool,
    ) -> Result<Self, BoxError> {
        let topic_arn = wire::create_topic(admin, name).await?;
        let mut fixture = Self {
            topic_arn,
            queues: Vec::new(),
        };
        for index in 0..subscriptions {
            let created = async {
                let url = sqs_wire::create_queue(admin, &format!("{name}-{index}")).await?;
                fixture.queues.push(url.clone());
                let arn = wire::queue_arn(admin, &url).await?;
                let filter = (index % 2 == 1).then_some(FILTER_POLICY);
                wire::subscribe(admin, &fixture.topic_arn, &arn, filter, raw).await
            };
            if let Err(error) = created.await {
                fixture.delete(admin).await;
                return Err(error);
            }
        }
        Ok(fixture)
    }

    /// Deletes the topic and the queues; failures are warnings.
    async fn delete(&self, admin: &mut Connection) {
        if let Err(error) = wire::delete_topic(admin, &self.topic_arn).await {
            eprintln!("warning: deleting {}: {error}", self.topic_arn);
        }
        for url in &self.queues {
            if let Err(error) = sqs_wire::delete_queue(admin, url).await {
                eprintln!("warning: deleting {url}: {error}");
            }
        }
    }
}

/// One phase: creates its topic and queues, publishes for the duration with the latency
/// receiver on the first queue, waits for the deliveries, deletes topic and queues.
async fn phase(
    target: &Target,
    args: &Args,
    subscriptions: u32,
    batch: bool,
) -> Result<Phase, BoxError> {
    let label = if batch { "batch" } else { "publish" };
    let millis = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let name = format!("strata-bench-{subscriptions}-{label}-{millis}");
    let mut admin = Connection::open(&target.endpoint).await?;
    let fixture = Fixture::create(&mut admin, &name, subscriptions, args.raw).await?;
    let outcome = measure(target, args, &fixture, &mut admin, subscriptions, batch).await;
    fixture.delete(&mut admin).await;
    outcome
}

/// The load and the wait of one phase on its `fixture`.
async fn measure(
    target: &Target,
    args: &Args,
    fixture: &Fixture,
    admin: &mut Connection,
    subscriptions: u32,
    batch: bool,
) -> Result<Phase, BoxError> {
    let label = if batch { "batch" } else { "publish" };
    eprintln!(
        "{} {label}: {} connections × {} of {} to {} subscriptions ({} filtered), {} s, \
         topic {}",
        target.server,
        args.connections,
        if batch {
            "PublishBatch of 10"
        } else {
            "Publish"
        },
        size(args.message_bytes),
        subscriptions,
        subscriptions / 2,
        args.duration_secs,
        fixture.topic_arn,
    );
    let publisher = Arc::new(Publisher::new(
        &fixture.topic_arn,
        usize::try_from(args.message_bytes)?,
    ));
    let mut connections = Vec::new();
    for _ in 0..args.connections {
        connections.push(Connection::open(&target.endpoint).await?);
    }
    let mut receiver_connections = Vec::new();
    for _ in 0..args.receivers {
        receiver_connections.push(Connection::open(&target.endpoint).await?);
    }
    let receiver_queue = fixture.queues.first().ok_or("no queue")?.clone();
    let counters = Arc::new(Counters::default());
    let ticker = Ticker::start(
        format!("{} {subscriptions} {label}", target.server),
        Arc::clone(&counters),
        args.message_bytes,
    );
    let sampler = counters.sample(false, args.message_bytes);
    let epoch = Instant::now();
    let cpu_before = cpu_times(target.pid);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.duration_secs);
    let receivers: Vec<_> = receiver_connections
        .into_iter()
        .map(|connection| {
            tokio::spawn(load::receive(
                connection,
                receiver_queue.clone(),
                epoch,
                deadline,
                Arc::clone(&counters),
            ))
        })
        .collect();
    // Each connection's share of the offered rate, as the time between its requests.
    let per_request = (args.rate > 0).then(|| {
        let messages = if batch { BATCH_ENTRIES } else { 1 };
        Duration::from_secs_f64(messages as f64 * f64::from(args.connections) / args.rate as f64)
    });
    let tasks: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(index, connection)| {
            let worker = PublishWorker {
                publisher: Arc::clone(&publisher),
                batch,
                seed: 0x5EED_0000 + index as u64,
                epoch,
                deadline,
                // Connections start spread over one interval, not all at once.
                pace: per_request.map(|every| {
                    (
                        started + every.mul_f64(index as f64 / f64::from(args.connections)),
                        every,
                    )
                }),
            };
            tokio::spawn(load::publish(connection, worker, Arc::clone(&counters)))
        })
        .collect();
    let mut total = PublishOutcome::new();
    let mut failure = None;
    for task in tasks {
        match task.await? {
            Ok(outcome) => total.add(&outcome)?,
            Err(error) => failure = failure.or(Some(error)),
        }
    }
    let elapsed = started.elapsed();
    let timeline = sampler.finish();
    let cpu_published = cpu_times(target.pid);
    let mut received = Vec::with_capacity(receivers.len());
    for receiver in receivers {
        received.push(receiver.await?);
    }
    drop(ticker);
    if let Some(error) = failure {
        return Err(error);
    }
    let mut outcomes = received.into_iter();
    let mut received = outcomes.next().ok_or("no receiver")??;
    for outcome in outcomes {
        received.add(&outcome?)?;
    }
    let all = total.published_a + total.published_b;
    let queues: Vec<_> = fixture
        .queues
        .iter()
        .enumerate()
        .map(|(index, url)| Watched {
            queue_url: url.clone(),
            expected: if index % 2 == 1 {
                total.published_a
            } else {
                all
            },
            taken: if index == 0 { received.deleted } else { 0 },
        })
        .collect();
    let expected: u64 = queues.iter().map(|q| q.expected).sum();
    let drain = load::drain(admin, &queues).await?;
    let cpu_drained = cpu_times(target.pid);
    let publish_end = started + elapsed;
    let drained = drain.finished.saturating_duration_since(started);
    let drain_wait = drain.finished.saturating_duration_since(publish_end);
    eprintln!(
        "  {} deliveries of {} in {:.2} s after the last publish{}",
        group(drain.arrived),
        group(expected),
        drain_wait.as_secs_f64(),
        if drain.complete {
            ""
        } else {
            " (gave up waiting)"
        },
    );
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
    let server_cpu_per_message_us = cpu_before
        .0
        .zip(cpu_drained.0)
        .filter(|_| all > 0)
        .map(|(b, a)| a.saturating_sub(b).as_secs_f64() * 1e6 / all as f64);
    Ok(Phase {
        topic_arn: fixture.topic_arn.clone(),
        published: Throughput::new(all, all * args.message_bytes, elapsed).with_timeline(timeline),
        requests: result(&total.requests, all),
        published_a: total.published_a,
        published_b: total.published_b,
        deliveries_expected: expected,
        delivered: Throughput::new(drain.arrived, drain.arrived * args.message_bytes, drained),
        complete: drain.complete,
        drain_secs: drain_wait.as_secs_f64(),
        drain_round_secs: drain.first_round.as_secs_f64(),
        end_to_end: Latency::from_histogram(&received.latency),
        receive: result(&received.receive, received.received),
        delete: result(&received.delete, received.deleted),
        receiver_messages: received.received,
        receiver_queue_deliveries: all,
        failed_entries: total.failed_entries,
        failed_requests: total.requests.failed + received.receive.failed + received.delete.failed,
        connects: total.connects,
        first_error: total.first_error.or(received.first_error),
        cpu: Cpu {
            server_cores: cores(cpu_before.0, cpu_published.0),
            bench_cores: cores(cpu_before.1, cpu_published.1),
        },
        server_cpu_per_message_us,
    })
}

/// The runs as a figure: messages published over time and publish-to-receive latency of
/// every phase, one color per phase, a baseline server's dashed.
pub fn figure(report: &Report) -> Figure {
    let config = &report.config;
    let mut figure = Figure::new(
        format!(
            "strata-bench sns: {} connections, {} messages, Publish and PublishBatch of {}",
            config.connections,
            size(config.message_bytes),
            config.batch_entries
        ),
        report.machine.describe(),
    );
    figure.record_bytes = Some(config.message_bytes);
    figure.unit = "messages";
    for (index, run) in report.runs.iter().enumerate() {
        let role = Role::of_run(index);
        let mut color = 0;
        for fanout in &run.fanouts {
            for (name, phase) in [
                ("Publish", &fanout.publish),
                ("PublishBatch", &fanout.batch),
            ] {
                let label = format!("{}: {name} to {} subs", run.server, fanout.subscriptions);
                figure.line(label.clone(), role, color, &phase.published.timeline);
                figure.curve(label, role, color, &phase.end_to_end.curve);
                color += 1;
            }
        }
    }
    figure
}

/// The report as text: one table per server, then the ratios.
pub fn render(report: &Report) -> String {
    let config = &report.config;
    let mut out = format!(
        "strata-bench sns: {} connections × Publish, then PublishBatch of {}, of {} messages \
         to {} subscriptions (every second filtered by {}; raw delivery {}); {} s per phase; \
         {}; {} latency receivers\n",
        config.connections,
        config.batch_entries,
        size(config.message_bytes),
        config
            .subscriptions
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        config.filter_policy,
        if config.raw_message_delivery {
            "on"
        } else {
            "off"
        },
        config.duration_secs,
        if config.rate == 0 {
            "flat out".to_string()
        } else {
            format!("offered {} messages/s", group(config.rate))
        },
        config.receivers,
    );
    let optional = |value: Option<f64>, digits: usize| {
        value.map_or("?".to_string(), |v| format!("{v:.digits$}"))
    };
    for run in &report.runs {
        out.push_str(&format!(
            "\n{} ({}) at {}\n",
            run.server, run.setup, run.endpoint
        ));
        let mut table = Table::new(&[
            ("subs", Align::Right),
            ("phase", Align::Left),
            ("published/s", Align::Right),
            ("req p50 µs", Align::Right),
            ("req p99 µs", Align::Right),
            ("deliveries", Align::Right),
            ("expected", Align::Right),
            ("drain s", Align::Right),
            ("delivered/s", Align::Right),
            ("e2e p50 µs", Align::Right),
            ("e2e p99 µs", Align::Right),
            ("e2e p99.9 µs", Align::Right),
            ("srv µs/msg", Align::Right),
            ("srv cores", Align::Right),
            ("bench cores", Align::Right),
        ]);
        for fanout in &run.fanouts {
            for (label, phase) in [
                ("Publish", &fanout.publish),
                ("PublishBatch", &fanout.batch),
            ] {
                table.row(vec![
                    fanout.subscriptions.to_string(),
                    label.to_string(),
                    report::rate(phase.published.records_per_s),
                    group(phase.requests.latency.p50_us),
                    group(phase.requests.latency.p99_us),
                    group(phase.delivered.records),
                    group(phase.deliveries_expected),
                    format!(
                        "{:.2}{}",
                        phase.drain_secs,
                        if phase.complete { "" } else { "+" }
                    ),
                    report::rate(phase.delivered.records_per_s),
                    group(phase.end_to_end.p50_us),
                    group(phase.end_to_end.p99_us),
                    group(phase.end_to_end.p999_us),
                    optional(phase.server_cpu_per_message_us, 1),
                    optional(phase.cpu.server_cores, 2),
                    optional(phase.cpu.bench_cores, 2),
                ]);
            }
        }
        out.push_str(&table.render());
        out.push_str(
            "drain s: after the last publish until every queue held its deliveries \
             (+: gave up); e2e: publish to receive on the first queue\n",
        );
        for fanout in &run.fanouts {
            for (label, phase) in [
                ("Publish", &fanout.publish),
                ("PublishBatch", &fanout.batch),
            ] {
                if phase.failed_requests + phase.failed_entries > 0 || phase.first_error.is_some() {
                    out.push_str(&format!(
                        "{} subscriptions, {label}: {} failed requests, {} failed entries{}\n",
                        fanout.subscriptions,
                        group(phase.failed_requests),
                        group(phase.failed_entries),
                        phase
                            .first_error
                            .as_deref()
                            .map_or(String::new(), |e| format!(" (first error: {e})")),
                    ));
                }
                out.push_str(&format!(
                    "{} subscriptions, {label}: receiver got {} of the {} messages to its \
                     queue; ReceiveMessage p50 / p99 {} / {} µs; one round of depth reads \
                     {:.2} s\n",
                    fanout.subscriptions,
                    group(phase.receiver_messages),
                    group(phase.receiver_queue_deliveries),
                    group(phase.receive.latency.p50_us),
                    group(phase.receive.latency.p99_us),
                    phase.drain_round_secs,
                ));
            }
        }
        if let Some(cost) = &run.cost_ratio_100_over_10 {
            out.push_str(&format!(
                "server CPU per published message, 100 over 10 subscriptions: Publish {}, \
                 PublishBatch {} (target ≤ 3x)\n",
                cost.publish.map_or("?".to_string(), report::ratio),
                cost.batch.map_or("?".to_string(), report::ratio),
            ));
        }
    }
    if let Some(first) = report.ratios.first() {
        out.push_str(&format!("\nStrata / {}\n", first.baseline));
        let mut table = Table::new(&[
            ("subs", Align::Right),
            ("Publish published/s", Align::Right),
            ("Publish delivered/s", Align::Right),
            ("Batch published/s", Align::Right),
            ("Batch delivered/s", Align::Right),
        ]);
        for ratio in &report.ratios {
            table.row(vec![
                ratio.subscriptions.to_string(),
                ratio_cell(ratio.publish_published_per_s),
                ratio_cell(ratio.publish_delivered_per_s),
                ratio_cell(ratio.batch_published_per_s),
                ratio_cell(ratio.batch_delivered_per_s),
            ]);
        }
        out.push_str(&table.render());
        out.push_str("(target: ≥ 20x at 10 subscriptions)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn options_default_to_three_fanouts_of_raw_kib_messages() {
        let args = Cli::try_parse_from(["sns"]).expect("defaults").args;
        assert_eq!(args.subscriptions, Subscriptions(vec![1, 10, 100]));
        assert!(args.raw);
        assert_eq!((args.message_bytes, args.connections), (1024, 8));
        assert_eq!((args.rate, args.receivers), (0, 2));
        let args = Cli::try_parse_from([
            "sns",
            "--subscriptions",
            "2, 50",
            "--raw",
            "false",
            "--compare",
            "--rate",
            "2000",
            "--receivers",
            "4",
        ])
        .expect("options")
        .args;
        assert_eq!(args.subscriptions, Subscriptions(vec![2, 50]));
        assert!(!args.raw && args.compare);
        assert_eq!((args.rate, args.receivers), (2000, 4));
        for bad in ["0", "1,,2", "x", "1001"] {
            assert!(Cli::try_parse_from(["sns", "--subscriptions", bad]).is_err());
        }
        for bad in ["0", "65", "x"] {
            assert!(Cli::try_parse_from(["sns", "--receivers", bad]).is_err());
        }
    }

    #[test]
    fn message_sizes_hold_the_stamp_and_fit_a_batch() {
        assert_eq!(parse_message_size("1KiB"), Ok(1024));
        assert!(parse_message_size(&STAMP_BYTES.to_string()).is_ok());
        assert!(parse_message_size(&(STAMP_BYTES - 1).to_string()).is_err());
        assert!(parse_message_size("26214").is_ok());
        assert!(parse_message_size("26215").is_err());
    }
}
