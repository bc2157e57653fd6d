"""TLS on both listeners (`server.tls_cert_file`, `server.tls_key_file`): boto3 and the aws CLI
over HTTPS (HTTP/1.1 and h2 by ALPN), and the native CLI over TLS, with access keys still
required. A plain-HTTP request to the TLS port gets no answer it could mistake for one.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, SSLError

from strata_aws import ACCESS_KEY_ID, SECRET_ACCESS_KEY


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "strata test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / "cert.pem"
    key_file = directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def tls_server(start_server, tmp_path):
    cert_file, key_file = self_signed(tmp_path)
    config = f"""
[server]
tls_cert_file = "{cert_file}"
tls_key_file = "{key_file}"

[auth.access_keys]
{ACCESS_KEY_ID} = "{SECRET_ACCESS_KEY}"
"""
    return start_server(config_toml=config, tls_ca=cert_file)


def test_boto3_speaks_https_and_signatures_are_still_required(tls_server):
    kinesis = tls_server.client()
    kinesis.create_stream(StreamName="secure", ShardCount=1)
    kinesis.put_record(StreamName="secure", Data=b"over tls", PartitionKey="k")
    assert kinesis.list_streams()["StreamNames"] == ["secure"]
    with pytest.raises(ClientError) as excinfo:
        tls_server.client(secret_access_key="wrong").list_streams()
    assert excinfo.value.response["Error"]["Code"] == "InvalidSignatureException"
    # A client that does not trust the certificate refuses the server.
    with pytest.raises(SSLError):
        tls_server.client(verify=True).list_streams()


def test_alpn_offers_h2_and_http1(tls_server):
    context = ssl.create_default_context(cafile=str(tls_server.tls_ca))
    for offered, chosen in [(["h2", "http/1.1"], "h2"), (["http/1.1"], "http/1.1")]:
        context.set_alpn_protocols(offered)
        with socket.create_connection(("127.0.0.1", tls_server.http_port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                assert tls.selected_alpn_protocol() == chosen


def test_plain_http_to_the_tls_port_is_not_served(tls_server):
    with socket.create_connection(("127.0.0.1", tls_server.http_port), timeout=5) as raw:
        raw.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        raw.settimeout(5)
        answer = b""
        try:
            while chunk := raw.recv(4096):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    assert b"200" not in answer


def test_the_aws_cli_and_the_native_cli_speak_tls(tls_server, aws_cli, strata_bin):
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CA_BUNDLE=str(tls_server.tls_ca),
    )
    created = subprocess.run(
        [aws_cli, "kinesis", "create-stream", "--stream-name", "cli-tls", "--shard-count", "1",
         "--endpoint-url", tls_server.endpoint],
        env=env, capture_output=True, timeout=60, check=False,
    )
    assert created.returncode == 0, created.stderr
    listed = subprocess.run(
        [aws_cli, "kinesis", "list-streams", "--endpoint-url", tls_server.endpoint],
        env=env, capture_output=True, timeout=60, check=False,
    )
    assert json.loads(listed.stdout)["StreamNames"] == ["cli-tls"]

    env.update(
        STRATA_ACCESS_KEY_ID=ACCESS_KEY_ID,
        STRATA_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
        STRATA_TLS_CA=str(tls_server.tls_ca),
    )
    native = subprocess.run(
        [str(strata_bin), "stream", "list", "--addr", tls_server.native_address],
        env=env, capture_output=True, timeout=60, check=False,
    )
    assert native.returncode == 0, native.stderr
    assert native.stdout.decode().split() == ["cli-tls"]
