//! Model test: any sequence of appends (rolling segments), reads, syncs and reopens returns
//! exactly what was appended, in order, checked against a plain vector per shard.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod common;

use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use storage::{Fsync, Log, NewRecord, Owner, ReadLimits};

#[derive(Clone, Debug)]
enum Op {
    Append {
        shard: u32,
        sizes: Vec<usize>,
    },
    Read {
        shard: u32,
        from_permille: u16,
        records_max: usize,
    },
    Sync,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u32..3, proptest::collection::vec(0usize..6000, 1..12))
            .prop_map(|(shard, sizes)| Op::Append { shard, sizes }),
        3 => (0u32..3, 0u16..=1000, 1usize..50)
            .prop_map(|(shard, from_permille, records_max)| Op::Read { shard, from_permille, records_max }),
        1 => Just(Op::Sync),
        1 => Just(Op::Reopen),
    ]
}

fn payload(shard: u32, offset: u64, size: usize) -> Bytes {
    let seed = (u64::from(shard) << 48) ^ offset.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..size)
        .map(|i| (seed.rotate_left((i % 64) as u32) as u8) ^ (i as u8))
        .collect::<Vec<u8>>()
        .into()
}

fn open(dir: &std::path::Path, fsync: Fsync) -> Log {
    let mut config = common::config(dir);
    config.fsync = fsync;
    Log::open(config).unwrap()
}

fn run(ops: Vec<Op>, fsync: Fsync) {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), fsync);
    log.create_stream("model", 3, Duration::from_secs(86_400), Owner::KINESIS)
        .unwrap();
    let mut model: Vec<Vec<(Bytes, Bytes)>> = vec![Vec::new(); 3];
    for op in ops {
        match op {
            Op::Append { shard, sizes } => {
                let base = model[shard as usize].len() as u64;
                let records: Vec<NewRecord> = sizes
                    .iter()
                    .enumerate()
                    .map(|(i, size)| {
                        let key = Bytes::from(format!("key-{}", base + i as u64));
                        NewRecord::new(key, payload(shard, base + i as u64, *size))
                    })
                    .collect();
                let ack = log
                    .append_blocking("model", shard, records.clone())
                    .unwrap();
                assert_eq!(ack.first_offset, base, "offsets are dense per shard");
                model[shard as usize].extend(records.into_iter().map(|r| (r.key, r.data)));
            }
            Op::Read {
                shard,
                from_permille,
                records_max,
            } => {
                let expected = &model[shard as usize];
                let from = (expected.len() as u64 * u64::from(from_permille)) / 1000;
                let limits = ReadLimits {
                    records_max,
                    bytes_max: usize::MAX,
                };
                let batch = log.read("model", shard, from, limits).unwrap();
                let want = (expected.len() as u64 - from).min(records_max as u64) as usize;
                assert_eq!(
                    batch.records.len(),
                    want,
                    "read from {from} of {}",
                    expected.len()
                );
                for (i, record) in batch.records.iter().enumerate() {
                    let offset = from + i as u64;
                    assert_eq!(record.offset, offset);
                    let (key, data) = &expected[offset as usize];
                    assert_eq!(&record.key, key);
                    assert_eq!(&record.data, data, "data at offset {offset}");
                }
                assert_eq!(batch.next_offset, from + want as u64);
            }
            Op::Sync => {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap();
                runtime.block_on(log.sync()).unwrap();
            }
            Op::Reopen => {
                log.close().unwrap();
                drop(log);
                log = open(dir.path(), fsync);
            }
        }
    }
    // Everything, once more, after a final reopen.
    log.close().unwrap();
    drop(log);
    let log = open(dir.path(), fsync);
    for (shard, expected) in model.iter().enumerate() {
        let mut from = 0;
        let mut seen = Vec::new();
        loop {
            let batch = log
                .read("model", shard as u32, from, ReadLimits::default())
                .unwrap();
            if batch.records.is_empty() {
                break;
            }
            from = batch.next_offset;
            seen.extend(batch.records.into_iter().map(|r| (r.key, r.data)));
        }
        assert_eq!(&seen, expected, "shard {shard} after reopen");
        let bounds = log.shard_bounds("model", shard as u32).unwrap();
        assert_eq!(bounds.next, expected.len() as u64);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn reads_match_appends_across_rolls_and_reopens(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops, Fsync::Interval(Duration::from_millis(5)));
    }

    #[test]
    fn reads_match_appends_with_fsync_always(ops in proptest::collection::vec(op(), 1..30)) {
        run(ops, Fsync::Always);
    }
}

#[test]
fn many_segments_then_reopen_reads_everything() {
    let ops: Vec<Op> = (0..120)
        .map(|i| {
            if i % 40 == 39 {
                Op::Reopen
            } else {
                Op::Append {
                    shard: i % 3,
                    sizes: vec![5000, 10, 3000],
                }
            }
        })
        .collect();
    run(ops, Fsync::Never);
}
