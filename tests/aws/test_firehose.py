"""Delivery streams through unmodified boto3: the Firehose API of `strata serve` delivering
into a real S3-compatible server (moto's standalone server, started by these tests on a
free loopback port and read back with boto3's S3 client).

What is checked: PutRecord/PutRecordBatch land as objects with the exact bytes, Firehose's
key layout, prefixes with expressions and GZIP; a Kinesis stream as the source; buffering by
size and by interval; bad input gets Firehose's exceptions; a store that goes away and comes
back gets everything once; a SIGKILLed server delivers every acknowledged record exactly
once after its restart. Every wait is bounded.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path

import pytest

from strata_aws import free_port, raw_request

pytest.importorskip("moto")

ROLE = "arn:aws:iam::000000000000:role/firehose"
#: How long a delivery may take to show up in the store.
DELIVERY_TIMEOUT_S = 20.0
#: How long moto may take to start.
MOTO_STARTUP_TIMEOUT_S = 30.0
KEY_RE = re.compile(
    r"^(?P<prefix>.*?)(?P<name>[A-Za-z0-9_.-]+)-(?P<version>\d+)-"
    r"(?P<time>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})-"
    r"(?P<unique>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?P<ext>\.\w+)?$"
)


class Moto:
    """moto's S3-compatible server as a child process on a fixed loopback port, so it can be
    stopped and started again at the same endpoint (it keeps its data in memory: a restart
    empties it)."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Moto":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + MOTO_STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1):
                    return self
            except urllib.error.HTTPError:
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto did not start within {MOTO_STARTUP_TIMEOUT_S}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def s3(self, server):
        return server_client(self.endpoint, "s3")


def server_client(endpoint: str, service: str):
    from strata_aws import client_for

    return client_for(endpoint, service)


@pytest.fixture
def moto(tmp_path):
    store = Moto(tmp_path / "moto.log").start()
    yield store
    store.stop()


def config_for(store: Moto) -> str:
    return (
        "[delivery]\n"
        f's3_endpoint = "{store.endpoint}"\n'
        's3_access_key_id = "test"\n'
        's3_secret_access_key = "test"\n'
        "retry_backoff_max_ms = 300\n"
        # Objects of 1 MiB and more go up in parts, so the size test exercises multipart.
        "multipart_bytes_min = 1048576\n"
    )


@pytest.fixture
def setup(start_server, moto):
    """A server delivering to `moto`: (server, firehose client, s3 client, bucket)."""
    server = start_server(config_toml=config_for(moto))
    s3 = server_client(moto.endpoint, "s3")
    bucket = f"bucket-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    return server, server.client("firehose"), s3, bucket


def extended(bucket: str, **overrides) -> dict:
    config = {
        "RoleARN": ROLE,
        "BucketARN": f"arn:aws:s3:::{bucket}",
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
    }
    config.update(overrides)
    return config


def delimited() -> dict:
    return {"Enabled": True, "Processors": [{"Type": "AppendDelimiterToRecord"}]}


def objects(s3, bucket: str, prefix: str = "") -> dict[str, bytes]:
    """Every object in the bucket under `prefix`: key → body."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"]] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return found


def wait_for(condition, timeout_s: float = DELIVERY_TIMEOUT_S, interval_s: float = 0.1):
    """Polls `condition` until it returns something truthy (returned) or the time is up."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s")
        time.sleep(interval_s)


def lines_of(store: dict[str, bytes], decompress=False) -> list[bytes]:
    out = []
    for body in store.values():
        if decompress:
            body = gzip.decompress(body)
        out.extend(line for line in body.split(b"\n") if line)
    return out


def wait_lines(s3, bucket, expected: int, prefix: str = "", decompress=False):
    def enough():
        found = objects(s3, bucket, prefix)
        return found if len(lines_of(found, decompress)) >= expected else None

    return wait_for(enough)


def test_put_record_batch_lands_exact_bytes_under_firehose_keys(setup):
    server, firehose, s3, bucket = setup
    name = f"direct-{uuid.uuid4().hex[:8]}"
    arn = firehose.create_delivery_stream(
        DeliveryStreamName=name,
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration=extended(
            bucket, Prefix="raw/", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1}
        ),
    )["DeliveryStreamARN"]
    assert arn == f"arn:aws:firehose:us-east-1:000000000000:deliverystream/{name}"
    records = [f"record-{i}|".encode() for i in range(20)] + [b"\x00\xff binary"]
    before = time.gmtime()
    answer = firehose.put_record_batch(
        DeliveryStreamName=name, Records=[{"Data": data} for data in records]
    )
    assert answer["FailedPutCount"] == 0
    assert len(answer["RequestResponses"]) == len(records)
    assert all("RecordId" in entry for entry in answer["RequestResponses"])
    one = firehose.put_record(DeliveryStreamName=name, Record={"Data": b"last"})
    assert one["RecordId"] and one["Encrypted"] is False

    found = wait_for(lambda: (lambda o: o if b"last" in b"".join(o.values()) else None)(
        objects(s3, bucket)))
    body = b"".join(found[key] for key in sorted(found))
    assert body == b"".join(records) + b"last"
    for key in found:
        match = KEY_RE.match(key)
        assert match, key
        assert match["name"] == name and match["version"] == "1" and match["ext"] is None
        assert match["prefix"] == "raw/" + time.strftime("%Y/%m/%d/%H/", before) or (
            match["prefix"].startswith("raw/")
        )
        assert re.fullmatch(r"raw/\d{4}/\d{2}/\d{2}/\d{2}/", match["prefix"])


