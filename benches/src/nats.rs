//! `strata-bench nats`: the second comparison baseline, NATS JetStream. Producer tasks, each
//! on its own connection, publish to a stream with file storage and keep up to `--pipeline`
//! publishes per producer awaiting their JetStream ack; latency is per publish, from sending
//! it to its ack.
//!
//! Durability is matched where nats-server can be told: from 2.10 on a spawned server fsyncs
//! every 5 ms (`sync_interval`), as Strata's default `fsync = interval:5` does. 2.9 has no such
//! setting: it writes a message to its store file before the ack (so an acknowledged record
//! survives the server being killed) and fsyncs a stream's files every 2 minutes, so a power
//! loss can take up to 2 minutes of acknowledged records. The report says which one ran.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream::StorageType};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::Serialize;

use crate::peers::{self, Tally};
use crate::plot::Figure;
use crate::report::{self, size};
use crate::spawn::NatsServer;
use crate::storage::BoxError;

/// How long connecting, and each JetStream API request, may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Options of `strata-bench nats`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Address of a running nats-server with JetStream (ignored with --spawn-nats).
    #[arg(long, default_value = "127.0.0.1:4222", value_name = "HOST:PORT")]
    pub endpoint: String,
    /// JetStream stream to publish to, created with file storage if missing; its subject has
    /// the same name.
    #[arg(long, default_value = "bench")]
    pub stream: String,
    #[command(flatten)]
    pub flags: peers::Flags,
    /// Start `nats-server -js` (file storage, fsync every 5 ms where the release can be told)
    /// on a temporary directory and a free port, and stop it at the end.
    #[arg(long)]
    pub spawn_nats: bool,
}

/// The report of `strata-bench nats`.
pub type Report = peers::Report<Config>;

#[derive(Debug, Serialize)]
pub struct Config {
    pub endpoint: String,
    pub spawned_server: bool,
    /// The release the server reported when the load connected.
    pub server_version: String,
    /// The spawned server's `sync_interval` in ms; `None` where its release has none (it
    /// fsyncs every 2 minutes) or the server is an external one.
    pub sync_interval_ms: Option<u64>,
    /// What an acknowledged publish survives, in words.
    pub durability: String,
    pub stream: String,
    /// The stream's storage, `file` unless an external server had it otherwise.
    pub storage: String,
    /// Record size, producers and duration (flattened: `record_bytes`, `producers`,
    /// `duration_secs`).
    #[serde(flatten)]
    pub load: crate::args::Load,
    pub pipeline: u32,
}

/// What an acknowledged publish survives on the server: one spawned with `sync_interval`
/// (`spawned = Some(Some(..))`), one spawned on a release without it (`Some(None)`), or an
/// external one (`None`).
fn durability(spawned: Option<Option<Duration>>) -> String {
    match spawned {
        Some(Some(interval)) => format!(
            "sync_interval {} ms: written to the store file before the ack, fsynced every {} ms \
             (as Strata's fsync=interval:5)",
            interval.as_millis(),
            interval.as_millis()
        ),
        Some(None) => "written to the store file before the ack (survives the server being \
                       killed), fsynced only every 2 minutes: this nats-server has no \
                       sync_interval (2.10 on), so a power loss can lose up to 2 minutes of \
                       acknowledged records, against 5 ms under Strata's fsync=interval:5"
            .to_string(),
        None => "as the external server is set up (nats-server fsyncs every 2 minutes unless \
                 its sync_interval says otherwise)"
            .to_string(),
    }
}

