"""SNS through unmodified boto3 (query protocol) and the aws CLI, against a running
`strata serve`: topics, attributes, tags, permissions, subscriptions, Publish and
PublishBatch to SQS subscriptions (the envelope, raw delivery, attributes, Subject,
MessageStructure=json), the mobile/SMS operations' answers, and AWS's errors for bad input.

Envelopes are checked field by field and their signatures verified with the certificate the
server serves at `SigningCertURL` (sns_receiver.verify_envelope).
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import uuid

import botocore.exceptions
import pytest

from sns_receiver import (
    ACCOUNT,
    make_queue,
    queue_arn,
    receive_exactly,
    subscribe_queue,
    topic_arn,
    verify_envelope,
)

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def sns(server):
    return server.client("sns")


@pytest.fixture
def sqs(server):
    return server.client("sqs")


@pytest.fixture
def name():
    return f"t-{uuid.uuid4().hex[:12]}"


def error_of(excinfo) -> tuple[str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def unvalidated(server, service="sns"):
    """A client that sends what it is given (no client-side parameter validation)."""
    return server.client(service, parameter_validation=False)


def test_create_topic_is_idempotent_and_delete_removes_it(sns, name):
    arn = sns.create_topic(Name=name)["TopicArn"]
    assert arn == topic_arn(name)
    assert sns.create_topic(Name=name)["TopicArn"] == arn
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["TopicArn"] == arn
    assert attributes["Owner"] == ACCOUNT
    sns.delete_topic(TopicArn=arn)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sns.get_topic_attributes(TopicArn=arn)
    assert error_of(excinfo) == ("NotFound", 404)
    # DeleteTopic is idempotent.
    sns.delete_topic(TopicArn=arn)


def test_create_topic_with_other_attributes_than_the_existing_one_is_refused(sns, name):
    arn = sns.create_topic(Name=name, Attributes={"DisplayName": "one"})["TopicArn"]
    assert sns.create_topic(Name=name, Attributes={"DisplayName": "one"})["TopicArn"] == arn
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sns.create_topic(Name=name, Attributes={"DisplayName": "two"})
    assert error_of(excinfo) == ("InvalidParameter", 400)


def test_list_topics_pages_by_100(sns):
    prefix = f"page-{uuid.uuid4().hex[:8]}"
    made = {sns.create_topic(Name=f"{prefix}-{i:03d}")["TopicArn"] for i in range(120)}
    seen: list[str] = []
    pages = 0
    token = None
    while True:
        page = sns.list_topics(**({"NextToken": token} if token else {}))
        pages += 1
        assert len(page["Topics"]) <= 100
        seen += [topic["TopicArn"] for topic in page["Topics"]]
        token = page.get("NextToken")
        if not token:
            break
        assert pages < 50
    assert pages >= 2
    assert len(seen) == len(set(seen)), "a topic was listed twice"
    assert made <= set(seen)


def test_topic_attributes_round_trip(sns, sqs, name):
    arn = sns.create_topic(Name=name)["TopicArn"]
    defaults = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert defaults["SubscriptionsConfirmed"] == "0"
    assert defaults["SubscriptionsPending"] == "0"
    assert defaults["SubscriptionsDeleted"] == "0"
    policy = json.loads(defaults["Policy"])
    assert policy["Statement"], policy
    effective = json.loads(defaults["EffectiveDeliveryPolicy"])
    healthy = effective["http"]["defaultHealthyRetryPolicy"]
    assert healthy["numRetries"] == 3
    assert healthy["minDelayTarget"] == 20 and healthy["maxDelayTarget"] == 20
    assert healthy["backoffFunction"] == "linear"

    delivery = {
        "http": {
            "defaultHealthyRetryPolicy": {
                "minDelayTarget": 5,
                "maxDelayTarget": 10,
                "numRetries": 5,
                "numMaxDelayRetries": 0,
                "numNoDelayRetries": 0,
                "numMinDelayRetries": 0,
                "backoffFunction": "linear",
            },
            "disableSubscriptionOverrides": False,
        }
    }
    own_policy = {
        "Version": "2008-10-17",
        "Id": "mine",
        "Statement": [
            {
                "Sid": "all",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "SNS:Publish",
                "Resource": arn,
            }
        ],
    }
    for attribute, value in [
        ("DisplayName", "Shown name"),
        ("Policy", json.dumps(own_policy)),
        ("DeliveryPolicy", json.dumps(delivery)),
        ("SignatureVersion", "2"),
        ("TracingConfig", "Active"),
        ("KmsMasterKeyId", "alias/aws/sns"),
    ]:
        sns.set_topic_attributes(TopicArn=arn, AttributeName=attribute, AttributeValue=value)
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["DisplayName"] == "Shown name"
    assert json.loads(attributes["Policy"]) == own_policy
    assert json.loads(attributes["DeliveryPolicy"]) == delivery
    effective = json.loads(attributes["EffectiveDeliveryPolicy"])
    assert effective["http"]["defaultHealthyRetryPolicy"]["numRetries"] == 5
    assert effective["http"]["defaultHealthyRetryPolicy"]["minDelayTarget"] == 5
    assert attributes["SignatureVersion"] == "2"
    assert attributes["TracingConfig"] == "Active"
    assert attributes["KmsMasterKeyId"] == "alias/aws/sns"

    subscribe_queue(sns, arn, sqs, f"{name}-q")
    counted = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert counted["SubscriptionsConfirmed"] == "1"
    assert counted["SubscriptionsPending"] == "0"

    for attribute, value in [("DeliveryPolicy", "{not json"), ("SignatureVersion", "3")]:
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            sns.set_topic_attributes(TopicArn=arn, AttributeName=attribute, AttributeValue=value)
        assert error_of(excinfo) == ("InvalidParameter", 400), attribute
    incomplete = {"http": {"defaultHealthyRetryPolicy": {"numRetries": 3}}}
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sns.set_topic_attributes(
            TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue=json.dumps(incomplete)
        )
    assert error_of(excinfo) == ("InvalidParameter", 400)


def test_tags_are_added_listed_and_removed(sns, name):
    arn = sns.create_topic(Name=name, Tags=[{"Key": "team", "Value": "a"}])["TopicArn"]
    sns.tag_resource(
        ResourceArn=arn, Tags=[{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "b"}]
    )
    tags = sns.list_tags_for_resource(ResourceArn=arn)["Tags"]
    assert {tag["Key"]: tag["Value"] for tag in tags} == {"team": "b", "env": "test"}
    sns.untag_resource(ResourceArn=arn, TagKeys=["team"])
    tags = sns.list_tags_for_resource(ResourceArn=arn)["Tags"]
    assert tags == [{"Key": "env", "Value": "test"}]
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sns.list_tags_for_resource(ResourceArn=topic_arn(name + "-absent"))
    assert error_of(excinfo)[1] in (400, 404)


def test_add_and_remove_permission_change_the_policy(sns, name):
    arn = sns.create_topic(Name=name)["TopicArn"]
    sns.add_permission(
        TopicArn=arn, Label="let-them", AWSAccountId=["111122223333"], ActionName=["Publish"]
    )
    policy = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    (added,) = [s for s in policy["Statement"] if s.get("Sid") == "let-them"]
    assert added["Effect"] == "Allow"
    assert "111122223333" in json.dumps(added["Principal"])
    assert "SNS:Publish" in json.dumps(added["Action"])
    sns.remove_permission(TopicArn=arn, Label="let-them")
    policy = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    assert not [s for s in policy["Statement"] if s.get("Sid") == "let-them"]


def test_subscriptions_are_listed_paged_and_removed(sns, sqs, name):
    arn = sns.create_topic(Name=name)["TopicArn"]
    other = sns.create_topic(Name=name + "-other")["TopicArn"]
    subscriptions = set()
    for index in range(105):
        _, queue = make_queue(sqs, f"{name}-{index:03d}")
        subscriptions.add(
            sns.subscribe(
                TopicArn=arn, Protocol="sqs", Endpoint=queue, ReturnSubscriptionArn=True
            )["SubscriptionArn"]
        )
    _, queue = make_queue(sqs, f"{name}-other")
    elsewhere = sns.subscribe(TopicArn=other, Protocol="sqs", Endpoint=queue)["SubscriptionArn"]
    assert len(subscriptions) == 105
    assert all(s.startswith(arn + ":") for s in subscriptions)
    # Subscribing the same endpoint again gives the same subscription.
    again = sns.subscribe(TopicArn=other, Protocol="sqs", Endpoint=queue)["SubscriptionArn"]
    assert again == elsewhere

    def listed(call, **kwargs) -> list[dict]:
        out: list[dict] = []
        pages = 0
        while True:
            page = call(**kwargs)
            pages += 1
            assert len(page["Subscriptions"]) <= 100
            out += page["Subscriptions"]
            if not page.get("NextToken"):
                return out
            kwargs["NextToken"] = page["NextToken"]
            assert pages < 50

    by_topic = listed(sns.list_subscriptions_by_topic, TopicArn=arn)
    assert {s["SubscriptionArn"] for s in by_topic} == subscriptions
    assert {s["Protocol"] for s in by_topic} == {"sqs"}
    assert all(s["TopicArn"] == arn and s["Owner"] == ACCOUNT for s in by_topic)
    everything = {s["SubscriptionArn"] for s in listed(sns.list_subscriptions)}
    assert subscriptions | {elsewhere} <= everything

    removed = sorted(subscriptions)[0]
    sns.unsubscribe(SubscriptionArn=removed)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sns.get_subscription_attributes(SubscriptionArn=removed)
    assert error_of(excinfo) == ("NotFound", 404)
    left = {s["SubscriptionArn"] for s in listed(sns.list_subscriptions_by_topic, TopicArn=arn)}
    assert left == subscriptions - {removed}
    counts = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert counts["SubscriptionsConfirmed"] == "104"
    assert int(counts["SubscriptionsDeleted"]) >= 0


def test_subscription_attributes_round_trip(sns, sqs, name):
    arn = sns.create_topic(Name=name)["TopicArn"]
    _, dlq = make_queue(sqs, f"{name}-dlq")
    url, subscription = subscribe_queue(sns, arn, sqs, f"{name}-q")
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
    assert attributes["SubscriptionArn"] == subscription
    assert attributes["TopicArn"] == arn
    assert attributes["Protocol"] == "sqs"
    assert attributes["Endpoint"] == queue_arn(f"{name}-q")
    assert attributes["Owner"] == ACCOUNT
    assert attributes["PendingConfirmation"] == "false"
    assert attributes["RawMessageDelivery"] == "false"
    assert "FilterPolicy" not in attributes

    policy = {"color": ["red", "blue"], "size": [{"numeric": [">", 3]}]}
    redrive = {"deadLetterTargetArn": dlq}
    for attribute, value in [
        ("FilterPolicy", json.dumps(policy)),
        ("FilterPolicyScope", "MessageBody"),
        ("RawMessageDelivery", "true"),
        ("RedrivePolicy", json.dumps(redrive)),
    ]:
        sns.set_subscription_attributes(
            SubscriptionArn=subscription, AttributeName=attribute, AttributeValue=value
        )
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
    assert json.loads(attributes["FilterPolicy"]) == policy
    assert attributes["FilterPolicyScope"] == "MessageBody"
    assert attributes["RawMessageDelivery"] == "true"
    assert json.loads(attributes["RedrivePolicy"]) == redrive

    for attribute, value in [
        ("NoSuchAttribute", "x"),
        ("RawMessageDelivery", "maybe"),
        ("FilterPolicyScope", "Everywhere"),
        ("RedrivePolicy", "{not json"),
    ]:
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            sns.set_subscription_attributes(
                SubscriptionArn=subscription, AttributeName=attribute, AttributeValue=value
            )
        assert error_of(excinfo) == ("InvalidParameter", 400), attribute
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sns.get_subscription_attributes(SubscriptionArn=f"{arn}:{uuid.uuid4()}")
    assert error_of(excinfo) == ("NotFound", 404)


def test_publish_to_sqs_delivers_the_signed_envelope(server, sns, sqs, name):
    arn = sns.create_topic(Name=name)["TopicArn"]
    url, subscription = subscribe_queue(sns, arn, sqs, f"{name}-q")
    plain = sns.publish(TopicArn=arn, Message="héllo, queue")
    with_all = sns.publish(
        TopicArn=arn,
        Message='{"a": 1}',
        Subject="A subject",
        MessageAttributes={
            "s": {"DataType": "String", "StringValue": "Zoë"},
            "n": {"DataType": "Number", "StringValue": "42.5"},
            "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
            "arr": {"DataType": "String.Array", "StringValue": '["x", 1, true]'},
        },
    )
    messages = receive_exactly(sqs, url, 2)
    envelopes = {e["MessageId"]: e for e in (json.loads(m["Body"]) for m in messages)}
    assert set(envelopes) == {plain["MessageId"], with_all["MessageId"]}

    first = envelopes[plain["MessageId"]]
    assert set(first) == {
        "Type",
        "MessageId",
        "TopicArn",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
        "UnsubscribeURL",
    }
    assert first["Type"] == "Notification"
    assert first["TopicArn"] == arn
    assert first["Message"] == "héllo, queue"
    assert TIMESTAMP.match(first["Timestamp"]), first["Timestamp"]
    assert first["SignatureVersion"] == "1"
    assert first["UnsubscribeURL"] == (
        f"{server.endpoint}/?Action=Unsubscribe&SubscriptionArn={subscription}"
    )
    verify_envelope(first, server.endpoint)

    second = envelopes[with_all["MessageId"]]
    assert second["Subject"] == "A subject"
    assert second["Message"] == '{"a": 1}'
    assert second["MessageAttributes"] == {
        "s": {"Type": "String", "Value": "Zoë"},
        "n": {"Type": "Number", "Value": "42.5"},
        "b": {"Type": "Binary", "Value": base64.b64encode(b"\x00\x01\xff").decode()},
        "arr": {"Type": "String.Array", "Value": '["x", 1, true]'},
    }
    verify_envelope(second, server.endpoint)
    # Without raw delivery, SNS attributes stay inside the envelope.
    assert not any(m.get("MessageAttributes") for m in messages)

    # SignatureVersion 2 signs with SHA256withRSA.
    sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="2")
    third = sns.publish(TopicArn=arn, Message="v2", Subject="s2")
    (message,) = receive_exactly(sqs, url, 1)
    signed = json.loads(message["Body"])
    assert signed["MessageId"] == third["MessageId"]
    assert signed["SignatureVersion"] == "2"
    verify_envelope(signed, server.endpoint)
    tampered = dict(signed, Message="v3")
    with pytest.raises(Exception):
        verify_envelope(tampered, server.endpoint)


def test_every_queue_of_a_fan_out_gets_an_envelope_that_verifies(server, sns, sqs, name):
    # One message signed for several subscriptions at once: each envelope carries its own
    # UnsubscribeURL and a signature over its own text that the served certificate verifies.
    arn = sns.create_topic(Name=name)["TopicArn"]
    queues = [subscribe_queue(sns, arn, sqs, f"{name}-q{i}") for i in range(3)]
    sns.publish(TopicArn=arn, Message="to every queue", Subject="fan-out")
    sns.publish(
        TopicArn=arn,
        MessageStructure="json",
        Message=json.dumps({"default": "for others", "sqs": "for queues"}),
    )
    unsubscribe_urls = set()
    for url, subscription in queues:
        envelopes = [json.loads(m["Body"]) for m in receive_exactly(sqs, url, 2)]
        assert sorted(e["Message"] for e in envelopes) == ["for queues", "to every queue"]
        for envelope in envelopes:
            verify_envelope(envelope, server.endpoint)
            assert envelope["UnsubscribeURL"].endswith(f"SubscriptionArn={subscription}")
            unsubscribe_urls.add(envelope["UnsubscribeURL"])
    assert len(unsubscribe_urls) == 3


def test_raw_delivery_gives_the_message_and_sqs_attributes(sns, sqs, name):
    arn = sns.create_topic(Name=name)["TopicArn"]
    url, _ = subscribe_queue(sns, arn, sqs, f"{name}-q", RawMessageDelivery="true")
    sns.publish(
        TopicArn=arn,
        Message="raw body\r\n",
        Subject="ignored for raw",
        MessageAttributes={
            "s": {"DataType": "String", "StringValue": "v"},
            "n": {"DataType": "Number", "StringValue": "7"},
            "b": {"DataType": "Binary", "BinaryValue": b"\x10\x20"},
        },
    )
    (message,) = receive_exactly(sqs, url, 1)
    assert message["Body"] == "raw body\r\n"
    assert message["MessageAttributes"] == {
        "s": {"StringValue": "v", "DataType": "String"},
        "n": {"StringValue": "7", "DataType": "Number"},
        "b": {"BinaryValue": b"\x10\x20", "DataType": "Binary"},
    }


def test_message_structure_json_gives_each_protocol_its_text(sns, sqs, name):
    arn = sns.create_topic(Name=name)["TopicArn"]
    url, _ = subscribe_queue(sns, arn, sqs, f"{name}-q")
    raw_url, _ = subscribe_queue(sns, arn, sqs, f"{name}-raw", RawMessageDelivery="true")
    sns.publish(
        TopicArn=arn,
        MessageStructure="json",
        Message=json.dumps({"default": "for all", "sqs": "for queues", "http": "for web"}),
    )
    sns.publish(TopicArn=arn, MessageStructure="json", Message=json.dumps({"default": "only"}))
    bodies = sorted(json.loads(m["Body"])["Message"] for m in receive_exactly(sqs, url, 2))
    assert bodies == ["for queues", "only"]
    raw = sorted(m["Body"] for m in receive_exactly(sqs, raw_url, 2))
    assert raw == ["for queues", "only"]
    for message in [json.dumps({"sqs": "no default"}), "not json", json.dumps(["default"])]:
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            sns.publish(TopicArn=arn, MessageStructure="json", Message=message)
        assert error_of(excinfo) == ("InvalidParameter", 400), message


def test_publish_batch_delivers_every_entry(server, sns, sqs, name):
    arn = sns.create_topic(Name=name)["TopicArn"]
    url, _ = subscribe_queue(sns, arn, sqs, f"{name}-q")
    result = sns.publish_batch(
        TopicArn=arn,
        PublishBatchRequestEntries=[
            {"Id": "one", "Message": "first"},
            {"Id": "two", "Message": "second", "Subject": "sub"},
            {
                "Id": "three",
                "Message": "third",
                "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}},
            },
        ],
    )
    assert result.get("Failed", []) == []
    ids = {entry["Id"]: entry["MessageId"] for entry in result["Successful"]}
    assert set(ids) == {"one", "two", "three"}
    envelopes = {
        e["MessageId"]: e for e in (json.loads(m["Body"]) for m in receive_exactly(sqs, url, 3))
    }
    assert set(envelopes) == set(ids.values())
    assert envelopes[ids["one"]]["Message"] == "first"
    assert "Subject" not in envelopes[ids["one"]]
    assert envelopes[ids["two"]]["Subject"] == "sub"
    assert envelopes[ids["three"]]["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}
    for envelope in envelopes.values():
        verify_envelope(envelope, server.endpoint)


def test_publish_and_batch_errors(server, sns, name):
    arn = sns.create_topic(Name=name)["TopicArn"]
    loose = unvalidated(server)

    def code(call, **kwargs) -> tuple[str, int]:
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            call(**kwargs)
        return error_of(excinfo)

    assert code(sns.publish, TopicArn=topic_arn(name + "-absent"), Message="x") == (
        "NotFound",
        404,
    )
    assert code(sns.publish, TopicArn=arn, Message="x" * (256 * 1024 + 1)) == (
        "InvalidParameter",
        400,
    )
    # Exactly 256 KiB is accepted.
    sns.publish(TopicArn=arn, Message="x" * (256 * 1024))
    assert code(loose.publish, TopicArn=arn, Message="") == ("InvalidParameter", 400)
    assert code(sns.publish, TopicArn=arn, Message="x", Subject="line\nbreak")[0] == (
        "InvalidParameter"
    )
    entries = [{"Id": f"e{i}", "Message": "m"} for i in range(11)]
    assert code(loose.publish_batch, TopicArn=arn, PublishBatchRequestEntries=entries) == (
        "TooManyEntriesInBatchRequest",
        400,
    )
    twice = [{"Id": "same", "Message": "a"}, {"Id": "same", "Message": "b"}]
    assert code(loose.publish_batch, TopicArn=arn, PublishBatchRequestEntries=twice) == (
        "BatchEntryIdsNotDistinct",
        400,
    )
    assert code(loose.publish_batch, TopicArn=arn, PublishBatchRequestEntries=[]) == (
        "EmptyBatchRequest",
        400,
    )
    assert code(
        sns.publish_batch,
        TopicArn=topic_arn(name + "-absent"),
        PublishBatchRequestEntries=[{"Id": "a", "Message": "m"}],
    ) == ("NotFound", 404)


def test_bad_names_and_unknown_resources(server, sns, sqs, name):
    loose = unvalidated(server)

    def code(call, **kwargs) -> tuple[str, int]:
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            call(**kwargs)
        return error_of(excinfo)

    for bad in ["has space", "dots.not.ok", "x" * 257, "", "slash/no"]:
        assert code(loose.create_topic, Name=bad) == ("InvalidParameter", 400), bad
    # A FIFO name without FifoTopic, or FifoTopic on a standard name, is refused.
    assert code(sns.create_topic, Name=f"{name}.fifo")[0] == "InvalidParameter"
    assert code(sns.create_topic, Name=name, Attributes={"FifoTopic": "true"})[0] == (
        "InvalidParameter"
    )
    absent = topic_arn(name + "-absent")
    assert code(sns.get_topic_attributes, TopicArn=absent) == ("NotFound", 404)
    assert code(
        sns.set_topic_attributes, TopicArn=absent, AttributeName="DisplayName", AttributeValue="x"
    ) == ("NotFound", 404)
    assert code(sns.list_subscriptions_by_topic, TopicArn=absent) == ("NotFound", 404)
    _, queue = make_queue(sqs, f"{name}-q")
    assert code(sns.subscribe, TopicArn=absent, Protocol="sqs", Endpoint=queue) == (
        "NotFound",
        404,
    )
    arn = sns.create_topic(Name=name)["TopicArn"]
    assert code(sns.subscribe, TopicArn=arn, Protocol="carrier-pigeon", Endpoint="x")[0] == (
        "InvalidParameter"
    )
    assert code(sns.subscribe, TopicArn=arn, Protocol="sqs", Endpoint="not-an-arn")[0] == (
        "InvalidParameter"
    )
    assert code(sns.subscribe, TopicArn=arn, Protocol="http", Endpoint="ftp://x")[0] == (
        "InvalidParameter"
    )
    assert code(
        sns.set_subscription_attributes,
        SubscriptionArn=f"{arn}:{uuid.uuid4()}",
        AttributeName="RawMessageDelivery",
        AttributeValue="true",
    ) == ("NotFound", 404)


def test_mobile_and_sms_operations_answer(sns):
    assert isinstance(sns.list_platform_applications()["PlatformApplications"], list)
    assert isinstance(sns.get_sms_attributes()["attributes"], dict)
    opted = sns.check_if_phone_number_is_opted_out(phoneNumber="+15555550100")
    assert opted["isOptedOut"] is False
    assert isinstance(sns.list_phone_numbers_opted_out()["phoneNumbers"], list)
    sns.set_sms_attributes(attributes={"DefaultSMSType": "Transactional"})
    assert isinstance(sns.get_sms_sandbox_account_status()["IsInSandbox"], bool)


def test_the_aws_cli_creates_subscribes_publishes_and_lists(server, sqs, aws_cli, name, tmp_path):
    env = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "PATH": "/usr/bin:/bin",
        "NO_PROXY": "127.0.0.1",
    }

    def cli(*args: str) -> dict:
        result = subprocess.run(
            [aws_cli, "--endpoint-url", server.endpoint, "--output", "json", "sns", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout) if result.stdout.strip() else {}

    arn = cli("create-topic", "--name", name)["TopicArn"]
    assert arn == topic_arn(name)
    url, queue = make_queue(sqs, f"{name}-q")
    subscription = cli(
        "subscribe",
        "--topic-arn",
        arn,
        "--protocol",
        "sqs",
        "--notification-endpoint",
        queue,
        "--return-subscription-arn",
    )["SubscriptionArn"]
    published = cli(
        "publish",
        "--topic-arn",
        arn,
        "--message",
        "from the cli",
        "--message-attributes",
        '{"k": {"DataType": "String", "StringValue": "v"}}',
    )
    topics = cli("list-topics")["Topics"]
    assert {"TopicArn": arn} in topics
    listed = cli("list-subscriptions-by-topic", "--topic-arn", arn)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in listed] == [subscription]
    (message,) = receive_exactly(sqs, url, 1)
    envelope = json.loads(message["Body"])
    assert envelope["MessageId"] == published["MessageId"]
    assert envelope["Message"] == "from the cli"
    assert envelope["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}
    cli("delete-topic", "--topic-arn", arn)
    assert {"TopicArn": arn} not in cli("list-topics")["Topics"]


def test_messages_above_256_kib_need_queue_only_subscriptions(sns, sqs, name):
    arn = sns.create_topic(Name=name)["TopicArn"]
    url, _ = subscribe_queue(sns, arn, sqs, name + "-q", RawMessageDelivery="true")
    sns.set_topic_attributes(
        TopicArn=arn, AttributeName="MaximumMessageSize", AttributeValue="1048576"
    )
    big = "x" * (300 * 1024)
    sns.publish(TopicArn=arn, Message=big)
    assert [m["Body"] for m in receive_exactly(sqs, url, 1)] == [big]
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sns.subscribe(TopicArn=arn, Protocol="http", Endpoint="http://127.0.0.1:9/")
    assert error_of(excinfo) == ("InvalidParameter", 400)
    other = sns.create_topic(Name=name + "-http")["TopicArn"]
    sns.subscribe(TopicArn=other, Protocol="http", Endpoint="http://127.0.0.1:9/")
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sns.set_topic_attributes(
            TopicArn=other, AttributeName="MaximumMessageSize", AttributeValue="1048576"
        )
    assert error_of(excinfo) == ("InvalidParameter", 400)
