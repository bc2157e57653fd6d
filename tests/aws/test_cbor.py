"""The CBOR 1.1 protocol (`application/x-amz-cbor-1.1`), as the AWS SDK for Java speaks it:
Data as CBOR byte strings, timestamps as tag 1 with integer epoch milliseconds."""

from __future__ import annotations

import os
import struct
import time

import cbor2
import pytest

from strata_aws import CBOR_CONTENT_TYPE, cbor_call, create_stream

MIB = 1024 * 1024


# A strict reader that keeps every tag as a CBORTag: cbor2 itself would read tag 1 as epoch
# *seconds* and fail on the milliseconds the Java SDK expects, so the test must see the raw
# tag and number.
class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, count: int) -> bytes:
        if self.at + count > len(self.data):
            raise ValueError("truncated CBOR")
        chunk = self.data[self.at : self.at + count]
        self.at += count
        return chunk

    def argument(self, info: int) -> int | None:
        if info < 24:
            return info
        if info in (24, 25, 26, 27):
            size = 1 << (info - 24)
            return int.from_bytes(self.take(size), "big")
        if info == 31:
            return None
        raise ValueError(f"reserved additional information {info}")

    def item(self):
        initial = self.take(1)[0]
        major, info = initial >> 5, initial & 31
        if major == 7:
            return self.simple(info)
        length = self.argument(info)
        if major == 0:
            return length
        if major == 1:
            return -1 - length
        if major in (2, 3):
            if length is None:
                parts = []
                while self.data[self.at] != 0xFF:
                    parts.append(self.item())
                self.at += 1
                joined = b"".join(parts) if major == 2 else "".join(parts)
                return joined
            raw = self.take(length)
            return raw if major == 2 else raw.decode("utf-8")
        if major == 4:
            if length is None:
                items = []
                while self.data[self.at] != 0xFF:
                    items.append(self.item())
                self.at += 1
                return items
            return [self.item() for _ in range(length)]
        if major == 5:
            result = {}
            if length is None:
                while self.data[self.at] != 0xFF:
                    key = self.item()
                    result[key] = self.item()
                self.at += 1
                return result
            for _ in range(length):
                key = self.item()
                result[key] = self.item()
            return result
        if major == 6:
            return cbor2.CBORTag(length, self.item())
        raise ValueError(f"major type {major}")

    def simple(self, info: int):
        if info == 20:
            return False
        if info == 21:
            return True
        if info in (22, 23):
            return None
        if info == 25:
            return struct.unpack(">e", self.take(2))[0]
        if info == 26:
            return struct.unpack(">f", self.take(4))[0]
        if info == 27:
            return struct.unpack(">d", self.take(8))[0]
        raise ValueError(f"simple value {info}")


def read_cbor(data: bytes):
    reader = _Reader(data)
    value = reader.item()
    assert reader.at == len(data), "trailing bytes after the CBOR item"
    return value


def ok(response):
    assert response.status == 200, response
    assert response.headers["content-type"] == CBOR_CONTENT_TYPE
    return read_cbor(response.body)


def assert_ms_timestamp(value, low_s: float, high_s: float) -> int:
    """Tag 1 around an integer count of milliseconds within [low_s, high_s] (±2 s)."""
    assert isinstance(value, cbor2.CBORTag), value
    assert value.tag == 1
    assert isinstance(value.value, int) and not isinstance(value.value, bool), value.value
    assert (low_s - 2) * 1000 <= value.value <= (high_s + 2) * 1000, value.value
    return value.value


def test_put_and_get_records_in_cbor(server, kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 1)
    payloads = [b"", b"\x00", b"\x00\x01\x02\xff" * 100, os.urandom(4096), bytes(range(256))]

    before = time.time()
    answers = []
    for payload in payloads:
        response = cbor_call(
            server.endpoint,
            "PutRecord",
            {"StreamName": unique_stream, "Data": payload, "PartitionKey": "cbor-key"},
        )
        assert response.status == 200, response
        assert response.headers["content-type"] == CBOR_CONTENT_TYPE
        # cbor2 decodes answers without timestamps as they are.
        answer = cbor2.loads(response.body)
        assert answer["ShardId"] == "shardId-000000000000"
        assert isinstance(answer["SequenceNumber"], str) and answer["SequenceNumber"].isdigit()
        answers.append(answer)
    batch = ok(
        cbor_call(
            server.endpoint,
            "PutRecords",
            {
                "StreamName": unique_stream,
                "Records": [{"Data": p, "PartitionKey": "cbor-key"} for p in payloads],
            },
        )
    )
    after = time.time()
    assert batch["FailedRecordCount"] == 0
    assert len(batch["Records"]) == len(payloads)

    iterator = ok(
        cbor_call(
            server.endpoint,
            "GetShardIterator",
            {
                "StreamName": unique_stream,
                "ShardId": "shardId-000000000000",
                "ShardIteratorType": "TRIM_HORIZON",
            },
        )
    )["ShardIterator"]
    assert isinstance(iterator, str)

    page = ok(cbor_call(server.endpoint, "GetRecords", {"ShardIterator": iterator, "Limit": 100}))
    records = page["Records"]
    assert [r["Data"] for r in records] == payloads + payloads
    for record in records:
        assert isinstance(record["Data"], bytes)  # a CBOR byte string, not base64 text
        assert record["PartitionKey"] == "cbor-key"
        assert_ms_timestamp(record["ApproximateArrivalTimestamp"], before, after)
    assert [r["SequenceNumber"] for r in records[: len(payloads)]] == [
        a["SequenceNumber"] for a in answers
    ]
    assert page["MillisBehindLatest"] == 0
    assert isinstance(page["NextShardIterator"], str)

    # The same records through the JSON protocol (boto3): the same bytes.
    json_iterator = kinesis.get_shard_iterator(
        StreamName=unique_stream, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=json_iterator)["Records"]] == (
        payloads + payloads
    )


