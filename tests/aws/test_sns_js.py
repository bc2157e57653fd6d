"""SNS through the AWS SDK for JavaScript v3 (Node, @aws-sdk/client-sns), against a running
`strata serve`: js/sns.mjs creates a topic, subscribes an SQS queue, publishes with message
attributes (String, Number, Binary) and publishes a batch; this side checks that the queue
got every message in its envelope, and that the SDK saw NotFound as its modeled exception.

The SDK is installed into tests/aws/js/node_modules by scripts/test.sh (`npm ci`).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from sns_receiver import receive_exactly, topic_arn

JS_DIR = Path(__file__).resolve().parent / "js"


@pytest.fixture(scope="session")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is missing (Debian: apt-get install nodejs npm)")
    if not (JS_DIR / "node_modules" / "@aws-sdk" / "client-sns").is_dir():
        pytest.fail(f"the JavaScript SDK is not installed; run: npm ci --prefix {JS_DIR}")
    return found


def test_the_javascript_sdk_creates_subscribes_and_publishes(server, node):
    result = subprocess.run(
        [node, str(JS_DIR / "sns.mjs"), server.endpoint],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(JS_DIR), "AWS_CONFIG_FILE": "/dev/null",
             "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "NO_PROXY": "127.0.0.1"},
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    name = seen["topicArn"].rsplit(":", 1)[-1]
    assert seen["topicArn"] == topic_arn(name)
    assert seen["subscriptionArn"].startswith(seen["topicArn"] + ":")
    assert seen["listed"] == [seen["subscriptionArn"]]
    assert seen["displayName"] == "From JS"
    assert seen["batchFailed"] == 0
    assert sorted(entry["id"] for entry in seen["batch"]) == ["a", "b"]
    assert seen["missing"] == "NotFoundException"

    sqs = server.client("sqs")
    envelopes = {
        e["MessageId"]: e
        for e in (json.loads(m["Body"]) for m in receive_exactly(sqs, seen["queueUrl"], 3))
    }
    batch = {entry["id"]: entry["messageId"] for entry in seen["batch"]}
    assert set(envelopes) == {seen["publishedId"], *batch.values()}
    single = envelopes[seen["publishedId"]]
    assert single["Message"] == "héllo from js"
    assert single["Subject"] == "js subject"
    assert single["TopicArn"] == seen["topicArn"]
    assert single["MessageAttributes"] == {
        "text": {"Type": "String", "Value": "Zoë"},
        "number": {"Type": "Number", "Value": "42"},
        "bytes": {"Type": "Binary", "Value": base64.b64encode(b"\x00\x01\xff").decode()},
    }
    assert envelopes[batch["a"]]["Message"] == "one"
    assert envelopes[batch["a"]]["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}
    assert envelopes[batch["b"]]["Message"] == "two"
    assert "MessageAttributes" not in envelopes[batch["b"]]
