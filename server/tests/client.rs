//! The `client` crate against a running `strata serve`: a batching producer whose every
//! record resolves to a dense per-shard offset, consumers reading back exactly what was
//! produced, long polling, cursor resume, a server that stops under pending requests, a
//! new connection after a restart, and a stream split and merged while a producer writes and
//! a stream consumer reads it, following the lineage.
//!
//! Every wait is bounded, so a hung server or client fails the test instead of hanging the
//! suite.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod common;

use common::{Server, WAIT, bounded};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use client::{
    Client, ClientError, ProduceRecord, ProduceResult, Producer, ProducerConfig, ShardConsumer,
    StartPosition, StreamConsumer, StreamRecord, Target,
};

async fn connect(server: &Server) -> Client {
    bounded(Client::connect(server.native)).await.unwrap()
}

/// Reads shard `shard` from its start until `count` records arrived (or fails after
/// [`WAIT`]).
async fn read_shard(
    client: &Client,
    stream: &str,
    shard: u32,
    count: usize,
) -> Vec<(u64, Bytes, Bytes)> {
    let mut consumer =
        ShardConsumer::new(client.clone(), stream, shard, StartPosition::TrimHorizon);
    let mut records = Vec::new();
    let deadline = Instant::now() + WAIT;
    while records.len() < count {
        assert!(
            Instant::now() < deadline,
            "shard {shard}: {} of {count} records",
            records.len()
        );
        let batch = bounded(consumer.next_batch(Duration::from_millis(200)))
            .await
            .unwrap();
        records.extend(batch.into_iter().map(|r| (r.offset, r.key, r.data)));
    }
    // Nothing more than was produced.
    let extra = bounded(consumer.next_batch(Duration::ZERO)).await.unwrap();
    assert!(
        extra.is_empty(),
        "shard {shard} has {} extra records",
        extra.len()
    );
    records
}

/// What a producer reported for each record: `(key, data)` at `(shard, offset)`.
type Landed = BTreeMap<(u32, u64), (String, String)>;

/// Checks offsets are dense per shard from 0, and every shard holds exactly what landed
/// there, in offset order.
async fn assert_stream_holds(client: &Client, stream: &str, shards: u32, landed: &Landed) {
    for shard in 0..shards {
        let expected: Vec<(u64, &(String, String))> = landed
            .range((shard, 0)..=(shard, u64::MAX))
            .map(|((_, offset), record)| (*offset, record))
            .collect();
        let offsets: Vec<u64> = expected.iter().map(|(offset, _)| *offset).collect();
        let dense: Vec<u64> = (0..expected.len() as u64).collect();
        assert_eq!(offsets, dense, "shard {shard}: offsets are dense from 0");
        let read = read_shard(client, stream, shard, expected.len()).await;
        assert_eq!(read.len(), expected.len());
        for ((offset, key, data), (want_offset, (want_key, want_data))) in
            read.iter().zip(&expected)
        {
            assert_eq!(offset, want_offset, "shard {shard} reads in offset order");
            assert_eq!(
                key.as_ref(),
                want_key.as_bytes(),
                "shard {shard} offset {offset}"
            );
            assert_eq!(
                data.as_ref(),
                want_data.as_bytes(),
                "shard {shard} offset {offset}"
            );
        }
    }
}

/// Sends `count` records keyed `key-{i % keys}` through `producer` (with `send`, or with
/// `queue` when the queue may fill up), flushes, and collects where each landed (in send
/// order).
async fn produce_all(
    producer: &Producer,
    count: usize,
    keys: usize,
    queue: bool,
) -> Vec<(String, String, ProduceResult)> {
    let mut acks = Vec::with_capacity(count);
    let mut sent = Vec::with_capacity(count);
    for i in 0..count {
        let key = format!("key-{}", i % keys);
        let data = format!("record-{i}-{}", "x".repeat(i % 50));
        let ack: Pin<Box<dyn Future<Output = _> + Send>> = if queue {
            Box::pin(
                bounded(producer.queue(key.clone(), data.clone()))
                    .await
                    .unwrap(),
            )
        } else {
            Box::pin(producer.send(key.clone(), data.clone()))
        };
        acks.push(ack);
        sent.push((key, data));
    }
    bounded(producer.flush()).await.unwrap();
    let mut landed = Vec::with_capacity(count);
    for ((key, data), ack) in sent.into_iter().zip(acks) {
        // Flushed: every future is already resolved.
        let result = tokio::time::timeout(Duration::from_millis(100), ack)
            .await
            .expect("resolved by flush")
            .unwrap();
        landed.push((key, data, result));
    }
    landed
}

