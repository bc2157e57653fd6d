"""Hardening of the HTTP listener and of SigV4, each test through a real `strata serve`.

Every test tells the story of the defect it guards against in its docstring: what a client
could do before, and what the server answers now.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import select
import selectors
import socket
import threading
import time
import urllib.request

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

import strata_aws
from strata_aws import Server

KEY_ID = "AKIDSTRATAHARDEN"
SECRET = "strata/harden/secret"
SIGNED_CONFIG = f"""
[auth.access_keys]
{KEY_ID} = "{SECRET}"
"""

#: How long the server may take to refuse a request whose body never comes.
PROMPT_S = 1.0


# --- helpers ------------------------------------------------------------------------------


def sigv4_authorization(
    headers: dict[str, str],
    body: bytes,
    signed: list[str],
    region: str = "us-east-1",
    service: str = "kinesis",
    secret: str = SECRET,
) -> str:
    """An Authorization header for `POST /` signed over exactly the `signed` headers (names
    lower-case), computed as a client would; `headers` must hold X-Amz-Date."""
    lower = {name.lower(): value for name, value in headers.items()}
    amz_date = lower["x-amz-date"]
    canonical_headers = "".join(f"{name}:{' '.join(lower[name].split())}\n" for name in signed)
    canonical = "\n".join(
        ["POST", "/", "", canonical_headers, ";".join(signed), hashlib.sha256(body).hexdigest()]
    )
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + secret).encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"AWS4-HMAC-SHA256 Credential={KEY_ID}/{scope}, SignedHeaders={';'.join(signed)}, "
        f"Signature={signature}"
    )


def amz_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def head_only(server: Server, head: str, timeout_s: float) -> tuple[bytes, float]:
    """Sends a request head (no body, the socket stays open) and returns what the server
    answers within `timeout_s`, with the seconds it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=timeout_s) as sock:
        sock.sendall(head.encode())
        received = b""
        try:
            while b"\r\n\r\n" not in received or not _has_whole_body(received):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        except socket.timeout:
            pass
    return received, time.monotonic() - started


def _has_whole_body(response: bytes) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return True


def status_and_type(response: bytes) -> tuple[int, str | None]:
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    try:
        kind = json.loads(body).get("__type")
    except ValueError:
        kind = None
    return status, kind


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


# --- 1. SigV4 -------------------------------------------------------------------------------


def test_a_target_that_was_not_signed_cannot_be_swapped(start_server):
    """The defect: SignedHeaders did not have to include X-Amz-Target. A DescribeStreamSummary
    request signed over `host;x-amz-date` alone was resent with its target changed to
    DeleteStream (same signature, same body) and the stream was deleted. Now every x-amz-*
    header present must be signed: the swapped request is refused and the stream lives."""
    server = start_server(config_toml=SIGNED_CONFIG)
    client = strata_aws.client_for(server.endpoint, access_key_id=KEY_ID, secret_access_key=SECRET)
    client.create_stream(StreamName="kept", ShardCount=1)
    strata_aws.wait_active(client, "kept")

    body = json.dumps({"StreamName": "kept"}).encode()
    headers = {
        "Host": f"127.0.0.1:{server.http_port}",
        "X-Amz-Date": amz_now(),
        "Content-Type": strata_aws.JSON_CONTENT_TYPE,
    }
    headers["Authorization"] = sigv4_authorization(headers, body, ["host", "x-amz-date"])
    swapped = strata_aws.raw_request(
        server.endpoint, body, target=strata_aws.TARGET_PREFIX + "DeleteStream", headers=headers
    )
    assert swapped.status == 400, swapped
    assert swapped.error_type == "InvalidSignatureException"
    assert swapped.json()["message"] == (
        "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."
    )
    assert client.describe_stream_summary(StreamName="kept")["StreamDescriptionSummary"][
        "StreamStatus"
    ] == "ACTIVE"

    # Signed over the target, the same request is accepted: the rule costs honest clients
    # nothing (boto3 signs X-Amz-Target anyway).
    headers["X-Amz-Target"] = strata_aws.TARGET_PREFIX + "DescribeStreamSummary"
    headers["Authorization"] = sigv4_authorization(
        headers, body, ["host", "x-amz-date", "x-amz-target"]
    )
    ok = strata_aws.raw_request(server.endpoint, body, target=None, headers=headers)
    assert ok.status == 200, ok


