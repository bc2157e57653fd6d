//! The native protocol against a running `strata serve`: the handshake, stream management,
//! produce routed by partition key (MD5, as Kinesis) or to a shard, fetch from every kind of
//! start position, long polling woken by a produce, pipelining, cursors, errors that keep the
//! connection usable and framing errors that close it, data surviving a restart, and splits
//! and merges: closed parents, routing to children, lineage in fetches and descriptions.
//!
//! Every wait is bounded, so a hung server fails the test instead of hanging the suite.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod common;

use common::Server;
use common::wire::{Connection, create, error_code, keyed};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use protocol::native::{
    CommitCursor, CreateStream, DescribeStream, ErrorCode, Fetch, FetchCursor, Hello, ListStreams,
    MergeShards, MergeShardsOk, Produce, ProduceRecord, Request, Response, ShardDescription,
    SplitShard, SplitShardOk, StartPosition, Target,
};
use tokio::io::AsyncWriteExt;

fn md5_hash(key: &str) -> u128 {
    use md5::Digest as _;
    u128::from_be_bytes(md5::Md5::digest(key.as_bytes()).into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_routes_by_partition_key_and_fetch_returns_every_record_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut connection = Connection::greeted(server.native).await;
    create(&mut connection, "clicks", 4).await;
    let Response::StreamDescription(description) = connection
        .call(Request::DescribeStream(DescribeStream {
            name: "clicks".into(),
        }))
        .await
    else {
        panic!("describe failed");
    };
    assert_eq!(description.shards.len(), 4);

    let records: Vec<ProduceRecord> = (0..200)
        .map(|i| keyed(&format!("user-{}", i % 17), &format!("event-{i}")))
        .collect();
    let Response::ProduceOk(ok) = connection
        .call(Request::Produce(Produce {
            stream: "clicks".into(),
            records: records.clone(),
        }))
        .await
    else {
        panic!("produce failed");
    };
    assert_eq!(ok.results.len(), 200);
    for (i, result) in ok.results.iter().enumerate() {
        let hash = md5_hash(&format!("user-{}", i % 17));
        let shard = description
            .shards
            .iter()
            .find(|s| s.hash_start <= hash && hash <= s.hash_end)
            .unwrap();
        assert_eq!(
            result.shard, shard.id,
            "record {i} lands where its key's MD5 hash says"
        );
    }
    let used: std::collections::BTreeSet<u32> = ok.results.iter().map(|r| r.shard).collect();
    assert!(used.len() > 1, "17 keys spread over several shards");

    for shard in used {
        let fetched = connection
            .fetch("clicks", shard, StartPosition::TrimHorizon, 0)
            .await;
        let expected: Vec<(u64, &ProduceRecord)> = ok
            .results
            .iter()
            .zip(&records)
            .filter(|(result, _)| result.shard == shard)
            .map(|(result, record)| (result.offset, record))
            .collect();
        assert_eq!(fetched.records.len(), expected.len());
        for (record, (offset, produced)) in fetched.records.iter().zip(&expected) {
            assert_eq!(record.offset, *offset);
            assert_eq!(record.data, produced.data, "same bytes back");
            let Target::PartitionKey { key, .. } = &produced.target else {
                unreachable!()
            };
            assert_eq!(&record.key, key);
        }
        assert_eq!(fetched.next_offset, expected.len() as u64);
        let latest = connection
            .fetch("clicks", shard, StartPosition::Latest, 0)
            .await;
        assert!(latest.records.is_empty());
        let after = connection
            .fetch("clicks", shard, StartPosition::AfterOffset(0), 0)
            .await;
        assert_eq!(
            after.records.first().map(|r| r.offset),
            Some(1).filter(|_| expected.len() > 1)
        );
        let at_time = fetched.records[0].timestamp_ms;
        let by_time = connection
            .fetch("clicks", shard, StartPosition::AtTimestamp(at_time), 0)
            .await;
        assert_eq!(by_time.records.first().map(|r| r.offset), Some(0));
    }

    // Explicit hash keys and shard addressing.
    let last = description.shards.last().unwrap();
    let explicit = ProduceRecord {
        target: Target::PartitionKey {
            key: Bytes::from_static(b"k"),
            explicit_hash_key: Some(last.hash_end),
        },
        data: Bytes::from_static(b"to the last shard"),
    };
    let addressed = ProduceRecord {
        target: Target::Shard(0),
        data: Bytes::from_static(b"to shard 0"),
    };
    let Response::ProduceOk(ok) = connection
        .call(Request::Produce(Produce {
            stream: "clicks".into(),
            records: vec![explicit, addressed],
        }))
        .await
    else {
        panic!("produce failed");
    };
    assert_eq!((ok.results[0].shard, ok.results[1].shard), (last.id, 0));
    let Response::StreamList(list) = connection.call(Request::ListStreams(ListStreams {})).await
    else {
        panic!("list failed");
    };
    assert_eq!(list.names, vec!["clicks".to_string()]);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_poll_fetch_is_woken_by_a_produce_on_another_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut reader = Connection::greeted(server.native).await;
    let mut writer = Connection::greeted(server.native).await;
    create(&mut writer, "tail", 1).await;
    let started = Instant::now();
    let poll =
        tokio::spawn(async move { reader.fetch("tail", 0, StartPosition::Latest, 8_000).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let produce = Produce {
        stream: "tail".into(),
        records: vec![keyed("k", "wake up")],
    };
    assert!(matches!(
        writer.call(Request::Produce(produce)).await,
        Response::ProduceOk(_)
    ));
    let fetched = poll.await.unwrap();
    assert_eq!(fetched.records.len(), 1);
    assert_eq!(&fetched.records[0].data[..], b"wake up");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "woken by the produce, not the timeout"
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_all_answered_with_their_ids() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut connection = Connection::greeted(server.native).await;
    create(&mut connection, "pipe", 1).await;
    let mut sent = std::collections::BTreeSet::new();
    for i in 0..100 {
        let produce = Produce {
            stream: "pipe".into(),
            records: vec![keyed("k", &format!("r{i}"))],
        };
        sent.insert(connection.send(&Request::Produce(produce)).await);
    }
    let first = *sent.first().unwrap();
    let mut offsets = std::collections::BTreeMap::new();
    for _ in 0..100 {
        let (id, response) = connection.receive().await.unwrap();
        assert!(sent.remove(&id), "each id answered once");
        let Response::ProduceOk(ok) = response else {
            panic!("{response:?}")
        };
        offsets.insert(id, ok.results[0].offset);
    }
    for (id, offset) in &offsets {
        assert_eq!(
            u64::from(id - first),
            *offset,
            "pipelined produces of one connection commit in the order they were sent"
        );
    }
    let fetched = connection
        .fetch("pipe", 0, StartPosition::TrimHorizon, 0)
        .await;
    assert_eq!(fetched.records.len(), 100);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_typed_errors_and_bad_framing_closes_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut connection = Connection::open(server.native).await;
    let early = connection.call(Request::ListStreams(ListStreams {})).await;
    assert_eq!(error_code(&early), Some(ErrorCode::HandshakeRequired));
    let hello = Hello {
        protocol_version_min: 7,
        protocol_version_max: 9,
        client_name: "future".into(),
    };
    assert_eq!(
        error_code(&connection.call(Request::Hello(hello)).await),
        Some(ErrorCode::UnsupportedVersion)
    );

    let mut connection = Connection::greeted(server.native).await;
    let missing = connection.fetch_error("nope").await;
    assert_eq!(missing, Some(ErrorCode::StreamNotFound));
    create(&mut connection, "s", 1).await;
    let again = CreateStream {
        name: "s".into(),
        shard_count: 1,
        retention_hours: 24,
    };
    assert_eq!(
        error_code(&connection.call(Request::CreateStream(again)).await),
        Some(ErrorCode::StreamExists)
    );
    let short = CreateStream {
        name: "t".into(),
        shard_count: 1,
        retention_hours: 1,
    };
    assert_eq!(
        error_code(&connection.call(Request::CreateStream(short)).await),
        Some(ErrorCode::InvalidArgument)
    );
    let big = Produce {
        stream: "s".into(),
        records: vec![ProduceRecord {
            target: Target::Shard(0),
            // One byte over the server's default record limit (`storage.record_bytes_max`).
            data: Bytes::from(vec![0u8; 10 * 1024 * 1024 + 1]),
        }],
    };
    assert_eq!(
        error_code(&connection.call(Request::Produce(big)).await),
        Some(ErrorCode::RecordTooLarge)
    );
    let to_missing_shard = Produce {
        stream: "s".into(),
        records: vec![ProduceRecord {
            target: Target::Shard(9),
            data: Bytes::from_static(b"x"),
        }],
    };
    assert_eq!(
        error_code(&connection.call(Request::Produce(to_missing_shard)).await),
        Some(ErrorCode::ShardNotFound)
    );
    let beyond = Request::Fetch(Fetch {
        stream: "s".into(),
        shard: 0,
        start: StartPosition::AtOffset(50),
        max_records: 1,
        max_bytes: 1,
        max_wait_ms: 0,
    });
    assert_eq!(
        error_code(&connection.call(beyond).await),
        Some(ErrorCode::OffsetBeyondEnd)
    );

    // A malformed body: an error for that request, and the connection goes on.
    // A ListStreams frame (op 4) whose body is 3 bytes of garbage.
    let mut frame = BytesMut::new();
    frame.extend_from_slice(&(7u32 + 3).to_le_bytes());
    frame.extend_from_slice(&[0, 4, 0]);
    frame.extend_from_slice(&78u32.to_le_bytes());
    frame.extend_from_slice(&[1, 2, 3]);
    connection.socket.write_all(&frame).await.unwrap();
    let (id, response) = connection.receive().await.unwrap();
    assert_eq!(id, 78);
    assert_eq!(error_code(&response), Some(ErrorCode::MalformedFrame));
    assert!(matches!(
        connection.call(Request::ListStreams(ListStreams {})).await,
        Response::StreamList(_)
    ));

    // A frame claiming 1 GiB: refused from its length alone, then the connection closes.
    let mut oversized = BytesMut::new();
    oversized.extend_from_slice(&(1u32 << 30).to_le_bytes());
    oversized.extend_from_slice(&[0, 1, 0, 9, 0, 0, 0]);
    connection.socket.write_all(&oversized).await.unwrap();
    let (id, response) = connection.receive().await.unwrap();
    assert_eq!(
        (id, error_code(&response)),
        (0, Some(ErrorCode::FrameTooLarge))
    );
    assert!(
        connection.receive().await.is_none(),
        "closed after a framing error"
    );

    // The server is fine.
    let mut fresh = Connection::greeted(server.native).await;
    assert!(matches!(
        fresh.call(Request::ListStreams(ListStreams {})).await,
        Response::StreamList(_)
    ));
    server.stop();
}

impl Connection {
    async fn fetch_error(&mut self, stream: &str) -> Option<ErrorCode> {
        let request = Request::Fetch(Fetch {
            stream: stream.into(),
            shard: 0,
            start: StartPosition::TrimHorizon,
            max_records: 1,
            max_bytes: 1,
            max_wait_ms: 0,
        });
        error_code(&self.call(request).await)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_and_cursors_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut connection = Connection::greeted(server.native).await;
    create(&mut connection, "durable", 2).await;
    let records: Vec<ProduceRecord> = (0..50)
        .map(|i| keyed(&format!("k{i}"), &format!("v{i}")))
        .collect();
    let Response::ProduceOk(ok) = connection
        .call(Request::Produce(Produce {
            stream: "durable".into(),
            records,
        }))
        .await
    else {
        panic!("produce failed");
    };
    let commit = CommitCursor {
        name: "sink".into(),
        stream: "durable".into(),
        shard: 1,
        offset: 7,
    };
    assert_eq!(
        connection.call(Request::CommitCursor(commit)).await,
        Response::CommitCursorOk
    );
    drop(connection);
    server.stop();

    let server = Server::start(dir.path());
    let mut connection = Connection::greeted(server.native).await;
    let mut total = 0;
    for shard in 0..2 {
        let fetched = connection
            .fetch("durable", shard, StartPosition::TrimHorizon, 0)
            .await;
        let produced = ok.results.iter().filter(|r| r.shard == shard).count();
        assert_eq!(
            fetched.records.len(),
            produced,
            "shard {shard} after restart"
        );
        total += fetched.records.len();
    }
    assert_eq!(total, 50);
    let cursor = FetchCursor {
        name: "sink".into(),
        stream: "durable".into(),
        shard: 1,
    };
    let Response::CursorPosition(position) = connection.call(Request::FetchCursor(cursor)).await
    else {
        panic!("cursor fetch failed");
    };
    assert_eq!(position.offset, Some(7));
    server.stop();
}

impl Connection {
    async fn describe(&mut self, stream: &str) -> Vec<ShardDescription> {
        let request = Request::DescribeStream(DescribeStream {
            name: stream.into(),
        });
        match self.call(request).await {
            Response::StreamDescription(description) => description.shards,
            other => panic!("describe failed: {other:?}"),
        }
    }

    async fn split(&mut self, stream: &str, shard: u32, at: u128) -> Response {
        self.call(Request::SplitShard(SplitShard {
            stream: stream.into(),
            shard,
            new_starting_hash_key: at,
        }))
        .await
    }

    async fn merge(&mut self, stream: &str, shard: u32, adjacent_shard: u32) -> Response {
        self.call(Request::MergeShards(MergeShards {
            stream: stream.into(),
            shard,
            adjacent_shard,
        }))
        .await
    }

    async fn produce(&mut self, stream: &str, records: Vec<ProduceRecord>) -> Response {
        self.call(Request::Produce(Produce {
            stream: stream.into(),
            records,
        }))
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn splits_and_merges_close_parents_route_to_children_and_report_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut connection = Connection::greeted(server.native).await;
    create(&mut connection, "lineage", 2).await;
    let keys: Vec<String> = (0..40).map(|i| format!("user-{i}")).collect();
    let batch = |tag: &str| -> Vec<ProduceRecord> {
        keys.iter()
            .map(|key| keyed(key, &format!("{tag}-{key}")))
            .collect()
    };
    let Response::ProduceOk(before) = connection.produce("lineage", batch("before")).await else {
        panic!("produce failed");
    };
    let in_shard_0 = before.results.iter().filter(|r| r.shard == 0).count() as u64;
    assert!(in_shard_0 > 0);

    // Shard 0 owns 0..2^127; split it at 2^126.
    assert_eq!(
        connection.split("lineage", 0, 1 << 126).await,
        Response::SplitShardOk(SplitShardOk { children: [2, 3] })
    );
    let shards = connection.describe("lineage").await;
    let summary: Vec<_> = shards
        .iter()
        .map(|s| {
            (
                s.id,
                s.hash_start,
                s.hash_end,
                s.parent,
                s.starting_offset,
                s.ending_offset,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (0, 0, (1 << 127) - 1, None, 0, Some(in_shard_0)),
            (1, 1 << 127, u128::MAX, None, 0, None),
            (2, 0, (1 << 126) - 1, Some(0), in_shard_0, None),
            (3, 1 << 126, (1 << 127) - 1, Some(0), in_shard_0, None),
        ]
    );

    // The parent reads to its end and names its children; keyed records now go to them.
    let parent = connection
        .fetch("lineage", 0, StartPosition::TrimHorizon, 0)
        .await;
    assert_eq!(parent.records.len() as u64, in_shard_0);
    assert_eq!(parent.next_offset, in_shard_0);
    assert_eq!(parent.shard_ending, Some(in_shard_0));
    assert_eq!(parent.child_shards, vec![2, 3]);
    let waited = connection
        .fetch("lineage", 0, StartPosition::AtOffset(in_shard_0), 5_000)
        .await;
    assert!(
        waited.records.is_empty(),
        "a closed shard's long poll ends at once"
    );
    assert_eq!(waited.child_shards, vec![2, 3]);
    let Response::ProduceOk(after) = connection.produce("lineage", batch("after")).await else {
        panic!("produce failed");
    };
    for (key, result) in keys.iter().zip(&after.results) {
        let hash = md5_hash(key);
        let owner = shards
            .iter()
            .find(|s| s.ending_offset.is_none() && s.hash_start <= hash && hash <= s.hash_end)
            .unwrap();
        assert_eq!(
            result.shard, owner.id,
            "{key} goes to the open shard owning its hash"
        );
        if owner.id != 1 {
            assert!(
                result.offset >= in_shard_0,
                "children's offsets continue the parent's"
            );
        }
    }
    let to_closed = connection
        .produce(
            "lineage",
            vec![ProduceRecord {
                target: Target::Shard(0),
                data: Bytes::from_static(b"late"),
            }],
        )
        .await;
    assert_eq!(error_code(&to_closed), Some(ErrorCode::ShardClosed));

    // Typed refusals, and the connection goes on.
    let cases = [
        (
            connection.split("lineage", 0, 1).await,
            ErrorCode::ShardClosed,
        ),
        (
            connection.split("lineage", 1, 1 << 127).await,
            ErrorCode::InvalidArgument,
        ),
        (
            connection.split("lineage", 2, 1 << 126).await,
            ErrorCode::InvalidArgument,
        ),
        (
            connection.split("lineage", 9, 1).await,
            ErrorCode::ShardNotFound,
        ),
        (
            connection.split("nope", 0, 1).await,
            ErrorCode::StreamNotFound,
        ),
        (
            connection.merge("lineage", 2, 1).await,
            ErrorCode::InvalidArgument,
        ),
        (
            connection.merge("lineage", 3, 3).await,
            ErrorCode::InvalidArgument,
        ),
        (
            connection.merge("lineage", 3, 9).await,
            ErrorCode::ShardNotFound,
        ),
        (
            connection.merge("lineage", 0, 2).await,
            ErrorCode::ShardClosed,
        ),
    ];
    for (index, (response, code)) in cases.iter().enumerate() {
        assert_eq!(
            error_code(response),
            Some(*code),
            "case {index}: {response:?}"
        );
    }

    // Merge 3 (2^126..2^127) with 1 (2^127..): the child starts after both parents' ends.
    assert_eq!(
        connection.merge("lineage", 3, 1).await,
        Response::MergeShardsOk(MergeShardsOk { child: 4 })
    );
    let shards = connection.describe("lineage").await;
    let ending = |id: u32| {
        shards
            .iter()
            .find(|s| s.id == id)
            .unwrap()
            .ending_offset
            .unwrap()
    };
    let child = shards.iter().find(|s| s.id == 4).unwrap();
    assert_eq!((child.parent, child.adjacent_parent), (Some(3), Some(1)));
    assert_eq!((child.hash_start, child.hash_end), (1 << 126, u128::MAX));
    assert_eq!(child.starting_offset, ending(1).max(ending(3)));
    for parent in [1, 3] {
        let read = connection
            .fetch("lineage", parent, StartPosition::TrimHorizon, 0)
            .await;
        assert_eq!(read.shard_ending, Some(ending(parent)));
        assert_eq!(
            read.child_shards,
            vec![4],
            "shard {parent} continues in the merge child"
        );
    }

    // The lineage is durable.
    server.stop();
    let server = Server::start(dir.path());
    let mut connection = Connection::greeted(server.native).await;
    assert_eq!(connection.describe("lineage").await, shards);
    let Response::ProduceOk(restarted) = connection.produce("lineage", batch("restarted")).await
    else {
        panic!("produce failed");
    };
    assert!(
        restarted
            .results
            .iter()
            .all(|r| r.shard == 2 || r.shard == 4)
    );
    server.stop();
}
