"""SNS HTTP subscriptions against a real endpoint (sns_receiver.Receiver): the confirmation
flow (pending until the endpoint GETs SubscribeURL, or ConfirmSubscription with the token),
signed notifications with AWS's headers (signatures verified with the certificate the
server serves, SignatureVersion 1 and 2), raw delivery, and delivery retries on the manual
clock (`server.clock = "manual"`): the default policy's 3 retries 20 s apart, a custom
DeliveryPolicy, exhaustion and 4xx answers going to the subscription's RedrivePolicy DLQ,
and Unsubscribe stopping deliveries.

Retry attempts are scheduled on the server's clock, so these tests move it
(`POST /_strata/clock?advance_ms=N`) instead of waiting, and check with a bounded wait that
no attempt is made before it moves.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid

import botocore.exceptions
import pytest

from sns_receiver import Receiver, make_queue, receive, receive_exactly, subscribe_queue

MANUAL = '[server]\nclock = "manual"\n'
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def advance(server, ms: int) -> None:
    request = urllib.request.Request(
        f"{server.endpoint}/_strata/clock?advance_ms={ms}", method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


@pytest.fixture
def receiver():
    with Receiver() as endpoint:
        yield endpoint


def wait_subscription_confirmed(sns, subscription: str, timeout_s: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        attributes = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
        if attributes["PendingConfirmation"] == "false":
            return attributes
        assert time.monotonic() < deadline, attributes
        time.sleep(0.05)


def confirmed_http(sns, topic: str, receiver: Receiver, **attributes) -> str:
    """Subscribes the receiver (which confirms by GETting SubscribeURL); returns the
    subscription ARN once it is confirmed."""
    subscription = sns.subscribe(
        TopicArn=topic,
        Protocol="http",
        Endpoint=receiver.url,
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    receiver.wait_for("SubscriptionConfirmation")
    assert receiver.wait_confirmed() == [200]
    wait_subscription_confirmed(sns, subscription)
    return subscription


def test_an_http_subscription_is_pending_until_confirmed(server):
    sns = server.client("sns")
    sqs = server.client("sqs")
    name = f"h-{uuid.uuid4().hex[:10]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    marker_url, _ = subscribe_queue(sns, topic, sqs, name + "-marker")
    with Receiver(confirm=False) as receiver:
        answer = sns.subscribe(
            TopicArn=topic, Protocol="http", Endpoint=receiver.url, ReturnSubscriptionArn=False
        )
        assert answer["SubscriptionArn"] == "pending confirmation"
        (request,) = receiver.wait_for("SubscriptionConfirmation")
        assert request.method == "POST"
        assert request.signature_error is None, request.signature_error
        assert request.headers["x-amz-sns-topic-arn"] == topic
        assert "x-amz-sns-subscription-arn" not in request.headers
        confirmation = request.envelope
        assert request.headers["x-amz-sns-message-id"] == confirmation["MessageId"]
        assert confirmation["Type"] == "SubscriptionConfirmation"
        assert confirmation["TopicArn"] == topic
        assert confirmation["Token"]
        assert TIMESTAMP.match(confirmation["Timestamp"])
        assert confirmation["SubscribeURL"].startswith(
            f"{server.endpoint}/?Action=ConfirmSubscription&TopicArn="
        )
        assert "Token=" in confirmation["SubscribeURL"]

        attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
        assert attributes["SubscriptionsPending"] == "1"
        assert attributes["SubscriptionsConfirmed"] == "1"  # the marker queue
        listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        (pending,) = [s for s in listed if s["Protocol"] == "http"]
        assert pending["SubscriptionArn"] == "PendingConfirmation"
        assert pending["Endpoint"] == receiver.url

        # Nothing is delivered to a pending subscription.
        sns.publish(TopicArn=topic, Message="before")
        receive_exactly(sqs, marker_url, 1)
        receiver.quiet("Notification", 0, timeout_s=0.5)

        # A wrong token is refused; the right one confirms.
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            sns.confirm_subscription(TopicArn=topic, Token="not-the-token")
        assert excinfo.value.response["Error"]["Code"] == "InvalidParameter"
        subscription = sns.confirm_subscription(
            TopicArn=topic, Token=confirmation["Token"], AuthenticateOnUnsubscribe="true"
        )["SubscriptionArn"]
        assert subscription.startswith(topic + ":")
        attributes = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
        assert attributes["PendingConfirmation"] == "false"
        assert attributes["ConfirmationWasAuthenticated"] == "true"
        assert attributes["Protocol"] == "http"
        assert attributes["Endpoint"] == receiver.url
        assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsPending"] == "0"

        sns.publish(TopicArn=topic, Message="after")
        (notification,) = receiver.wait_for("Notification")
        assert notification.envelope["Message"] == "after"
        # Confirming again with the same token is harmless and gives the same ARN.
        assert sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])[
            "SubscriptionArn"
        ] == subscription


def test_notifications_are_signed_and_carry_aws_headers(server, receiver):
    sns = server.client("sns")
    name = f"h-{uuid.uuid4().hex[:10]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    subscription = confirmed_http(sns, topic, receiver)
    confirm_url = receiver.of_type("SubscriptionConfirmation")[0].envelope["SigningCertURL"]
    assert confirm_url.startswith(f"{server.endpoint}/_strata/sns/SimpleNotificationService-")

    published = sns.publish(
        TopicArn=topic,
        Message="to the web",
        Subject="Hello",
        MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}},
    )
    (request,) = receiver.wait_for("Notification")
    assert request.method == "POST"
    assert request.signature_error is None, request.signature_error
    headers = request.headers
    assert headers["x-amz-sns-message-id"] == published["MessageId"]
    assert headers["x-amz-sns-topic-arn"] == topic
    assert headers["x-amz-sns-subscription-arn"] == subscription
    assert headers["content-type"] == "text/plain; charset=UTF-8"
    assert headers["user-agent"] == "Amazon Simple Notification Service Agent"
    assert "x-amz-sns-rawdelivery" not in headers
    envelope = request.envelope
    assert envelope["Type"] == "Notification"
    assert envelope["MessageId"] == published["MessageId"]
    assert envelope["Message"] == "to the web"
    assert envelope["Subject"] == "Hello"
    assert envelope["SignatureVersion"] == "1"
    assert envelope["SigningCertURL"].startswith(
        f"{server.endpoint}/_strata/sns/SimpleNotificationService-"
    )
    assert envelope["UnsubscribeURL"] == (
        f"{server.endpoint}/?Action=Unsubscribe&SubscriptionArn={subscription}"
    )
    assert envelope["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}

    sns.set_topic_attributes(TopicArn=topic, AttributeName="SignatureVersion", AttributeValue="2")
    sns.publish(TopicArn=topic, Message="signed with sha256")
    second = receiver.wait_for("Notification", 2)[1]
    assert second.envelope["SignatureVersion"] == "2"
    assert "Subject" not in second.envelope
    assert second.signature_error is None, second.signature_error

    # The endpoint's own text under MessageStructure=json.
    sns.publish(
        TopicArn=topic,
        MessageStructure="json",
        Message=json.dumps({"default": "d", "http": "for http", "sqs": "for sqs"}),
    )
    third = receiver.wait_for("Notification", 3)[2]
    assert third.envelope["Message"] == "for http"
    assert third.signature_error is None, third.signature_error


def test_raw_http_delivery(server, receiver):
    sns = server.client("sns")
    topic = sns.create_topic(Name=f"h-{uuid.uuid4().hex[:10]}")["TopicArn"]
    subscription = confirmed_http(sns, topic, receiver, RawMessageDelivery="true")
    published = sns.publish(TopicArn=topic, Message='{"just": "the message"}', Subject="x")
    (request,) = receiver.wait_for("Notification")
    assert request.body == b'{"just": "the message"}'
    assert request.headers["x-amz-sns-rawdelivery"] == "true"
    assert request.headers["x-amz-sns-message-id"] == published["MessageId"]
    assert request.headers["x-amz-sns-subscription-arn"] == subscription


def test_the_subscribe_url_and_unsubscribe_url_work_with_a_plain_get(server):
    sns = server.client("sns")
    topic = sns.create_topic(Name=f"h-{uuid.uuid4().hex[:10]}")["TopicArn"]
    with Receiver(confirm=False) as receiver:
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=receiver.url)
        (request,) = receiver.wait_for("SubscriptionConfirmation")
        with urllib.request.urlopen(request.envelope["SubscribeURL"], timeout=10) as response:
            assert response.status == 200
            body = response.read().decode()
        assert "<ConfirmSubscriptionResponse" in body
        subscription = re.search(r"<SubscriptionArn>([^<]+)</SubscriptionArn>", body).group(1)
        wait_subscription_confirmed(sns, subscription)
        sns.publish(TopicArn=topic, Message="one")
        (notification,) = receiver.wait_for("Notification")
        with urllib.request.urlopen(notification.envelope["UnsubscribeURL"], timeout=10) as response:
            assert response.status == 200
            assert "<UnsubscribeResponse" in response.read().decode()
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            sns.get_subscription_attributes(SubscriptionArn=subscription)
        assert excinfo.value.response["Error"]["Code"] == "NotFound"


def test_failed_deliveries_are_retried_on_the_clock_20_seconds_apart(start_server, receiver):
    server = start_server(config_toml=MANUAL)
    sns = server.client("sns")
    sqs = server.client("sqs")
    name = f"h-{uuid.uuid4().hex[:10]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    dlq_url, dlq = make_queue(sqs, name + "-dlq")
    confirmed_http(sns, topic, receiver, RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq}))

    receiver.answer_next([500, 503, 502])
    published = sns.publish(TopicArn=topic, Message="eventually")
    receiver.wait_for("Notification", 1)
    # No retry before the clock moves, nor before 20 s of it have passed.
    receiver.quiet("Notification", 1, timeout_s=1.0)
    advance(server, 10_000)
    receiver.quiet("Notification", 1, timeout_s=0.5)
    advance(server, 10_000)
    receiver.wait_for("Notification", 2)
    for attempt in (3, 4):
        receiver.quiet("Notification", attempt - 1, timeout_s=0.5)
        advance(server, 20_000)
        receiver.wait_for("Notification", attempt)
    attempts = receiver.of_type("Notification")
    assert [r.status for r in attempts] == [500, 503, 502, 200]
    assert {r.headers["x-amz-sns-message-id"] for r in attempts} == {published["MessageId"]}
    assert all(r.signature_error is None for r in attempts), [r.signature_error for r in attempts]
    # Delivered: no further attempt and nothing in the DLQ.
    advance(server, 120_000)
    receiver.quiet("Notification", 4, timeout_s=0.5)
    assert receive(sqs, dlq_url, 1, timeout_s=1) == []


def dlq_payload(message: dict) -> str:
    """The SNS message in a DLQ message (its envelope, or the raw body)."""
    try:
        body = json.loads(message["Body"])
    except ValueError:
        return message["Body"]
    return body["Message"] if isinstance(body, dict) and "Message" in body else message["Body"]


def test_exhausted_retries_go_to_the_redrive_dlq(start_server, receiver):
    server = start_server(config_toml=MANUAL)
    sns = server.client("sns")
    sqs = server.client("sqs")
    name = f"h-{uuid.uuid4().hex[:10]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    dlq_url, dlq = make_queue(sqs, name + "-dlq")
    confirmed_http(sns, topic, receiver, RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq}))
    receiver.always = 500
    sns.publish(TopicArn=topic, Message="never accepted")
    receiver.wait_for("Notification", 1)
    for attempt in (2, 3, 4):
        receiver.quiet("Notification", attempt - 1, timeout_s=0.5)
        advance(server, 20_000)
        receiver.wait_for("Notification", attempt)
    (dead,) = receive_exactly(sqs, dlq_url, 1)
    assert dlq_payload(dead) == "never accepted"
    advance(server, 600_000)
    receiver.quiet("Notification", 4, timeout_s=0.5)


def test_a_4xx_answer_goes_to_the_dlq_without_retry(start_server, receiver):
    server = start_server(config_toml=MANUAL)
    sns = server.client("sns")
    sqs = server.client("sqs")
    name = f"h-{uuid.uuid4().hex[:10]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    dlq_url, dlq = make_queue(sqs, name + "-dlq")
    confirmed_http(sns, topic, receiver, RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq}))
    receiver.always = 400
    sns.publish(TopicArn=topic, Message="refused")
    receiver.wait_for("Notification", 1)
    (dead,) = receive_exactly(sqs, dlq_url, 1)
    assert dlq_payload(dead) == "refused"
    advance(server, 120_000)
    receiver.quiet("Notification", 1, timeout_s=0.5)


def test_a_subscription_delivery_policy_sets_the_retries(start_server, receiver):
    server = start_server(config_toml=MANUAL)
    sns = server.client("sns")
    sqs = server.client("sqs")
    name = f"h-{uuid.uuid4().hex[:10]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    dlq_url, dlq = make_queue(sqs, name + "-dlq")
    policy = {
        "healthyRetryPolicy": {
            "minDelayTarget": 5,
            "maxDelayTarget": 5,
            "numRetries": 1,
            "numNoDelayRetries": 0,
            "numMinDelayRetries": 0,
            "numMaxDelayRetries": 0,
            "backoffFunction": "linear",
        }
    }
    subscription = confirmed_http(
        sns,
        topic,
        receiver,
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq}),
        DeliveryPolicy=json.dumps(policy),
    )
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
    assert json.loads(attributes["DeliveryPolicy"]) == policy
    effective = json.loads(attributes["EffectiveDeliveryPolicy"])
    assert effective["healthyRetryPolicy"]["numRetries"] == 1

    receiver.always = 500
    sns.publish(TopicArn=topic, Message="one retry only")
    receiver.wait_for("Notification", 1)
    receiver.quiet("Notification", 1, timeout_s=0.5)
    advance(server, 5_000)
    receiver.wait_for("Notification", 2)
    (dead,) = receive_exactly(sqs, dlq_url, 1)
    assert dlq_payload(dead) == "one retry only"
    advance(server, 120_000)
    receiver.quiet("Notification", 2, timeout_s=0.5)

    for malformed in ["{not json", json.dumps({"healthyRetryPolicy": {"numRetries": 1}})]:
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            sns.set_subscription_attributes(
                SubscriptionArn=subscription, AttributeName="DeliveryPolicy", AttributeValue=malformed
            )
        assert excinfo.value.response["Error"]["Code"] == "InvalidParameter", malformed


def test_unsubscribe_stops_deliveries(server, receiver):
    sns = server.client("sns")
    sqs = server.client("sqs")
    name = f"h-{uuid.uuid4().hex[:10]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    marker_url, _ = subscribe_queue(sns, topic, sqs, name + "-marker", RawMessageDelivery="true")
    subscription = confirmed_http(sns, topic, receiver)
    sns.publish(TopicArn=topic, Message="first")
    receiver.wait_for("Notification", 1)
    receive_exactly(sqs, marker_url, 1)
    sns.unsubscribe(SubscriptionArn=subscription)
    sns.publish(TopicArn=topic, Message="second")
    (marker,) = receive_exactly(sqs, marker_url, 1)
    assert marker["Body"] == "second"
    receiver.quiet("Notification", 1, timeout_s=0.5)
    assert [r.envelope["Message"] for r in receiver.of_type("Notification")] == ["first"]

    # The endpoint is told, in a signed UnsubscribeConfirmation; its SubscribeURL restores
    # the subscription, with its ARN.
    (farewell,) = receiver.wait_for("UnsubscribeConfirmation")
    assert farewell.signature_error is None, farewell.signature_error
    assert farewell.headers["x-amz-sns-subscription-arn"] == subscription
    assert farewell.envelope["Type"] == "UnsubscribeConfirmation"
    assert subscription in farewell.envelope["Message"]
    with urllib.request.urlopen(farewell.envelope["SubscribeURL"], timeout=10) as response:
        assert response.status == 200
        assert subscription in response.read().decode()
    wait_subscription_confirmed(sns, subscription)
    sns.publish(TopicArn=topic, Message="third")
    receiver.wait_for("Notification", 2)
    assert receiver.of_type("Notification")[1].envelope["Message"] == "third"
    # A token works once: the subscription is live again, and unknown tokens are refused.
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sns.confirm_subscription(TopicArn=topic, Token="f" * 64)
    assert excinfo.value.response["Error"]["Code"] == "InvalidParameter"


def test_a_throttle_policy_spreads_deliveries_over_the_seconds(start_server, receiver):
    server = start_server(config_toml=MANUAL)
    sns = server.client("sns")
    topic = sns.create_topic(Name=f"h-{uuid.uuid4().hex[:10]}")["TopicArn"]
    policy = {
        "healthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 1, "numRetries": 1},
        "throttlePolicy": {"maxReceivesPerSecond": 2},
    }
    confirmed_http(sns, topic, receiver, DeliveryPolicy=json.dumps(policy))
    sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[{"Id": str(i), "Message": f"m{i}"} for i in range(5)],
    )
    # Two in this second of the (still) clock, two in the next, one in the one after.
    for delivered in (2, 4, 5):
        receiver.wait_for("Notification", delivered)
        receiver.quiet("Notification", delivered, timeout_s=0.5)
        advance(server, 1_000)
    assert sorted(json.loads(r.body)["Message"] for r in receiver.of_type("Notification")) == [
        f"m{i}" for i in range(5)
    ]
