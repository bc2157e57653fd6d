//! Data directories written by earlier versions still open: a catalog whose stream entries
//! predate owners (op 1, built here byte by byte as that code wrote them) opens with each
//! stream's owner derived from its name, serves the data already on disk, and is rewritten
//! with owners from then on.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod common;

use std::time::Duration;

use storage::{Log, NewRecord, Owner, ReadLimits, StreamInfo};

/// A stream entry (op 1) as catalogs without owners hold it.
fn old_put_stream(info: &StreamInfo) -> Vec<u8> {
    let mut op = vec![1u8];
    op.extend_from_slice(&u32::try_from(info.name.len()).unwrap().to_le_bytes());
    op.extend_from_slice(info.name.as_bytes());
    op.extend_from_slice(&info.id.to_le_bytes());
    op.extend_from_slice(
        &u64::try_from(info.retention.as_millis())
            .unwrap()
            .to_le_bytes(),
    );
    op.extend_from_slice(&info.created_ms.to_le_bytes());
    op.extend_from_slice(&info.next_shard_id.to_le_bytes());
    op.extend_from_slice(&u32::try_from(info.shards.len()).unwrap().to_le_bytes());
    for shard in &info.shards {
        op.extend_from_slice(&shard.id.to_le_bytes());
        op.extend_from_slice(&shard.hash_start.to_le_bytes());
        op.extend_from_slice(&shard.hash_end.to_le_bytes());
        for parent in [shard.parent, shard.adjacent_parent] {
            match parent {
                Some(id) => {
                    op.push(1);
                    op.extend_from_slice(&id.to_le_bytes());
                }
                None => op.push(0),
            }
        }
        op.extend_from_slice(&shard.starting_offset.to_le_bytes());
        match shard.ending_offset {
            Some(end) => {
                op.push(1);
                op.extend_from_slice(&end.to_le_bytes());
            }
            None => op.push(0),
        }
        op.extend_from_slice(&shard.created_ms.to_le_bytes());
    }
    op
}

/// One journal entry: u32 length, u32 CRC32 of the payload, payload = u32 count, ops.
fn entry(ops: &[Vec<u8>]) -> Vec<u8> {
    let mut payload = u32::try_from(ops.len()).unwrap().to_le_bytes().to_vec();
    ops.iter().for_each(|op| payload.extend_from_slice(op));
    let mut out = u32::try_from(payload.len()).unwrap().to_le_bytes().to_vec();
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

#[test]
fn a_data_directory_with_a_catalog_from_before_owners_opens() {
    let dir = tempfile::tempdir().unwrap();
    let streams = {
        let log = Log::open(common::config(dir.path())).unwrap();
        log.create_stream("clicks", 2, Duration::from_secs(48 * 3600), Owner::KINESIS)
            .unwrap();
        log.create_stream(
            "firehose:ds",
            1,
            Duration::from_secs(7 * 86_400),
            Owner::FIREHOSE,
        )
        .unwrap();
        log.append_blocking("clicks", 1, vec![NewRecord::new("k", "old click")])
            .unwrap();
        log.append_blocking("firehose:ds", 0, vec![NewRecord::new("k", "old put")])
            .unwrap();
        let streams = log.list_streams();
        log.close().unwrap();
        streams
    };
    // The catalog as the code before owners wrote it: one entry per stream, op 1.
    let meta = dir.path().join("meta");
    std::fs::remove_dir_all(&meta).unwrap();
    std::fs::create_dir(&meta).unwrap();
    let journal: Vec<u8> = streams
        .iter()
        .flat_map(|info| entry(&[old_put_stream(info)]))
        .collect();
    std::fs::write(meta.join("journal.0"), journal).unwrap();

    let mut config = common::config(dir.path());
    // Small enough that the next change compacts the catalog into a snapshot with owners.
    config.meta_journal_bytes_max = 1;
    let log = Log::open(config.clone()).unwrap();
    assert_eq!(log.list_streams(), streams, "owners derived from the names");
    assert_eq!(log.stream("clicks").unwrap().owner, Owner::KINESIS);
    assert_eq!(log.stream("firehose:ds").unwrap().owner, Owner::FIREHOSE);
    let read = |log: &Log, stream: &str, shard: u32| {
        log.read(stream, shard, 0, ReadLimits::default())
            .unwrap()
            .records
            .iter()
            .map(|r| r.data.to_vec())
            .collect::<Vec<_>>()
    };
    assert_eq!(read(&log, "clicks", 1), [b"old click".to_vec()]);
    assert_eq!(read(&log, "firehose:ds", 0), [b"old put".to_vec()]);
    // A change after the upgrade, then a reopen from the rewritten catalog.
    log.create_stream("q", 1, Duration::from_secs(60), Owner::new("sqs").unwrap())
        .unwrap();
    log.close().unwrap();
    drop(log);
    assert!(meta.join("snapshot").exists(), "compacted");
    let log = Log::open(config).unwrap();
    let owners: Vec<(String, Owner)> = log
        .list_streams()
        .into_iter()
        .map(|info| (info.name, info.owner))
        .collect();
    assert_eq!(
        owners,
        [
            ("clicks".to_string(), Owner::KINESIS),
            ("firehose:ds".to_string(), Owner::FIREHOSE),
            ("q".to_string(), Owner::new("sqs").unwrap()),
        ]
    );
    assert_eq!(read(&log, "clicks", 1), [b"old click".to_vec()]);
    log.close().unwrap();
}
