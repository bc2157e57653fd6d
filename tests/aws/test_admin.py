"""Stream administration through unmodified boto3: retention, resharding (SplitShard,
MergeShards, UpdateShardCount), tags (stream and resource APIs), encryption, enhanced
monitoring, record size, capacity mode, warm throughput, limits, resource policies and
account settings; their AWS errors (always 400), and persistence across restarts.

Bad input that botocore would refuse before sending is sent with `raw_call`, so the
server's own answer is what is checked.
"""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from strata_aws import cbor_call, create_stream, first_records, raw_call, wait_active

HASH_MAX = 2**128 - 1
ALL_METRICS = [
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
]


def error_of(call, *args, **kwargs) -> ClientError:
    """Runs an SDK call that must fail; returns its ClientError after checking the 400."""
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    error = caught.value
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400, error.response
    return error


def code_of(call, *args, **kwargs) -> str:
    return error_of(call, *args, **kwargs).response["Error"]["Code"]


def raw_error(server, operation: str, payload) -> str:
    """Sends a raw JSON request that must fail with status 400; returns the exception."""
    response = raw_call(server.endpoint, operation, payload)
    assert response.status == 400, response
    return response.error_type


def open_shards(kinesis, name: str) -> list[dict]:
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    return [s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]]


def ranges(shards: list[dict]) -> list[tuple[int, int]]:
    return sorted(
        (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in shards
    )


def uniform(count: int) -> list[tuple[int, int]]:
    """The ranges of `count` shards dividing the key space as CreateStream does."""
    width = 2**128 // count
    return [
        (i * width, HASH_MAX if i == count - 1 else (i + 1) * width - 1) for i in range(count)
    ]


def read_to_end(kinesis, shard_iterator: str) -> tuple[list[dict], dict]:
    """Reads a closed shard until GetRecords stops giving a next iterator; returns its
    records and the last response (which carries ChildShards)."""
    records = []
    for _ in range(100):
        response = kinesis.get_records(ShardIterator=shard_iterator)
        records += response["Records"]
        if "NextShardIterator" not in response or response["NextShardIterator"] is None:
            return records, response
        shard_iterator = response["NextShardIterator"]
    raise AssertionError("the closed shard never ended")


# ---- retention ------------------------------------------------------------------------------


def test_retention_moves_within_bounds_and_in_the_asked_direction(kinesis, unique_stream):
    create_stream(kinesis, unique_stream)
    kinesis.increase_stream_retention_period(StreamName=unique_stream, RetentionPeriodHours=72)
    summary = kinesis.describe_stream_summary(StreamName=unique_stream)
    assert summary["StreamDescriptionSummary"]["RetentionPeriodHours"] == 72
    arn = summary["StreamDescriptionSummary"]["StreamARN"]
    kinesis.decrease_stream_retention_period(StreamARN=arn, RetentionPeriodHours=48)
    description = kinesis.describe_stream(StreamName=unique_stream)["StreamDescription"]
    assert description["RetentionPeriodHours"] == 48
    # The same period again changes nothing and is not an error.
    kinesis.increase_stream_retention_period(StreamName=unique_stream, RetentionPeriodHours=48)

    error = error_of(
        kinesis.increase_stream_retention_period,
        StreamName=unique_stream,
        RetentionPeriodHours=30,
    )
    assert error.response["Error"]["Code"] == "InvalidArgumentException"
    assert "can not be shorter than existing retention period (48 hours)" in str(error)
    error = error_of(
        kinesis.decrease_stream_retention_period,
        StreamName=unique_stream,
        RetentionPeriodHours=100,
    )
    assert error.response["Error"]["Code"] == "InvalidArgumentException"
    assert "Use IncreaseRetentionPeriod API" in str(error)
    for operation, hours in [
        (kinesis.decrease_stream_retention_period, 23),
        (kinesis.decrease_stream_retention_period, 0),
        (kinesis.increase_stream_retention_period, 8761),
        (kinesis.increase_stream_retention_period, -5),
    ]:
        code = code_of(operation, StreamName=unique_stream, RetentionPeriodHours=hours)
        assert code == "InvalidArgumentException", hours
    kinesis.increase_stream_retention_period(StreamName=unique_stream, RetentionPeriodHours=8760)
    description = kinesis.describe_stream(StreamName=unique_stream)["StreamDescription"]
    assert description["RetentionPeriodHours"] == 8760


def test_retention_errors_for_missing_stream_and_member(kinesis, server):
    code = code_of(
        kinesis.increase_stream_retention_period, StreamName="nope", RetentionPeriodHours=48
    )
    assert code == "ResourceNotFoundException"
    assert raw_error(server, "IncreaseStreamRetentionPeriod", {"StreamName": "x"}) == (
        "ValidationException"
    )
    assert raw_error(
        server,
        "DecreaseStreamRetentionPeriod",
        {"StreamName": "x", "RetentionPeriodHours": "many"},
    ) == "SerializationException"


# ---- resharding -----------------------------------------------------------------------------


def test_split_then_read_parent_to_its_end_gives_child_shards(kinesis, unique_stream):
    create_stream(kinesis, unique_stream)
    for i in range(5):
        kinesis.put_record(StreamName=unique_stream, Data=b"before-%d" % i, PartitionKey=str(i))
    parent = "shardId-000000000000"
    kinesis.split_shard(
        StreamName=unique_stream, ShardToSplit=parent, NewStartingHashKey=str(2**127)
    )
    shards = kinesis.list_shards(StreamName=unique_stream)["Shards"]
    assert [s["ShardId"] for s in shards] == [parent, "shardId-000000000001", "shardId-000000000002"]
    assert "EndingSequenceNumber" in shards[0]["SequenceNumberRange"]
    assert [s.get("ParentShardId") for s in shards[1:]] == [parent, parent]
    assert ranges(shards[1:]) == [(0, 2**127 - 1), (2**127, HASH_MAX)]
    # New records go to the children.
    put = kinesis.put_record(StreamName=unique_stream, Data=b"after", PartitionKey="k")
    assert put["ShardId"] in {"shardId-000000000001", "shardId-000000000002"}

    iterator = kinesis.get_shard_iterator(
        StreamName=unique_stream, ShardId=parent, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records, last = read_to_end(kinesis, iterator)
    assert [r["Data"] for r in records] == [b"before-%d" % i for i in range(5)]
    children = last["ChildShards"]
    assert sorted(c["ShardId"] for c in children) == [
        "shardId-000000000001",
        "shardId-000000000002",
    ]
    assert all(c["ParentShards"] == [parent] for c in children)
    # The closed shard's ending sequence number is at or after its last record.
    ending = int(shards[0]["SequenceNumberRange"]["EndingSequenceNumber"])
    assert ending >= int(records[-1]["SequenceNumber"])


def test_split_refuses_bad_keys_and_shards(kinesis, server, unique_stream):
    create_stream(kinesis, unique_stream, 2)
    shard = "shardId-000000000000"
    last = 2**127 - 1
    for key in ["0", "1", str(last), str(last + 5)]:
        error = error_of(
            kinesis.split_shard, StreamName=unique_stream, ShardToSplit=shard, NewStartingHashKey=key
        )
        assert error.response["Error"]["Code"] == "InvalidArgumentException", key
    assert "NewStartingHashKey" in str(error)
    code = code_of(
        kinesis.split_shard,
        StreamName=unique_stream,
        ShardToSplit="shardId-000000000009",
        NewStartingHashKey="12345",
    )
    assert code == "ResourceNotFoundException"
    code = code_of(
        kinesis.split_shard, StreamName="nope", ShardToSplit=shard, NewStartingHashKey="12345"
    )
    assert code == "ResourceNotFoundException"
    for key in ["01", "-3", "abc", str(2**128)]:
        payload = {"StreamName": unique_stream, "ShardToSplit": shard, "NewStartingHashKey": key}
        assert raw_error(server, "SplitShard", payload) in {
            "ValidationException",
            "InvalidArgumentException",
        }, key
    assert raw_error(server, "SplitShard", {"StreamName": unique_stream, "ShardToSplit": shard}) == (
        "ValidationException"
    )
    # A shard that was split already is closed and cannot be split again.
    kinesis.split_shard(StreamName=unique_stream, ShardToSplit=shard, NewStartingHashKey="1000")
    error = error_of(
        kinesis.split_shard, StreamName=unique_stream, ShardToSplit=shard, NewStartingHashKey="2000"
    )
    assert error.response["Error"]["Code"] == "InvalidArgumentException"
    assert "not eligible" in str(error)


def test_merge_needs_open_adjacent_shards(kinesis, server, unique_stream):
    create_stream(kinesis, unique_stream, 3)
    error = error_of(
        kinesis.merge_shards,
        StreamName=unique_stream,
        ShardToMerge="shardId-000000000000",
        AdjacentShardToMerge="shardId-000000000002",
    )
    assert error.response["Error"]["Code"] == "InvalidArgumentException"
    assert "adjacent" in str(error)
    code = code_of(
        kinesis.merge_shards,
        StreamName=unique_stream,
        ShardToMerge="shardId-000000000000",
        AdjacentShardToMerge="shardId-000000000000",
    )
    assert code == "InvalidArgumentException"
    code = code_of(
        kinesis.merge_shards,
        StreamName=unique_stream,
        ShardToMerge="shardId-000000000000",
        AdjacentShardToMerge="shardId-000000000042",
    )
    assert code == "ResourceNotFoundException"

    kinesis.merge_shards(
        StreamName=unique_stream,
        ShardToMerge="shardId-000000000001",
        AdjacentShardToMerge="shardId-000000000000",
    )
    shards = kinesis.list_shards(StreamName=unique_stream)["Shards"]
    child = shards[-1]
    assert child["ShardId"] == "shardId-000000000003"
    assert child["ParentShardId"] == "shardId-000000000001"
    assert child["AdjacentParentShardId"] == "shardId-000000000000"
    assert ranges([child]) == [(0, uniform(3)[1][1])]
    code = code_of(
        kinesis.merge_shards,
        StreamName=unique_stream,
        ShardToMerge="shardId-000000000000",
        AdjacentShardToMerge="shardId-000000000003",
    )
    assert code == "InvalidArgumentException"
    assert raw_error(
        server, "MergeShards", {"StreamName": unique_stream, "ShardToMerge": "shardId-000000000002"}
    ) == "ValidationException"


def test_update_shard_count_divides_the_key_space_evenly(kinesis, server, unique_stream):
    create_stream(kinesis, unique_stream, 2)
    for i in range(20):
        kinesis.put_record(StreamName=unique_stream, Data=b"%d" % i, PartitionKey=str(i))
    response = kinesis.update_shard_count(
        StreamName=unique_stream, TargetShardCount=3, ScalingType="UNIFORM_SCALING"
    )
    assert response["CurrentShardCount"] == 2
    assert response["TargetShardCount"] == 3
    assert response["StreamName"] == unique_stream
    assert response["StreamARN"].endswith(":stream/" + unique_stream)
    wait_active(kinesis, unique_stream)
    assert ranges(open_shards(kinesis, unique_stream)) == uniform(3)
    summary = kinesis.describe_stream_summary(StreamName=unique_stream)
    assert summary["StreamDescriptionSummary"]["OpenShardCount"] == 3

    # Doubling and halving again; the lineage keeps every record reachable.
    kinesis.update_shard_count(
        StreamName=unique_stream, TargetShardCount=6, ScalingType="UNIFORM_SCALING"
    )
    assert ranges(open_shards(kinesis, unique_stream)) == uniform(6)
    kinesis.update_shard_count(
        StreamName=unique_stream, TargetShardCount=3, ScalingType="UNIFORM_SCALING"
    )
    assert ranges(open_shards(kinesis, unique_stream)) == uniform(3)
    seen = [r["Data"] for r in first_records(kinesis, unique_stream)]
    assert sorted(seen) == sorted(b"%d" % i for i in range(20))

    for target in [7, 1]:
        error = error_of(
            kinesis.update_shard_count,
            StreamName=unique_stream,
            TargetShardCount=target,
            ScalingType="UNIFORM_SCALING",
        )
        assert error.response["Error"]["Code"] == "LimitExceededException", target
        assert "Current open shard count: 3" in str(error)
    payload = {"StreamName": unique_stream, "TargetShardCount": 4, "ScalingType": "SOMETIMES"}
    assert raw_error(server, "UpdateShardCount", payload) == "ValidationException"
    payload = {"StreamName": unique_stream, "TargetShardCount": 0, "ScalingType": "UNIFORM_SCALING"}
    assert raw_error(server, "UpdateShardCount", payload) == "ValidationException"
    assert raw_error(server, "UpdateShardCount", {"StreamName": unique_stream}) == (
        "ValidationException"
    )
    code = code_of(
        kinesis.update_shard_count,
        StreamName="nope",
        TargetShardCount=2,
        ScalingType="UNIFORM_SCALING",
    )
    assert code == "ResourceNotFoundException"


def test_resharding_leaves_the_stream_updating_and_refuses_overlap(start_server, stream_name_factory):
    server = start_server(config_toml="[kinesis]\nstate_change_ms = 1500\n")
    kinesis = server.client()
    name = stream_name_factory("updating")
    create_stream(kinesis, name, 2)
    kinesis.split_shard(
        StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**126)
    )
    status = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert status["StreamStatus"] == "UPDATING"
    error = error_of(
        kinesis.merge_shards,
        StreamName=name,
        ShardToMerge="shardId-000000000002",
        AdjacentShardToMerge="shardId-000000000003",
    )
    assert error.response["Error"]["Code"] == "ResourceInUseException"
    assert "UPDATING" in str(error)
    code = code_of(
        kinesis.update_shard_count,
        StreamName=name,
        TargetShardCount=4,
        ScalingType="UNIFORM_SCALING",
    )
    assert code == "ResourceInUseException"
    # Records still go in while it is UPDATING.
    kinesis.put_record(StreamName=name, Data=b"x", PartitionKey="k")
    wait_active(kinesis, name)
    kinesis.merge_shards(
        StreamName=name,
        ShardToMerge="shardId-000000000002",
        AdjacentShardToMerge="shardId-000000000003",
    )


def test_on_demand_streams_refuse_manual_resharding(kinesis, unique_stream):
    kinesis.create_stream(StreamName=unique_stream, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    wait_active(kinesis, unique_stream)
    calls = [
        lambda: kinesis.split_shard(
            StreamName=unique_stream,
            ShardToSplit="shardId-000000000000",
            NewStartingHashKey="12345",
        ),
        lambda: kinesis.merge_shards(
            StreamName=unique_stream,
            ShardToMerge="shardId-000000000000",
            AdjacentShardToMerge="shardId-000000000001",
        ),
        lambda: kinesis.update_shard_count(
            StreamName=unique_stream, TargetShardCount=5, ScalingType="UNIFORM_SCALING"
        ),
    ]
    for call in calls:
        assert code_of(call) == "ValidationException"


# ---- tags -----------------------------------------------------------------------------------


def test_stream_tags_add_list_page_and_remove(kinesis, unique_stream):
    create_stream(kinesis, unique_stream)
    kinesis.add_tags_to_stream(StreamName=unique_stream, Tags={"b": "2", "a": "1", "c": ""})
    listed = kinesis.list_tags_for_stream(StreamName=unique_stream)
    assert listed["Tags"] == [
        {"Key": "a", "Value": "1"},
        {"Key": "b", "Value": "2"},
        {"Key": "c", "Value": ""},
    ]
    assert listed["HasMoreTags"] is False
    page = kinesis.list_tags_for_stream(StreamName=unique_stream, Limit=2)
    assert [t["Key"] for t in page["Tags"]] == ["a", "b"] and page["HasMoreTags"] is True
    rest = kinesis.list_tags_for_stream(StreamName=unique_stream, ExclusiveStartTagKey="b")
    assert [t["Key"] for t in rest["Tags"]] == ["c"] and rest["HasMoreTags"] is False
    # Overwrite one, remove two (one of them absent, which is ignored).
    kinesis.add_tags_to_stream(StreamName=unique_stream, Tags={"a": "one"})
    kinesis.remove_tags_from_stream(StreamName=unique_stream, TagKeys=["b", "zzz"])
    listed = kinesis.list_tags_for_stream(StreamName=unique_stream)["Tags"]
    assert listed == [{"Key": "a", "Value": "one"}, {"Key": "c", "Value": ""}]
    # The tags given at creation are there too.
    other = unique_stream + "-created"
    create_stream(kinesis, other, Tags={"team": "data"})
    assert kinesis.list_tags_for_stream(StreamName=other)["Tags"] == [
        {"Key": "team", "Value": "data"}
    ]


def test_tag_limits_and_constraints(kinesis, server, unique_stream):
    create_stream(kinesis, unique_stream)
    eleven = {f"k{i:02}": "v" for i in range(11)}
    error = error_of(kinesis.add_tags_to_stream, StreamName=unique_stream, Tags=eleven)
    assert error.response["Error"]["Code"] == "InvalidArgumentException"
    for batch in range(5):
        kinesis.add_tags_to_stream(
            StreamName=unique_stream, Tags={f"k{batch}{i}": "v" for i in range(10)}
        )
    assert len(kinesis.list_tags_for_stream(StreamName=unique_stream)["Tags"]) == 50
    # Overwriting keeps the count; one more is over the limit of 50.
    kinesis.add_tags_to_stream(StreamName=unique_stream, Tags={"k00": "w"})
    error = error_of(kinesis.add_tags_to_stream, StreamName=unique_stream, Tags={"new": "v"})
    assert error.response["Error"]["Code"] == "InvalidArgumentException"
    assert "50" in str(error)
    code = code_of(kinesis.add_tags_to_stream, StreamName=unique_stream, Tags={"a#b": "v"})
    assert code == "InvalidArgumentException"
    code = code_of(kinesis.add_tags_to_stream, StreamName="nope", Tags={"a": "v"})
    assert code == "ResourceNotFoundException"
    assert code_of(kinesis.list_tags_for_stream, StreamName="nope") == "ResourceNotFoundException"
    for operation, payload in [
        ("AddTagsToStream", {"StreamName": unique_stream, "Tags": {}}),
        ("AddTagsToStream", {"StreamName": unique_stream, "Tags": {"k" * 129: "v"}}),
        ("AddTagsToStream", {"StreamName": unique_stream, "Tags": {"k": "v" * 257}}),
        ("AddTagsToStream", {"StreamName": unique_stream}),
        ("RemoveTagsFromStream", {"StreamName": unique_stream, "TagKeys": []}),
        ("RemoveTagsFromStream", {"StreamName": unique_stream, "TagKeys": ["x"] * 51}),
        ("ListTagsForStream", {"StreamName": unique_stream, "Limit": 0}),
        ("ListTagsForStream", {"StreamName": unique_stream, "Limit": 51}),
        ("ListTagsForStream", {"StreamName": unique_stream, "ExclusiveStartTagKey": ""}),
    ]:
        assert raw_error(server, operation, payload) == "ValidationException", payload


def test_tag_resource_on_streams_and_consumers(kinesis, server, unique_stream):
    arn = create_stream(kinesis, unique_stream)["StreamARN"]
    kinesis.tag_resource(ResourceARN=arn, Tags={"env": "test", "team": "data"})
    assert kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "env", "Value": "test"},
        {"Key": "team", "Value": "data"},
    ]
    # The stream API sees the same tags.
    assert len(kinesis.list_tags_for_stream(StreamName=unique_stream)["Tags"]) == 2
    kinesis.untag_resource(ResourceARN=arn, TagKeys=["env"])
    assert kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "team", "Value": "data"}
    ]

    consumer = kinesis.register_stream_consumer(
        StreamARN=arn, ConsumerName="reader", Tags={"given": "at-registration"}
    )["Consumer"]
    consumer_arn = consumer["ConsumerARN"]
    assert kinesis.list_tags_for_resource(ResourceARN=consumer_arn)["Tags"] == [
        {"Key": "given", "Value": "at-registration"}
    ]
    kinesis.tag_resource(ResourceARN=consumer_arn, Tags={"role": "reader"})
    kinesis.untag_resource(ResourceARN=consumer_arn, TagKeys=["given"])
    assert kinesis.list_tags_for_resource(ResourceARN=consumer_arn)["Tags"] == [
        {"Key": "role", "Value": "reader"}
    ]
    # A consumer's tags are its own.
    assert kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "team", "Value": "data"}
    ]

    missing = arn.rsplit("/", 1)[0] + "/nope"
    assert code_of(kinesis.list_tags_for_resource, ResourceARN=missing) == (
        "ResourceNotFoundException"
    )
    assert code_of(kinesis.tag_resource, ResourceARN=missing, Tags={"a": "b"}) == (
        "ResourceNotFoundException"
    )
    assert code_of(
        kinesis.list_tags_for_resource, ResourceARN=arn + "/consumer/ghost:1"
    ) == "ResourceNotFoundException"
    for operation, payload in [
        ("ListTagsForResource", {"ResourceARN": "not-an-arn"}),
        ("TagResource", {"ResourceARN": "arn:aws:sqs:us-east-1:000000000000:q", "Tags": {"a": "b"}}),
        ("TagResource", {"ResourceARN": arn, "Tags": {}}),
        ("UntagResource", {"ResourceARN": arn, "TagKeys": []}),
        ("UntagResource", {"TagKeys": ["a"]}),
    ]:
        assert raw_error(server, operation, payload) == "ValidationException", payload
    too_many = {f"t{i:02}": "v" for i in range(50)}
    assert code_of(kinesis.tag_resource, ResourceARN=arn, Tags=too_many) == (
        "InvalidArgumentException"
    )


