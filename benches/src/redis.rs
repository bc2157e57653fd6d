//! `strata-bench redis`: the comparison baseline. Producer tasks, each on its own TCP
//! connection, send pipelined `XADD <stream> * d <payload>` commands in RESP and count the
//! replies; latency is per pipelined round trip.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::peers::{self, Tally};
use crate::plot::Figure;
use crate::report::{self, size};
use crate::spawn::RedisServer;
use crate::storage::BoxError;

/// Options of `strata-bench redis`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// Address of the redis server (ignored with --spawn-redis).
    #[arg(long, default_value = "127.0.0.1:6379")]
    pub addr: String,
    /// Stream key to `XADD` to.
    #[arg(long, default_value = "bench")]
    pub stream: String,
    #[command(flatten)]
    pub flags: peers::Flags,
    /// Start `redis-server` (append-only, fsync every second) on a temporary directory and a
    /// free port, and stop it at the end.
    #[arg(long)]
    pub spawn_redis: bool,
}

/// The report of `strata-bench redis`.
pub type Report = peers::Report<Config>;

#[derive(Debug, Serialize)]
pub struct Config {
    pub addr: String,
    pub spawned_server: bool,
    pub stream: String,
    /// Record size, producers and duration (flattened: `record_bytes`, `producers`,
    /// `duration_secs`).
    #[serde(flatten)]
    pub load: crate::args::Load,
    pub pipeline: u32,
}

/// One `XADD` command in RESP.
fn xadd(stream: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + stream.len() + 64);
    out.extend_from_slice(b"*5\r\n$4\r\nXADD\r\n");
    for arg in [stream.as_bytes(), b"*", b"d", payload] {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads one reply; `Ok(None)` for success, `Ok(Some(message))` for an error reply.
async fn read_reply<R: AsyncBufReadExt + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> Result<Option<String>, BoxError> {
    let mut pending = 1u64;
    let mut error = None;
    while pending > 0 {
        pending -= 1;
        line.clear();
        if reader.read_until(b'\n', line).await? == 0 {
            return Err("redis closed the connection".into());
        }
        let text = String::from_utf8_lossy(line);
        let body = text.get(1..).unwrap_or_default().trim_end();
        match line.first() {
            Some(b'-') => error = Some(body.to_string()),
            Some(b'+' | b':') => {}
            Some(b'$') => {
                let len: i64 = body.parse()?;
                if len >= 0 {
                    let mut skip = vec![0; usize::try_from(len)? + 2];
                    reader.read_exact(&mut skip).await?;
                }
            }
            Some(b'*') => {
                let len: i64 = body.parse()?;
                pending += u64::try_from(len.max(0))?;
            }
            _ => return Err(format!("unexpected reply {text:?}").into()),
        }
    }
    Ok(error)
}

async fn producer(
    addr: String,
    batch: Arc<Vec<u8>>,
    pipeline: u32,
    deadline: Instant,
    acked: Arc<AtomicU64>,
) -> Result<Tally, BoxError> {
    let stream = TcpStream::connect(&addr).await?;
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::with_capacity(64 * 1024, read);
    let mut line = Vec::new();
    let mut outcome = Tally::new();
    while Instant::now() < deadline {
        let sent = Instant::now();
        write.write_all(&batch).await?;
        let before = outcome.ok;
        for _ in 0..pipeline {
            match read_reply(&mut reader, &mut line).await? {
                None => outcome.ok += 1,
                Some(error) => {
                    outcome.errors += 1;
                    outcome.first_error.get_or_insert(error);
                }
            }
        }
        report::record_latency(&mut outcome.histogram, sent.elapsed());
        // Once per round trip, for the plot.
        acked.fetch_add(outcome.ok - before, Ordering::Relaxed);
    }
    Ok(outcome)
}

pub fn run(args: &Args) -> Result<Report, BoxError> {
    let peers::Setup {
        temp,
        pinning,
        server,
    } = peers::set_up(
        "redis",
        &args.flags,
        args.spawn_redis.then_some(RedisServer::start),
    )?;
    if let Some(server) = &server {
        eprintln!("redis-server listening on {}", server.addr);
    }
    let addr = server
        .as_ref()
        .map_or(args.addr.clone(), |s| s.addr.to_string());
    let payload = vec![b'x'; usize::try_from(args.flags.load.record_bytes)?];
    let one = xadd(&args.stream, &payload);
    let batch = Arc::new(one.repeat(args.flags.pipeline as usize));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let driven = peers::drive(&runtime, "redis", &args.flags, |deadline, acked| {
        producer(
            addr.clone(),
            Arc::clone(&batch),
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
        addr,
        spawned_server: args.spawn_redis,
        stream: args.stream.clone(),
        load: args.flags.load.clone(),
        pipeline: args.flags.pipeline,
    };
    Ok(Report::new(
        "redis",
        temp.path(),
        config,
        pinning,
        driven,
        args.flags.load.record_bytes,
    ))
}

/// The run as a figure: XADD throughput over time and round-trip latency. Redis is itself the
/// baseline of the native benchmarks, so nothing is drawn beside it.
pub fn figure(report: &Report) -> Figure {
    let config = &report.config;
    report.figure(
        format!(
            "strata-bench redis: XADD of {} records, {} producers, pipeline {}, {}",
            size(config.load.record_bytes),
            config.load.producers,
            config.pipeline,
            if config.spawned_server {
                "appendfsync everysec"
            } else {
                "external server"
            }
        ),
        config.load.record_bytes,
        "redis: XADD replies",
        format!("redis: round trip of {} XADDs", config.pipeline),
    )
}

pub fn render(report: &Report) -> String {
    let config = &report.config;
    format!(
        "strata-bench redis: {} ({}), XADD {} records, {} producers, pipeline {}, {} s\n\n{}",
        config.addr,
        if config.spawned_server {
            "spawned, appendfsync everysec"
        } else {
            "external server"
        },
        size(config.load.record_bytes),
        config.load.producers,
        config.pipeline,
        config.load.duration_secs,
        report.results("XADD (round-trip latency)", "error replies"),
    )
}
