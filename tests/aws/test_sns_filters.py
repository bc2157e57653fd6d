"""SNS subscription filter policies, table-driven: one topic, one SQS queue per policy, every
case's messages published once, and each queue's deliveries compared with the table.

Each policy under test is wrapped as `{"$or": [{**policy, "case": [<case>]}, {"marker":
[<id>]}]}`: the `case` key keeps one case's messages out of the other cases' queues, and a
final marker message (which every wrapped policy matches) is published after all cases, so
that a queue's marker arriving establishes, without sleeping, that nothing else is coming
(deliveries to one subscription keep publish order). Attribute scope (the default) and
body scope (`FilterPolicyScope = MessageBody`) are covered; then a policy change applying at
once, and the validation of policies (`InvalidParameter`, "Invalid parameter: FilterPolicy:").
"""

from __future__ import annotations

import json
import re
import uuid

import botocore.exceptions
import pytest

from sns_receiver import make_queue, receive_exactly, receive_until, subscribe_queue


def s(value: str) -> dict:
    return {"DataType": "String", "StringValue": value}


def n(value: str) -> dict:
    return {"DataType": "Number", "StringValue": value}


def arr(value: list) -> dict:
    return {"DataType": "String.Array", "StringValue": json.dumps(value)}


# (case, policy, [(message attributes, delivered?)])
ATTRIBUTE_CASES = [
    ("exact-string", {"color": ["red", "blue"]}, [
        ({"color": s("red")}, True),
        ({"color": s("blue")}, True),
        ({"color": s("Red")}, False),
        ({"shade": s("red")}, False),
        ({}, False),
    ]),
    ("exact-number", {"size": [100]}, [
        ({"size": n("100")}, True),
        ({"size": n("100.0")}, True),
        ({"size": n("101")}, False),
        ({"size": s("100")}, False),
    ]),
    ("prefix", {"name": [{"prefix": "bas"}]}, [
        ({"name": s("basket")}, True),
        ({"name": s("bas")}, True),
        ({"name": s("abasket")}, False),
    ]),
    ("suffix", {"file": [{"suffix": ".jpg"}]}, [
        ({"file": s("cat.jpg")}, True),
        ({"file": s("cat.jpeg")}, False),
    ]),
    ("equals-ignore-case", {"color": [{"equals-ignore-case": "RED"}]}, [
        ({"color": s("red")}, True),
        ({"color": s("rEd")}, True),
        ({"color": s("reds")}, False),
    ]),
    ("anything-but-values", {"color": [{"anything-but": ["red", "blue"]}]}, [
        ({"color": s("green")}, True),
        ({"color": s("red")}, False),
        ({}, False),
    ]),
    ("anything-but-value", {"color": [{"anything-but": "red"}]}, [
        ({"color": s("green")}, True),
        ({"color": s("red")}, False),
    ]),
    ("anything-but-numbers", {"size": [{"anything-but": [1, 2]}]}, [
        ({"size": n("3")}, True),
        ({"size": n("2")}, False),
    ]),
    ("anything-but-prefix", {"name": [{"anything-but": {"prefix": "tmp"}}]}, [
        ({"name": s("file")}, True),
        ({"name": s("tmpfile")}, False),
    ]),
    ("anything-but-suffix", {"name": [{"anything-but": {"suffix": ".tmp"}}]}, [
        ({"name": s("file.txt")}, True),
        ({"name": s("file.tmp")}, False),
    ]),
    ("numeric-range", {"price": [{"numeric": [">", 0, "<=", 100]}]}, [
        ({"price": n("0")}, False),
        ({"price": n("0.5")}, True),
        ({"price": n("100")}, True),
        ({"price": n("100.01")}, False),
        ({"price": s("50")}, False),
    ]),
    ("numeric-equal", {"price": [{"numeric": ["=", 5]}]}, [
        ({"price": n("5.0")}, True),
        ({"price": n("5.00001")}, False),
    ]),
    ("numeric-negative", {"t": [{"numeric": ["<", -10.5]}]}, [
        ({"t": n("-11")}, True),
        ({"t": n("-10.5")}, False),
    ]),
    ("exists-true", {"k": [{"exists": True}]}, [
        ({"k": s("anything")}, True),
        ({"k": n("0")}, True),
        ({"other": s("x")}, False),
    ]),
    ("exists-false", {"k": [{"exists": False}]}, [
        ({"other": s("x")}, True),
        ({"k": s("x")}, False),
    ]),
    ("cidr-v4", {"ip": [{"cidr": "10.0.0.0/24"}]}, [
        ({"ip": s("10.0.0.7")}, True),
        ({"ip": s("10.0.1.7")}, False),
        ({"ip": s("not an address")}, False),
    ]),
    ("cidr-v6", {"ip": [{"cidr": "2001:db8::/32"}]}, [
        ({"ip": s("2001:db8::1")}, True),
        ({"ip": s("2001:db9::1")}, False),
    ]),
    ("string-array", {"tags": ["b"]}, [
        ({"tags": arr(["a", "b"])}, True),
        ({"tags": arr(["a", "c"])}, False),
    ]),
    ("and-of-keys", {"color": ["red"], "size": [{"numeric": [">=", 10]}]}, [
        ({"color": s("red"), "size": n("10")}, True),
        ({"color": s("red"), "size": n("9")}, False),
        ({"color": s("red")}, False),
    ]),
    ("or", {"$or": [{"a": ["1"]}, {"b": [{"prefix": "x"}]}]}, [
        ({"a": s("1")}, True),
        ({"b": s("xy")}, True),
        ({"a": s("2"), "b": s("yx")}, False),
    ]),
    ("binary-is-ignored", {"blob": [{"exists": True}]}, [
        ({"blob": {"DataType": "Binary", "BinaryValue": b"\x00"}}, False),
        ({"blob": s("x")}, True),
    ]),
]

