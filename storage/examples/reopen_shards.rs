//! Measures how long opening a log takes as the number of shards grows: creates one stream of
//! N shards (default 10,000) with a record in each, closes the log, and times `Log::open`.
//!
//! ```text
//! cargo run --release -p strata-storage --example reopen_shards -- 10000 [dir]
//! ```
//!
//! Without a directory it uses a temporary one. Segments are small (the open does the same work
//! whatever their size: it reads the tail after the last index entry), so the disk space stays
//! small.

use std::time::{Duration, Instant};

use storage::{Log, LogConfig, NewRecord, Owner, RETENTION_DEFAULT};

fn config(dir: &std::path::Path) -> LogConfig {
    let mut config = LogConfig::new(dir);
    config.segment_bytes_max = 4096;
    config.record_bytes_max = 1024;
    config.batch_bytes_max = 2048;
    config
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let shards: u32 = args.next().map_or(Ok(10_000), |a| a.parse())?;
    let temp = tempfile::tempdir()?;
    let dir = args
        .next()
        .map_or_else(|| temp.path().to_path_buf(), Into::into);
    let (soft, hard) = storage::raise_open_files_limit()?;
    println!("RLIMIT_NOFILE {soft}:{hard}");

    let started = Instant::now();
    let log = Log::open(config(&dir))?;
    log.create_stream("many", shards, RETENTION_DEFAULT, Owner::KINESIS)?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    runtime.block_on(async {
        let mut pending = Vec::new();
        for shard in 0..shards {
            let record = NewRecord::new("k", format!("record of shard {shard}"));
            pending.push(log.enqueue_append("many", shard, vec![record]).await?);
        }
        for append in pending {
            append.acknowledged().await?;
        }
        Ok::<_, storage::Error>(())
    })?;
    log.close()?;
    drop(log);
    println!(
        "created and appended to {shards} shards in {:?}",
        started.elapsed()
    );

    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let log = Log::open(config(&dir))?;
        times.push(started.elapsed());
        log.close()?;
    }
    let best = times.iter().min().copied().unwrap_or(Duration::ZERO);
    println!(
        "reopened {shards} shards: first {:?}, best of 3 {best:?}",
        times[0]
    );
    Ok(())
}
