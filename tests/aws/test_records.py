"""Records through unmodified boto3: routing, batches, every iterator type, paging, ordering,
exact bytes and concurrent producers."""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import threading
import time

import pytest
from botocore.exceptions import ClientError

from strata_aws import create_stream

HASH_MAX = 2**128 - 1
MIB = 1024 * 1024


def md5_hash_key(partition_key: str) -> int:
    """The 128-bit hash key Kinesis routes a partition key by: MD5 of its UTF-8 bytes."""
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


def shard_for(shards, hash_key: int) -> str:
    matches = [
        s["ShardId"]
        for s in shards
        if int(s["HashKeyRange"]["StartingHashKey"])
        <= hash_key
        <= int(s["HashKeyRange"]["EndingHashKey"])
    ]
    assert len(matches) == 1, matches
    return matches[0]


def iterator(kinesis, stream, shard_id, kind="TRIM_HORIZON", **kwargs) -> str:
    return kinesis.get_shard_iterator(
        StreamName=stream, ShardId=shard_id, ShardIteratorType=kind, **kwargs
    )["ShardIterator"]


def read_shard(kinesis, stream, shard_id, kind="TRIM_HORIZON", limit=None, **kwargs):
    """Every record from the iterator to the shard's tip (bounded)."""
    position = iterator(kinesis, stream, shard_id, kind, **kwargs)
    records = []
    for _ in range(10_000):
        args = {"ShardIterator": position}
        if limit is not None:
            args["Limit"] = limit
        answer = kinesis.get_records(**args)
        records += answer["Records"]
        position = answer.get("NextShardIterator")
        if position is None or (not answer["Records"] and answer["MillisBehindLatest"] == 0):
            return records
    pytest.fail("shard did not reach its tip")


def read_stream(kinesis, stream):
    """{shard id: [records]} for every shard of the stream."""
    shards = kinesis.list_shards(StreamName=stream)["Shards"]
    return {s["ShardId"]: read_shard(kinesis, stream, s["ShardId"]) for s in shards}


# ---------------------------------------------------------------------------- routing


def test_partition_keys_route_by_md5(kinesis, unique_stream):
    description = create_stream(kinesis, unique_stream, 4)
    shards = description["Shards"]
    keys = [f"key-{i}" for i in range(120)] + ["é", "日本語", "a" * 256, " "]
    used = set()
    for key in keys:
        answer = kinesis.put_record(StreamName=unique_stream, Data=key.encode(), PartitionKey=key)
        assert answer["ShardId"] == shard_for(shards, md5_hash_key(key)), key
        used.add(answer["ShardId"])
    # 120 keys over 4 equal ranges land on every shard.
    assert used == {s["ShardId"] for s in shards}

    batch = kinesis.put_records(
        StreamName=unique_stream,
        Records=[{"Data": k.encode(), "PartitionKey": k} for k in keys],
    )
    assert batch["FailedRecordCount"] == 0
    for key, result in zip(keys, batch["Records"]):
        assert result["ShardId"] == shard_for(shards, md5_hash_key(key)), key

    # Every record is in the shard its key hashes to, with its key.
    for shard_id, records in read_stream(kinesis, unique_stream).items():
        for record in records:
            assert shard_for(shards, md5_hash_key(record["PartitionKey"])) == shard_id
            assert record["Data"] == record["PartitionKey"].encode()


def test_explicit_hash_key_routes(kinesis, unique_stream):
    description = create_stream(kinesis, unique_stream, 3)
    shards = description["Shards"]
    for shard in shards:
        for bound in ("StartingHashKey", "EndingHashKey"):
            key = shard["HashKeyRange"][bound]
            # The partition key alone would go elsewhere for some of these.
            answer = kinesis.put_record(
                StreamName=unique_stream,
                Data=b"explicit",
                PartitionKey="same-key",
                ExplicitHashKey=key,
            )
            assert answer["ShardId"] == shard["ShardId"], (bound, key)
    batch = kinesis.put_records(
        StreamName=unique_stream,
        Records=[
            {"Data": b"x", "PartitionKey": "same-key", "ExplicitHashKey": "0"},
            {"Data": b"y", "PartitionKey": "same-key", "ExplicitHashKey": str(HASH_MAX)},
        ],
    )
    assert [r["ShardId"] for r in batch["Records"]] == [
        shard_for(shards, 0),
        shard_for(shards, HASH_MAX),
    ]


# ---------------------------------------------------------------------------- batches


