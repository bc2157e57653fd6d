// Tests index fixtures they built themselves; the decoders above are the ones kept panic-free.
#![allow(clippy::indexing_slicing)]

use std::time::Duration;

use super::*;

fn stream(name: &str, id: u64) -> StreamInfo {
    StreamInfo {
        name: name.into(),
        id,
        owner: Owner::KINESIS,
        retention: Duration::from_secs(86_400),
        created_ms: 5,
        shards: vec![ShardInfo {
            id: 0,
            hash_start: 0,
            hash_end: u128::MAX,
            parent: None,
            adjacent_parent: None,
            starting_offset: 0,
            ending_offset: None,
            created_ms: 5,
        }],
        next_shard_id: 1,
    }
}

fn every_op() -> Vec<Op> {
    vec![
        Op::PutStream(stream("a", 0)),
        Op::SetRetention {
            stream: "a".into(),
            retention_ms: 7 * 86_400_000,
        },
        Op::CloseShard {
            stream: "a".into(),
            shard: 0,
            ending_offset: 10,
        },
        Op::AddShard {
            stream: "a".into(),
            shard: ShardInfo {
                id: 1,
                hash_start: 0,
                hash_end: 99,
                parent: Some(0),
                adjacent_parent: Some(3),
                starting_offset: 10,
                ending_offset: None,
                created_ms: 6,
            },
        },
        Op::NextStreamId(9),
        Op::PutCursor {
            key: CursorKey {
                name: "c".into(),
                stream: "a".into(),
                shard: 1,
            },
            offset: 3,
        },
        Op::PutProperty {
            namespace: "tags".into(),
            key: "a".into(),
            value: vec![1, 2, 3],
        },
        Op::DeleteProperty {
            namespace: "tags".into(),
            key: "b".into(),
        },
        Op::DeleteCursors("zzz".into()),
        Op::PutStream(stream("b", 4)),
        Op::DeleteStream("b".into()),
        Op::PutStream(StreamInfo {
            owner: Owner::FIREHOSE,
            ..stream("firehose:d", 5)
        }),
        Op::PutStream(StreamInfo {
            owner: Owner::new("sqs").unwrap(),
            ..stream("q", 6)
        }),
    ]
}

#[test]
fn every_op_round_trips() {
    let ops = every_op();
    let raw = encode_entry(&ops);
    let (entries, good, stopped) = decode_entries(&raw);
    assert_eq!(stopped, None);
    assert_eq!(good, raw.len());
    assert_eq!(entries, vec![ops]);
}

#[test]
fn torn_entry_is_reported_not_applied() {
    let mut raw = encode_entry(&every_op()[..2]);
    let second = encode_entry(&every_op()[2..]);
    raw.extend_from_slice(&second[..second.len() - 3]);
    let (entries, good, stopped) = decode_entries(&raw);
    assert_eq!(entries.len(), 1);
    assert_eq!(good, raw.len() - (second.len() - 3));
    assert!(stopped.is_some());
}

#[test]
fn store_survives_reopen_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta");
    let mut store = MetaStore::open(path.clone(), 256).unwrap();
    for op in every_op() {
        store.commit(vec![op]).unwrap();
    }
    let expected = store.catalog.clone();
    assert!(
        store.generation > 0,
        "small journal limit forces compaction"
    );
    drop(store);
    let reopened = MetaStore::open(path.clone(), 256).unwrap();
    assert_eq!(reopened.catalog, expected);
    assert_eq!(expected.streams["a"].shards.len(), 2);
    assert_eq!(expected.streams["a"].shards[0].ending_offset, Some(10));
    assert_eq!(expected.next_stream_id, 9);
    assert!(!expected.streams.contains_key("b"));
}

#[test]
fn interrupted_compaction_keeps_the_old_generation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta");
    let mut store = MetaStore::open(path.clone(), u64::MAX).unwrap();
    store.commit(every_op()).unwrap();
    let expected = store.catalog.clone();
    drop(store);
    // A compaction that died before renaming its snapshot into place.
    std::fs::write(path.join("journal.1"), b"").unwrap();
    std::fs::write(path.join("snapshot.tmp"), b"partial").unwrap();
    let reopened = MetaStore::open(path.clone(), u64::MAX).unwrap();
    assert_eq!(reopened.catalog, expected);
    assert!(!path.join("journal.1").exists());
    assert!(!path.join("snapshot.tmp").exists());
}

