//! Real crashes: a child process appends and is killed with SIGKILL at random moments.
//!
//! The test binary re-executes itself to run [`child_appender`] in a child process (the test is
//! a no-op unless `STRATA_CRASH_CHILD_DIR` is set). The child opens the log (recovering whatever
//! the previous child left), then several threads append small batches to three shards (half of
//! them producer-encoded, adopted as they came) and print one `ACK` line per acknowledged
//! append. The parent kills the child with SIGKILL after a random
//! delay, opens the same directory itself and proves:
//!
//! - every acknowledged record is present, at the acknowledged offset, with the same key and
//!   bytes;
//! - offsets are dense from 0 and no record appears twice (every record carries a unique
//!   identity in its key, and its data is a pure function of that identity and its length);
//! - no record fails that self-check, acknowledged or not;
//! - what one recovery found is still there, unchanged, after every later crash (kill -9 does
//!   not lose the page cache, so nothing once recovered may disappear): identities and lengths
//!   are compared after every round, bytes (by CRC) after the last.
//!
//! The same directory is reused for every round, so recovery runs over the leftovers of many
//! crashes. Rounds run with `Fsync::Always`; a shorter run uses `Fsync::Interval`, whose
//! acknowledgements must survive kill -9 as well (only power loss may lose them).
//!
//! `STRATA_CRASH_SEED=<n>` replays a run; the seed is printed at the start of each test.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use storage::{EncodedRecords, Log, NewRecord, Owner, RETENTION_DEFAULT, ReadLimits};

const STREAM: &str = "crash";
const SHARDS: u32 = 3;
const THREADS: u32 = 4;
const RECORDS_PER_APPEND_MAX: u32 = 20;
const RECORD_BYTES_MAX: u32 = 8 * 1024;
/// A child that was somehow never killed stops by itself after this long.
const CHILD_LIFETIME_MAX: Duration = Duration::from_secs(30);
/// How long the parent waits for a child to open the log.
const CHILD_READY_TIMEOUT: Duration = Duration::from_secs(30);

const ENV_DIR: &str = "STRATA_CRASH_CHILD_DIR";
const ENV_FSYNC: &str = "STRATA_CRASH_CHILD_FSYNC";
const ENV_ROUND: &str = "STRATA_CRASH_CHILD_ROUND";
const ENV_CHILD_SEED: &str = "STRATA_CRASH_CHILD_SEED";
const ENV_SEED: &str = "STRATA_CRASH_SEED";
/// Set to keep the data directory for a post-mortem.
const ENV_KEEP: &str = "STRATA_CRASH_KEEP";

// ---- records: identity in the key, data derived from it --------------------------------------

/// Who wrote a record: unique across the whole run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Identity {
    round: u32,
    thread: u32,
    seq: u32,
    index: u32,
}

impl Identity {
    const KEY_LEN: usize = 16;

    fn key(&self) -> Vec<u8> {
        [self.round, self.thread, self.seq, self.index]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    }

    fn from_key(key: &[u8]) -> Option<Self> {
        if key.len() != Self::KEY_LEN {
            return None;
        }
        let field = |i: usize| {
            key.get(i * 4..i * 4 + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes)
        };
        Some(Self {
            round: field(0)?,
            thread: field(1)?,
            seq: field(2)?,
            index: field(3)?,
        })
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The data of the record `id` of `len` bytes: pseudo-random bytes from a xorshift generator
/// seeded by the identity and the length.
fn record_data(id: Identity, len: u32) -> Vec<u8> {
    let mut state = splitmix64(
        splitmix64((u64::from(id.round) << 32) | u64::from(id.thread))
            ^ splitmix64((u64::from(id.seq) << 32) | u64::from(id.index))
            ^ u64::from(len),
    ) | 1;
    let mut out = Vec::with_capacity(len as usize + 8);
    while out.len() < len as usize {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len as usize);
    out
}

// ---- the child -------------------------------------------------------------------------------

fn env_u64(name: &str) -> u64 {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} must be set in the child"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} must be a number"))
}

/// Writes one line to stdout and flushes it; false once the parent stopped listening.
fn say(line: &str) -> bool {
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())
        .and_then(|()| out.flush())
        .is_ok()
}

