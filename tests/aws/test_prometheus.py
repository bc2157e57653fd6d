"""`GET /metrics` scraped by a real Prometheus (the Debian `prometheus` package, which
scripts/test.sh installs): after a short load through boto3 and the native CLI, the query API
returns every layer's series with the values the load implies, and every series the Grafana
dashboard (docs/grafana/strata.json) plots exists."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from strata_aws import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = REPO_ROOT / "docs" / "grafana" / "strata.json"
DEADLINE_S = 60
PUTS = 40
SENDS = 12
RECEIVES = 5

# Series that appear only once their event has happened (the load here does not delete
# expired segments or retry an HTTP/S delivery; tests/aws/test_sns_http.py and the engine's
# retention tests make those).
EVENT_ONLY = {
    "strata_log_retention_segments_deleted_total",
    "strata_log_retention_bytes_deleted_total",
    "strata_topic_delivery_retries_total",
}
DELIVERY_RECORDS = 20


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        pytest.fail(
            "prometheus is missing (Debian: apt-get install prometheus; "
            "scripts/test.sh installs it)"
        )
    return found


@pytest.fixture
def server(start_server, tmp_path):
    """A server whose bucket `lake` is a local directory, for a delivery stream."""
    lake = tmp_path / "lake"
    lake.mkdir()
    return start_server(config_toml=f'[delivery.buckets.lake]\ndirectory = "{lake}"\n')


@pytest.fixture
def prometheus(server, tmp_path):
    """A Prometheus scraping `server` every 250 ms; yields its base URL."""
    port = free_port()
    target = server.endpoint.removeprefix("http://")
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n"
        "  scrape_interval: 250ms\n"
        "  scrape_timeout: 200ms\n"
        "scrape_configs:\n"
        "  - job_name: strata\n"
        f"    static_configs:\n      - targets: ['{target}']\n"
    )
    log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(
        [
            prometheus_binary(),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            try:
                with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                tail = (tmp_path / "prometheus.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"prometheus did not become ready:\n{tail}")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def query(base: str, expression: str) -> list[dict]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=5) as answer:
        body = json.load(answer)
    assert body["status"] == "success", body
    return body["data"]["result"]


def value_of(base: str, expression: str, expected, deadline: float) -> float:
    """Polls (bounded) until `expression` has one sample for which `expected(value)` holds."""
    last = None
    while time.monotonic() < deadline:
        result = query(base, expression)
        if len(result) == 1:
            last = float(result[0]["value"][1])
            if expected(last):
                return last
        else:
            last = result
        time.sleep(0.25)
    pytest.fail(f"{expression}: last answer {last!r}")


def test_prometheus_scrapes_every_layer(server, prometheus, strata_bin, tmp_path):
    kinesis = server.client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(
        StreamName="clicks", WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
    )
    for i in range(PUTS):
        kinesis.put_record(StreamName="clicks", PartitionKey=f"k{i}", Data=b"x" * 100)
    shard = kinesis.list_shards(StreamName="clicks")["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName="clicks", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    read = kinesis.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    # An enhanced fan-out consumer reads the shard too: its lag is kept under its name.
    stream_arn = kinesis.describe_stream_summary(StreamName="clicks")[
        "StreamDescriptionSummary"
    ]["StreamARN"]
    consumer = kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName="fan")[
        "Consumer"
    ]
    wait_until_active = time.monotonic() + DEADLINE_S
    while (
        kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])[
            "ConsumerDescription"
        ]["ConsumerStatus"]
        != "ACTIVE"
    ):
        assert time.monotonic() < wait_until_active, "the consumer never became ACTIVE"
        time.sleep(0.1)
    events = kinesis.subscribe_to_shard(
        ConsumerARN=consumer["ConsumerARN"],
        ShardId=shard,
        StartingPosition={"Type": "TRIM_HORIZON"},
    )["EventStream"]
    first = next(iter(events))
    assert "SubscribeToShardEvent" in first
    pushed = len(first["SubscribeToShardEvent"]["Records"])
    events.close()
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.describe_stream(StreamName="missing")

    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    for i in range(SENDS):
        sqs.send_message(QueueUrl=url, MessageBody=f"job {i}")
    got = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=RECEIVES, VisibilityTimeout=600
    )["Messages"]
    assert len(got) == RECEIVES

    sns = server.client("sns")
    topic = sns.create_topic(Name="events")["TopicArn"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    sns.publish(TopicArn=topic, Message="hello")

    firehose = server.client("firehose")
    firehose.create_delivery_stream(
        DeliveryStreamName="to-lake",
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::000000000000:role/firehose",
            "BucketARN": "arn:aws:s3:::lake",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
        },
    )
    answer = firehose.put_record_batch(
        DeliveryStreamName="to-lake",
        Records=[{"Data": f"event {i}\n".encode()} for i in range(DELIVERY_RECORDS)],
    )
    assert answer["FailedPutCount"] == 0

    lines = tmp_path / "lines.txt"
    lines.write_text("".join(f"line {i}\n" for i in range(7)))
    subprocess.run(
        [str(strata_bin), "put", "clicks", "--file", str(lines), "--addr", server.native_address],
        check=True,
        capture_output=True,
        timeout=60,
    )

    deadline = time.monotonic() + DEADLINE_S
    assert value_of(prometheus, 'up{job="strata"}', lambda v: v == 1, deadline) == 1
    # HTTP front door: counts per operation, errors by code, a latency histogram.
    value_of(
        prometheus,
        'strata_http_requests_total{service="kinesis",operation="PutRecord"}',
        lambda v: v == PUTS,
        deadline,
    )
    value_of(
        prometheus,
        'strata_http_request_duration_seconds_count{service="kinesis",operation="PutRecord"}',
        lambda v: v == PUTS,
        deadline,
    )
    total_seconds = value_of(
        prometheus,
        'strata_http_request_duration_seconds_sum{service="kinesis",operation="PutRecord"}',
        lambda v: v > 0,
        deadline,
    )
    assert total_seconds < PUTS * 1.0, "no put took a second"
    value_of(
        prometheus,
        'strata_http_errors_total{service="kinesis",operation="DescribeStream",'
        'code="ResourceNotFoundException"}',
        lambda v: v == 1,
        deadline,
    )
    value_of(
        prometheus,
        'strata_http_requests_total{service="sqs",operation="SendMessage"}',
        lambda v: v == SENDS,
        deadline,
    )
    value_of(
        prometheus,
        'strata_http_requests_total{service="sns",operation="Publish"}',
        lambda v: v == 1,
        deadline,
    )
    # Kinesis API: records in over both shards (the CLI's seven came by the native
    # protocol, counted there), out as read.
    value_of(
        prometheus,
        'sum(strata_kinesis_records_in_total{stream="clicks"})',
        lambda v: v == PUTS,
        deadline,
    )
    # Out: what GetRecords read and the consumer's first event pushed (a subscription being
    # closed may still push the CLI's records, put later to the same stream).
    value_of(
        prometheus,
        f'strata_kinesis_records_out_total{{stream="clicks",shard="{shard}"}}',
        lambda v: len(read) + pushed <= v <= len(read) + pushed + 7,
        deadline,
    )
    value_of(
        prometheus,
        f'strata_kinesis_millis_behind_latest{{stream="clicks",shard="{shard}",'
        'consumer="GetRecords"}',
        lambda v: v >= 0,
        deadline,
    )
    value_of(
        prometheus,
        f'strata_kinesis_millis_behind_latest{{stream="clicks",shard="{shard}",consumer="fan"}}',
        lambda v: v >= 0,
        deadline,
    )
    # Delivery streams: the records delivered in objects, each object's put timed.
    value_of(
        prometheus,
        'strata_delivery_records_in_total{delivery_stream="to-lake"}',
        lambda v: v == DELIVERY_RECORDS,
        deadline,
    )
    value_of(
        prometheus,
        'strata_delivery_records_delivered_total{delivery_stream="to-lake"}',
        lambda v: v == DELIVERY_RECORDS,
        deadline,
    )
    value_of(
        prometheus,
        'strata_delivery_object_put_seconds_count{delivery_stream="to-lake"}',
        lambda v: v >= 1,
        deadline,
    )
    # The engine: every append committed, synced, on disk.
    value_of(prometheus, "strata_log_appends_total", lambda v: v >= PUTS + SENDS, deadline)
    value_of(prometheus, "strata_log_fsync_seconds_count", lambda v: v >= 1, deadline)
    value_of(
        prometheus,
        'strata_log_bytes_on_disk{stream="clicks"}',
        lambda v: v >= (PUTS + 7) * 100,
        deadline,
    )
    value_of(prometheus, 'strata_log_segments{stream="clicks"}', lambda v: v >= 2, deadline)
    value_of(prometheus, "strata_log_recovery_seconds", lambda v: 0 <= v < 60, deadline)
    # Queues: what is left visible, in flight; the topic's delivery landed in the queue.
    value_of(
        prometheus,
        'strata_queue_messages_in_flight{queue="jobs"}',
        lambda v: v == RECEIVES,
        deadline,
    )
    value_of(
        prometheus,
        'strata_queue_messages_visible{queue="jobs"}',
        lambda v: v == SENDS - RECEIVES + 1,
        deadline,
    )
    value_of(
        prometheus,
        'strata_queue_oldest_message_age_seconds{queue="jobs"}',
        lambda v: 0 <= v < 600,
        deadline,
    )
    value_of(
        prometheus,
        'sum(strata_topic_deliveries_total{topic="events",result="delivered"})',
        lambda v: v == 1,
        deadline,
    )
    # The native protocol: the CLI's connection and produce requests.
    value_of(prometheus, "strata_native_connections_total", lambda v: v >= 1, deadline)
    value_of(
        prometheus, 'strata_native_requests_total{op="Produce"}', lambda v: v >= 1, deadline
    )
    value_of(prometheus, "strata_native_bytes_read_total", lambda v: v > 7 * 6, deadline)

    # The dashboard plots only series the server exports.
    exported = set()
    with urllib.request.urlopen(f"{server.endpoint}/metrics", timeout=5) as answer:
        for line in answer.read().decode().splitlines():
            if line and not line.startswith("#"):
                exported.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    dashboard = json.loads(DASHBOARD.read_text())
    plotted = {
        re.sub(r"_(bucket|sum|count)$", "", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"strata_[a-z_]+", target["expr"])
    }
    known = {re.sub(r"_(bucket|sum|count)$", "", name) for name in exported} | EVENT_ONLY
    assert plotted - known == set(), "the dashboard plots series nobody exports"
    assert len(dashboard["panels"]) >= 10
