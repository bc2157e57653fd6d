"""Fixtures of the Python compatibility suite: unmodified boto3 and the aws CLI against a
real `strata serve` child process.

Fixture API (kept stable; other test files build on it):

- `strata_bin` (session): the `strata` binary: `$STRATA_BIN` if set, else
  `target/debug/strata`, built once per session with `cargo build --bin strata` unless
  `STRATA_NO_BUILD=1` (scripts/test.sh builds it first and sets `STRATA_BIN`).
- `start_server(config_toml=None, env=None, args=None, tls_ca=None)` (function): starts a server on
  free 127.0.0.1 ports with a fresh data directory under the test's tmp_path, an optional
  TOML config file (e.g. `[kinesis]\\nstate_change_ms = 300`) and extra environment, waits
  (bounded) for `GET /health` == 200 and returns a `strata_aws.Server`: `.endpoint`,
  `.data_dir`, `.native_address`, `.pid`, `.kill9()`, `.stop()` (SIGTERM, waits),
  `.restart()` (same data dir and ports), `.client(service="kinesis", **kw)`,
  `.log_text()`. Every server a test starts is stopped at teardown by its PID, and its log
  is attached to the report of a failed test.
- `server` (function): `start_server()` with the defaults.
- `kinesis` (function): a boto3 Kinesis client for `server` (us-east-1, dummy credentials,
  no retries so errors surface).
- `unique_stream` (function): a fresh stream name; `stream_name_factory` gives more.
- `wait_active(client, name, timeout_s=10)` (function): the SDK `stream_exists` waiter;
  returns the DescribeStream description.
- `aws_cli` (session): path of the `aws` executable (in the virtual environment beside the
  Python running pytest, else on PATH); skips if there is none.

Plain helpers (`raw_call`, `cbor_call`, `raw_request`, `client_for`, `create_stream`,
`free_port`) live in strata_aws.py: `from strata_aws import raw_call`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import strata_aws
from strata_aws import Server

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 1800

# Loopback only: make sure no proxy setting of the environment routes test traffic.
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"
# Keep the user's AWS configuration out of the SDK clients.
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_ENDPOINT_URL_KINESIS", None)


@pytest.fixture(scope="session")
def strata_bin() -> Path:
    """The `strata` binary under test."""
    explicit = os.environ.get("STRATA_BIN")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            pytest.fail(f"STRATA_BIN={explicit} is not a file")
        return path
    path = REPO_ROOT / "target" / "debug" / "strata"
    if os.environ.get("STRATA_NO_BUILD") != "1":
        result = subprocess.run(
            ["cargo", "build", "--quiet", "--bin", "strata"],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(
                "cargo build --bin strata failed:\n" + result.stdout.decode(errors="replace")
            )
    if not path.is_file():
        pytest.fail(f"{path} does not exist; run `cargo build --bin strata`")
    return path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Attaches the log of every server a failed test started to its report."""
    report = yield
    if report.failed:
        for server in getattr(item, "_strata_servers", []):
            report.sections.append(
                (f"strata serve log ({server.log_path.name})", server.log_tail(300))
            )
    return report


@pytest.fixture
def start_server(request, strata_bin, tmp_path):
    """Factory: `start_server(config_toml=None, env=None, args=None) -> Server`."""
    servers: list[Server] = []
    request.node._strata_servers = servers

    def start(
        config_toml: str | None = None,
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        tls_ca: Path | None = None,
    ) -> Server:
        index = len(servers)
        data_dir = tmp_path / f"strata-data-{index}"
        server = Server(
            strata_bin,
            data_dir,
            tmp_path / f"strata-{index}.log",
            config_toml=config_toml,
            env=env,
            args=args,
            tls_ca=tls_ca,
        )
        servers.append(server)
        # A port picked as free may be taken by another process before the server binds it:
        # then pick others and try again.
        for attempt in range(3):
            try:
                return server.start()
            except RuntimeError:
                if attempt == 2 or "in use" not in server.log_tail(20).lower():
                    raise
                server.pick_ports()
        raise AssertionError("unreachable")

    yield start

    errors = []
    for server in servers:
        try:
            server.stop()
        except Exception as error:  # noqa: BLE001 - stop the others, then report
            server.kill9()
            errors.append(f"{server.log_path.name}: {error}")
    if errors:
        pytest.fail("servers did not stop cleanly: " + "; ".join(errors))


@pytest.fixture
def server(start_server) -> Server:
    """A server with the default configuration."""
    return start_server()


@pytest.fixture
def kinesis(server):
    """A boto3 Kinesis client for `server`."""
    return server.client("kinesis")


@pytest.fixture
def stream_name_factory():
    """Returns fresh, valid stream names: `stream_name_factory("prefix")`."""

    def make(prefix: str = "stream") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    return make


@pytest.fixture
def unique_stream(stream_name_factory) -> str:
    """A fresh stream name."""
    return stream_name_factory("test")


@pytest.fixture
def wait_active():
    """`wait_active(client, name, timeout_s=10)`: the SDK's stream_exists waiter."""
    return strata_aws.wait_active


@pytest.fixture(scope="session")
def aws_cli() -> str:
    """The `aws` executable: beside the running Python (its virtual environment), else on
    PATH."""
    beside = Path(sys.executable).parent / "aws"
    if beside.is_file():
        return str(beside)
    found = shutil.which("aws")
    if found is None:
        pytest.skip("the aws CLI is not installed (pip install -r tests/aws/requirements.txt)")
    return found