def test_a_delivery_streams_own_stream_is_the_native_protocols_not_kinesiss(setup, strata_bin):
    """The engine stream of a DirectPut delivery stream belongs to the delivery view: Kinesis
    does not list it or count its shard, while the native protocol reads it by its name."""
    server, firehose, _s3, bucket = setup
    name = f"own-{uuid.uuid4().hex[:8]}"
    firehose.create_delivery_stream(
        DeliveryStreamName=name,
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration=extended(bucket),
    )
    firehose.put_record_batch(
        DeliveryStreamName=name, Records=[{"Data": f"r{i}".encode()} for i in range(3)]
    )
    kinesis = server.client("kinesis")
    assert kinesis.list_streams()["StreamNames"] == []
    assert kinesis.describe_limits()["OpenShardCount"] == 0
    listed = subprocess.run(
        [str(strata_bin), "stream", "list", "--addr", server.native_address],
        capture_output=True, timeout=60, check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.decode().split() == [f"firehose:{name}"]
    tailed = subprocess.run(
        [str(strata_bin), "tail", f"firehose:{name}", "--from", "trim-horizon", "--limit", "3",
         "--addr", server.native_address],
        capture_output=True, timeout=60, check=False,
    )
    assert tailed.returncode == 0, tailed.stderr
    assert tailed.stdout.decode().split() == ["r0", "r1", "r2"]


def test_gzip_zip_delimiter_and_prefix_expressions(setup):
    server, firehose, s3, bucket = setup
    name = f"gz-{uuid.uuid4().hex[:8]}"
    firehose.create_delivery_stream(
        DeliveryStreamName=name,
        ExtendedS3DestinationConfiguration=extended(
            bucket,
            Prefix="events/year=!{timestamp:yyyy}/!{firehose:random-string}/",
            ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
            CompressionFormat="GZIP",
            ProcessingConfiguration=delimited(),
        ),
    )
    records = [json.dumps({"n": i}).encode() for i in range(50)]
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in records])
    found = wait_lines(s3, bucket, len(records), prefix="events/", decompress=True)
    assert sorted(lines_of(found, decompress=True)) == sorted(records)
    year = time.strftime("%Y", time.gmtime())
    for key in found:
        assert re.fullmatch(
            rf"events/year={year}/[A-Za-z0-9]{{11}}/{name}-1-[0-9-]{{19}}-[0-9a-f-]{{36}}\.gz", key
        ), key

    zipped = f"zip-{uuid.uuid4().hex[:8]}"
    firehose.create_delivery_stream(
        DeliveryStreamName=zipped,
        ExtendedS3DestinationConfiguration=extended(
            bucket, Prefix="zipped/", CompressionFormat="ZIP", ProcessingConfiguration=delimited()
        ),
    )
    firehose.put_record_batch(DeliveryStreamName=zipped, Records=[{"Data": r} for r in records])
    found = wait_for(lambda: objects(s3, bucket, "zipped/"))
    content = b""
    for key, body in found.items():
        assert key.endswith(".zip"), key
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            (entry,) = archive.namelist()
            assert key.endswith("/" + entry + ".zip")
            content += archive.read(entry)
    assert sorted(line for line in content.split(b"\n") if line) == sorted(records)


