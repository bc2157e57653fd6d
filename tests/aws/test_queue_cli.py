"""`strata queue …` (the native protocol's queue operations) against `strata serve`, checked
from the other side with boto3's SQS client: what one sends, the other receives."""

from __future__ import annotations

import subprocess
import time

import pytest

CLI_TIMEOUT_S = 60


@pytest.fixture
def queue_cli(server, strata_bin):
    """Runs `strata queue <args>` against the server; returns the CompletedProcess."""

    def run(*args: str, check: bool = True, stdin: str | None = None):
        command = [str(strata_bin), "queue", *args, "--addr", server.native_address]
        result = subprocess.run(
            command,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_S,
        )
        if check:
            assert result.returncode == 0, (command, result.stdout, result.stderr)
        return result

    return run


def lines(result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line]


def bodies_of(result) -> list[str]:
    """The bodies of `<offset> <id> <body>` lines."""
    return [line.split(" ", 2)[2] for line in lines(result)]


def test_create_list_send_receive_delete_round_trip_with_boto3(queue_cli, server):
    sqs = server.client("sqs")
    assert "created jobs" in queue_cli("create", "jobs", "--attribute", "VisibilityTimeout=45").stdout
    queue_cli("create", "other")
    assert lines(queue_cli("list")) == ["jobs", "other"]
    assert lines(queue_cli("list", "--prefix", "jo")) == ["jobs"]

    url = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "45"

    # Arguments, then lines of stdin; boto3 receives what the CLI sent.
    assert "sent 2 message(s)" in queue_cli("send", "jobs", "first", "second").stdout
    assert "sent 3 message(s)" in queue_cli("send", "jobs", stdin="a\nb\n\nc\n").stdout
    got = []
    for _ in range(5):
        got += [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]
        if len(got) == 5:
            break
    assert sorted(got) == ["a", "b", "c", "first", "second"]

    # What boto3 sends, the CLI receives and deletes.
    sqs.purge_queue(QueueUrl=url)
    sqs.send_message(QueueUrl=url, MessageBody="from boto3\nwith a line break")
    out = queue_cli("receive", "jobs", "--wait", "1")
    assert bodies_of(out) == ["from boto3\\nwith a line break"]
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages") is None
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "0"

    assert "deleted other" in queue_cli("delete", "other").stdout
    assert lines(queue_cli("list")) == ["jobs"]


def test_receive_keep_count_and_peek(queue_cli, server):
    queue_cli("create", "work")
    queue_cli("send", "work", *[f"m{i}" for i in range(12)])
    # --count spans several receives; --keep leaves the messages in flight.
    out = queue_cli("receive", "work", "--count", "12", "--max", "5", "--keep", "--wait", "1")
    assert sorted(bodies_of(out)) == sorted(f"m{i}" for i in range(12))
    peek = queue_cli("peek", "work")
    assert "12 message(s)" in peek.stdout
    assert all(" in-flight receives=1 " in line for line in lines(peek)[:-1])
    # Asking for more than there is fails after the wait, saying how many came.
    short = queue_cli("receive", "work", "--count", "1", "--wait", "0", check=False)
    assert short.returncode == 1
    assert "received 0 of 1" in short.stderr


def test_rewind_redelivers_deleted_messages_by_offset_and_by_time(queue_cli, server):
    sqs = server.client("sqs")
    queue_cli("create", "replay")
    queue_cli("send", "replay", "old")
    time.sleep(0.05)
    between_ms = int(time.time() * 1000)
    time.sleep(0.05)
    queue_cli("send", "replay", "new1", "new2")
    assert sorted(bodies_of(queue_cli("receive", "replay", "--count", "3", "--wait", "1"))) == [
        "new1",
        "new2",
        "old",
    ]
    assert "0 message(s)" in queue_cli("peek", "replay").stdout
    finished = queue_cli("peek", "replay", "--all")
    assert "3 message(s)" in finished.stdout and " finished " in finished.stdout

    out = queue_cli("rewind", "replay", "--to", str(between_ms))
    assert "2 message(s) to receive" in out.stdout
    url = sqs.get_queue_url(QueueName="replay")["QueueUrl"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in got) == ["new1", "new2"]
    assert all(m.get("Attributes", {}).get("ApproximateReceiveCount", "1") == "1" for m in got)

    first_offset = int(lines(finished)[0].split(" ")[0])
    out = queue_cli("rewind", "replay", "--offset", str(first_offset))
    assert "3 message(s) to receive" in out.stdout
    # The handles of the receive before the rewind are stale.
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    assert "3 message(s) to receive" in queue_cli("rewind", "replay", "--to", "1h").stdout


def test_fifo_send_needs_a_group_and_keeps_order(queue_cli, server):
    queue_cli("create", "orders.fifo", "--attribute", "ContentBasedDeduplication=true")
    refused = queue_cli("send", "orders.fifo", "x", check=False)
    assert refused.returncode == 1 and "MessageGroupId" in refused.stderr
    queue_cli("send", "orders.fifo", "--group", "g", "1", "2", "3")
    queue_cli("send", "orders.fifo", "--group", "g", "1")  # a duplicate by content
    assert bodies_of(queue_cli("receive", "orders.fifo", "--count", "3", "--wait", "1")) == [
        "1",
        "2",
        "3",
    ]


def test_errors_are_clear_and_exit_1(queue_cli, server):
    for args, expected in [
        (("send", "missing", "x"), "does not exist"),
        (("receive", "missing", "--wait", "0"), "does not exist"),
        (("create", "bad name!"), "alphanumeric"),
        (("create", "q", "--attribute", "VisibilityTimeout=99999"), "VisibilityTimeout"),
        (("create", "q", "--attribute", "nonsense"), "NAME=VALUE"),
        (("rewind", "missing", "--to", "yesterday"), "RFC 3339"),
        (("peek", "missing"), "does not exist"),
    ]:
        result = queue_cli(*args, check=False)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert expected in result.stderr, (args, result.stderr)
    queue_cli("create", "q")
    too_many = queue_cli("receive", "q", "--max", "11", check=False)
    assert too_many.returncode == 1 and "between 1 and 10" in too_many.stderr
    queue_cli("purge", "q")
    again = queue_cli("purge", "q", check=False)
    assert again.returncode == 1 and "60 seconds" in again.stderr
    assert "deleted q" in queue_cli("delete", "q").stdout
    recreate = queue_cli("create", "q", check=False)
    assert recreate.returncode == 1 and "60 seconds" in recreate.stderr
