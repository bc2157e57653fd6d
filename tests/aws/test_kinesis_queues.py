"""Kinesis queues over streams (CreateQueue … RestoreDeadLetterQueueRecords) with unmodified
boto3 against `strata serve`: lifecycle, attributes and defaults, tags, deliveries of a
multi-shard stream's own records, long polls woken by puts and by the clock, visibility
expiry and redelivery, dead-lettering after MaxReceiveCount and restore, acknowledgements
surviving kill -9, children of a split made after the queue (over the native protocol, as
the Kinesis API refuses SplitShard on ON_DEMAND streams) and before it, the stream rules and
bad input.

Visibility timeouts end by the manual clock (`server.clock = "manual"`), never by sleeping."""

from __future__ import annotations

import concurrent.futures
import json
import re
import socket
import struct
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

from strata_aws import cbor_call, create_stream, raw_call

MANUAL = '[server]\nclock = "manual"\n'
MANUAL_ALWAYS = MANUAL + '[storage]\nfsync = "always"\n'


def clock(server, advance_ms: int) -> int:
    request = urllib.request.Request(
        f"{server.endpoint}/_strata/clock?advance_ms={advance_ms}", method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["now_ms"]


def on_demand(client, name: str, shards: int = 2) -> str:
    """An ON_DEMAND stream of `shards` shards; returns its ARN."""
    create_stream(
        client, name, shard_count=shards, StreamModeDetails={"StreamMode": "ON_DEMAND"}
    )
    return client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
        "StreamARN"
    ]


def summary(client, name: str) -> dict:
    return client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]


def new_queue(client, name: str, stream_arn: str, start: str = "TRIM_HORIZON", **kwargs) -> str:
    config = {"StreamARN": stream_arn, "StartingPosition": {"Type": start}}
    described = client.create_queue(
        QueueName=name, StreamConfigurationList=[config], **kwargs
    )["QueueDescription"]
    return described["QueueARN"]


def native_split(server, stream: str, shard: int, new_starting_hash_key: int) -> None:
    """SplitShard over the native protocol (protocol/README.md), which splits ON_DEMAND
    streams too: there the Kinesis API refuses SplitShard, as AWS does, and resharding is the
    service's own business."""

    def frame(op: int, request_id: int, body: bytes) -> bytes:
        return struct.pack("<IBHI", 7 + len(body), 0, op, request_id) + body

    def read_frame(connection) -> tuple[int, bytes]:
        def exactly(count: int) -> bytes:
            data = b""
            while len(data) < count:
                chunk = connection.recv(count - len(data))
                assert chunk, "the server closed the connection"
                data += chunk
            return data

        (length,) = struct.unpack("<I", exactly(4))
        _kind, op, _request_id = struct.unpack("<BHI", exactly(7))
        return op, exactly(length - 7)

    def string(text: str) -> bytes:
        return struct.pack("<H", len(text)) + text.encode()

    host, port = server.native_address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(frame(1, 1, struct.pack("<HH", 1, 2) + string("queues-test")))
        op, _ = read_frame(connection)
        assert op == 1, "Hello answered"
        hash_key = new_starting_hash_key.to_bytes(16, "little")
        connection.sendall(frame(10, 2, string(stream) + struct.pack("<I", shard) + hash_key))
        op, body = read_frame(connection)
        assert op == 10, f"SplitShard failed: {body!r}"


def error_code(info) -> str:
    return info.value.response["Error"]["Code"]


def receive(client, arn: str, **kwargs) -> list[dict]:
    kwargs.setdefault("WaitTimeSeconds", 1)
    return client.receive_queue_records(QueueARN=arn, **kwargs)["QueueRecords"]


def entries(records: list[dict]) -> list[dict]:
    return [{"ReceiptHandle": record["ReceiptHandle"]} for record in records]


