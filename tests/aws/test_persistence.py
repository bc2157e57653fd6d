"""Durability through the AWS API: `kill -9` the server, start it again on the same data
directory, and everything acknowledged is there, exactly once, in order."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from strata_aws import create_stream


def read_shard(kinesis, stream, shard_id):
    """Every record of a shard from TRIM_HORIZON to its tip or end (bounded)."""
    position = kinesis.get_shard_iterator(
        StreamName=stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = []
    for _ in range(100_000):
        answer = kinesis.get_records(ShardIterator=position, Limit=10_000)
        records += answer["Records"]
        position = answer.get("NextShardIterator")
        if position is None or (not answer["Records"] and answer["MillisBehindLatest"] == 0):
            return records
    pytest.fail("shard did not reach its tip")


def read_stream(kinesis, stream):
    shards = kinesis.list_shards(StreamName=stream)["Shards"]
    return {s["ShardId"]: read_shard(kinesis, stream, s["ShardId"]) for s in shards}


def snapshot(kinesis, stream):
    """What must survive a restart: the description (less status) and the shards."""
    description = kinesis.describe_stream(StreamName=stream)["StreamDescription"]
    summary = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    return {
        "name": description["StreamName"],
        "arn": description["StreamARN"],
        "mode": description["StreamModeDetails"],
        "retention": description["RetentionPeriodHours"],
        "created": description["StreamCreationTimestamp"],
        "shards": kinesis.list_shards(StreamName=stream)["Shards"],
        "open_shards": summary["OpenShardCount"],
    }


def test_kill9_keeps_streams_and_acknowledged_records(server, stream_name_factory):
    kinesis = server.client()
    streams = {
        stream_name_factory("one"): {"ShardCount": 1},
        stream_name_factory("three"): {"ShardCount": 3},
        stream_name_factory("ondemand"): {
            "ShardCount": None,
            "StreamModeDetails": {"StreamMode": "ON_DEMAND"},
        },
    }
    for name, arguments in streams.items():
        arguments = dict(arguments)
        create_stream(kinesis, name, arguments.pop("ShardCount"), **arguments)

    acknowledged = {name: [] for name in streams}
    for name in streams:
        for i in range(30):
            answer = kinesis.put_record(
                StreamName=name, Data=f"{name}/single/{i}".encode(), PartitionKey=f"k{i % 7}"
            )
            acknowledged[name].append((answer["ShardId"], answer["SequenceNumber"], f"{name}/single/{i}"))
        batch = kinesis.put_records(
            StreamName=name,
            Records=[
                {"Data": f"{name}/batch/{i}".encode(), "PartitionKey": f"k{i % 5}"}
                for i in range(200)
            ],
        )
        assert batch["FailedRecordCount"] == 0
        for i, result in enumerate(batch["Records"]):
            acknowledged[name].append(
                (result["ShardId"], result["SequenceNumber"], f"{name}/batch/{i}")
            )
    before = {name: snapshot(kinesis, name) for name in streams}
    before_records = {name: read_stream(kinesis, name) for name in streams}

    server.kill9()
    server.start()
    kinesis = server.client()

    assert sorted(kinesis.list_streams()["StreamNames"]) == sorted(streams)
    for name in streams:
        assert snapshot(kinesis, name) == before[name]
        assert kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamStatus"] == (
            "ACTIVE"
        )
        after_records = read_stream(kinesis, name)
        assert after_records == before_records[name]
        stored = {
            (shard, r["SequenceNumber"]): r["Data"].decode()
            for shard, records in after_records.items()
            for r in records
        }
        assert len(stored) == sum(len(records) for records in after_records.values())
        for shard, sequence, data in acknowledged[name]:
            assert stored[(shard, sequence)] == data
        assert len(stored) == len(acknowledged[name])

    # Writing goes on after the restart, with greater sequence numbers in each shard.
    name = next(iter(streams))
    last = max(int(seq) for _, seq, _ in acknowledged[name])
    answer = kinesis.put_record(StreamName=name, Data=b"after restart", PartitionKey="k0")
    assert int(answer["SequenceNumber"]) > last


def test_clean_restart_keeps_everything(server, unique_stream):
    kinesis = server.client()
    create_stream(kinesis, unique_stream, 2)
    kinesis.put_records(
        StreamName=unique_stream,
        Records=[{"Data": f"r{i}".encode(), "PartitionKey": str(i)} for i in range(100)],
    )
    before = read_stream(kinesis, unique_stream)
    assert server.stop() == 0
    server.start()
    kinesis = server.client()
    assert read_stream(kinesis, unique_stream) == before


def test_kill9_keeps_tags_and_lineage(server, unique_stream):
    kinesis = server.client()
    create_stream(kinesis, unique_stream, 2, Tags={"team": "data", "env": "test"})
    kinesis.add_tags_to_stream(StreamName=unique_stream, Tags={"added": "later"})
    for i in range(20):
        kinesis.put_record(StreamName=unique_stream, Data=f"before/{i}".encode(), PartitionKey=str(i))
    kinesis.split_shard(
        StreamName=unique_stream,
        ShardToSplit="shardId-000000000000",
        NewStartingHashKey=str(2**126),
    )
    kinesis.get_waiter("stream_exists").wait(
        StreamName=unique_stream, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    for i in range(20):
        kinesis.put_record(StreamName=unique_stream, Data=f"after/{i}".encode(), PartitionKey=str(i))
    shards_before = kinesis.list_shards(StreamName=unique_stream)["Shards"]
    records_before = read_stream(kinesis, unique_stream)
    tags_before = kinesis.list_tags_for_stream(StreamName=unique_stream)

    server.kill9()
    server.start()
    kinesis = server.client()

    shards_after = kinesis.list_shards(StreamName=unique_stream)["Shards"]
    assert shards_after == shards_before
    by_id = {s["ShardId"]: s for s in shards_after}
    assert len(by_id) == 4
    assert "EndingSequenceNumber" in by_id["shardId-000000000000"]["SequenceNumberRange"]
    assert by_id["shardId-000000000002"]["ParentShardId"] == "shardId-000000000000"
    assert by_id["shardId-000000000003"]["ParentShardId"] == "shardId-000000000000"
    assert read_stream(kinesis, unique_stream) == records_before

    tags_after = kinesis.list_tags_for_stream(StreamName=unique_stream)
    assert tags_after["Tags"] == tags_before["Tags"]
    assert {t["Key"]: t["Value"] for t in tags_after["Tags"]} == {
        "team": "data",
        "env": "test",
        "added": "later",
    }
    summary = kinesis.describe_stream_summary(StreamName=unique_stream)["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 3


def test_kill9_during_concurrent_load(server, unique_stream):
    """Producer threads put batches as fast as they can; the server is killed mid-load.
    After a restart every acknowledged record is there exactly once, per-key order holds,
    and nothing (acknowledged or not) is duplicated."""
    kinesis = server.client()
    create_stream(kinesis, unique_stream, 4)
    producers, batch_size = 4, 50
    acknowledged: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    sent_batches = Counter()
    stop = threading.Event()
    unexpected = []

    def produce(producer: int) -> None:
        client = server.client(connect_timeout=2, read_timeout=10)
        batch = 0
        deadline = time.monotonic() + 30
        while not stop.is_set() and time.monotonic() < deadline:
            records = [
                {
                    "Data": f"{producer}:{batch}:{i}".encode(),
                    "PartitionKey": f"p{producer}-{i % 3}",
                }
                for i in range(batch_size)
            ]
            try:
                answer = client.put_records(StreamName=unique_stream, Records=records)
            except (BotoCoreError, ClientError, OSError):
                return  # the server is gone; what was not acknowledged may or may not be kept
            sent_batches[producer] += 1
            for record, result in zip(records, answer["Records"]):
                if "SequenceNumber" in result:
                    acknowledged[producer].append(
                        (result["ShardId"], result["SequenceNumber"], record["Data"].decode())
                    )
                else:
                    unexpected.append(result)
            batch += 1

    threads = [threading.Thread(target=produce, args=(p,), daemon=True) for p in range(producers)]
    for thread in threads:
        thread.start()
    # Let the load build up, then crash.
    deadline = time.monotonic() + 20
    while sum(len(a) for a in acknowledged.values()) < 2000 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill9()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()
    assert unexpected == []
    total_acknowledged = sum(len(a) for a in acknowledged.values())
    assert total_acknowledged >= 2000, "the load never built up"

    server.start()
    kinesis = server.client()
    stored = read_stream(kinesis, unique_stream)

    everything = [r["Data"].decode() for records in stored.values() for r in records]
    duplicates = [data for data, count in Counter(everything).items() if count > 1]
    assert duplicates == []

    by_position = {
        (shard, r["SequenceNumber"]): r["Data"].decode()
        for shard, records in stored.items()
        for r in records
    }
    missing = [
        ack for acks in acknowledged.values() for ack in acks if by_position.get(ack[:2]) != ack[2]
    ]
    assert missing == [], f"{len(missing)} of {total_acknowledged} acknowledged records lost"

    # Per partition key, the order of the puts.
    for shard, records in stored.items():
        last_seen: dict[str, tuple[int, int]] = {}
        for record in records:
            producer, batch, index = (int(x) for x in record["Data"].decode().split(":"))
            key = record["PartitionKey"]
            assert key == f"p{producer}-{index % 3}"
            position = (batch, index)
            assert position > last_seen.get(key, (-1, -1)), (shard, key, position)
            last_seen[key] = position
