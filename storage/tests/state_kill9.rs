//! Real crashes of keyed state: a child process changes state and is killed with SIGKILL at
//! random moments, often while a snapshot is being written or segments compacted.
//!
//! The test binary re-executes itself to run [`child_changer`] (a no-op unless
//! `STRATA_STATE_CHILD_DIR` is set). In round `r`, each of several tasks of the child makes a
//! deterministic sequence of changes to keys of its own (`r<round>/t<task>/k<n>`: puts, and a
//! delete every fifth step), one change per step, printing `ACK <task> <step>` after each
//! acknowledgement. Snapshots are due every few dozen changes, so compactions run all the time.
//! After the kill the parent opens the directory and proves, per task:
//!
//! - every acknowledged change is there: the task's keys equal the model after its last
//!   acknowledged step, or after the one step more that was in flight (written, not yet
//!   acknowledged), nothing else;
//! - nothing is resurrected: a key deleted by an acknowledged step stays deleted (the model
//!   comparison covers it);
//! - what earlier rounds left is unchanged by every later crash, compaction and recovery.
//!
//! `STRATA_CRASH_SEED=<n>` replays a run.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use storage::{Log, Owner, StateChange};

const STREAM: &str = "state-crash";
const TASKS: u32 = 4;
const KEYS: u64 = 16;
const CHILD_READY_TIMEOUT: Duration = Duration::from_secs(30);
const ENV_DIR: &str = "STRATA_STATE_CHILD_DIR";
const ENV_FSYNC: &str = "STRATA_STATE_CHILD_FSYNC";
const ENV_ROUND: &str = "STRATA_STATE_CHILD_ROUND";
const ENV_SEED: &str = "STRATA_CRASH_SEED";

fn config(dir: &Path, fsync: &str) -> storage::LogConfig {
    let mut config = common::config(dir);
    config.fsync = fsync.parse().expect("valid fsync setting");
    config.state_segment_bytes_max = 8 * 1024;
    config.state_snapshot_changes_min = 48;
    config
}

fn prefix(round: u32, task: u32) -> String {
    format!("r{round:03}/t{task}/")
}

/// Step `n` (from 1) of a task: which key, and its new value (`None`: deleted).
fn step(round: u32, task: u32, n: u64) -> (Bytes, Option<Bytes>) {
    let key = Bytes::from(format!("{}k{:02}", prefix(round, task), (n * 7) % KEYS));
    let value = (!n.is_multiple_of(5))
        .then(|| Bytes::from(format!("{n}:{}", "s".repeat((n % 97) as usize))));
    (key, value)
}

fn model(round: u32, task: u32, steps: u64) -> BTreeMap<Bytes, Bytes> {
    let mut map = BTreeMap::new();
    for n in 1..=steps {
        match step(round, task, n) {
            (key, Some(value)) => {
                map.insert(key, value);
            }
            (key, None) => {
                map.remove(&key);
            }
        }
    }
    map
}

fn say(line: &str) -> bool {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())
        .and_then(|()| out.flush())
        .is_ok()
}