def test_kinesis_stream_as_source_delivers_every_shard(setup):
    server, firehose, s3, bucket = setup
    kinesis = server.client("kinesis")
    stream = f"src-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    stream_arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
        "StreamARN"
    ]
    before = [f"before-{i}".encode() for i in range(5)]
    kinesis.put_records(
        StreamName=stream, Records=[{"Data": d, "PartitionKey": d.decode()} for d in before]
    )
    name = f"fromkinesis-{uuid.uuid4().hex[:8]}"
    firehose.create_delivery_stream(
        DeliveryStreamName=name,
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": ROLE},
        ExtendedS3DestinationConfiguration=extended(
            bucket, Prefix="k/", ProcessingConfiguration=delimited()
        ),
    )
    description = firehose.describe_delivery_stream(DeliveryStreamName=name)[
        "DeliveryStreamDescription"
    ]
    assert description["DeliveryStreamType"] == "KinesisStreamAsSource"
    assert description["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"] == stream_arn
    after = [f"after-{i}".encode() for i in range(40)]
    kinesis.put_records(
        StreamName=stream, Records=[{"Data": d, "PartitionKey": d.decode()} for d in after]
    )
    found = wait_lines(s3, bucket, len(after), prefix="k/")
    # Delivery starts at LATEST: records put before the delivery stream existed are not sent.
    assert sorted(lines_of(found)) == sorted(after)
    with pytest.raises(firehose.exceptions.InvalidArgumentException):
        firehose.put_record(DeliveryStreamName=name, Record={"Data": b"x"})
    # The Kinesis API does not see delivery streams' own streams.
    assert kinesis.list_streams()["StreamNames"] == [stream]

    # A split: the parent is delivered to its end, then its children are read.
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]
    middle = (int(shard["HashKeyRange"]["StartingHashKey"]) + int(
        shard["HashKeyRange"]["EndingHashKey"])) // 2
    kinesis.split_shard(
        StreamName=stream, ShardToSplit=shard["ShardId"], NewStartingHashKey=str(middle)
    )
    split = [f"split-{i}".encode() for i in range(40)]
    kinesis.put_records(
        StreamName=stream, Records=[{"Data": d, "PartitionKey": d.decode()} for d in split]
    )
    found = wait_lines(s3, bucket, len(after) + len(split), prefix="k/")
    assert sorted(lines_of(found)) == sorted(after + split)


def test_buffering_by_size_and_by_interval(setup):
    server, firehose, s3, bucket = setup
    by_size = f"size-{uuid.uuid4().hex[:8]}"
    firehose.create_delivery_stream(
        DeliveryStreamName=by_size,
        ExtendedS3DestinationConfiguration=extended(
            bucket, Prefix="size/", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 900}
        ),
    )
    record = b"x" * (100 * 1024)
    for _ in range(3):
        firehose.put_record_batch(
            DeliveryStreamName=by_size, Records=[{"Data": record}] * 4
        )
    # 11 records of 100 KiB reach 1 MiB: they are one object (uploaded in parts); the 12th
    # waits for 15 minutes.
    found = wait_for(lambda: objects(s3, bucket, "size/"))
    assert [len(body) for body in found.values()] == [11 * len(record)]
    time.sleep(1.0)
    assert len(objects(s3, bucket, "size/")) == 1

    by_time = f"time-{uuid.uuid4().hex[:8]}"
    firehose.create_delivery_stream(
        DeliveryStreamName=by_time,
        ExtendedS3DestinationConfiguration=extended(
            bucket, Prefix="time/", BufferingHints={"SizeInMBs": 128, "IntervalInSeconds": 1}
        ),
    )
    started = time.monotonic()
    firehose.put_record(DeliveryStreamName=by_time, Record={"Data": b"a"})
    firehose.put_record(DeliveryStreamName=by_time, Record={"Data": b"b"})
    found = wait_for(lambda: objects(s3, bucket, "time/"), interval_s=0.05)
    elapsed = time.monotonic() - started
    assert elapsed >= 0.9, f"delivered after {elapsed:.2f}s, before the 1 s interval"
    assert list(found.values()) == [b"ab"]


