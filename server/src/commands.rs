//! The client subcommands: `strata stream create|list|describe|delete|split|merge`,
//! `strata put`, `strata tail` and `strata queue …` ([`queue`]), against a running server's
//! native listener.
//!
//! Output goes to stdout (records, tables); errors go to stderr with exit code 1, and a server
//! that is not running is said so plainly.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use clap::{Args, Subcommand};
use client::{
    Ack, Client, ClientConfig, ClientError, ClientTls, Credentials, Producer, ProducerConfig,
    ShardConsumer, StartPosition,
};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::config::defaults;

mod queue;
pub use queue::{QueueCommand, queue};

/// Where the server's native listener is.
#[derive(Debug, Args)]
pub struct Target {
    /// Native protocol address of a running `strata serve`.
    #[arg(long, env = "STRATA_NATIVE", default_value = defaults::NATIVE, value_name = "ADDR")]
    pub addr: String,
    /// The server's config file, to take an access key from (the first of
    /// `[auth.access_keys]`) when `STRATA_ACCESS_KEY_ID`/`STRATA_SECRET_ACCESS_KEY` are unset.
    #[arg(long, env = "STRATA_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Speak TLS, trusting the CA certificates in this PEM file (for a server with
    /// `server.tls_cert_file`; its own certificate if self-signed).
    #[arg(long, env = "STRATA_TLS_CA", value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// The name the server's certificate must carry; default: the host part of `--addr`.
    #[arg(long, env = "STRATA_TLS_SERVER_NAME", value_name = "NAME")]
    pub tls_server_name: Option<String>,
}

/// `strata stream …`.
#[derive(Debug, Subcommand)]
pub enum StreamCommand {
    /// Create a stream.
    Create {
        /// Stream name.
        name: String,
        /// Number of shards.
        #[arg(long, default_value_t = 1)]
        shards: u32,
        /// Retention in hours (24 to 8760).
        #[arg(long, default_value_t = 24)]
        retention_hours: u32,
        #[command(flatten)]
        target: Target,
    },
    /// List streams, one name per line.
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Show a stream's retention and shards (hash ranges, lineage, offsets).
    Describe {
        /// Stream name.
        name: String,
        #[command(flatten)]
        target: Target,
    },
    /// Delete a stream and its data.
    Delete {
        /// Stream name.
        name: String,
        #[command(flatten)]
        target: Target,
    },
    /// Split an open shard in two; prints the children's ids.
    Split {
        /// Stream name.
        name: String,
        /// The shard to split.
        #[arg(long)]
        shard: u32,
        /// The upper child's first hash key, in decimal (default: the middle of the shard's
        /// hash range).
        #[arg(long, value_name = "HASH_KEY")]
        at: Option<u128>,
        #[command(flatten)]
        target: Target,
    },
    /// Merge two open shards with adjacent hash ranges into one; prints the child's id.
    Merge {
        /// Stream name.
        name: String,
        /// One shard (the child's parent).
        #[arg(long)]
        shard: u32,
        /// The shard whose hash range touches it (the child's adjacent parent).
        #[arg(long)]
        adjacent: u32,
        #[command(flatten)]
        target: Target,
    },
}

/// The middle of a hash range, as a split point: the upper half starts there. A range of one
/// hash key has no split point, and gets one outside the range, which the server refuses.
fn middle(hash_start: u128, hash_end: u128) -> u128 {
    hash_start
        .saturating_add((hash_end.saturating_sub(hash_start)) / 2)
        .saturating_add(1)
}

