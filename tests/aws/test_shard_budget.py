"""The open shard budget (DescribeLimits' ShardLimit, `kinesis.shards_max`), as boto3 sees it.

Regression: one CreateStream with ShardCount 100000 was accepted, stalled every other request
for about 45 s and left a stream the server could not open again; DescribeLimits said 500 but
600 shards were accepted. Now a change over the budget gets LimitExceededException at once,
and nothing of it is left behind.
"""

from __future__ import annotations

import threading
import time

import pytest
from botocore.exceptions import ClientError

CONFIG = """
[kinesis]
shards_max = 12
"""


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_a_create_over_the_limit_is_refused_at_once_and_leaves_nothing(start_server):
    server = start_server(config_toml=CONFIG)
    kinesis = server.client()
    assert kinesis.describe_limits()["ShardLimit"] == 12

    started = time.monotonic()
    with pytest.raises(ClientError) as excinfo:
        kinesis.create_stream(StreamName="huge", ShardCount=100000)
    assert time.monotonic() - started < 2
    assert error_code(excinfo) == "LimitExceededException"
    message = excinfo.value.response["Error"]["Message"]
    assert "Limit: 12" in message and "100000" in message
    assert kinesis.list_streams()["StreamNames"] == []

    kinesis.create_stream(StreamName="ten", ShardCount=10)
    with pytest.raises(ClientError) as excinfo:
        kinesis.create_stream(StreamName="three", ShardCount=3)
    assert error_code(excinfo) == "LimitExceededException"
    kinesis.create_stream(StreamName="two", ShardCount=2)
    assert kinesis.describe_limits()["OpenShardCount"] == 12

    # A split and an UpdateShardCount up each open more shards: refused too.
    shard = kinesis.list_shards(StreamName="two")["Shards"][0]
    with pytest.raises(ClientError) as excinfo:
        kinesis.split_shard(
            StreamName="two",
            ShardToSplit=shard["ShardId"],
            NewStartingHashKey=str(int(shard["HashKeyRange"]["EndingHashKey"]) // 2),
        )
    assert error_code(excinfo) == "LimitExceededException"
    with pytest.raises(ClientError) as excinfo:
        kinesis.update_shard_count(
            StreamName="two", TargetShardCount=4, ScalingType="UNIFORM_SCALING"
        )
    assert error_code(excinfo) == "LimitExceededException"
    assert sorted(kinesis.list_streams()["StreamNames"]) == ["ten", "two"]

    # Deleting frees the budget.
    kinesis.delete_stream(StreamName="ten")
    kinesis.create_stream(StreamName="three", ShardCount=3)


def test_other_requests_are_answered_while_refused_creates_arrive(start_server):
    server = start_server(config_toml=CONFIG)
    kinesis = server.client()
    kinesis.create_stream(StreamName="live", ShardCount=1)
    stop = threading.Event()
    refused: list[str] = []

    def hammer():
        client = server.client()
        while not stop.is_set():
            try:
                client.create_stream(StreamName="huge", ShardCount=100000)
            except ClientError as error:
                refused.append(error.response["Error"]["Code"])

    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    # The puts below run while refusals arrive: wait (bounded) for the first one, or a slow
    # machine finishes the puts before the other client has sent anything.
    deadline = time.monotonic() + 30
    while not refused and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        for i in range(50):
            started = time.monotonic()
            kinesis.put_record(StreamName="live", Data=b"x", PartitionKey=str(i))
            assert time.monotonic() - started < 1
    finally:
        stop.set()
        thread.join(timeout=10)
    assert refused and set(refused) == {"LimitExceededException"}