def test_bad_input_gets_firehose_exceptions(setup):
    server, firehose, s3, bucket = setup
    errors = firehose.exceptions
    with pytest.raises(errors.ResourceNotFoundException):
        firehose.put_record(DeliveryStreamName="missing", Record={"Data": b"x"})
    with pytest.raises(errors.ResourceNotFoundException):
        firehose.describe_delivery_stream(DeliveryStreamName="missing")
    with pytest.raises(errors.ResourceNotFoundException):
        firehose.delete_delivery_stream(DeliveryStreamName="missing")

    def create(name, **kwargs):
        return firehose.create_delivery_stream(DeliveryStreamName=name, **kwargs)

    for hints, member in [
        ({"SizeInMBs": 200, "IntervalInSeconds": 60}, "sizeInMBs"),
        ({"SizeInMBs": 5, "IntervalInSeconds": 901}, "intervalInSeconds"),
    ]:
        with pytest.raises(firehose.exceptions.ClientError) as caught:
            create("hints", ExtendedS3DestinationConfiguration=extended(bucket, BufferingHints=hints))
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        assert member in caught.value.response["Error"]["Message"]
    with pytest.raises(errors.InvalidArgumentException):
        create("nodest")
    with pytest.raises(errors.InvalidArgumentException):
        create(
            "badprefix",
            ExtendedS3DestinationConfiguration=extended(bucket, Prefix="!{timestamp:yyyy}/"),
        )
    with pytest.raises(errors.InvalidArgumentException):
        create(
            "nosource",
            DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={
                "KinesisStreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/none",
                "RoleARN": ROLE,
            },
            ExtendedS3DestinationConfiguration=extended(bucket),
        )

    name = f"limits-{uuid.uuid4().hex[:8]}"
    create(name, ExtendedS3DestinationConfiguration=extended(bucket))
    with pytest.raises(errors.ResourceInUseException):
        create(name, ExtendedS3DestinationConfiguration=extended(bucket))
    with pytest.raises(firehose.exceptions.ClientError) as caught:
        firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b"x"}] * 501)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(firehose.exceptions.ClientError) as caught:
        firehose.put_record(DeliveryStreamName=name, Record={"Data": b"x" * 1_024_001})
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    firehose.put_record(DeliveryStreamName=name, Record={"Data": b"x" * 1_024_000})
    with pytest.raises(errors.InvalidArgumentException):
        firehose.put_record_batch(
            DeliveryStreamName=name, Records=[{"Data": b"y" * 1_000_000}] * 5
        )
    version = firehose.describe_delivery_stream(DeliveryStreamName=name)[
        "DeliveryStreamDescription"
    ]["VersionId"]
    with pytest.raises(errors.ConcurrentModificationException):
        firehose.update_destination(
            DeliveryStreamName=name,
            CurrentDeliveryStreamVersionId=str(int(version) + 5),
            DestinationId="destinationId-000000000001",
            ExtendedS3DestinationUpdate={"Prefix": "p/"},
        )
    # Malformed bodies are 400s, never 500s.
    for body in [b"{", b"[]", b'{"DeliveryStreamName": 5}', b'{"Records": "x"}']:
        response = raw_request(
            server.endpoint, body, "Firehose_20150804.PutRecordBatch"
        )
        assert response.status == 400, response
    response = raw_request(server.endpoint, b"{}", "Firehose_20150804.NoSuchOperation")
    assert response.status == 400 and response.error_type == "UnknownOperationException"


def test_describe_list_update_tags_encryption_and_delete(setup):
    server, firehose, s3, bucket = setup
    names = sorted(f"admin-{i}-{uuid.uuid4().hex[:6]}" for i in range(3))
    for name in names:
        firehose.create_delivery_stream(
            DeliveryStreamName=name,
            S3DestinationConfiguration={"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{bucket}"},
            Tags=[{"Key": "team", "Value": "data"}],
        )
    listed = firehose.list_delivery_streams(Limit=2)
    assert listed["DeliveryStreamNames"] == names[:2] and listed["HasMoreDeliveryStreams"]
    rest = firehose.list_delivery_streams(ExclusiveStartDeliveryStreamName=names[1])
    assert rest["DeliveryStreamNames"] == names[2:] and not rest["HasMoreDeliveryStreams"]
    assert firehose.list_delivery_streams(DeliveryStreamType="KinesisStreamAsSource")[
        "DeliveryStreamNames"
    ] == []

    name = names[0]
    description = firehose.describe_delivery_stream(DeliveryStreamName=name)[
        "DeliveryStreamDescription"
    ]
    assert description["DeliveryStreamStatus"] == "ACTIVE"
    assert description["DeliveryStreamType"] == "DirectPut"
    assert description["VersionId"] == "1"
    destination = description["Destinations"][0]
    assert destination["DestinationId"] == "destinationId-000000000001"
    s3_description = destination["S3DestinationDescription"]
    assert s3_description["BufferingHints"] == {"SizeInMBs": 5, "IntervalInSeconds": 300}
    assert s3_description["CompressionFormat"] == "UNCOMPRESSED"
    assert "FailureDescription" not in description

    firehose.update_destination(
        DeliveryStreamName=name,
        CurrentDeliveryStreamVersionId="1",
        DestinationId="destinationId-000000000001",
        ExtendedS3DestinationUpdate={
            "Prefix": "updated/",
            "CompressionFormat": "GZIP",
            "BufferingHints": {"SizeInMBs": 2, "IntervalInSeconds": 0},
        },
    )
    description = firehose.describe_delivery_stream(DeliveryStreamName=name)[
        "DeliveryStreamDescription"
    ]
    assert description["VersionId"] == "2"
    assert "LastUpdateTimestamp" in description
    ext = description["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert ext["Prefix"] == "updated/" and ext["CompressionFormat"] == "GZIP"
    assert ext["RoleARN"] == ROLE and ext["BufferingHints"]["SizeInMBs"] == 2

    firehose.tag_delivery_stream(
        DeliveryStreamName=name, Tags=[{"Key": "env", "Value": "test"}, {"Key": "bare"}]
    )
    tags = firehose.list_tags_for_delivery_stream(DeliveryStreamName=name)
    assert tags["Tags"] == [
        {"Key": "bare"},
        {"Key": "env", "Value": "test"},
        {"Key": "team", "Value": "data"},
    ]
    assert not tags["HasMoreTags"]
    page = firehose.list_tags_for_delivery_stream(DeliveryStreamName=name, Limit=1)
    assert page["Tags"] == [{"Key": "bare"}] and page["HasMoreTags"]
    firehose.untag_delivery_stream(DeliveryStreamName=name, TagKeys=["bare", "team"])
    assert firehose.list_tags_for_delivery_stream(DeliveryStreamName=name)["Tags"] == [
        {"Key": "env", "Value": "test"}
    ]
    with pytest.raises(firehose.exceptions.LimitExceededException):
        firehose.tag_delivery_stream(
            DeliveryStreamName=name, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)]
        )

    encryption = lambda: firehose.describe_delivery_stream(DeliveryStreamName=name)[  # noqa: E731
        "DeliveryStreamDescription"
    ]["DeliveryStreamEncryptionConfiguration"]
    assert encryption()["Status"] == "DISABLED"
    firehose.start_delivery_stream_encryption(
        DeliveryStreamName=name,
        DeliveryStreamEncryptionConfigurationInput={"KeyType": "AWS_OWNED_CMK"},
    )
    assert encryption() == {"KeyType": "AWS_OWNED_CMK", "Status": "ENABLED"}
    assert firehose.put_record(DeliveryStreamName=name, Record={"Data": b"e"})["Encrypted"]
    with pytest.raises(firehose.exceptions.InvalidArgumentException):
        firehose.start_delivery_stream_encryption(
            DeliveryStreamName=name,
            DeliveryStreamEncryptionConfigurationInput={"KeyType": "CUSTOMER_MANAGED_CMK"},
        )
    firehose.stop_delivery_stream_encryption(DeliveryStreamName=name)
    assert encryption()["Status"] == "DISABLED"

    # Settings survive a restart.
    server.restart()
    firehose = server.client("firehose")
    description = firehose.describe_delivery_stream(DeliveryStreamName=name)[
        "DeliveryStreamDescription"
    ]
    assert description["VersionId"] == "2"
    assert firehose.list_tags_for_delivery_stream(DeliveryStreamName=name)["Tags"] == [
        {"Key": "env", "Value": "test"}
    ]
    for each in names:
        firehose.delete_delivery_stream(DeliveryStreamName=each)
    assert firehose.list_delivery_streams()["DeliveryStreamNames"] == []
    with pytest.raises(firehose.exceptions.ResourceNotFoundException):
        firehose.describe_delivery_stream(DeliveryStreamName=name)


