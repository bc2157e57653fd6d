//! The stream queues view on a real log with a manual clock: deliveries and visibility,
//! receipts, dead-lettering and restore, reopening, new shards after a split, retention,
//! long polls woken by appends, and the stream rules (ON_DEMAND only, consumer limit,
//! DeleteStream and the switch to PROVISIONED refused). No test sleeps: time moves by the
//! manual clock.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use std::sync::Arc;

use bytes::Bytes;
use storage::{LogConfig, ManualClock};

use super::*;
use crate::views::streams::{PutEntry, Settings as StreamsSettings, StreamMeta};

const START_MS: i64 = 1_700_000_000_000;

struct World {
    streams: Streams,
    queues: StreamQueues,
    clock: Arc<ManualClock>,
    dir: tempfile::TempDir,
}

fn open_views(dir: &std::path::Path, clock: &Arc<ManualClock>) -> (Streams, StreamQueues) {
    let mut config = LogConfig::new(dir);
    // Small segments, so retention can delete some (sealed at once under `always`).
    config.segment_bytes_max = 64 * 1024;
    config.fsync = storage::Fsync::Always;
    let log = Log::open_with_clock(config, clock.clone()).unwrap();
    let streams = Streams::open(log.clone(), StreamsSettings::default()).unwrap();
    let queues = StreamQueues::open(log, streams.clone(), Settings::default()).unwrap();
    (streams, queues)
}

fn world(shards: u32) -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START_MS));
    let (streams, queues) = open_views(dir.path(), &clock);
    let meta = StreamMeta {
        mode: Mode::OnDemand,
        ..StreamMeta::default()
    };
    streams.create("s", shards, &meta).unwrap();
    World {
        streams,
        queues,
        clock,
        dir,
    }
}

impl World {
    fn reopen(self) -> Self {
        let World {
            streams,
            queues,
            clock,
            dir,
        } = self;
        streams.log().close().unwrap();
        drop(queues);
        drop(streams);
        let (streams, queues) = open_views(dir.path(), &clock);
        World {
            streams,
            queues,
            clock,
            dir,
        }
    }

    async fn put(&self, keys: &[&str]) {
        let entries = keys
            .iter()
            .map(|key| PutEntry {
                partition_key: (*key).to_owned(),
                explicit_hash_key: None,
                data: Bytes::from(format!("data-{key}")),
            })
            .collect();
        for stored in self.streams.put("s", entries).await.unwrap() {
            stored.unwrap();
        }
    }

    async fn put_sized(&self, count: usize, bytes: usize) {
        let entries = (0..count)
            .map(|i| PutEntry {
                partition_key: format!("k{i}"),
                explicit_hash_key: None,
                data: Bytes::from(vec![7u8; bytes]),
            })
            .collect();
        for stored in self.streams.put("s", entries).await.unwrap() {
            stored.unwrap();
        }
    }

    async fn create(&self, name: &str, start: Start, attributes: Attributes) -> String {
        self.queues
            .create(
                name,
                &self.streams.arn("s"),
                start,
                attributes,
                BTreeMap::new(),
            )
            .await
            .unwrap()
            .arn
    }

    async fn receive(&self, arn: &str, path: Path) -> Vec<Delivery> {
        self.queues
            .receive(arn, path, 10, Duration::ZERO, None)
            .await
            .unwrap()
    }

    fn advance_s(&self, seconds: i64) {
        self.clock.advance_ms(seconds * 1000);
    }
}

fn keys(deliveries: &[Delivery]) -> Vec<String> {
    let mut keys: Vec<String> = deliveries
        .iter()
        .map(|d| String::from_utf8_lossy(&d.record.key).into_owned())
        .collect();
    keys.sort();
    keys
}

fn handles(deliveries: &[Delivery]) -> Vec<String> {
    deliveries
        .iter()
        .map(|d| d.receipt_handle.clone())
        .collect()
}

fn built_in(receive_count_max: u32) -> Attributes {
    Attributes {
        visibility_timeout_s: 30,
        dead_letter: DeadLetter::BuiltIn { receive_count_max },
    }
}