def test_lifecycle_defaults_listing_and_updates(server):
    kinesis = server.client("kinesis")
    stream_arn = on_demand(kinesis, "orders")
    described = kinesis.create_queue(
        QueueName="workers", StreamConfigurationList=[{"StreamARN": stream_arn}]
    )["QueueDescription"]
    arn = described["QueueARN"]
    assert re.fullmatch(r"arn:aws:kinesis:us-east-1:000000000000:queue/[a-z0-9]+", arn)
    assert "workers" not in arn
    assert described["QueueName"] == "workers"
    assert described["QueueStatus"] == "ACTIVE"
    assert described["QueueAttributes"] == {
        "VisibilityTimeoutSeconds": 30,
        "DeadLetterConfiguration": {"TargetType": "BUILT_IN", "MaxReceiveCount": 6},
    }
    (config,) = described["StreamConfigurationList"]
    assert config["StreamARN"] == stream_arn
    assert config["StartingPosition"]["Type"] == "LATEST"
    assert "Timestamp" in config["StartingPosition"]
    assert kinesis.describe_queue(QueueARN=arn)["QueueDescription"] == described

    other = new_queue(
        kinesis,
        "auditors",
        stream_arn,
        QueueAttributes={
            "VisibilityTimeoutSeconds": 120,
            "DeadLetterConfiguration": {"TargetType": "NONE"},
        },
    )
    listed = kinesis.list_queues()["QueueSummaries"]
    assert [q["QueueName"] for q in listed] == ["auditors", "workers"]
    created = kinesis.describe_stream_summary(StreamName="orders")[
        "StreamDescriptionSummary"
    ]["StreamCreationTimestamp"]
    assert listed[1]["Streams"] == [
        {"StreamARN": stream_arn, "StreamCreationTimestamp": created}
    ]
    page = kinesis.list_queues(MaxResults=1)
    assert [q["QueueName"] for q in page["QueueSummaries"]] == ["auditors"]
    rest = kinesis.list_queues(MaxResults=1, NextToken=page["NextToken"])
    assert [q["QueueName"] for q in rest["QueueSummaries"]] == ["workers"]
    assert "NextToken" not in rest
    paged = [
        q["QueueName"]
        for p in kinesis.get_paginator("list_queues").paginate(PaginationConfig={"PageSize": 1})
        for q in p["QueueSummaries"]
    ]
    assert paged == ["auditors", "workers"]
    assert kinesis.list_queues(StreamFilter=[{"StreamARN": stream_arn}])["QueueSummaries"]
    elsewhere = on_demand(kinesis, "elsewhere", shards=1)
    assert kinesis.list_queues(StreamFilter=[{"StreamARN": elsewhere}])["QueueSummaries"] == []

    # Attributes not given are kept.
    updated = kinesis.update_queue(
        QueueARN=other, QueueAttributes={"VisibilityTimeoutSeconds": 5}
    )["QueueDescription"]
    assert updated["QueueAttributes"] == {
        "VisibilityTimeoutSeconds": 5,
        "DeadLetterConfiguration": {"TargetType": "NONE"},
    }
    updated = kinesis.update_queue(
        QueueARN=other,
        QueueAttributes={
            "DeadLetterConfiguration": {"TargetType": "BUILT_IN", "MaxReceiveCount": 3}
        },
    )["QueueDescription"]
    assert updated["QueueAttributes"]["VisibilityTimeoutSeconds"] == 5
    assert updated["QueueAttributes"]["DeadLetterConfiguration"]["MaxReceiveCount"] == 3

    kinesis.delete_queue(QueueARN=other)
    with pytest.raises(ClientError) as info:
        kinesis.describe_queue(QueueARN=other)
    assert error_code(info) == "ResourceNotFoundException"
    assert [q["QueueName"] for q in kinesis.list_queues()["QueueSummaries"]] == ["workers"]
    # The name is free again; the new queue has another ARN.
    again = new_queue(kinesis, "auditors", stream_arn)
    assert again != other


def test_tags_of_queues(server):
    kinesis = server.client("kinesis")
    stream_arn = on_demand(kinesis, "tagged", shards=1)
    arn = new_queue(kinesis, "q", stream_arn, Tags={"team": "data"})
    tags = lambda: kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"]  # noqa: E731
    assert tags() == [{"Key": "team", "Value": "data"}]
    kinesis.tag_resource(ResourceARN=arn, Tags={"env": "test", "team": "ops"})
    assert tags() == [{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "ops"}]
    kinesis.untag_resource(ResourceARN=arn, TagKeys=["team", "absent"])
    assert tags() == [{"Key": "env", "Value": "test"}]
    # The stream's tags are its own.
    assert kinesis.list_tags_for_resource(ResourceARN=stream_arn)["Tags"] == []
    missing = arn[: arn.rindex("/") + 1] + "0" * 32
    with pytest.raises(ClientError) as info:
        kinesis.tag_resource(ResourceARN=missing, Tags={"a": "b"})
    assert error_code(info) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as info:
        kinesis.tag_resource(ResourceARN=arn, Tags={f"k{i}": "v" for i in range(60)})
    assert error_code(info) == "InvalidArgumentException"