def test_store_outage_is_reported_and_everything_is_delivered_once(start_server, tmp_path):
    store = Moto(tmp_path / "moto-outage.log").start()
    try:
        server = start_server(config_toml=config_for(store))
        firehose = server.client("firehose")
        bucket = "outage"
        store.s3(server).create_bucket(Bucket=bucket)
        name = "outage"
        firehose.create_delivery_stream(
            DeliveryStreamName=name,
            ExtendedS3DestinationConfiguration=extended(
                bucket, ProcessingConfiguration=delimited()
            ),
        )
        first = [f"first-{i}".encode() for i in range(30)]
        firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in first])
        assert sorted(lines_of(wait_lines(store.s3(server), bucket, len(first)))) == sorted(first)

        store.stop()
        second = [f"second-{i}".encode() for i in range(30)]
        for chunk in range(3):
            part = second[chunk * 10 : (chunk + 1) * 10]
            firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in part])

        def failing():
            description = firehose.describe_delivery_stream(DeliveryStreamName=name)[
                "DeliveryStreamDescription"
            ]
            return description.get("FailureDescription")

        failure = wait_for(failing)
        assert failure["Type"] == "UNKNOWN_ERROR" and "put the object" in failure["Details"]

        store.start()  # same port, empty: the earlier objects are gone with the old process
        store.s3(server).create_bucket(Bucket=bucket)
        found = wait_lines(store.s3(server), bucket, len(second))
        time.sleep(0.5)
        found = objects(store.s3(server), bucket)
        assert sorted(lines_of(found)) == sorted(second)
        wait_for(lambda: not failing())
        metrics = urllib.request.urlopen(server.endpoint + "/metrics", timeout=5).read().decode()
        assert f'strata_delivery_records_in_total{{delivery_stream="{name}"}} 60' in metrics
        failures = re.search(
            rf'strata_delivery_failures_total{{delivery_stream="{name}"}} (\d+)', metrics
        )
        assert failures and int(failures[1]) > 0
    finally:
        store.stop()


