//! Routed appends race splits and merges. Before the router, a split closed the parent through
//! the commit queue and only then committed its children to the catalog; an append routed in
//! between met `ShardClosed` and its caller had to route again (the Kinesis view slept and
//! retried, the native listener held a gate of its own). Now the close and the new routes are
//! one step as appenders see it: this test keeps many appenders routing through `Log::route`
//! while the stream is split and merged again and again, and checks that no append fails,
//! that every acknowledged record is in its shard exactly once, in the shard its hash key
//! belongs to, and that each key's records follow the lineage in order (a later record is in
//! the same shard at a higher offset, or in a descendant at or after the ancestor's end).
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod common;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use storage::{
    Fsync, Log, NewRecord, Owner, PendingAppend, ReadLimits, ShardInfo, StreamInfo, hash_key,
};

const STREAM: &str = "s";
const DAY: Duration = Duration::from_secs(86_400);
/// Concurrent appenders, each with keys of its own.
const APPENDERS: u64 = 6;
const KEYS_PER_APPENDER: u64 = 8;
/// Records of one routed append batch at most.
const BATCH_RECORDS_MAX: usize = 6;
/// Batches an appender keeps queued before it waits for the oldest.
const IN_FLIGHT_MAX: usize = 4;
/// Batches each appender sends at least, however quick the resharding.
const BATCHES_MIN: usize = 200;
/// Splits and merges, alternating as the shard count allows.
const RESHARDS: usize = 40;
/// The open shards the resharder keeps between.
const OPEN_SHARDS_MIN: usize = 1;
const OPEN_SHARDS_MAX: usize = 6;

/// What an appender was told: key, its sequence number for that key, shard, offset.
#[derive(Clone, Debug)]
struct Acked {
    key: String,
    sequence: u64,
    shard: u32,
    offset: u64,
}

/// The (key, sequence number) pairs of one append, and the append.
type Queued = Vec<(u32, Vec<(String, u64)>, PendingAppend)>;
/// One shard's part of a batch: its (key, sequence number) pairs and records.
type Group = (Vec<(String, u64)>, Vec<NewRecord>);