/// A short form of [`durability`] for titles.
fn durability_label(spawned_server: bool, sync_interval_ms: Option<u64>) -> String {
    match (spawned_server, sync_interval_ms) {
        (true, Some(ms)) => format!("sync_interval {ms} ms"),
        (true, None) => "fsync every 2 min".to_string(),
        (false, _) => "external server".to_string(),
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Tally {
    fn count(&mut self, latency: Duration, result: Result<(), String>) {
        match result {
            Ok(()) => {
                self.ok += 1;
                report::record_latency(&mut self.histogram, latency);
            }
            Err(error) => {
                self.errors += 1;
                self.first_error.get_or_insert(error);
            }
        }
    }
}

async fn connect(endpoint: &str) -> Result<async_nats::Client, BoxError> {
    async_nats::ConnectOptions::new()
        .connection_timeout(REQUEST_TIMEOUT)
        .request_timeout(Some(REQUEST_TIMEOUT))
        .connect(endpoint)
        .await
        .map_err(|e| format!("connecting to nats-server at {endpoint}: {e}").into())
}

/// Creates `name` with file storage (subject `name`) unless it exists; returns its storage and
/// the server's release.
async fn prepare_stream(endpoint: &str, name: &str) -> Result<(String, String), BoxError> {
    let client = connect(endpoint).await?;
    let version = client.server_info().version;
    let context = jetstream::new(client);
    let mut stream = context
        .get_or_create_stream(jetstream::stream::Config {
            name: name.to_string(),
            subjects: vec![name.to_string()],
            storage: StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("creating JetStream stream {name:?}: {e}"))?;
    let info = stream
        .info()
        .await
        .map_err(|e| format!("reading JetStream stream {name:?}: {e}"))?;
    let storage = match info.config.storage {
        StorageType::File => "file",
        StorageType::Memory => "memory",
    };
    Ok((storage.to_string(), version))
}

async fn producer(
    endpoint: String,
    subject: async_nats::Subject,
    payload: Bytes,
    pipeline: u32,
    deadline: Instant,
    acked: Arc<AtomicU64>,
) -> Result<Tally, BoxError> {
    let context = jetstream::context::ContextBuilder::new()
        .max_ack_inflight(pipeline as usize)
        .build(connect(&endpoint).await?);
    let mut outcome = Tally::new();
    let mut pending = FuturesUnordered::new();
    let window = pipeline as usize;
    while Instant::now() < deadline {
        while pending.len() < window {
            let sent = Instant::now();
            let ack = context
                .publish(subject.clone(), payload.clone())
                .await
                .map_err(|e| format!("publishing to {endpoint}: {e}"))?;
            pending.push(async move {
                let result = ack.await.map(drop).map_err(|e| e.to_string());
                (sent.elapsed(), result)
            });
        }
        if let Some((latency, result)) = pending.next().await {
            if result.is_ok() {
                acked.fetch_add(1, Ordering::Relaxed);
            }
            outcome.count(latency, result);
        }
    }
    // Every publish sent before the deadline is waited for, as redis waits for a round trip.
    while let Some((latency, result)) = pending.next().await {
        if result.is_ok() {
            acked.fetch_add(1, Ordering::Relaxed);
        }
        outcome.count(latency, result);
    }
    Ok(outcome)
}

pub fn run(args: &Args) -> Result<Report, BoxError> {
    let peers::Setup {
        temp,
        pinning,
        server,
    } = peers::set_up(
        "nats",
        &args.flags,
        args.spawn_nats.then_some(NatsServer::start),
    )?;
    if let Some(server) = &server {
        eprintln!(
            "nats-server {} listening on {} ({})",
            server.version,
            server.addr,
            durability_label(true, server.sync_interval.map(millis))
        );
    }
    let endpoint = server
        .as_ref()
        .map_or(args.endpoint.clone(), |s| s.addr.to_string());
    let spawned_sync = server.as_ref().map(|s| s.sync_interval);
    let payload = Bytes::from(vec![b'x'; usize::try_from(args.flags.load.record_bytes)?]);
    let subject = async_nats::Subject::from(args.stream.as_str());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (storage, server_version) = runtime.block_on(prepare_stream(&endpoint, &args.stream))?;
    let driven = peers::drive(&runtime, "nats", &args.flags, |deadline, acked| {
        producer(
            endpoint.clone(),
            subject.clone(),
            payload.clone(),
            args.flags.pipeline,
            deadline,
            acked,
        )
    });
    drop(runtime);
    if let Some(server) = server {
        server.stop()?;
    }
    let driven = driven?;
    let config = Config {
        endpoint,
        spawned_server: args.spawn_nats,
        server_version,
        sync_interval_ms: spawned_sync.flatten().map(millis),
        durability: durability(spawned_sync),
        stream: args.stream.clone(),
        storage,
        load: args.flags.load.clone(),
        pipeline: args.flags.pipeline,
    };
    Ok(Report::new(
        "nats",
        temp.path(),
        config,
        pinning,
        driven,
        args.flags.load.record_bytes,
    ))
}

/// The run as a figure: publish throughput over time and ack latency. NATS is a baseline of
/// the native benchmarks, so nothing is drawn beside it.
pub fn figure(report: &Report) -> Figure {
    let config = &report.config;
    report.figure(
        format!(
            "strata-bench nats: JetStream publish of {} records, {} producers, pipeline {}, {}",
            size(config.load.record_bytes),
            config.load.producers,
            config.pipeline,
            durability_label(config.spawned_server, config.sync_interval_ms)
        ),
        config.load.record_bytes,
        "nats: JetStream acks",
        "nats: publish to ack",
    )
}

pub fn render(report: &Report) -> String {
    let config = &report.config;
    format!(
        "strata-bench nats: {} ({}, nats-server {}, {} storage), publish {} records, \
         {} producers, pipeline {}, {} s\n\n{}durability: {}\n",
        config.endpoint,
        if config.spawned_server {
            "spawned"
        } else {
            "external server"
        },
        config.server_version,
        config.storage,
        size(config.load.record_bytes),
        config.load.producers,
        config.pipeline,
        config.load.duration_secs,
        report.results("JetStream publish (ack latency)", "error acks"),
        config.durability,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durability_says_what_an_ack_survives() {
        let matched = durability(Some(Some(Duration::from_millis(5))));
        assert!(matched.starts_with("sync_interval 5 ms"), "{matched}");
        let old = durability(Some(None));
        assert!(old.contains("every 2 minutes"), "{old}");
        assert!(old.contains("power loss"), "{old}");
        assert!(durability(None).starts_with("as the external server"));
    }
}
