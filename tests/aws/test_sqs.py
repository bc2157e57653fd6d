"""SQS through unmodified boto3 (AWS JSON 1.0), raw query-protocol requests (form in, XML
out, as older SDKs send them) and the aws CLI, against a running `strata serve`.

Digests are checked against an implementation written here from AWS's description (sorted
names, length-prefixed big-endian fields, transport byte 1 for String/Number and 2 for
Binary), as the Java and .NET SDKs check them.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import struct
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET

import botocore.exceptions
import pytest

SQS_NS = "{http://queue.amazonaws.com/doc/2012-11-05/}"
ACCOUNT = "000000000000"


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def attributes_md5(attributes: dict) -> str:
    """MD5OfMessageAttributes as the SDKs compute it."""
    out = b""

    def field(value: bytes) -> bytes:
        return struct.pack(">I", len(value)) + value

    for name in sorted(attributes):
        value = attributes[name]
        out += field(name.encode()) + field(value["DataType"].encode())
        if "BinaryValue" in value:
            out += b"\x02" + field(value["BinaryValue"])
        else:
            out += b"\x01" + field(value["StringValue"].encode())
    return md5_hex(out)


@pytest.fixture
def sqs(server):
    return server.client("sqs")


@pytest.fixture
def queue_name():
    return f"q-{uuid.uuid4().hex[:12]}"


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def query(server, params: dict, path: str = "/", method: str = "POST"):
    """A query-protocol request: returns (status, headers, parsed XML root)."""
    params = {"Version": "2012-11-05", **params}
    body = urllib.parse.urlencode(params).encode()
    url = server.endpoint + path
    if method == "GET":
        request = urllib.request.Request(url + "?" + body.decode(), method="GET")
    else:
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), ET.fromstring(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), ET.fromstring(error.read())


# ---- queues ---------------------------------------------------------------------------------


def test_queue_lifecycle_urls_listing_and_attributes(sqs, queue_name, server):
    url = sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "7"})[
        "QueueUrl"
    ]
    assert url == f"{server.endpoint}/{ACCOUNT}/{queue_name}"
    # Idempotent with the same attributes; QueueNameExists with others.
    assert (
        sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "7"})[
            "QueueUrl"
        ]
        == url
    )
    with pytest.raises(sqs.exceptions.QueueNameExists):
        sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "8"})
    assert sqs.get_queue_url(QueueName=queue_name)["QueueUrl"] == url
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "7"
    assert attributes["MaximumMessageSize"] == "1048576"
    assert attributes["MessageRetentionPeriod"] == "345600"
    assert attributes["QueueArn"] == f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue_name}"
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert abs(int(attributes["CreatedTimestamp"]) - time.time()) < 120
    assert "FifoQueue" not in attributes
    # No names: no attributes.
    assert "Attributes" not in sqs.get_queue_attributes(QueueUrl=url)
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"DelaySeconds": "3", "ReceiveMessageWaitTimeSeconds": "2"}
    )
    one = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"]
    assert one == {"DelaySeconds": "3"}
    # Any host reaches the queue: it is found by account and name.
    other_host = url.replace("127.0.0.1", "localhost")
    assert sqs.get_queue_attributes(QueueUrl=other_host, AttributeNames=["DelaySeconds"])
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=queue_name)
    with pytest.raises(sqs.exceptions.QueueDeletedRecently):
        sqs.create_queue(QueueName=queue_name)


def test_list_queues_by_prefix_with_pages(sqs):
    prefix = f"list-{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}-{index}" for index in range(5)]
    for name in names:
        sqs.create_queue(QueueName=name)
    sqs.create_queue(QueueName=f"other-{uuid.uuid4().hex[:6]}")
    listed = sqs.list_queues(QueueNamePrefix=prefix)
    assert [url.rsplit("/", 1)[1] for url in listed["QueueUrls"]] == names
    assert "NextToken" not in listed
    seen = []
    token = None
    while True:
        kwargs = {"QueueNamePrefix": prefix, "MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = sqs.list_queues(**kwargs)
        seen += [url.rsplit("/", 1)[1] for url in page["QueueUrls"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == names
    paginator = sqs.get_paginator("list_queues")
    pages = list(paginator.paginate(QueueNamePrefix=prefix, PaginationConfig={"PageSize": 3}))
    assert sum(len(page.get("QueueUrls", [])) for page in pages) == 5


@pytest.mark.parametrize(
    "attributes",
    [
        {"VisibilityTimeout": "43201"},
        {"MessageRetentionPeriod": "59"},
        {"MaximumMessageSize": "1023"},
        {"DelaySeconds": "-1"},
        {"ReceiveMessageWaitTimeSeconds": "21"},
        {"VisibilityTimeout": "ten"},
        {"RedrivePolicy": '{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:x","maxReceiveCount":0}'},
    ],
)
def test_out_of_range_attributes_are_refused(sqs, queue_name, attributes):
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sqs.create_queue(QueueName=queue_name, Attributes=attributes)
    assert error_code(excinfo) in ("InvalidAttributeValue", "InvalidParameterValue")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=queue_name)


def test_bad_names_and_unknown_attributes(sqs):
    for name in ["has space", "x" * 81, "", "dot.fifo"]:
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            sqs.create_queue(QueueName=name)
        assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sqs.create_queue(QueueName="plain", Attributes={"Colour": "blue"})
    assert error_code(excinfo) == "InvalidAttributeName"
    url = sqs.create_queue(QueueName=f"plain-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ContentBasedDeduplication"])
    assert error_code(excinfo) == "InvalidAttributeName"


def test_tags_and_permissions(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name, tags={"team": "data"})["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "data"}
    sqs.tag_queue(QueueUrl=url, Tags={"env": "test", "team": "ops"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "ops", "env": "test"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["team", "absent"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "test"}

    sqs.add_permission(
        QueueUrl=url, Label="send", AWSAccountIds=["111122223333"], Actions=["SendMessage"]
    )
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"]
    )
    (statement,) = policy["Statement"]
    assert statement["Sid"] == "send"
    assert statement["Action"] == ["SQS:SendMessage"]
    assert statement["Principal"] == {"AWS": ["arn:aws:iam::111122223333:root"]}
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sqs.add_permission(
            QueueUrl=url, Label="send", AWSAccountIds=["111122223333"], Actions=["SendMessage"]
        )
    assert error_code(excinfo) == "InvalidParameterValue"
    sqs.remove_permission(QueueUrl=url, Label="send")
    assert "Policy" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get(
        "Attributes", {}
    )
    with pytest.raises(botocore.exceptions.ClientError):
        sqs.remove_permission(QueueUrl=url, Label="send")


# ---- messages -------------------------------------------------------------------------------


def test_send_receive_delete_with_exact_digests(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    attributes = {
        "name": {"DataType": "String", "StringValue": "Zoë"},
        "count": {"DataType": "Number", "StringValue": "1493147359900"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
        "custom": {"DataType": "String.custom", "StringValue": "c"},
    }
    body = "héllo\r\nworld \U0001f600"
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody=body,
        MessageAttributes=attributes,
        MessageSystemAttributes={
            "AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}
        },
    )
    assert sent["MD5OfMessageBody"] == md5_hex(body.encode())
    assert sent["MD5OfMessageAttributes"] == attributes_md5(attributes)
    assert sent["MD5OfMessageSystemAttributes"] == attributes_md5(
        {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}}
    )
    uuid.UUID(sent["MessageId"])
    received = sqs.receive_message(
        QueueUrl=url,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
        MaxNumberOfMessages=10,
    )["Messages"]
    (message,) = received
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == body
    assert message["MD5OfBody"] == md5_hex(body.encode())
    assert message["MessageAttributes"] == attributes
    assert message["MD5OfMessageAttributes"] == attributes_md5(attributes)
    system = message["Attributes"]
    assert system["ApproximateReceiveCount"] == "1"
    assert system["AWSTraceHeader"] == "Root=1-abc"
    assert abs(int(system["SentTimestamp"]) / 1000 - time.time()) < 120
    # Only the attributes asked for, and their digest.
    filtered = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["na.*", "count"])
    assert "Messages" not in filtered  # in flight
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    again = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["count"])["Messages"][0]
    assert again["MessageAttributes"] == {"count": attributes["count"]}
    assert again["MD5OfMessageAttributes"] == attributes_md5({"count": attributes["count"]})
    assert again["ReceiptHandle"] != message["ReceiptHandle"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
    # Deleting twice is fine; the queue is empty.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_message_rules(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name, Attributes={"MaximumMessageSize": "1024"})[
        "QueueUrl"
    ]
    cases = [
        ({"MessageBody": "x" * 1025}, "InvalidParameterValue"),
        ({"MessageBody": "bad \x01 char"}, "InvalidMessageContents"),
        ({"MessageBody": ""}, "MissingParameter"),
        ({"MessageBody": "x", "DelaySeconds": 901}, "InvalidParameterValue"),
        (
            {
                "MessageBody": "x",
                "MessageAttributes": {"AWS.x": {"DataType": "String", "StringValue": "v"}},
            },
            "InvalidParameterValue",
        ),
        (
            {
                "MessageBody": "x",
                "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "nan"}},
            },
            "InvalidParameterValue",
        ),
        (
            {
                "MessageBody": "x",
                "MessageAttributes": {
                    f"a{index}": {"DataType": "String", "StringValue": "v"} for index in range(11)
                },
            },
            "InvalidParameterValue",
        ),
    ]
    for kwargs, code in cases:
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            sqs.send_message(QueueUrl=url, **kwargs)
        assert error_code(excinfo) == code, kwargs
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=11)
    assert error_code(excinfo) == "InvalidParameterValue"
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="not-a-handle")
    assert error_code(excinfo) == "ReceiptHandleIsInvalid"
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=url + "-missing", MessageBody="x")


def test_batches_fail_per_entry(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    result = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "ok1", "MessageBody": "one"},
            {"Id": "bad", "MessageBody": "x", "DelaySeconds": 1000},
            {"Id": "ok2", "MessageBody": "two"},
        ],
    )
    assert [entry["Id"] for entry in result["Successful"]] == ["ok1", "ok2"]
    assert result["Successful"][0]["MD5OfMessageBody"] == md5_hex(b"one")
    (failed,) = result["Failed"]
    assert failed["Id"] == "bad" and failed["SenderFault"] is True
    assert failed["Code"] == "InvalidParameterValue"
    for entries, code in [
        ([], "AWS.SimpleQueueService.EmptyBatchRequest"),
        (
            [{"Id": str(index), "MessageBody": "x"} for index in range(11)],
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        ),
        (
            [{"Id": "same", "MessageBody": "x"}, {"Id": "same", "MessageBody": "y"}],
            "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        ),
        ([{"Id": "bad id!", "MessageBody": "x"}], "AWS.SimpleQueueService.InvalidBatchEntryId"),
        (
            [{"Id": str(index), "MessageBody": "x" * 200_000} for index in range(6)],
            "AWS.SimpleQueueService.BatchRequestTooLong",
        ),
    ]:
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
        assert error_code(excinfo) == code
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(message["Body"] for message in messages) == ["one", "two"]
    changed = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "ReceiptHandle": messages[0]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "b", "ReceiptHandle": "garbage", "VisibilityTimeout": 0},
        ],
    )
    assert [entry["Id"] for entry in changed["Successful"]] == ["a"]
    assert changed["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    deleted = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "m1", "ReceiptHandle": messages[1]["ReceiptHandle"]},
            {"Id": "m2", "ReceiptHandle": "garbage"},
        ],
    )
    assert [entry["Id"] for entry in deleted["Successful"]] == ["m1"]
    assert [entry["Id"] for entry in deleted["Failed"]] == ["m2"]
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [message["Body"] for message in left] == [messages[0]["Body"]]


def test_visibility_timeout_redelivers_with_a_new_handle(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "1"})[
        "QueueUrl"
    ]
    sqs.send_message(QueueUrl=url, MessageBody="again")
    first = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    second = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"][0]
    assert second["MessageId"] == first["MessageId"]
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "1"
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=43201
        )
    assert error_code(excinfo) == "InvalidParameterValue"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"])
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=5
        )
    assert error_code(excinfo) == "AWS.SimpleQueueService.MessageNotInflight"


def test_long_poll_returns_as_soon_as_a_message_arrives(server, queue_name):
    sqs = server.client("sqs", read_timeout=30)
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        waiting = pool.submit(
            sqs.receive_message, QueueUrl=url, WaitTimeSeconds=20, MaxNumberOfMessages=10
        )
        time.sleep(0.5)
        assert not waiting.done()
        server.client("sqs").send_message(QueueUrl=url, MessageBody="wake")
        messages = waiting.result(timeout=15)["Messages"]
        assert [message["Body"] for message in messages] == ["wake"]
        assert time.monotonic() - started < 15
    # A poll that finds nothing ends at its wait time, empty.
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    assert 0.8 < time.monotonic() - started < 10


def test_delay_purge_and_counts(sqs, queue_name):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=600)
    sqs.send_message(QueueUrl=url, MessageBody="now")
    sqs.send_message(QueueUrl=url, MessageBody="in flight")
    first = sqs.receive_message(QueueUrl=url)["Messages"]
    assert len(first) == 1
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessagesDelayed"] == "1"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert counts["ApproximateNumberOfMessages"] == "1"
    sqs.purge_queue(QueueUrl=url)
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (
        counts["ApproximateNumberOfMessages"],
        counts["ApproximateNumberOfMessagesNotVisible"],
        counts["ApproximateNumberOfMessagesDelayed"],
    ) == ("0", "0", "0")
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress):
        sqs.purge_queue(QueueUrl=url)
    sqs.send_message(QueueUrl=url, MessageBody="after purge")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["after purge"]


def test_dead_letter_queue_and_move_back(sqs, queue_name):
    dlq_url = sqs.create_queue(QueueName=f"{queue_name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})
    url = sqs.create_queue(
        QueueName=queue_name,
        Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "0"},
    )["QueueUrl"]
    stored = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"][
            "RedrivePolicy"
        ]
    )
    assert stored == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq_url)["queueUrls"] == [url]
    sent = sqs.send_message(QueueUrl=url, MessageBody="poison")
    for _ in range(2):
        assert sqs.receive_message(QueueUrl=url)["Messages"][0]["MessageId"] == sent["MessageId"]
    # The third receive moves it instead of returning it.
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    moved = sqs.receive_message(
        QueueUrl=dlq_url, MessageSystemAttributeNames=["All"], VisibilityTimeout=0
    )["Messages"][0]
    assert moved["MessageId"] == sent["MessageId"]
    assert moved["Body"] == "poison"
    assert moved["Attributes"]["DeadLetterQueueSourceArn"].endswith(":" + queue_name)

    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    deadline = time.monotonic() + 20
    while True:
        (task,) = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]
        if task["Status"] == "COMPLETED" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert task["Status"] == "COMPLETED", task
    assert task["ApproximateNumberOfMessagesMoved"] == 1
    back = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)["Messages"][0]
    assert back["MessageId"] == sent["MessageId"]
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sqs.cancel_message_move_task(TaskHandle=handle)
    assert error_code(excinfo) == "ResourceNotFoundException"


# ---- FIFO -----------------------------------------------------------------------------------


def test_fifo_order_groups_and_deduplication(sqs, queue_name):
    url = sqs.create_queue(
        QueueName=f"{queue_name}.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"
    assert attributes["DeduplicationScope"] == "queue"
    sequence = []
    for index in range(3):
        sent = sqs.send_message(QueueUrl=url, MessageBody=f"a{index}", MessageGroupId="A")
        sequence.append(int(sent["SequenceNumber"]))
    assert sequence == sorted(sequence)
    sqs.send_message(QueueUrl=url, MessageBody="b0", MessageGroupId="B")
    # The same body again within 5 minutes: accepted, not delivered twice.
    duplicate = sqs.send_message(QueueUrl=url, MessageBody="a0", MessageGroupId="A")
    explicit = sqs.send_message(
        QueueUrl=url, MessageBody="a0", MessageGroupId="A", MessageDeduplicationId="other"
    )
    assert explicit["MessageId"] != duplicate["MessageId"]
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
    assert [message["Body"] for message in first] == ["a0", "a1"]
    # Group A is blocked while its messages are in flight; B is not.
    others = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [message["Body"] for message in others] == ["b0"]
    for message in first:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [message["Body"] for message in rest] == ["a2", "a0"]
    # FIFO rules.
    with pytest.raises(botocore.exceptions.ClientError):
        sqs.send_message(QueueUrl=url, MessageBody="no group")
    with pytest.raises(botocore.exceptions.ClientError):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="A", DelaySeconds=5)
    plain = sqs.create_queue(
        QueueName=f"{queue_name}-plain", Attributes={}
    )["QueueUrl"]
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sqs.set_queue_attributes(QueueUrl=plain, Attributes={"ContentBasedDeduplication": "true"})
    assert error_code(excinfo) == "InvalidAttributeName"


# ---- durability -----------------------------------------------------------------------------


def test_acknowledged_sends_and_deletes_survive_kill9(start_server, queue_name):
    server = start_server(args=["--fsync", "always"])
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "0"})[
        "QueueUrl"
    ]
    bodies = [f"m{index}" for index in range(30)]
    for start in range(0, 30, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start : start + 10])],
        )
    received = []
    while len(received) < 10:
        received += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    deleted = {message["Body"] for message in received[:10]}
    sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]}
            for i, message in enumerate(received[:10])
        ],
    )
    server.kill9()
    server.restart()
    sqs = server.client("sqs")
    left = []
    for _ in range(20):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600)
        left += [message["Body"] for message in batch.get("Messages", [])]
        if len(left) >= 20:
            break
    assert sorted(left) == sorted(set(bodies) - deleted)
    assert len(left) == len(set(left))


# ---- query protocol -------------------------------------------------------------------------


def test_the_query_protocol_speaks_xml(server, queue_name):
    status, headers, root = query(server, {"Action": "CreateQueue", "QueueName": queue_name,
                                           "Attribute.1.Name": "VisibilityTimeout",
                                           "Attribute.1.Value": "9"})
    assert status == 200, ET.tostring(root)
    assert root.tag == SQS_NS + "CreateQueueResponse"
    url = root.find(f"{SQS_NS}CreateQueueResult/{SQS_NS}QueueUrl").text
    assert url.endswith(f"/{ACCOUNT}/{queue_name}")
    assert root.find(f"{SQS_NS}ResponseMetadata/{SQS_NS}RequestId").text
    body = "line one\r\nline two & <three>"
    status, _, root = query(
        server,
        {
            "Action": "SendMessage",
            "QueueUrl": url,
            "MessageBody": body,
            "MessageAttribute.1.Name": "k",
            "MessageAttribute.1.Value.DataType": "String",
            "MessageAttribute.1.Value.StringValue": "v",
        },
    )
    assert status == 200
    result = root.find(f"{SQS_NS}SendMessageResult")
    assert result.find(f"{SQS_NS}MD5OfMessageBody").text == md5_hex(body.encode())
    assert result.find(f"{SQS_NS}MD5OfMessageAttributes").text == attributes_md5(
        {"k": {"DataType": "String", "StringValue": "v"}}
    )
    # Sent to the queue's own URL, without QueueUrl, by GET.
    path = urllib.parse.urlparse(url).path
    status, _, root = query(
        server,
        {"Action": "ReceiveMessage", "AttributeName.1": "All", "MessageAttributeName.1": "All"},
        path=path,
        method="GET",
    )
    assert status == 200, ET.tostring(root)
    message = root.find(f"{SQS_NS}ReceiveMessageResult/{SQS_NS}Message")
    # The CR survives the XML parser: it was sent as &#xD;.
    assert message.find(f"{SQS_NS}Body").text == body
    assert message.find(f"{SQS_NS}MD5OfBody").text == md5_hex(body.encode())
    names = {a.find(f"{SQS_NS}Name").text for a in message.findall(f"{SQS_NS}Attribute")}
    assert {"SentTimestamp", "ApproximateReceiveCount"} <= names
    handle = message.find(f"{SQS_NS}ReceiptHandle").text
    status, _, root = query(
        server, {"Action": "DeleteMessage", "QueueUrl": url, "ReceiptHandle": handle}
    )
    assert status == 200 and root.tag == SQS_NS + "DeleteMessageResponse"
    status, _, root = query(server, {"Action": "ListQueues", "QueueNamePrefix": queue_name})
    urls = [e.text for e in root.iter(SQS_NS + "QueueUrl")]
    assert urls == [url]


def test_query_errors_are_error_responses(server):
    status, headers, root = query(
        server, {"Action": "GetQueueUrl", "QueueName": "does-not-exist"}
    )
    assert status == 400
    assert headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    assert root.tag == SQS_NS + "ErrorResponse"
    error = root.find(f"{SQS_NS}Error")
    assert error.find(f"{SQS_NS}Type").text == "Sender"
    assert error.find(f"{SQS_NS}Code").text == "AWS.SimpleQueueService.NonExistentQueue"
    status, _, root = query(server, {"Action": "NoSuchAction"})
    assert status == 400
    assert root.find(f"{SQS_NS}Error/{SQS_NS}Code").text == "InvalidAction"
    status, _, root = query(server, {"Action": "SendMessage", "QueueUrl": "x"})
    assert status == 400
    assert root.find(f"{SQS_NS}Error/{SQS_NS}Code").text == "MissingParameter"


def test_json_errors_carry_the_query_error_header(server):
    request = urllib.request.Request(
        server.endpoint + "/",
        data=b'{"QueueName": "missing"}',
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "AmazonSQS.GetQueueUrl",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(request, timeout=10)
    error = excinfo.value
    assert error.code == 400
    assert error.headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    body = json.loads(error.read())
    assert body["__type"] == "com.amazonaws.sqs#QueueDoesNotExist"
    assert body["message"]
    for payload in [b"{not json", b"[]", b'{"QueueName": 5}']:
        request = urllib.request.Request(
            server.endpoint + "/",
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "AmazonSQS.GetQueueUrl",
            },
        )
        with pytest.raises(urllib.error.HTTPError) as excinfo:
            urllib.request.urlopen(request, timeout=10)
        assert excinfo.value.code == 400
        assert "x-amzn-query-error" in excinfo.value.headers


# ---- the aws CLI ----------------------------------------------------------------------------


def test_the_aws_cli_drives_a_queue(server, aws_cli, queue_name, tmp_path):
    env = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "PATH": "/usr/bin:/bin",
    }

    def cli(*args: str) -> dict:
        result = subprocess.run(
            [aws_cli, "--endpoint-url", server.endpoint, "--output", "json", "sqs", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout) if result.stdout.strip() else {}

    url = cli("create-queue", "--queue-name", queue_name)["QueueUrl"]
    sent = cli("send-message", "--queue-url", url, "--message-body", "from the cli")
    assert sent["MD5OfMessageBody"] == md5_hex(b"from the cli")
    received = cli("receive-message", "--queue-url", url, "--wait-time-seconds", "1")
    (message,) = received["Messages"]
    assert message["Body"] == "from the cli"
    cli("delete-message", "--queue-url", url, "--receipt-handle", message["ReceiptHandle"])
    assert cli("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")[
        "Attributes"
    ]["ApproximateNumberOfMessages"] == "0"
    cli("delete-queue", "--queue-url", url)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, from /proc."""
    import os

    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_long_polls_are_woken_by_visibility_and_delay_expiry_and_idle_ones_cost_no_cpu(
    server, queue_name
):
    sqs = server.client("sqs", read_timeout=40)
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="comes back")
    taken = sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"][0]
    started = time.monotonic()
    back = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"][0]
    assert back["MessageId"] == taken["MessageId"]
    assert 0.5 < time.monotonic() - started < 5
    sqs.delete_message(QueueUrl=url, ReceiptHandle=back["ReceiptHandle"])
    sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=1)
    started = time.monotonic()
    delayed = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"][0]
    assert delayed["Body"] == "delayed"
    assert 0.5 < time.monotonic() - started < 5
    sqs.delete_message(QueueUrl=url, ReceiptHandle=delayed["ReceiptHandle"])

    # Eight receivers long-poll an empty queue for 10 s: the server does no work meanwhile.
    before = cpu_seconds(server.pid)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        polls = [
            pool.submit(
                server.client("sqs", read_timeout=40).receive_message,
                QueueUrl=url,
                WaitTimeSeconds=10,
            )
            for _ in range(8)
        ]
        for poll in polls:
            assert "Messages" not in poll.result(timeout=30)
    used = cpu_seconds(server.pid) - before
    assert used < 0.3, f"the server used {used:.2f} s of CPU during 10 s of idle long polls"


def test_a_configured_public_url_is_the_base_of_queue_urls(start_server, queue_name):
    server = start_server(config_toml='[server]\npublic_url = "http://strata.example:4566"\n')
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    assert url == f"http://strata.example:4566/{ACCOUNT}/{queue_name}"
    assert sqs.list_queues()["QueueUrls"] == [url]
    # Requests still reach the queue by its path, whatever host the URL names.
    sqs.send_message(QueueUrl=url, MessageBody="through the proxy name")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "through the proxy name"


def test_the_native_protocol_reads_but_never_changes_a_queues_stream(
    server, strata_bin, queue_name
):
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="kept")
    stream = f"sqs:{queue_name}"

    def native(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(strata_bin), *args, "--addr", server.native_address],
            input="garbage\n",
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    listed = native("stream", "list")
    assert listed.returncode == 0, listed.stderr
    assert stream in listed.stdout.split()
    assert native("stream", "describe", stream).returncode == 0
    # Writes, reshards and deletes of another view's stream are refused.
    for args in (
        ["stream", "delete", stream],
        ["stream", "split", stream, "--shard", "0"],
        ["put", stream, "--key", "k"],
    ):
        refused = native(*args)
        assert refused.returncode != 0, args
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "kept"
