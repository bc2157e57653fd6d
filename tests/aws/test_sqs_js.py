"""SQS through the AWS SDK for JavaScript v3 (Node), against a running `strata serve`: its
MD5 checks on send and receive, its modeled exceptions, and its routing of every queue call
to the host of the queue URL (a client with no endpoint configured still reaches Strata).

The SDK is installed into tests/aws/js/node_modules by scripts/test.sh (`npm ci`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

JS_DIR = Path(__file__).resolve().parent / "js"


@pytest.fixture(scope="session")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is missing (Debian: apt-get install nodejs npm)")
    if not (JS_DIR / "node_modules" / "@aws-sdk" / "client-sqs").is_dir():
        pytest.fail(f"the JavaScript SDK is not installed; run: npm ci --prefix {JS_DIR}")
    return found


def test_the_javascript_sdk_sends_receives_and_deletes(server, node):
    result = subprocess.run(
        [node, str(JS_DIR / "sqs.mjs"), server.endpoint],
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
    assert seen["queueUrl"].startswith(server.endpoint + "/000000000000/js-")
    assert seen["batchSuccessful"] == 2
    bodies = sorted(message["body"] for message in seen["received"])
    assert bodies == ["héllo\r\n", "one", "two"]
    first = next(m for m in seen["received"] if m["id"] == seen["sentId"])
    assert first["attributes"] == ["bytes", "number", "text"]
    assert seen["deleted"] == 3
    assert seen["left"] == "0"
    assert seen["missing"] == "QueueDoesNotExist"
    # The client without an endpoint was routed by the queue URL (the SDK says so).
    assert "using QueueUrl host as endpoint" in result.stderr