#[tokio::test]
async fn records_are_redelivered_after_their_visibility_with_a_new_handle() {
    let w = world(2);
    w.put(&["a", "b", "c"]).await;
    let arn = w
        .create("q", Start::TrimHorizon, Attributes::default())
        .await;
    let first = w.receive(&arn, Path::Normal).await;
    assert_eq!(keys(&first), ["a", "b", "c"]);
    assert!(first.iter().all(|d| d.receive_count == 1));
    assert!(first.iter().all(|d| d.first_receive_ms == START_MS));
    assert!(w.receive(&arn, Path::Normal).await.is_empty());
    w.advance_s(29);
    assert!(w.receive(&arn, Path::Normal).await.is_empty());
    w.advance_s(1);
    let second = w.receive(&arn, Path::Normal).await;
    assert_eq!(keys(&second), ["a", "b", "c"]);
    assert!(second.iter().all(|d| d.receive_count == 2));
    assert!(second.iter().all(|d| d.first_receive_ms == START_MS));
    // The first handles are stale now; the second ones acknowledge.
    let stale = w
        .queues
        .acknowledge(&arn, Path::Normal, &handles(&first))
        .await
        .unwrap();
    assert!(
        stale
            .iter()
            .all(|r| matches!(r, Err(Error::InvalidArgument(_))))
    );
    let acked = w
        .queues
        .acknowledge(&arn, Path::Normal, &handles(&second))
        .await
        .unwrap();
    assert!(acked.iter().all(Result::is_ok));
    assert_eq!(w.queues.marks(&arn), 0);
    // Acknowledged twice: the record is gone.
    let again = w
        .queues
        .acknowledge(&arn, Path::Normal, &handles(&second)[..1])
        .await
        .unwrap();
    assert!(matches!(again[0], Err(Error::NotFound(_))));
    w.advance_s(3600);
    assert!(w.receive(&arn, Path::Normal).await.is_empty());
    // Garbage and edited handles are refused per entry.
    let bad = w
        .queues
        .acknowledge(&arn, Path::Normal, &["nonsense".to_owned()])
        .await
        .unwrap();
    assert!(matches!(bad[0], Err(Error::InvalidArgument(_))));
}

#[tokio::test]
async fn latest_starts_after_creation_and_limit_and_visibility_override_apply() {
    let w = world(1);
    w.put(&["old"]).await;
    let arn = w.create("q", Start::Latest, Attributes::default()).await;
    assert!(w.receive(&arn, Path::Normal).await.is_empty());
    w.put(&["n1", "n2", "n3"]).await;
    let got = w
        .queues
        .receive(&arn, Path::Normal, 2, Duration::ZERO, Some(5))
        .await
        .unwrap();
    assert_eq!(keys(&got), ["n1", "n2"]);
    let rest = w.receive(&arn, Path::Normal).await;
    assert_eq!(keys(&rest), ["n3"]);
    w.advance_s(5);
    assert_eq!(keys(&w.receive(&arn, Path::Normal).await), ["n1", "n2"]);
}

#[tokio::test]
async fn visibility_changes_take_effect_from_now() {
    let w = world(1);
    let arn = w
        .create("q", Start::TrimHorizon, Attributes::default())
        .await;
    w.put(&["a"]).await;
    let got = w.receive(&arn, Path::Normal).await;
    let entries = vec![(got[0].receipt_handle.clone(), 0)];
    let changed = w
        .queues
        .change_visibility(&arn, Path::Normal, &entries)
        .await
        .unwrap();
    assert!(changed[0].is_ok());
    let again = w.receive(&arn, Path::Normal).await;
    assert_eq!(again[0].receive_count, 2);
    let entries = vec![(again[0].receipt_handle.clone(), 100)];
    w.queues
        .change_visibility(&arn, Path::Normal, &entries)
        .await
        .unwrap();
    w.advance_s(99);
    assert!(w.receive(&arn, Path::Normal).await.is_empty());
    w.advance_s(1);
    assert_eq!(w.receive(&arn, Path::Normal).await.len(), 1);
}