# (case, policy, [(message body, delivered?)])
BODY_CASES = [
    ("nested", {"store": {"city": ["Paris"]}}, [
        ({"store": {"city": "Paris"}}, True),
        ({"store": {"city": "Rome"}}, False),
        ({"city": "Paris"}, False),
    ]),
    ("dotted-key", {"store.city": ["Paris"]}, [
        ({"store": {"city": "Paris"}}, True),
        ({"store": {"city": "Lyon"}}, False),
    ]),
    ("array", {"tags": ["x"]}, [
        ({"tags": ["y", "x"]}, True),
        ({"tags": ["y"]}, False),
        ({"tags": "x"}, True),
    ]),
    ("array-of-objects", {"Records": {"s3": {"bucket": ["b1"]}}}, [
        ({"Records": [{"s3": {"bucket": "b0"}}, {"s3": {"bucket": "b1"}}]}, True),
        ({"Records": [{"s3": {"bucket": "b0"}}]}, False),
    ]),
    ("null", {"v": [None]}, [
        ({"v": None}, True),
        ({"v": "x"}, False),
        ({}, False),
    ]),
    ("numeric", {"price": [{"numeric": [">", 10]}]}, [
        ({"price": 12}, True),
        ({"price": 12.5}, True),
        ({"price": 9}, False),
        ({"price": "12"}, False),
    ]),
    ("prefix-and-exists", {"a": [{"prefix": "p"}], "b": [{"exists": False}]}, [
        ({"a": "pq"}, True),
        ({"a": "pq", "b": 1}, False),
    ]),
    ("nested-or", {"a": {"$or": [{"b": ["1"]}, {"c": [{"numeric": ["<", 0]}]}]}}, [
        ({"a": {"b": "1"}}, True),
        ({"a": {"c": -1}}, True),
        ({"a": {"b": "2", "c": 1}}, False),
    ]),
    ("anything-but-and-ignore-case", {"k": [{"anything-but": "no"}], "j": [{"equals-ignore-case": "YES"}]}, [
        ({"k": "maybe", "j": "yes"}, True),
        ({"k": "no", "j": "yes"}, False),
    ]),
]


