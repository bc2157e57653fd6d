"""Helpers of the Python compatibility suite: a `strata serve` child process, SDK clients for
it, and raw HTTP calls that bypass the SDK's client-side validation.

The fixtures in conftest.py are built on these; tests import the plain functions
(`from strata_aws import raw_call`) when they need them outside a fixture.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import botocore.config

#: The region and dummy credentials every client uses (any are accepted unless the server
#: is configured with `[auth.access_keys]`).
REGION = "us-east-1"
ACCESS_KEY_ID = "AKIDSTRATATEST"
SECRET_ACCESS_KEY = "strata-test-secret"

#: How long a server may take to answer `GET /health` after it is started.
STARTUP_TIMEOUT_S = 10.0
#: How long a server may take to exit after SIGTERM before it is killed.
STOP_TIMEOUT_S = 10.0
#: Per-request socket timeout of SDK clients and raw calls.
REQUEST_TIMEOUT_S = 30.0

TARGET_PREFIX = "Kinesis_20131202."
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"
CBOR_CONTENT_TYPE = "application/x-amz-cbor-1.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One `strata serve` child process on loopback ports, with its own data directory.

    `restart()` keeps the data directory and the ports; the output of every run is appended
    to `log_path`.
    """

    def __init__(
        self,
        binary: Path,
        data_dir: Path,
        log_path: Path,
        config_toml: str | None = None,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        tls_ca: Path | None = None,
    ) -> None:
        self.binary = Path(binary)
        # With TLS configured: the CA file clients trust (https endpoint).
        self.tls_ca = tls_ca
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_path)
        self.pick_ports()
        self.config_path: Path | None = None
        if config_toml is not None:
            self.config_path = self.log_path.with_suffix(".toml")
            self.config_path.write_text(config_toml)
        self.extra_env = dict(env or {})
        self.extra_args = list(args or [])
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def pick_ports(self) -> None:
        """Chooses new free ports (before the first start only: restarts keep them)."""
        self.http_port = free_port()
        self.native_port = free_port()
        while self.native_port == self.http_port:
            self.native_port = free_port()

    @property
    def endpoint(self) -> str:
        """The HTTP endpoint URL for SDK clients."""
        scheme = "https" if self.tls_ca is not None else "http"
        return f"{scheme}://127.0.0.1:{self.http_port}"

    @property
    def native_address(self) -> str:
        """The native protocol's `host:port`."""
        return f"127.0.0.1:{self.native_port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def command(self) -> list[str]:
        command = [str(self.binary), "serve"]
        if self.config_path is not None:
            command += ["--config", str(self.config_path)]
        command += [
            "--data-dir",
            str(self.data_dir),
            "--http",
            f"127.0.0.1:{self.http_port}",
            "--native",
            f"127.0.0.1:{self.native_port}",
        ]
        return command + self.extra_args

    def start(self) -> "Server":
        """Starts the process and waits (bounded) until `GET /health` answers 200."""
        if self.running():
            raise RuntimeError("server already running")
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")}
        env.setdefault("STRATA_LOG", "info")
        env.update(self.extra_env)
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start #{self.starts}: {' '.join(self.command())}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"strata serve exited with {self.process.returncode} during startup:\n"
                    + self.log_tail()
                )
            if self.health() == 200:
                return self
            if time.monotonic() > deadline:
                self.kill9()
                raise RuntimeError(
                    f"strata serve did not answer /health within {STARTUP_TIMEOUT_S}s:\n"
                    + self.log_tail()
                )
            time.sleep(0.02)

    def health(self) -> int | None:
        """The status of `GET /health`, or None if nothing answers."""
        try:
            context = None
            if self.tls_ca is not None:
                context = ssl.create_default_context(cafile=str(self.tls_ca))
            with urllib.request.urlopen(
                self.endpoint + "/health", timeout=1, context=context
            ) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            return None

    def stop(self) -> int | None:
        """SIGTERM, then waits (bounded; SIGKILL after STOP_TIMEOUT_S). Returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
                raise RuntimeError(
                    f"strata serve did not exit within {STOP_TIMEOUT_S}s of SIGTERM"
                )
        return self.process.returncode

    def kill9(self) -> None:
        """SIGKILL, as a crash would, and reaps the process."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT_S)

    def restart(self) -> "Server":
        """Stops the process if it runs (SIGTERM) and starts it again on the same data
        directory and ports."""
        self.stop()
        return self.start()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 200) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def client(self, service: str = "kinesis", **kwargs):
        """A boto3 client for this server (see `client_for`)."""
        if self.tls_ca is not None:
            kwargs.setdefault("verify", str(self.tls_ca))
        return client_for(self.endpoint, service, **kwargs)


