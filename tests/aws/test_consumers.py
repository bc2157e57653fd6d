"""Enhanced fan-out with unmodified boto3: RegisterStreamConsumer, DescribeStreamConsumer,
ListStreamConsumers, DeregisterStreamConsumer and SubscribeToShard (an
`application/vnd.amazon.eventstream` response read by botocore over HTTP/1.1), plus one
CBOR subscription decoded with botocore's own event-stream parser.

Every wait is bounded: a subscription sends an event at once and then at least every five
seconds, so reading events never blocks longer than that.
"""

from __future__ import annotations

import http.client
import json
import time

import botocore.eventstream
import botocore.exceptions
import pytest

from strata_aws import CBOR_CONTENT_TYPE, TARGET_PREFIX, create_stream, raw_call

SHARD_0 = "shardId-000000000000"
#: How long a test waits for records to arrive through a subscription.
ARRIVAL_TIMEOUT_S = 15.0


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def stream_arn(kinesis, name: str) -> str:
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
        "StreamARN"
    ]


def register(kinesis, arn: str, name: str) -> dict:
    return kinesis.register_stream_consumer(StreamARN=arn, ConsumerName=name)["Consumer"]


def put(kinesis, stream: str, payloads: list[bytes]) -> list[str]:
    """Puts each payload in order (one partition key, so one shard); returns their sequence
    numbers."""
    return [
        kinesis.put_record(StreamName=stream, Data=data, PartitionKey="key")["SequenceNumber"]
        for data in payloads
    ]


class Events:
    """The events of one boto3 subscription, read with a deadline."""

    def __init__(self, response) -> None:
        self.stream = response["EventStream"]
        self.iterator = iter(self.stream)
        self.events: list[dict] = []

    def next(self) -> dict | None:
        """The next SubscribeToShardEvent, or None once the stream has ended."""
        for event in self.iterator:
            assert set(event) == {"SubscribeToShardEvent"}, event
            self.events.append(event["SubscribeToShardEvent"])
            return event["SubscribeToShardEvent"]
        return None

    def records_until(self, count: int, timeout_s: float = ARRIVAL_TIMEOUT_S) -> list[dict]:
        """Reads events until `count` records have arrived in all (bounded)."""
        deadline = time.monotonic() + timeout_s
        while self.record_count() < count:
            assert time.monotonic() < deadline, f"only {self.records()} after {timeout_s}s"
            assert self.next() is not None, "the subscription ended early"
        return self.records()

    def records(self) -> list[dict]:
        return [record for event in self.events for record in event["Records"]]

    def record_count(self) -> int:
        return len(self.records())

    def close(self) -> None:
        self.stream.close()


def subscribe(kinesis, consumer_arn: str, shard: str = SHARD_0, **position) -> Events:
    position.setdefault("Type", "TRIM_HORIZON")
    response = kinesis.subscribe_to_shard(
        ConsumerARN=consumer_arn, ShardId=shard, StartingPosition=position
    )
    assert response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == (
        "application/vnd.amazon.eventstream"
    )
    return Events(response)


@pytest.fixture
def stream(kinesis, unique_stream):
    """A one-shard ACTIVE stream: (name, ARN)."""
    create_stream(kinesis, unique_stream, 1)
    return unique_stream, stream_arn(kinesis, unique_stream)