#[tokio::test]
async fn records_become_dead_letters_after_max_receives_and_restore_resets_the_count() {
    let w = world(1);
    let arn = w.create("q", Start::TrimHorizon, built_in(2)).await;
    w.put(&["a"]).await;
    assert_eq!(w.receive(&arn, Path::Normal).await[0].receive_count, 1);
    assert!(w.receive(&arn, Path::DeadLetter).await.is_empty());
    w.advance_s(30);
    assert_eq!(w.receive(&arn, Path::Normal).await[0].receive_count, 2);
    w.advance_s(30);
    // Received twice without acknowledgement: a dead-letter record now.
    assert!(w.receive(&arn, Path::Normal).await.is_empty());
    let dead = w.receive(&arn, Path::DeadLetter).await;
    assert_eq!(keys(&dead), ["a"]);
    assert!(w.receive(&arn, Path::DeadLetter).await.is_empty());
    // Its handle is for the dead-letter operations only.
    let wrong = w
        .queues
        .acknowledge(&arn, Path::Normal, &handles(&dead))
        .await
        .unwrap();
    assert!(matches!(wrong[0], Err(Error::InvalidArgument(_))));
    let restored = w.queues.restore(&arn, &handles(&dead)).await.unwrap();
    assert!(restored[0].is_ok());
    let back = w.receive(&arn, Path::Normal).await;
    assert_eq!(keys(&back), ["a"]);
    assert_eq!(back[0].receive_count, 1);
    assert_eq!(back[0].first_receive_ms, START_MS);
    w.advance_s(30);
    assert_eq!(w.receive(&arn, Path::Normal).await[0].receive_count, 2);
    w.advance_s(30);
    let dead = w.receive(&arn, Path::DeadLetter).await;
    let acked = w
        .queues
        .acknowledge(&arn, Path::DeadLetter, &handles(&dead))
        .await
        .unwrap();
    assert!(acked[0].is_ok());
    w.advance_s(3600);
    assert!(w.receive(&arn, Path::Normal).await.is_empty());
    assert!(w.receive(&arn, Path::DeadLetter).await.is_empty());
    assert_eq!(w.queues.marks(&arn), 0);
}

#[tokio::test]
async fn without_dead_letter_handling_records_come_back_forever() {
    let w = world(1);
    let none = Attributes {
        visibility_timeout_s: 1,
        dead_letter: DeadLetter::None,
    };
    let arn = w.create("q", Start::TrimHorizon, none).await;
    w.put(&["a"]).await;
    for count in 1..=10 {
        let got = w.receive(&arn, Path::Normal).await;
        assert_eq!(got[0].receive_count, count);
        w.advance_s(1);
    }
    assert!(w.receive(&arn, Path::DeadLetter).await.is_empty());
}

#[tokio::test]
async fn acknowledged_records_stay_finished_and_in_flight_ones_return_after_a_reopen() {
    let w = world(2);
    let arn = w
        .create("q", Start::TrimHorizon, Attributes::default())
        .await;
    w.put(&["a", "b", "c", "d"]).await;
    let got = w
        .queues
        .receive(&arn, Path::Normal, 2, Duration::ZERO, None)
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    w.queues
        .acknowledge(&arn, Path::Normal, &handles(&got[..1]))
        .await
        .unwrap();
    let acked = String::from_utf8_lossy(&got[0].record.key).into_owned();
    let in_flight = String::from_utf8_lossy(&got[1].record.key).into_owned();
    let w = w.reopen();
    // The two never delivered come at once; the one in flight after its timeout.
    let fresh = w.receive(&arn, Path::Normal).await;
    assert_eq!(fresh.len(), 2);
    assert!(keys(&fresh).iter().all(|k| *k != acked && *k != in_flight));
    w.advance_s(30);
    let back = w.receive(&arn, Path::Normal).await;
    assert_eq!(keys(&back).len(), 3);
    assert!(!keys(&back).contains(&acked));
    // The handle issued before the reopen still acknowledges its record... until redelivery.
    let old = w
        .queues
        .acknowledge(&arn, Path::Normal, &handles(&got[1..]))
        .await
        .unwrap();
    assert!(matches!(old[0], Err(Error::InvalidArgument(_))));
}

