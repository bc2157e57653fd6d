//! `ProduceBatch` through the client's `BatchProducer` against a running `strata serve`:
//! batches land where the server's own routing would put their records, read back exactly
//! with the arrival time of their acknowledgement; a split makes the producer's map stale
//! and its batches are re-routed to the children; and the checks the server makes on a
//! batch (CRC, framing, keys, hash ranges, stream) answer with typed errors.
//!
//! Every wait is bounded, so a hung server or client fails the test instead of hanging the
//! suite.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use client::{
    BatchAck, BatchProducer, BatchProducerConfig, Client, ClientError, ErrorCode, ProduceRecord,
    ShardConsumer, StartPosition, Target, hash_key,
};
use common::{Server, WAIT, bounded};
use protocol::native::{BatchBuilder, Request, frame_request};

/// Every record of `shard` from its start: `(offset, timestamp, key, data)`.
async fn read_all(client: &Client, stream: &str, shard: u32) -> Vec<(u64, i64, Bytes, Bytes)> {
    let mut consumer =
        ShardConsumer::new(client.clone(), stream, shard, StartPosition::TrimHorizon);
    let mut records = Vec::new();
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(
            Instant::now() < deadline,
            "shard {shard} kept returning records"
        );
        let batch = bounded(consumer.next_batch(Duration::ZERO)).await.unwrap();
        if batch.is_empty() {
            return records;
        }
        records.extend(
            batch
                .into_iter()
                .map(|r| (r.offset, r.timestamp_ms, r.key, r.data)),
        );
    }
}

fn record(i: usize) -> (String, Vec<u8>) {
    (
        format!("key-{}", i % 97),
        format!("record-{i}-{}", "x".repeat(i % 300)).into_bytes(),
    )
}

/// Pushes records `range` and sends them every `per_send` records; every ack, in order.
async fn produce(
    producer: &mut BatchProducer,
    range: std::ops::Range<usize>,
    per_send: usize,
) -> Vec<BatchAck> {
    let mut acks = Vec::new();
    let mut sents = Vec::new();
    for i in range {
        let (key, data) = record(i);
        producer.push(&key, &data).unwrap();
        if producer.buffered_records() == per_send {
            sents.push(producer.send().unwrap());
        }
    }
    sents.push(producer.send().unwrap());
    for sent in sents {
        acks.extend(bounded(sent.acknowledged()).await.unwrap());
    }
    acks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_land_where_the_server_routes_and_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let client = bounded(Client::connect(server.native)).await.unwrap();
    bounded(client.create_stream("events", 4, 24))
        .await
        .unwrap();
    let config = BatchProducerConfig {
        batch_bytes_max: 64 * 1024,
        ..BatchProducerConfig::default()
    };
    let mut producer = bounded(BatchProducer::new(client.clone(), "events", config))
        .await
        .unwrap();
    let acks = produce(&mut producer, 0..20_000, 1_000).await;
    let count: u32 = acks.iter().map(|ack| ack.record_count).sum();
    assert_eq!(count, 20_000);
    assert!(
        producer.requests() as usize == acks.len() && acks.len() < 400,
        "{} requests, {} acks",
        producer.requests(),
        acks.len()
    );

    // Where each key's hash falls in the stream's ranges.
    let description = bounded(client.describe_stream("events")).await.unwrap();
    let mut shard_of_key = BTreeMap::new();
    for k in 0..97 {
        let key = format!("key-{k}");
        let hash = hash_key(key.as_bytes());
        let shard = description
            .shards
            .iter()
            .find(|s| s.hash_start <= hash && hash <= s.hash_end)
            .unwrap()
            .id;
        shard_of_key.insert(key, shard);
    }
    let mut expected: BTreeMap<u32, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    for i in 0..20_000 {
        let (key, data) = record(i);
        expected
            .entry(shard_of_key[&key])
            .or_default()
            .push((key, data));
    }
    let mut time_of: BTreeMap<(u32, u64), i64> = BTreeMap::new();
    for ack in &acks {
        for offset in ack.base_offset..ack.base_offset + u64::from(ack.record_count) {
            assert!(
                time_of
                    .insert((ack.shard, offset), ack.timestamp_ms)
                    .is_none()
            );
        }
    }
    for shard in 0..4 {
        let read = read_all(&client, "events", shard).await;
        let want = expected.remove(&shard).unwrap_or_default();
        assert_eq!(read.len(), want.len(), "shard {shard}");
        for (index, ((offset, time, key, data), (want_key, want_data))) in
            read.iter().zip(&want).enumerate()
        {
            assert_eq!(*offset, index as u64, "shard {shard}: dense offsets");
            assert_eq!(
                key.as_ref(),
                want_key.as_bytes(),
                "shard {shard} offset {offset}"
            );
            assert_eq!(
                data.as_ref(),
                want_data.as_slice(),
                "shard {shard} offset {offset}"
            );
            assert_eq!(
                Some(time),
                time_of.get(&(shard, *offset)),
                "arrival time of the batch"
            );
        }
    }

    // The same stream through the per-record Produce: the server routes key-5 where the
    // batch producer did.
    let landed = bounded(client.produce(
        "events",
        vec![ProduceRecord {
            target: Target::PartitionKey {
                key: "key-5".into(),
                explicit_hash_key: None,
            },
            data: Bytes::from_static(b"via produce"),
        }],
    ))
    .await
    .unwrap();
    assert_eq!(landed[0].shard, shard_of_key["key-5"]);
    drop(producer);
    drop(client);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_makes_the_map_stale_and_batches_are_rerouted_to_the_children() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let client = bounded(Client::connect(server.native)).await.unwrap();
    bounded(client.create_stream("resharded", 1, 24))
        .await
        .unwrap();
    let mut producer = bounded(BatchProducer::new(
        client.clone(),
        "resharded",
        BatchProducerConfig::default(),
    ))
    .await
    .unwrap();
    let before = produce(&mut producer, 0..500, 500).await;
    assert!(before.iter().all(|ack| ack.shard == 0));

    let children = bounded(client.split_shard("resharded", 0, 1 << 127))
        .await
        .unwrap();
    // The producer still routes by the one-shard map: shard 0 refuses, and the batch is
    // re-routed to the children.
    let rerouted = produce(&mut producer, 500..1_500, 1_000).await;
    assert!(
        rerouted.iter().all(|ack| children.contains(&ack.shard)),
        "{rerouted:?}"
    );
    assert_eq!(rerouted.iter().map(|a| a.record_count).sum::<u32>(), 1_000);
    // From the next send on, the producer routes by the fresh map.
    let requests = producer.requests();
    let after = produce(&mut producer, 1_500..2_000, 500).await;
    assert!(after.iter().all(|ack| children.contains(&ack.shard)));
    assert_eq!(
        producer.requests() - requests,
        after.len() as u64,
        "no refusal"
    );

    let parent = read_all(&client, "resharded", 0).await;
    assert_eq!(parent.len(), 500);
    let mut per_key: BTreeMap<Vec<u8>, Vec<Vec<u8>>> = BTreeMap::new();
    for shard in [0, children[0], children[1]] {
        for (_, _, key, data) in read_all(&client, "resharded", shard).await {
            let hash = hash_key(&key);
            if shard != 0 {
                assert_eq!(shard == children[1], hash >= 1 << 127, "routed by hash");
            }
            per_key.entry(key.to_vec()).or_default().push(data.to_vec());
        }
    }
    let mut want: BTreeMap<Vec<u8>, Vec<Vec<u8>>> = BTreeMap::new();
    for i in 0..2_000 {
        let (key, data) = record(i);
        want.entry(key.into_bytes()).or_default().push(data);
    }
    assert_eq!(
        per_key, want,
        "every record once, each key's records in order"
    );
    drop(producer);
    drop(client);
    server.stop();
}