def test_the_credential_scope_must_name_this_region_and_service(start_server):
    """The defect: the credential scope's region was never compared with the server's, so a
    signature made for another region was accepted. The scope must name `kinesis.region` and
    the target's service."""
    server = start_server(config_toml=SIGNED_CONFIG + '\n[kinesis]\nregion = "eu-west-1"\n')
    good = strata_aws.client_for(
        server.endpoint, access_key_id=KEY_ID, secret_access_key=SECRET, region="eu-west-1"
    )
    assert good.list_streams()["StreamNames"] == []
    other_region = strata_aws.client_for(
        server.endpoint, access_key_id=KEY_ID, secret_access_key=SECRET, region="us-east-1"
    )
    with pytest.raises(other_region.exceptions.ClientError) as excinfo:
        other_region.list_streams()
    error = excinfo.value.response["Error"]
    assert error["Code"] == "InvalidSignatureException"
    assert "Credential should be scoped to a valid region, not 'us-east-1'." in error["Message"]

    # A Kinesis request signed for Firehose.
    body = b"{}"
    headers = {
        "Host": f"127.0.0.1:{server.http_port}",
        "X-Amz-Date": amz_now(),
        "X-Amz-Target": strata_aws.TARGET_PREFIX + "ListStreams",
    }
    headers["Authorization"] = sigv4_authorization(
        headers, body, ["host", "x-amz-date", "x-amz-target"], region="eu-west-1",
        service="firehose",
    )
    response = strata_aws.raw_request(server.endpoint, body, target=None, headers=headers)
    assert response.status == 400, response
    assert response.error_type == "InvalidSignatureException"
    assert "Credential should be scoped to correct service: 'kinesis'." in response.json()["message"]


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        (0, "X-Amz-Expires must be greater than 0"),
        (
            604801,
            "X-Amz-Expires must be less than a week (in seconds) that is, the given "
            "X-Amz-Expires must be less than 604800 seconds",
        ),
    ],
)
def test_presigned_expiry_must_be_within_aws_bounds(start_server, expires, message):
    """The defect: a presigned request with X-Amz-Expires=0 was accepted (AWS allows 1 s to
    a week). Both ends of the range are now enforced, with the error AWS gives."""
    server = start_server(config_toml=SIGNED_CONFIG)
    credentials = botocore.credentials.Credentials(KEY_ID, SECRET)
    signer = botocore.auth.SigV4QueryAuth(credentials, "kinesis", "us-east-1", expires=expires)
    request = botocore.awsrequest.AWSRequest(
        method="POST",
        url=server.endpoint + "/",
        data=b"",
        headers={"X-Amz-Target": strata_aws.TARGET_PREFIX + "ListStreams"},
    )
    signer.add_auth(request)
    path = request.url.split(server.endpoint, 1)[1]
    response = strata_aws.raw_request(
        server.endpoint,
        b"",
        target=strata_aws.TARGET_PREFIX + "ListStreams",
        content_type=None,
        path=path,
    )
    assert response.status == 400, response
    assert response.error_type == "IncompleteSignatureException"
    assert response.json()["message"] == message


# --- 2. Memory before authentication ------------------------------------------------------


