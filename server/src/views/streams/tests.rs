//! The streams view on a real log with a manual clock: iterator expiry, routing, lineage.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use storage::{Log, LogConfig, ManualClock, Owner};

use super::*;

fn open(dir: &std::path::Path) -> (Streams, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let log = Log::open_with_clock(LogConfig::new(dir), clock.clone()).unwrap();
    (Streams::open(log, Settings::default()).unwrap(), clock)
}

fn entry(key: &str, data: &'static [u8]) -> PutEntry {
    PutEntry {
        partition_key: key.into(),
        explicit_hash_key: None,
        data: Bytes::from_static(data),
    }
}

#[tokio::test]
async fn iterators_expire_after_five_minutes_and_resist_forgery() {
    let dir = tempfile::tempdir().unwrap();
    let (streams, clock) = open(dir.path());
    streams.create("s", 1, &StreamMeta::default()).unwrap();
    streams.put("s", vec![entry("k", b"one")]).await.unwrap();
    let token = streams
        .shard_iterator("s", "shardId-000000000000", &Start::TrimHorizon)
        .unwrap();
    clock.advance_ms(ITERATOR_TTL_MS);
    let fetched = streams.get_records(&token, 10).unwrap();
    assert_eq!(fetched.records.len(), 1);
    clock.advance_ms(1);
    assert!(matches!(
        streams.get_records(&token, 10),
        Err(Error::IteratorExpired { .. })
    ));
    // The next iterator was issued with the response, so it is fresh.
    let next = fetched.next_iterator.unwrap();
    assert!(streams.get_records(&next, 10).unwrap().records.is_empty());
    let fresh = streams
        .shard_iterator("s", "shardId-000000000000", &Start::Latest)
        .unwrap();
    assert!(streams.get_records(&fresh, 10).unwrap().records.is_empty());
}

#[tokio::test]
async fn iterators_survive_a_restart_but_not_a_recreated_stream() {
    let dir = tempfile::tempdir().unwrap();
    let token = {
        let (streams, _clock) = open(dir.path());
        streams.create("s", 1, &StreamMeta::default()).unwrap();
        streams.put("s", vec![entry("k", b"one")]).await.unwrap();
        let token = streams
            .shard_iterator("s", "shardId-000000000000", &Start::TrimHorizon)
            .unwrap();
        streams.log().close().unwrap();
        token
    };
    let (streams, _clock) = open(dir.path());
    assert_eq!(streams.get_records(&token, 10).unwrap().records.len(), 1);
    streams.delete("s").unwrap();
    streams.create("s", 1, &StreamMeta::default()).unwrap();
    assert!(matches!(
        streams.get_records(&token, 10),
        Err(Error::StreamNotFound { .. })
    ));
}

#[tokio::test]
async fn sequence_numbers_from_another_shard_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (streams, _clock) = open(dir.path());
    streams.create("s", 2, &StreamMeta::default()).unwrap();
    let stored = streams
        .put(
            "s",
            vec![PutEntry {
                explicit_hash_key: Some(0),
                ..entry("k", b"x")
            }],
        )
        .await
        .unwrap();
    let stored = stored.into_iter().next().unwrap().unwrap();
    assert_eq!(stored.shard, 0);
    let sequence = sequence::encode(stored.shard, stored.offset);
    assert!(matches!(
        streams.shard_iterator(
            "s",
            "shardId-000000000001",
            &Start::AtSequence(sequence.clone())
        ),
        Err(Error::InvalidArgument(_))
    ));
    let token = streams
        .shard_iterator("s", "shardId-000000000000", &Start::AfterSequence(sequence))
        .unwrap();
    assert!(streams.get_records(&token, 10).unwrap().records.is_empty());
}

#[tokio::test]
async fn a_closed_shard_read_to_its_end_names_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let (streams, _clock) = open(dir.path());
    streams.create("s", 1, &StreamMeta::default()).unwrap();
    streams
        .put("s", vec![entry("a", b"1"), entry("b", b"2")])
        .await
        .unwrap();
    let token = streams
        .shard_iterator("s", "shardId-000000000000", &Start::TrimHorizon)
        .unwrap();
    streams.log().split_shard("s", 0, 1 << 127).await.unwrap();
    let fetched = streams.get_records(&token, 1).unwrap();
    assert_eq!(fetched.records.len(), 1);
    assert!(fetched.children.is_none());
    let last = streams
        .get_records(&fetched.next_iterator.unwrap(), 10)
        .unwrap();
    assert_eq!(last.records.len(), 1);
    assert!(last.next_iterator.is_none());
    let children: Vec<u32> = last.children.unwrap().iter().map(|c| c.id).collect();
    assert_eq!(children, vec![1, 2]);
    // New records go to the children.
    let stored = streams.put("s", vec![entry("a", b"3")]).await.unwrap();
    assert!(stored[0].as_ref().unwrap().shard >= 1);
    tokio::time::sleep(Duration::from_millis(1)).await;
}