/// Appends `records` to `shard` as a producer-encoded batch, through the router, as the
/// native `ProduceBatch` does.
fn append_encoded(
    runtime: &tokio::runtime::Runtime,
    log: &Log,
    shard: u32,
    records: &[NewRecord],
) -> storage::Result<storage::AppendAck> {
    let encoded = EncodedRecords::from_records(records);
    let encoded = EncodedRecords::check(
        encoded.bytes().clone(),
        encoded.count(),
        encoded.crc(),
        usize::MAX,
        |_, _| true,
    )?;
    runtime.block_on(async {
        let route = log.route(STREAM).await?;
        let pending = route.enqueue_encoded(shard, encoded).await?;
        drop(route);
        pending.acknowledged().await
    })
}

fn append_until_killed(log: &Log, round: u32, thread: u32, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed ^ splitmix64(u64::from(thread)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("child: a runtime for encoded appends");
    let deadline = Instant::now() + CHILD_LIFETIME_MAX;
    let mut seq = 0u32;
    while Instant::now() < deadline {
        let shard = rng.gen_range(0..SHARDS);
        let count = rng.gen_range(1..=RECORDS_PER_APPEND_MAX);
        let lens: Vec<u32> = (0..count)
            .map(|_| rng.gen_range(1..=RECORD_BYTES_MAX))
            .collect();
        let records = lens
            .iter()
            .zip(0..)
            .map(|(&len, index)| {
                let id = Identity {
                    round,
                    thread,
                    seq,
                    index,
                };
                NewRecord::new(id.key(), record_data(id, len))
            })
            .collect::<Vec<_>>();
        // Half the appends are producer-encoded batches, adopted as they came.
        let ack = if rng.gen_bool(0.5) {
            append_encoded(&runtime, log, shard, &records)
        } else {
            log.append_blocking(STREAM, shard, records)
        }
        .unwrap_or_else(|error| panic!("child: append to shard {shard} failed: {error}"));
        assert_eq!(ack.record_count, count, "child: acknowledged record count");
        let lens: Vec<String> = lens.iter().map(u32::to_string).collect();
        let line = format!(
            "ACK {shard} {} {count} {round} {thread} {seq} {}\n",
            ack.first_offset,
            lens.join(",")
        );
        if !say(&line) {
            return;
        }
        seq += 1;
    }
}

/// The crashing child. A no-op (and a passing test) unless `STRATA_CRASH_CHILD_DIR` is set.
#[test]
fn child_appender() {
    let Some(dir) = std::env::var_os(ENV_DIR) else {
        return;
    };
    let round = u32::try_from(env_u64(ENV_ROUND)).expect("round fits u32");
    let seed = env_u64(ENV_CHILD_SEED);
    let mut config = common::config(Path::new(&dir));
    config.fsync = std::env::var(ENV_FSYNC)
        .expect("child: fsync setting")
        .parse()
        .expect("child: valid fsync setting");
    let log = Log::open(config).expect("child: open the log");
    if log.stream(STREAM).is_err() {
        log.create_stream(STREAM, SHARDS, RETENTION_DEFAULT, Owner::KINESIS)
            .expect("child: create the stream");
    }
    if !say("READY\n") {
        return;
    }
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let log = &log;
            scope.spawn(move || append_until_killed(log, round, thread, seed));
        }
    });
    log.close().expect("child: close");
}

// ---- the parent ------------------------------------------------------------------------------

/// One acknowledged append, as the child reported it.
#[derive(Debug)]
struct Ack {
    shard: u32,
    first_offset: u64,
    round: u32,
    thread: u32,
    seq: u32,
    lens: Vec<u32>,
}

fn parse_ack(line: &str) -> Option<Ack> {
    let mut fields = line.strip_prefix("ACK ")?.split(' ');
    let mut number = || fields.next()?.parse::<u64>().ok();
    let shard = u32::try_from(number()?).ok()?;
    let first_offset = number()?;
    let count = usize::try_from(number()?).ok()?;
    let round = u32::try_from(number()?).ok()?;
    let thread = u32::try_from(number()?).ok()?;
    let seq = u32::try_from(number()?).ok()?;
    let lens = fields
        .next()?
        .split(',')
        .map(|len| len.parse().ok())
        .collect::<Option<Vec<u32>>>()?;
    (lens.len() == count).then_some(Ack {
        shard,
        first_offset,
        round,
        thread,
        seq,
        lens,
    })
}

/// A record the parent has seen after a recovery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seen {
    id: Identity,
    len: u32,
    crc: u32,
}