def test_an_oversized_content_length_is_refused_before_the_body(server):
    """The defect: a Content-Length of 1 GiB was not refused until that much body had
    arrived (the limit was only checked while reading it). It is now answered 413 from the
    head alone, at once."""
    head = (
        "POST / HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.http_port}\r\n"
        f"X-Amz-Target: {strata_aws.TARGET_PREFIX}PutRecord\r\n"
        f"Content-Type: {strata_aws.JSON_CONTENT_TYPE}\r\n"
        "Content-Length: 1073741824\r\n\r\n"
    )
    response, took = head_only(server, head, timeout_s=5)
    assert response, "no answer"
    assert status_and_type(response)[0] == 413, response
    assert took < PROMPT_S, took


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        (None, "MissingAuthenticationTokenException"),
        (
            "AWS4-HMAC-SHA256 Credential=AKIDNOBODY/{day}/us-east-1/kinesis/aws4_request, "
            "SignedHeaders=host;x-amz-date;x-amz-target, Signature=00",
            "UnrecognizedClientException",
        ),
    ],
)
def test_unauthenticated_requests_are_refused_before_their_body(
    start_server, authorization, expected
):
    """The defect: with access keys configured, bodies of up to 16 MiB were read whole before
    the signature was looked at, so anyone could make the server buffer them (32 unsigned
    partial bodies: +482 MB RSS). A request with no signature or an unknown access key is now
    refused from its head, before a byte of its body is read."""
    server = start_server(config_toml=SIGNED_CONFIG)
    amz_date = amz_now()
    lines = [
        "POST / HTTP/1.1",
        f"Host: 127.0.0.1:{server.http_port}",
        f"X-Amz-Target: {strata_aws.TARGET_PREFIX}PutRecords",
        f"Content-Type: {strata_aws.JSON_CONTENT_TYPE}",
        f"X-Amz-Date: {amz_date}",
        "Content-Length: 16000000",
    ]
    if authorization is not None:
        lines.append("Authorization: " + authorization.format(day=amz_date[:8]))
    response, took = head_only(server, "\r\n".join(lines) + "\r\n\r\n", timeout_s=5)
    assert response, "no answer before the body"
    assert status_and_type(response) == (400, expected), response
    assert took < PROMPT_S, took


def test_buffered_bodies_share_one_budget(start_server):
    """The defect: every connection could have a whole body buffered at once, with no bound
    over all of them. Bodies now take their bytes from `server.http_body_budget_bytes`: while
    two partial 1 MiB bodies hold a 2 MiB budget, a third request is answered 503
    ServiceUnavailable at once (which the SDKs retry), and once they are gone the server
    takes requests again. Memory stays bounded: 32 clients each trying to send 1 MiB do not
    grow the server by more than the budget."""
    # The allocator's arenas without transparent huge pages: with them, resident memory
    # grows in 2 MiB steps as threads touch fresh arena pages, which says nothing about how
    # many bodies are buffered.
    server = start_server(
        config_toml="[server]\nhttp_body_bytes_max = 1048576\nhttp_body_budget_bytes = 2097152\n",
        env={"MIMALLOC_ALLOW_THP": "0"},
    )
    head = (
        "POST / HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.http_port}\r\n"
        f"X-Amz-Target: {strata_aws.TARGET_PREFIX}ListStreams\r\n"
        f"Content-Type: {strata_aws.JSON_CONTENT_TYPE}\r\n"
        "Content-Length: 1048576\r\n\r\n"
    )
    before_kib = rss_kib(server.pid)
    sockets = []
    try:
        for _ in range(32):
            sock = socket.create_connection(("127.0.0.1", server.http_port), timeout=5)
            sock.sendall(head.encode())
            sockets.append(sock)
        # Two of them hold the budget; the others are refused at once with 503.
        holders = []
        for sock in sockets:
            sock.settimeout(1.0)
            try:
                data = sock.recv(65536)
            except socket.timeout:
                holders.append(sock)
                continue
            assert status_and_type(data) == (503, "ServiceUnavailable"), data
        assert len(holders) == 2, len(holders)
        for sock in holders:
            sock.settimeout(5)
            sock.sendall(b" " * (1048576 - 1))
        grown_kib = rss_kib(server.pid) - before_kib
        # The budget (2 MiB), hyper's read buffers and the allocator's slack, with room for
        # a loaded machine; nothing like the 32 MiB of 32 buffered bodies.
        assert grown_kib < 20 * 1024, grown_kib
        third = strata_aws.raw_call(server.endpoint, "ListStreams", {})
        assert third.status == 503, third
        assert third.error_type == "ServiceUnavailable"
    finally:
        for sock in sockets:
            sock.close()
    # The budget comes back when the holders go away (bounded wait: no notification exists
    # for a peer's close being noticed).
    deadline = time.monotonic() + 5
    while True:
        response = strata_aws.raw_call(server.endpoint, "ListStreams", {})
        if response.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert response.status == 200, response


