"""Bad input: every refusal is a 4xx with the exception AWS names, never a 500, and the
server stays up. Raw requests bypass botocore's client-side validation."""

from __future__ import annotations

import base64
import json
import socket
import threading

import pytest
from botocore.exceptions import ClientError

from strata_aws import (
    CBOR_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    TARGET_PREFIX,
    create_stream,
    first_records,
    raw_call,
    raw_request,
)

MIB = 1024 * 1024
HASH_MAX = 2**128 - 1
MISSING = "no-such-stream"
MISSING_ARN = f"arn:aws:kinesis:us-east-1:000000000000:stream/{MISSING}"


@pytest.fixture(autouse=True)
def server_survives(server):
    """After each test: the server still runs, answers /health and has not panicked."""
    yield
    assert server.running(), "strata serve exited:\n" + server.log_tail()
    assert server.health() == 200
    log = server.log_text()
    assert "panicked" not in log, log
    assert "ERROR" not in log, log


def assert_refused(response, error_type, status=400):
    """A 4xx answer naming `error_type` (a set allows any of several) in `__type`."""
    assert 400 <= response.status < 500, response
    assert response.status == status, response
    allowed = {error_type} if isinstance(error_type, str) else set(error_type)
    assert response.error_type in allowed, response
    assert response.headers.get("x-amzn-requestid"), response


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ---------------------------------------------------------------------------- unknown stream

SHARD0 = "shardId-000000000000"
STREAM_OPERATIONS = [
    ("describe_stream", {"StreamName": MISSING}),
    ("describe_stream", {"StreamARN": MISSING_ARN}),
    ("describe_stream_summary", {"StreamName": MISSING}),
    ("delete_stream", {"StreamName": MISSING}),
    ("list_shards", {"StreamName": MISSING}),
    ("put_record", {"StreamName": MISSING, "Data": b"x", "PartitionKey": "k"}),
    ("put_record", {"StreamARN": MISSING_ARN, "Data": b"x", "PartitionKey": "k"}),
    ("put_records", {"StreamName": MISSING, "Records": [{"Data": b"x", "PartitionKey": "k"}]}),
    (
        "get_shard_iterator",
        {"StreamName": MISSING, "ShardId": SHARD0, "ShardIteratorType": "TRIM_HORIZON"},
    ),
    ("add_tags_to_stream", {"StreamName": MISSING, "Tags": {"a": "b"}}),
    ("remove_tags_from_stream", {"StreamName": MISSING, "TagKeys": ["a"]}),
    ("list_tags_for_stream", {"StreamName": MISSING}),
    ("increase_stream_retention_period", {"StreamName": MISSING, "RetentionPeriodHours": 48}),
    ("decrease_stream_retention_period", {"StreamName": MISSING, "RetentionPeriodHours": 24}),
    (
        "split_shard",
        {"StreamName": MISSING, "ShardToSplit": SHARD0, "NewStartingHashKey": str(2**127)},
    ),
    (
        "merge_shards",
        {
            "StreamName": MISSING,
            "ShardToMerge": SHARD0,
            "AdjacentShardToMerge": "shardId-000000000001",
        },
    ),
    (
        "update_shard_count",
        {"StreamName": MISSING, "TargetShardCount": 2, "ScalingType": "UNIFORM_SCALING"},
    ),
    (
        "start_stream_encryption",
        {"StreamName": MISSING, "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
    ),
    (
        "stop_stream_encryption",
        {"StreamName": MISSING, "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"},
    ),
    ("enable_enhanced_monitoring", {"StreamName": MISSING, "ShardLevelMetrics": ["ALL"]}),
    ("disable_enhanced_monitoring", {"StreamName": MISSING, "ShardLevelMetrics": ["ALL"]}),
    ("list_stream_consumers", {"StreamARN": MISSING_ARN}),
    ("register_stream_consumer", {"StreamARN": MISSING_ARN, "ConsumerName": "c"}),
    ("describe_stream_consumer", {"StreamARN": MISSING_ARN, "ConsumerName": "c"}),
    (
        "update_stream_mode",
        {"StreamARN": MISSING_ARN, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}},
    ),
]


