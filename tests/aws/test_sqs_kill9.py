"""SQS under load through kill -9, with `fsync = always`: producers, receivers and deleters
run while the server is killed (ten times); after each restart the load goes on. At the end
every acknowledged send is either deleted (and that delete acknowledged) or still
receivable, no acknowledged delete is undone, and a FIFO group's messages come in order.
"""

from __future__ import annotations

import random
import threading
import time

import botocore.exceptions
import pytest

KILLS = 10


class Load:
    """Senders and a receiver-deleter on one standard and one FIFO queue, recording only what
    the server acknowledged."""

    def __init__(self, server, standard_url: str, fifo_url: str, seed: int):
        self.server = server
        self.standard_url = standard_url
        self.fifo_url = fifo_url
        self.random = random.Random(seed)
        self.sent: set[str] = set()
        self.deleted: set[str] = set()
        # Deletes sent whose answer was lost to a kill: they may or may not have happened.
        self.delete_tried: set[str] = set()
        self.fifo_delete_tried: set[int] = set()
        self.fifo_sent: list[int] = []
        self.fifo_next = 0
        self.fifo_deleted: set[int] = set()
        self.lock = threading.Lock()
        self.counter = 0

    def run(self, seconds: float) -> None:
        stop = threading.Event()
        threads = [
            threading.Thread(target=self.send_loop, args=(stop,)),
            threading.Thread(target=self.send_loop, args=(stop,)),
            threading.Thread(target=self.receive_loop, args=(stop,)),
            threading.Thread(target=self.fifo_loop, args=(stop,)),
        ]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        self.server.kill9()
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
            assert not thread.is_alive()

    def client(self):
        return self.server.client("sqs", connect_timeout=2, read_timeout=10)

    def send_loop(self, stop: threading.Event) -> None:
        sqs = self.client()
        while not stop.is_set():
            with self.lock:
                base = self.counter
                self.counter += 10
            bodies = [f"m{base + index}" for index in range(10)]
            try:
                result = sqs.send_message_batch(
                    QueueUrl=self.standard_url,
                    Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)],
                )
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                return
            with self.lock:
                for entry in result.get("Successful", []):
                    self.sent.add(bodies[int(entry["Id"])])

    def receive_loop(self, stop: threading.Event) -> None:
        sqs = self.client()
        while not stop.is_set():
            try:
                messages = sqs.receive_message(
                    QueueUrl=self.standard_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                ).get("Messages", [])
                if not messages:
                    continue
                with self.lock:
                    self.delete_tried.update(message["Body"] for message in messages)
                result = sqs.delete_message_batch(
                    QueueUrl=self.standard_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]}
                        for i, message in enumerate(messages)
                    ],
                )
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                return
            with self.lock:
                for entry in result.get("Successful", []):
                    self.deleted.add(messages[int(entry["Id"])]["Body"])

    def fifo_loop(self, stop: threading.Event) -> None:
        sqs = self.client()
        while not stop.is_set():
            try:
                if self.random.random() < 0.6:
                    number = self.fifo_next
                    sqs.send_message(
                        QueueUrl=self.fifo_url,
                        MessageBody=str(number),
                        MessageGroupId="g",
                        MessageDeduplicationId=f"d{number}",
                    )
                    # Acknowledged: the next number may be sent. A send whose answer was lost
                    # is sent again under the same deduplication id.
                    self.fifo_sent.append(number)
                    self.fifo_next += 1
                else:
                    messages = sqs.receive_message(
                        QueueUrl=self.fifo_url, MaxNumberOfMessages=10
                    ).get("Messages", [])
                    numbers = [int(message["Body"]) for message in messages]
                    assert numbers == sorted(numbers), numbers
                    for message in messages:
                        self.fifo_delete_tried.add(int(message["Body"]))
                        sqs.delete_message(
                            QueueUrl=self.fifo_url, ReceiptHandle=message["ReceiptHandle"]
                        )
                        self.fifo_deleted.add(int(message["Body"]))
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                return


def drain(sqs, url: str) -> list[str]:
    """Takes every receivable body, in receive order."""
    bodies: list[str] = []
    empty = 0
    deadline = time.monotonic() + 120
    while empty < 3 and time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600, WaitTimeSeconds=1
        ).get("Messages", [])
        if not messages:
            empty += 1
            continue
        empty = 0
        bodies += [message["Body"] for message in messages]
        # Deleted as they come: a FIFO group stays blocked while its messages are in flight.
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]}
                for i, message in enumerate(messages)
            ],
        )
    return bodies


@pytest.mark.timeout(600)
def test_acknowledged_queue_work_survives_repeated_kill9_under_load(start_server):
    server = start_server(args=["--fsync", "always"])
    sqs = server.client("sqs")
    # In-flight messages of a killed receiver come back after five seconds.
    standard_url = sqs.create_queue(
        QueueName="kill9", Attributes={"VisibilityTimeout": "5"}
    )["QueueUrl"]
    fifo_url = sqs.create_queue(
        QueueName="kill9.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "5"}
    )["QueueUrl"]
    load = Load(server, standard_url, fifo_url, seed=7)
    for kill in range(KILLS):
        if kill:
            server.start()
        load.run(0.6 + load.random.random())
    server.start()
    sqs = server.client("sqs")
    time.sleep(5.2)  # every in-flight message's visibility timeout passes
    left = drain(sqs, standard_url)
    assert len(load.sent) >= 100, f"only {len(load.sent)} sends were acknowledged"
    assert load.deleted, "no delete was acknowledged"
    assert not (set(left) & load.deleted), "an acknowledged delete was undone"
    missing = load.sent - load.deleted - load.delete_tried - set(left)
    assert not missing, f"{len(missing)} acknowledged sends are lost"
    fifo_left = [int(body) for body in drain(sqs, fifo_url)]
    assert fifo_left == sorted(set(fifo_left)), "FIFO order broken"
    assert not (set(fifo_left) & load.fifo_deleted)
    assert set(load.fifo_sent) - load.fifo_deleted - load.fifo_delete_tried <= set(fifo_left)
