//! The `client` crate against a running `strata serve`: a batching producer whose every
//! record resolves to a dense per-shard offset, consumers reading back exactly what was
//! produced, long polling, cursor resume, a server that stops under pending requests, and a
//! new connection after a restart.
//!
//! Every wait is bounded, so a hung server or client fails the test instead of hanging the
//! suite.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod common;

use common::{Server, WAIT};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use client::{
    Client, ClientError, ProduceRecord, ProduceResult, Producer, ProducerConfig, ShardConsumer,
    StartPosition, Target,
};

/// Awaits `future`, failing the test if it takes longer than [`WAIT`].
async fn bounded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .expect("finished within the deadline")
}

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