def test_register_describe_list_and_deregister(kinesis, stream):
    name, arn = stream
    before = time.time()
    registered = [register(kinesis, arn, consumer) for consumer in ("gamma", "alpha", "beta")]
    for consumer in registered:
        assert consumer["ConsumerStatus"] in ("CREATING", "ACTIVE")
        assert consumer["ConsumerARN"].startswith(f"{arn}/consumer/{consumer['ConsumerName']}:")
        seconds = int(consumer["ConsumerARN"].rsplit(":", 1)[1])
        assert seconds == int(consumer["ConsumerCreationTimestamp"].timestamp())
        assert before - 5 <= consumer["ConsumerCreationTimestamp"].timestamp() <= time.time() + 5
    alpha = registered[1]

    by_arn = kinesis.describe_stream_consumer(ConsumerARN=alpha["ConsumerARN"])
    description = by_arn["ConsumerDescription"]
    assert description["ConsumerName"] == "alpha"
    assert description["ConsumerARN"] == alpha["ConsumerARN"]
    assert description["ConsumerStatus"] == "ACTIVE"
    assert description["StreamARN"] == arn
    by_name = kinesis.describe_stream_consumer(StreamARN=arn, ConsumerName="alpha")
    assert by_name["ConsumerDescription"] == description

    listed = kinesis.list_stream_consumers(StreamARN=arn)
    assert [c["ConsumerName"] for c in listed["Consumers"]] == ["alpha", "beta", "gamma"]
    assert "NextToken" not in listed
    # Paging: two, then the rest.
    first = kinesis.list_stream_consumers(StreamARN=arn, MaxResults=2)
    assert [c["ConsumerName"] for c in first["Consumers"]] == ["alpha", "beta"]
    rest = kinesis.list_stream_consumers(StreamARN=arn, NextToken=first["NextToken"])
    assert [c["ConsumerName"] for c in rest["Consumers"]] == ["gamma"]
    assert "NextToken" not in rest
    paginated = [
        consumer["ConsumerName"]
        for page in kinesis.get_paginator("list_stream_consumers").paginate(
            StreamARN=arn, PaginationConfig={"PageSize": 1}
        )
        for consumer in page["Consumers"]
    ]
    assert paginated == ["alpha", "beta", "gamma"]
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["ConsumerCount"] == 3

    kinesis.deregister_stream_consumer(ConsumerARN=alpha["ConsumerARN"])
    kinesis.deregister_stream_consumer(StreamARN=arn, ConsumerName="beta")
    remaining = kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]
    assert [c["ConsumerName"] for c in remaining] == ["gamma"]
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        kinesis.describe_stream_consumer(ConsumerARN=alpha["ConsumerARN"])
    assert error_code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        kinesis.deregister_stream_consumer(StreamARN=arn, ConsumerName="beta")
    assert error_code(excinfo) == "ResourceNotFoundException"


def test_registration_errors(kinesis, server, stream):
    name, arn = stream
    register(kinesis, arn, "dup")
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        register(kinesis, arn, "dup")
    assert error_code(excinfo) == "ResourceInUseException"

    missing = arn.rsplit("/", 1)[0] + "/no-such-stream"
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        register(kinesis, missing, "c")
    assert error_code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        kinesis.list_stream_consumers(StreamARN=missing)
    assert error_code(excinfo) == "ResourceNotFoundException"

    for index in range(19):
        register(kinesis, arn, f"c{index:02}")
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        register(kinesis, arn, "twenty-first")
    assert error_code(excinfo) == "LimitExceededException"
    assert len(kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]) == 20

    # Members the model constrains (sent raw: botocore does not check patterns).
    bad_name = raw_call(
        server.endpoint, "RegisterStreamConsumer", {"StreamARN": arn, "ConsumerName": "bad name"}
    )
    assert (bad_name.status, bad_name.error_type) == (400, "ValidationException")
    no_name = raw_call(server.endpoint, "RegisterStreamConsumer", {"StreamARN": arn})
    assert (no_name.status, no_name.error_type) == (400, "ValidationException")
    bad_arn = raw_call(server.endpoint, "DescribeStreamConsumer", {"ConsumerARN": "nope"})
    assert (bad_arn.status, bad_arn.error_type) == (400, "ValidationException")
    neither = raw_call(server.endpoint, "DescribeStreamConsumer", {"StreamARN": arn})
    assert (neither.status, neither.error_type) == (400, "InvalidArgumentException")
    bad_token = raw_call(
        server.endpoint, "ListStreamConsumers", {"StreamARN": arn, "NextToken": "garbage"}
    )
    assert (bad_token.status, bad_token.error_type) == (400, "InvalidArgumentException")
    bad_page = raw_call(server.endpoint, "ListStreamConsumers", {"StreamARN": arn, "MaxResults": 0})
    assert (bad_page.status, bad_page.error_type) == (400, "ValidationException")
    unknown = raw_call(
        server.endpoint,
        "DescribeStreamConsumer",
        {"ConsumerARN": f"{arn}/consumer/ghost:1700000000"},
    )
    assert (unknown.status, unknown.error_type) == (400, "ResourceNotFoundException")
    assert json.loads(unknown.body)["message"]