def test_records_of_every_shard_are_delivered_once_acknowledged(server):
    kinesis = server.client("kinesis")
    stream_arn = on_demand(kinesis, "clicks", shards=4)
    arn = new_queue(kinesis, "q", stream_arn)
    put = kinesis.put_records(
        StreamName="clicks",
        Records=[{"PartitionKey": f"key-{i}", "Data": f"record {i}".encode()} for i in range(8)],
    )["Records"]
    assert len({record["ShardId"] for record in put}) >= 2
    sequence = {f"key-{i}": record["SequenceNumber"] for i, record in enumerate(put)}
    got = receive(kinesis, arn, Limit=10)
    assert sorted(r["PartitionKey"] for r in got) == sorted(sequence)
    for record in got:
        assert record["RecordId"] == sequence[record["PartitionKey"]]
        assert re.fullmatch(r"[a-z0-9]+", record["RecordId"])
        assert record["Data"] == f"record {record['PartitionKey'][4:]}".encode()
        assert record["ReceiveCount"] == 1
        assert record["FirstReceiveTimestamp"] >= record["ApproximateArrivalTimestamp"]
    assert receive(kinesis, arn) == []

    # A limit, and a second queue on the same records: one record, many views.
    other = new_queue(kinesis, "other", stream_arn)
    assert len(receive(kinesis, other, Limit=3)) == 3

    done = kinesis.acknowledge_queue_records(QueueARN=arn, Entries=entries(got[:10]))
    assert len(done["Successful"]) == 8 and done["Failed"] == []
    again = kinesis.acknowledge_queue_records(
        QueueARN=arn, Entries=entries(got[:1]) + [{"ReceiptHandle": "forged"}]
    )
    assert again["Successful"] == []
    assert [f["ErrorCode"] for f in again["Failed"]] == [
        "ResourceNotFoundException",
        "InvalidArgumentException",
    ]
    assert all(f["ErrorMessage"] for f in again["Failed"])
    # The stream still has every record.
    shard = put[0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName="clicks", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert kinesis.get_records(ShardIterator=iterator)["Records"]

    # JSON and CBOR bodies take the same shapes.
    raw = raw_call(server.endpoint, "ReceiveQueueRecords", {"QueueARN": other, "Limit": 1})
    assert raw.status == 200 and len(raw.json()["QueueRecords"]) == 1
    cbor = cbor_call(
        server.endpoint,
        "AcknowledgeQueueRecords",
        {"QueueARN": other, "Entries": [{"ReceiptHandle": "forged"}]},
    )
    assert cbor.status == 200
    assert cbor.cbor()["Failed"][0]["ErrorCode"] == "InvalidArgumentException"


def test_a_long_poll_returns_on_a_put(server):
    kinesis = server.client("kinesis", read_timeout=40)
    stream_arn = on_demand(kinesis, "polled")
    arn = new_queue(kinesis, "q", stream_arn, start="LATEST")
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        waiting = pool.submit(receive, kinesis, arn, WaitTimeSeconds=20)
        time.sleep(0.5)
        kinesis.put_record(StreamName="polled", PartitionKey="k", Data=b"wake up")
        got = waiting.result(timeout=15)
    assert [r["Data"] for r in got] == [b"wake up"]
    assert time.monotonic() - started < 10


def test_visibility_expiry_dead_letters_and_restore(start_server):
    server = start_server(config_toml=MANUAL)
    kinesis = server.client("kinesis", read_timeout=40)
    stream_arn = on_demand(kinesis, "jobs", shards=1)
    arn = new_queue(
        kinesis,
        "q",
        stream_arn,
        QueueAttributes={
            "VisibilityTimeoutSeconds": 60,
            "DeadLetterConfiguration": {"TargetType": "BUILT_IN", "MaxReceiveCount": 2},
        },
    )
    kinesis.put_record(StreamName="jobs", PartitionKey="k", Data=b"poison")
    (first,) = receive(kinesis, arn)
    assert first["ReceiveCount"] == 1
    assert receive(kinesis, arn) == []

    # The clock ends the visibility, and wakes a waiting long poll.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(receive, kinesis, arn, WaitTimeSeconds=20)
        time.sleep(0.5)
        clock(server, 60_000)
        (second,) = waiting.result(timeout=15)
    assert second["ReceiveCount"] == 2
    assert second["RecordId"] == first["RecordId"]
    assert second["FirstReceiveTimestamp"] == first["FirstReceiveTimestamp"]
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    stale = kinesis.update_queue_records_visibility(
        QueueARN=arn,
        Entries=[{"ReceiptHandle": first["ReceiptHandle"], "VisibilityTimeoutSeconds": 0}],
    )
    assert [f["ErrorCode"] for f in stale["Failed"]] == ["InvalidArgumentException"]
    extended = kinesis.update_queue_records_visibility(
        QueueARN=arn,
        Entries=[{"ReceiptHandle": second["ReceiptHandle"], "VisibilityTimeoutSeconds": 600}],
    )
    assert len(extended["Successful"]) == 1
    clock(server, 60_000)
    assert receive(kinesis, arn) == []
    clock(server, 540_000)

    # Received MaxReceiveCount times without acknowledgement: a dead-letter record.
    assert receive(kinesis, arn) == []
    (dead,) = kinesis.receive_dead_letter_queue_records(QueueARN=arn, WaitTimeSeconds=1)[
        "QueueRecords"
    ]
    assert dead["RecordId"] == first["RecordId"] and dead["Data"] == b"poison"
    wrong = kinesis.acknowledge_queue_records(QueueARN=arn, Entries=entries([dead]))
    assert [f["ErrorCode"] for f in wrong["Failed"]] == ["InvalidArgumentException"]
    shown = kinesis.update_dead_letter_queue_records_visibility(
        QueueARN=arn,
        Entries=[{"ReceiptHandle": dead["ReceiptHandle"], "VisibilityTimeoutSeconds": 0}],
    )
    assert len(shown["Successful"]) == 1
    (dead,) = kinesis.receive_dead_letter_queue_records(QueueARN=arn, WaitTimeSeconds=1)[
        "QueueRecords"
    ]
    restored = kinesis.restore_dead_letter_queue_records(QueueARN=arn, Entries=entries([dead]))
    assert len(restored["Successful"]) == 1 and restored["Failed"] == []

    # Restored: received again with its count reset, dead again after two more receives.
    (back,) = receive(kinesis, arn)
    assert back["ReceiveCount"] == 1 and back["RecordId"] == first["RecordId"]
    clock(server, 60_000)
    assert receive(kinesis, arn)[0]["ReceiveCount"] == 2
    clock(server, 60_000)
    (dead,) = kinesis.receive_dead_letter_queue_records(QueueARN=arn, WaitTimeSeconds=1)[
        "QueueRecords"
    ]
    acked = kinesis.acknowledge_dead_letter_queue_records(QueueARN=arn, Entries=entries([dead]))
    assert len(acked["Successful"]) == 1
    clock(server, 3_600_000)
    assert receive(kinesis, arn) == []
    assert (
        kinesis.receive_dead_letter_queue_records(QueueARN=arn, WaitTimeSeconds=1)["QueueRecords"]
        == []
    )

    # Without dead-letter handling a record comes back however often it was received.
    kinesis.update_queue(
        QueueARN=arn, QueueAttributes={"DeadLetterConfiguration": {"TargetType": "NONE"}}
    )
    kinesis.put_record(StreamName="jobs", PartitionKey="k", Data=b"again and again")
    for count in range(1, 9):
        (record,) = receive(kinesis, arn)
        assert record["ReceiveCount"] == count
        clock(server, 60_000)


def test_acknowledgements_survive_kill9_and_in_flight_records_return(start_server):
    server = start_server(config_toml=MANUAL_ALWAYS)
    kinesis = server.client("kinesis")
    stream_arn = on_demand(kinesis, "durable")
    arn = new_queue(kinesis, "q", stream_arn)
    kinesis.put_records(
        StreamName="durable",
        Records=[{"PartitionKey": f"k{i}", "Data": f"{i}".encode()} for i in range(6)],
    )
    got = receive(kinesis, arn, Limit=10)
    assert len(got) == 6
    acked = kinesis.acknowledge_queue_records(QueueARN=arn, Entries=entries(got[:3]))
    assert len(acked["Successful"]) == 3
    server.kill9()
    server.restart()
    kinesis = server.client("kinesis")
    assert kinesis.describe_queue(QueueARN=arn)["QueueDescription"]["QueueName"] == "q"
    # Still in flight after the restart; back once their visibility ends.
    assert receive(kinesis, arn) == []
    clock(server, 30_000)
    back = receive(kinesis, arn, Limit=10)
    assert sorted(r["PartitionKey"] for r in back) == sorted(r["PartitionKey"] for r in got[3:])
    assert all(r["ReceiveCount"] == 2 for r in back)
    # A handle issued before the crash for a record still in flight... was superseded.
    stale = kinesis.acknowledge_queue_records(QueueARN=arn, Entries=entries(got[3:4]))
    assert [f["ErrorCode"] for f in stale["Failed"]] == ["InvalidArgumentException"]


def test_children_of_a_split_are_delivered(server):
    kinesis = server.client("kinesis")
    stream_arn = on_demand(kinesis, "resharded", shards=1)
    arn = new_queue(kinesis, "q", stream_arn)
    kinesis.put_record(StreamName="resharded", PartitionKey="p", Data=b"parent")
    # Split after the queue was made: the children are found and read from their start.
    native_split(server, "resharded", 0, 2**127)
    shards = kinesis.list_shards(StreamName="resharded")["Shards"]
    assert len(shards) == 3
    keys = [f"child-{i}" for i in range(16)]
    put = kinesis.put_records(
        StreamName="resharded", Records=[{"PartitionKey": k, "Data": k.encode()} for k in keys]
    )["Records"]
    assert {record["ShardId"] for record in put} == {
        "shardId-000000000001",
        "shardId-000000000002",
    }
    seen = []
    while True:
        got = receive(kinesis, arn, Limit=10)
        if not got:
            break
        seen.extend(r["Data"] for r in got)
        kinesis.acknowledge_queue_records(QueueARN=arn, Entries=entries(got))
    assert sorted(seen) == sorted([b"parent"] + [k.encode() for k in keys])

    # A stream resharded while PROVISIONED, then switched to ON_DEMAND: every shard of its
    # lineage is read from TRIM_HORIZON.
    create_stream(kinesis, "provisioned-first", shard_count=1)
    kinesis.put_record(StreamName="provisioned-first", PartitionKey="p", Data=b"before")
    kinesis.split_shard(
        StreamName="provisioned-first",
        ShardToSplit="shardId-000000000000",
        NewStartingHashKey=str(2**127),
    )
    kinesis.put_records(
        StreamName="provisioned-first",
        Records=[{"PartitionKey": k, "Data": k.encode()} for k in keys],
    )
    other_arn = kinesis.describe_stream_summary(StreamName="provisioned-first")[
        "StreamDescriptionSummary"
    ]["StreamARN"]
    kinesis.update_stream_mode(StreamARN=other_arn, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    other = new_queue(kinesis, "other", other_arn)
    seen = []
    while got := receive(kinesis, other, Limit=10):
        seen.extend(r["Data"] for r in got)
        kinesis.acknowledge_queue_records(QueueARN=other, Entries=entries(got))
    assert sorted(seen) == sorted([b"before"] + [k.encode() for k in keys])


def test_streams_with_queues(server):
    kinesis = server.client("kinesis")
    create_stream(kinesis, "provisioned", shard_count=1)
    provisioned = kinesis.describe_stream_summary(StreamName="provisioned")[
        "StreamDescriptionSummary"
    ]["StreamARN"]
    with pytest.raises(ClientError) as info:
        new_queue(kinesis, "q", provisioned)
    assert error_code(info) == "InvalidArgumentException"
    assert "ON_DEMAND" in info.value.response["Error"]["Message"]

    stream_arn = on_demand(kinesis, "busy", shards=1)
    arn = new_queue(kinesis, "q", stream_arn)
    with pytest.raises(ClientError) as info:
        new_queue(kinesis, "q", stream_arn)
    assert error_code(info) == "ResourceInUseException"
    for enforce in (False, True):
        with pytest.raises(ClientError) as info:
            kinesis.delete_stream(StreamName="busy", EnforceConsumerDeletion=enforce)
        assert error_code(info) == "ResourceInUseException"
    with pytest.raises(ClientError) as info:
        kinesis.update_stream_mode(
            StreamARN=stream_arn, StreamModeDetails={"StreamMode": "PROVISIONED"}
        )
    assert error_code(info) == "ResourceInUseException"
    # A queue counts as a registered consumer, in ConsumerCount too: 19 more fill the 20.
    assert summary(kinesis, "busy")["ConsumerCount"] == 1
    for i in range(19):
        kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName=f"c{i}")
    with pytest.raises(ClientError) as info:
        kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName="one-too-many")
    assert error_code(info) == "LimitExceededException"
    with pytest.raises(ClientError) as info:
        new_queue(kinesis, "q2", stream_arn)
    assert error_code(info) == "LimitExceededException"
    assert summary(kinesis, "busy")["ConsumerCount"] == 20

    kinesis.delete_queue(QueueARN=arn)
    assert summary(kinesis, "busy")["ConsumerCount"] == 19
    kinesis.delete_stream(StreamName="busy", EnforceConsumerDeletion=True)