# ---- encryption and monitoring --------------------------------------------------------------


def test_encryption_starts_and_stops(kinesis, server, unique_stream):
    create_stream(kinesis, unique_stream)
    kinesis.start_stream_encryption(
        StreamName=unique_stream, EncryptionType="KMS", KeyId="alias/aws/kinesis"
    )
    description = wait_active(kinesis, unique_stream)
    assert description["EncryptionType"] == "KMS"
    assert description["KeyId"] == "alias/aws/kinesis"
    summary = kinesis.describe_stream_summary(StreamName=unique_stream)
    assert summary["StreamDescriptionSummary"]["EncryptionType"] == "KMS"
    put = kinesis.put_record(StreamName=unique_stream, Data=b"secret", PartitionKey="k")
    assert put["EncryptionType"] == "KMS"

    kinesis.stop_stream_encryption(
        StreamName=unique_stream, EncryptionType="KMS", KeyId="alias/aws/kinesis"
    )
    description = wait_active(kinesis, unique_stream)
    assert description["EncryptionType"] == "NONE"
    assert "KeyId" not in description
    put = kinesis.put_record(StreamName=unique_stream, Data=b"plain", PartitionKey="k")
    assert put["EncryptionType"] == "NONE"

    code = code_of(
        kinesis.start_stream_encryption, StreamName=unique_stream, EncryptionType="NONE", KeyId="k"
    )
    assert code == "InvalidArgumentException"
    code = code_of(
        kinesis.start_stream_encryption, StreamName="nope", EncryptionType="KMS", KeyId="k"
    )
    assert code == "ResourceNotFoundException"
    payload = {"StreamName": unique_stream, "EncryptionType": "AES", "KeyId": "k"}
    assert raw_error(server, "StartStreamEncryption", payload) == "ValidationException"
    payload = {"StreamName": unique_stream, "EncryptionType": "KMS", "KeyId": ""}
    assert raw_error(server, "StartStreamEncryption", payload) == "ValidationException"
    payload = {"StreamName": unique_stream, "EncryptionType": "KMS"}
    assert raw_error(server, "StopStreamEncryption", payload) == "ValidationException"