#[tokio::test]
async fn children_of_a_split_after_creation_are_delivered() {
    let w = world(1);
    let arn = w
        .create("q", Start::TrimHorizon, Attributes::default())
        .await;
    w.put(&["before"]).await;
    // SplitShard is refused on ON_DEMAND streams (AWS's rule), whose shards the service
    // splits itself; the engine's split stands for that.
    w.streams
        .log()
        .split_shard("s", 0, 1u128 << 127)
        .await
        .unwrap();
    let keys_after: Vec<String> = (0..20).map(|i| format!("after{i}")).collect();
    let refs: Vec<&str> = keys_after.iter().map(String::as_str).collect();
    w.put(&refs).await;
    let mut seen = Vec::new();
    let mut shards = BTreeSet::new();
    loop {
        let got = w.receive(&arn, Path::Normal).await;
        if got.is_empty() {
            break;
        }
        shards.extend(got.iter().map(|d| d.shard));
        seen.extend(keys(&got));
        w.queues
            .acknowledge(&arn, Path::Normal, &handles(&got))
            .await
            .unwrap();
    }
    seen.sort();
    let mut expected: Vec<String> = keys_after.clone();
    expected.push("before".into());
    expected.sort();
    assert_eq!(seen, expected);
    assert_eq!(shards, BTreeSet::from([0, 1, 2]));
}

#[tokio::test]
async fn a_long_poll_returns_when_a_record_is_put() {
    let w = world(2);
    let arn = w.create("q", Start::Latest, Attributes::default()).await;
    let queues = w.queues.clone();
    let waiting = {
        let arn = arn.clone();
        tokio::spawn(async move {
            queues
                .receive(&arn, Path::Normal, 10, Duration::from_secs(20), None)
                .await
        })
    };
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    w.put(&["x"]).await;
    let got = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("woken by the put, well before its 20 s wait")
        .unwrap()
        .unwrap();
    assert_eq!(keys(&got), ["x"]);
}

#[tokio::test]
async fn a_long_poll_returns_when_the_clock_ends_a_visibility() {
    let w = world(1);
    let arn = w
        .create("q", Start::TrimHorizon, Attributes::default())
        .await;
    w.put(&["x"]).await;
    assert_eq!(w.receive(&arn, Path::Normal).await.len(), 1);
    let queues = w.queues.clone();
    let waiting = {
        let arn = arn.clone();
        tokio::spawn(async move {
            queues
                .receive(&arn, Path::Normal, 10, Duration::from_secs(20), None)
                .await
        })
    };
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    w.advance_s(30);
    w.queues.clock_moved();
    let got = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("woken by the clock")
        .unwrap()
        .unwrap();
    assert_eq!(got[0].receive_count, 2);
}

#[tokio::test]
async fn streams_with_queues_keep_them_and_count_them_as_consumers() {
    let w = world(1);
    // Provisioned streams take no queue.
    w.streams.create("p", 1, &StreamMeta::default()).unwrap();
    let refused = w
        .queues
        .create(
            "qp",
            &w.streams.arn("p"),
            Start::Latest,
            Attributes::default(),
            BTreeMap::new(),
        )
        .await;
    assert!(matches!(refused, Err(Error::InvalidArgument(_))));
    let arn = w.create("q", Start::Latest, Attributes::default()).await;
    let duplicate = w
        .queues
        .create(
            "q",
            &w.streams.arn("s"),
            Start::Latest,
            Attributes::default(),
            BTreeMap::new(),
        )
        .await;
    assert!(matches!(duplicate, Err(Error::InUse(_))));
    assert_eq!(w.streams.queue_count("s"), 1);
    assert!(matches!(
        w.streams.delete_checked("s", true),
        Err(Error::InUse(_))
    ));
    assert!(matches!(
        w.streams.set_mode("s", Mode::Provisioned, None),
        Err(Error::InUse(_))
    ));
    for index in 1..CONSUMERS_MAX {
        w.streams
            .register_consumer("s", &format!("c{index}"), &BTreeMap::new())
            .unwrap();
    }
    assert!(matches!(
        w.streams
            .register_consumer("s", "one-too-many", &BTreeMap::new()),
        Err(Error::LimitExceeded(_))
    ));
    // The registration survives a reopen, and a deleted queue's goes with it.
    let w = w.reopen();
    assert_eq!(w.streams.queue_count("s"), 1);
    w.queues.delete(&arn).await.unwrap();
    assert!(matches!(w.queues.describe(&arn), Err(Error::NotFound(_))));
    assert_eq!(w.streams.queue_count("s"), 0);
    w.streams.delete_checked("s", true).unwrap();
}