/// Everything recovered so far, per shard in offset order, and every identity seen.
#[derive(Default)]
struct Model {
    shards: Vec<Vec<Seen>>,
    identities: HashSet<Identity>,
    acked_records: usize,
    acked_rounds: usize,
}

enum Event {
    Ready,
}

/// Reads the child's stdout: `READY` is forwarded at once, complete `ACK` lines are collected.
/// A line cut short by the kill has no newline and is ignored.
fn read_child_output(stdout: impl Read, ready: mpsc::Sender<Event>) -> Vec<Ack> {
    let mut reader = BufReader::new(stdout);
    let mut acks = Vec::new();
    let mut raw = Vec::new();
    loop {
        raw.clear();
        match reader.read_until(b'\n', &mut raw) {
            Ok(0) | Err(_) => return acks,
            Ok(_) => {}
        }
        let Some(line) = raw.strip_suffix(b"\n") else {
            return acks;
        };
        let line = String::from_utf8_lossy(line);
        // libtest prints "test child_appender ... " without a newline before the test runs.
        if line.ends_with("READY") {
            let _ = ready.send(Event::Ready);
        } else if line.starts_with("ACK ") {
            acks.push(parse_ack(&line).unwrap_or_else(|| panic!("malformed ack line {line:?}")));
        }
    }
}