def test_a_body_that_does_not_arrive_in_time_is_answered_408(start_server):
    """The defect: a client could send a head and then a body byte now and then, holding a
    buffer forever. The body must now arrive within `server.http_body_read_timeout_ms`."""
    server = start_server(config_toml="[server]\nhttp_body_read_timeout_ms = 500\n")
    head = (
        "POST / HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{server.http_port}\r\n"
        f"X-Amz-Target: {strata_aws.TARGET_PREFIX}ListStreams\r\n"
        f"Content-Type: {strata_aws.JSON_CONTENT_TYPE}\r\n"
        "Content-Length: 100\r\n\r\n{"
    )
    response, took = head_only(server, head, timeout_s=5)
    assert status_and_type(response) == (408, "RequestTimeoutException"), response
    assert 0.4 < took < 3, took


# --- 3. Connections and timeouts ------------------------------------------------------------


class LimitedServer(Server):
    """A server started under `prlimit --nofile=1024:1024`, as a default systemd unit or a
    container would run it."""

    def command(self) -> list[str]:
        return ["prlimit", "--nofile=1024:1024", "--"] + super().command()


def test_idle_and_slowloris_connections_cannot_starve_the_server(request, strata_bin, tmp_path):
    """The defect: there was no header timeout, no idle timeout and no connection limit, so
    1,050 idle or slowloris connections were never closed and exhausted the descriptors: new
    clients were never served. Now idle connections are closed after
    `server.http_idle_timeout_ms`, slowloris ones (a header byte a second) after
    `server.http_header_read_timeout_ms`, and clients that come meanwhile are served."""
    server = LimitedServer(
        strata_bin,
        tmp_path / "data",
        tmp_path / "strata-limited.log",
        config_toml=(
            "[server]\nhttp_header_read_timeout_ms = 1000\nhttp_idle_timeout_ms = 3000\n"
        ),
    )
    request.node._strata_servers = [server]
    server.start()
    idle: list[socket.socket] = []
    slow: list[socket.socket] = []
    stop = threading.Event()
    try:
        started = time.monotonic()
        # The slow ones first, so that they are accepted at once and only the header timeout
        # can explain their closing before the idle timeout.
        for _ in range(20):
            sock = socket.create_connection(("127.0.0.1", server.http_port), timeout=5)
            sock.sendall(b"POST / HTTP/1.1\r\n")
            slow.append(sock)
        slow_closed: dict[int, float] = {}

        def drip() -> None:
            header = b"X-Amz-Target: " + b"K" * 64
            for index in range(len(header)):
                open_now = [sock for number, sock in enumerate(slow) if number not in slow_closed]
                for sock in open_now:
                    try:
                        sock.send(header[index : index + 1])
                    except OSError:
                        pass
                # A closed connection reads as EOF (or a reset): that is the notification.
                readable, _, _ = select.select(open_now, [], [], 1.0)
                for sock in readable:
                    slow_closed[slow.index(sock)] = time.monotonic() - started
                if len(slow_closed) == len(slow) or stop.is_set():
                    return

        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        for _ in range(1200):
            sock = socket.socket()
            sock.settimeout(5)
            sock.connect(("127.0.0.1", server.http_port))
            idle.append(sock)

        # New clients are served while the idle and slow connections are open (or being
        # closed); bounded: within the timeouts and a margin.
        deadline = time.monotonic() + 15
        while True:
            try:
                with urllib.request.urlopen(server.endpoint + "/health", timeout=2) as health:
                    if health.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "GET /health never answered"
        client = strata_aws.client_for(server.endpoint, max_attempts=5, connect_timeout=10)
        assert client.list_streams()["StreamNames"] == []

        # Every idle connection is closed by the server.
        selector = selectors.DefaultSelector()
        for sock in idle:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        open_count = len(idle)
        deadline = time.monotonic() + 15
        while open_count and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.5):
                try:
                    data = key.fileobj.recv(1024)
                except (ConnectionResetError, BlockingIOError):
                    data = b""
                if not data:
                    selector.unregister(key.fileobj)
                    open_count -= 1
        assert open_count == 0, f"{open_count} idle connections still open"
        dripper.join(timeout=10)
        assert len(slow_closed) == len(slow), slow_closed
        # Closed by the header timeout (1 s), before the idle timeout (3 s) would have.
        assert max(slow_closed.values()) < 2.5, slow_closed
        assert time.monotonic() - started < 30
        # Under 1024 descriptors the listener keeps a quarter for the log and says so.
        assert "Connection limit lowered" in server.log_text()
    finally:
        stop.set()
        for sock in idle + slow:
            sock.close()
        server.stop()