def test_bad_input_gets_the_model_exceptions(server):
    kinesis = server.client("kinesis", parameter_validation=False)
    stream_arn = on_demand(kinesis, "checked", shards=1)
    arn = new_queue(kinesis, "q", stream_arn)
    missing_arn = arn[: arn.rindex("/") + 1] + "f" * 32

    def code(call, **kwargs) -> str:
        with pytest.raises(ClientError) as info:
            call(**kwargs)
        return error_code(info)

    def create(**overrides) -> str:
        kwargs = {
            "QueueName": "x",
            "StreamConfigurationList": [{"StreamARN": stream_arn}],
        }
        kwargs.update(overrides)
        return code(kinesis.create_queue, **kwargs)

    validation = "ValidationException"
    assert create(QueueName="bad name!") == validation
    assert create(QueueName="n" * 129) == validation
    assert create(StreamConfigurationList=[]) == validation
    two = [{"StreamARN": stream_arn}, {"StreamARN": stream_arn}]
    assert create(StreamConfigurationList=two) == validation
    for position in (
        {"Type": "TRIM_HORIZON", "Timestamp": 1_700_000_000},
        {"Type": "AT_TIMESTAMP"},
        {"Type": "SOMEWHERE"},
    ):
        config = [{"StreamARN": stream_arn, "StartingPosition": position}]
        assert create(StreamConfigurationList=config) == validation
    for attributes in (
        {"VisibilityTimeoutSeconds": 43201},
        {"VisibilityTimeoutSeconds": -1},
        {"DeadLetterConfiguration": {"TargetType": "BUILT_IN"}},
        {"DeadLetterConfiguration": {"TargetType": "BUILT_IN", "MaxReceiveCount": 0}},
        {"DeadLetterConfiguration": {"TargetType": "BUILT_IN", "MaxReceiveCount": 1001}},
        {"DeadLetterConfiguration": {"TargetType": "ELSEWHERE", "MaxReceiveCount": 2}},
    ):
        assert create(QueueAttributes=attributes) == validation
    assert create(StreamConfigurationList=[{"StreamARN": "not an arn"}]) == validation
    assert create(Tags={}) == validation
    assert create(Tags={"k" * 129: "v"}) == validation
    assert create(Tags={"bad\u0000key": "v"}) == "InvalidArgumentException"
    gone = stream_arn.replace("stream/checked", "stream/absent")
    assert create(StreamConfigurationList=[{"StreamARN": gone}]) == "ResourceNotFoundException"
    at = {"Type": "AT_TIMESTAMP", "Timestamp": 1_700_000_000}
    made = kinesis.create_queue(
        QueueName="at", StreamConfigurationList=[{"StreamARN": stream_arn, "StartingPosition": at}]
    )["QueueDescription"]
    assert made["StreamConfigurationList"][0]["StartingPosition"]["Type"] == "AT_TIMESTAMP"

    assert code(kinesis.describe_queue, QueueARN="nope") == validation
    assert code(kinesis.describe_queue, QueueARN=stream_arn) == validation
    assert code(kinesis.describe_queue, QueueARN=missing_arn) == "ResourceNotFoundException"
    assert code(kinesis.delete_queue, QueueARN=missing_arn) == "ResourceNotFoundException"
    assert (
        code(kinesis.update_queue, QueueARN=missing_arn, QueueAttributes={})
        == "ResourceNotFoundException"
    )
    for bad in ({"Limit": 0}, {"Limit": 11}, {"WaitTimeSeconds": 0}, {"WaitTimeSeconds": 21}):
        assert code(kinesis.receive_queue_records, QueueARN=arn, **bad) == validation
    assert (
        code(kinesis.receive_dead_letter_queue_records, QueueARN=arn, VisibilityTimeoutSeconds=-1)
        == validation
    )
    assert code(kinesis.receive_queue_records, QueueARN=missing_arn) == "ResourceNotFoundException"
    assert code(kinesis.acknowledge_queue_records, QueueARN=arn, Entries=[]) == validation
    eleven = [{"ReceiptHandle": f"h{i}"} for i in range(11)]
    assert code(kinesis.acknowledge_queue_records, QueueARN=arn, Entries=eleven) == validation
    assert code(kinesis.restore_dead_letter_queue_records, QueueARN=arn, Entries=[]) == validation
    assert (
        code(
            kinesis.update_queue_records_visibility,
            QueueARN=arn,
            Entries=[{"ReceiptHandle": "h", "VisibilityTimeoutSeconds": 43201}],
        )
        == validation
    )
    assert (
        code(kinesis.acknowledge_dead_letter_queue_records, QueueARN=missing_arn, Entries=eleven[:1])
        == "ResourceNotFoundException"
    )
    assert code(kinesis.list_queues, MaxResults=0) == validation
    assert code(kinesis.list_queues, NextToken="not a token") == "InvalidArgumentException"
    # A missing required member, over the raw protocol.
    raw = raw_call(server.endpoint, "DescribeQueue", {})
    assert raw.status == 400 and raw.json()["__type"] == validation
    # Handles of one queue mean nothing to another.
    kinesis.put_record(StreamName="checked", PartitionKey="k", Data=b"x")
    (record,) = receive(kinesis, made["QueueARN"])
    failed = kinesis.acknowledge_queue_records(QueueARN=arn, Entries=entries([record]))
    assert [f["ErrorCode"] for f in failed["Failed"]] == ["InvalidArgumentException"]
    assert server.process.poll() is None, "the server survived every request"