fn server_code(error: &ClientError) -> Option<ErrorCode> {
    error.code()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_bad_batches_with_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let client = bounded(Client::connect(server.native)).await.unwrap();
    bounded(client.create_stream("checked", 2, 24))
        .await
        .unwrap();
    let description = bounded(client.describe_stream("checked")).await.unwrap();
    let shard0 = &description.shards[0];

    let batch = |keyed: bool, hash: u128| {
        let mut builder = BatchBuilder::new("checked", 0, keyed);
        let key: &[u8] = if keyed { b"key" } else { b"" };
        builder.push(key, None, hash, b"data");
        builder.push(key, None, hash, b"more data");
        frame_request(&builder.finish().into_frame(0)).unwrap()
    };
    let call = |request| {
        let client = client.clone();
        async move { bounded(client.call(Request::ProduceBatch(request))).await }
    };

    // A good one, keyed and unkeyed.
    call(batch(true, shard0.hash_start)).await.unwrap();
    call(batch(false, 0)).await.unwrap();

    let mut bad_crc = batch(true, shard0.hash_start);
    bad_crc.records_crc ^= 1;
    let error = call(bad_crc).await.unwrap_err();
    assert_eq!(
        server_code(&error),
        Some(ErrorCode::InvalidArgument),
        "{error}"
    );

    let outside = batch(true, shard0.hash_end + 1);
    let error = call(outside).await.unwrap_err();
    assert_eq!(server_code(&error), Some(ErrorCode::WrongShard), "{error}");

    let mut miscounted = batch(true, shard0.hash_start);
    miscounted.record_count = 1;
    miscounted.hash_keys = miscounted.hash_keys.map(|keys| keys.slice(..16));
    let error = call(miscounted).await.unwrap_err();
    assert_eq!(
        server_code(&error),
        Some(ErrorCode::InvalidArgument),
        "{error}"
    );

    // Keys in a batch sent straight to the shard, and empty keys in a keyed one.
    let mut keys_unkeyed = batch(true, shard0.hash_start);
    keys_unkeyed.hash_keys = None;
    let error = call(keys_unkeyed).await.unwrap_err();
    assert_eq!(
        server_code(&error),
        Some(ErrorCode::InvalidArgument),
        "{error}"
    );
    let mut empty_keyed = batch(false, 0);
    empty_keyed.hash_keys = Some(Bytes::from(vec![0; 32]));
    let error = call(empty_keyed).await.unwrap_err();
    assert_eq!(
        server_code(&error),
        Some(ErrorCode::InvalidArgument),
        "{error}"
    );

    let mut unknown = batch(false, 0);
    unknown.stream = "missing".into();
    let error = call(unknown).await.unwrap_err();
    assert_eq!(
        server_code(&error),
        Some(ErrorCode::StreamNotFound),
        "{error}"
    );
    let mut no_shard = batch(false, 0);
    no_shard.shard = 99;
    let error = call(no_shard).await.unwrap_err();
    assert_eq!(
        server_code(&error),
        Some(ErrorCode::ShardNotFound),
        "{error}"
    );

    // Only the two good batches landed.
    assert_eq!(read_all(&client, "checked", 0).await.len(), 4);
    drop(client);
    server.stop();
}