def test_put_records_500_in_order(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 4)
    entries = [
        {"Data": f"record-{i}".encode(), "PartitionKey": f"pk-{i % 37}"} for i in range(500)
    ]
    answer = kinesis.put_records(StreamName=unique_stream, Records=entries)
    assert answer["FailedRecordCount"] == 0
    assert answer["EncryptionType"] == "NONE"
    results = answer["Records"]
    assert len(results) == 500
    for result in results:
        assert set(result) >= {"SequenceNumber", "ShardId"}
        assert "ErrorCode" not in result

    stored = read_stream(kinesis, unique_stream)
    by_sequence = {
        (shard_id, r["SequenceNumber"]): r for shard_id, rs in stored.items() for r in rs
    }
    assert len(by_sequence) == 500
    for entry, result in zip(entries, results):
        record = by_sequence[(result["ShardId"], result["SequenceNumber"])]
        assert record["Data"] == entry["Data"]
        assert record["PartitionKey"] == entry["PartitionKey"]
    # Within a shard, the request's order.
    for shard_id, records in stored.items():
        indices = [int(r["Data"].split(b"-")[1]) for r in records]
        assert indices == sorted(indices), shard_id


# ---------------------------------------------------------------------------- iterators


@pytest.fixture
def filled_shard(kinesis, unique_stream):
    """A 1-shard stream with 10 records put one by one; returns (stream, shard, answers)."""
    create_stream(kinesis, unique_stream, 1)
    answers = [
        kinesis.put_record(StreamName=unique_stream, Data=f"r{i}".encode(), PartitionKey="k")
        for i in range(10)
    ]
    return unique_stream, answers[0]["ShardId"], answers


def test_trim_horizon_reads_everything(kinesis, filled_shard):
    stream, shard, answers = filled_shard
    records = read_shard(kinesis, stream, shard)
    assert [r["Data"] for r in records] == [f"r{i}".encode() for i in range(10)]
    assert [r["SequenceNumber"] for r in records] == [a["SequenceNumber"] for a in answers]
    assert all(r["PartitionKey"] == "k" for r in records)


def test_latest_reads_only_new_records(kinesis, filled_shard):
    stream, shard, _ = filled_shard
    position = iterator(kinesis, stream, shard, "LATEST")
    answer = kinesis.get_records(ShardIterator=position)
    assert answer["Records"] == []
    assert answer["MillisBehindLatest"] == 0
    kinesis.put_record(StreamName=stream, Data=b"new", PartitionKey="k")
    answer = kinesis.get_records(ShardIterator=answer["NextShardIterator"])
    assert [r["Data"] for r in answer["Records"]] == [b"new"]
    # The LATEST iterator itself, taken before the put, also sees it.
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=position)["Records"]] == [b"new"]


def test_at_and_after_sequence_number(kinesis, filled_shard):
    stream, shard, answers = filled_shard
    sequence = answers[4]["SequenceNumber"]
    at = read_shard(kinesis, stream, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=sequence)
    assert [r["Data"] for r in at] == [f"r{i}".encode() for i in range(4, 10)]
    after = read_shard(
        kinesis, stream, shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=sequence
    )
    assert [r["Data"] for r in after] == [f"r{i}".encode() for i in range(5, 10)]
    last = answers[-1]["SequenceNumber"]
    assert (
        read_shard(kinesis, stream, shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=last)
        == []
    )


def test_sequence_number_of_another_shard_is_refused(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 2)
    answer = kinesis.put_record(
        StreamName=unique_stream, Data=b"x", PartitionKey="k", ExplicitHashKey="0"
    )
    assert answer["ShardId"] == "shardId-000000000000"
    with pytest.raises(ClientError) as excinfo:
        iterator(
            kinesis,
            unique_stream,
            "shardId-000000000001",
            "AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=answer["SequenceNumber"],
        )
    assert excinfo.value.response["Error"]["Code"] == "InvalidArgumentException"


def test_at_timestamp(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 1)
    for i in range(3):
        kinesis.put_record(StreamName=unique_stream, Data=f"old{i}".encode(), PartitionKey="k")
    time.sleep(0.2)
    boundary = datetime.datetime.now(datetime.timezone.utc)
    time.sleep(0.2)
    for i in range(3):
        kinesis.put_record(StreamName=unique_stream, Data=f"new{i}".encode(), PartitionKey="k")
    shard = "shardId-000000000000"

    newer = read_shard(kinesis, unique_stream, shard, "AT_TIMESTAMP", Timestamp=boundary)
    assert [r["Data"] for r in newer] == [b"new0", b"new1", b"new2"]
    # A float epoch works as well (the SDK sends both as epoch seconds).
    older = read_shard(
        kinesis, unique_stream, shard, "AT_TIMESTAMP", Timestamp=time.time() - 3600
    )
    assert len(older) == 6
    # AT a record's own arrival time includes that record.
    first_new = newer[0]
    at_record = read_shard(
        kinesis,
        unique_stream,
        shard,
        "AT_TIMESTAMP",
        Timestamp=first_new["ApproximateArrivalTimestamp"],
    )
    assert at_record[0]["Data"] == b"new0"
    # A time in the future reads like LATEST.
    future = read_shard(
        kinesis, unique_stream, shard, "AT_TIMESTAMP", Timestamp=time.time() + 3600
    )
    assert future == []


