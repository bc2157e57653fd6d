// Tests index fixtures they built themselves; the decoders above are the ones kept panic-free.
#![allow(clippy::indexing_slicing)]

use std::time::Duration;

use super::*;

fn stream(name: &str, id: u64) -> StreamInfo {
    StreamInfo {
        name: name.into(),
        id,
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

proptest::proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        let _ = decode_entries(&bytes);
    }
}