#[tokio::test]
async fn deleting_a_queue_invalidates_its_handles_and_its_state() {
    let w = world(1);
    let arn = w
        .create("q", Start::TrimHorizon, Attributes::default())
        .await;
    w.put(&["a"]).await;
    let got = w.receive(&arn, Path::Normal).await;
    w.queues.delete(&arn).await.unwrap();
    assert!(matches!(
        w.queues
            .acknowledge(&arn, Path::Normal, &handles(&got))
            .await,
        Err(Error::NotFound(_))
    ));
    let again = w
        .create("q", Start::TrimHorizon, Attributes::default())
        .await;
    assert_ne!(again, arn);
    // A handle of the deleted queue means nothing to its successor of the same name.
    let foreign = w
        .queues
        .acknowledge(&again, Path::Normal, &handles(&got))
        .await
        .unwrap();
    assert!(matches!(foreign[0], Err(Error::InvalidArgument(_))));
    let w = w.reopen();
    assert_eq!(w.queues.list().len(), 1);
    assert_eq!(keys(&w.receive(&again, Path::Normal).await), ["a"]);
}

#[tokio::test]
async fn updates_and_tags_are_durable() {
    let w = world(1);
    let arn = w
        .create("q", Start::TrimHorizon, Attributes::default())
        .await;
    let changes = AttributeChanges {
        visibility_timeout_s: Some(5),
        dead_letter: None,
    };
    let view = w.queues.update(&arn, changes).await.unwrap();
    assert_eq!(view.config.attributes.visibility_timeout_s, 5);
    assert_eq!(view.config.attributes.dead_letter, built_in(6).dead_letter);
    let tags = BTreeMap::from([("team".to_owned(), "data".to_owned())]);
    w.queues.tag(&arn, &tags, 50).await.unwrap();
    let w = w.reopen();
    assert_eq!(w.queues.tags(&arn).unwrap(), tags);
    let view = w.queues.describe(&arn).unwrap();
    assert_eq!(view.config.attributes.visibility_timeout_s, 5);
    w.queues.untag(&arn, &["team".to_owned()]).await.unwrap();
    assert!(w.queues.tags(&arn).unwrap().is_empty());
}

#[tokio::test]
async fn records_trimmed_by_retention_are_not_delivered_and_their_marks_go() {
    let w = world(1);
    let arn = w
        .create("q", Start::TrimHorizon, Attributes::default())
        .await;
    for _ in 0..40 {
        w.put_sized(4, 1000).await;
    }
    let old = w.receive(&arn, Path::Normal).await;
    assert_eq!(old.len(), 10);
    assert_eq!(w.queues.marks(&arn), 10);
    w.advance_s(25 * 3600);
    w.put(&["new"]).await;
    // (The log's own retention thread may have run first.)
    w.streams.log().enforce_retention().unwrap();
    let earliest = w.streams.log().shard_bounds("s", 0).unwrap().earliest;
    assert!(
        earliest > 10,
        "the delivered records were trimmed: {earliest}"
    );
    let got = w.receive(&arn, Path::Normal).await;
    assert!(!got.is_empty());
    assert!(
        got.iter()
            .all(|d| d.record.offset >= earliest && d.receive_count == 1)
    );
    assert_eq!(
        w.queues.marks(&arn),
        got.len(),
        "the trimmed records' marks are gone"
    );
    let gone = w
        .queues
        .acknowledge(&arn, Path::Normal, &handles(&old[..1]))
        .await
        .unwrap();
    assert!(matches!(gone[0], Err(Error::NotFound(_))));
}