def test_enhanced_monitoring_reports_current_and_desired(kinesis, server, unique_stream):
    create_stream(kinesis, unique_stream)
    response = kinesis.enable_enhanced_monitoring(
        StreamName=unique_stream, ShardLevelMetrics=["IncomingBytes", "OutgoingRecords"]
    )
    assert response["StreamName"] == unique_stream
    assert response["CurrentShardLevelMetrics"] == []
    assert response["DesiredShardLevelMetrics"] == ["IncomingBytes", "OutgoingRecords"]
    description = wait_active(kinesis, unique_stream)
    assert sorted(description["EnhancedMonitoring"][0]["ShardLevelMetrics"]) == [
        "IncomingBytes",
        "OutgoingRecords",
    ]
    response = kinesis.enable_enhanced_monitoring(StreamName=unique_stream, ShardLevelMetrics=["ALL"])
    assert response["DesiredShardLevelMetrics"] == ALL_METRICS
    response = kinesis.disable_enhanced_monitoring(
        StreamName=unique_stream, ShardLevelMetrics=["IncomingBytes"]
    )
    assert response["CurrentShardLevelMetrics"] == ALL_METRICS
    assert response["DesiredShardLevelMetrics"] == ALL_METRICS[1:]
    response = kinesis.disable_enhanced_monitoring(StreamName=unique_stream, ShardLevelMetrics=["ALL"])
    assert response["DesiredShardLevelMetrics"] == []
    description = kinesis.describe_stream(StreamName=unique_stream)["StreamDescription"]
    assert description["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}]

    for payload in [
        {"StreamName": unique_stream, "ShardLevelMetrics": ["Bogus"]},
        {"StreamName": unique_stream, "ShardLevelMetrics": []},
        {"StreamName": unique_stream, "ShardLevelMetrics": ALL_METRICS + ["ALL"]},
        {"StreamName": unique_stream},
    ]:
        assert raw_error(server, "EnableEnhancedMonitoring", payload) == "ValidationException"
    code = code_of(
        kinesis.disable_enhanced_monitoring, StreamName="nope", ShardLevelMetrics=["ALL"]
    )
    assert code == "ResourceNotFoundException"


# ---- stream settings ------------------------------------------------------------------------


def test_max_record_size_governs_put_record(kinesis, server, unique_stream):
    arn = create_stream(kinesis, unique_stream)["StreamARN"]
    big = b"x" * (1536 * 1024)
    assert code_of(kinesis.put_record, StreamName=unique_stream, Data=big, PartitionKey="k") == (
        "ValidationException"
    )
    kinesis.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=2048)
    wait_active(kinesis, unique_stream)
    summary = kinesis.describe_stream_summary(StreamName=unique_stream)
    assert summary["StreamDescriptionSummary"]["MaxRecordSizeInKiB"] == 2048
    kinesis.put_record(StreamName=unique_stream, Data=big, PartitionKey="k")
    for size in [1023, 10241, 0]:
        payload = {"StreamARN": arn, "MaxRecordSizeInKiB": size}
        assert raw_error(server, "UpdateMaxRecordSize", payload) == "ValidationException", size
    assert raw_error(server, "UpdateMaxRecordSize", {"StreamARN": arn}) == "ValidationException"
    missing = arn.rsplit("/", 1)[0] + "/nope"
    assert code_of(kinesis.update_max_record_size, StreamARN=missing, MaxRecordSizeInKiB=1024) == (
        "ResourceNotFoundException"
    )


