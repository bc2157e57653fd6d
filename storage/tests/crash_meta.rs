//! Metadata survives SIGKILL: a child process creates streams, splits and merges shards,
//! commits cursors and stores properties, printing a line after each acknowledged step; the
//! parent kills it at random moments, reopens the log and checks that every acknowledged step
//! is there, with the lineage the engine reported.
//!
//! Replay a failing run with `STRATA_CRASH_SEED=<seed printed on failure>`.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use storage::{Fsync, Log, Owner};

const CHILD_ENV: &str = "STRATA_CRASH_META_CHILD_DIR";
const ROUNDS: usize = 12;

fn open(dir: &std::path::Path) -> Log {
    let mut config = common::config(dir);
    config.fsync = Fsync::Always;
    // Small journal: compactions happen during the test, so kills land inside them too.
    config.meta_journal_bytes_max = 2048;
    Log::open(config).unwrap()
}

/// The child: runs steps forever, starting after the last stream a previous child created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let log = open(std::path::Path::new(&dir));
    let mut stdout = std::io::stdout().lock();
    let mut step = log.list_streams().len();
    loop {
        let name = format!("s{step:05}");
        log.create_stream(&name, 2, Duration::from_secs(86_400), Owner::KINESIS)
            .unwrap();
        let middle = log.stream(&name).unwrap().shards[0].hash_end / 2;
        let [lower, upper] = log.split_shard(&name, 0, middle).await.unwrap();
        let merged = log.merge_shards(&name, lower, upper).await.unwrap();
        log.commit_cursor("reader", &name, merged, step as u64)
            .unwrap();
        log.put_property("tags", &name, format!("step={step}").into_bytes())
            .unwrap();
        writeln!(stdout, "ACK {step} {lower} {upper} {merged}").unwrap();
        stdout.flush().unwrap();
        step += 1;
    }
}

#[test]
fn acknowledged_metadata_survives_sigkill() {
    let seed: u64 = std::env::var("STRATA_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().r#gen());
    println!("seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let mut acked: Vec<(usize, u32, u32, u32)> = Vec::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "meta_child", "--nocapture"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("ACK ") {
                    let parts: Vec<usize> = rest.split(' ').map(|p| p.parse().unwrap()).collect();
                    lines.push((parts[0], parts[1] as u32, parts[2] as u32, parts[3] as u32));
                }
            }
            lines
        });
        let wait = Duration::from_millis(rng.gen_range(30..300));
        std::thread::sleep(wait);
        child.kill().unwrap();
        child.wait().unwrap();
        acked.extend(reader.join().unwrap());

        let log = open(dir.path());
        for &(step, lower, upper, merged) in &acked {
            let name = format!("s{step:05}");
            let info = log
                .stream(&name)
                .unwrap_or_else(|e| panic!("seed {seed} round {round}: {name}: {e}"));
            assert_eq!(
                info.shards.len(),
                5,
                "seed {seed}: {name} has 2 + 2 + 1 shards"
            );
            let shard0 = info.shard(0).unwrap();
            assert!(
                shard0.ending_offset.is_some(),
                "seed {seed}: {name} shard 0 closed"
            );
            assert_eq!(info.shard(lower).unwrap().parent, Some(0));
            assert_eq!(info.shard(upper).unwrap().parent, Some(0));
            let child_shard = info.shard(merged).unwrap();
            assert_eq!(
                (child_shard.parent, child_shard.adjacent_parent),
                (Some(lower), Some(upper))
            );
            assert_eq!(
                log.cursor("reader", &name, merged),
                Some(step as u64),
                "seed {seed}: cursor of {name}"
            );
            assert_eq!(
                log.property("tags", &name),
                Some(format!("step={step}").into_bytes())
            );
        }
        log.close().unwrap();
    }
    assert!(
        acked.len() >= ROUNDS,
        "seed {seed}: the children made progress ({} steps)",
        acked.len()
    );
}
