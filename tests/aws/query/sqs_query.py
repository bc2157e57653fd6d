"""SQS through boto3 1.26 (the query protocol) against a strata serve: python sqs_query.py
<endpoint>. Prints one JSON line of what it saw; any failure raises."""

import hashlib
import json
import sys

import boto3
import botocore.config

endpoint = sys.argv[1]
sqs = boto3.client(
    "sqs",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
    config=botocore.config.Config(retries={"max_attempts": 1}),
)
assert sqs.meta.service_model.protocol == "query"
name = "query-sdk"
url = sqs.create_queue(
    QueueName=name, Attributes={"VisibilityTimeout": "10"}, tags={"team": "data"}
)["QueueUrl"]
body = "line\r\nwith <xml> & \"quotes\""
attributes = {
    "s": {"DataType": "String", "StringValue": "v"},
    "b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
}
sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
batch = sqs.send_message_batch(
    QueueUrl=url,
    Entries=[
        {"Id": "one", "MessageBody": "1"},
        {"Id": "bad", "MessageBody": "2", "DelaySeconds": 901},
    ],
)
received = sqs.receive_message(
    QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], AttributeNames=["All"]
)["Messages"]
first = next(message for message in received if message["MessageId"] == sent["MessageId"])
deleted = sqs.delete_message_batch(
    QueueUrl=url,
    Entries=[
        {"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]}
        for i, message in enumerate(received)
    ],
)
attributes_after = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
try:
    sqs.get_queue_url(QueueName="absent")
    missing = None
except sqs.exceptions.QueueDoesNotExist as error:
    missing = error.response["Error"]["Code"]
print(
    json.dumps(
        {
            "url": url,
            "listed": sqs.list_queues(QueueNamePrefix="query")["QueueUrls"],
            "tags": sqs.list_queue_tags(QueueUrl=url)["Tags"],
            "md5_body": sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest(),
            "md5_attributes": sent["MD5OfMessageAttributes"],
            "batch_ok": [entry["Id"] for entry in batch["Successful"]],
            "batch_failed": [(entry["Id"], entry["Code"]) for entry in batch["Failed"]],
            "body": first["Body"],
            "received_attributes": first["MessageAttributes"]["b"]["BinaryValue"].hex(),
            "receive_count": first["Attributes"]["ApproximateReceiveCount"],
            "deleted": len(deleted["Successful"]),
            "visible": attributes_after["ApproximateNumberOfMessages"],
            "visibility": attributes_after["VisibilityTimeout"],
            "missing": missing,
        }
    )
)
