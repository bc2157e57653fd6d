"""The manual test clock (`server.clock = "manual"`): a queue's visibility timeouts, delays,
retention and deduplication window end when a test moves the clock, without sleeping; the
clock cannot be asked for on a listener beyond loopback."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request

import pytest

MANUAL = '[server]\nclock = "manual"\n'


def clock(server, advance_ms: int | None = None) -> int:
    if advance_ms is None:
        request = urllib.request.Request(server.endpoint + "/_strata/clock")
    else:
        request = urllib.request.Request(
            f"{server.endpoint}/_strata/clock?advance_ms={advance_ms}", method="POST"
        )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["now_ms"]


def test_moving_the_clock_ends_visibility_delay_retention_and_dedup(start_server):
    server = start_server(config_toml=MANUAL)
    sqs = server.client("sqs", read_timeout=30)
    start = clock(server)
    time.sleep(0.2)
    assert clock(server) == start, "a manual clock does not move by itself"
    url = sqs.create_queue(
        QueueName="clocked",
        Attributes={"VisibilityTimeout": "3600", "MessageRetentionPeriod": "7200"},
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="invisible for an hour")
    first = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    assert clock(server, 3_600_000) == start + 3_600_000
    again = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"][0]
    assert again["MessageId"] == first["MessageId"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    assert int(again["Attributes"]["SentTimestamp"]) == start

    # A delayed message ends its delay when the clock moves, and wakes a waiting long poll.
    sqs.send_message(QueueUrl=url, MessageBody="in 15 minutes", DelaySeconds=900)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(sqs.receive_message, QueueUrl=url, WaitTimeSeconds=20)
        time.sleep(0.5)
        clock(server, 900_000)
        delayed = waiting.result(timeout=10)["Messages"]
    assert [message["Body"] for message in delayed] == ["in 15 minutes"]

    # Past the retention period, the first message is gone.
    clock(server, 7_200_000)
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert [message["Body"] for message in left] == []

    # A FIFO deduplication id lasts five minutes of this clock.
    fifo = sqs.create_queue(
        QueueName="clocked.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    one = sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
    clock(server, 299_000)
    assert sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")[
        "MessageId"
    ] == one["MessageId"]
    clock(server, 1_000)
    assert sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")[
        "MessageId"
    ] != one["MessageId"]


def test_the_clock_endpoint_is_absent_unless_manual_and_checks_its_input(start_server):
    system = start_server()
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        clock(system)
    assert excinfo.value.code == 404
    manual = start_server(config_toml=MANUAL)
    for query in ["advance_ms=-5", "advance_ms=soon", ""]:
        request = urllib.request.Request(
            f"{manual.endpoint}/_strata/clock?{query}", method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as excinfo:
            urllib.request.urlopen(request, timeout=10)
        assert excinfo.value.code == 400


def test_a_manual_clock_beyond_loopback_is_refused(strata_bin, tmp_path):
    config = tmp_path / "strata.toml"
    config.write_text(MANUAL + "allow_anonymous = true\nhttp = \"0.0.0.0:0\"\n")
    result = subprocess.run(
        [str(strata_bin), "serve", "--config", str(config), "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode != 0
    assert "server.clock" in result.stderr