def test_sigkill_during_delivery_delivers_every_acknowledged_record_once(setup):
    server, firehose, s3, bucket = setup
    name = "crash"
    firehose.create_delivery_stream(
        DeliveryStreamName=name,
        ExtendedS3DestinationConfiguration=extended(
            bucket, ProcessingConfiguration=delimited(), CompressionFormat="GZIP"
        ),
    )
    acknowledged: list[bytes] = []
    sent = 0
    for round_ in range(3):
        for batch in range(15):
            records = [f"r{round_}-{batch}-{i}".encode() for i in range(40)]
            sent += len(records)
            answer = firehose.put_record_batch(
                DeliveryStreamName=name, Records=[{"Data": r} for r in records]
            )
            assert answer["FailedPutCount"] == 0
            acknowledged.extend(records)
        # Deliveries run continuously (IntervalInSeconds 0): the kill lands among them.
        server.kill9()
        server.start()
        firehose = server.client("firehose")
    found = wait_lines(s3, bucket, len(acknowledged), decompress=True, prefix="")
    time.sleep(0.5)
    found = objects(s3, bucket)
    delivered = lines_of(found, decompress=True)
    counts: dict[bytes, int] = {}
    for line in delivered:
        counts[line] = counts.get(line, 0) + 1
    duplicates = {line: n for line, n in counts.items() if n > 1}
    assert not duplicates, f"{len(duplicates)} records delivered more than once"
    missing = [record for record in acknowledged if record not in counts]
    assert not missing, f"{len(missing)} acknowledged records not delivered"
    assert len(delivered) == len(acknowledged)


def test_a_bucket_mapped_to_a_local_directory_receives_files(start_server, tmp_path):
    lake = tmp_path / "lake"
    server = start_server(
        config_toml=f'[delivery.buckets.local-lake]\ndirectory = "{lake}"\n'
    )
    firehose = server.client("firehose")
    firehose.create_delivery_stream(
        DeliveryStreamName="to-disk",
        ExtendedS3DestinationConfiguration={
            "RoleARN": ROLE,
            "BucketARN": "arn:aws:s3:::local-lake",
            "Prefix": "d/",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
            "CompressionFormat": "GZIP",
            "ProcessingConfiguration": delimited(),
        },
    )
    records = [f"line-{i}".encode() for i in range(100)]
    firehose.put_record_batch(DeliveryStreamName="to-disk", Records=[{"Data": r} for r in records])

    def delivered():
        files = [p for p in lake.rglob("*") if p.is_file()]
        lines = [
            line for p in files for line in gzip.decompress(p.read_bytes()).split(b"\n") if line
        ]
        return (files, lines) if len(lines) >= len(records) else None

    files, lines = wait_for(delivered)
    assert sorted(lines) == sorted(records)
    for path in files:
        key = path.relative_to(lake).as_posix()
        assert KEY_RE.match(key) and key.startswith("d/") and key.endswith(".gz"), key


def test_signed_requests_are_verified_for_the_firehose_service(start_server, tmp_path):
    from strata_aws import client_for

    key_id, secret = "AKIDFIREHOSE", "firehose/test+secret"
    server = start_server(config_toml=f'[auth.access_keys]\n{key_id} = "{secret}"\n')
    good = client_for(server.endpoint, "firehose", access_key_id=key_id, secret_access_key=secret)
    good.create_delivery_stream(
        DeliveryStreamName="signed",
        ExtendedS3DestinationConfiguration={
            "RoleARN": ROLE,
            "BucketARN": "arn:aws:s3:::b",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 900},
        },
    )
    assert good.list_delivery_streams()["DeliveryStreamNames"] == ["signed"]
    bad = client_for(server.endpoint, "firehose", access_key_id=key_id, secret_access_key="no")
    with pytest.raises(bad.exceptions.ClientError) as caught:
        bad.list_delivery_streams()
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"