def test_stream_mode_switches_and_limits_count_it(kinesis, server, unique_stream):
    arn = create_stream(kinesis, unique_stream, 2)["StreamARN"]
    before = kinesis.describe_limits()
    assert before["ShardLimit"] >= before["OpenShardCount"] >= 2
    assert before["OnDemandStreamCountLimit"] >= 1

    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    description = wait_active(kinesis, unique_stream)
    assert description["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert len(description["Shards"]) == 2
    after = kinesis.describe_limits()
    assert after["OnDemandStreamCount"] == before["OnDemandStreamCount"] + 1
    # Asking for the mode it has is harmless.
    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "PROVISIONED"})
    description = wait_active(kinesis, unique_stream)
    assert description["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}

    payload = {"StreamARN": arn, "StreamModeDetails": {"StreamMode": "SOMETIMES"}}
    assert raw_error(server, "UpdateStreamMode", payload) == "ValidationException"
    payload = {"StreamName": unique_stream, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}
    assert raw_error(server, "UpdateStreamMode", payload) == "ValidationException"
    payload = {"StreamARN": "bogus", "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}
    assert raw_error(server, "UpdateStreamMode", payload) == "ValidationException"
    missing = arn.rsplit("/", 1)[0] + "/nope"
    code = code_of(
        kinesis.update_stream_mode,
        StreamARN=missing,
        StreamModeDetails={"StreamMode": "ON_DEMAND"},
    )
    assert code == "ResourceNotFoundException"


def test_warm_throughput_needs_on_demand_and_a_commitment(kinesis, server, unique_stream):
    provisioned = unique_stream + "-p"
    create_stream(kinesis, provisioned)
    kinesis.create_stream(StreamName=unique_stream, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    wait_active(kinesis, unique_stream)
    code = code_of(
        kinesis.update_stream_warm_throughput, StreamName=unique_stream, WarmThroughputMiBps=100
    )
    assert code == "InvalidArgumentException"

    kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})
    response = kinesis.update_stream_warm_throughput(
        StreamName=unique_stream, WarmThroughputMiBps=100
    )
    assert response["StreamName"] == unique_stream
    assert response["WarmThroughput"]["TargetMiBps"] == 100
    wait_active(kinesis, unique_stream)
    response = kinesis.update_stream_warm_throughput(
        StreamName=unique_stream, WarmThroughputMiBps=200
    )
    assert response["WarmThroughput"] == {"TargetMiBps": 200, "CurrentMiBps": 100}
    code = code_of(
        kinesis.update_stream_warm_throughput, StreamName=provisioned, WarmThroughputMiBps=100
    )
    assert code == "InvalidArgumentException"
    code = code_of(
        kinesis.update_stream_warm_throughput, StreamName=unique_stream, WarmThroughputMiBps=20000
    )
    assert code == "InvalidArgumentException"
    payload = {"StreamName": unique_stream, "WarmThroughputMiBps": -1}
    assert raw_error(server, "UpdateStreamWarmThroughput", payload) == "ValidationException"
    code = code_of(kinesis.update_stream_warm_throughput, StreamName="nope", WarmThroughputMiBps=1)
    assert code == "ResourceNotFoundException"


def test_describe_limits_counts_open_shards(kinesis, unique_stream):
    before = kinesis.describe_limits()
    create_stream(kinesis, unique_stream, 3)
    after = kinesis.describe_limits()
    assert after["OpenShardCount"] == before["OpenShardCount"] + 3
    kinesis.split_shard(
        StreamName=unique_stream, ShardToSplit="shardId-000000000000", NewStartingHashKey="1000"
    )
    assert kinesis.describe_limits()["OpenShardCount"] == after["OpenShardCount"] + 1
    assert set(after) >= {
        "ShardLimit",
        "OpenShardCount",
        "OnDemandStreamCount",
        "OnDemandStreamCountLimit",
    }


# ---- resource policies and account settings -------------------------------------------------


def policy_for(arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                    "Action": ["kinesis:GetRecords", "kinesis:DescribeStreamSummary"],
                    "Resource": arn,
                }
            ],
        }
    )


