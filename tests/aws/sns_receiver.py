"""Helpers of the SNS tests: an HTTP endpoint that SNS delivers to, signature checks with the
certificate the server serves at `SigningCertURL`, and SQS helpers (queues subscribed to a
topic, bounded receives, envelopes).

`Receiver` is a threaded `http.server` on 127.0.0.1:0 that records every request, verifies
the signature of every envelope it is sent (SignatureVersion 1: SHA1withRSA, 2:
SHA256withRSA), confirms subscriptions by GETting `SubscribeURL` (unless told not to), and
answers 200, or the statuses it was told to give next (`answer_next([500, 500])`), or a
fixed status (`always = 400`).
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

ACCOUNT = "000000000000"
REGION = "us-east-1"

NOTIFICATION_KEYS = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
CONFIRMATION_KEYS = [
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
]

_certificates: dict[str, x509.Certificate] = {}
_certificates_lock = threading.Lock()


def topic_arn(name: str) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def canonical_string(envelope: dict) -> bytes:
    """The string SNS signs: `Key\\nValue\\n` over the type's fields, in order, absent ones
    skipped."""
    if envelope["Type"] == "Notification":
        keys = NOTIFICATION_KEYS
    else:
        keys = CONFIRMATION_KEYS
    return "".join(
        f"{key}\n{envelope[key]}\n" for key in keys if envelope.get(key) is not None
    ).encode()


def certificate(url: str) -> x509.Certificate:
    """The PEM certificate at `url` (fetched once per URL)."""
    with _certificates_lock:
        if url in _certificates:
            return _certificates[url]
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200, url
        pem = response.read()
    loaded = x509.load_pem_x509_certificate(pem)
    with _certificates_lock:
        _certificates[url] = loaded
    return loaded


def verify_envelope(envelope: dict, endpoint: str | None = None) -> None:
    """Raises unless the envelope's `Signature` verifies with the certificate at its
    `SigningCertURL` (served by the Strata at `endpoint`, when given)."""
    url = envelope["SigningCertURL"]
    if endpoint is not None:
        prefix = endpoint.rstrip("/") + "/_strata/sns/SimpleNotificationService-"
        assert url.startswith(prefix) and url.endswith(".pem"), url
    version = envelope["SignatureVersion"]
    assert version in ("1", "2"), version
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = base64.b64decode(envelope["Signature"], validate=True)
    certificate(url).public_key().verify(
        signature, canonical_string(envelope), padding.PKCS1v15(), algorithm
    )


@dataclass
class Request:
    """One request the receiver got, and what it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    envelope: dict | None = None
    signature_error: str | None = None
    arrived: float = field(default_factory=time.monotonic)

    @property
    def message_type(self) -> str | None:
        return self.headers.get("x-amz-sns-message-type")

    @property
    def text(self) -> str:
        return self.body.decode()