async fn appender(log: Log, task: u64, seed: u64, stop: Arc<AtomicBool>) -> Vec<Acked> {
    let mut rng = StdRng::seed_from_u64(seed ^ task.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut sequences: HashMap<String, u64> = HashMap::new();
    let mut in_flight: VecDeque<Queued> = VecDeque::new();
    let mut acked = Vec::new();
    let mut batches = 0;
    while batches < BATCHES_MIN || !stop.load(Ordering::Relaxed) {
        batches += 1;
        let route = log.route(STREAM).await.unwrap();
        let mut by_shard: BTreeMap<u32, Group> = BTreeMap::new();
        for _ in 0..rng.gen_range(1..=BATCH_RECORDS_MAX) {
            let key = format!("a{task}-k{}", rng.gen_range(0..KEYS_PER_APPENDER));
            let sequence = sequences.entry(key.clone()).or_default();
            *sequence += 1;
            let record = NewRecord::new(key.clone(), format!("{key}#{sequence}"));
            let shard = route
                .shard_for(&record)
                .expect("every hash key has an open shard");
            let entry = by_shard.entry(shard).or_default();
            entry.0.push((key, *sequence));
            entry.1.push(record);
        }
        let mut queued = Vec::new();
        for (shard, (keys, records)) in by_shard {
            let pending = route.enqueue(shard, records).await.unwrap();
            queued.push((shard, keys, pending));
        }
        drop(route);
        in_flight.push_back(queued);
        if in_flight.len() > IN_FLIGHT_MAX
            && let Some(oldest) = in_flight.pop_front()
        {
            acknowledge(oldest, &mut acked).await;
        }
    }
    while let Some(oldest) = in_flight.pop_front() {
        acknowledge(oldest, &mut acked).await;
    }
    acked
}

async fn acknowledge(queued: Queued, acked: &mut Vec<Acked>) {
    for (shard, keys, pending) in queued {
        let ack = match pending.acknowledged().await {
            Ok(ack) => ack,
            Err(error) => panic!("a routed append to shard {shard} failed: {error}"),
        };
        assert_eq!(ack.record_count as usize, keys.len());
        for ((key, sequence), offset) in keys.into_iter().zip(ack.first_offset..) {
            acked.push(Acked {
                key,
                sequence,
                shard,
                offset,
            });
        }
    }
}

/// Splits the widest open shard at its middle, or merges a neighbouring pair, alternating
/// within the open shard bounds.
async fn reshard(log: &Log, step: usize) {
    let info = log.stream(STREAM).unwrap();
    let mut open: Vec<&ShardInfo> = info.shards.iter().filter(|s| s.is_open()).collect();
    open.sort_by_key(|shard| shard.hash_start);
    let split = open.len() <= OPEN_SHARDS_MIN || (step % 3 != 2 && open.len() < OPEN_SHARDS_MAX);
    if split {
        let widest = open
            .iter()
            .max_by_key(|shard| shard.hash_end - shard.hash_start)
            .unwrap();
        let at = widest.hash_start + (widest.hash_end - widest.hash_start) / 2 + 1;
        log.split_shard(STREAM, widest.id, at).await.unwrap();
    } else {
        let first = step % (open.len() - 1);
        let (lower, upper) = (open[first], open[first + 1]);
        log.merge_shards(STREAM, upper.id, lower.id).await.unwrap();
    }
}

fn is_descendant(info: &StreamInfo, shard: u32, ancestor: u32) -> bool {
    let mut frontier = vec![shard];
    while let Some(id) = frontier.pop() {
        if id == ancestor {
            return true;
        }
        let found = info.shard(id).unwrap();
        frontier.extend(found.parent);
        frontier.extend(found.adjacent_parent);
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn routed_appends_never_meet_a_closed_shard_while_shards_split_and_merge() {
    let seed: u64 = std::env::var("STRATA_TEST_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(rand::random);
    println!("seed {seed} (STRATA_TEST_SEED={seed} replays the appenders' choices)");
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.fsync = Fsync::Never;
    let log = Log::open(config).unwrap();
    log.create_stream(STREAM, 2, DAY, Owner::KINESIS).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let appenders: Vec<_> = (0..APPENDERS)
        .map(|task| tokio::spawn(appender(log.clone(), task, seed, stop.clone())))
        .collect();
    for step in 0..RESHARDS {
        reshard(&log, step).await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for appender in appenders {
        acked.extend(appender.await.unwrap());
    }

    let info = log.stream(STREAM).unwrap();
    assert!(
        info.shards.len() > 2 + RESHARDS,
        "every reshard made children: {} shards",
        info.shards.len()
    );
    // Every record read back, from every shard of the lineage.
    let mut stored: HashMap<(u32, u64), (String, String)> = HashMap::new();
    for shard in &info.shards {
        let bounds = log.shard_bounds(STREAM, shard.id).unwrap();
        let mut from = bounds.earliest;
        while from < bounds.next {
            let limits = ReadLimits {
                records_max: 10_000,
                bytes_max: 1 << 20,
            };
            let batch = log.read(STREAM, shard.id, from, limits).unwrap();
            for record in batch.records {
                let key = String::from_utf8(record.key.to_vec()).unwrap();
                let data = String::from_utf8(record.data.to_vec()).unwrap();
                assert!(
                    (shard.hash_start..=shard.hash_end).contains(&hash_key(key.as_bytes())),
                    "seed {seed}: {data} in shard {} outside its hash range",
                    shard.id
                );
                stored.insert((shard.id, record.offset), (key, data));
            }
            from = batch.next_offset;
        }
    }
    assert_eq!(
        stored.len(),
        acked.len(),
        "seed {seed}: exactly the acknowledged records are stored"
    );
    for record in &acked {
        let expected = format!("{}#{}", record.key, record.sequence);
        let found = stored.get(&(record.shard, record.offset));
        assert_eq!(
            found.map(|(key, data)| (key.as_str(), data.as_str())),
            Some((record.key.as_str(), expected.as_str())),
            "seed {seed}: acknowledged at shard {} offset {}",
            record.shard,
            record.offset
        );
    }
    // Per key, in the order each appender sent: along the lineage, offsets growing.
    let mut by_key: BTreeMap<&str, Vec<&Acked>> = BTreeMap::new();
    for record in &acked {
        by_key.entry(&record.key).or_default().push(record);
    }
    for (key, mut records) in by_key {
        records.sort_by_key(|record| record.sequence);
        for pair in records.windows(2) {
            let (before, after) = (pair[0], pair[1]);
            assert_eq!(before.sequence + 1, after.sequence, "seed {seed}: {key}");
            assert!(after.offset > before.offset, "seed {seed}: {key} {pair:?}");
            if before.shard != after.shard {
                assert!(
                    is_descendant(&info, after.shard, before.shard),
                    "seed {seed}: {key} moved from shard {} to {}, not a descendant",
                    before.shard,
                    after.shard
                );
                let ending = info.shard(before.shard).unwrap().ending_offset;
                assert!(
                    ending.is_some_and(|ending| after.offset >= ending),
                    "seed {seed}: {key} at {} in shard {} before its ancestor {} ended ({ending:?})",
                    after.offset,
                    after.shard,
                    before.shard
                );
            }
        }
    }
    tokio::task::block_in_place(|| log.close()).unwrap();
}