def test_resource_policies_of_streams_and_consumers(kinesis, server, unique_stream):
    arn = create_stream(kinesis, unique_stream)["StreamARN"]
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
    kinesis.put_resource_policy(ResourceARN=arn, Policy=policy_for(arn))
    assert json.loads(kinesis.get_resource_policy(ResourceARN=arn)["Policy"]) == json.loads(
        policy_for(arn)
    )
    kinesis.delete_resource_policy(ResourceARN=arn)
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"
    kinesis.delete_resource_policy(ResourceARN=arn)

    consumer_arn = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"][
        "ConsumerARN"
    ]
    kinesis.put_resource_policy(ResourceARN=consumer_arn, Policy=policy_for(consumer_arn))
    assert kinesis.get_resource_policy(ResourceARN=consumer_arn)["Policy"] == policy_for(
        consumer_arn
    )
    assert kinesis.get_resource_policy(ResourceARN=arn)["Policy"] == "{}"

    code = code_of(kinesis.put_resource_policy, ResourceARN=arn, Policy="not json")
    assert code == "InvalidArgumentException"
    code = code_of(kinesis.put_resource_policy, ResourceARN=arn, Policy="[1, 2]")
    assert code == "InvalidArgumentException"
    missing = arn.rsplit("/", 1)[0] + "/nope"
    for call in [
        lambda: kinesis.get_resource_policy(ResourceARN=missing),
        lambda: kinesis.put_resource_policy(ResourceARN=missing, Policy="{}"),
        lambda: kinesis.delete_resource_policy(ResourceARN=missing),
    ]:
        assert code_of(call) == "ResourceNotFoundException"
    assert raw_error(server, "PutResourcePolicy", {"ResourceARN": arn}) == "ValidationException"
    assert raw_error(server, "GetResourcePolicy", {"ResourceARN": "x"}) == "ValidationException"


