"""SNS fan-out through kill -9, with `fsync = always`: publishers run while the server is
killed (five times) in the middle of fanning messages out to three SQS subscriptions, one of
them filtered to half the messages, and a Firehose subscription whose delivery stream writes
to a local directory. After the last restart, every acknowledged Publish has reached every
subscription it matches exactly once (counted by the SNS MessageId inside the envelope), no
subscription has any message twice, and the filtered one has nothing its policy does not
match.
"""

from __future__ import annotations

import collections
import json
import random
import threading
import time

import botocore.exceptions
import pytest

from sns_receiver import subscribe_queue

KILLS = 5


class Publishers:
    """Threads publishing batches of ten, recording only what the server acknowledged."""

    def __init__(self, server, topic: str, seed: int):
        self.server = server
        self.topic = topic
        self.random = random.Random(seed)
        self.acknowledged: dict[str, str] = {}  # MessageId -> parity
        self.lock = threading.Lock()
        self.counter = 0

    def run(self, seconds: float) -> None:
        stop = threading.Event()
        threads = [threading.Thread(target=self.loop, args=(stop,)) for _ in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        self.server.kill9()
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
            assert not thread.is_alive()

    def loop(self, stop: threading.Event) -> None:
        sns = self.server.client("sns", connect_timeout=2, read_timeout=10)
        while not stop.is_set():
            with self.lock:
                base = self.counter
                self.counter += 10
            entries = []
            for index in range(10):
                number = base + index
                parity = "even" if number % 2 == 0 else "odd"
                entries.append(
                    {
                        "Id": str(index),
                        "Message": f"m{number}",
                        "MessageAttributes": {
                            "parity": {"DataType": "String", "StringValue": parity}
                        },
                    }
                )
            try:
                if self.random.random() < 0.8:
                    result = sns.publish_batch(TopicArn=self.topic, PublishBatchRequestEntries=entries)
                    done = [
                        (entry["MessageId"], entries[int(entry["Id"])])
                        for entry in result.get("Successful", [])
                    ]
                else:
                    entry = entries[0]
                    result = sns.publish(
                        TopicArn=self.topic,
                        Message=entry["Message"],
                        MessageAttributes=entry["MessageAttributes"],
                    )
                    done = [(result["MessageId"], entry)]
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                return
            with self.lock:
                for message_id, entry in done:
                    self.acknowledged[message_id] = entry["MessageAttributes"]["parity"][
                        "StringValue"
                    ]


def drain(sqs, url: str, expected: set[str], timeout_s: float = 240.0) -> list[dict]:
    """Every envelope in the queue: receives (and deletes) until all of `expected` came and
    then two receives in a row found nothing, or `timeout_s` passed. The wait is long because
    the fan-out backlog of five kills (every envelope signed, four subscriptions) can take
    more than a minute to drain on a busy 2-core machine."""
    envelopes: list[dict] = []
    seen: set[str] = set()
    empty = 0
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and (not expected <= seen or empty < 2):
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600, WaitTimeSeconds=1
        ).get("Messages", [])
        if not messages:
            empty += 1
            continue
        empty = 0
        for message in messages:
            envelope = json.loads(message["Body"])
            envelopes.append(envelope)
            seen.add(envelope["MessageId"])
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]}
                for i, message in enumerate(messages)
            ],
        )
    return envelopes


def lake_envelopes(lake, expected: set[str], timeout_s: float = 240.0) -> list[dict]:
    """The envelopes in the delivery stream's objects, once all of `expected` are there (or
    `timeout_s` passed)."""
    decoder = json.JSONDecoder()
    deadline = time.monotonic() + timeout_s
    while True:
        envelopes = []
        # Objects are written to `<key>#<n>` and renamed: only whole objects count. Each
        # holds envelopes (multi-line JSON, as SNS sends them) one after another.
        for path in sorted(p for p in lake.rglob("*") if p.is_file() and "#" not in p.name):
            text, at = path.read_text(), 0
            while at < len(text):
                if text[at].isspace():
                    at += 1
                    continue
                envelope, at = decoder.raw_decode(text, at)
                envelopes.append(envelope)
        if expected <= {e["MessageId"] for e in envelopes} or time.monotonic() > deadline:
            return envelopes
        time.sleep(0.5)


@pytest.mark.timeout(600)
def test_acknowledged_publishes_reach_every_subscription_once_through_kill9(start_server, tmp_path):
    lake = tmp_path / "lake"
    server = start_server(
        args=["--fsync", "always"],
        config_toml=f'[delivery.buckets.kill9-lake]\ndirectory = "{lake}"\n',
    )
    sns = server.client("sns")
    sqs = server.client("sqs")
    topic = sns.create_topic(Name="kill9-fanout")["TopicArn"]
    server.client("firehose").create_delivery_stream(
        DeliveryStreamName="kill9-lake",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::000000000000:role/firehose",
            "BucketARN": "arn:aws:s3:::kill9-lake",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
        },
    )
    sns.subscribe(
        TopicArn=topic,
        Protocol="firehose",
        Endpoint="arn:aws:firehose:us-east-1:000000000000:deliverystream/kill9-lake",
        Attributes={"SubscriptionRoleArn": "arn:aws:iam::000000000000:role/sns-firehose"},
    )
    queues = {
        "all-1": subscribe_queue(sns, topic, sqs, "kill9-all-1")[0],
        "all-2": subscribe_queue(sns, topic, sqs, "kill9-all-2")[0],
        "even": subscribe_queue(
            sns, topic, sqs, "kill9-even", FilterPolicy=json.dumps({"parity": ["even"]})
        )[0],
    }
    publishers = Publishers(server, topic, seed=11)
    for kill in range(KILLS):
        if kill:
            server.start()
        publishers.run(0.5 + publishers.random.random())
    server.start()
    sqs = server.client("sqs")
    acknowledged = dict(publishers.acknowledged)
    assert len(acknowledged) >= 100, f"only {len(acknowledged)} publishes were acknowledged"
    even = {message_id for message_id, parity in acknowledged.items() if parity == "even"}
    assert even and len(even) < len(acknowledged)

    for name, url in queues.items():
        expected = even if name == "even" else set(acknowledged)
        envelopes = drain(sqs, url, expected)
        counts = collections.Counter(envelope["MessageId"] for envelope in envelopes)
        duplicated = {message_id: count for message_id, count in counts.items() if count > 1}
        assert not duplicated, f"{name}: {len(duplicated)} messages delivered more than once"
        missing = expected - set(counts)
        assert not missing, f"{name}: {len(missing)} of {len(expected)} acknowledged lost"
        if name == "even":
            parities = {
                envelope["MessageAttributes"]["parity"]["Value"] for envelope in envelopes
            }
            assert parities == {"even"}, f"the filtered subscription got {parities}"
        for envelope in envelopes:
            assert envelope["Type"] == "Notification" and envelope["TopicArn"] == topic

    # The Firehose subscription: every acknowledged message in the objects, once.
    envelopes = lake_envelopes(lake, set(acknowledged))
    counts = collections.Counter(envelope["MessageId"] for envelope in envelopes)
    duplicated = {message_id: count for message_id, count in counts.items() if count > 1}
    assert not duplicated, f"firehose: {len(duplicated)} messages delivered more than once"
    missing = set(acknowledged) - set(counts)
    assert not missing, f"firehose: {len(missing)} of {len(acknowledged)} acknowledged lost"