#[tokio::test]
async fn status_follows_the_state_change_time_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START_MS));
    let open = || {
        let log = Log::open_with_clock(LogConfig::new(dir.path()), clock.clone()).unwrap();
        let streams = Streams::open(log.clone(), StreamsSettings::default()).unwrap();
        let settings = Settings {
            state_change: Duration::from_secs(60),
            receipt_key: None,
        };
        let queues = StreamQueues::open(log, streams.clone(), settings).unwrap();
        (streams, queues)
    };
    let (mut streams, mut queues) = open();
    let restart = |streams: Streams, queues: StreamQueues| {
        streams.log().close().unwrap();
        drop(queues);
        drop(streams);
        open()
    };
    let meta = StreamMeta {
        mode: Mode::OnDemand,
        ..StreamMeta::default()
    };
    streams.create("s", 1, &meta).unwrap();
    let view = queues
        .create(
            "q",
            &streams.arn("s"),
            Start::Latest,
            Attributes::default(),
            BTreeMap::new(),
        )
        .await
        .unwrap();
    assert_eq!(view.status, Status::Creating);
    let arn = view.arn;
    assert!(matches!(
        queues
            .receive(&arn, Path::Normal, 10, Duration::ZERO, None)
            .await,
        Err(Error::NotFound(_))
    ));
    // A restart keeps a queue CREATING for the rest of its state-change time.
    clock.advance_ms(30_000);
    (streams, queues) = restart(streams, queues);
    assert_eq!(queues.describe(&arn).unwrap().status, Status::Creating);
    clock.advance_ms(30_000);
    assert_eq!(queues.describe(&arn).unwrap().status, Status::Active);
    // Tag changes are not updates.
    queues
        .tag(&arn, &BTreeMap::from([("k".into(), "v".into())]), 50)
        .await
        .unwrap();
    assert_eq!(queues.describe(&arn).unwrap().status, Status::Active);
    let changes = AttributeChanges {
        visibility_timeout_s: Some(1),
        dead_letter: None,
    };
    assert_eq!(
        queues.update(&arn, changes).await.unwrap().status,
        Status::Updating
    );
    assert!(matches!(
        queues.update(&arn, changes).await,
        Err(Error::InUse(_))
    ));
    // Records are delivered while UPDATING.
    assert!(
        queues
            .receive(&arn, Path::Normal, 10, Duration::ZERO, None)
            .await
            .unwrap()
            .is_empty()
    );
    clock.advance_ms(59_000);
    (streams, queues) = restart(streams, queues);
    assert_eq!(queues.describe(&arn).unwrap().status, Status::Updating);
    assert_eq!(queues.list()[0].status, Status::Updating);
    clock.advance_ms(1_000);
    assert_eq!(queues.describe(&arn).unwrap().status, Status::Active);
    queues.delete(&arn).await.unwrap();
    assert_eq!(queues.describe(&arn).unwrap().status, Status::Deleting);
    assert_eq!(queues.list().len(), 1);
    clock.advance_ms(60_000);
    assert!(matches!(queues.describe(&arn), Err(Error::NotFound(_))));
    assert!(queues.list().is_empty());
    drop(streams);
}