def test_delete_stream_refuses_registered_consumers_unless_enforced(kinesis, stream):
    name, arn = stream
    register(kinesis, arn, "reader")
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        kinesis.delete_stream(StreamName=name)
    assert error_code(excinfo) == "ResourceInUseException"
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=False)
    assert error_code(excinfo) == "ResourceInUseException"
    kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
    kinesis.get_waiter("stream_not_exists").wait(
        StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    # A stream created again under the name starts without consumers.
    create_stream(kinesis, name, 1)
    assert kinesis.list_stream_consumers(StreamARN=arn)["Consumers"] == []


def test_subscribe_from_trim_horizon_then_live_records(kinesis, stream):
    name, arn = stream
    consumer = register(kinesis, arn, "fan-out")
    before = [b"record-%d" % index for index in range(5)]
    before_sequences = put(kinesis, name, before)

    events = subscribe(kinesis, consumer["ConsumerARN"], Type="TRIM_HORIZON")
    try:
        records = events.records_until(len(before))
        assert [r["Data"] for r in records] == before
        assert [r["SequenceNumber"] for r in records] == before_sequences
        assert all(r["PartitionKey"] == "key" for r in records)
        assert all("ApproximateArrivalTimestamp" in r for r in records)
        last = events.events[-1]
        assert last["ContinuationSequenceNumber"] == before_sequences[-1]
        assert last["MillisBehindLatest"] >= 0
        assert "ChildShards" not in last

        # Records put after subscribing are pushed, nothing twice, nothing missing.
        after = [b"live-%d" % index for index in range(3)]
        after_sequences = put(kinesis, name, after)
        records = events.records_until(len(before) + len(after))
        assert [r["Data"] for r in records] == before + after
        assert [r["SequenceNumber"] for r in records] == before_sequences + after_sequences
        assert events.events[-1]["ContinuationSequenceNumber"] == after_sequences[-1]
    finally:
        events.close()


def test_subscribe_positions(kinesis, stream):
    name, arn = stream
    sequences = put(kinesis, name, [b"a", b"b", b"c"])
    cases = [
        ({"Type": "AT_SEQUENCE_NUMBER", "SequenceNumber": sequences[1]}, [b"b", b"c"]),
        ({"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": sequences[1]}, [b"c"]),
        ({"Type": "AT_TIMESTAMP", "Timestamp": time.time() - 3600}, [b"a", b"b", b"c"]),
    ]
    for index, (position, expected) in enumerate(cases):
        consumer = register(kinesis, arn, f"position-{index}")
        events = subscribe(kinesis, consumer["ConsumerARN"], **position)
        try:
            assert [r["Data"] for r in events.records_until(len(expected))] == expected
        finally:
            events.close()

    # LATEST: only what comes after; the continuation number of an empty event resumes there.
    consumer = register(kinesis, arn, "latest")
    events = subscribe(kinesis, consumer["ConsumerARN"], Type="LATEST")
    try:
        first = events.next()
        assert first is not None and first["Records"] == []
        put(kinesis, name, [b"d"])
        assert [r["Data"] for r in events.records_until(1)] == [b"d"]
        continuation = events.events[-1]["ContinuationSequenceNumber"]
    finally:
        events.close()
    put(kinesis, name, [b"e"])
    resumed_by = register(kinesis, arn, "resumer")
    events = subscribe(
        kinesis,
        resumed_by["ConsumerARN"],
        Type="AFTER_SEQUENCE_NUMBER",
        SequenceNumber=continuation,
    )
    try:
        assert [r["Data"] for r in events.records_until(1)] == [b"e"]
    finally:
        events.close()


def test_empty_shard_continuation_resumes_at_the_first_record(kinesis, stream):
    name, arn = stream
    consumer = register(kinesis, arn, "early")
    events = subscribe(kinesis, consumer["ConsumerARN"], Type="TRIM_HORIZON")
    try:
        first = events.next()
        assert first is not None and first["Records"] == []
        continuation = first["ContinuationSequenceNumber"]
    finally:
        events.close()
    put(kinesis, name, [b"first", b"second"])
    other = register(kinesis, arn, "later")
    events = subscribe(
        kinesis, other["ConsumerARN"], Type="AFTER_SEQUENCE_NUMBER", SequenceNumber=continuation
    )
    try:
        assert [r["Data"] for r in events.records_until(2)] == [b"first", b"second"]
    finally:
        events.close()


def test_subscription_to_a_split_shard_ends_with_child_shards(kinesis, stream):
    name, arn = stream
    consumer = register(kinesis, arn, "splitter")
    put(kinesis, name, [b"before-split"])
    events = subscribe(kinesis, consumer["ConsumerARN"])
    try:
        assert [r["Data"] for r in events.records_until(1)] == [b"before-split"]
        kinesis.split_shard(
            StreamName=name, ShardToSplit=SHARD_0, NewStartingHashKey=str(2**127)
        )
        deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
        last = None
        while True:
            assert time.monotonic() < deadline, events.events
            event = events.next()
            if event is None:
                break
            last = event
        # The stream ended after an event with the children and no continuation number.
        assert last is not None and "ChildShards" in last, events.events
        assert "ContinuationSequenceNumber" not in last
        children = sorted(last["ChildShards"], key=lambda child: child["ShardId"])
        listed = {
            shard["ShardId"]: shard
            for shard in kinesis.list_shards(StreamName=name)["Shards"]
            if shard.get("ParentShardId") == SHARD_0
        }
        assert [child["ShardId"] for child in children] == sorted(listed)
        for child in children:
            assert child["ParentShards"] == [SHARD_0]
            assert child["HashKeyRange"] == listed[child["ShardId"]]["HashKeyRange"]
        assert [r["Data"] for r in events.records()] == [b"before-split"]
    finally:
        events.close()


def test_subscribe_errors_are_plain_error_responses(kinesis, stream):
    name, arn = stream
    consumer = register(kinesis, arn, "picky")
    ghost = f"{arn}/consumer/ghost:1700000000"
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        kinesis.subscribe_to_shard(
            ConsumerARN=ghost, ShardId=SHARD_0, StartingPosition={"Type": "LATEST"}
        )
    assert error_code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        kinesis.subscribe_to_shard(
            ConsumerARN=consumer["ConsumerARN"],
            ShardId="shardId-000000000042",
            StartingPosition={"Type": "LATEST"},
        )
    assert error_code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        kinesis.subscribe_to_shard(
            ConsumerARN=consumer["ConsumerARN"],
            ShardId=SHARD_0,
            StartingPosition={"Type": "AT_SEQUENCE_NUMBER"},
        )
    assert error_code(excinfo) == "InvalidArgumentException"

    # One subscription per consumer and shard: a second within five seconds is refused.
    events = subscribe(kinesis, consumer["ConsumerARN"], Type="LATEST")
    try:
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            kinesis.subscribe_to_shard(
                ConsumerARN=consumer["ConsumerARN"],
                ShardId=SHARD_0,
                StartingPosition={"Type": "LATEST"},
            )
        assert error_code(excinfo) == "ResourceInUseException"
        # Another consumer is independent.
        other = register(kinesis, arn, "other")
        subscribe(kinesis, other["ConsumerARN"], Type="LATEST").close()
    finally:
        events.close()


def test_deregistering_ends_a_subscription_with_an_exception_event(kinesis, stream):
    name, arn = stream
    consumer = register(kinesis, arn, "leaving")
    events = subscribe(kinesis, consumer["ConsumerARN"], Type="LATEST")
    try:
        assert events.next() is not None
        kinesis.deregister_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
        with pytest.raises(botocore.exceptions.EventStreamError) as excinfo:
            while events.next() is not None:
                pass
        assert error_code(excinfo) == "ResourceNotFoundException"
    finally:
        events.close()


def test_consumers_persist_across_restart(server, kinesis, stream):
    name, arn = stream
    consumer = register(kinesis, arn, "durable")
    sequences = put(kinesis, name, [b"kept"])
    server.restart()
    kinesis = server.client("kinesis")
    description = kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])[
        "ConsumerDescription"
    ]
    assert description["ConsumerName"] == "durable"
    assert description["ConsumerStatus"] == "ACTIVE"
    assert description["ConsumerCreationTimestamp"] == consumer["ConsumerCreationTimestamp"]
    assert [c["ConsumerARN"] for c in kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]] == [
        consumer["ConsumerARN"]
    ]
    events = subscribe(kinesis, consumer["ConsumerARN"])
    try:
        records = events.records_until(1)
        assert [(r["Data"], r["SequenceNumber"]) for r in records] == [(b"kept", sequences[0])]
    finally:
        events.close()