def partitioning(query: str) -> dict:
    return {
        "Enabled": True,
        "Processors": [
            {
                "Type": "MetadataExtraction",
                "Parameters": [
                    {"ParameterName": "MetadataExtractionQuery", "ParameterValue": query},
                    {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"},
                ],
            },
            {"Type": "AppendDelimiterToRecord"},
        ],
    }


def test_dynamic_partitioning_splits_records_by_query_and_fails_the_rest(setup):
    server, firehose, s3, bucket = setup
    name = f"parted-{uuid.uuid4().hex[:8]}"
    query = "{customer_id: .customer_id, region: .geo.region}"
    firehose.create_delivery_stream(
        DeliveryStreamName=name,
        ExtendedS3DestinationConfiguration=extended(
            bucket,
            Prefix="c=!{partitionKeyFromQuery:customer_id}/r=!{partitionKeyFromQuery:region}/",
            ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
            BufferingHints={"SizeInMBs": 64, "IntervalInSeconds": 1},
            DynamicPartitioningConfiguration={
                "Enabled": True,
                "RetryOptions": {"DurationInSeconds": 300},
            },
            ProcessingConfiguration=partitioning(query),
        ),
    )
    described = firehose.describe_delivery_stream(DeliveryStreamName=name)
    destination = described["DeliveryStreamDescription"]["Destinations"][0][
        "ExtendedS3DestinationDescription"
    ]
    assert destination["DynamicPartitioningConfiguration"] == {
        "Enabled": True,
        "RetryOptions": {"DurationInSeconds": 300},
    }
    processors = destination["ProcessingConfiguration"]["Processors"]
    assert processors[0]["Type"] == "MetadataExtraction"
    assert {"ParameterName": "MetadataExtractionQuery", "ParameterValue": query} in (
        processors[0]["Parameters"]
    )

    good = [
        {"customer_id": 7, "geo": {"region": "eu"}, "n": 0},
        {"customer_id": 8, "geo": {"region": "us"}, "n": 1},
        {"customer_id": 7, "geo": {"region": "eu"}, "n": 2},
    ]
    bad = [b"not json", json.dumps({"customer_id": 9}).encode()]
    records = [json.dumps(good[0]).encode(), bad[0], json.dumps(good[1]).encode(), bad[1],
               json.dumps(good[2]).encode()]
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in records])

    found = wait_for(lambda: (lambda o: o if len(o) >= 3 else None)(objects(s3, bucket)))
    by_prefix = {}
    for key, body in found.items():
        match = KEY_RE.match(key)
        assert match and match["name"] == name, key
        by_prefix.setdefault(match["prefix"], []).append(body)
    assert sorted(by_prefix) == ["c=7/r=eu/", "c=8/r=us/", "errors/partitioning-failed/"]
    assert [json.loads(line) for line in by_prefix["c=7/r=eu/"][0].splitlines()] == [
        good[0], good[2]
    ]
    assert [json.loads(line) for line in by_prefix["c=8/r=us/"][0].splitlines()] == [good[1]]
    import base64

    documents = [json.loads(line) for line in by_prefix["errors/partitioning-failed/"][0]
                 .splitlines()]
    assert [base64.b64decode(d["rawData"]) for d in documents] == bad
    for document in documents:
        assert document["errorCode"] == "DynamicPartitioning.MetadataExtractionFailed"
        assert document["errorMessage"] and document["attemptsMade"] == 1
        assert isinstance(document["arrivalTimestamp"], int)


def test_dynamic_partitioning_settings_are_checked(setup):
    server, firehose, s3, bucket = setup
    cases = [
        # partitionKeyFromQuery without dynamic partitioning.
        dict(Prefix="c=!{partitionKeyFromQuery:c}/", ErrorOutputPrefix="e/"),
        # Dynamic partitioning without an error prefix.
        dict(Prefix="c=!{partitionKeyFromQuery:c}/",
             DynamicPartitioningConfiguration={"Enabled": True},
             ProcessingConfiguration=partitioning("{c: .c}")),
        # A key the query does not define.
        dict(Prefix="c=!{partitionKeyFromQuery:d}/", ErrorOutputPrefix="e/",
             DynamicPartitioningConfiguration={"Enabled": True},
             ProcessingConfiguration=partitioning("{c: .c}")),
        # A query outside the supported subset.
        dict(Prefix="c=!{partitionKeyFromQuery:c}/", ErrorOutputPrefix="e/",
             DynamicPartitioningConfiguration={"Enabled": True},
             ProcessingConfiguration=partitioning("{c: .c | ascii_downcase}")),
    ]
    for i, overrides in enumerate(cases):
        with pytest.raises(firehose.exceptions.InvalidArgumentException):
            firehose.create_delivery_stream(
                DeliveryStreamName=f"bad-{i}-{uuid.uuid4().hex[:6]}",
                ExtendedS3DestinationConfiguration=extended(bucket, **overrides),
            )


