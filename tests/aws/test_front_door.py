"""The front door's recognition of requests, as a client sees it: AWS JSON 1.0 is answered
as JSON 1.0 (SQS's SDKs send it), a query-protocol request (`Action=` in a form body or a GET
query string) is recognised as such: an SQS action is served in XML, an action no service
here has is an XML `ErrorResponse` (`InvalidAction`, the legacy code also in
`x-amzn-query-error`); a
malformed form is `MalformedQueryString`; a target of no service here is
`UnknownOperationException`.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

SQS_NAMESPACE = "{http://queue.amazonaws.com/doc/2012-11-05/}"
SNS_NAMESPACE = "{http://sns.amazonaws.com/doc/2010-03-31/}"


def query_error(body: bytes, namespace: str) -> tuple[str, str, str, str]:
    """(Type, Code, Message, RequestId) of an XML ErrorResponse."""
    root = ElementTree.fromstring(body)
    assert root.tag == namespace + "ErrorResponse"
    error = root.find(namespace + "Error")
    return (
        error.findtext(namespace + "Type"),
        error.findtext(namespace + "Code"),
        error.findtext(namespace + "Message"),
        root.findtext(namespace + "RequestId"),
    )

from strata_aws import raw_request


def test_json_1_0_is_answered_as_json_1_0(server):
    response = raw_request(
        server.endpoint,
        b"{}",
        "Kinesis_20131202.ListStreams",
        content_type="application/x-amz-json-1.0",
    )
    assert response.status == 200
    assert response.headers["content-type"] == "application/x-amz-json-1.0"
    assert json.loads(response.body)["StreamNames"] == []
    eleven = raw_request(server.endpoint, b"{}", "Kinesis_20131202.ListStreams")
    assert eleven.headers["content-type"] == "application/x-amz-json-1.1"


def test_query_requests_are_recognised_and_unknown_actions_refused(server):
    served = raw_request(
        server.endpoint,
        b"Action=ListQueues&Version=2012-11-05",
        None,
        content_type="application/x-www-form-urlencoded; charset=utf-8",
    )
    assert served.status == 200
    assert served.headers["content-type"] == "text/xml"
    assert ElementTree.fromstring(served.body).tag == SQS_NAMESPACE + "ListQueuesResponse"
    form = raw_request(
        server.endpoint,
        b"Action=Frobnicate&Version=2012-11-05",
        None,
        content_type="application/x-www-form-urlencoded; charset=utf-8",
    )
    assert form.status == 400
    assert form.headers["content-type"] == "text/xml"
    assert form.headers["x-amzn-query-error"] == "InvalidAction;Sender"
    kind, code, message, request_id = query_error(form.body, SQS_NAMESPACE)
    assert (kind, code) == ("Sender", "InvalidAction")
    assert "Frobnicate" in message
    assert request_id == form.headers["x-amzn-requestid"]
    get = raw_request(
        server.endpoint,
        b"",
        None,
        content_type=None,
        method="GET",
        path="/?Action=ListTopics&Version=2010-03-31",
    )
    assert get.status == 200
    assert ElementTree.fromstring(get.body).tag == SNS_NAMESPACE + "ListTopicsResponse"
    unknown = raw_request(
        server.endpoint,
        b"",
        None,
        content_type=None,
        method="GET",
        path="/?Action=Frobnicate&Version=2010-03-31",
    )
    assert unknown.status == 400
    assert query_error(unknown.body, SNS_NAMESPACE)[1] == "InvalidAction"
    malformed = raw_request(
        server.endpoint,
        b"Action=ListQueues&Bad=%zz",
        None,
        content_type="application/x-www-form-urlencoded",
    )
    assert malformed.status == 400
    assert query_error(malformed.body, SQS_NAMESPACE)[1] == "MalformedQueryString"


def test_a_target_of_no_service_here_is_an_unknown_operation(server):
    response = raw_request(server.endpoint, b"{}", "DynamoDB_20120810.ListTables")
    assert response.status == 400
    assert json.loads(response.body)["__type"] == "UnknownOperationException"
    missing = raw_request(server.endpoint, b"{}", None)
    assert json.loads(missing.body)["__type"] == "UnknownOperationException"
