//! Every request shape decodes from a JSON 1.0 body and from the equivalent query form to the
//! same struct; response shapes encode to the JSON and XML AWS sends; error bodies and
//! headers are AWS's.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;
use std::fmt::Debug;

use bytes::Bytes;
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::errors::{Error, ErrorCode};
use super::*;
use crate::aws::body::{self, Blob, Format};
use crate::aws::query::parse_form;

const URL: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/q";
const URL_FORM: &str = "https%3A%2F%2Fsqs.us-east-1.amazonaws.com%2F123456789012%2Fq";
const REQUEST_ID: &str = "b5293cb5-d306-4a17-9048-b263635abe42";

/// Decodes `json` and `form` (with its `Action` and `Version`) and checks both are `expected`.
fn check<T: DeserializeOwned + PartialEq + Debug>(json: &str, form: &str, expected: &T) {
    let from_json: T = body::decode(Format::Json10, json.as_bytes())
        .unwrap_or_else(|error| panic!("JSON {json}: {error}"));
    assert_eq!(&from_json, expected, "JSON {json}");
    let form = format!("Action=X&Version=2012-11-05&{form}");
    let parsed = parse_form(form.as_bytes()).unwrap();
    let from_form: T = parsed
        .decode()
        .unwrap_or_else(|error| panic!("form {form}: {error}"));
    assert_eq!(&from_form, expected, "form {form}");
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

fn pairs(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

fn string_attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue {
        string_value: Some(value.to_owned()),
        data_type: "String".to_owned(),
        ..MessageAttributeValue::default()
    }
}

fn xml_text(bytes: &Bytes) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

fn wrap(operation: &str, result: &str) -> String {
    format!(
        "<{operation}Response xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">{result}\
         <ResponseMetadata><RequestId>{REQUEST_ID}</RequestId></ResponseMetadata>\
         </{operation}Response>"
    )
}

#[test]
fn create_queue() {
    check(
        r#"{"QueueName":"q.fifo","Attributes":{"FifoQueue":"true","DelaySeconds":"5"},"tags":{"team":"a","env":"dev"}}"#,
        "QueueName=q.fifo&Attribute.1.Name=FifoQueue&Attribute.1.Value=true\
         &Attribute.2.Name=DelaySeconds&Attribute.2.Value=5\
         &Tag.1.Key=team&Tag.1.Value=a&Tag.2.Key=env&Tag.2.Value=dev",
        &CreateQueueRequest {
            queue_name: "q.fifo".to_owned(),
            attributes: pairs(&[("FifoQueue", "true"), ("DelaySeconds", "5")]),
            tags: pairs(&[("team", "a"), ("env", "dev")]),
        },
    );
    check(
        r#"{"QueueName":"q"}"#,
        "QueueName=q",
        &CreateQueueRequest {
            queue_name: "q".to_owned(),
            ..CreateQueueRequest::default()
        },
    );
    // The JSON member really is lowercase `tags`.
    let json = String::from_utf8(body::encode(
        Format::Json10,
        &CreateQueueRequest {
            queue_name: "q".to_owned(),
            tags: pairs(&[("k", "v")]),
            ..CreateQueueRequest::default()
        },
    ))
    .unwrap();
    assert_eq!(json, r#"{"QueueName":"q","tags":{"k":"v"}}"#);
}

#[test]
fn get_queue_url_list_queues_delete_purge() {
    check(
        r#"{"QueueName":"q","QueueOwnerAWSAccountId":"123456789012"}"#,
        "QueueName=q&QueueOwnerAWSAccountId=123456789012",
        &GetQueueUrlRequest {
            queue_name: "q".to_owned(),
            queue_owner_aws_account_id: Some("123456789012".to_owned()),
        },
    );
    check(
        r#"{"QueueNamePrefix":"or","NextToken":"t","MaxResults":10}"#,
        "QueueNamePrefix=or&NextToken=t&MaxResults=10",
        &ListQueuesRequest {
            queue_name_prefix: Some("or".to_owned()),
            next_token: Some("t".to_owned()),
            max_results: Some(10),
        },
    );
    check(r"{}", "", &ListQueuesRequest::default());
    let queue_url = URL.to_owned();
    check(
        &format!(r#"{{"QueueUrl":"{URL}"}}"#),
        &format!("QueueUrl={URL_FORM}"),
        &DeleteQueueRequest {
            queue_url: queue_url.clone(),
        },
    );
    check(
        &format!(r#"{{"QueueUrl":"{URL}"}}"#),
        &format!("QueueUrl={URL_FORM}"),
        &PurgeQueueRequest { queue_url },
    );
}

#[test]
fn queue_attributes() {
    check(
        &format!(r#"{{"QueueUrl":"{URL}","AttributeNames":["All","QueueArn"]}}"#),
        &format!("QueueUrl={URL_FORM}&AttributeName.1=All&AttributeName.2=QueueArn"),
        &GetQueueAttributesRequest {
            queue_url: URL.to_owned(),
            attribute_names: strings(&["All", "QueueArn"]),
        },
    );
    check(
        &format!(
            r#"{{"QueueUrl":"{URL}","Attributes":{{"VisibilityTimeout":"60","RedrivePolicy":"{{\"maxReceiveCount\":3}}"}}}}"#
        ),
        &format!(
            "QueueUrl={URL_FORM}&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=60\
             &Attribute.2.Name=RedrivePolicy&Attribute.2.Value=%7B%22maxReceiveCount%22%3A3%7D"
        ),
        &SetQueueAttributesRequest {
            queue_url: URL.to_owned(),
            attributes: pairs(&[
                ("VisibilityTimeout", "60"),
                ("RedrivePolicy", r#"{"maxReceiveCount":3}"#),
            ]),
        },
    );
}

fn send_message_request() -> SendMessageRequest {
    let mut attributes = BTreeMap::new();
    attributes.insert("city".to_owned(), string_attribute("Any City"));
    attributes.insert(
        "raw".to_owned(),
        MessageAttributeValue {
            binary_value: Some(Blob(Bytes::from_static(b"\x00\x01\x02"))),
            data_type: "Binary".to_owned(),
            ..MessageAttributeValue::default()
        },
    );
    attributes.insert(
        "list".to_owned(),
        MessageAttributeValue {
            string_list_values: strings(&["a", "b"]),
            data_type: "String".to_owned(),
            ..MessageAttributeValue::default()
        },
    );
    SendMessageRequest {
        queue_url: URL.to_owned(),
        message_body: "hi there".to_owned(),
        delay_seconds: Some(5),
        message_attributes: attributes,
        message_system_attributes: BTreeMap::from([(
            "AWSTraceHeader".to_owned(),
            string_attribute("Root=1-5759e988-bd862e3fe1be46a994272793"),
        )]),
        message_deduplication_id: Some("d-1".to_owned()),
        message_group_id: Some("g".to_owned()),
    }
}

#[test]
fn send_message() {
    check(
        &format!(
            r#"{{"QueueUrl":"{URL}","MessageBody":"hi there","DelaySeconds":5,
            "MessageAttributes":{{"city":{{"DataType":"String","StringValue":"Any City"}},
              "raw":{{"DataType":"Binary","BinaryValue":"AAEC"}},
              "list":{{"DataType":"String","StringListValues":["a","b"]}}}},
            "MessageSystemAttributes":{{"AWSTraceHeader":{{"DataType":"String","StringValue":"Root=1-5759e988-bd862e3fe1be46a994272793"}}}},
            "MessageDeduplicationId":"d-1","MessageGroupId":"g"}}"#
        ),
        &format!(
            "QueueUrl={URL_FORM}&MessageBody=hi+there&DelaySeconds=5\
             &MessageAttribute.1.Name=city&MessageAttribute.1.Value.DataType=String\
             &MessageAttribute.1.Value.StringValue=Any+City\
             &MessageAttribute.2.Name=raw&MessageAttribute.2.Value.DataType=Binary\
             &MessageAttribute.2.Value.BinaryValue=AAEC\
             &MessageAttribute.3.Name=list&MessageAttribute.3.Value.DataType=String\
             &MessageAttribute.3.Value.StringListValue.1=a&MessageAttribute.3.Value.StringListValue.2=b\
             &MessageSystemAttribute.1.Name=AWSTraceHeader&MessageSystemAttribute.1.Value.DataType=String\
             &MessageSystemAttribute.1.Value.StringValue=Root%3D1-5759e988-bd862e3fe1be46a994272793\
             &MessageDeduplicationId=d-1&MessageGroupId=g"
        ),
        &send_message_request(),
    );
}

#[test]
fn send_message_batch() {
    let expected = SendMessageBatchRequest {
        queue_url: URL.to_owned(),
        entries: vec![
            SendMessageBatchRequestEntry {
                id: "m1".to_owned(),
                message_body: "one".to_owned(),
                delay_seconds: Some(1),
                message_attributes: BTreeMap::from([("a".to_owned(), string_attribute("x"))]),
                ..SendMessageBatchRequestEntry::default()
            },
            SendMessageBatchRequestEntry {
                id: "m2".to_owned(),
                message_body: "two".to_owned(),
                message_group_id: Some("g".to_owned()),
                message_deduplication_id: Some("d".to_owned()),
                ..SendMessageBatchRequestEntry::default()
            },
        ],
    };
    check(
        &format!(
            r#"{{"QueueUrl":"{URL}","Entries":[
              {{"Id":"m1","MessageBody":"one","DelaySeconds":1,"MessageAttributes":{{"a":{{"DataType":"String","StringValue":"x"}}}}}},
              {{"Id":"m2","MessageBody":"two","MessageGroupId":"g","MessageDeduplicationId":"d"}}]}}"#
        ),
        &format!(
            "QueueUrl={URL_FORM}\
             &SendMessageBatchRequestEntry.1.Id=m1&SendMessageBatchRequestEntry.1.MessageBody=one\
             &SendMessageBatchRequestEntry.1.DelaySeconds=1\
             &SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=a\
             &SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=String\
             &SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=x\
             &SendMessageBatchRequestEntry.2.Id=m2&SendMessageBatchRequestEntry.2.MessageBody=two\
             &SendMessageBatchRequestEntry.2.MessageGroupId=g\
             &SendMessageBatchRequestEntry.2.MessageDeduplicationId=d"
        ),
        &expected,
    );
    // No entries at all reads as an empty batch, for EmptyBatchRequest.
    check(
        &format!(r#"{{"QueueUrl":"{URL}"}}"#),
        &format!("QueueUrl={URL_FORM}"),
        &SendMessageBatchRequest {
            queue_url: URL.to_owned(),
            entries: Vec::new(),
        },
    );
}

#[test]
fn receive_message() {
    check(
        &format!(
            r#"{{"QueueUrl":"{URL}","AttributeNames":["SenderId"],"MessageSystemAttributeNames":["All"],
            "MessageAttributeNames":["All","bar.*"],"MaxNumberOfMessages":10,"VisibilityTimeout":30,
            "WaitTimeSeconds":20,"ReceiveRequestAttemptId":"r-1"}}"#
        ),
        &format!(
            "QueueUrl={URL_FORM}&AttributeName.1=SenderId&MessageSystemAttributeName.1=All\
             &MessageAttributeName.1=All&MessageAttributeName.2=bar.*&MaxNumberOfMessages=10\
             &VisibilityTimeout=30&WaitTimeSeconds=20&ReceiveRequestAttemptId=r-1"
        ),
        &ReceiveMessageRequest {
            queue_url: URL.to_owned(),
            attribute_names: strings(&["SenderId"]),
            message_system_attribute_names: strings(&["All"]),
            message_attribute_names: strings(&["All", "bar.*"]),
            max_number_of_messages: Some(10),
            visibility_timeout: Some(30),
            wait_time_seconds: Some(20),
            receive_request_attempt_id: Some("r-1".to_owned()),
        },
    );
    // JSON nulls read as absent.
    check(
        &format!(r#"{{"QueueUrl":"{URL}","AttributeNames":null,"MaxNumberOfMessages":null}}"#),
        &format!("QueueUrl={URL_FORM}"),
        &ReceiveMessageRequest {
            queue_url: URL.to_owned(),
            ..ReceiveMessageRequest::default()
        },
    );
}

#[test]
fn delete_and_change_visibility() {
    check(
        &format!(r#"{{"QueueUrl":"{URL}","ReceiptHandle":"rh+/="}}"#),
        &format!("QueueUrl={URL_FORM}&ReceiptHandle=rh%2B%2F%3D"),
        &DeleteMessageRequest {
            queue_url: URL.to_owned(),
            receipt_handle: "rh+/=".to_owned(),
        },
    );
    check(
        &format!(
            r#"{{"QueueUrl":"{URL}","Entries":[{{"Id":"a","ReceiptHandle":"r1"}},{{"Id":"b","ReceiptHandle":"r2"}}]}}"#
        ),
        &format!(
            "QueueUrl={URL_FORM}&DeleteMessageBatchRequestEntry.1.Id=a\
             &DeleteMessageBatchRequestEntry.1.ReceiptHandle=r1\
             &DeleteMessageBatchRequestEntry.2.Id=b&DeleteMessageBatchRequestEntry.2.ReceiptHandle=r2"
        ),
        &DeleteMessageBatchRequest {
            queue_url: URL.to_owned(),
            entries: vec![
                DeleteMessageBatchRequestEntry {
                    id: "a".to_owned(),
                    receipt_handle: "r1".to_owned(),
                },
                DeleteMessageBatchRequestEntry {
                    id: "b".to_owned(),
                    receipt_handle: "r2".to_owned(),
                },
            ],
        },
    );
    check(
        &format!(r#"{{"QueueUrl":"{URL}","ReceiptHandle":"r","VisibilityTimeout":0}}"#),
        &format!("QueueUrl={URL_FORM}&ReceiptHandle=r&VisibilityTimeout=0"),
        &ChangeMessageVisibilityRequest {
            queue_url: URL.to_owned(),
            receipt_handle: "r".to_owned(),
            visibility_timeout: 0,
        },
    );
    check(
        &format!(
            r#"{{"QueueUrl":"{URL}","Entries":[{{"Id":"a","ReceiptHandle":"r1","VisibilityTimeout":60}},{{"Id":"b","ReceiptHandle":"r2"}}]}}"#
        ),
        &format!(
            "QueueUrl={URL_FORM}&ChangeMessageVisibilityBatchRequestEntry.1.Id=a\
             &ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle=r1\
             &ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout=60\
             &ChangeMessageVisibilityBatchRequestEntry.2.Id=b\
             &ChangeMessageVisibilityBatchRequestEntry.2.ReceiptHandle=r2"
        ),
        &ChangeMessageVisibilityBatchRequest {
            queue_url: URL.to_owned(),
            entries: vec![
                ChangeMessageVisibilityBatchRequestEntry {
                    id: "a".to_owned(),
                    receipt_handle: "r1".to_owned(),
                    visibility_timeout: Some(60),
                },
                ChangeMessageVisibilityBatchRequestEntry {
                    id: "b".to_owned(),
                    receipt_handle: "r2".to_owned(),
                    visibility_timeout: None,
                },
            ],
        },
    );
}

#[test]
fn tags_and_permissions() {
    check(
        &format!(r#"{{"QueueUrl":"{URL}","Tags":{{"a":"1","b":""}}}}"#),
        &format!("QueueUrl={URL_FORM}&Tag.1.Key=a&Tag.1.Value=1&Tag.2.Key=b&Tag.2.Value="),
        &TagQueueRequest {
            queue_url: URL.to_owned(),
            tags: pairs(&[("a", "1"), ("b", "")]),
        },
    );
    check(
        &format!(r#"{{"QueueUrl":"{URL}","TagKeys":["a","b"]}}"#),
        &format!("QueueUrl={URL_FORM}&TagKey.1=a&TagKey.2=b"),
        &UntagQueueRequest {
            queue_url: URL.to_owned(),
            tag_keys: strings(&["a", "b"]),
        },
    );
    check(
        &format!(r#"{{"QueueUrl":"{URL}"}}"#),
        &format!("QueueUrl={URL_FORM}"),
        &ListQueueTagsRequest {
            queue_url: URL.to_owned(),
        },
    );
    check(
        &format!(
            r#"{{"QueueUrl":"{URL}","Label":"l","AWSAccountIds":["111122223333","444455556666"],"Actions":["SendMessage","ReceiveMessage"]}}"#
        ),
        &format!(
            "QueueUrl={URL_FORM}&Label=l&AWSAccountId.1=111122223333&AWSAccountId.2=444455556666\
             &ActionName.1=SendMessage&ActionName.2=ReceiveMessage"
        ),
        &AddPermissionRequest {
            queue_url: URL.to_owned(),
            label: "l".to_owned(),
            aws_account_ids: strings(&["111122223333", "444455556666"]),
            actions: strings(&["SendMessage", "ReceiveMessage"]),
        },
    );
    check(
        &format!(r#"{{"QueueUrl":"{URL}","Label":"l"}}"#),
        &format!("QueueUrl={URL_FORM}&Label=l"),
        &RemovePermissionRequest {
            queue_url: URL.to_owned(),
            label: "l".to_owned(),
        },
    );
}

#[test]
fn dead_letter_and_move_tasks() {
    let arn = "arn:aws:sqs:us-east-1:123456789012:dlq";
    let arn_form = "arn%3Aaws%3Asqs%3Aus-east-1%3A123456789012%3Adlq";
    check(
        &format!(r#"{{"QueueUrl":"{URL}","NextToken":"n","MaxResults":5}}"#),
        &format!("QueueUrl={URL_FORM}&NextToken=n&MaxResults=5"),
        &ListDeadLetterSourceQueuesRequest {
            queue_url: URL.to_owned(),
            next_token: Some("n".to_owned()),
            max_results: Some(5),
        },
    );
    check(
        &format!(
            r#"{{"SourceArn":"{arn}","DestinationArn":"{arn}2","MaxNumberOfMessagesPerSecond":50}}"#
        ),
        &format!("SourceArn={arn_form}&DestinationArn={arn_form}2&MaxNumberOfMessagesPerSecond=50"),
        &StartMessageMoveTaskRequest {
            source_arn: arn.to_owned(),
            destination_arn: Some(format!("{arn}2")),
            max_number_of_messages_per_second: Some(50),
        },
    );
    check(
        r#"{"TaskHandle":"th"}"#,
        "TaskHandle=th",
        &CancelMessageMoveTaskRequest {
            task_handle: "th".to_owned(),
        },
    );
    check(
        &format!(r#"{{"SourceArn":"{arn}","MaxResults":10}}"#),
        &format!("SourceArn={arn_form}&MaxResults=10"),
        &ListMessageMoveTasksRequest {
            source_arn: arn.to_owned(),
            max_results: Some(10),
        },
    );
}

#[test]
fn every_operation_has_a_name_and_a_style() {
    assert_eq!(Operation::ALL.len(), 23);
    for operation in Operation::ALL.iter().copied() {
        assert_eq!(Operation::from_name(operation.name()), Some(operation));
        let _ = operation.xml_style();
    }
    assert_eq!(Operation::from_name("sendMessage"), None);
    assert_eq!(TARGET_PREFIX, "AmazonSQS.");
    assert_eq!(XML_NAMESPACE, "http://queue.amazonaws.com/doc/2012-11-05/");
}

#[test]
fn missing_members_are_missing_parameters_in_both_protocols() {
    let error: Error = body::decode::<SendMessageRequest>(Format::Json10, br#"{"QueueUrl":"q"}"#)
        .unwrap_err()
        .into();
    assert_eq!(error, Error::missing_parameter("MessageBody"));
    let form = parse_form(b"Action=SendMessage&QueueUrl=q").unwrap();
    let error: Error = form.decode::<SendMessageRequest>().unwrap_err().into();
    assert_eq!(error, Error::missing_parameter("MessageBody"));
}

// ---------------------------------------------------------------------------------------------
// Responses

fn receive_result() -> ReceiveMessageResult {
    ReceiveMessageResult {
        messages: vec![Message {
            message_id: Some("5fea7756-0ea4-451a-a703-a558b933e274".to_owned()),
            receipt_handle: Some(
                "MbZj6wDWli+JvwwJaBV+3dcjk2YW2vA3+STFFljTM8tJJg6HRG6PYSasuWXPJB+Cw".to_owned(),
            ),
            md5_of_body: Some("fafb00f5732ab283681e124bf8747ed1".to_owned()),
            body: Some("This is a test message".to_owned()),
            attributes: pairs(&[
                ("SenderId", "195004372649"),
                ("SentTimestamp", "1238099229000"),
                ("ApproximateReceiveCount", "5"),
                ("ApproximateFirstReceiveTimestamp", "1250700979248"),
            ]),
            md5_of_message_attributes: Some("3ae8f24a165a8cedc005670c81a27295".to_owned()),
            message_attributes: BTreeMap::from([
                ("city".to_owned(), string_attribute("Any City")),
                (
                    "raw".to_owned(),
                    MessageAttributeValue {
                        binary_value: Some(Blob(Bytes::from_static(b"\x00\x01\x02"))),
                        data_type: "Binary".to_owned(),
                        ..MessageAttributeValue::default()
                    },
                ),
            ]),
        }],
    }
}

#[test]
fn receive_message_xml() {
    let bytes = encode_xml(Operation::ReceiveMessage, REQUEST_ID, &receive_result()).unwrap();
    assert_eq!(
        xml_text(&bytes),
        wrap(
            "ReceiveMessage",
            "<ReceiveMessageResult><Message>\
             <MessageId>5fea7756-0ea4-451a-a703-a558b933e274</MessageId>\
             <ReceiptHandle>MbZj6wDWli+JvwwJaBV+3dcjk2YW2vA3+STFFljTM8tJJg6HRG6PYSasuWXPJB+Cw</ReceiptHandle>\
             <MD5OfBody>fafb00f5732ab283681e124bf8747ed1</MD5OfBody>\
             <Body>This is a test message</Body>\
             <Attribute><Name>ApproximateFirstReceiveTimestamp</Name><Value>1250700979248</Value></Attribute>\
             <Attribute><Name>ApproximateReceiveCount</Name><Value>5</Value></Attribute>\
             <Attribute><Name>SenderId</Name><Value>195004372649</Value></Attribute>\
             <Attribute><Name>SentTimestamp</Name><Value>1238099229000</Value></Attribute>\
             <MD5OfMessageAttributes>3ae8f24a165a8cedc005670c81a27295</MD5OfMessageAttributes>\
             <MessageAttribute><Name>city</Name><Value><StringValue>Any City</StringValue><DataType>String</DataType></Value></MessageAttribute>\
             <MessageAttribute><Name>raw</Name><Value><BinaryValue>AAEC</BinaryValue><DataType>Binary</DataType></Value></MessageAttribute>\
             </Message></ReceiveMessageResult>"
        )
    );
    let empty = encode_xml(
        Operation::ReceiveMessage,
        REQUEST_ID,
        &ReceiveMessageResult::default(),
    )
    .unwrap();
    assert_eq!(
        xml_text(&empty),
        wrap(
            "ReceiveMessage",
            "<ReceiveMessageResult></ReceiveMessageResult>"
        )
    );
}

#[test]
fn receive_message_json() {
    let json = String::from_utf8(body::encode(Format::Json10, &receive_result())).unwrap();
    assert_eq!(
        json,
        r#"{"Messages":[{"MessageId":"5fea7756-0ea4-451a-a703-a558b933e274","ReceiptHandle":"MbZj6wDWli+JvwwJaBV+3dcjk2YW2vA3+STFFljTM8tJJg6HRG6PYSasuWXPJB+Cw","MD5OfBody":"fafb00f5732ab283681e124bf8747ed1","Body":"This is a test message","Attributes":{"ApproximateFirstReceiveTimestamp":"1250700979248","ApproximateReceiveCount":"5","SenderId":"195004372649","SentTimestamp":"1238099229000"},"MD5OfMessageAttributes":"3ae8f24a165a8cedc005670c81a27295","MessageAttributes":{"city":{"StringValue":"Any City","DataType":"String"},"raw":{"BinaryValue":"AAEC","DataType":"Binary"}}}]}"#
    );
    // An empty receive omits Messages.
    assert_eq!(
        body::encode(Format::Json10, &ReceiveMessageResult::default()),
        b"{}"
    );
}

fn send_batch_result() -> SendMessageBatchResult {
    SendMessageBatchResult {
        successful: vec![SendMessageBatchResultEntry {
            id: "m1".to_owned(),
            message_id: "0a5231c7-8bff-4955-be2e-8dc7c50a25fa".to_owned(),
            md5_of_message_body: "0e024d309850c78cba5eabbeff7cae71".to_owned(),
            md5_of_message_attributes: None,
            md5_of_message_system_attributes: None,
            sequence_number: Some("18849496460467696128".to_owned()),
        }],
        failed: vec![
            Error::invalid_parameter(
                "DelaySeconds",
                "901",
                "Must be between 0 and 900, if provided",
            )
            .batch_entry("m2"),
        ],
    }
}

#[test]
fn send_message_batch_xml_and_json() {
    let bytes = encode_xml(
        Operation::SendMessageBatch,
        REQUEST_ID,
        &send_batch_result(),
    )
    .unwrap();
    assert_eq!(
        xml_text(&bytes),
        wrap(
            "SendMessageBatch",
            "<SendMessageBatchResult>\
             <SendMessageBatchResultEntry><Id>m1</Id><MessageId>0a5231c7-8bff-4955-be2e-8dc7c50a25fa</MessageId>\
             <MD5OfMessageBody>0e024d309850c78cba5eabbeff7cae71</MD5OfMessageBody>\
             <SequenceNumber>18849496460467696128</SequenceNumber></SendMessageBatchResultEntry>\
             <BatchResultErrorEntry><Id>m2</Id><SenderFault>true</SenderFault><Code>InvalidParameterValue</Code>\
             <Message>Value 901 for parameter DelaySeconds is invalid. Reason: Must be between 0 and 900, if provided.</Message>\
             </BatchResultErrorEntry></SendMessageBatchResult>"
        )
    );
    let json = String::from_utf8(body::encode(Format::Json10, &send_batch_result())).unwrap();
    assert!(json.starts_with(r#"{"Successful":[{"Id":"m1","MessageId":"0a5231c7-8bff-4955-be2e-8dc7c50a25fa","MD5OfMessageBody":"0e024d309850c78cba5eabbeff7cae71","SequenceNumber":"18849496460467696128"}],"Failed":[{"Id":"m2","SenderFault":true,"Code":"InvalidParameterValue","#), "{json}");
    // Successful and Failed are required: written even when empty.
    assert_eq!(
        body::encode(Format::Json10, &DeleteMessageBatchResult::default()),
        br#"{"Successful":[],"Failed":[]}"#
    );
}

#[test]
fn other_batch_results_name_their_entries() {
    let result = DeleteMessageBatchResult {
        successful: vec![BatchResultEntry { id: "a".to_owned() }],
        failed: Vec::new(),
    };
    let bytes = encode_xml(Operation::DeleteMessageBatch, REQUEST_ID, &result).unwrap();
    assert_eq!(
        xml_text(&bytes),
        wrap(
            "DeleteMessageBatch",
            "<DeleteMessageBatchResult><DeleteMessageBatchResultEntry><Id>a</Id></DeleteMessageBatchResultEntry></DeleteMessageBatchResult>"
        )
    );
    let result = ChangeMessageVisibilityBatchResult {
        successful: vec![BatchResultEntry { id: "a".to_owned() }],
        failed: Vec::new(),
    };
    let bytes = encode_xml(Operation::ChangeMessageVisibilityBatch, REQUEST_ID, &result).unwrap();
    assert!(xml_text(&bytes).contains(
        "<ChangeMessageVisibilityBatchResultEntry><Id>a</Id></ChangeMessageVisibilityBatchResultEntry>"
    ));
}

#[test]
fn get_queue_attributes_xml() {
    let result = GetQueueAttributesResult {
        attributes: pairs(&[("VisibilityTimeout", "30"), ("DelaySeconds", "0")]),
    };
    let bytes = encode_xml(Operation::GetQueueAttributes, REQUEST_ID, &result).unwrap();
    assert_eq!(
        xml_text(&bytes),
        wrap(
            "GetQueueAttributes",
            "<GetQueueAttributesResult>\
             <Attribute><Name>DelaySeconds</Name><Value>0</Value></Attribute>\
             <Attribute><Name>VisibilityTimeout</Name><Value>30</Value></Attribute>\
             </GetQueueAttributesResult>"
        )
    );
}

#[test]
fn list_queues_xml_and_json() {
    let result = ListQueuesResult {
        queue_urls: strings(&[URL, "https://sqs.us-east-1.amazonaws.com/123456789012/r"]),
        next_token: None,
    };
    let bytes = encode_xml(Operation::ListQueues, REQUEST_ID, &result).unwrap();
    assert_eq!(
        xml_text(&bytes),
        wrap(
            "ListQueues",
            &format!(
                "<ListQueuesResult><QueueUrl>{URL}</QueueUrl>\
                 <QueueUrl>https://sqs.us-east-1.amazonaws.com/123456789012/r</QueueUrl></ListQueuesResult>"
            )
        )
    );
    assert_eq!(
        body::encode(Format::Json10, &ListQueuesResult::default()),
        b"{}"
    );
    let dead_letter = ListDeadLetterSourceQueuesResult {
        queue_urls: strings(&[URL]),
        next_token: None,
    };
    assert_eq!(
        String::from_utf8(body::encode(Format::Json10, &dead_letter)).unwrap(),
        format!(r#"{{"queueUrls":["{URL}"]}}"#)
    );
    let bytes = encode_xml(
        Operation::ListDeadLetterSourceQueues,
        REQUEST_ID,
        &dead_letter,
    )
    .unwrap();
    assert!(xml_text(&bytes).contains(&format!(
        "<ListDeadLetterSourceQueuesResult><QueueUrl>{URL}</QueueUrl></ListDeadLetterSourceQueuesResult>"
    )));
}

#[test]
fn list_queue_tags_and_move_tasks_xml() {
    let tags = ListQueueTagsResult {
        tags: pairs(&[("team", "a")]),
    };
    let bytes = encode_xml(Operation::ListQueueTags, REQUEST_ID, &tags).unwrap();
    assert_eq!(
        xml_text(&bytes),
        wrap(
            "ListQueueTags",
            "<ListQueueTagsResult><Tag><Key>team</Key><Value>a</Value></Tag></ListQueueTagsResult>"
        )
    );
    let tasks = ListMessageMoveTasksResult {
        results: vec![ListMessageMoveTasksResultEntry {
            status: Some("COMPLETED".to_owned()),
            approximate_number_of_messages_moved: Some(5),
            started_timestamp: Some(1_700_000_000_000),
            ..ListMessageMoveTasksResultEntry::default()
        }],
    };
    let bytes = encode_xml(Operation::ListMessageMoveTasks, REQUEST_ID, &tasks).unwrap();
    assert!(xml_text(&bytes).contains(
        "<ListMessageMoveTasksResult><ListMessageMoveTasksResultEntry><Status>COMPLETED</Status>\
         <ApproximateNumberOfMessagesMoved>5</ApproximateNumberOfMessagesMoved>\
         <StartedTimestamp>1700000000000</StartedTimestamp></ListMessageMoveTasksResultEntry>\
         </ListMessageMoveTasksResult>"
    ));
}

#[test]
fn send_message_and_unit_outputs_xml() {
    let result = SendMessageResult {
        md5_of_message_body: Some(md5::md5_of_body("derp")),
        message_id: Some("m".to_owned()),
        ..SendMessageResult::default()
    };
    let bytes = encode_xml(Operation::SendMessage, REQUEST_ID, &result).unwrap();
    assert_eq!(
        xml_text(&bytes),
        wrap(
            "SendMessage",
            "<SendMessageResult><MD5OfMessageBody>58fd9edd83341c29f1aebba81c31e257</MD5OfMessageBody>\
             <MessageId>m</MessageId></SendMessageResult>"
        )
    );
    let bytes = encode_xml(Operation::DeleteQueue, REQUEST_ID, &()).unwrap();
    assert_eq!(xml_text(&bytes), wrap("DeleteQueue", ""));
    assert!(!Operation::DeleteQueue.has_output());
    assert!(Operation::CreateQueue.has_output());
}

#[test]
fn error_responses() {
    let error = Error::queue_does_not_exist();
    assert_eq!(
        xml_text(&error.xml_body(REQUEST_ID)),
        "<ErrorResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><Error>\
         <Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code>\
         <Message>The specified queue does not exist.</Message><Detail/></Error>\
         <RequestId>b5293cb5-d306-4a17-9048-b263635abe42</RequestId></ErrorResponse>"
    );
    assert_eq!(
        String::from_utf8(body::encode(Format::Json10, &error.json_body())).unwrap(),
        r#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}"#
    );
    assert_eq!(
        error.query_error_header(),
        "AWS.SimpleQueueService.NonExistentQueue;Sender"
    );
    assert_eq!(
        ErrorCode::InternalFailure.query_error_header(),
        "InternalFailure;Receiver"
    );
}

/// The table, pinned: every modeled error's query code and status as the model's
/// `awsQueryError` trait gives them.
#[test]
fn error_table_matches_the_model() {
    let expected: &[(ErrorCode, &str, &str, u16)] = &[
        (
            ErrorCode::BatchEntryIdsNotDistinct,
            "BatchEntryIdsNotDistinct",
            "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            400,
        ),
        (
            ErrorCode::BatchRequestTooLong,
            "BatchRequestTooLong",
            "AWS.SimpleQueueService.BatchRequestTooLong",
            400,
        ),
        (
            ErrorCode::EmptyBatchRequest,
            "EmptyBatchRequest",
            "AWS.SimpleQueueService.EmptyBatchRequest",
            400,
        ),
        (
            ErrorCode::InvalidAddress,
            "InvalidAddress",
            "InvalidAddress",
            404,
        ),
        (
            ErrorCode::InvalidAttributeName,
            "InvalidAttributeName",
            "InvalidAttributeName",
            400,
        ),
        (
            ErrorCode::InvalidAttributeValue,
            "InvalidAttributeValue",
            "InvalidAttributeValue",
            400,
        ),
        (
            ErrorCode::InvalidBatchEntryId,
            "InvalidBatchEntryId",
            "AWS.SimpleQueueService.InvalidBatchEntryId",
            400,
        ),
        (
            ErrorCode::InvalidIdFormat,
            "InvalidIdFormat",
            "InvalidIdFormat",
            400,
        ),
        (
            ErrorCode::InvalidMessageContents,
            "InvalidMessageContents",
            "InvalidMessageContents",
            400,
        ),
        (
            ErrorCode::InvalidSecurity,
            "InvalidSecurity",
            "InvalidSecurity",
            403,
        ),
        (
            ErrorCode::KmsAccessDenied,
            "KmsAccessDenied",
            "KMS.AccessDeniedException",
            400,
        ),
        (
            ErrorCode::KmsDisabled,
            "KmsDisabled",
            "KMS.DisabledException",
            400,
        ),
        (
            ErrorCode::KmsInvalidKeyUsage,
            "KmsInvalidKeyUsage",
            "KMS.InvalidKeyUsageException",
            400,
        ),
        (
            ErrorCode::KmsInvalidState,
            "KmsInvalidState",
            "KMS.InvalidStateException",
            400,
        ),
        (
            ErrorCode::KmsNotFound,
            "KmsNotFound",
            "KMS.NotFoundException",
            400,
        ),
        (
            ErrorCode::KmsOptInRequired,
            "KmsOptInRequired",
            "KMS.OptInRequired",
            403,
        ),
        (
            ErrorCode::KmsThrottled,
            "KmsThrottled",
            "KMS.ThrottlingException",
            400,
        ),
        (
            ErrorCode::MessageNotInflight,
            "MessageNotInflight",
            "AWS.SimpleQueueService.MessageNotInflight",
            400,
        ),
        (ErrorCode::OverLimit, "OverLimit", "OverLimit", 403),
        (
            ErrorCode::PurgeQueueInProgress,
            "PurgeQueueInProgress",
            "AWS.SimpleQueueService.PurgeQueueInProgress",
            403,
        ),
        (
            ErrorCode::QueueDeletedRecently,
            "QueueDeletedRecently",
            "AWS.SimpleQueueService.QueueDeletedRecently",
            400,
        ),
        (
            ErrorCode::QueueDoesNotExist,
            "QueueDoesNotExist",
            "AWS.SimpleQueueService.NonExistentQueue",
            400,
        ),
        (
            ErrorCode::QueueNameExists,
            "QueueNameExists",
            "QueueAlreadyExists",
            400,
        ),
        (
            ErrorCode::ReceiptHandleIsInvalid,
            "ReceiptHandleIsInvalid",
            "ReceiptHandleIsInvalid",
            404,
        ),
        (
            ErrorCode::RequestThrottled,
            "RequestThrottled",
            "RequestThrottled",
            403,
        ),
        (
            ErrorCode::ResourceNotFoundException,
            "ResourceNotFoundException",
            "ResourceNotFoundException",
            404,
        ),
        (
            ErrorCode::TooManyEntriesInBatchRequest,
            "TooManyEntriesInBatchRequest",
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            400,
        ),
        (
            ErrorCode::UnsupportedOperation,
            "UnsupportedOperation",
            "AWS.SimpleQueueService.UnsupportedOperation",
            400,
        ),
    ];
    for &(code, shape, query, status) in expected {
        assert_eq!(code.json_type(), format!("com.amazonaws.sqs#{shape}"));
        assert_eq!(code.query_code(), query, "{shape}");
        assert_eq!(code.status(), status, "{shape}");
        assert_eq!(ErrorCode::from_name(query), Some(code));
        assert_eq!(ErrorCode::from_name(shape), Some(code));
    }
    for code in ErrorCode::ALL.iter().copied() {
        assert_eq!(ErrorCode::from_name(code.query_code()), Some(code));
        assert!(!code.default_message().is_empty());
        let sender = code.status() < 500;
        assert_eq!(
            code.fault() == crate::aws::xml::Fault::Sender,
            sender,
            "{code}"
        );
    }
    assert_eq!(
        ErrorCode::InvalidParameterValue.query_code(),
        "InvalidParameterValue"
    );
    assert_eq!(
        ErrorCode::InvalidParameterValue.json_type(),
        "com.amazon.coral.service#InvalidParameterValueException"
    );
}

// ---------------------------------------------------------------------------------------------
// Round trips

/// Writes a SendMessageRequest as botocore's query serializer would.
fn to_form(request: &SendMessageRequest) -> String {
    fn escape(text: &str) -> String {
        let mut out = String::new();
        for byte in text.bytes() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
                out.push(char::from(byte));
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    }
    let mut out = format!(
        "Action=SendMessage&QueueUrl={}&MessageBody={}",
        escape(&request.queue_url),
        escape(&request.message_body)
    );
    if let Some(delay) = request.delay_seconds {
        out.push_str(&format!("&DelaySeconds={delay}"));
    }
    for (index, (name, value)) in request.message_attributes.iter().enumerate() {
        let prefix = format!("MessageAttribute.{}", index + 1);
        out.push_str(&format!("&{prefix}.Name={}", escape(name)));
        out.push_str(&format!(
            "&{prefix}.Value.DataType={}",
            escape(&value.data_type)
        ));
        if let Some(text) = &value.string_value {
            out.push_str(&format!("&{prefix}.Value.StringValue={}", escape(text)));
        }
        if let Some(binary) = &value.binary_value {
            let base64 = String::from_utf8(body::encode(Format::Json10, binary)).unwrap();
            out.push_str(&format!(
                "&{prefix}.Value.BinaryValue={}",
                escape(base64.trim_matches('"'))
            ));
        }
    }
    if let Some(group) = &request.message_group_id {
        out.push_str(&format!("&MessageGroupId={}", escape(group)));
    }
    out
}

fn attribute_value() -> impl Strategy<Value = MessageAttributeValue> {
    prop_oneof![
        (any::<String>(), "(String|Number)(\\.[a-z]{1,4})?").prop_map(|(text, data_type)| {
            MessageAttributeValue {
                string_value: Some(text),
                data_type,
                ..MessageAttributeValue::default()
            }
        }),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(|bytes| MessageAttributeValue {
            binary_value: Some(Blob(Bytes::from(bytes))),
            data_type: "Binary".to_owned(),
            ..MessageAttributeValue::default()
        }),
    ]
}

fn send_message_strategy() -> impl Strategy<Value = SendMessageRequest> {
    (
        "[ -~]{1,40}",
        any::<String>(),
        proptest::option::of(0..=900_i32),
        proptest::collection::btree_map("[A-Za-z0-9_.-]{1,12}", attribute_value(), 0..4),
        proptest::option::of("[!-~]{1,16}"),
    )
        .prop_map(
            |(queue_url, message_body, delay_seconds, message_attributes, group)| {
                SendMessageRequest {
                    queue_url,
                    message_body,
                    delay_seconds,
                    message_attributes,
                    message_group_id: group,
                    ..SendMessageRequest::default()
                }
            },
        )
}

proptest! {
    /// A request encoded as JSON decodes to itself, and the same request written as a query
    /// form decodes to the same struct.
    #[test]
    fn send_message_round_trips_through_json_and_form(request in send_message_strategy()) {
        let json = body::encode(Format::Json10, &request);
        let from_json: SendMessageRequest = body::decode(Format::Json10, &json).unwrap();
        prop_assert_eq!(&from_json, &request);
        let form = parse_form(to_form(&request).as_bytes()).unwrap();
        let from_form: SendMessageRequest = form.decode().unwrap();
        prop_assert_eq!(&from_form, &request);
    }

    /// A received message encodes to JSON that decodes to itself, and to XML or a refusal
    /// (a character XML cannot carry), never a panic.
    #[test]
    fn received_messages_encode(body_text in any::<String>(), attributes in proptest::collection::btree_map("[A-Za-z0-9_.-]{1,12}", attribute_value(), 0..4)) {
        let result = ReceiveMessageResult {
            messages: vec![Message {
                message_id: Some("m".to_owned()),
                md5_of_body: Some(md5::md5_of_body(&body_text)),
                md5_of_message_attributes: md5::md5_of_attributes(&attributes),
                body: Some(body_text),
                message_attributes: attributes,
                ..Message::default()
            }],
        };
        let json = body::encode(Format::Json10, &result);
        let decoded: ReceiveMessageResult = body::decode(Format::Json10, &json).unwrap();
        prop_assert_eq!(&decoded, &result);
        let _ = encode_xml(Operation::ReceiveMessage, "r", &result);
    }
}

/// Shapes serialize with `Serialize`; a unit output is `()`.
#[test]
fn unit_outputs_are_empty_json_objects() {
    #[derive(Serialize)]
    struct Empty {}
    assert_eq!(body::encode(Format::Json10, &Empty {}), b"{}");
}

/// List values are written as repeated `<StringListValue>` / `<BinaryListValue>`, the
/// `locationName`s botocore's query parser reads them back from.
#[test]
fn list_attribute_values_xml() {
    let result = ReceiveMessageResult {
        messages: vec![Message {
            message_attributes: BTreeMap::from([(
                "l".to_owned(),
                MessageAttributeValue {
                    string_list_values: strings(&["p", "q"]),
                    binary_list_values: vec![Blob(Bytes::from_static(b"\x01"))],
                    data_type: "String".to_owned(),
                    ..MessageAttributeValue::default()
                },
            )]),
            ..Message::default()
        }],
    };
    let bytes = encode_xml(Operation::ReceiveMessage, REQUEST_ID, &result).unwrap();
    assert!(xml_text(&bytes).contains(
        "<MessageAttribute><Name>l</Name><Value><StringListValue>p</StringListValue>\
         <StringListValue>q</StringListValue><BinaryListValue>AQ==</BinaryListValue>\
         <DataType>String</DataType></Value></MessageAttribute>"
    ));
}