/// A stream entry exactly as catalogs written before owners hold it (op 1), built byte by byte
/// so that it stays the old shape whatever the encoder becomes.
fn old_put_stream(name: &str, id: u64, retention_ms: u64) -> Vec<u8> {
    let mut op = vec![1u8];
    op.extend_from_slice(&u32::try_from(name.len()).unwrap().to_le_bytes());
    op.extend_from_slice(name.as_bytes());
    op.extend_from_slice(&id.to_le_bytes());
    op.extend_from_slice(&retention_ms.to_le_bytes());
    op.extend_from_slice(&5i64.to_le_bytes()); // created_ms
    op.extend_from_slice(&1u32.to_le_bytes()); // next_shard_id
    op.extend_from_slice(&1u32.to_le_bytes()); // one shard:
    op.extend_from_slice(&0u32.to_le_bytes()); // id
    op.extend_from_slice(&0u128.to_le_bytes()); // hash_start
    op.extend_from_slice(&u128::MAX.to_le_bytes()); // hash_end
    op.push(0); // no parent
    op.push(0); // no adjacent parent
    op.extend_from_slice(&0u64.to_le_bytes()); // starting_offset
    op.push(0); // open
    op.extend_from_slice(&5i64.to_le_bytes()); // created_ms
    op
}

/// Frames ops (already encoded) as one journal entry.
fn old_entry(ops: &[Vec<u8>]) -> Vec<u8> {
    let mut payload = u32::try_from(ops.len()).unwrap().to_le_bytes().to_vec();
    ops.iter().for_each(|op| payload.extend_from_slice(op));
    let mut entry = u32::try_from(payload.len()).unwrap().to_le_bytes().to_vec();
    entry.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    entry.extend_from_slice(&payload);
    entry
}

#[test]
fn old_stream_entries_decode_with_the_owner_their_name_implies() {
    let raw = old_entry(&[
        old_put_stream("clicks", 0, 86_400_000),
        old_put_stream("firehose:ds", 1, 7 * 86_400_000),
        // A Kinesis name that merely contains the word is still Kinesis's.
        old_put_stream("my-firehose:x", 2, 86_400_000),
    ]);
    let (entries, good, stopped) = decode_entries(&raw);
    assert_eq!(stopped, None);
    assert_eq!(good, raw.len());
    let streams: Vec<StreamInfo> = entries
        .into_iter()
        .flatten()
        .map(|op| match op {
            Op::PutStream(info) => info,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        streams
            .iter()
            .map(|s| (s.name.as_str(), s.owner.clone()))
            .collect::<Vec<_>>(),
        [
            ("clicks", Owner::KINESIS),
            ("firehose:ds", Owner::FIREHOSE),
            ("my-firehose:x", Owner::KINESIS)
        ]
    );
    // Everything else of the old shape is read as before.
    assert_eq!(streams[0], stream("clicks", 0));
    assert_eq!(streams[1].retention, Duration::from_secs(7 * 86_400));
}

#[test]
fn an_old_catalog_opens_and_is_rewritten_with_owners() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta");
    std::fs::create_dir_all(&path).unwrap();
    let mut next_id = vec![6u8];
    next_id.extend_from_slice(&2u64.to_le_bytes());
    std::fs::write(
        path.join("journal.0"),
        old_entry(&[
            next_id,
            old_put_stream("clicks", 0, 86_400_000),
            old_put_stream("firehose:ds", 1, 86_400_000),
        ]),
    )
    .unwrap();
    let mut store = MetaStore::open(path.clone(), u64::MAX).unwrap();
    assert_eq!(store.catalog.streams["clicks"].owner, Owner::KINESIS);
    assert_eq!(store.catalog.streams["firehose:ds"].owner, Owner::FIREHOSE);
    assert_eq!(store.catalog.next_stream_id, 2);
    // Retention changes on an old entry keep its derived owner; a compaction writes the
    // owners out (op 11), and they read back the same.
    store
        .commit(vec![Op::SetRetention {
            stream: "firehose:ds".into(),
            retention_ms: 3_600_000,
        }])
        .unwrap();
    store.compact().unwrap();
    let expected = store.catalog.clone();
    drop(store);
    let reopened = MetaStore::open(path, u64::MAX).unwrap();
    assert_eq!(reopened.catalog, expected);
    assert_eq!(
        reopened.catalog.streams["firehose:ds"].owner,
        Owner::FIREHOSE
    );
}

#[test]
fn owner_tags_are_validated() {
    assert_eq!(Owner::new("kinesis").unwrap(), Owner::KINESIS);
    assert_eq!(Owner::new("events").unwrap().as_str(), "events");
    for bad in ["", "Kinesis", "a b", "a:b", "a/b", &"x".repeat(33)] {
        assert!(
            matches!(Owner::new(bad), Err(Error::InvalidArgument(_))),
            "{bad:?}"
        );
    }
    // An owner tag written to disk that is not a valid tag is a corrupt entry, not a panic.
    let mut op = vec![11u8];
    op.extend_from_slice(&old_put_stream("s", 0, 1)[1..]);
    op.extend_from_slice(&2u32.to_le_bytes());
    op.extend_from_slice(b"A!");
    let (entries, _, stopped) = decode_entries(&old_entry(&[op]));
    assert!(entries.is_empty());
    assert_eq!(stopped, Some("invalid stream owner"));
}

proptest::proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        let _ = decode_entries(&bytes);
    }
}