def test_status_follows_the_state_change_time(start_server):
    server = start_server(config_toml=MANUAL + "[kinesis]\nstate_change_ms = 60000\n")
    kinesis = server.client("kinesis")
    kinesis.create_stream(
        StreamName="slow", ShardCount=1, StreamModeDetails={"StreamMode": "ON_DEMAND"}
    )
    clock(server, 60_000)
    stream_arn = kinesis.describe_stream_summary(StreamName="slow")["StreamDescriptionSummary"][
        "StreamARN"
    ]
    described = kinesis.create_queue(
        QueueName="q",
        StreamConfigurationList=[
            {"StreamARN": stream_arn, "StartingPosition": {"Type": "TRIM_HORIZON"}}
        ],
    )["QueueDescription"]
    arn = described["QueueARN"]
    assert described["QueueStatus"] == "CREATING"
    # While CREATING the starting position echoes the request: no timestamp yet.
    assert "Timestamp" not in described["StreamConfigurationList"][0]["StartingPosition"]
    with pytest.raises(ClientError) as info:
        receive(kinesis, arn)
    assert error_code(info) == "ResourceNotFoundException"
    clock(server, 60_000)
    described = kinesis.describe_queue(QueueARN=arn)["QueueDescription"]
    assert described["QueueStatus"] == "ACTIVE"
    assert "Timestamp" in described["StreamConfigurationList"][0]["StartingPosition"]
    attributes = {"VisibilityTimeoutSeconds": 10}
    updated = kinesis.update_queue(QueueARN=arn, QueueAttributes=attributes)
    assert updated["QueueDescription"]["QueueStatus"] == "UPDATING"
    with pytest.raises(ClientError) as info:
        kinesis.update_queue(QueueARN=arn, QueueAttributes=attributes)
    assert error_code(info) == "ResourceInUseException"
    assert receive(kinesis, arn) == [], "an UPDATING queue delivers"
    clock(server, 60_000)
    kinesis.delete_queue(QueueARN=arn)
    assert kinesis.describe_queue(QueueARN=arn)["QueueDescription"]["QueueStatus"] == "DELETING"
    clock(server, 60_000)
    with pytest.raises(ClientError) as info:
        kinesis.describe_queue(QueueARN=arn)
    assert error_code(info) == "ResourceNotFoundException"