def wrapped(case: str, policy: dict, marker: str) -> dict:
    return {"$or": [{**policy, "case": [case]}, {"marker": [marker]}]}


def run_cases(server, cases, body_scope: bool):
    sns = server.client("sns")
    sqs = server.client("sqs")
    prefix = f"f-{uuid.uuid4().hex[:8]}"
    topic = sns.create_topic(Name=prefix)["TopicArn"]
    marker = uuid.uuid4().hex
    queues = {}
    for index, (case, policy, _) in enumerate(cases):
        attributes = {"FilterPolicy": json.dumps(wrapped(case, policy, marker))}
        if body_scope:
            attributes["FilterPolicyScope"] = "MessageBody"
        queues[case], _ = subscribe_queue(
            sns, topic, sqs, f"{prefix}-{index}", RawMessageDelivery="true", **attributes
        )
    expected: dict[str, set[str]] = {case: set() for case, _, _ in cases}
    for case, _, messages in cases:
        for number, (content, delivered) in enumerate(messages):
            label = f"{case}#{number}"
            if body_scope:
                sns.publish(TopicArn=topic, Message=json.dumps({**content, "case": case, "label": label}))
            else:
                sns.publish(
                    TopicArn=topic,
                    Message=json.dumps({"label": label}),
                    MessageAttributes={**content, "case": s(case)},
                )
            if delivered:
                expected[case].add(label)
    if body_scope:
        sns.publish(TopicArn=topic, Message=json.dumps({"marker": marker}))
    else:
        sns.publish(TopicArn=topic, Message=json.dumps({}), MessageAttributes={"marker": s(marker)})
    wrong = {}
    for case, url in queues.items():
        got = receive_until(
            sqs, url, lambda m: json.loads(m["Body"]).get("marker") == marker or (
                m.get("MessageAttributes", {}).get("marker", {}).get("StringValue") == marker
            ),
        )
        labels = [json.loads(m["Body"])["label"] for m in got]
        assert len(labels) == len(set(labels)), f"{case}: duplicates {labels}"
        if set(labels) != expected[case]:
            wrong[case] = {"missing": sorted(expected[case] - set(labels)),
                           "unexpected": sorted(set(labels) - expected[case])}
    assert not wrong, json.dumps(wrong, indent=1)


def test_attribute_scope_operators(server):
    run_cases(server, ATTRIBUTE_CASES, body_scope=False)


def test_body_scope_operators(server):
    run_cases(server, BODY_CASES, body_scope=True)


def test_a_non_json_body_matches_no_body_policy(server):
    sns = server.client("sns")
    sqs = server.client("sqs")
    name = f"f-{uuid.uuid4().hex[:8]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    url, _ = subscribe_queue(
        sns, topic, sqs, name, RawMessageDelivery="true",
        FilterPolicyScope="MessageBody", FilterPolicy=json.dumps({"k": [{"exists": False}]}),
    )
    sns.publish(TopicArn=topic, Message="plain text, not JSON")
    sns.publish(TopicArn=topic, Message=json.dumps({"other": 1}))
    got = receive_until(sqs, url, lambda m: m["Body"] == json.dumps({"other": 1}))
    assert [m["Body"] for m in got] == []