def test_iterator_type_needs_its_arguments(kinesis, filled_shard):
    stream, shard, answers = filled_shard
    for kwargs in (
        {"ShardIteratorType": "AT_SEQUENCE_NUMBER"},
        {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER"},
        {"ShardIteratorType": "AT_TIMESTAMP"},
        {
            "ShardIteratorType": "TRIM_HORIZON",
            "StartingSequenceNumber": answers[0]["SequenceNumber"],
        },
    ):
        with pytest.raises(ClientError) as excinfo:
            kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, **kwargs)
        assert excinfo.value.response["Error"]["Code"] == "InvalidArgumentException", kwargs
    with pytest.raises(ClientError) as excinfo:
        kinesis.get_shard_iterator(
            StreamName=stream, ShardId="shardId-000000000009", ShardIteratorType="LATEST"
        )
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_tampered_iterator_is_refused(kinesis, filled_shard):
    stream, shard, _ = filled_shard
    position = iterator(kinesis, stream, shard)
    flipped = position[:-5] + ("A" if position[-5] != "A" else "B") + position[-4:]
    for bad in (flipped, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", position[: len(position) // 2]):
        with pytest.raises(ClientError) as excinfo:
            kinesis.get_records(ShardIterator=bad)
        assert excinfo.value.response["Error"]["Code"] == "InvalidArgumentException"
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # The genuine one still works.
    assert len(kinesis.get_records(ShardIterator=position)["Records"]) == 10


# ---------------------------------------------------------------------------- get records


def test_get_records_limit_and_chaining(kinesis, filled_shard):
    stream, shard, _ = filled_shard
    position = iterator(kinesis, stream, shard)
    pages = []
    for _ in range(6):
        answer = kinesis.get_records(ShardIterator=position, Limit=3)
        pages.append([r["Data"] for r in answer["Records"]])
        position = answer["NextShardIterator"]
        assert position
    assert pages == [
        [b"r0", b"r1", b"r2"],
        [b"r3", b"r4", b"r5"],
        [b"r6", b"r7", b"r8"],
        [b"r9"],
        [],
        [],
    ]
    # An iterator can be used again: it is a position, not a session.
    again = kinesis.get_records(ShardIterator=iterator(kinesis, stream, shard), Limit=1)
    assert [r["Data"] for r in again["Records"]] == [b"r0"]
    # After more puts, the open shard's last iterator continues.
    kinesis.put_record(StreamName=stream, Data=b"r10", PartitionKey="k")
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=position)["Records"]] == [
        b"r10"
    ]


def test_millis_behind_latest(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 1)
    kinesis.put_record(StreamName=unique_stream, Data=b"a", PartitionKey="k")
    time.sleep(0.5)
    kinesis.put_record(StreamName=unique_stream, Data=b"b", PartitionKey="k")
    position = iterator(kinesis, unique_stream, "shardId-000000000000")

    behind = kinesis.get_records(ShardIterator=position, Limit=1)
    assert [r["Data"] for r in behind["Records"]] == [b"a"]
    assert behind["MillisBehindLatest"] >= 300

    caught_up = kinesis.get_records(ShardIterator=behind["NextShardIterator"])
    assert [r["Data"] for r in caught_up["Records"]] == [b"b"]
    assert caught_up["MillisBehindLatest"] == 0


def test_approximate_arrival_timestamp(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 1)
    before = time.time()
    for i in range(5):
        kinesis.put_record(StreamName=unique_stream, Data=b"t", PartitionKey=str(i))
    after = time.time()
    records = read_shard(kinesis, unique_stream, "shardId-000000000000")
    stamps = [r["ApproximateArrivalTimestamp"] for r in records]
    assert all(isinstance(s, datetime.datetime) for s in stamps)
    seconds = [s.timestamp() for s in stamps]
    for value in seconds:
        assert before - 1.0 <= value <= after + 1.0
    assert seconds == sorted(seconds)