class Receiver:
    """An HTTP endpoint for SNS subscriptions on 127.0.0.1 (see the module docstring)."""

    def __init__(self, confirm: bool = True, verify: bool = True) -> None:
        self.confirm = confirm
        self.verify = verify
        self.requests: list[Request] = []
        self.confirmations: list[int] = []  # statuses of the GETs of SubscribeURL
        self.always: int | None = None
        self._next: list[int] = []
        self._condition = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep pytest output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver._record(self, body)

            def do_GET(self) -> None:  # noqa: N802
                receiver._record(self, b"")

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/sns"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "Receiver":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def answer_next(self, statuses: list[int]) -> None:
        """The next requests are answered with these statuses, in order."""
        with self._condition:
            self._next = list(statuses)

    def _record(self, handler, body: bytes) -> None:
        headers = {name.lower(): value for name, value in handler.headers.items()}
        with self._condition:
            if self._next:
                status = self._next.pop(0)
            elif self.always is not None:
                status = self.always
            else:
                status = 200
        request = Request(handler.command, handler.path, headers, body, status)
        if handler.command == "POST" and headers.get("x-amz-sns-rawdelivery") != "true":
            try:
                request.envelope = json.loads(body)
            except ValueError as error:
                request.signature_error = f"not JSON: {error}"
            if self.verify and request.envelope is not None:
                try:
                    verify_envelope(request.envelope)
                except Exception as error:  # noqa: BLE001 - recorded, asserted by tests
                    request.signature_error = f"{type(error).__name__}: {error}"
        handler.send_response(status)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        handler.wfile.flush()
        with self._condition:
            self.requests.append(request)
            self._condition.notify_all()
        if (
            self.confirm
            and status == 200
            and request.message_type == "SubscriptionConfirmation"
            and request.envelope is not None
        ):
            threading.Thread(
                target=self._confirm, args=(request.envelope["SubscribeURL"],), daemon=True
            ).start()

    def _confirm(self, url: str) -> None:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = -1
        with self._condition:
            self.confirmations.append(status)
            self._condition.notify_all()

    def of_type(self, message_type: str) -> list[Request]:
        with self._condition:
            return [r for r in self.requests if r.message_type == message_type]

    def wait_for(self, message_type: str, count: int = 1, timeout_s: float = 10.0) -> list[Request]:
        """Waits (bounded) until `count` requests of this type arrived; returns them all.
        Raises AssertionError on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._condition:
            while True:
                found = [r for r in self.requests if r.message_type == message_type]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(found)} of {count} {message_type} requests within {timeout_s}s"
                    )
                self._condition.wait(left)

    def quiet(self, message_type: str, count: int, timeout_s: float = 1.0) -> None:
        """Asserts that no more than `count` requests of this type arrive within
        `timeout_s`."""
        try:
            found = self.wait_for(message_type, count + 1, timeout_s)
        except AssertionError:
            return
        raise AssertionError(f"unexpected {message_type} request: {found[count]!r}")

    def wait_confirmed(self, count: int = 1, timeout_s: float = 10.0) -> list[int]:
        deadline = time.monotonic() + timeout_s
        with self._condition:
            while len(self.confirmations) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.confirmations)} confirmations")
                self._condition.wait(left)
            return list(self.confirmations)


# ---- SQS helpers -------------------------------------------------------------------------


def make_queue(sqs, name: str, **attributes: str) -> tuple[str, str]:
    """Creates a queue; returns (url, arn)."""
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def subscribe_queue(sns, topic: str, sqs, name: str, queue_attributes=None, **attributes):
    """Creates a queue and subscribes it to `topic` (subscription attributes as keyword
    arguments, e.g. RawMessageDelivery="true"); returns (queue url, subscription arn)."""
    url, arn = make_queue(sqs, name, **(queue_attributes or {}))
    subscription = sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn,
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return url, subscription


def receive(sqs, url: str, count: int, timeout_s: float = 10.0, **kwargs) -> list[dict]:
    """Receives (and deletes) messages until `count` came or `timeout_s` passed; returns
    those received (asserting nothing: callers compare)."""
    messages: list[dict] = []
    deadline = time.monotonic() + timeout_s
    kwargs.setdefault("MessageAttributeNames", ["All"])
    kwargs.setdefault("AttributeNames", ["All"])
    while len(messages) < count and time.monotonic() < deadline:
        got = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, **kwargs
        ).get("Messages", [])
        if got:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
                ],
            )
        messages += got
    return messages


def receive_exactly(sqs, url: str, count: int, timeout_s: float = 10.0, **kwargs) -> list[dict]:
    """`receive`, asserting exactly `count` messages came."""
    messages = receive(sqs, url, count, timeout_s, **kwargs)
    assert len(messages) == count, [m["Body"][:200] for m in messages]
    return messages


def receive_until(sqs, url: str, is_last, timeout_s: float = 10.0) -> list[dict]:
    """Receives (and deletes) until a message for which `is_last(message)` is true came;
    returns every message received before it (the marker itself is left out)."""
    messages: list[dict] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if got:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
                ],
            )
        done = False
        for message in got:
            if is_last(message):
                done = True
            else:
                messages.append(message)
        if done:
            return messages
    raise AssertionError(
        f"the marker did not arrive within {timeout_s}s; got {[m['Body'][:100] for m in messages]}"
    )


def envelope(message: dict) -> dict:
    """The SNS envelope in an SQS message's body."""
    return json.loads(message["Body"])
