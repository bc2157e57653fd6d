"""SNS FIFO topics into SQS FIFO queues: per-group order, MessageGroupId and
MessageDeduplicationId passed on to the queue, deduplication by id and by content within
five minutes (on the manual clock), Publish's increasing SequenceNumber, and AWS's refusals
(no group id, no deduplication id without ContentBasedDeduplication, a FIFO queue under a
standard topic).
"""

from __future__ import annotations

import json
import urllib.request
import uuid

import botocore.exceptions
import pytest

from sns_receiver import make_queue, receive, subscribe_queue

MANUAL = '[server]\nclock = "manual"\n'
FIFO_QUEUE = {"FifoQueue": "true"}


def advance(server, ms: int) -> None:
    request = urllib.request.Request(
        f"{server.endpoint}/_strata/clock?advance_ms={ms}", method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def fifo_topic(sns, name: str, **attributes: str) -> str:
    return sns.create_topic(
        Name=f"{name}.fifo", Attributes={"FifoTopic": "true", **attributes}
    )["TopicArn"]


def payload(message: dict, raw: bool) -> str:
    return message["Body"] if raw else json.loads(message["Body"])["Message"]


def test_fifo_topic_keeps_group_order_and_passes_ids_on(server):
    sns = server.client("sns")
    sqs = server.client("sqs")
    name = f"ff-{uuid.uuid4().hex[:10]}"
    topic = fifo_topic(sns, name)
    assert topic.endswith(".fifo")
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attributes["FifoTopic"] == "true"
    assert attributes.get("ContentBasedDeduplication", "false") == "false"
    envelope_url, _ = subscribe_queue(sns, topic, sqs, f"{name}-env.fifo", FIFO_QUEUE)
    raw_url, _ = subscribe_queue(
        sns, topic, sqs, f"{name}-raw.fifo", FIFO_QUEUE, RawMessageDelivery="true"
    )
    sequence: list[int] = []
    published = {}
    for index in range(15):
        group = f"g{index % 3}"
        result = sns.publish(
            TopicArn=topic,
            Message=f"{group}-{index}",
            MessageGroupId=group,
            MessageDeduplicationId=f"d-{index}",
        )
        sequence.append(int(result["SequenceNumber"]))
        published[f"{group}-{index}"] = result["MessageId"]
    assert sequence == sorted(sequence) and len(set(sequence)) == 15, sequence

    for url, raw in [(envelope_url, False), (raw_url, True)]:
        messages = receive(sqs, url, 15, timeout_s=15)
        bodies = [payload(m, raw) for m in messages]
        assert sorted(bodies) == sorted(published), bodies
        for group in ("g0", "g1", "g2"):
            in_group = [b for b in bodies if b.startswith(group + "-")]
            assert in_group == sorted(in_group, key=lambda b: int(b.split("-")[1])), in_group
        for message in messages:
            body = payload(message, raw)
            index = body.split("-")[1]
            assert message["Attributes"]["MessageGroupId"] == body.split("-")[0]
            assert message["Attributes"]["MessageDeduplicationId"] == f"d-{index}"
            if not raw:
                envelope = json.loads(message["Body"])
                assert envelope["MessageId"] == published[body]
                assert envelope["TopicArn"] == topic


def test_fifo_deduplication_by_id_and_by_content_lasts_five_minutes(start_server):
    server = start_server(config_toml=MANUAL)
    sns = server.client("sns")
    sqs = server.client("sqs")
    name = f"ff-{uuid.uuid4().hex[:10]}"
    by_id = fifo_topic(sns, name)
    by_content = fifo_topic(sns, name + "-c", ContentBasedDeduplication="true")
    id_url, _ = subscribe_queue(
        sns, by_id, sqs, f"{name}-id.fifo", FIFO_QUEUE, RawMessageDelivery="true"
    )
    content_url, _ = subscribe_queue(
        sns, by_content, sqs, f"{name}-content.fifo", FIFO_QUEUE, RawMessageDelivery="true"
    )

    sns.publish(TopicArn=by_id, Message="a", MessageGroupId="g", MessageDeduplicationId="x")
    sns.publish(TopicArn=by_id, Message="a again", MessageGroupId="g", MessageDeduplicationId="x")
    sns.publish(TopicArn=by_id, Message="b", MessageGroupId="g", MessageDeduplicationId="y")
    sns.publish(TopicArn=by_content, Message="same", MessageGroupId="g")
    sns.publish(TopicArn=by_content, Message="same", MessageGroupId="other-group")
    sns.publish(TopicArn=by_content, Message="different", MessageGroupId="g")
    # FIFO order: once the last one is in, the duplicates would have been before it.
    assert [m["Body"] for m in receive(sqs, id_url, 3, timeout_s=5)] == ["a", "b"]
    content = receive(sqs, content_url, 3, timeout_s=5)
    assert [m["Body"] for m in content] == ["same", "different"]
    assert all(m["Attributes"].get("MessageDeduplicationId") for m in content)

    # Within five minutes, still a duplicate; after them, a new message.
    advance(server, 299_000)
    sns.publish(TopicArn=by_id, Message="a late", MessageGroupId="g", MessageDeduplicationId="x")
    sns.publish(TopicArn=by_id, Message="c", MessageGroupId="g", MessageDeduplicationId="z")
    assert [m["Body"] for m in receive(sqs, id_url, 2, timeout_s=5)] == ["c"]
    advance(server, 2_000)
    sns.publish(TopicArn=by_id, Message="a new", MessageGroupId="g", MessageDeduplicationId="x")
    sns.publish(TopicArn=by_content, Message="same", MessageGroupId="g")
    assert [m["Body"] for m in receive(sqs, id_url, 1, timeout_s=5)] == ["a new"]
    assert [m["Body"] for m in receive(sqs, content_url, 1, timeout_s=5)] == ["same"]


def test_fifo_refusals(server):
    sns = server.client("sns")
    sqs = server.client("sqs")
    name = f"ff-{uuid.uuid4().hex[:10]}"
    topic = fifo_topic(sns, name)

    def code(call, **kwargs) -> str:
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            call(**kwargs)
        return excinfo.value.response["Error"]["Code"]

    assert code(sns.publish, TopicArn=topic, Message="m", MessageDeduplicationId="d") == (
        "InvalidParameter"
    )
    # Neither a deduplication id nor content-based deduplication.
    assert code(sns.publish, TopicArn=topic, Message="m", MessageGroupId="g") == (
        "InvalidParameter"
    )
    batch = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[
            {"Id": "a", "Message": "m1", "MessageGroupId": "g", "MessageDeduplicationId": "1"},
            {"Id": "b", "Message": "m2", "MessageGroupId": "g", "MessageDeduplicationId": "2"},
        ],
    )
    numbers = {entry["Id"]: int(entry["SequenceNumber"]) for entry in batch["Successful"]}
    assert set(numbers) == {"a", "b"} and numbers["a"] < numbers["b"], batch

    # A FIFO topic cannot be made standard, nor a standard topic FIFO.
    assert code(
        sns.set_topic_attributes, TopicArn=topic, AttributeName="FifoTopic", AttributeValue="false"
    ) == "InvalidParameter"

    standard = sns.create_topic(Name=name)["TopicArn"]
    _, fifo_queue = make_queue(sqs, f"{name}-q.fifo", **FIFO_QUEUE)
    assert code(sns.subscribe, TopicArn=standard, Protocol="sqs", Endpoint=fifo_queue) == (
        "InvalidParameter"
    )
    # A standard topic takes no deduplication id.
    assert code(
        sns.publish, TopicArn=standard, Message="m", MessageDeduplicationId="d"
    ) == "InvalidParameter"