def test_sequence_numbers_increase_per_shard(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 2)
    last: dict[str, int] = {}
    for i in range(60):
        answer = kinesis.put_record(StreamName=unique_stream, Data=b"s", PartitionKey=f"k{i}")
        sequence = answer["SequenceNumber"]
        # The model's pattern for SequenceNumber: 0|([1-9]\d{0,128}).
        assert isinstance(sequence, str) and re.fullmatch(r"0|[1-9][0-9]{0,128}", sequence)
        value = int(sequence)
        assert value > last.get(answer["ShardId"], -1)
        last[answer["ShardId"]] = value
    # SequenceNumberForOrdering is accepted and the next number is still greater.
    previous = kinesis.put_record(StreamName=unique_stream, Data=b"o", PartitionKey="ordered")
    following = kinesis.put_record(
        StreamName=unique_stream,
        Data=b"o",
        PartitionKey="ordered",
        SequenceNumberForOrdering=previous["SequenceNumber"],
    )
    assert int(following["SequenceNumber"]) > int(previous["SequenceNumber"])
    # Reads give the same numbers, in order, within the shard's starting sequence number.
    shards = {s["ShardId"]: s for s in kinesis.list_shards(StreamName=unique_stream)["Shards"]}
    for shard_id, records in read_stream(kinesis, unique_stream).items():
        values = [int(r["SequenceNumber"]) for r in records]
        assert values == sorted(values) and len(set(values)) == len(values)
        start = int(shards[shard_id]["SequenceNumberRange"]["StartingSequenceNumber"])
        assert all(v >= start for v in values)


# ---------------------------------------------------------------------------- bytes


def test_exact_bytes_round_trip(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 1)
    payloads = [
        b"",
        b"\x00",
        b"\x00" * 1000,
        bytes(range(256)),
        bytes(range(256))[::-1] * 7,
        "ünïcödé ✓".encode(),
        b"\xff\xfe\x00\x01not utf-8\x80",
        os.urandom(65536),
        # The largest record: data plus partition key = 1 MiB.
        os.urandom(MIB - 1),
    ]
    answers = [
        kinesis.put_record(StreamName=unique_stream, Data=payload, PartitionKey="k")
        for payload in payloads
    ]
    batch = kinesis.put_records(
        StreamName=unique_stream,
        Records=[{"Data": p, "PartitionKey": "k"} for p in payloads[:-1]],
    )
    assert batch["FailedRecordCount"] == 0
    records = read_shard(kinesis, unique_stream, "shardId-000000000000")
    assert [r["Data"] for r in records] == payloads + payloads[:-1]
    assert [r["SequenceNumber"] for r in records[: len(payloads)]] == [
        a["SequenceNumber"] for a in answers
    ]


def test_partition_key_unicode_round_trip(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 1)
    keys = ["k", "ключ", "鍵" * 256, "emoji 🎉", "a/b\\c\"d'e"]
    for key in keys:
        kinesis.put_record(StreamName=unique_stream, Data=b"d", PartitionKey=key)
    records = read_shard(kinesis, unique_stream, "shardId-000000000000")
    assert [r["PartitionKey"] for r in records] == keys


# ---------------------------------------------------------------------------- concurrency


def test_many_producers_every_record_once_in_order(server, unique_stream):
    kinesis = server.client()
    create_stream(kinesis, unique_stream, 3)
    producers, per_producer = 8, 40
    acknowledged: dict[int, list[tuple[str, str]]] = {p: [] for p in range(producers)}
    errors = []

    def produce(producer: int) -> None:
        client = server.client()
        try:
            for i in range(per_producer):
                if i % 10 == 9:
                    answer = client.put_records(
                        StreamName=unique_stream,
                        Records=[
                            {"Data": f"{producer}:{i}:{j}".encode(), "PartitionKey": f"p{producer}"}
                            for j in range(5)
                        ],
                    )
                    assert answer["FailedRecordCount"] == 0
                    for result in answer["Records"]:
                        acknowledged[producer].append((result["ShardId"], result["SequenceNumber"]))
                else:
                    answer = client.put_record(
                        StreamName=unique_stream,
                        Data=f"{producer}:{i}:0".encode(),
                        PartitionKey=f"p{producer}",
                    )
                    acknowledged[producer].append((answer["ShardId"], answer["SequenceNumber"]))
        except Exception as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive()
    assert errors == []

    stored = read_stream(kinesis, unique_stream)
    seen = {}
    for shard_id, records in stored.items():
        for record in records:
            key = (shard_id, record["SequenceNumber"])
            assert key not in seen
            seen[key] = record
    expected_total = sum(len(a) for a in acknowledged.values())
    assert len(seen) == expected_total == producers * (per_producer - 4 + 4 * 5)
    for producer, acks in acknowledged.items():
        # One partition key per producer: one shard, in the order of the puts.
        assert len({shard for shard, _ in acks}) == 1
        data = [seen[ack]["Data"].decode() for ack in acks]
        assert all(d.startswith(f"{producer}:") for d in data)
        order = [tuple(int(x) for x in d.split(":")[1:]) for d in data]
        assert order == sorted(order)
        shard = acks[0][0]
        in_shard = [
            r["Data"].decode() for r in stored[shard] if r["PartitionKey"] == f"p{producer}"
        ]
        assert in_shard == data
