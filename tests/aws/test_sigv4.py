"""SigV4: with access keys configured, every request must be signed by one of them (header
or presigned form); without keys, any credentials are accepted."""

import datetime

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

import strata_aws

KEY_ID = "AKIDSTRATATEST"
SECRET = "strata/test/secret+key"
CONFIG = f"""
[auth.access_keys]
{KEY_ID} = "{SECRET}"
"""


@pytest.fixture
def signed_server(start_server):
    return start_server(config_toml=CONFIG)


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_the_right_key_is_accepted(signed_server):
    client = strata_aws.client_for(
        signed_server.endpoint, access_key_id=KEY_ID, secret_access_key=SECRET
    )
    client.create_stream(StreamName="signed", ShardCount=1)
    strata_aws.wait_active(client, "signed")
    client.put_record(StreamName="signed", Data=b"x", PartitionKey="k")
    assert client.list_streams()["StreamNames"] == ["signed"]


@pytest.mark.parametrize(
    ("key_id", "secret", "expected"),
    [
        (KEY_ID, "wrong-secret", "InvalidSignatureException"),
        ("AKIDUNKNOWN", SECRET, "UnrecognizedClientException"),
    ],
)
def test_wrong_credentials_are_rejected(signed_server, key_id, secret, expected):
    client = strata_aws.client_for(
        signed_server.endpoint, access_key_id=key_id, secret_access_key=secret
    )
    with pytest.raises(client.exceptions.ClientError) as excinfo:
        client.list_streams()
    assert error_code(excinfo) == expected
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unsigned_requests_are_rejected(signed_server):
    response = strata_aws.raw_call(signed_server.endpoint, "ListStreams", {})
    assert response.status == 400
    assert response.error_type == "MissingAuthenticationTokenException"


def _signed_request(endpoint: str, body: bytes, when: datetime.datetime, secret: str = SECRET):
    """A ListStreams request signed by botocore's own signer at time `when`."""
    request = botocore.awsrequest.AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body,
        headers={
            "Content-Type": strata_aws.JSON_CONTENT_TYPE,
            "X-Amz-Target": strata_aws.TARGET_PREFIX + "ListStreams",
        },
    )
    credentials = botocore.credentials.Credentials(KEY_ID, secret)
    signer = botocore.auth.SigV4Auth(credentials, "kinesis", "us-east-1")

    class Frozen(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return when.replace(tzinfo=None)

        @classmethod
        def now(cls, tz=None):
            return when if tz else when.replace(tzinfo=None)

    original = botocore.auth.datetime.datetime
    botocore.auth.datetime.datetime = Frozen
    try:
        signer.add_auth(request)
    finally:
        botocore.auth.datetime.datetime = original
    return dict(request.headers.items())


def test_expired_signatures_are_rejected(signed_server):
    body = b"{}"
    old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
    headers = _signed_request(signed_server.endpoint, body, old)
    response = strata_aws.raw_request(
        signed_server.endpoint, body, target=None, content_type=None, headers=headers
    )
    assert response.status == 400, response
    assert response.error_type == "InvalidSignatureException"
    assert "Signature expired" in response.json()["message"]
    # The same request signed now passes.
    fresh = _signed_request(
        signed_server.endpoint, body, datetime.datetime.now(datetime.timezone.utc)
    )
    response = strata_aws.raw_request(
        signed_server.endpoint, body, target=None, content_type=None, headers=fresh
    )
    assert response.status == 200, response


def test_a_tampered_body_breaks_the_signature(signed_server):
    headers = _signed_request(
        signed_server.endpoint, b"{}", datetime.datetime.now(datetime.timezone.utc)
    )
    response = strata_aws.raw_request(
        signed_server.endpoint, b'{"Limit": 1}', target=None, content_type=None, headers=headers
    )
    assert response.status == 400
    assert response.error_type == "InvalidSignatureException"


def test_presigned_urls_are_verified(signed_server):
    credentials = botocore.credentials.Credentials(KEY_ID, SECRET)
    signer = botocore.auth.SigV4QueryAuth(credentials, "kinesis", "us-east-1", expires=60)
    # A presigned request carries no body (an empty body reads as `{}`).
    request = botocore.awsrequest.AWSRequest(
        method="POST",
        url=signed_server.endpoint + "/",
        data=b"",
        headers={"X-Amz-Target": strata_aws.TARGET_PREFIX + "ListStreams"},
    )
    signer.add_auth(request)
    path = request.url.split(signed_server.endpoint, 1)[1]
    ok = strata_aws.raw_request(
        signed_server.endpoint,
        b"",
        target=strata_aws.TARGET_PREFIX + "ListStreams",
        content_type=None,
        path=path,
    )
    assert ok.status == 200, ok
    tampered = strata_aws.raw_request(
        signed_server.endpoint,
        b"",
        target=strata_aws.TARGET_PREFIX + "ListStreams",
        content_type=None,
        path=path.replace("X-Amz-Expires=60", "X-Amz-Expires=61"),
    )
    assert tampered.status == 400
    assert tampered.error_type == "InvalidSignatureException"


def test_without_keys_any_credentials_are_accepted(server):
    for key_id, secret in [("a", "b"), ("AKIDEXAMPLE", "whatever")]:
        client = strata_aws.client_for(server.endpoint, access_key_id=key_id, secret_access_key=secret)
        assert client.list_streams()["StreamNames"] == []
    assert strata_aws.raw_call(server.endpoint, "ListStreams", {}).status == 200
