"""Kinesis channels through unmodified boto3: CreateChannel/DescribeChannel/ListChannels/
UpdateChannel/DeleteChannel on `strata serve`, delivering a Kinesis stream into a real
S3-compatible server (moto's, as in test_firehose.py) and read back with boto3's S3 client.

What is checked: records put to the stream land with their exact bytes (no delimiter),
under keys that follow OutputKeyTemplate, uncompressed, GZIP and ZSTD; describe, list
(with stream filters and pages), update and delete answer botocore's shapes; bad input gets
Kinesis's exceptions. Every wait is bounded.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import time
import uuid

import pytest

from strata_aws import client_for, raw_request
from test_firehose import config_for, moto, objects, wait_for  # noqa: F401 (fixture)

ROLE = "arn:aws:iam::000000000000:role/channel"
OWNER = "000000000000"
KEY_RE = re.compile(
    r"^(?P<prefix>.*?)channel:(?P<name>[A-Za-z0-9_.-]+)-(?P<version>\d+)-"
    r"(?P<time>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})-"
    r"(?P<unique>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?P<ext>\.\w+)?$"
)


@pytest.fixture
def setup(start_server, moto):  # noqa: F811 (the moto fixture)
    """A server delivering to `moto`: (server, kinesis client, s3 client, bucket)."""
    server = start_server(config_toml=config_for(moto))
    s3 = client_for(moto.endpoint, "s3")
    bucket = f"bucket-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    return server, server.client("kinesis"), s3, bucket


def new_stream(kinesis, shards: int = 1) -> tuple[str, str]:
    stream = f"src-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=shards)
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    return stream, arn


def destination(bucket: str, compression: str = "NONE", template: str | None = None,
                freshness: int = 0, dead_letter_prefix: str | None = "dlq/") -> dict:
    storage = {
        "BucketARN": f"arn:aws:s3:::{bucket}",
        "ExpectedBucketOwner": OWNER,
        "CompressionType": compression,
    }
    if template is not None:
        storage["OutputKeyTemplate"] = template
    dead_letter = {"BucketARN": f"arn:aws:s3:::{bucket}", "ExpectedBucketOwner": OWNER}
    if dead_letter_prefix is not None:
        dead_letter["ErrorOutputPrefix"] = dead_letter_prefix
    return {
        "DataFreshnessInSeconds": freshness,
        "StorageConfiguration": storage,
        "DeadLetterQueueS3Configuration": dead_letter,
    }


def create(kinesis, name: str, stream_arn: str, s3_destination: dict, **extra) -> dict:
    return kinesis.create_channel(
        ChannelName=name,
        ServiceExecutionRoleARN=ROLE,
        StreamConfigurationList=[
            {"StreamARN": stream_arn, "RecordConfiguration": {"RecordFormatType": "BYTE_ARRAY"}}
        ],
        S3DestinationConfiguration=s3_destination,
        **extra,
    )["ChannelDescription"]


def put(kinesis, stream: str, records: list[bytes]) -> None:
    answer = kinesis.put_records(
        StreamName=stream, Records=[{"Data": d, "PartitionKey": "k"} for d in records]
    )
    assert answer["FailedRecordCount"] == 0


def delivered(s3, bucket: str, prefix: str, expected: bytes, decode=lambda b: b) -> dict:
    """Waits until the objects under `prefix`, decoded and concatenated in key order, are
    `expected`; returns them."""

    def complete():
        found = objects(s3, bucket, prefix)
        body = b"".join(decode(found[key]) for key in sorted(found))
        return found if len(body) >= len(expected) else None

    return wait_for(complete)


def unzstd(body: bytes) -> bytes:
    zstd = shutil.which("zstd")
    if zstd is None:
        pytest.skip("zstd is not installed")
    return subprocess.run(
        [zstd, "-d", "-c"], input=body, capture_output=True, check=True, timeout=30
    ).stdout


def test_channel_delivers_exact_bytes_under_its_template(setup):
    server, kinesis, s3, bucket = setup
    stream, stream_arn = new_stream(kinesis)
    name = f"ch-{uuid.uuid4().hex[:8]}"
    before = time.gmtime()
    described = create(
        kinesis, name, stream_arn,
        destination(bucket, template="raw/!{timestamp:yyyy}/", dead_letter_prefix="dlq/"),
        Tags={"team": "data"},
    )
    assert described["ChannelName"] == name
    assert described["ChannelARN"] == f"arn:aws:kinesis:us-east-1:{OWNER}:channel/{name}"
    assert described["ChannelStatus"] == "ACTIVE"
    assert described["ServiceExecutionRoleARN"] == ROLE
    assert described["StreamConfigurationList"][0]["StreamARN"] == stream_arn
    storage = described["S3DestinationConfiguration"]["StorageConfiguration"]
    assert storage["OutputKeyTemplate"] == "raw/!{timestamp:yyyy}/"
    assert storage["CompressionType"] == "NONE"
    assert described["S3DestinationConfiguration"]["DeadLetterQueueS3Configuration"][
        "ErrorOutputPrefix"] == "dlq/"
    assert described["LoggingConfiguration"] == {"CloudWatchLogs": {"Enabled": False}}

    records = [f"record-{i}|".encode() for i in range(30)] + [b"\x00\xff binary\n"]
    put(kinesis, stream, records)
    expected = b"".join(records)
    found = delivered(s3, bucket, "raw/", expected)
    assert b"".join(found[key] for key in sorted(found)) == expected
    for key in found:
        match = KEY_RE.match(key)
        assert match, key
        # The template's expression is rendered at the first record's arrival (UTC).
        assert match["prefix"] in {f"raw/{before.tm_year}/", f"raw/{time.gmtime().tm_year}/"}
        assert match["name"] == name
        assert match["ext"] is None
    # Nothing failed, so nothing went to the dead-letter prefix.
    assert objects(s3, bucket, "dlq/") == {}
    # The channel's delivery stream is not a Firehose delivery stream.
    firehose = server.client("firehose")
    assert firehose.list_delivery_streams()["DeliveryStreamNames"] == []


@pytest.mark.parametrize("compression", ["GZIP", "ZSTD"])
def test_channel_compresses_its_objects(setup, compression):
    _server, kinesis, s3, bucket = setup
    stream, stream_arn = new_stream(kinesis, shards=2)
    name = f"ch-{uuid.uuid4().hex[:8]}"
    create(kinesis, name, stream_arn, destination(bucket, compression, template="z/"))
    records = [f"compressed-{i}-".encode() * 10 for i in range(50)]
    put(kinesis, stream, records)
    decode = gzip.decompress if compression == "GZIP" else unzstd
    extension = ".gz" if compression == "GZIP" else ".zst"
    found = delivered(s3, bucket, "z/", b"".join(records), decode)
    assert b"".join(decode(found[key]) for key in sorted(found)) == b"".join(records)
    assert all(key.endswith(extension) for key in found)


def test_channel_describe_list_update_delete(setup):
    _server, kinesis, s3, bucket = setup
    stream, stream_arn = new_stream(kinesis)
    other, other_arn = new_stream(kinesis)
    names = sorted(f"ch-{i}-{uuid.uuid4().hex[:6]}" for i in range(3))
    for name in names[:2]:
        create(kinesis, name, stream_arn, destination(bucket, freshness=60))
    create(kinesis, names[2], other_arn, destination(bucket, freshness=60))
    arn = f"arn:aws:kinesis:us-east-1:{OWNER}:channel/{names[0]}"

    described = kinesis.describe_channel(ChannelARN=arn)["ChannelDescription"]
    assert described["S3DestinationConfiguration"]["DataFreshnessInSeconds"] == 60
    assert described["ChannelId"]

    listed = kinesis.list_channels()["ChannelSummaries"]
    assert [c["ChannelName"] for c in listed] == names
    assert all(c["ChannelDestinationType"] == "S3" for c in listed)
    filtered = kinesis.list_channels(StreamFilter=[{"StreamARN": other_arn}])
    assert [c["ChannelName"] for c in filtered["ChannelSummaries"]] == [names[2]]
    assert filtered["ChannelSummaries"][0]["Streams"][0]["StreamARN"] == other_arn
    first = kinesis.list_channels(MaxResults=2)
    assert [c["ChannelName"] for c in first["ChannelSummaries"]] == names[:2]
    rest = kinesis.list_channels(MaxResults=2, NextToken=first["NextToken"])
    assert [c["ChannelName"] for c in rest["ChannelSummaries"]] == names[2:]
    assert "NextToken" not in rest

    updated = kinesis.update_channel(
        ChannelARN=arn,
        S3DestinationConfiguration={"DataFreshnessInSeconds": 0},
        LoggingConfiguration={"CloudWatchLogs": {"Enabled": True, "LogGroupName": "g"}},
    )["ChannelDescription"]
    assert updated["S3DestinationConfiguration"]["DataFreshnessInSeconds"] == 0
    assert updated["LoggingConfiguration"]["CloudWatchLogs"] == {
        "Enabled": True, "LogGroupName": "g"}
    # The shorter freshness applies to what the channel reads next.
    put(kinesis, stream, [b"fresh"])
    found = wait_for(lambda: objects(s3, bucket) or None)
    assert b"fresh" in b"".join(found.values())

    kinesis.delete_channel(ChannelARN=arn)
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.describe_channel(ChannelARN=arn)
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.delete_channel(ChannelARN=arn)
    assert [c["ChannelName"] for c in kinesis.list_channels()["ChannelSummaries"]] == names[1:]
    # The name is free again.
    create(kinesis, names[0], stream_arn, destination(bucket))


def test_channel_bad_input_gets_kinesis_exceptions(setup):
    server, kinesis, _s3, bucket = setup
    stream, stream_arn = new_stream(kinesis)
    name = f"ch-{uuid.uuid4().hex[:8]}"
    create(kinesis, name, stream_arn, destination(bucket))
    with pytest.raises(kinesis.exceptions.ResourceInUseException):
        create(kinesis, name, stream_arn, destination(bucket))
    missing = stream_arn.rsplit("/", 1)[0] + "/no-such-stream"
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        create(kinesis, "other", missing, destination(bucket))
    with pytest.raises(kinesis.exceptions.InvalidArgumentException):
        create(kinesis, "bad-template", stream_arn,
               destination(bucket, template="a/!{nonsense}/"))
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.describe_channel(
            ChannelARN=f"arn:aws:kinesis:us-east-1:{OWNER}:channel/none")

    # What botocore would refuse before sending, sent raw.
    def raw(operation: str, body: dict):
        answer = raw_request(
            server.endpoint, json.dumps(body).encode(), f"Kinesis_20131202.{operation}",
            content_type="application/x-amz-json-1.1",
        )
        return answer.status, json.loads(answer.body)["__type"]

    good = {
        "ChannelName": "raw",
        "ServiceExecutionRoleARN": ROLE,
        "StreamConfigurationList": [
            {"StreamARN": stream_arn, "RecordConfiguration": {"RecordFormatType": "BYTE_ARRAY"}}
        ],
        "S3DestinationConfiguration": destination(bucket),
    }
    compression = json.loads(json.dumps(good))
    compression["S3DestinationConfiguration"]["StorageConfiguration"]["CompressionType"] = "LZ4"
    assert raw("CreateChannel", compression) == (400, "ValidationException")
    freshness = json.loads(json.dumps(good))
    freshness["S3DestinationConfiguration"]["DataFreshnessInSeconds"] = 100_000
    assert raw("CreateChannel", freshness) == (400, "ValidationException")
    assert raw("CreateChannel", {**good, "ChannelName": "bad name"}) == (
        400, "ValidationException")
    assert raw("CreateChannel", {**good, "StreamConfigurationList": []}) == (
        400, "ValidationException")
    two = {**good, "StreamConfigurationList": good["StreamConfigurationList"] * 2}
    assert raw("CreateChannel", two) == (400, "InvalidArgumentException")
    no_s3 = {k: v for k, v in good.items() if k != "S3DestinationConfiguration"}
    assert raw("CreateChannel", no_s3) == (400, "InvalidArgumentException")
    assert raw("DescribeChannel", {"ChannelARN": stream_arn}) == (400, "ValidationException")
    assert raw("DescribeChannel", {}) == (400, "ValidationException")
    assert raw("ListChannels", {"MaxResults": 0}) == (400, "ValidationException")
    assert raw("ListChannels", {"NextToken": "garbage"}) == (400, "ExpiredNextTokenException")
    assert raw("UpdateChannel", {
        "ChannelARN": f"arn:aws:kinesis:us-east-1:{OWNER}:channel/{name}",
        "S3DestinationConfiguration": {"DataFreshnessInSeconds": -1},
    }) == (400, "ValidationException")
    assert raw("CreateChannel", {"ChannelName": 5}) == (400, "SerializationException")
    # None of it hurt the channel.
    assert kinesis.describe_channel(
        ChannelARN=f"arn:aws:kinesis:us-east-1:{OWNER}:channel/{name}"
    )["ChannelDescription"]["ChannelStatus"] == "ACTIVE"
