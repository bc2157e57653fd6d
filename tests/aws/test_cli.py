"""The unmodified aws CLI against `strata serve`: `aws kinesis ... --endpoint-url`."""

from __future__ import annotations

import base64
import json
import os
import subprocess

import pytest

from strata_aws import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

CLI_TIMEOUT_S = 60


@pytest.fixture
def cli(aws_cli, server, tmp_path):
    """Runs `aws kinesis <args>` against the server; returns (exit code, stdout, stderr)."""
    config = tmp_path / "aws-config"
    # raw-in-base64-out: blob arguments are given as raw text (the v1 default, opt-in on v2).
    config.write_text("[default]\ncli_binary_format = raw-in-base64-out\noutput = json\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(config),
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_PAGER": "",
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_RETRY_MODE": "standard",
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    version = subprocess.run(
        [aws_cli, "--version"], capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT_S
    )
    major_v2 = (version.stdout + version.stderr).startswith("aws-cli/2")

    def run(*args: str, check: bool = True):
        command = [aws_cli, "kinesis", *args, "--endpoint-url", server.endpoint]
        if major_v2:
            command += ["--cli-binary-format", "raw-in-base64-out"]
        result = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=env,
            timeout=CLI_TIMEOUT_S,
        )
        if check:
            assert result.returncode == 0, (command, result.stdout, result.stderr)
        return result

    def run_json(*args: str):
        output = run(*args).stdout
        return json.loads(output) if output.strip() else None

    run.json = run_json
    return run


def test_cli_stream_lifecycle_and_records(cli, unique_stream):
    assert cli("create-stream", "--stream-name", unique_stream, "--shard-count", "2").stdout == ""
    cli("wait", "stream-exists", "--stream-name", unique_stream)

    listed = cli.json("list-streams")
    assert unique_stream in listed["StreamNames"]
    assert [s["StreamStatus"] for s in listed["StreamSummaries"]] == ["ACTIVE"]

    summary = cli.json("describe-stream-summary", "--stream-name", unique_stream)[
        "StreamDescriptionSummary"
    ]
    assert summary["StreamName"] == unique_stream
    assert summary["StreamStatus"] == "ACTIVE"
    assert summary["OpenShardCount"] == 2

    put = cli.json(
        "put-record",
        "--stream-name",
        unique_stream,
        "--partition-key",
        "cli-key",
        "--data",
        "hello from the cli",
    )
    assert put["ShardId"].startswith("shardId-")
    assert put["SequenceNumber"].isdigit()

    batch = cli.json(
        "put-records",
        "--stream-name",
        unique_stream,
        "--records",
        json.dumps(
            [
                {"Data": "second", "PartitionKey": "cli-key"},
                {"Data": "third", "PartitionKey": "cli-key"},
            ]
        ),
    )
    assert batch["FailedRecordCount"] == 0
    assert {r["ShardId"] for r in batch["Records"]} == {put["ShardId"]}

    shards = cli.json("list-shards", "--stream-name", unique_stream)["Shards"]
    assert [s["ShardId"] for s in shards] == ["shardId-000000000000", "shardId-000000000001"]

    iterator = cli.json(
        "get-shard-iterator",
        "--stream-name",
        unique_stream,
        "--shard-id",
        put["ShardId"],
        "--shard-iterator-type",
        "TRIM_HORIZON",
    )["ShardIterator"]
    records = cli.json("get-records", "--shard-iterator", iterator, "--limit", "10")
    # The CLI prints blobs in base64.
    assert [base64.b64decode(r["Data"]) for r in records["Records"]] == [
        b"hello from the cli",
        b"second",
        b"third",
    ]
    assert records["Records"][0]["SequenceNumber"] == put["SequenceNumber"]
    assert records["MillisBehindLatest"] == 0
    assert records["NextShardIterator"]

    after = cli.json(
        "get-shard-iterator",
        "--stream-name",
        unique_stream,
        "--shard-id",
        put["ShardId"],
        "--shard-iterator-type",
        "AFTER_SEQUENCE_NUMBER",
        "--starting-sequence-number",
        put["SequenceNumber"],
    )["ShardIterator"]
    rest = cli.json("get-records", "--shard-iterator", after)
    assert [base64.b64decode(r["Data"]) for r in rest["Records"]] == [b"second", b"third"]

    cli("delete-stream", "--stream-name", unique_stream)
    cli("wait", "stream-not-exists", "--stream-name", unique_stream)
    assert unique_stream not in cli.json("list-streams")["StreamNames"]


def test_cli_reports_service_errors(cli):
    result = cli("describe-stream-summary", "--stream-name", "no-such-stream", check=False)
    assert result.returncode != 0
    assert "ResourceNotFoundException" in result.stderr

    cli("create-stream", "--stream-name", "twice", "--shard-count", "1")
    result = cli("create-stream", "--stream-name", "twice", "--shard-count", "1", check=False)
    assert result.returncode != 0
    assert "ResourceInUseException" in result.stderr


def test_cli_paginates_list_streams(cli, kinesis, stream_name_factory):
    names = sorted(stream_name_factory("cli") for _ in range(5))
    for name in names:
        kinesis.create_stream(StreamName=name, ShardCount=1)
    # The CLI follows NextToken itself; --page-size makes it take several pages.
    listed = cli.json("list-streams", "--page-size", "2")
    assert listed["StreamNames"] == names