def test_json_records_are_converted_to_parquet_and_misfits_go_to_the_error_prefix(
    start_server, moto
):
    pyarrow_parquet = pytest.importorskip("pyarrow.parquet")
    schema = (
        "[delivery.schemas.clicks]\n"
        'user = "string"\ncount = "int"\ntotal = "bigint"\nscore = "double"\n'
        'ok = "boolean"\nat = "timestamp"\n'
    )
    server = start_server(config_toml=config_for(moto) + schema)
    firehose = server.client("firehose")
    s3 = server_client(moto.endpoint, "s3")
    bucket = f"bucket-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)

    def conversion(table: str, compression: str = "SNAPPY") -> dict:
        return {
            "Enabled": True,
            "SchemaConfiguration": {"DatabaseName": "db", "TableName": table, "RoleARN": ROLE},
            "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
            "OutputFormatConfiguration": {
                "Serializer": {"ParquetSerDe": {"Compression": compression}}
            },
        }

    with pytest.raises(firehose.exceptions.InvalidArgumentException):
        firehose.create_delivery_stream(
            DeliveryStreamName=f"no-schema-{uuid.uuid4().hex[:6]}",
            ExtendedS3DestinationConfiguration=extended(
                bucket, DataFormatConversionConfiguration=conversion("missing")
            ),
        )
    name = f"parquet-{uuid.uuid4().hex[:8]}"
    firehose.create_delivery_stream(
        DeliveryStreamName=name,
        ExtendedS3DestinationConfiguration=extended(
            bucket,
            Prefix="p/",
            ErrorOutputPrefix="e/",
            BufferingHints={"SizeInMBs": 64, "IntervalInSeconds": 1},
            DataFormatConversionConfiguration=conversion("clicks", "GZIP"),
        ),
    )
    described = firehose.describe_delivery_stream(DeliveryStreamName=name)[
        "DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
    serializer = described["DataFormatConversionConfiguration"]["OutputFormatConfiguration"][
        "Serializer"]
    assert serializer == {"ParquetSerDe": {"Compression": "GZIP"}}
    good = [
        {"user": "ann", "count": 3, "total": 5_000_000_000, "score": 1.5, "ok": True,
         "at": "2024-05-01 12:00:00"},
        {"user": "bob", "count": None, "score": 2, "at": 1714564800250, "extra": "ignored"},
    ]
    bad = [b"not json", json.dumps({"user": "x", "count": "three"}).encode()]
    records = [json.dumps(good[0]).encode(), bad[0], json.dumps(good[1]).encode(), bad[1]]
    firehose.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in records])

    found = wait_for(lambda: (lambda o: o if len(o) >= 2 else None)(objects(s3, bucket)))
    parquet_keys = [key for key in found if key.startswith("p/")]
    assert len(parquet_keys) == 1 and parquet_keys[0].endswith(".parquet"), sorted(found)
    table = pyarrow_parquet.read_table(io.BytesIO(found[parquet_keys[0]]))
    assert sorted(table.column_names) == ["at", "count", "ok", "score", "total", "user"]
    rows = table.to_pylist()
    assert [row["user"] for row in rows] == ["ann", "bob"]
    assert [row["count"] for row in rows] == [3, None]
    assert [row["total"] for row in rows] == [5_000_000_000, None]
    assert [row["score"] for row in rows] == [1.5, 2.0]
    assert [row["ok"] for row in rows] == [True, None]
    millis = [int(row["at"].timestamp() * 1000) for row in rows]
    assert millis == [1714564800000, 1714564800250]
    assert str(table.schema.field("count").type) == "int32"
    assert str(table.schema.field("total").type) == "int64"

    error_keys = [key for key in found if key.startswith("e/")]
    assert len(error_keys) == 1, sorted(found)
    assert error_keys[0].startswith("e/format-conversion-failed/")
    import base64

    documents = [json.loads(line) for line in found[error_keys[0]].splitlines()]
    assert [base64.b64decode(d["rawData"]) for d in documents] == bad
    assert all(d["errorCode"] == "DataFormatConversion.MalformedData" for d in documents)


def test_custom_time_zone_renders_prefix_timestamps_in_that_zone(setup):
    server, firehose, s3, bucket = setup
    with pytest.raises(firehose.exceptions.InvalidArgumentException):
        firehose.create_delivery_stream(
            DeliveryStreamName=f"bad-zone-{uuid.uuid4().hex[:6]}",
            ExtendedS3DestinationConfiguration=extended(bucket, CustomTimeZone="Mars/Olympus"),
        )
    name = f"tokyo-{uuid.uuid4().hex[:8]}"
    firehose.create_delivery_stream(
        DeliveryStreamName=name,
        ExtendedS3DestinationConfiguration=extended(
            bucket,
            Prefix="t=!{timestamp:yyyy-MM-dd-HH}/",
            ErrorOutputPrefix="e/",
            CustomTimeZone="Asia/Tokyo",
        ),
    )
    # Tokyo has no daylight saving time: always UTC+9.
    utc_before = time.time()
    firehose.put_record(DeliveryStreamName=name, Record={"Data": b"x"})
    utc_after = time.time()
    before, after = (time.gmtime(t + 9 * 3600) for t in (utc_before, utc_after))
    found = wait_for(lambda: objects(s3, bucket))
    (key,) = found
    hours = {time.strftime("t=%Y-%m-%d-%H/", t) for t in (before, after)}
    assert any(key.startswith(hour) for hour in hours), (key, hours)
    # Object names keep UTC.
    match = KEY_RE.match(key)
    assert match, key
    utc_hours = {time.strftime("%Y-%m-%d-%H", time.gmtime(t)) for t in (utc_before, utc_after)}
    assert match["time"][:13] in utc_hours, (key, utc_hours)