/// `strata put`: one record per input line.
#[derive(Debug, Args)]
pub struct PutArgs {
    /// Stream to append to.
    pub stream: String,
    /// Read lines from this file instead of stdin.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Partition key for every record (default: the line number, spreading records over shards).
    #[arg(long, conflicts_with = "key_field")]
    pub key: Option<String>,
    /// Take each record's partition key from this top-level field of the line, read as JSON.
    #[arg(long, value_name = "FIELD")]
    pub key_field: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

/// `strata tail`: follow a stream, printing records, until interrupted.
#[derive(Debug, Args)]
pub struct TailArgs {
    /// Stream to follow.
    pub stream: String,
    /// Where to start: `trim-horizon` (oldest), `latest` (new records only), or a time in
    /// milliseconds since the Unix epoch.
    #[arg(long, default_value = "latest")]
    pub from: String,
    /// Print shard, offset, arrival time and key before each record's data.
    #[arg(long)]
    pub verbose: bool,
    /// Stop after this many records (default: run until interrupted).
    #[arg(long)]
    pub limit: Option<u64>,
    #[command(flatten)]
    pub target: Target,
}

/// A failed command, for the user.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The server is not reachable.
    #[error("cannot reach strata at {addr}: {source} (is `strata serve` running?)")]
    Unreachable {
        /// The address tried.
        addr: String,
        /// Why.
        source: ClientError,
    },
    /// The server refused or the connection failed.
    #[error("{0}")]
    Client(#[from] ClientError),
    /// Reading input failed.
    #[error("reading input: {0}")]
    Input(#[from] std::io::Error),
    /// A line had no usable key field.
    #[error("line {line}: {reason}")]
    Key {
        /// 1-based line number.
        line: u64,
        /// What was wrong.
        reason: String,
    },
    /// A bad argument.
    #[error("{0}")]
    Argument(String),
}

async fn connect(target: &Target) -> Result<Client, CommandError> {
    let mut config = ClientConfig::default();
    if config.credentials.is_none()
        && let Some(path) = &target.config
    {
        let layer = crate::config::Layer::from_file(path)
            .map_err(|error| CommandError::Argument(error.to_string()))?;
        config.credentials = layer
            .auth
            .access_keys
            .and_then(|keys| keys.into_iter().next())
            .map(|(access_key_id, secret_access_key)| Credentials {
                access_key_id,
                secret_access_key,
            });
    }
    if let Some(ca_file) = &target.tls_ca {
        let host = target
            .addr
            .rsplit_once(':')
            .map_or(target.addr.as_str(), |(host, _)| host)
            .trim_start_matches('[')
            .trim_end_matches(']');
        let name = target.tls_server_name.as_deref().unwrap_or(host);
        config.tls = Some(
            ClientTls::new(ca_file, name)
                .map_err(|error| CommandError::Argument(error.to_string()))?,
        );
    }
    Client::connect_with(target.addr.as_str(), config)
        .await
        .map_err(|source| CommandError::Unreachable {
            addr: target.addr.clone(),
            source,
        })
}

/// Runs `strata stream …`.
pub async fn stream(command: StreamCommand) -> Result<(), CommandError> {
    let mut out = std::io::stdout().lock();
    match command {
        StreamCommand::Create {
            name,
            shards,
            retention_hours,
            target,
        } => {
            connect(&target)
                .await?
                .create_stream(&name, shards, retention_hours)
                .await?;
            writeln!(out, "created {name} with {shards} shard(s)")?;
        }
        StreamCommand::List { target } => {
            for name in connect(&target).await?.list_streams().await? {
                writeln!(out, "{name}")?;
            }
        }
        StreamCommand::Describe { name, target } => {
            let description = connect(&target).await?.describe_stream(&name).await?;
            writeln!(
                out,
                "stream {}  retention {} h",
                description.name, description.retention_hours
            )?;
            writeln!(
                out,
                "{:>5}  {:>7}  {:>8}  {:>10}  {:>10}  {:<39}  {:<39}",
                "shard", "parent", "adjacent", "start", "end", "hash start", "hash end"
            )?;
            for shard in &description.shards {
                let show =
                    |value: Option<u64>| value.map_or_else(|| "-".to_string(), |v| v.to_string());
                writeln!(
                    out,
                    "{:>5}  {:>7}  {:>8}  {:>10}  {:>10}  {:<39}  {:<39}",
                    shard.id,
                    show(shard.parent.map(u64::from)),
                    show(shard.adjacent_parent.map(u64::from)),
                    shard.starting_offset,
                    show(shard.ending_offset),
                    shard.hash_start,
                    shard.hash_end,
                )?;
            }
        }
        StreamCommand::Delete { name, target } => {
            connect(&target).await?.delete_stream(&name).await?;
            writeln!(out, "deleted {name}")?;
        }
        StreamCommand::Split {
            name,
            shard,
            at,
            target,
        } => {
            let client = connect(&target).await?;
            let at = match at {
                Some(at) => at,
                None => {
                    let description = client.describe_stream(&name).await?;
                    let range = description
                        .shards
                        .iter()
                        .find(|described| described.id == shard)
                        .ok_or_else(|| {
                            CommandError::Argument(format!("stream {name} has no shard {shard}"))
                        })?;
                    middle(range.hash_start, range.hash_end)
                }
            };
            let [lower, upper] = client.split_shard(&name, shard, at).await?;
            writeln!(
                out,
                "split shard {shard} of {name} at hash key {at} into {lower} and {upper}"
            )?;
        }
        StreamCommand::Merge {
            name,
            shard,
            adjacent,
            target,
        } => {
            let child = connect(&target)
                .await?
                .merge_shards(&name, shard, adjacent)
                .await?;
            writeln!(
                out,
                "merged shards {shard} and {adjacent} of {name} into {child}"
            )?;
        }
    }
    Ok(())
}

fn key_from_field(line: &str, field: &str, number: u64) -> Result<String, CommandError> {
    let fail = |reason: String| CommandError::Key {
        line: number,
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|error| fail(format!("not JSON: {error}")))?;
    match value.get(field) {
        Some(serde_json::Value::String(text)) => Ok(text.clone()),
        Some(serde_json::Value::Null) | None => Err(fail(format!("no field {field:?}"))),
        Some(other) => Ok(other.to_string()),
    }
}

/// Acknowledgements `strata put` waits for at once: the records queued but not yet counted.
const PUT_ACKS_PENDING_MAX: usize = 65_536;

/// Runs `strata put`: every line becomes a record; prints how many were acknowledged. With
/// `--file` on a terminal, a progress bar on stderr shows bytes read, records queued and
/// acknowledged, MB/s and the time left.
pub async fn put(args: PutArgs) -> Result<(), CommandError> {
    let client = connect(&args.target).await?;
    let producer = Producer::new(client, args.stream.clone(), ProducerConfig::default());
    let (input, progress): (Box<dyn BufRead>, ProgressBar) = match &args.file {
        Some(path) => {
            let file = std::fs::File::open(path)?;
            let total = file.metadata()?.len();
            (Box::new(std::io::BufReader::new(file)), put_progress(total))
        }
        None => (
            Box::new(std::io::BufReader::new(std::io::stdin())),
            ProgressBar::hidden(),
        ),
    };
    // Acknowledgements are counted as they come, in queue order, by a task of their own, so
    // the count is live and the pending ones are bounded.
    let acknowledged = Arc::new(AtomicU64::new(0));
    let (acks, mut pending) = mpsc::channel::<Ack>(PUT_ACKS_PENDING_MAX);
    let collector = tokio::spawn({
        let acknowledged = Arc::clone(&acknowledged);
        async move {
            while let Some(ack) = pending.recv().await {
                ack.await?;
                acknowledged.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, ClientError>(())
        }
    });
    let queued = async {
        let mut number = 0u64;
        for line in input.lines() {
            let line = line?;
            number += 1;
            let key = match (&args.key, &args.key_field) {
                (Some(key), _) => key.clone(),
                (None, Some(field)) => key_from_field(&line, field, number)?,
                (None, None) => number.to_string(),
            };
            progress.inc(line.len() as u64 + 1);
            let ack = producer.queue(Bytes::from(key), Bytes::from(line)).await?;
            if acks.send(ack).await.is_err() {
                // The collector stopped at a failed acknowledgement; it says which below.
                break;
            }
            if number.is_multiple_of(1024) {
                progress.set_message(put_message(number, &acknowledged));
            }
        }
        producer.flush().await?;
        Ok::<_, CommandError>(())
    }
    .await;
    drop(acks);
    let collected = collector
        .await
        .map_err(|error| CommandError::Argument(format!("acknowledgement task: {error}")))?;
    progress.finish_and_clear();
    queued?;
    collected?;
    let acknowledged = acknowledged.load(Ordering::Relaxed);
    eprintln!("put {acknowledged} record(s) into {}", args.stream);
    Ok(())
}

/// The bar of `strata put --file` over `total` bytes; hidden unless stderr is a terminal.
fn put_progress(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(
        "{bar:30} {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec}, ETA {eta} \
         {wide_msg}",
    ) {
        bar.set_style(style);
    }
    bar
}

fn put_message(queued: u64, acknowledged: &AtomicU64) -> String {
    format!(
        "{queued} records queued, {} acknowledged",
        acknowledged.load(Ordering::Relaxed)
    )
}

fn start_position(from: &str) -> Result<StartPosition, CommandError> {
    match from {
        "trim-horizon" | "trim_horizon" | "oldest" => Ok(StartPosition::TrimHorizon),
        "latest" | "now" => Ok(StartPosition::Latest),
        other => other.parse::<i64>().map(StartPosition::AtTimestamp).map_err(|_| {
            CommandError::Argument(format!(
                "--from {other:?}: expected trim-horizon, latest or milliseconds since the epoch"
            ))
        }),
    }
}

/// Runs `strata tail`: one task per shard, following split and merge lineage into child
/// shards, until interrupted (or `--limit` records).
pub async fn tail(args: TailArgs) -> Result<(), CommandError> {
    let start = start_position(&args.from)?;
    let client = connect(&args.target).await?;
    let description = client.describe_stream(&args.stream).await?;
    let known: BTreeSet<u32> = description.shards.iter().map(|s| s.id).collect();
    // Latest: only open shards can get new records. Otherwise the roots of the lineage; the
    // children follow when their parents are read to the end.
    let first: Vec<u32> = description
        .shards
        .iter()
        .filter(|shard| match start {
            StartPosition::Latest => shard.ending_offset.is_none(),
            _ => shard.parent.is_none_or(|parent| !known.contains(&parent)),
        })
        .map(|shard| shard.id)
        .collect();
    let (records, mut printed) = tokio::sync::mpsc::channel::<String>(1024);
    let mut started = BTreeSet::new();
    let mut shards = JoinSet::new();
    for shard in first {
        started.insert(shard);
        // "Latest" is pinned to an offset now, so nothing put after this line is missed.
        let from = match start {
            StartPosition::Latest => {
                let fetch = client::Fetch {
                    stream: args.stream.clone(),
                    shard,
                    start,
                    max_records: 1,
                    max_bytes: 1,
                    max_wait_ms: 0,
                };
                StartPosition::AtOffset(client.fetch(fetch).await?.next_offset)
            }
            other => other,
        };
        let task = follow(
            client.clone(),
            args.stream.clone(),
            shard,
            from,
            args.verbose,
            records.clone(),
        );
        shards.spawn(task);
    }
    eprintln!("following {} from {}", args.stream, args.from);
    let mut count = 0u64;
    let mut out = std::io::stdout();
    while !shards.is_empty() {
        tokio::select! {
            Some(line) = printed.recv() => {
                writeln!(out, "{line}")?;
                out.flush()?;
                count += 1;
                if args.limit.is_some_and(|limit| count >= limit) {
                    return Ok(());
                }
            }
            Some(ended) = shards.join_next() => {
                let children = ended.map_err(|error| CommandError::Argument(error.to_string()))??;
                for child in children {
                    if started.insert(child) {
                        // A child holds only records newer than its parents: read it all.
                        let start = StartPosition::TrimHorizon;
                        let task = follow(client.clone(), args.stream.clone(), child, start, args.verbose, records.clone());
                        shards.spawn(task);
                    }
                }
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
    Ok(())
}

/// Reads one shard until it ends (returning its children) or the printer goes away.
async fn follow(
    client: Client,
    stream: String,
    shard: u32,
    start: StartPosition,
    verbose: bool,
    printer: tokio::sync::mpsc::Sender<String>,
) -> Result<Vec<u32>, CommandError> {
    let mut consumer = ShardConsumer::new(client, stream, shard, start);
    loop {
        for record in consumer.next_batch(Duration::from_secs(5)).await? {
            let data = String::from_utf8_lossy(&record.data);
            let line = if verbose {
                let key = String::from_utf8_lossy(&record.key);
                format!(
                    "{shard}\t{}\t{}\t{key}\t{data}",
                    record.offset, record.timestamp_ms
                )
            } else {
                data.into_owned()
            };
            if printer.send(line).await.is_err() {
                return Ok(Vec::new());
            }
        }
        if consumer.is_ended() {
            return Ok(consumer.children().to_vec());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_fields_are_read_from_json_lines() {
        assert_eq!(
            key_from_field(r#"{"user":"ann","n":1}"#, "user", 1).unwrap(),
            "ann"
        );
        assert_eq!(key_from_field(r#"{"user":42}"#, "user", 1).unwrap(), "42");
        assert!(matches!(
            key_from_field(r#"{"x":1}"#, "user", 3),
            Err(CommandError::Key { line: 3, .. })
        ));
        assert!(matches!(
            key_from_field("not json", "user", 4),
            Err(CommandError::Key { line: 4, .. })
        ));
    }

    #[test]
    fn the_default_split_point_halves_the_range() {
        assert_eq!(middle(0, u128::MAX), 1 << 127);
        assert_eq!(middle(0, (1 << 127) - 1), 1 << 126);
        assert_eq!(middle(10, 11), 11);
        assert_eq!(middle(10, 13), 12);
        // One hash key: nothing to split; the server refuses a point past the end.
        assert_eq!(middle(7, 7), 8);
        assert_eq!(middle(u128::MAX, u128::MAX), u128::MAX);
    }

    #[test]
    fn start_positions_parse() {
        assert_eq!(
            start_position("trim-horizon").unwrap(),
            StartPosition::TrimHorizon
        );
        assert_eq!(start_position("latest").unwrap(), StartPosition::Latest);
        assert_eq!(
            start_position("1700000000000").unwrap(),
            StartPosition::AtTimestamp(1_700_000_000_000)
        );
        assert!(start_position("yesterday").is_err());
    }
}
