"""SQS through boto3 1.26.165, the last boto3 whose SQS client speaks the query protocol
(form-encoded requests, XML answers), run in its own virtual environment
(target/venv-query, made by scripts/test.sh) against a running `strata serve`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from test_sqs import attributes_md5

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
QUERY_PYTHON = REPO_ROOT / "target" / "venv-query" / "bin" / "python"


def test_the_query_protocol_sdk_drives_a_queue(server):
    if not QUERY_PYTHON.is_file():
        pytest.fail(
            f"{QUERY_PYTHON} is missing; run: python3 -m venv target/venv-query && "
            "target/venv-query/bin/pip install -r tests/aws/query/requirements.txt"
        )
    result = subprocess.run(
        [str(QUERY_PYTHON), str(HERE / "query" / "sqs_query.py"), server.endpoint],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "AWS_CONFIG_FILE": "/dev/null",
             "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "NO_PROXY": "127.0.0.1"},
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    url = f"{server.endpoint}/000000000000/query-sdk"
    assert seen["url"] == url
    assert seen["listed"] == [url]
    assert seen["tags"] == {"team": "data"}
    assert seen["md5_body"] is True
    assert seen["md5_attributes"] == attributes_md5(
        {
            "s": {"DataType": "String", "StringValue": "v"},
            "b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
        }
    )
    assert seen["batch_ok"] == ["one"]
    assert seen["batch_failed"] == [["bad", "InvalidParameterValue"]]
    # CR, markup and quotes come back intact through XML.
    assert seen["body"] == "line\r\nwith <xml> & \"quotes\""
    assert seen["received_attributes"] == "00ff"
    assert seen["receive_count"] == "1"
    assert seen["deleted"] == 2
    assert seen["visible"] == "0"
    assert seen["visibility"] == "10"
    assert seen["missing"] == "AWS.SimpleQueueService.NonExistentQueue"