def test_account_settings_track_the_billing_commitment(kinesis, server):
    settings = kinesis.describe_account_settings()["MinimumThroughputBillingCommitment"]
    assert settings == {"Status": "DISABLED"}
    started = time.time()
    enabled = kinesis.update_account_settings(
        MinimumThroughputBillingCommitment={"Status": "ENABLED"}
    )["MinimumThroughputBillingCommitment"]
    assert enabled["Status"] == "ENABLED"
    assert abs(enabled["StartedAt"].timestamp() - started) < 60
    term = enabled["EarliestAllowedEndAt"] - enabled["StartedAt"]
    assert term.total_seconds() == 24 * 3600
    # Disabling within the first 24 hours only schedules the end; enabling cancels that.
    pending = kinesis.update_account_settings(
        MinimumThroughputBillingCommitment={"Status": "DISABLED"}
    )["MinimumThroughputBillingCommitment"]
    assert pending["Status"] == "ENABLED_UNTIL_EARLIEST_ALLOWED_END"
    assert kinesis.describe_account_settings()["MinimumThroughputBillingCommitment"] == pending
    again = kinesis.update_account_settings(
        MinimumThroughputBillingCommitment={"Status": "ENABLED"}
    )["MinimumThroughputBillingCommitment"]
    assert again["Status"] == "ENABLED" and again["StartedAt"] == enabled["StartedAt"]
    for payload in [
        {"MinimumThroughputBillingCommitment": {"Status": "MAYBE"}},
        {"MinimumThroughputBillingCommitment": {}},
        {},
    ]:
        assert raw_error(server, "UpdateAccountSettings", payload) == "ValidationException"