@pytest.mark.parametrize(
    ("operation", "arguments"),
    STREAM_OPERATIONS,
    ids=[f"{op}-{'arn' if 'StreamARN' in args else 'name'}" for op, args in STREAM_OPERATIONS],
)
def test_unknown_stream_is_not_found(kinesis, operation, arguments):
    with pytest.raises(ClientError) as excinfo:
        getattr(kinesis, operation)(**arguments)
    response = excinfo.value.response
    assert response["Error"]["Code"] == "ResourceNotFoundException", response["Error"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_get_records_of_a_deleted_stream_is_not_found(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 1)
    position = kinesis.get_shard_iterator(
        StreamName=unique_stream, ShardId=SHARD0, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    kinesis.delete_stream(StreamName=unique_stream)
    kinesis.get_waiter("stream_not_exists").wait(
        StreamName=unique_stream, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    with pytest.raises(ClientError) as excinfo:
        kinesis.get_records(ShardIterator=position)
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_unknown_shard_is_not_found(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 1)
    with pytest.raises(ClientError) as excinfo:
        kinesis.get_shard_iterator(
            StreamName=unique_stream,
            ShardId="shardId-000000000007",
            ShardIteratorType="TRIM_HORIZON",
        )
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"


# ---------------------------------------------------------------------------- create


def test_duplicate_create_is_in_use(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 1)
    with pytest.raises(ClientError) as excinfo:
        kinesis.create_stream(StreamName=unique_stream, ShardCount=2)
    assert excinfo.value.response["Error"]["Code"] == "ResourceInUseException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # The first stream is untouched.
    description = kinesis.describe_stream(StreamName=unique_stream)["StreamDescription"]
    assert len(description["Shards"]) == 1


@pytest.mark.parametrize(
    ("body", "error_type"),
    [
        ({}, "ValidationException"),
        ({"ShardCount": 1}, "ValidationException"),
        ({"StreamName": "bad name!", "ShardCount": 1}, "ValidationException"),
        ({"StreamName": "a" * 129, "ShardCount": 1}, "ValidationException"),
        ({"StreamName": "", "ShardCount": 1}, "ValidationException"),
        ({"StreamName": "ok", "ShardCount": 0}, "ValidationException"),
        ({"StreamName": "ok", "ShardCount": -1}, "ValidationException"),
        ({"StreamName": "ok", "ShardCount": "1"}, "SerializationException"),
        ({"StreamName": "ok", "ShardCount": "one"}, "SerializationException"),
        ({"StreamName": "ok", "ShardCount": 1.5}, "SerializationException"),
        ({"StreamName": 7, "ShardCount": 1}, "SerializationException"),
        ({"StreamName": ["ok"], "ShardCount": 1}, "SerializationException"),
        ({"StreamName": "ok", "ShardCount": 2**70}, {"SerializationException", "ValidationException"}),
        (
            {"StreamName": "ok", "StreamModeDetails": {"StreamMode": "SOMETIMES"}},
            "ValidationException",
        ),
        ({"StreamName": "ok", "ShardCount": 1, "Tags": "nope"}, "SerializationException"),
    ],
    ids=lambda value: json.dumps(value)[:40] if isinstance(value, dict) else None,
)
def test_create_stream_bad_input(server, body, error_type):
    assert_refused(raw_call(server.endpoint, "CreateStream", body), error_type)
    # Nothing was created.
    listed = raw_call(server.endpoint, "ListStreams", {}).json()
    assert listed["StreamNames"] == []


def test_unknown_members_are_ignored(server, unique_stream):
    response = raw_call(
        server.endpoint,
        "CreateStream",
        {"StreamName": unique_stream, "ShardCount": 1, "SomethingNew": {"x": [1, 2]}},
    )
    assert response.status == 200, response


# ---------------------------------------------------------------------------- put


@pytest.fixture
def stream(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 2)
    return unique_stream


def put_record(server, stream, **members):
    body = {"StreamName": stream, "Data": b64(b"data"), "PartitionKey": "k"}
    body.update(members)
    return raw_call(server.endpoint, "PutRecord", body)


def put_records(server, stream, records):
    return raw_call(server.endpoint, "PutRecords", {"StreamName": stream, "Records": records})


def test_partition_key_length(server, stream):
    assert_refused(put_record(server, stream, PartitionKey=""), "ValidationException")
    assert_refused(put_record(server, stream, PartitionKey="k" * 257), "ValidationException")
    assert put_record(server, stream, PartitionKey="k" * 256).status == 200
    # 256 characters, not bytes.
    assert put_record(server, stream, PartitionKey="é" * 256).status == 200
    response = put_records(server, stream, [{"Data": b64(b"x"), "PartitionKey": ""}])
    assert_refused(response, "ValidationException")
    response = put_records(server, stream, [{"Data": b64(b"x"), "PartitionKey": "k" * 257}])
    assert_refused(response, "ValidationException")
    # Missing partition key.
    response = raw_call(
        server.endpoint, "PutRecord", {"StreamName": stream, "Data": b64(b"x")}
    )
    assert_refused(response, "ValidationException")


def test_record_size_limit(server, stream):
    # Data over 1 MiB.
    response = put_record(server, stream, Data=b64(b"x" * (MIB + 1)))
    assert_refused(response, {"ValidationException", "InvalidArgumentException"})
    # Data of exactly 1 MiB plus a partition key: over the record limit too.
    response = put_record(server, stream, Data=b64(b"x" * MIB))
    assert_refused(response, {"ValidationException", "InvalidArgumentException"})
    response = put_records(server, stream, [{"Data": b64(b"x" * (MIB + 1)), "PartitionKey": "k"}])
    assert_refused(response, {"ValidationException", "InvalidArgumentException"})
    # Exactly at the limit: accepted.
    assert put_record(server, stream, Data=b64(b"x" * (MIB - 1)), PartitionKey="k").status == 200


def test_put_records_count_and_total_size(server, stream):
    one = {"Data": b64(b"x"), "PartitionKey": "k"}
    assert_refused(put_records(server, stream, [one] * 501), "ValidationException")
    assert_refused(put_records(server, stream, []), "ValidationException")
    assert put_records(server, stream, [one] * 500).status == 200
    # Over 10 MiB in total (each record within its own limit).
    big = {"Data": b64(b"x" * (MIB - 1)), "PartitionKey": "k"}
    response = put_records(server, stream, [big] * 11)
    assert_refused(response, {"ValidationException", "InvalidArgumentException"})


def test_put_records_with_the_sdk_over_500_records(kinesis, stream):
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_records(
            StreamName=stream, Records=[{"Data": b"x", "PartitionKey": "k"}] * 501
        )
    assert excinfo.value.response["Error"]["Code"] == "ValidationException"


@pytest.mark.parametrize(
    ("hash_key", "error_type"),
    [
        ("not-a-number", "ValidationException"),
        ("-1", "ValidationException"),
        ("01", "ValidationException"),
        ("1.5", "ValidationException"),
        ("", "ValidationException"),
        (str(2**128), "InvalidArgumentException"),
        ("9" * 39, "InvalidArgumentException"),
        ("1" * 40, "ValidationException"),
    ],
)
def test_bad_explicit_hash_key(server, stream, hash_key, error_type):
    assert_refused(put_record(server, stream, ExplicitHashKey=hash_key), error_type)
    response = put_records(
        server, stream, [{"Data": b64(b"x"), "PartitionKey": "k", "ExplicitHashKey": hash_key}]
    )
    assert_refused(response, error_type)


def test_explicit_hash_key_bounds_are_accepted(server, stream):
    assert put_record(server, stream, ExplicitHashKey="0").status == 200
    assert put_record(server, stream, ExplicitHashKey=str(HASH_MAX)).status == 200


def test_data_that_is_not_base64(server, stream):
    response = put_record(server, stream, Data="not base64 at all!")
    assert_refused(response, {"SerializationException", "ValidationException"})
    response = put_record(server, stream, Data=12345)
    assert_refused(response, "SerializationException")


def test_put_records_bodies_outside_the_sdks_shape_mean_what_json_says(server, kinesis, stream):
    """Bodies no SDK sends (escapes, nulls, unknown members, odd spacing) are read as JSON
    reads them; records land with the data and keys the JSON holds."""
    slash = b64(b"\xff\xfe\xfd" * 5)
    assert "/" in slash
    body = (
        "{\n\t\"Records\" : [ {\"PartitionKey\":\"k\\u00e9\",\"Data\":\""
        + slash.replace("/", "\\/")
        + "\",\"ExplicitHashKey\":null} ,\r\n"
        + "{\"Data\":\"" + b64(b"plain") + "\",\"PartitionKey\":\"p\",\"Unknown\":[1,{}]}],"
        + "\"StreamName\":\"" + stream + "\", \"Extra\": 5 }  "
    ).encode()
    response = raw_call(server.endpoint, "PutRecords", body)
    assert response.status == 200, response
    answer = json.loads(response.body)
    assert answer["FailedRecordCount"] == 0
    assert [set(r) for r in answer["Records"]] == [{"SequenceNumber", "ShardId"}] * 2
    read = {
        record["SequenceNumber"]: (record["PartitionKey"], record["Data"])
        for record in first_records(kinesis, stream)
    }
    sent = [r["SequenceNumber"] for r in answer["Records"]]
    assert read[sent[0]] == ("k\u00e9", b"\xff\xfe\xfd" * 5)
    assert read[sent[1]] == ("p", b"plain")


def test_put_records_bad_base64_is_refused_before_anything_else(server, stream):
    good = {"Data": b64(b"x"), "PartitionKey": "k"}
    bad = {"Data": "not base64!", "PartitionKey": "k"}
    for records in ([good, bad], [bad]):
        response = put_records(server, stream, records)
        assert_refused(response, "SerializationException")
        # Even for a stream that does not exist: the body is read before the stream.
        assert_refused(put_records(server, MISSING, records), "SerializationException")
    assert_refused(put_records(server, MISSING, [good]), "ResourceNotFoundException")


def test_bad_sequence_number_for_ordering(server, stream):
    response = put_record(server, stream, SequenceNumberForOrdering="abc")
    assert_refused(response, {"ValidationException", "InvalidArgumentException"})


# ---------------------------------------------------------------------------- read


def shard_iterator(server, stream, **members):
    body = {"StreamName": stream, "ShardId": SHARD0, "ShardIteratorType": "TRIM_HORIZON"}
    body.update(members)
    return raw_call(server.endpoint, "GetShardIterator", body)


def test_get_shard_iterator_bad_input(server, stream):
    assert_refused(shard_iterator(server, stream, ShardIteratorType="SOMEWHERE"), "ValidationException")
    assert_refused(shard_iterator(server, stream, ShardId="bad shard!"), "ValidationException")
    assert_refused(
        shard_iterator(
            server, stream, ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber="abc"
        ),
        "ValidationException",
    )
    assert_refused(
        shard_iterator(server, stream, ShardIteratorType="AT_SEQUENCE_NUMBER"),
        "InvalidArgumentException",
    )
    assert_refused(
        shard_iterator(
            server,
            stream,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber="1" + "0" * 60,
        ),
        "InvalidArgumentException",
    )
    assert_refused(
        shard_iterator(server, stream, ShardIteratorType="AT_TIMESTAMP", Timestamp="yesterday"),
        "SerializationException",
    )
    body = {"StreamName": stream, "ShardId": SHARD0}
    assert_refused(raw_call(server.endpoint, "GetShardIterator", body), "ValidationException")


def test_malformed_and_tampered_iterators(server, stream):
    good = shard_iterator(server, stream).json()["ShardIterator"]
    cases = {
        "garbage": ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "InvalidArgumentException"),
        "not base64": ("!!!!****", "InvalidArgumentException"),
        "truncated": (good[:-8], "InvalidArgumentException"),
        "tampered": (
            good[:10] + ("B" if good[10] != "B" else "C") + good[11:],
            "InvalidArgumentException",
        ),
        "too long": ("A" * 513, "ValidationException"),
        "empty": ("", "ValidationException"),
    }
    for name, (token, error_type) in cases.items():
        response = raw_call(server.endpoint, "GetRecords", {"ShardIterator": token})
        assert 400 <= response.status < 500, (name, response)
        assert response.error_type == error_type, (name, response)
    response = raw_call(server.endpoint, "GetRecords", {"ShardIterator": 42})
    assert_refused(response, "SerializationException")
    response = raw_call(server.endpoint, "GetRecords", {})
    assert_refused(response, "ValidationException")
    assert raw_call(server.endpoint, "GetRecords", {"ShardIterator": good}).status == 200


def test_get_records_limit_bounds(server, stream):
    good = shard_iterator(server, stream).json()["ShardIterator"]
    for limit in (0, -1, 10001):
        response = raw_call(server.endpoint, "GetRecords", {"ShardIterator": good, "Limit": limit})
        assert_refused(response, "ValidationException")
    response = raw_call(server.endpoint, "GetRecords", {"ShardIterator": good, "Limit": 10000})
    assert response.status == 200


def test_list_and_describe_bad_input(server, stream):
    assert_refused(raw_call(server.endpoint, "ListStreams", {"Limit": 0}), "ValidationException")
    assert_refused(raw_call(server.endpoint, "ListStreams", {"Limit": "ten"}), "SerializationException")
    assert_refused(
        raw_call(server.endpoint, "ListShards", {"StreamName": stream, "MaxResults": 0}),
        "ValidationException",
    )
    assert_refused(
        raw_call(server.endpoint, "ListShards", {"StreamName": stream, "MaxResults": 10001}),
        "ValidationException",
    )
    assert_refused(
        raw_call(
            server.endpoint,
            "ListShards",
            {"StreamName": stream, "ShardFilter": {"Type": "SOMETIMES"}},
        ),
        "ValidationException",
    )
    assert_refused(
        raw_call(server.endpoint, "DescribeStream", {"StreamName": stream, "Limit": 0}),
        "ValidationException",
    )
    # Neither a name nor an ARN.
    response = raw_call(server.endpoint, "DescribeStreamSummary", {})
    assert_refused(response, {"ValidationException", "InvalidArgumentException"})


# ---------------------------------------------------------------------------- the wire


@pytest.mark.parametrize(
    "body",
    [
        b'{"StreamName": ',
        b"{'StreamName': 'single quotes'}",
        b"[1, 2, 3]",
        b'"a string"',
        b"\xff\xfe\x00garbage",
        b'{"StreamName": "x"} trailing',
    ],
)
def test_malformed_json(server, body):
    response = raw_request(server.endpoint, body, TARGET_PREFIX + "DescribeStream")
    assert_refused(response, "SerializationException")


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\x00\x13",  # a break code outside an indefinite item, then junk
        b"\xa1\x6aStreamName",  # a map whose value is missing
        b"\x83\x01\x02\x03",  # an array, not a map
        b"\xbf\x61",  # truncated
        b"\xa2\x6aStreamName\x01\x6aShardCount\x01",  # StreamName of the wrong type
    ],
)
def test_malformed_cbor(server, body):
    response = raw_request(
        server.endpoint, body, TARGET_PREFIX + "CreateStream", content_type=CBOR_CONTENT_TYPE
    )
    assert_refused(response, "SerializationException")
    assert "cbor" in response.headers["content-type"]