#[test]
fn child_changer() {
    let Some(dir) = std::env::var_os(ENV_DIR) else {
        return;
    };
    let fsync = std::env::var(ENV_FSYNC).expect("child: fsync");
    let round: u32 = std::env::var(ENV_ROUND)
        .expect("child: round")
        .parse()
        .expect("child: round number");
    let log = Log::open(config(Path::new(&dir), &fsync)).expect("child: open");
    if log.stream(STREAM).is_err() {
        log.create_stream(
            STREAM,
            1,
            Duration::from_secs(3600),
            Owner::new("sqs").expect("owner tag"),
        )
        .expect("child: create the stream");
    }
    let state = log.create_state(STREAM).expect("child: create the state");
    if !say("READY\n") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("child: runtime");
    runtime.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| {
                let state = state.clone();
                tokio::spawn(async move {
                    // Bounded: a child somehow never killed stops by itself.
                    for n in 1..=200_000u64 {
                        let change = match step(round, task, n) {
                            (key, Some(value)) => StateChange::put(key, value),
                            (key, None) => StateChange::delete(key),
                        };
                        state.change(vec![change]).await.expect("child: change");
                        if !say(&format!("ACK {task} {n}\n")) {
                            return;
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    });
}

fn spawn_child(dir: &Path, fsync: &str, round: u32) -> Child {
    let exe = std::env::current_exe().expect("path of the test binary");
    Command::new(exe)
        .args([
            "--exact",
            "child_changer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV_DIR, dir)
        .env(ENV_FSYNC, fsync)
        .env(ENV_ROUND, round.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the child")
}

/// The last acknowledged step of each task, from the child's output.
fn read_acks(stdout: impl Read, ready: mpsc::Sender<()>) -> Vec<u64> {
    let mut last = vec![0; TASKS as usize];
    for line in BufReader::new(stdout).split(b'\n') {
        let Ok(line) = line else { break };
        let line = String::from_utf8_lossy(&line);
        if line.ends_with("READY") {
            let _ = ready.send(());
        } else if let Some(rest) = line.strip_prefix("ACK ") {
            let mut parts = rest.split(' ');
            let (Some(task), Some(n)) = (parts.next(), parts.next()) else {
                continue;
            };
            let (task, n): (usize, u64) = (
                task.parse().expect("task number"),
                n.parse().expect("step number"),
            );
            last[task] = last[task].max(n);
        }
    }
    last
}

fn crash_rounds(fsync: &str, rounds: u32) {
    let seed = std::env::var(ENV_SEED)
        .ok()
        .map_or_else(rand::random, |s| s.parse().expect("seed"));
    eprintln!("state crash test, fsync={fsync}: seed {seed} (replay with {ENV_SEED}={seed})");
    let mut rng = StdRng::seed_from_u64(seed);
    let tempdir = tempfile::tempdir().expect("tempdir");
    let dir = tempdir.path();
    // What each finished round left, per task: checked again after every later crash.
    let mut settled: Vec<(u32, u32, BTreeMap<Bytes, Bytes>)> = Vec::new();
    let mut acknowledged = 0u64;
    let mut compactions_seen = false;
    for round in 0..rounds {
        let context = format!("seed {seed}, round {round}, fsync {fsync}");
        let mut child = spawn_child(dir, fsync, round);
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let (ready_tx, ready_rx) = mpsc::channel();
        let reader = std::thread::spawn(move || read_acks(stdout, ready_tx));
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let _ = ready_rx.recv_timeout(CHILD_READY_TIMEOUT);
        std::thread::sleep(Duration::from_millis(rng.gen_range(30..=300)));
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("reap");
        let last = reader.join().expect("reader");
        let errors = errors.join().expect("stderr");
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "{context}: the child exited ({status}); stderr:\n{errors}"
        );
        let log = Log::open(config(dir, fsync)).expect("open after the kill");
        let state = log.state(STREAM).expect("the state");
        for task in 0..TASKS {
            let acked = last[task as usize];
            acknowledged += acked;
            let found: BTreeMap<Bytes, Bytes> = state
                .scan(prefix(round, task).as_bytes())
                .expect("scan")
                .into_iter()
                .collect();
            let exact = model(round, task, acked);
            let one_more = model(round, task, acked + 1);
            assert!(
                found == exact || found == one_more,
                "{context}: task {task} acknowledged {acked} steps, but its keys are {found:?}, \
                 expected {exact:?} (or, with the step in flight, {one_more:?})"
            );
            settled.push((round, task, found));
        }
        for (earlier, task, want) in &settled {
            let found: BTreeMap<Bytes, Bytes> = state
                .scan(prefix(*earlier, *task).as_bytes())
                .expect("scan")
                .into_iter()
                .collect();
            assert_eq!(
                &found, want,
                "{context}: round {earlier} task {task} changed"
            );
        }
        compactions_seen |= state.stats().expect("stats").snapshot_offset.is_some();
        log.close().expect("close");
    }
    eprintln!("{rounds} rounds: {acknowledged} acknowledged changes, all present");
    assert!(
        acknowledged > u64::from(rounds) * 10,
        "seed {seed}: only {acknowledged} changes acknowledged; the test proved little"
    );
    assert!(compactions_seen, "no snapshot was ever written");
}

#[test]
fn kill9_with_fsync_always_keeps_every_acknowledged_state_change() {
    crash_rounds("always", 12);
}

#[test]
fn kill9_with_fsync_interval_keeps_every_acknowledged_state_change() {
    crash_rounds("interval:5", 6);
}