# ---- durability and error hygiene -----------------------------------------------------------


def test_settings_survive_restart_and_kill9(server, unique_stream):
    kinesis = server.client()
    arn = create_stream(kinesis, unique_stream, 2)["StreamARN"]
    kinesis.add_tags_to_stream(StreamName=unique_stream, Tags={"team": "data", "env": "ci"})
    kinesis.increase_stream_retention_period(StreamName=unique_stream, RetentionPeriodHours=96)
    kinesis.start_stream_encryption(StreamName=unique_stream, EncryptionType="KMS", KeyId="key-1")
    kinesis.enable_enhanced_monitoring(StreamName=unique_stream, ShardLevelMetrics=["IncomingBytes"])
    kinesis.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=4096)
    kinesis.put_resource_policy(ResourceARN=arn, Policy=policy_for(arn))
    kinesis.update_shard_count(
        StreamName=unique_stream, TargetShardCount=3, ScalingType="UNIFORM_SCALING"
    )
    kinesis.update_account_settings(MinimumThroughputBillingCommitment={"Status": "ENABLED"})

    def check(client) -> None:
        description = wait_active(client, unique_stream)
        assert description["RetentionPeriodHours"] == 96
        assert description["EncryptionType"] == "KMS" and description["KeyId"] == "key-1"
        assert description["EnhancedMonitoring"] == [{"ShardLevelMetrics": ["IncomingBytes"]}]
        summary = client.describe_stream_summary(StreamName=unique_stream)
        assert summary["StreamDescriptionSummary"]["MaxRecordSizeInKiB"] == 4096
        assert client.list_tags_for_stream(StreamName=unique_stream)["Tags"] == [
            {"Key": "env", "Value": "ci"},
            {"Key": "team", "Value": "data"},
        ]
        assert client.get_resource_policy(ResourceARN=arn)["Policy"] == policy_for(arn)
        assert ranges(open_shards(client, unique_stream)) == uniform(3)
        commitment = client.describe_account_settings()["MinimumThroughputBillingCommitment"]
        assert commitment["Status"] == "ENABLED"

    check(kinesis)
    server.restart()
    check(server.client())
    server.kill9()
    server.start()
    check(server.client())