def test_unknown_operation(server):
    response = raw_request(server.endpoint, b"{}", TARGET_PREFIX + "Frobnicate")
    assert_refused(response, "UnknownOperationException")
    response = raw_request(server.endpoint, b"{}", "SomeOtherService_20200101.CreateStream")
    assert_refused(response, "UnknownOperationException")
    response = raw_request(server.endpoint, b"{}", "Kinesis_20131202.")
    assert_refused(response, "UnknownOperationException")


def test_missing_target(server):
    response = raw_request(server.endpoint, b"{}", None)
    assert_refused(response, "UnknownOperationException")
    response = raw_request(server.endpoint, b"", None, content_type=None, method="GET")
    assert 400 <= response.status < 500


def post_streaming(port: int, headers: str, chunks, timeout=30.0) -> bytes:
    """Sends a request whose body comes from `chunks` while reading the answer, so an early
    answer (413 before the whole body is sent) is still read. Returns the raw response."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    failures = []

    def send():
        try:
            connection.sendall(headers.encode())
            for chunk in chunks:
                connection.sendall(chunk)
        except OSError as error:  # the server may close once it has answered
            failures.append(error)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    received = b""
    try:
        while True:
            data = connection.recv(65536)
            if not data:
                break
            received += data
            head, separator, body = received.partition(b"\r\n\r\n")
            if separator:
                lengths = [
                    line.split(b":", 1)[1]
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ]
                if lengths and len(body) >= int(lengths[0]):
                    break
    finally:
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed by the server
        connection.close()
        sender.join(timeout)
    return received


def parse_status(raw: bytes) -> tuple[int, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, body


def test_body_over_the_limit_is_413(server, stream):
    size = 16 * MIB + 1024
    headers = (
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: {JSON_CONTENT_TYPE}\r\n"
        f"X-Amz-Target: {TARGET_PREFIX}PutRecord\r\n"
        f"Content-Length: {size}\r\n\r\n"
    )
    chunk = b" " * (1024 * 1024)
    body = [chunk] * (size // len(chunk)) + [b" " * (size % len(chunk))]
    status, answer = parse_status(post_streaming(server.http_port, headers, body))
    assert status == 413
    assert json.loads(answer)["__type"]

    # The same without a Content-Length (chunked): the limit holds while reading.
    headers = (
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: {JSON_CONTENT_TYPE}\r\n"
        f"X-Amz-Target: {TARGET_PREFIX}PutRecord\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    framed = [f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(17)] + [b"0\r\n\r\n"]
    status, _ = parse_status(post_streaming(server.http_port, headers, framed))
    assert status == 413

    # Nothing was stored, and a body just under the limit is still served normally.
    records = raw_call(
        server.endpoint,
        "GetRecords",
        {"ShardIterator": shard_iterator(server, stream).json()["ShardIterator"]},
    ).json()["Records"]
    assert records == []


def test_a_body_in_many_pieces_is_read_whole(server, kinesis, stream):
    """A chunked body arrives in many frames; the server puts them together in order."""
    data = [bytes([i]) * (300 + i) for i in range(20)]
    body = json.dumps(
        {
            "StreamName": stream,
            "Records": [{"Data": b64(d), "PartitionKey": f"k{i}"} for i, d in enumerate(data)],
        }
    ).encode()
    headers = (
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: {JSON_CONTENT_TYPE}\r\n"
        f"X-Amz-Target: {TARGET_PREFIX}PutRecords\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    pieces = [body[at : at + 97] for at in range(0, len(body), 97)]
    framed = [f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces] + [b"0\r\n\r\n"]
    status, answer = parse_status(post_streaming(server.http_port, headers, framed))
    assert status == 200, answer
    assert json.loads(answer)["FailedRecordCount"] == 0
    assert sorted(r["Data"] for r in first_records(kinesis, stream)) == sorted(data)


def test_server_alive_after_a_barrage(server, kinesis, stream):
    """Every malformed thing above in a row on one server, then normal service."""
    bodies = [
        b"",
        b"{",
        b"null",
        b"{}",
        b'{"StreamName": null}',
        b'{"StreamName": "' + b"\\u0000" * 10 + b'"}',
        json.dumps({"StreamName": stream, "Data": "!!", "PartitionKey": "k"}).encode(),
        json.dumps({"StreamName": stream, "Records": [None]}).encode(),
        json.dumps({"StreamName": stream, "Records": [{}] * 3}).encode(),
        json.dumps({"ShardIterator": "A" * 512}).encode(),
    ]
    operations = [
        "CreateStream",
        "DescribeStream",
        "DescribeStreamSummary",
        "ListStreams",
        "ListShards",
        "PutRecord",
        "PutRecords",
        "GetShardIterator",
        "GetRecords",
    ]
    for operation in operations:
        for body in bodies:
            for content_type in (JSON_CONTENT_TYPE, CBOR_CONTENT_TYPE, None):
                response = raw_request(
                    server.endpoint, body, TARGET_PREFIX + operation, content_type=content_type
                )
                assert response.status < 500, (operation, body, content_type, response)
    kinesis.put_record(StreamName=stream, Data=b"still fine", PartitionKey="k")
    assert kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
        "StreamStatus"
    ] == "ACTIVE"