def client_for(
    endpoint: str,
    service: str = "kinesis",
    access_key_id: str = ACCESS_KEY_ID,
    secret_access_key: str = SECRET_ACCESS_KEY,
    region: str = REGION,
    max_attempts: int = 1,
    verify: str | bool | None = None,
    **config_kwargs,
):
    """A boto3 client for `endpoint` with dummy credentials and no retries, so that every
    error surfaces. Extra keyword arguments go to `botocore.config.Config`."""
    settings = {
        "retries": {"max_attempts": max_attempts, "mode": "standard"},
        "connect_timeout": 5,
        "read_timeout": REQUEST_TIMEOUT_S,
    }
    settings.update(config_kwargs)
    config = botocore.config.Config(**settings)
    session = boto3.session.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        region_name=region,
    )
    return session.client(service, endpoint_url=endpoint, config=config, verify=verify)


def wait_active(client, stream_name: str, timeout_s: float = 10.0) -> dict:
    """Waits with the SDK's own `stream_exists` waiter (polling every 0.1 s, bounded) until
    the stream is ACTIVE; returns its DescribeStream description."""
    attempts = max(1, int(timeout_s / 0.1))
    client.get_waiter("stream_exists").wait(
        StreamName=stream_name, WaiterConfig={"Delay": 0.1, "MaxAttempts": attempts}
    )
    return client.describe_stream(StreamName=stream_name)["StreamDescription"]


def first_records(client, stream_name: str) -> list[dict]:
    """The records of one GetRecords from TRIM_HORIZON of each of the stream's shards."""
    records = []
    for shard in client.list_shards(StreamName=stream_name)["Shards"]:
        iterator = client.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records += client.get_records(ShardIterator=iterator)["Records"]
    return records


def create_stream(client, stream_name: str, shard_count: int | None = 1, **kwargs) -> dict:
    """Creates a provisioned stream (or on-demand with shard_count=None and
    StreamModeDetails) and waits until it is ACTIVE; returns its description."""
    if shard_count is not None:
        kwargs["ShardCount"] = shard_count
    client.create_stream(StreamName=stream_name, **kwargs)
    return wait_active(client, stream_name)


class RawResponse:
    """A response to `raw_call`: status, headers (lower-case names) and body bytes."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body) if self.body else None

    def cbor(self):
        import cbor2

        return cbor2.loads(self.body) if self.body else None

    @property
    def error_type(self) -> str | None:
        """The `__type` of an error body (JSON or CBOR), or the `x-amzn-errortype` header."""
        content_type = self.headers.get("content-type", "")
        payload = None
        try:
            if "cbor" in content_type:
                payload = self.cbor()
            elif self.body:
                payload = self.json()
        except Exception:  # noqa: BLE001 - an undecodable body has no __type
            payload = None
        if isinstance(payload, dict) and "__type" in payload:
            return str(payload["__type"]).rsplit("#", 1)[-1]
        header = self.headers.get("x-amzn-errortype")
        return header.split(":", 1)[0] if header else None

    def __repr__(self) -> str:
        return f"RawResponse({self.status}, {self.headers!r}, {self.body[:500]!r})"


def raw_request(
    endpoint: str,
    body: bytes,
    target: str | None,
    content_type: str | None = JSON_CONTENT_TYPE,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    path: str = "/",
) -> RawResponse:
    """One HTTP/1.1 request with exactly these bytes and headers (no signing, no SDK-side
    validation); `target` is the whole X-Amz-Target value, or None to leave it out."""
    host_port = endpoint.split("://", 1)[-1].rstrip("/")
    host, port = host_port.rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=REQUEST_TIMEOUT_S)
    try:
        all_headers = {"Content-Length": str(len(body))}
        if content_type is not None:
            all_headers["Content-Type"] = content_type
        if target is not None:
            all_headers["X-Amz-Target"] = target
        all_headers.update(headers or {})
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        payload = response.read()
        return RawResponse(
            response.status, {k.lower(): v for k, v in response.getheaders()}, payload
        )
    finally:
        connection.close()


def raw_call(endpoint: str, operation: str, payload, headers: dict[str, str] | None = None):
    """A Kinesis operation with a JSON body (`payload` is encoded with json.dumps unless it
    is already bytes), sent without the SDK."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return raw_request(endpoint, body, TARGET_PREFIX + operation, headers=headers)


def cbor_call(endpoint: str, operation: str, payload, headers: dict[str, str] | None = None):
    """A Kinesis operation with a CBOR body (`payload` is encoded with cbor2 unless it is
    already bytes), as the Java SDK sends it."""
    import cbor2

    body = payload if isinstance(payload, bytes) else cbor2.dumps(payload)
    return raw_request(
        endpoint,
        body,
        TARGET_PREFIX + operation,
        content_type=CBOR_CONTENT_TYPE,
        headers=headers,
    )
