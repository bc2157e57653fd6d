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
    kinesis.put_record(StreamName=unique_stream, Data=BIG, PartitionKey="k")
    with pytest.raises(ClientError) as caught:
        kinesis.put_record(StreamName=unique_stream, Data=BIG, PartitionKey="k")
    assert caught.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    time.sleep(1.1)
    kinesis.put_record(StreamName=unique_stream, Data=BIG, PartitionKey="k")


def test_excess_records_fail_per_record_in_put_records(start_server, unique_stream):
    server = start_server(config_toml=LIMITED)
    kinesis = server.client()
    strata_aws.create_stream(kinesis, unique_stream, 1)
    batch = [{"Data": b"r", "PartitionKey": str(i)} for i in range(500)]
    first = kinesis.put_records(StreamName=unique_stream, Records=batch)
    second = kinesis.put_records(StreamName=unique_stream, Records=batch)
    third = kinesis.put_records(StreamName=unique_stream, Records=batch)
    assert first["FailedRecordCount"] == 0
    # 1,000 records per second: the third batch of 500 within the same second is refused.
    assert second["FailedRecordCount"] + third["FailedRecordCount"] >= 500
    failed = [r for r in second["Records"] + third["Records"] if "ErrorCode" in r]
    assert failed and all(
        r["ErrorCode"] == "ProvisionedThroughputExceededException" and "SequenceNumber" not in r
        for r in failed
    )
    # What was acknowledged is readable, and nothing else.
    stored = 1500 - second["FailedRecordCount"] - third["FailedRecordCount"]
    shard = kinesis.list_shards(StreamName=unique_stream)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName=unique_stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert len(kinesis.get_records(ShardIterator=iterator)["Records"]) == stored
