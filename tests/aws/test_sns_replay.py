"""Archive and replay: a topic keeps its messages in the log, and a subscription's
ReplayPolicy sends it a time range again (AWS: FIFO topics with an ArchivePolicy; on Strata
any topic, as an extension), in order, each once, with ReplayStatus going to Completed.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

import botocore.exceptions
import pytest

from sns_receiver import receive_exactly, subscribe_queue


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, timezone.utc).isoformat(timespec="milliseconds")


def wait_status(sns, subscription: str, status: str, timeout_s: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        attributes = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
        if attributes.get("ReplayStatus") == status or time.monotonic() > deadline:
            return attributes
        time.sleep(0.05)


@pytest.mark.parametrize("fifo", [True, False])
def test_a_replay_policy_sends_the_archived_range_again(server, fifo):
    sns = server.client("sns")
    sqs = server.client("sqs")
    name = f"replay-{uuid.uuid4().hex[:8]}"
    suffix = ".fifo" if fifo else ""
    attributes = (
        {
            "FifoTopic": "true",
            "ContentBasedDeduplication": "true",
            "ArchivePolicy": json.dumps({"MessageRetentionPeriod": "7"}),
        }
        if fifo
        else {}
    )
    topic = sns.create_topic(Name=name + suffix, Attributes=attributes)["TopicArn"]
    before = time.time() - 1
    group = {"MessageGroupId": "g"} if fifo else {}
    for i in range(5):
        sns.publish(TopicArn=topic, Message=f"m{i}", **group)
    if fifo:
        assert "BeginningArchiveTime" in sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    queue_attributes = {"FifoQueue": "true"} if fifo else {}
    url, subscription = subscribe_queue(
        sns,
        topic,
        sqs,
        name + "-late" + suffix,
        queue_attributes=queue_attributes,
        RawMessageDelivery="true",
        ReplayPolicy=json.dumps({"PointType": "Timestamp", "StartingPoint": iso(before)}),
    )
    got = receive_exactly(sqs, url, 5)
    bodies = [message["Body"] for message in got]
    assert bodies == [f"m{i}" for i in range(5)] if fifo else sorted(bodies) == sorted(
        f"m{i}" for i in range(5)
    )
    assert wait_status(sns, subscription, "Completed")["ReplayStatus"] == "Completed"
    # Later messages come once, by the fan-out.
    sns.publish(TopicArn=topic, Message="after", **group)
    assert [m["Body"] for m in receive_exactly(sqs, url, 1)] == ["after"]


def test_a_malformed_replay_policy_is_refused(server):
    sns = server.client("sns")
    sqs = server.client("sqs")
    topic = sns.create_topic(Name=f"replay-{uuid.uuid4().hex[:8]}")["TopicArn"]
    for policy in ["{not json", json.dumps({"PointType": "Offset", "StartingPoint": 1})]:
        with pytest.raises(botocore.exceptions.ClientError) as error:
            subscribe_queue(sns, topic, sqs, f"bad-{uuid.uuid4().hex[:8]}", ReplayPolicy=policy)
        assert error.value.response["Error"]["Code"] == "InvalidParameter"