def test_large_binary_record_in_cbor(server, kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 1)
    payload = os.urandom(MIB - 1)
    response = cbor_call(
        server.endpoint,
        "PutRecord",
        {"StreamName": unique_stream, "Data": payload, "PartitionKey": "k"},
    )
    assert response.status == 200, response
    iterator = kinesis.get_shard_iterator(
        StreamName=unique_stream, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    page = ok(cbor_call(server.endpoint, "GetRecords", {"ShardIterator": iterator}))
    assert [r["Data"] for r in page["Records"]] == [payload]


def test_json_put_cbor_get(server, kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 1)
    kinesis.put_record(StreamName=unique_stream, Data=b"\x00from json\xff", PartitionKey="k")
    iterator = kinesis.get_shard_iterator(
        StreamName=unique_stream, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    page = ok(cbor_call(server.endpoint, "GetRecords", {"ShardIterator": iterator}))
    assert [r["Data"] for r in page["Records"]] == [b"\x00from json\xff"]


def test_at_timestamp_in_cbor_milliseconds(server, kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 1)
    kinesis.put_record(StreamName=unique_stream, Data=b"old", PartitionKey="k")
    time.sleep(0.2)
    boundary_ms = int(time.time() * 1000)
    time.sleep(0.2)
    kinesis.put_record(StreamName=unique_stream, Data=b"new", PartitionKey="k")

    def read_at(timestamp):
        iterator = ok(
            cbor_call(
                server.endpoint,
                "GetShardIterator",
                {
                    "StreamName": unique_stream,
                    "ShardId": "shardId-000000000000",
                    "ShardIteratorType": "AT_TIMESTAMP",
                    "Timestamp": timestamp,
                },
            )
        )["ShardIterator"]
        page = ok(cbor_call(server.endpoint, "GetRecords", {"ShardIterator": iterator}))
        return [r["Data"] for r in page["Records"]]

    # The Java SDK's form: tag 1 around integer milliseconds.
    assert read_at(cbor2.CBORTag(1, boundary_ms)) == [b"new"]
    assert read_at(cbor2.CBORTag(1, boundary_ms - 3_600_000)) == [b"old", b"new"]
    # A float is seconds.
    assert read_at(cbor2.CBORTag(1, boundary_ms / 1000.0)) == [b"new"]


def test_describe_stream_in_cbor(server, kinesis, unique_stream):
    before = time.time()
    response = cbor_call(
        server.endpoint, "CreateStream", {"StreamName": unique_stream, "ShardCount": 2}
    )
    assert response.status == 200, response
    after = time.time()
    description = ok(cbor_call(server.endpoint, "DescribeStream", {"StreamName": unique_stream}))[
        "StreamDescription"
    ]
    assert description["StreamName"] == unique_stream
    assert description["StreamStatus"] == "ACTIVE"
    assert len(description["Shards"]) == 2
    assert description["HasMoreShards"] is False
    assert_ms_timestamp(description["StreamCreationTimestamp"], before, after)
    summary = ok(
        cbor_call(server.endpoint, "DescribeStreamSummary", {"StreamName": unique_stream})
    )["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 2
    assert_ms_timestamp(summary["StreamCreationTimestamp"], before, after)
    listed = ok(cbor_call(server.endpoint, "ListStreams", {}))
    assert listed["StreamNames"] == [unique_stream]
    assert_ms_timestamp(listed["StreamSummaries"][0]["StreamCreationTimestamp"], before, after)


@pytest.mark.parametrize(
    ("operation", "payload", "error_type"),
    [
        ("DescribeStream", {"StreamName": "missing"}, "ResourceNotFoundException"),
        (
            "PutRecord",
            {"StreamName": "missing", "Data": b"x", "PartitionKey": "k"},
            "ResourceNotFoundException",
        ),
        ("CreateStream", {"ShardCount": 1}, "ValidationException"),
        ("CreateStream", {"StreamName": "x", "ShardCount": "one"}, "SerializationException"),
        ("GetRecords", {"ShardIterator": "AAAAAAAAAAAAAAAAAAAAAAAA"}, "InvalidArgumentException"),
        ("Frobnicate", {}, "UnknownOperationException"),
    ],
)
def test_errors_are_cbor_maps(server, operation, payload, error_type):
    response = cbor_call(server.endpoint, operation, payload)
    assert response.status == 400, response
    assert response.headers["content-type"] == CBOR_CONTENT_TYPE
    error = cbor2.loads(response.body)
    assert isinstance(error, dict)
    assert error["__type"] == error_type
    assert isinstance(error.get("message", error.get("Message")), str)


def test_data_of_the_wrong_type_is_refused_in_cbor(server, kinesis, unique_stream):
    """In CBOR, Data is a byte string; a number is a SerializationException."""
    create_stream(kinesis, unique_stream, 1)
    response = cbor_call(
        server.endpoint,
        "PutRecord",
        {"StreamName": unique_stream, "Data": 12345, "PartitionKey": "k"},
    )
    assert response.status == 400, response
    assert cbor2.loads(response.body)["__type"] == "SerializationException"