#[tokio::test]
async fn a_zero_visibility_delivers_each_record_once_per_receive() {
    let w = world(1);
    let arn = w
        .create("q", Start::TrimHorizon, Attributes::default())
        .await;
    w.put(&["a", "b"]).await;
    for count in 1..=3 {
        let got = w
            .queues
            .receive(&arn, Path::Normal, 10, Duration::ZERO, Some(0))
            .await
            .unwrap();
        assert_eq!(keys(&got), ["a", "b"]);
        assert!(got.iter().all(|d| d.receive_count == count));
    }
    // MaxReceiveCount 6: three more, then they are dead-letter records.
    for _ in 0..3 {
        assert_eq!(
            w.queues
                .receive(&arn, Path::Normal, 10, Duration::ZERO, Some(0))
                .await
                .unwrap()
                .len(),
            2
        );
    }
    assert!(w.receive(&arn, Path::Normal).await.is_empty());
    assert_eq!(w.receive(&arn, Path::DeadLetter).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_receives_never_share_a_record_in_flight() {
    let w = world(4);
    let arn = w
        .create("q", Start::TrimHorizon, Attributes::default())
        .await;
    let keys: Vec<String> = (0..200).map(|i| format!("k{i}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    w.put(&refs).await;
    let receivers: Vec<_> = (0..8)
        .map(|_| {
            let queues = w.queues.clone();
            let arn = arn.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let batch = queues
                        .receive(&arn, Path::Normal, 10, Duration::ZERO, None)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        return got;
                    }
                    got.extend(batch.into_iter().map(|d| (d.shard, d.record.offset)));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for receiver in receivers {
        all.extend(receiver.await.unwrap());
    }
    let unique: BTreeSet<(u32, u64)> = all.iter().copied().collect();
    assert_eq!(all.len(), 200, "each record delivered once while in flight");
    assert_eq!(unique.len(), 200);
}

mod model {
    //! Random puts, receives, acknowledgements, visibility changes, clock moves and reopens
    //! against a simple model: which records are unfinished, when each is visible from, and
    //! its latest handle. The queue's marks must be exactly its delivered, unfinished records.

    use proptest::prelude::*;

    use storage::Clock;

    use super::*;

    #[derive(Clone, Debug)]
    enum Op {
        Put(u8),
        Receive(u8),
        Acknowledge(usize),
        Hide(usize, u8),
        Advance(u16),
        Reopen,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (1u8..5).prop_map(Op::Put),
            3 => (1u8..11).prop_map(Op::Receive),
            2 => (0usize..64).prop_map(Op::Acknowledge),
            1 => ((0usize..64), (0u8..3)).prop_map(|(i, t)| Op::Hide(i, t)),
            2 => (0u16..40).prop_map(Op::Advance),
            1 => Just(Op::Reopen),
        ]
    }

    #[derive(Clone, Debug)]
    struct Model {
        visible_from_ms: i64,
        handle: Option<String>,
    }

    async fn run(ops: Vec<Op>) {
        let mut w = world(2);
        let none = Attributes {
            visibility_timeout_s: 10,
            dead_letter: DeadLetter::None,
        };
        let arn = w.create("q", Start::TrimHorizon, none).await;
        let mut model: BTreeMap<String, Model> = BTreeMap::new();
        let mut handles: Vec<(String, String)> = Vec::new();
        let mut next = 0u32;
        for op in ops {
            let now = w.clock.now_ms();
            match op {
                Op::Put(count) => {
                    let keys: Vec<String> = (0..count)
                        .map(|_| {
                            next += 1;
                            format!("m{next}")
                        })
                        .collect();
                    for key in &keys {
                        model.insert(
                            format!("data-{key}"),
                            Model {
                                visible_from_ms: now,
                                handle: None,
                            },
                        );
                    }
                    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
                    w.put(&refs).await;
                }
                Op::Receive(max) => {
                    let got = w
                        .queues
                        .receive(&arn, Path::Normal, usize::from(max), Duration::ZERO, None)
                        .await
                        .unwrap();
                    let visible = model.values().filter(|m| m.visible_from_ms <= now).count();
                    assert_eq!(got.len(), visible.min(usize::from(max)));
                    for delivery in got {
                        let data = String::from_utf8(delivery.record.data.to_vec()).unwrap();
                        let entry = model.get_mut(&data).expect("an unfinished record");
                        assert!(entry.visible_from_ms <= now, "{data} was not visible");
                        entry.visible_from_ms = now + 10_000;
                        entry.handle = Some(delivery.receipt_handle.clone());
                        handles.push((delivery.receipt_handle, data));
                    }
                }
                Op::Acknowledge(i) => {
                    if let Some((handle, data)) = handles.get(i % handles.len().max(1)).cloned() {
                        let outcome = w
                            .queues
                            .acknowledge(&arn, Path::Normal, std::slice::from_ref(&handle))
                            .await
                            .unwrap()
                            .remove(0);
                        let expected = model
                            .get(&data)
                            .is_some_and(|m| m.handle.as_ref() == Some(&handle));
                        assert_eq!(outcome.is_ok(), expected, "{outcome:?}");
                        if expected {
                            model.remove(&data);
                        }
                    }
                }
                Op::Hide(i, timeout) => {
                    if let Some((handle, data)) = handles.get(i % handles.len().max(1)).cloned() {
                        let entries = [(handle.clone(), u32::from(timeout))];
                        let outcome = w
                            .queues
                            .change_visibility(&arn, Path::Normal, &entries)
                            .await
                            .unwrap()
                            .remove(0);
                        let expected = model
                            .get(&data)
                            .is_some_and(|m| m.handle.as_ref() == Some(&handle));
                        assert_eq!(outcome.is_ok(), expected, "{outcome:?}");
                        if expected && let Some(m) = model.get_mut(&data) {
                            m.visible_from_ms = now + i64::from(timeout) * 1000;
                        }
                    }
                }
                Op::Advance(seconds) => w.clock.advance_ms(i64::from(seconds) * 1000),
                Op::Reopen => w = w.reopen(),
            }
            let delivered = model.values().filter(|m| m.handle.is_some()).count();
            assert_eq!(
                w.queues.marks(&arn),
                delivered,
                "marks are the unfinished deliveries"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn random_operations_match_the_model(ops in proptest::collection::vec(op(), 1..40)) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(run(ops));
        }
    }
}
