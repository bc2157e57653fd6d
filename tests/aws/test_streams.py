"""Stream management through unmodified boto3: create, describe, list, delete, ARNs, paging
and status transitions."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from strata_aws import create_stream

HASH_MAX = 2**128 - 1
ACCOUNT = "000000000000"


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def shard_name(index: int) -> str:
    return f"shardId-{index:012d}"


def assert_covers_hash_space(shards):
    """The shards' hash ranges are contiguous, in order, and cover [0, 2^128-1]."""
    ranges = sorted(
        (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in shards
    )
    assert ranges[0][0] == 0
    assert ranges[-1][1] == HASH_MAX
    for (_, end), (start, _) in zip(ranges, ranges[1:]):
        assert start == end + 1


# ---------------------------------------------------------------------------- create


def test_create_provisioned_stream(kinesis, unique_stream, wait_active):
    assert kinesis.create_stream(StreamName=unique_stream, ShardCount=3)[
        "ResponseMetadata"
    ]["HTTPStatusCode"] == 200
    description = wait_active(kinesis, unique_stream)

    assert description["StreamName"] == unique_stream
    assert description["StreamARN"] == (
        f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{unique_stream}"
    )
    assert description["StreamStatus"] == "ACTIVE"
    assert description["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert description["RetentionPeriodHours"] == 24
    assert description["EncryptionType"] == "NONE"
    assert description["HasMoreShards"] is False
    assert [s["ShardId"] for s in description["Shards"]] == [shard_name(i) for i in range(3)]
    for shard in description["Shards"]:
        assert "ParentShardId" not in shard
        starting = shard["SequenceNumberRange"]["StartingSequenceNumber"]
        assert starting.isdigit()
        assert "EndingSequenceNumber" not in shard["SequenceNumberRange"]
    assert_covers_hash_space(description["Shards"])
    # Equal split: every range has (nearly) the same width.
    widths = {
        int(s["HashKeyRange"]["EndingHashKey"]) - int(s["HashKeyRange"]["StartingHashKey"])
        for s in description["Shards"]
    }
    assert max(widths) - min(widths) <= 1
    # A creation timestamp from this run (the SDK parses it into a datetime).
    created = description["StreamCreationTimestamp"].timestamp()
    assert abs(created - time.time()) < 120


def test_create_on_demand_stream(kinesis, unique_stream, wait_active):
    kinesis.create_stream(
        StreamName=unique_stream, StreamModeDetails={"StreamMode": "ON_DEMAND"}
    )
    description = wait_active(kinesis, unique_stream)
    assert description["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert len(description["Shards"]) == 4
    assert_covers_hash_space(description["Shards"])
    summary = kinesis.describe_stream_summary(StreamName=unique_stream)[
        "StreamDescriptionSummary"
    ]
    assert summary["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert summary["OpenShardCount"] == 4


def test_create_provisioned_without_shard_count_is_refused(kinesis, unique_stream):
    with pytest.raises(ClientError) as excinfo:
        kinesis.create_stream(
            StreamName=unique_stream, StreamModeDetails={"StreamMode": "PROVISIONED"}
        )
    assert error_code(excinfo) in {"ValidationException", "InvalidArgumentException"}
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert unique_stream not in kinesis.list_streams()["StreamNames"]


def test_waiters_stream_exists_and_not_exists(kinesis, unique_stream):
    kinesis.create_stream(StreamName=unique_stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(
        StreamName=unique_stream, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    kinesis.delete_stream(StreamName=unique_stream)
    kinesis.get_waiter("stream_not_exists").wait(
        StreamName=unique_stream, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )


# ---------------------------------------------------------------------------- describe


def test_describe_stream_pages_shards(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 7)

    first = kinesis.describe_stream(StreamName=unique_stream, Limit=3)["StreamDescription"]
    assert [s["ShardId"] for s in first["Shards"]] == [shard_name(i) for i in range(3)]
    assert first["HasMoreShards"] is True

    seen = [s["ShardId"] for s in first["Shards"]]
    page = first
    while page["HasMoreShards"]:
        page = kinesis.describe_stream(
            StreamName=unique_stream, Limit=3, ExclusiveStartShardId=seen[-1]
        )["StreamDescription"]
        assert 1 <= len(page["Shards"]) <= 3
        seen += [s["ShardId"] for s in page["Shards"]]
        assert len(seen) <= 7
    assert seen == [shard_name(i) for i in range(7)]

    # The last page says there is no more; past the end, an empty page.
    last = kinesis.describe_stream(
        StreamName=unique_stream, ExclusiveStartShardId=shard_name(6)
    )["StreamDescription"]
    assert last["Shards"] == []
    assert last["HasMoreShards"] is False

    # Limit 1..10000 (the SDK checks the minimum; the server the maximum).
    whole = kinesis.describe_stream(StreamName=unique_stream, Limit=10000)
    assert len(whole["StreamDescription"]["Shards"]) == 7
    with pytest.raises(ClientError) as excinfo:
        kinesis.describe_stream(StreamName=unique_stream, Limit=10001)
    assert error_code(excinfo) in {"ValidationException", "InvalidArgumentException"}


def test_describe_stream_paginator(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 5)
    paginator = kinesis.get_paginator("describe_stream")
    shard_ids = []
    for page in paginator.paginate(StreamName=unique_stream, PaginationConfig={"PageSize": 2}):
        shard_ids += [s["ShardId"] for s in page["StreamDescription"]["Shards"]]
    assert shard_ids == [shard_name(i) for i in range(5)]


def test_describe_stream_summary(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 3)
    summary = kinesis.describe_stream_summary(StreamName=unique_stream)[
        "StreamDescriptionSummary"
    ]
    assert summary["StreamName"] == unique_stream
    assert summary["StreamARN"].endswith(f":stream/{unique_stream}")
    assert summary["StreamStatus"] == "ACTIVE"
    assert summary["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert summary["RetentionPeriodHours"] == 24
    assert summary["OpenShardCount"] == 3
    assert summary["ConsumerCount"] == 0
    assert summary["EncryptionType"] == "NONE"
    assert isinstance(summary["EnhancedMonitoring"], list)
    assert abs(summary["StreamCreationTimestamp"].timestamp() - time.time()) < 120


# ---------------------------------------------------------------------------- list streams


def test_list_streams_pages(kinesis, stream_name_factory):
    names = sorted(stream_name_factory(f"list{i}") for i in range(5))
    for name in names:
        kinesis.create_stream(StreamName=name, ShardCount=1)

    everything = kinesis.list_streams()
    assert everything["StreamNames"] == names
    assert everything["HasMoreStreams"] is False
    assert [s["StreamName"] for s in everything["StreamSummaries"]] == names
    for summary in everything["StreamSummaries"]:
        assert summary["StreamARN"].endswith(f":stream/{summary['StreamName']}")
        assert summary["StreamStatus"] == "ACTIVE"
        assert summary["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
        assert "StreamCreationTimestamp" in summary

    # Limit + NextToken.
    first = kinesis.list_streams(Limit=2)
    assert first["StreamNames"] == names[:2]
    assert first["HasMoreStreams"] is True
    assert first["NextToken"]
    second = kinesis.list_streams(Limit=2, NextToken=first["NextToken"])
    assert second["StreamNames"] == names[2:4]
    third = kinesis.list_streams(Limit=2, NextToken=second["NextToken"])
    assert third["StreamNames"] == names[4:]
    assert third["HasMoreStreams"] is False
    assert "NextToken" not in third

    # ExclusiveStartStreamName.
    after = kinesis.list_streams(ExclusiveStartStreamName=names[1])
    assert after["StreamNames"] == names[2:]

    # The SDK paginator follows NextToken to the end.
    paged = []
    for page in kinesis.get_paginator("list_streams").paginate(
        PaginationConfig={"PageSize": 2}
    ):
        paged += page["StreamNames"]
    assert paged == names


def test_list_streams_empty(kinesis):
    answer = kinesis.list_streams()
    assert answer["StreamNames"] == []
    assert answer["HasMoreStreams"] is False


# ---------------------------------------------------------------------------- list shards


def test_list_shards_pages_with_next_token(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 5)

    everything = kinesis.list_shards(StreamName=unique_stream)
    assert [s["ShardId"] for s in everything["Shards"]] == [shard_name(i) for i in range(5)]
    assert "NextToken" not in everything
    assert_covers_hash_space(everything["Shards"])

    first = kinesis.list_shards(StreamName=unique_stream, MaxResults=2)
    assert [s["ShardId"] for s in first["Shards"]] == [shard_name(0), shard_name(1)]
    token = first["NextToken"]
    seen = [s["ShardId"] for s in first["Shards"]]
    while token:
        # NextToken stands for the stream: no StreamName with it.
        page = kinesis.list_shards(NextToken=token, MaxResults=2)
        seen += [s["ShardId"] for s in page["Shards"]]
        token = page.get("NextToken")
        assert len(seen) <= 5
    assert seen == [shard_name(i) for i in range(5)]

    # ExclusiveStartShardId.
    after = kinesis.list_shards(StreamName=unique_stream, ExclusiveStartShardId=shard_name(2))
    assert [s["ShardId"] for s in after["Shards"]] == [shard_name(3), shard_name(4)]

    # (The SDK's list_shards paginator sends StreamName with NextToken, which AWS refuses
    # too; see the next test. Clients page by NextToken alone, as above.)


def test_list_shards_next_token_with_stream_name_is_invalid(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 3)
    token = kinesis.list_shards(StreamName=unique_stream, MaxResults=1)["NextToken"]
    with pytest.raises(ClientError) as excinfo:
        kinesis.list_shards(StreamName=unique_stream, NextToken=token)
    assert error_code(excinfo) == "InvalidArgumentException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_list_shards_bad_next_token_is_invalid(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 1)
    with pytest.raises(ClientError) as excinfo:
        kinesis.list_shards(NextToken="not-a-token")
    assert error_code(excinfo) == "InvalidArgumentException"


def test_list_shards_filters_on_a_stream_without_lineage(kinesis, unique_stream):
    create_stream(kinesis, unique_stream, 3)
    every = [shard_name(i) for i in range(3)]

    def ids(**shard_filter):
        answer = kinesis.list_shards(StreamName=unique_stream, ShardFilter=shard_filter)
        return [s["ShardId"] for s in answer["Shards"]]

    assert ids(Type="AT_LATEST") == every
    assert ids(Type="AT_TRIM_HORIZON") == every
    assert ids(Type="FROM_TRIM_HORIZON") == every
    assert ids(Type="AFTER_SHARD_ID", ShardId=shard_name(0)) == every[1:]
    assert ids(Type="AT_TIMESTAMP", Timestamp=time.time()) == every
    assert ids(Type="FROM_TIMESTAMP", Timestamp=time.time() - 3600) == every

    with pytest.raises(ClientError) as excinfo:
        kinesis.list_shards(StreamName=unique_stream, ShardFilter={"Type": "AFTER_SHARD_ID"})
    assert error_code(excinfo) == "InvalidArgumentException"
    with pytest.raises(ClientError) as excinfo:
        kinesis.list_shards(StreamName=unique_stream, ShardFilter={"Type": "AT_TIMESTAMP"})
    assert error_code(excinfo) == "InvalidArgumentException"


def test_list_shards_filters_after_a_split(kinesis, unique_stream):
    """After splitting shard 0 (which holds a record): AT_LATEST gives the open children,
    AT_TRIM_HORIZON the parent, FROM_TRIM_HORIZON all three."""
    create_stream(kinesis, unique_stream, 1)
    kinesis.put_record(StreamName=unique_stream, Data=b"before the split", PartitionKey="k")
    kinesis.split_shard(
        StreamName=unique_stream,
        ShardToSplit=shard_name(0),
        NewStartingHashKey=str(2**127),
    )
    kinesis.get_waiter("stream_exists").wait(
        StreamName=unique_stream, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    before_children = time.time()

    def ids(**shard_filter):
        answer = kinesis.list_shards(StreamName=unique_stream, ShardFilter=shard_filter)
        return [s["ShardId"] for s in answer["Shards"]]

    parent, left, right = shard_name(0), shard_name(1), shard_name(2)
    assert ids(Type="AT_LATEST") == [left, right]
    assert ids(Type="AT_TRIM_HORIZON") == [parent]
    assert ids(Type="FROM_TRIM_HORIZON") == [parent, left, right]
    assert ids(Type="AFTER_SHARD_ID", ShardId=parent) == [left, right]
    assert ids(Type="AT_TIMESTAMP", Timestamp=before_children + 1) == [left, right]
    assert ids(Type="FROM_TIMESTAMP", Timestamp=before_children - 3600) == [
        parent,
        left,
        right,
    ]

    shards = {s["ShardId"]: s for s in kinesis.list_shards(StreamName=unique_stream)["Shards"]}
    assert shards[left]["ParentShardId"] == parent
    assert shards[right]["ParentShardId"] == parent
    assert "EndingSequenceNumber" in shards[parent]["SequenceNumberRange"]
    assert shards[left]["HashKeyRange"] == {
        "StartingHashKey": "0",
        "EndingHashKey": str(2**127 - 1),
    }
    assert shards[right]["HashKeyRange"] == {
        "StartingHashKey": str(2**127),
        "EndingHashKey": str(HASH_MAX),
    }


# ---------------------------------------------------------------------------- ARNs


def test_stream_arn_instead_of_stream_name(kinesis, unique_stream):
    description = create_stream(kinesis, unique_stream, 2)
    arn = description["StreamARN"]

    by_arn = kinesis.describe_stream(StreamARN=arn)["StreamDescription"]
    assert by_arn["StreamName"] == unique_stream
    summary = kinesis.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]
    assert summary["StreamName"] == unique_stream
    assert len(kinesis.list_shards(StreamARN=arn)["Shards"]) == 2

    put = kinesis.put_record(StreamARN=arn, Data=b"by arn", PartitionKey="p")
    batch = kinesis.put_records(
        StreamARN=arn, Records=[{"Data": b"batch by arn", "PartitionKey": "p"}]
    )
    assert batch["FailedRecordCount"] == 0
    iterator = kinesis.get_shard_iterator(
        StreamARN=arn, ShardId=put["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator, StreamARN=arn)["Records"]
    assert [r["Data"] for r in records] == [b"by arn", b"batch by arn"]

    # An ARN of another account or region, or of no stream, is not found.
    missing = arn.replace(unique_stream, unique_stream + "-missing")
    with pytest.raises(ClientError) as excinfo:
        kinesis.describe_stream(StreamARN=missing)
    assert error_code(excinfo) == "ResourceNotFoundException"

    kinesis.delete_stream(StreamARN=arn)
    kinesis.get_waiter("stream_not_exists").wait(
        StreamName=unique_stream, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )


def test_malformed_stream_arn_is_refused(kinesis):
    with pytest.raises(ClientError) as excinfo:
        kinesis.describe_stream_summary(StreamARN="arn:aws:kinesis:us-east-1:12:stream")
    assert error_code(excinfo) in {"ValidationException", "InvalidArgumentException"}
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# ---------------------------------------------------------------------------- delete


def test_delete_stream(kinesis, stream_name_factory):
    keep = stream_name_factory("keep")
    gone = stream_name_factory("gone")
    create_stream(kinesis, keep, 1)
    create_stream(kinesis, gone, 2)
    kinesis.put_record(StreamName=gone, Data=b"old data", PartitionKey="k")

    kinesis.delete_stream(StreamName=gone, EnforceConsumerDeletion=True)
    kinesis.get_waiter("stream_not_exists").wait(
        StreamName=gone, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    assert kinesis.list_streams()["StreamNames"] == [keep]
    with pytest.raises(ClientError) as excinfo:
        kinesis.describe_stream(StreamName=gone)
    assert error_code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        kinesis.delete_stream(StreamName=gone)
    assert error_code(excinfo) == "ResourceNotFoundException"

    # The name can be used again, and the new stream starts empty.
    create_stream(kinesis, gone, 1)
    iterator = kinesis.get_shard_iterator(
        StreamName=gone, ShardId=shard_name(0), ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    assert kinesis.get_records(ShardIterator=iterator)["Records"] == []


# ---------------------------------------------------------------------------- transitions


# Long enough that the checks made while CREATING fit in it on a loaded machine.
STATE_CHANGE_MS = 1000
STATE_CHANGE_CONFIG = f"[kinesis]\nstate_change_ms = {STATE_CHANGE_MS}\n"


def test_status_transitions_with_state_change_delay(start_server, unique_stream):
    server = start_server(config_toml=STATE_CHANGE_CONFIG)
    kinesis = server.client()

    started = time.monotonic()
    kinesis.create_stream(StreamName=unique_stream, ShardCount=1)
    description = kinesis.describe_stream(StreamName=unique_stream)["StreamDescription"]
    assert description["StreamStatus"] == "CREATING"
    summary = kinesis.describe_stream_summary(StreamName=unique_stream)[
        "StreamDescriptionSummary"
    ]
    assert summary["StreamStatus"] == "CREATING"
    listed = kinesis.list_streams()["StreamSummaries"]
    assert [s["StreamStatus"] for s in listed if s["StreamName"] == unique_stream] == [
        "CREATING"
    ]

    # Data-plane calls on a CREATING stream: not found, as on AWS.
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_record(StreamName=unique_stream, Data=b"too early", PartitionKey="k")
    assert error_code(excinfo) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_records(
            StreamName=unique_stream, Records=[{"Data": b"too early", "PartitionKey": "k"}]
        )
    assert error_code(excinfo) == "ResourceNotFoundException"

    # A second create of the same name while CREATING.
    with pytest.raises(ClientError) as excinfo:
        kinesis.create_stream(StreamName=unique_stream, ShardCount=1)
    assert error_code(excinfo) == "ResourceInUseException"

    # The SDK waiter sees it become ACTIVE after about state_change_ms.
    kinesis.get_waiter("stream_exists").wait(
        StreamName=unique_stream, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200}
    )
    elapsed = time.monotonic() - started
    assert elapsed >= STATE_CHANGE_MS / 1000 - 0.05, f"ACTIVE after {elapsed:.3f}s"
    assert elapsed < STATE_CHANGE_MS / 1000 + 5.0
    kinesis.put_record(StreamName=unique_stream, Data=b"now", PartitionKey="k")

    # DELETING for a while, then gone.
    kinesis.delete_stream(StreamName=unique_stream)
    statuses = set()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            status = kinesis.describe_stream_summary(StreamName=unique_stream)[
                "StreamDescriptionSummary"
            ]["StreamStatus"]
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ResourceNotFoundException"
            break
        statuses.add(status)
        time.sleep(0.02)
    else:
        pytest.fail("the stream was never deleted")
    assert statuses == {"DELETING"}

    # Once gone, the name is free again.
    kinesis.create_stream(StreamName=unique_stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(
        StreamName=unique_stream, WaiterConfig={"Delay": 0.05, "MaxAttempts": 200}
    )


def test_streams_are_active_at_once_by_default(kinesis, unique_stream):
    kinesis.create_stream(StreamName=unique_stream, ShardCount=1)
    assert (
        kinesis.describe_stream(StreamName=unique_stream)["StreamDescription"]["StreamStatus"]
        == "ACTIVE"
    )
    kinesis.put_record(StreamName=unique_stream, Data=b"at once", PartitionKey="k")