def test_cbor_bodies_work_for_administration(server, kinesis, unique_stream):
    """The Java SDK's CBOR encoding of the same shapes."""
    create_stream(kinesis, unique_stream, 2)
    response = cbor_call(
        server.endpoint,
        "IncreaseStreamRetentionPeriod",
        {"StreamName": unique_stream, "RetentionPeriodHours": 36},
    )
    assert response.status == 200, response
    response = cbor_call(
        server.endpoint,
        "UpdateShardCount",
        {"StreamName": unique_stream, "TargetShardCount": 4, "ScalingType": "UNIFORM_SCALING"},
    )
    assert response.status == 200, response
    assert response.cbor()["CurrentShardCount"] == 2
    response = cbor_call(
        server.endpoint, "AddTagsToStream", {"StreamName": unique_stream, "Tags": {"a": "b"}}
    )
    assert response.status == 200, response
    response = cbor_call(server.endpoint, "ListTagsForStream", {"StreamName": unique_stream})
    assert response.cbor() == {"Tags": [{"Key": "a", "Value": "b"}], "HasMoreTags": False}
    response = cbor_call(
        server.endpoint, "DecreaseStreamRetentionPeriod", {"StreamName": unique_stream}
    )
    assert (response.status, response.error_type) == (400, "ValidationException")
    description = kinesis.describe_stream(StreamName=unique_stream)["StreamDescription"]
    assert description["RetentionPeriodHours"] == 36
    assert ranges(open_shards(kinesis, unique_stream)) == uniform(4)


def test_bad_input_is_always_a_400(server, kinesis, unique_stream):
    """Malformed bodies of every administration operation get a 4xx AWS exception."""
    create_stream(kinesis, unique_stream)
    operations = [
        "IncreaseStreamRetentionPeriod",
        "DecreaseStreamRetentionPeriod",
        "SplitShard",
        "MergeShards",
        "UpdateShardCount",
        "AddTagsToStream",
        "RemoveTagsFromStream",
        "ListTagsForStream",
        "TagResource",
        "UntagResource",
        "ListTagsForResource",
        "StartStreamEncryption",
        "StopStreamEncryption",
        "EnableEnhancedMonitoring",
        "DisableEnhancedMonitoring",
        "UpdateMaxRecordSize",
        "UpdateStreamMode",
        "UpdateStreamWarmThroughput",
        "PutResourcePolicy",
        "GetResourcePolicy",
        "DeleteResourcePolicy",
        "UpdateAccountSettings",
    ]
    bodies = [
        b"{",
        b"[]",
        b'{"StreamName": 5}',
        json.dumps({"StreamName": unique_stream}).encode(),
        json.dumps({"StreamName": "bad name!"}).encode(),
        json.dumps({"StreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/"}).encode(),
        json.dumps({"ResourceARN": 7, "Tags": "x"}).encode(),
        json.dumps(
            {
                "StreamName": unique_stream,
                "RetentionPeriodHours": 2**62,
                "TargetShardCount": 2**40,
                "ScalingType": "UNIFORM_SCALING",
                "ShardToSplit": "shardId-000000000000",
                "NewStartingHashKey": "9" * 39,
                "MaxRecordSizeInKiB": 2**40,
                "WarmThroughputMiBps": 2**40,
            }
        ).encode(),
    ]
    for operation in operations:
        for body in bodies:
            if operation == "ListTagsForStream" and unique_stream.encode() in body:
                continue  # a valid request: every other member is optional
            response = raw_call(server.endpoint, operation, body)
            assert response.status == 400, (operation, body, response)
            assert response.error_type in {
                "ValidationException",
                "SerializationException",
                "InvalidArgumentException",
                "ResourceNotFoundException",
                "LimitExceededException",
            }, (operation, body, response)
    # The no-member operations ignore what they are given.
    for operation in ["DescribeLimits", "DescribeAccountSettings"]:
        assert raw_call(server.endpoint, operation, b"").status == 200
        assert raw_call(server.endpoint, operation, {"Extra": 1}).status == 200