fn by_position(landed: &[(String, String, ProduceResult)]) -> Landed {
    let map: Landed = landed
        .iter()
        .map(|(key, data, result)| ((result.shard, result.offset), (key.clone(), data.clone())))
        .collect();
    assert_eq!(map.len(), landed.len(), "no two records share a position");
    map
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_records_through_a_producer_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let client = connect(&server).await;
    bounded(client.create_stream("events", 4, 24))
        .await
        .unwrap();
    assert_eq!(
        bounded(client.list_streams()).await.unwrap(),
        vec!["events".to_string()]
    );
    assert_eq!(
        bounded(client.describe_stream("events"))
            .await
            .unwrap()
            .shards
            .len(),
        4
    );

    let producer = Producer::new(client.clone(), "events", ProducerConfig::default());
    let landed = produce_all(&producer, 10_000, 97, false).await;
    let stats = producer.stats();
    assert_eq!(stats.records, 10_000);
    assert!(
        stats.requests >= 1 && stats.requests < 1_000,
        "records are batched: {stats:?}"
    );
    let positions = by_position(&landed);
    let used: std::collections::BTreeSet<u32> = positions.keys().map(|(shard, _)| *shard).collect();
    assert_eq!(used.len(), 4, "97 keys spread over every shard");
    assert_stream_holds(&client, "events", 4, &positions).await;
    drop(producer);
    drop(client);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_batches_keep_key_order_with_one_request_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let client = connect(&server).await;
    bounded(client.create_stream("ordered", 3, 24))
        .await
        .unwrap();
    let config = ProducerConfig {
        linger: Duration::from_millis(2),
        batch_bytes_max: 4 * 1024,
        in_flight_max: 1,
        queue_records_max: 256,
        ..ProducerConfig::default()
    };
    let producer = Producer::new(client.clone(), "ordered", config);
    let landed = produce_all(&producer, 3_000, 11, true).await;
    let stats = producer.stats();
    assert_eq!(stats.records, 3_000);
    // About 60 bytes a record: a 4 KiB batch holds at most ~70, so there are many requests,
    // yet far fewer than records.
    assert!(stats.requests >= 3_000 / 80, "many batches: {stats:?}");
    assert!(stats.requests < 3_000 / 4, "still batched: {stats:?}");
    // Per key, offsets grow in send order (one key always maps to one shard).
    let mut last: HashMap<&str, (u32, u64)> = HashMap::new();
    for (key, _, result) in &landed {
        if let Some((shard, offset)) = last.insert(key, (result.shard, result.offset)) {
            assert_eq!(shard, result.shard, "key {key} stays on one shard");
            assert!(offset < result.offset, "key {key} keeps its order");
        }
    }
    assert_stream_holds(&client, "ordered", 3, &by_position(&landed)).await;
    drop(producer);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_is_woken_by_a_produce() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let client = connect(&server).await;
    bounded(client.create_stream("poll", 1, 24)).await.unwrap();
    // A consumer from `Latest` learns its position from a first, empty fetch.
    let mut consumer = ShardConsumer::new(client.clone(), "poll", 0, StartPosition::Latest);
    assert!(
        bounded(consumer.next_batch(Duration::ZERO))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(consumer.position(), Some(0));

    let waiting = tokio::spawn(async move {
        let started = Instant::now();
        let records = consumer.next_batch(Duration::from_secs(20)).await.unwrap();
        (records, started.elapsed(), consumer)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Another connection produces; the long poll is pipelined on the first one.
    let other = connect(&server).await;
    let produced = bounded(other.produce(
        "poll",
        vec![ProduceRecord {
            target: Target::Shard(0),
            data: Bytes::from_static(b"wake"),
        }],
    ))
    .await
    .unwrap();
    assert_eq!(
        produced,
        vec![ProduceResult {
            shard: 0,
            offset: 0
        }]
    );
    let (records, waited, consumer) = bounded(waiting).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].data.as_ref(), b"wake");
    assert!(
        waited < Duration::from_secs(5),
        "woken by the produce, not the timeout: {waited:?}"
    );
    assert_eq!(consumer.position(), Some(1));
    assert!(!consumer.is_ended());
    assert!(consumer.children().is_empty());
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_resumes_from_its_committed_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let client = connect(&server).await;
    bounded(client.create_stream("resume", 2, 24))
        .await
        .unwrap();
    let records = (0..100)
        .map(|i| ProduceRecord {
            target: Target::Shard(1),
            data: Bytes::from(format!("r{i}")),
        })
        .collect();
    bounded(client.produce("resume", records)).await.unwrap();

    // Never committed: the fallback start applies.
    let mut consumer = bounded(ShardConsumer::resume(
        client.clone(),
        "resume",
        1,
        "reader",
        StartPosition::TrimHorizon,
    ))
    .await
    .unwrap()
    .with_limits(30, 1024 * 1024);
    let error = bounded(
        ShardConsumer::new(client.clone(), "resume", 1, StartPosition::Latest).commit("reader"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(error, ClientError::InvalidArgument(_)),
        "{error:?}"
    );
    let first = bounded(consumer.next_batch(Duration::ZERO)).await.unwrap();
    assert_eq!(first.len(), 30);
    assert_eq!(first[29].offset, 29);
    bounded(consumer.commit("reader")).await.unwrap();
    assert_eq!(
        bounded(client.fetch_cursor("reader", "resume", 1))
            .await
            .unwrap(),
        Some(30)
    );

    let mut resumed = bounded(ShardConsumer::resume(
        client.clone(),
        "resume",
        1,
        "reader",
        StartPosition::TrimHorizon,
    ))
    .await
    .unwrap();
    assert_eq!(resumed.position(), Some(30));
    let rest = bounded(resumed.next_batch(Duration::ZERO)).await.unwrap();
    assert_eq!(rest.len(), 70);
    assert_eq!(rest[0].offset, 30);
    assert_eq!(rest[0].data.as_ref(), b"r30");
    assert_eq!(rest[69].data.as_ref(), b"r99");

    // Server errors arrive typed, and the connection stays usable.
    let error = bounded(client.describe_stream("missing"))
        .await
        .unwrap_err();
    assert_eq!(
        error.code(),
        Some(client::ErrorCode::StreamNotFound),
        "{error:?}"
    );
    assert!(!error.is_retriable());
    assert_eq!(
        bounded(client.list_streams()).await.unwrap(),
        vec!["resume".to_string()]
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_fails_requests_promptly_and_a_restart_keeps_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let client = connect(&server).await;
    bounded(client.create_stream("durable", 4, 24))
        .await
        .unwrap();
    let producer = Producer::new(client.clone(), "durable", ProducerConfig::default());
    let landed = produce_all(&producer, 1_000, 13, false).await;

    // A long poll is pending when the server stops.
    let mut consumer = ShardConsumer::new(client.clone(), "durable", 0, StartPosition::Latest);
    let pending = tokio::spawn(async move {
        let started = Instant::now();
        (
            consumer.next_batch(Duration::from_secs(25)).await,
            started.elapsed(),
        )
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let native = server.native;
    tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();

    let (outcome, waited) = bounded(pending).await.unwrap();
    let error = outcome.unwrap_err();
    assert!(
        matches!(error, ClientError::Disconnected | ClientError::Io(_)),
        "{error:?}"
    );
    assert!(error.is_retriable() || matches!(error, ClientError::Io(_)));
    assert!(
        waited < Duration::from_secs(15),
        "failed promptly: {waited:?}"
    );
    // The reader sees the close; new requests fail at once.
    let deadline = Instant::now() + WAIT;
    while !client.is_closed() {
        assert!(
            Instant::now() < deadline,
            "the client notices the closed connection"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let error = bounded(client.list_streams()).await.unwrap_err();
    assert!(matches!(error, ClientError::Disconnected), "{error:?}");
    let error = bounded(producer.send("late", "record")).await.unwrap_err();
    assert!(matches!(error, ClientError::Disconnected), "{error:?}");
    let error = bounded(Client::connect(native)).await.unwrap_err();
    assert!(matches!(error, ClientError::Io(_)), "{error:?}");
    drop(producer);
    drop(client);

    let server = Server::start(dir.path());
    let client = connect(&server).await;
    assert_eq!(
        bounded(client.list_streams()).await.unwrap(),
        vec!["durable".to_string()]
    );
    assert_stream_holds(&client, "durable", 4, &by_position(&landed)).await;
    server.stop();
}

/// Keyed records sent without pause from one connection until `stop`: `(key, sequence number
/// within the key, outcome)` for each, in send order.
async fn produce_until(
    producer: Producer,
    keys: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<(String, u64, Result<ProduceResult, ClientError>)> {
    let mut sent = Vec::new();
    let mut next_sequence = vec![0u64; keys];
    let mut i = 0usize;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let key_index = i % keys;
        let key = format!("key-{key_index}");
        let sequence = next_sequence[key_index];
        next_sequence[key_index] += 1;
        let ack = bounded(producer.queue(key.clone(), format!("{key}:{sequence}")))
            .await
            .unwrap();
        sent.push((key, sequence, ack));
        i += 1;
        if i.is_multiple_of(20) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    bounded(producer.flush()).await.unwrap();
    let mut outcomes = Vec::with_capacity(sent.len());
    for (key, sequence, ack) in sent {
        outcomes.push((key, sequence, bounded(ack).await));
    }
    outcomes
}

/// Reads `stream` from the trim horizon, following its lineage, until `total` (sent once
/// producing is over) records arrived; then checks nothing more comes.
async fn consume_lineage(
    client: Client,
    stream: &str,
    total: tokio::sync::oneshot::Receiver<usize>,
) -> (Vec<StreamRecord>, StreamConsumer) {
    let mut consumer = bounded(StreamConsumer::new(
        client,
        stream,
        StartPosition::TrimHorizon,
    ))
    .await
    .unwrap()
    .with_limits(500, 1024 * 1024);
    let mut total = total;
    let mut expected = None;
    let mut records = Vec::new();
    loop {
        if expected.is_none() {
            expected = total.try_recv().ok();
        }
        if expected.is_some_and(|expected| records.len() >= expected) {
            break;
        }
        let batch = bounded(consumer.next_batch(Duration::from_millis(200)))
            .await
            .unwrap();
        records.extend(batch);
    }
    let extra = bounded(consumer.next_batch(Duration::from_millis(300)))
        .await
        .unwrap();
    assert!(
        extra.is_empty(),
        "{} records beyond those acknowledged",
        extra.len()
    );
    (records, consumer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyed_records_keep_their_order_across_a_split_and_merges_made_while_producing() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let admin = connect(&server).await;
    bounded(admin.create_stream("reshard", 2, 24))
        .await
        .unwrap();

    // The reader follows the lineage from the start, while shards split and merge under it.
    let (total, total_known) = tokio::sync::oneshot::channel();
    let reader = connect(&server).await;
    let consuming =
        tokio::spawn(async move { consume_lineage(reader, "reshard", total_known).await });

    let config = ProducerConfig {
        linger: Duration::from_millis(1),
        in_flight_max: 4,
        ..ProducerConfig::default()
    };
    let producer = Producer::new(connect(&server).await, "reshard", config);
    let stop = Arc::new(AtomicBool::new(false));
    let producing = tokio::spawn(produce_until(producer, 32, Arc::clone(&stop)));

    // Shard 0 owns 0..2^127 and shard 1 the rest. Split 0 at 2^126 into 2 (low) and 3;
    // merge 3 with 1 into 4; merge 2 with 4 into 5, which owns every hash key again.
    let phase = Duration::from_millis(300);
    tokio::time::sleep(phase).await;
    assert_eq!(
        bounded(admin.split_shard("reshard", 0, 1 << 126))
            .await
            .unwrap(),
        [2, 3]
    );
    tokio::time::sleep(phase).await;
    assert_eq!(
        bounded(admin.merge_shards("reshard", 3, 1)).await.unwrap(),
        4
    );
    tokio::time::sleep(phase).await;
    assert_eq!(
        bounded(admin.merge_shards("reshard", 2, 4)).await.unwrap(),
        5
    );
    tokio::time::sleep(phase).await;
    stop.store(true, Ordering::Relaxed);
    let outcomes = tokio::time::timeout(Duration::from_secs(30), producing)
        .await
        .expect("producing stops")
        .unwrap();

    // Native resharding is ordered with produce routing: no record meets a closing shard.
    let mut acked: BTreeMap<(u32, u64), (String, u64)> = BTreeMap::new();
    for (key, sequence, outcome) in &outcomes {
        let landed = outcome
            .as_ref()
            .unwrap_or_else(|error| panic!("{key}:{sequence} failed: {error:?}"));
        let earlier = acked.insert((landed.shard, landed.offset), (key.clone(), *sequence));
        assert!(earlier.is_none(), "two records at {landed:?}");
    }
    let shards_used: std::collections::BTreeSet<u32> =
        acked.keys().map(|(shard, _)| *shard).collect();
    assert_eq!(
        shards_used,
        (0..=5).collect(),
        "records were produced to every generation of shards"
    );
    total.send(acked.len()).unwrap();
    let (records, consumer) = tokio::time::timeout(Duration::from_secs(60), consuming)
        .await
        .expect("the whole lineage is read")
        .unwrap();

    // Exactly once each, where it was acknowledged, with its key.
    let mut read: BTreeMap<(u32, u64), (String, u64)> = BTreeMap::new();
    let mut order: HashMap<String, Vec<u64>> = HashMap::new();
    for StreamRecord { shard, record } in &records {
        let data = std::str::from_utf8(&record.data).unwrap();
        let (key, sequence) = data.split_once(':').unwrap();
        assert_eq!(record.key.as_ref(), key.as_bytes());
        let sequence: u64 = sequence.parse().unwrap();
        let earlier = read.insert((*shard, record.offset), (key.to_string(), sequence));
        assert!(earlier.is_none(), "{shard}/{} read twice", record.offset);
        order.entry(key.to_string()).or_default().push(sequence);
    }
    assert_eq!(read.len(), records.len());
    assert_eq!(
        read, acked,
        "every acknowledged record, exactly once, where it landed"
    );
    // Per key, the order they were sent in, across the split and both merges.
    for (key, sequences) in &order {
        assert!(
            sequences.windows(2).all(|pair| pair[0] < pair[1]),
            "{key} out of order: {sequences:?}"
        );
    }
    assert_eq!(consumer.reading(), &[5].into());
    assert_eq!(consumer.finished(), &(0..=4).collect());
    assert!(consumer.waiting().is_empty());

    let description = bounded(admin.describe_stream("reshard")).await.unwrap();
    let lineage: Vec<(u32, Option<u32>, Option<u32>, bool)> = description
        .shards
        .iter()
        .map(|shard| {
            (
                shard.id,
                shard.parent,
                shard.adjacent_parent,
                shard.ending_offset.is_some(),
            )
        })
        .collect();
    assert_eq!(
        lineage,
        vec![
            (0, None, None, true),
            (1, None, None, true),
            (2, Some(0), None, true),
            (3, Some(0), None, true),
            (4, Some(3), Some(1), true),
            (5, Some(2), Some(4), false),
        ]
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_child_is_read_only_after_both_parents_and_resharding_errors_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let client = connect(&server).await;
    bounded(client.create_stream("wait", 2, 24)).await.unwrap();
    let to_shard = |shard: u32, data: &str| ProduceRecord {
        target: Target::Shard(shard),
        data: Bytes::copy_from_slice(data.as_bytes()),
    };
    // Shard 0 holds six records and shard 1 one; the merge child one.
    let mut records: Vec<ProduceRecord> = (0..6).map(|i| to_shard(0, &format!("a{i}"))).collect();
    records.push(to_shard(1, "b0"));
    bounded(client.produce("wait", records)).await.unwrap();
    let child = bounded(client.merge_shards("wait", 0, 1)).await.unwrap();
    assert_eq!(child, 2);
    bounded(client.produce("wait", vec![to_shard(2, "c0")]))
        .await
        .unwrap();

    // One record per fetch: shard 1 ends in the first call, shard 0 only in the sixth. The
    // child must wait for both: it is read only in a call made once both had ended.
    let mut consumer = bounded(StreamConsumer::new(
        client.clone(),
        "wait",
        StartPosition::TrimHorizon,
    ))
    .await
    .unwrap()
    .with_limits(1, 1024);
    let mut seen = Vec::new();
    let deadline = Instant::now() + WAIT;
    while seen.len() < 8 {
        assert!(Instant::now() < deadline, "read {seen:?}");
        let finished_before = consumer.finished().clone();
        for StreamRecord { shard, record } in
            bounded(consumer.next_batch(Duration::from_millis(100)))
                .await
                .unwrap()
        {
            if shard == 2 {
                assert!(
                    finished_before.contains(&0) && finished_before.contains(&1),
                    "the child is read only after both parents ended: {finished_before:?}"
                );
            }
            seen.push((shard, String::from_utf8(record.data.to_vec()).unwrap()));
        }
    }
    let position = |data: &str| seen.iter().position(|(_, d)| d == data).unwrap();
    for i in 1..6 {
        let (earlier, later) = (format!("a{}", i - 1), format!("a{i}"));
        assert!(position(&earlier) < position(&later), "{seen:?}");
    }
    assert!(position("a5") < position("c0") && position("b0") < position("c0"));
    assert_eq!(consumer.reading(), &[2].into());

    // From latest: only the open shard, and only new records.
    let mut latest = bounded(StreamConsumer::new(
        client.clone(),
        "wait",
        StartPosition::Latest,
    ))
    .await
    .unwrap();
    assert_eq!(latest.reading(), &[2].into());
    assert_eq!(latest.finished(), &[0, 1].into());
    bounded(client.produce("wait", vec![to_shard(2, "c1")]))
        .await
        .unwrap();
    let fresh = bounded(latest.next_batch(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(fresh.len(), 1);
    assert_eq!(fresh[0].record.data.as_ref(), b"c1");
    let offset_start = StreamConsumer::new(client.clone(), "wait", StartPosition::AtOffset(0));
    assert!(matches!(
        bounded(offset_start).await.unwrap_err(),
        ClientError::InvalidArgument(_)
    ));

    // Typed errors, and the connection goes on.
    let code = |error: ClientError| error.code();
    let closed = bounded(client.split_shard("wait", 0, 1)).await.unwrap_err();
    assert_eq!(code(closed), Some(client::ErrorCode::ShardClosed));
    let outside = bounded(client.split_shard("wait", 2, 0)).await.unwrap_err();
    assert_eq!(code(outside), Some(client::ErrorCode::InvalidArgument));
    let itself = bounded(client.merge_shards("wait", 2, 2))
        .await
        .unwrap_err();
    assert_eq!(code(itself), Some(client::ErrorCode::InvalidArgument));
    let missing = bounded(client.merge_shards("wait", 2, 7))
        .await
        .unwrap_err();
    assert_eq!(code(missing), Some(client::ErrorCode::ShardNotFound));
    let no_stream = bounded(client.split_shard("nope", 0, 1)).await.unwrap_err();
    assert_eq!(code(no_stream), Some(client::ErrorCode::StreamNotFound));
    assert_eq!(
        bounded(client.split_shard("wait", 2, 1 << 127))
            .await
            .unwrap(),
        [3, 4]
    );
    server.stop();
}