def _keep_tag_1(argument, *_):
    """A cbor2 semantic decoder leaving tag 1 as a tag. cbor2 5.x passes the decoder, 6.x the
    decoded value and a flag."""
    import cbor2

    value = argument.decode() if hasattr(argument, "decode") else argument
    return cbor2.CBORTag(1, value)


def test_cbor_subscription_streams_cbor_events(server, kinesis, stream):
    """The Java SDK's encoding: a CBOR request gets CBOR event payloads."""
    cbor2 = pytest.importorskip("cbor2")
    name, arn = stream
    consumer = register(kinesis, arn, "cbor")
    sequences = put(kinesis, name, [b"\x00binary\xff"])
    body = cbor2.dumps(
        {
            "ConsumerARN": consumer["ConsumerARN"],
            "ShardId": SHARD_0,
            "StartingPosition": {"Type": "TRIM_HORIZON"},
        }
    )
    host, port = server.endpoint.split("://", 1)[1].rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(
            "POST",
            "/",
            body=body,
            headers={
                "Content-Type": CBOR_CONTENT_TYPE,
                "X-Amz-Target": TARGET_PREFIX + "SubscribeToShard",
            },
        )
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("content-type") == "application/vnd.amazon.eventstream"
        buffer = botocore.eventstream.EventStreamBuffer()
        messages = []
        deadline = time.monotonic() + ARRIVAL_TIMEOUT_S
        while len(messages) < 2:
            assert time.monotonic() < deadline
            chunk = response.read1(65536)
            assert chunk, "the stream ended early"
            buffer.add_data(chunk)
            messages.extend(buffer)
    finally:
        connection.close()
    initial, first = messages[0], messages[1]
    assert initial.headers[":event-type"] == "initial-response"
    assert first.headers[":message-type"] == "event"
    assert first.headers[":event-type"] == "SubscribeToShardEvent"
    try:
        # AWS CBOR timestamps are tag 1 around integer milliseconds; cbor2 reads seconds.
        event = cbor2.loads(first.payload, semantic_decoders={1: _keep_tag_1})
    except TypeError:
        pytest.skip("this cbor2 cannot override how tag 1 is decoded")
    stamp = event["Records"][0]["ApproximateArrivalTimestamp"]
    assert stamp.tag == 1 and abs(stamp.value / 1000 - time.time()) < 60
    assert [r["Data"] for r in event["Records"]] == [b"\x00binary\xff"]
    assert [r["SequenceNumber"] for r in event["Records"]] == sequences
    assert event["ContinuationSequenceNumber"] == sequences[0]