fn spawn_child(dir: &Path, fsync: &str, round: u32, seed: u64) -> Child {
    let exe = std::env::current_exe().expect("path of the test binary");
    Command::new(exe)
        .args([
            "--exact",
            "child_appender",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ENV_DIR, dir)
        .env(ENV_FSYNC, fsync)
        .env(ENV_ROUND, round.to_string())
        .env(ENV_CHILD_SEED, seed.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the child appender")
}

/// Opens the log left by a killed child and checks it against everything known so far: the
/// bytes of new records, the identity and length of records recovered before, and with
/// `every_byte` their bytes too (done in the last round only, to keep the run short).
fn verify(dir: &Path, model: &mut Model, acks: &[Ack], context: &str, every_byte: bool) {
    let log = Log::open(common::config(dir))
        .unwrap_or_else(|error| panic!("{context}: reopening after the kill failed: {error}"));
    let shard_count = log.stream(STREAM).map_or(0, |info| info.shards.len());
    if shard_count == 0 {
        // The child died before creating the stream: nothing can have been acknowledged.
        assert!(
            acks.is_empty() && model.identities.is_empty(),
            "{context}: the stream vanished"
        );
        log.close().expect("close");
        return;
    }
    assert_eq!(shard_count, SHARDS as usize, "{context}: shard count");
    model.shards.resize(SHARDS as usize, Vec::new());
    for shard in 0..SHARDS {
        let seen = model
            .shards
            .get_mut(shard as usize)
            .expect("a model per shard");
        let bounds = log.shard_bounds(STREAM, shard).expect("shard bounds");
        assert_eq!(
            bounds.earliest, 0,
            "{context}: shard {shard} lost its start"
        );
        assert!(
            bounds.next >= seen.len() as u64,
            "{context}: shard {shard} shrank from {} to {} records",
            seen.len(),
            bounds.next
        );
        let mut offset = 0u64;
        while offset < bounds.next {
            let batch = log
                .read(STREAM, shard, offset, ReadLimits::default())
                .unwrap_or_else(|error| {
                    panic!("{context}: reading shard {shard} at {offset} failed: {error}")
                });
            assert!(
                !batch.records.is_empty(),
                "{context}: shard {shard} read at {offset} returned nothing before {}",
                bounds.next
            );
            for record in batch.records {
                assert_eq!(
                    record.offset, offset,
                    "{context}: shard {shard} offsets are not dense"
                );
                let id = Identity::from_key(&record.key).unwrap_or_else(|| {
                    panic!("{context}: shard {shard} offset {offset} has a foreign key")
                });
                let len = u32::try_from(record.data.len()).expect("record length");
                let index = usize::try_from(offset).expect("offset fits usize");
                match seen.get(index) {
                    Some(before) => {
                        assert!(
                            before.id == id && before.len == len,
                            "{context}: shard {shard} offset {offset} held {before:?} after an \
                             earlier recovery, now {id:?} of {len} bytes"
                        );
                        assert!(
                            !every_byte || before.crc == crc32fast::hash(&record.data),
                            "{context}: the bytes of shard {shard} offset {offset} changed since \
                             an earlier recovery"
                        );
                    }
                    None => {
                        let crc = crc32fast::hash(&record.data);
                        assert!(
                            record.data[..] == record_data(id, len)[..],
                            "{context}: shard {shard} offset {offset} ({id:?}, {len} bytes) \
                             fails its self-check"
                        );
                        assert!(
                            model.identities.insert(id),
                            "{context}: record {id:?} appears twice (again at shard {shard} \
                             offset {offset})"
                        );
                        seen.push(Seen { id, len, crc });
                    }
                }
                offset += 1;
            }
        }
    }
    for ack in acks {
        let seen = model
            .shards
            .get(ack.shard as usize)
            .unwrap_or_else(|| panic!("{context}: ack for unknown shard {}", ack.shard));
        for (index, &len) in (0..).zip(&ack.lens) {
            let offset = ack.first_offset + u64::from(index);
            let expected = Identity {
                round: ack.round,
                thread: ack.thread,
                seq: ack.seq,
                index,
            };
            let found = usize::try_from(offset).ok().and_then(|i| seen.get(i));
            match found {
                Some(found) => assert!(
                    found.id == expected && found.len == len,
                    "{context}: acknowledged {expected:?} ({len} bytes) at shard {} offset \
                     {offset}, found {found:?}",
                    ack.shard
                ),
                None => panic!(
                    "{context}: acknowledged {expected:?} at shard {} offset {offset} is lost \
                     (shard holds {} records)",
                    ack.shard,
                    seen.len()
                ),
            }
        }
    }
    model.acked_records += acks.iter().map(|ack| ack.lens.len()).sum::<usize>();
    model.acked_rounds += usize::from(!acks.is_empty());
    log.close().expect("close after verifying");
}

fn run_seed() -> u64 {
    match std::env::var(ENV_SEED) {
        Ok(seed) => seed.parse().expect("STRATA_CRASH_SEED must be a u64"),
        Err(_) => rand::random(),
    }
}

/// Runs `rounds` append-and-kill rounds on one data directory.
fn crash_rounds(fsync: &str, rounds: u32) {
    let seed = run_seed();
    eprintln!("crash test with fsync={fsync}: seed {seed} (replay with {ENV_SEED}={seed})");
    let started = Instant::now();
    let tempdir = tempfile::tempdir().expect("tempdir");
    let dir = tempdir.path().to_path_buf();
    let _cleanup = if std::env::var_os(ENV_KEEP).is_some() {
        eprintln!("keeping the data directory {}", tempdir.keep().display());
        None
    } else {
        Some(tempdir)
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut model = Model::default();
    for round in 0..rounds {
        let context = format!("seed {seed}, round {round}, fsync {fsync}");
        let delay = Duration::from_millis(rng.gen_range(50..=400));
        // Now and then the kill lands while the child is still opening and recovering.
        let during_open = rng.gen_ratio(1, 5);
        let mut child = spawn_child(&dir, fsync, round, rng.r#gen());
        let stdout = child.stdout.take().expect("child stdout");
        let mut stderr = child.stderr.take().expect("child stderr");
        let (ready_tx, ready_rx) = mpsc::channel();
        let reader = std::thread::spawn(move || read_child_output(stdout, ready_tx));
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        if !during_open {
            // A child that died instead of getting ready is reported below.
            let _ = ready_rx.recv_timeout(CHILD_READY_TIMEOUT);
        }
        std::thread::sleep(delay);
        child.kill().expect("SIGKILL the child");
        let status = child.wait().expect("reap the child");
        let acks = reader.join().expect("stdout reader");
        let errors = errors.join().expect("stderr reader");
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "{context}: the child was not killed but exited ({status}); its stderr:\n{errors}"
        );
        verify(&dir, &mut model, &acks, &context, round + 1 == rounds);
    }
    let total: usize = model.shards.iter().map(Vec::len).sum();
    eprintln!(
        "{rounds} rounds in {:.1?}: {} records acknowledged in {} rounds, {total} recovered",
        started.elapsed(),
        model.acked_records,
        model.acked_rounds,
    );
    assert!(
        model.acked_rounds * 4 >= rounds as usize,
        "seed {seed}: only {} of {rounds} rounds acknowledged anything; the test proved little",
        model.acked_rounds
    );
}

#[test]
fn kill9_with_fsync_always_loses_no_acknowledged_record() {
    crash_rounds("always", 24);
}

#[test]
fn kill9_with_fsync_interval_loses_no_acknowledged_record() {
    crash_rounds("interval:5", 4);
}