def test_a_policy_change_applies_at_once(server):
    sns = server.client("sns")
    sqs = server.client("sqs")
    name = f"f-{uuid.uuid4().hex[:8]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    url, subscription = subscribe_queue(
        sns, topic, sqs, name, RawMessageDelivery="true",
        FilterPolicy=json.dumps({"color": ["red"]}),
    )
    def publish(color: str, body: str) -> None:
        sns.publish(TopicArn=topic, Message=body, MessageAttributes={"color": s(color)})

    publish("red", "red-1")
    (first,) = receive_exactly(sqs, url, 1)
    assert first["Body"] == "red-1"
    sns.set_subscription_attributes(
        SubscriptionArn=subscription,
        AttributeName="FilterPolicy",
        AttributeValue=json.dumps({"color": ["blue"]}),
    )
    publish("red", "red-2")
    publish("blue", "blue-1")
    got = receive_until(sqs, url, lambda m: m["Body"] == "blue-1")
    assert [m["Body"] for m in got] == []
    # Switching the scope to the body makes the same policy look at the body instead.
    sns.set_subscription_attributes(
        SubscriptionArn=subscription, AttributeName="FilterPolicyScope", AttributeValue="MessageBody"
    )
    publish("blue", "blue-2")
    sns.publish(TopicArn=topic, Message=json.dumps({"color": "blue"}))
    got = receive_until(sqs, url, lambda m: m["Body"].startswith("{"))
    assert [m["Body"] for m in got] == []


INVALID_POLICIES = [
    ("too-many-keys", {f"k{i}": ["v"] for i in range(6)}),
    ("too-complex", {"a": list(range(10)), "b": list(range(10)), "c": ["x", "y"]}),
    ("unknown-operator", {"a": [{"bogus": 1}]}),
    ("wildcard-is-eventbridge-only", {"a": [{"wildcard": "x*"}]}),
    ("numeric-out-of-range", {"a": [{"numeric": [">", 1e10]}]}),
    ("numeric-bad-operator", {"a": [{"numeric": ["~", 1]}]}),
    ("numeric-reversed-range", {"a": [{"numeric": [">", 10, "<", 5]}]}),
    ("empty-values", {"a": []}),
    ("prefix-not-string", {"a": [{"prefix": 5}]}),
    ("cidr-bad", {"a": [{"cidr": "10.0.0.0/99"}]}),
    ("exists-not-boolean", {"a": [{"exists": "yes"}]}),
    ("or-with-one-branch", {"$or": [{"a": ["1"]}]}),
]


def test_invalid_policies_are_refused(server):
    sns = server.client("sns")
    sqs = server.client("sqs")
    name = f"f-{uuid.uuid4().hex[:8]}"
    topic = sns.create_topic(Name=name)["TopicArn"]
    _, queue = make_queue(sqs, name)
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)["SubscriptionArn"]
    _, other = make_queue(sqs, name + "-other")
    accepted = {}
    for case, policy in INVALID_POLICIES:
        for how in ["Subscribe", "SetSubscriptionAttributes"]:
            try:
                if how == "Subscribe":
                    sns.subscribe(
                        TopicArn=topic, Protocol="sqs", Endpoint=other,
                        Attributes={"FilterPolicy": json.dumps(policy)},
                    )
                else:
                    sns.set_subscription_attributes(
                        SubscriptionArn=subscription, AttributeName="FilterPolicy",
                        AttributeValue=json.dumps(policy),
                    )
            except botocore.exceptions.ClientError as error:
                code = error.response["Error"]["Code"]
                message = error.response["Error"]["Message"]
                # AWS says "Invalid parameter: FilterPolicy: …" (after "Attributes Reason: "
                # on Subscribe).
                if code != "InvalidParameter" or not re.match(
                    r"Invalid parameter: (Attributes Reason: )?FilterPolicy: ", message
                ):
                    accepted[f"{case} ({how})"] = f"{code}: {message}"
            else:
                accepted[f"{case} ({how})"] = "accepted"
    assert not accepted, json.dumps(accepted, indent=1)
    for not_a_policy in ["{not json", "[]", '"text"']:
        with pytest.raises(botocore.exceptions.ClientError) as excinfo:
            sns.set_subscription_attributes(
                SubscriptionArn=subscription, AttributeName="FilterPolicy",
                AttributeValue=not_a_policy,
            )
        assert excinfo.value.response["Error"]["Code"] == "InvalidParameter", not_a_policy
    # Nothing refused was stored.
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
    assert "FilterPolicy" not in attributes