#[tokio::test]
async fn streams_of_other_owners_are_invisible_whatever_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let (streams, _clock) = open(dir.path());
    streams.create("k", 2, &StreamMeta::default()).unwrap();
    let log = streams.log();
    // A delivery stream's own stream, and one of a view to come whose name says nothing.
    log.create_stream("firehose:ds", 1, Duration::from_secs(3600), Owner::FIREHOSE)
        .unwrap();
    let queue = Owner::new("sqs").unwrap();
    log.create_stream("orders", 3, Duration::from_secs(3600), queue)
        .unwrap();
    let names: Vec<String> = streams.list().into_iter().map(|s| s.info.name).collect();
    assert_eq!(names, ["k"]);
    for other in ["firehose:ds", "orders"] {
        assert!(
            matches!(streams.describe(other), Err(Error::StreamNotFound { .. })),
            "{other}"
        );
        assert!(
            matches!(streams.active(other), Err(Error::StreamNotFound { .. })),
            "{other}"
        );
        assert!(
            matches!(
                streams.resolve(None, Some(&streams.arn(other))),
                Err(Error::InvalidArgument(_))
            ),
            "{other}"
        );
        assert!(matches!(
            streams.put(other, vec![entry("k", b"x")]).await,
            Err(Error::StreamNotFound { .. })
        ));
    }
    assert_eq!(streams.resolve(None, Some(&streams.arn("k"))).unwrap(), "k");
    // Only Kinesis streams count against the shard budget.
    assert_eq!(streams.limits().open_shards, 2);
    assert_eq!(budget::ShardBudget::open_shards(log), 2);
}

#[test]
fn kinesis_retention_bounds_are_the_views() {
    for hours in [24, 168, 8760] {
        assert_eq!(
            retention_from_hours(hours).unwrap(),
            Duration::from_secs(u64::try_from(hours).unwrap() * 3600)
        );
    }
    for (hours, words) in [
        (23, "is too short"),
        (0, "is too short"),
        (-5, "is too short"),
        (8761, "is too long"),
    ] {
        let Err(Error::InvalidArgument(message)) = retention_from_hours(hours) else {
            panic!("{hours} hours accepted");
        };
        assert!(message.contains(words), "{message}");
    }
    let dir = tempfile::tempdir().unwrap();
    let (streams, _clock) = open(dir.path());
    streams.create("s", 1, &StreamMeta::default()).unwrap();
    assert!(matches!(
        streams.change_retention("s", 8761, admin::RetentionChange::Increase),
        Err(Error::InvalidArgument(_))
    ));
    // The engine would take an hour; Kinesis does not.
    assert!(matches!(
        streams.change_retention("s", 1, admin::RetentionChange::Decrease),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(
        streams.describe("s").unwrap().info.retention,
        Duration::from_secs(24 * 3600)
    );
}

/// State changes and write limits read the engine's clock, so they are tested by moving a
/// manual clock, with no sleeping.
#[tokio::test]
async fn state_changes_and_write_limits_follow_the_engine_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let log = Log::open_with_clock(LogConfig::new(dir.path()), clock.clone()).unwrap();
    let settings = Settings {
        state_change: Duration::from_millis(300),
        shard_write_limits: true,
        ..Settings::default()
    };
    let streams = Streams::open(log, settings).unwrap();
    streams.create("s", 1, &StreamMeta::default()).unwrap();
    assert_eq!(streams.describe("s").unwrap().status, Status::Creating);
    clock.advance_ms(299);
    assert_eq!(streams.describe("s").unwrap().status, Status::Creating);
    clock.advance_ms(1);
    assert_eq!(streams.describe("s").unwrap().status, Status::Active);

    // 1,000 records a second per shard: the 1,001st within the same millisecond is refused,
    // and a second later the bucket is full again.
    let entries: Vec<PutEntry> = (0..1000).map(|_| entry("k", b"x")).collect();
    let stored = streams.put("s", entries).await.unwrap();
    assert!(stored.iter().all(Result::is_ok));
    let refused = streams.put("s", vec![entry("k", b"x")]).await.unwrap();
    assert!(refused[0].is_err(), "over the shard's record rate");
    clock.advance_ms(1000);
    let again = streams.put("s", vec![entry("k", b"x")]).await.unwrap();
    assert!(again[0].is_ok(), "the bucket refilled with the clock");

    streams.delete("s").unwrap();
    assert_eq!(streams.describe("s").unwrap().status, Status::Deleting);
    clock.advance_ms(300);
    assert!(
        streams.describe("s").is_err(),
        "gone once the change is over"
    );
}

#[test]
fn the_data_paths_copy_of_the_settings_follows_every_change_and_a_recreated_stream() {
    let dir = tempfile::tempdir().unwrap();
    let (streams, _clock) = open(dir.path());
    assert!(matches!(
        streams.writable_meta("s"),
        Err(Error::StreamNotFound { .. })
    ));
    let meta = StreamMeta {
        max_record_kib: 2048,
        ..StreamMeta::default()
    };
    streams.create("s", 1, &meta).unwrap();
    assert_eq!(streams.writable_meta("s").unwrap().max_record_kib, 2048);
    streams
        .update_meta("s", |meta| meta.max_record_kib = 4096)
        .unwrap();
    assert_eq!(streams.writable_meta("s").unwrap().max_record_kib, 4096);
    // What the copy holds is what the catalog holds.
    assert_eq!(StreamMeta::load(streams.log(), "s").max_record_kib, 4096);

    streams.delete("s").unwrap();
    assert!(matches!(
        streams.writable_meta("s"),
        Err(Error::StreamNotFound { .. })
    ));
    streams.create("s", 1, &StreamMeta::default()).unwrap();
    assert_eq!(
        streams.writable_meta("s").unwrap().max_record_kib,
        StreamMeta::default().max_record_kib
    );
    // Another view's stream of that name never gets a copy.
    streams
        .log()
        .create_stream(
            "t",
            1,
            Duration::from_secs(3600),
            Owner::new("sqs").unwrap(),
        )
        .unwrap();
    assert!(matches!(
        streams.writable_meta("t"),
        Err(Error::StreamNotFound { .. })
    ));
}
