"""Per-shard write limits: off by default; with `kinesis.shard_write_limits = true`, a shard
takes 1 MiB and 1,000 records per second, and excess writes get
ProvisionedThroughputExceededException as on AWS."""

import time

import pytest
from botocore.exceptions import ClientError

import strata_aws

LIMITED = """
[kinesis]
shard_write_limits = true
"""

BIG = b"x" * (700 * 1024)


def test_limits_are_off_by_default(kinesis, unique_stream):
    strata_aws.create_stream(kinesis, unique_stream, 1)
    for _ in range(4):
        kinesis.put_record(StreamName=unique_stream, Data=BIG, PartitionKey="k")


def test_excess_bytes_are_refused_per_shard_and_refill(start_server, unique_stream):
    server = start_server(config_toml=LIMITED)
    kinesis = server.client()
    strata_aws.create_stream(kinesis, unique_stream, 1)
    # More than a second's worth of bytes for one shard in one request: always refused.
    over = kinesis.put_records(
        StreamName=unique_stream,
        Records=[{"Data": b"y" * (600 * 1024), "PartitionKey": "k"} for _ in range(2)],
    )
    assert over["FailedRecordCount"] == 2
    assert {r["ErrorCode"] for r in over["Records"]} == {"ProvisionedThroughputExceededException"}
    # 1,000 KiB now leaves about 24 KiB: a 700 KiB record right after needs ~0.66 s of refill.
    started = time.monotonic()
    kinesis.put_records(
        StreamName=unique_stream,
        Records=[{"Data": b"z" * (500 * 1024), "PartitionKey": "k"} for _ in range(2)],
    )
    try:
        kinesis.put_record(StreamName=unique_stream, Data=BIG, PartitionKey="k")
        refused = False
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
        assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        refused = True
    if time.monotonic() - started < 0.6:
        assert refused, "a write over the shard's byte budget was accepted"
    time.sleep(1.1)
    kinesis.put_record(StreamName=unique_stream, Data=BIG, PartitionKey="k")


def test_excess_records_fail_per_record_in_put_records(start_server, unique_stream):
    server = start_server(config_toml=LIMITED)
    kinesis = server.client()
    strata_aws.create_stream(kinesis, unique_stream, 1)
    batch = [{"Data": b"r", "PartitionKey": str(i)} for i in range(500)]
    started = time.monotonic()
    answers = [kinesis.put_records(StreamName=unique_stream, Records=batch) for _ in range(4)]
    elapsed = time.monotonic() - started
    assert answers[0]["FailedRecordCount"] == 0
    failed = [r for answer in answers for r in answer["Records"] if "ErrorCode" in r]
    assert all(
        r["ErrorCode"] == "ProvisionedThroughputExceededException" and "SequenceNumber" not in r
        for r in failed
    )
    stored = 2000 - len(failed)
    # A full bucket (1,000 records) plus what refilled while the requests ran.
    assert stored <= 1000 + 1000 * elapsed + 1, (stored, elapsed)
    if elapsed < 0.9:
        assert failed, "2,000 records in one shard within a second were all accepted"
    # What was acknowledged is readable, and nothing else.
    shard = kinesis.list_shards(StreamName=unique_stream)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName=unique_stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert len(kinesis.get_records(ShardIterator=iterator)["Records"]) == stored