def test_an_idle_http2_connection_is_closed(start_server):
    """The defect, over HTTP/2: a client that sent the connection preface and then nothing
    kept its connection (and descriptor) forever. Connections with no request in flight are
    now closed after `server.http_idle_timeout_ms`, whatever the protocol."""
    server = start_server(config_toml="[server]\nhttp_idle_timeout_ms = 1000\n")
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.http_port), timeout=10) as sock:
        # The preface and an empty SETTINGS frame.
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                break
    took = time.monotonic() - started
    assert 0.9 < took < 5, took


# --- 4. Smaller ---------------------------------------------------------------------------


def test_list_shards_refuses_next_token_with_a_start(server, kinesis, unique_stream):
    """The defect: ListShards took NextToken together with ExclusiveStartShardId (and
    StreamCreationTimestamp) and quietly used one of them; AWS answers
    InvalidArgumentException, since NextToken already says where to go on."""
    strata_aws.create_stream(kinesis, unique_stream, shard_count=3)
    page = kinesis.list_shards(StreamName=unique_stream, MaxResults=1)
    token = page["NextToken"]
    for extra, message in [
        (
            {"ExclusiveStartShardId": "shardId-000000000000"},
            "NextToken and ExclusiveStartShardId cannot be provided together.",
        ),
        (
            {"StreamCreationTimestamp": 1_700_000_000},
            "NextToken and StreamCreationTimestamp cannot be provided together.",
        ),
    ]:
        response = strata_aws.raw_call(
            server.endpoint, "ListShards", {"NextToken": token, **extra}
        )
        assert response.status == 400, response
        assert response.error_type == "InvalidArgumentException"
        assert response.json()["message"] == message
    assert kinesis.list_shards(NextToken=token)["Shards"]


def test_cbor_bodies_with_trailing_bytes_are_refused(server):
    """The defect: a CBOR body with bytes after its map was decoded from the map and the
    rest ignored, where the same JSON body is a SerializationException."""
    import cbor2

    body = cbor2.dumps({}) + b"\x00"
    response = strata_aws.cbor_call(server.endpoint, "ListStreams", body)
    assert response.status == 400, response
    assert response.error_type == "SerializationException"
    json_response = strata_aws.raw_call(server.endpoint, "ListStreams", b"{}{}")
    assert json_response.error_type == "SerializationException"


def test_internal_errors_name_the_request_not_the_data_directory(server, kinesis):
    """The defect: an I/O failure was answered with its Rust debug text and the absolute
    data-directory path (`Io(Error { kind: ... })`), and the request id was only made after
    the answer was encoded. Now the answer is a plain sentence naming the request id, the
    same id is in `x-amzn-requestid`, and the detail is in the log under that id."""
    streams = server.data_dir / "streams"
    streams.mkdir(parents=True, exist_ok=True)
    streams.rename(server.data_dir / "streams.moved")
    streams.write_text("not a directory")
    response = strata_aws.raw_call(
        server.endpoint, "CreateStream", {"StreamName": "doomed", "ShardCount": 1}
    )
    assert response.status == 500, response
    assert response.error_type == "InternalFailureException"
    request_id = response.headers["x-amzn-requestid"]
    message = response.json()["message"]
    assert message == f"An internal error occurred; request id {request_id}.", message
    assert str(server.data_dir) not in response.body.decode()
    deadline = time.monotonic() + 5
    while request_id not in server.log_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    log_line = next(line for line in server.log_text().splitlines() if request_id in line)
    assert "internal error" in log_line and "ERROR" in log_line, log_line
