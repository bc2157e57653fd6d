//! Request shapes decode from the query forms botocore sends; response shapes encode to the
//! XML AWS sends (`<member>` lists, `<entry>` maps, no `<{Op}Result>` without output); error
//! bodies are AWS's.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;
use std::fmt::Debug;

use serde::de::DeserializeOwned;

use super::errors::{Error, ErrorCode};
use super::*;
use crate::aws::body::Blob;
use crate::aws::query::parse_form;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:t";
const TOPIC_FORM: &str = "arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3At";
const REQUEST_ID: &str = "b5293cb5-d306-4a17-9048-b263635abe42";

fn decode<T: DeserializeOwned + Debug>(form: &str) -> T {
    let form = format!("Action=X&Version=2010-03-31&{form}");
    parse_form(form.as_bytes())
        .unwrap()
        .decode()
        .unwrap_or_else(|error| panic!("form {form}: {error}"))
}

fn pairs(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

fn xml<T: serde::Serialize>(operation: Operation, output: &T) -> String {
    let bytes = encode_xml(operation, REQUEST_ID, output).unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    // Well-formed, whatever the content.
    let mut reader = quick_xml::Reader::from_str(&text);
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Eof => break,
            _ => continue,
        }
    }
    text
}

fn wrap(operation: &str, result: Option<&str>) -> String {
    let result = result.map_or(String::new(), |result| {
        format!("<{operation}Result>{result}</{operation}Result>")
    });
    format!(
        "<{operation}Response xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">{result}\
         <ResponseMetadata><RequestId>{REQUEST_ID}</RequestId></ResponseMetadata>\
         </{operation}Response>"
    )
}

#[test]
fn every_operation_of_the_model_is_named() {
    assert_eq!(Operation::ALL.len(), 42);
    for operation in Operation::ALL {
        assert_eq!(Operation::from_name(operation.name()), Some(*operation));
    }
    assert_eq!(Operation::from_name("publish"), None);
}

#[test]
fn create_topic_reads_entry_maps_and_member_lists() {
    let input: CreateTopicInput = decode(
        "Name=t.fifo&Attributes.entry.1.key=FifoTopic&Attributes.entry.1.value=true\
         &Attributes.entry.2.key=DisplayName&Attributes.entry.2.value=My+topic\
         &Tags.member.1.Key=team&Tags.member.1.Value=core",
    );
    assert_eq!(input.name, "t.fifo");
    assert_eq!(
        input.attributes,
        pairs(&[("FifoTopic", "true"), ("DisplayName", "My topic")])
    );
    assert_eq!(
        input.tags,
        vec![Tag {
            key: "team".to_owned(),
            value: "core".to_owned()
        }]
    );
}

#[test]
fn topic_and_subscription_requests_decode() {
    let input: SetTopicAttributesInput = decode(&format!(
        "TopicArn={TOPIC_FORM}&AttributeName=DisplayName&AttributeValue=x"
    ));
    assert_eq!(input.topic_arn, TOPIC);
    assert_eq!(input.attribute_value.as_deref(), Some("x"));
    let input: SubscribeInput = decode(&format!(
        "TopicArn={TOPIC_FORM}&Protocol=sqs&Endpoint=arn%3Aaws%3Asqs%3Aus-east-1%3A1%3Aq\
         &Attributes.entry.1.key=RawMessageDelivery&Attributes.entry.1.value=true\
         &ReturnSubscriptionArn=true"
    ));
    assert_eq!(input.protocol, "sqs");
    assert_eq!(input.return_subscription_arn, Some(true));
    assert_eq!(input.attributes, pairs(&[("RawMessageDelivery", "true")]));
    let input: ConfirmSubscriptionInput = decode(&format!(
        "TopicArn={TOPIC_FORM}&Token=abc&AuthenticateOnUnsubscribe=true"
    ));
    assert_eq!(input.token, "abc");
    let input: ListSubscriptionsByTopicInput =
        decode(&format!("TopicArn={TOPIC_FORM}&NextToken=n"));
    assert_eq!(input.next_token.as_deref(), Some("n"));
    let input: UntagResourceRequest = decode(&format!(
        "ResourceArn={TOPIC_FORM}&TagKeys.member.1=a&TagKeys.member.2=b"
    ));
    assert_eq!(input.tag_keys, vec!["a".to_owned(), "b".to_owned()]);
    let input: AddPermissionInput = decode(&format!(
        "TopicArn={TOPIC_FORM}&Label=l&AWSAccountId.member.1=111122223333\
         &ActionName.member.1=Publish&ActionName.member.2=Subscribe"
    ));
    assert_eq!(input.aws_account_id, vec!["111122223333".to_owned()]);
    assert_eq!(input.action_name.len(), 2);
    let input: GetSmsAttributesInput = decode("attributes.member.1=DefaultSMSType");
    assert_eq!(input.attributes, vec!["DefaultSMSType".to_owned()]);
    let input: SetSmsAttributesInput =
        decode("attributes.entry.1.key=DefaultSMSType&attributes.entry.1.value=Promotional");
    assert_eq!(
        input.attributes,
        pairs(&[("DefaultSMSType", "Promotional")])
    );
}

#[test]
fn publish_reads_message_attributes_as_botocore_sends_them() {
    let input: PublishInput = decode(&format!(
        "TopicArn={TOPIC_FORM}&Message=hello&Subject=s\
         &MessageAttributes.entry.1.Name=colour&MessageAttributes.entry.1.Value.DataType=String\
         &MessageAttributes.entry.1.Value.StringValue=red\
         &MessageAttributes.entry.2.Name=raw&MessageAttributes.entry.2.Value.DataType=Binary\
         &MessageAttributes.entry.2.Value.BinaryValue=AAE%3D"
    ));
    assert_eq!(input.message, "hello");
    assert_eq!(
        input.message_attributes["colour"].string_value.as_deref(),
        Some("red")
    );
    assert_eq!(
        input.message_attributes["raw"].binary_value,
        Some(Blob(bytes::Bytes::from_static(&[0, 1])))
    );
    let batch: PublishBatchInput = decode(&format!(
        "TopicArn={TOPIC_FORM}&PublishBatchRequestEntries.member.1.Id=a\
         &PublishBatchRequestEntries.member.1.Message=one\
         &PublishBatchRequestEntries.member.2.Id=b\
         &PublishBatchRequestEntries.member.2.Message=two\
         &PublishBatchRequestEntries.member.2.MessageGroupId=g"
    ));
    assert_eq!(batch.publish_batch_request_entries.len(), 2);
    assert_eq!(
        batch
            .publish_batch_request_entries
            .get(1)
            .and_then(|entry| entry.message_group_id.as_deref()),
        Some("g")
    );
}

#[test]
fn a_missing_required_member_is_invalid_parameter() {
    let form = parse_form(b"Action=DeleteTopic&Version=2010-03-31").unwrap();
    let error = Error::from(form.decode::<DeleteTopicInput>().unwrap_err());
    assert_eq!(error.code, ErrorCode::InvalidParameter);
    assert_eq!(error.message, "Invalid parameter: TopicArn");
}

#[test]
fn outputs_are_written_with_member_lists_and_entry_maps() {
    let topics = ListTopicsResponse {
        topics: vec![Topic {
            topic_arn: Some(TOPIC.to_owned()),
        }],
        next_token: Some("n".to_owned()),
    };
    assert_eq!(
        xml(Operation::ListTopics, &topics),
        wrap(
            "ListTopics",
            Some(&format!(
                "<Topics><member><TopicArn>{TOPIC}</TopicArn></member></Topics>\
                 <NextToken>n</NextToken>"
            ))
        )
    );
    let attributes = GetTopicAttributesResponse {
        attributes: pairs(&[("DisplayName", "d")]),
    };
    assert_eq!(
        xml(Operation::GetTopicAttributes, &attributes),
        wrap(
            "GetTopicAttributes",
            Some("<Attributes><entry><key>DisplayName</key><value>d</value></entry></Attributes>")
        )
    );
    let batch = PublishBatchResponse {
        successful: vec![PublishBatchResultEntry {
            id: Some("a".to_owned()),
            message_id: Some("m".to_owned()),
            sequence_number: None,
        }],
        failed: vec![Error::invalid_parameter("Empty message").batch_entry("b")],
    };
    assert_eq!(
        xml(Operation::PublishBatch, &batch),
        wrap(
            "PublishBatch",
            Some(
                "<Successful><member><Id>a</Id><MessageId>m</MessageId></member></Successful>\
                 <Failed><member><Id>b</Id><Code>InvalidParameter</Code>\
                 <Message>Invalid parameter: Empty message</Message>\
                 <SenderFault>true</SenderFault></member></Failed>"
            )
        )
    );
}

#[test]
fn operations_without_output_write_no_result_element() {
    for operation in Operation::ALL.iter().filter(|op| !op.has_output()) {
        assert_eq!(
            xml(*operation, &()),
            wrap(operation.name(), None),
            "{operation:?}"
        );
    }
    assert_eq!(
        xml(Operation::TagResource, &TagResourceResponse {}),
        wrap("TagResource", Some(""))
    );
}

#[test]
fn errors_carry_the_model_codes_and_statuses() {
    let table = [
        (ErrorCode::NotFound, "NotFound", 404),
        (
            ErrorCode::ParameterValueInvalid,
            "ParameterValueInvalid",
            400,
        ),
        (ErrorCode::Throttled, "Throttled", 429),
        (ErrorCode::InternalError, "InternalError", 500),
        (ErrorCode::KmsOptInRequired, "KMSOptInRequired", 403),
        (
            ErrorCode::FilterPolicyLimitExceeded,
            "FilterPolicyLimitExceeded",
            403,
        ),
    ];
    for (code, name, status) in table {
        assert_eq!((code.query_code(), code.status()), (name, status));
        assert_eq!(ErrorCode::from_code(name), Some(code));
    }
    let body = Error::topic_not_found().xml_body(REQUEST_ID);
    assert_eq!(
        std::str::from_utf8(&body).unwrap(),
        format!(
            "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error>\
             <Type>Sender</Type><Code>NotFound</Code><Message>Topic does not exist</Message>\
             <Detail/></Error><RequestId>{REQUEST_ID}</RequestId></ErrorResponse>"
        )
    );
    assert_eq!(
        Error::invalid_action("Frobnicate").message,
        "Could not find operation Frobnicate for version 2010-03-31"
    );
    assert_eq!(
        ErrorCode::InternalError.fault(),
        crate::aws::Fault::Receiver
    );
}

#[test]
fn timestamps_are_millisecond_iso8601() {
    assert_eq!(envelope::iso8601_millis(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(
        envelope::iso8601_millis(1_335_920_046_655),
        "2012-05-02T00:54:06.655Z"
    );
}

#[test]
fn notifications_sign_and_serialize_in_aws_order() {
    let mut attributes = MessageAttributeMap::new();
    attributes.insert(
        "k".to_owned(),
        MessageAttributeValue {
            data_type: "String".to_owned(),
            string_value: Some("v".to_owned()),
            binary_value: None,
        },
    );
    let notification = envelope::Envelope {
        kind: envelope::Kind::Notification,
        message_id: "id".to_owned(),
        token: None,
        topic_arn: TOPIC.to_owned(),
        subject: None,
        message: "hi".to_owned(),
        subscribe_url: None,
        timestamp_ms: 1_335_920_046_655,
        sequence_number: None,
        signature_version: Some("1".to_owned()),
        signing_cert_url: Some("https://c/cert.pem".to_owned()),
        unsubscribe_url: Some("https://u".to_owned()),
        message_attributes: attributes,
    };
    assert_eq!(
        envelope::string_to_sign(&notification),
        format!(
            "Message\nhi\nMessageId\nid\nTimestamp\n2012-05-02T00:54:06.655Z\nTopicArn\n{TOPIC}\n\
             Type\nNotification\n"
        )
    );
    let json = notification.to_json(Some("sig"));
    let keys: Vec<String> = json
        .lines()
        .filter_map(|line| line.strip_prefix("  \""))
        .filter_map(|line| line.split('"').next().map(str::to_owned))
        .collect();
    assert_eq!(
        keys,
        [
            "Type",
            "MessageId",
            "TopicArn",
            "Message",
            "Timestamp",
            "SignatureVersion",
            "Signature",
            "SigningCertURL",
            "UnsubscribeURL",
            "MessageAttributes"
        ]
    );
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["MessageAttributes"]["k"]["Value"], "v");
}

#[test]
fn message_structure_json_needs_a_default_string() {
    let bodies = envelope::message_structure_json(r#"{"default":"d","sqs":"q","x":1}"#).unwrap();
    assert_eq!(bodies, pairs(&[("default", "d"), ("sqs", "q")]));
    assert_eq!(
        envelope::message_structure_json(r#"{"sqs":"q"}"#)
            .unwrap_err()
            .message,
        "Invalid parameter: Message Structure - No default entry in JSON message body"
    );
    assert_eq!(
        envelope::message_structure_json("nope")
            .unwrap_err()
            .message,
        "Invalid parameter: Message Structure - JSON message body failed to parse"
    );
    for not_an_object in ["[1]", "\"text\""] {
        assert!(envelope::message_structure_json(not_an_object).is_err());
    }
    assert!(
        envelope::message_structure_json(r#"{"default":"a","sqs":"b","default":"c"}"#)
            .unwrap_err()
            .message
            .contains("Duplicate key default")
    );
}

#[test]
fn the_default_http_policy_retries_three_times_twenty_seconds_apart() {
    use std::time::Duration;
    let policy = delivery_policy::effective(None, None);
    let delays: Vec<_> = (0..5).map(|n| policy.delay_before_attempt(n)).collect();
    let twenty = Some(Duration::from_secs(20));
    assert_eq!(delays, [Some(Duration::ZERO), twenty, twenty, twenty, None]);
}

#[test]
fn every_backoff_function_runs_through_the_four_phases() {
    use std::time::Duration;
    for function in ["linear", "arithmetic", "geometric", "exponential"] {
        let policy = delivery_policy::parse_subscription_policy(&format!(
            r#"{{"healthyRetryPolicy":{{"minDelayTarget":1,"maxDelayTarget":60,"numRetries":8,
            "numNoDelayRetries":1,"numMinDelayRetries":2,"numMaxDelayRetries":1,
            "backoffFunction":"{function}"}}}}"#
        ))
        .unwrap();
        let effective = delivery_policy::effective(None, Some(&policy));
        let delays: Vec<_> = (0..=8)
            .map(|n| effective.delay_before_attempt(n).unwrap())
            .collect();
        let secs = Duration::from_secs;
        assert_eq!(
            &delays[..4],
            [Duration::ZERO, Duration::ZERO, secs(1), secs(1)]
        );
        assert_eq!(delays[7], secs(60), "{function}: backoff ends at max");
        assert_eq!(delays[8], secs(60), "{function}: post-backoff at max");
        assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{function}");
        assert_eq!(effective.delay_before_attempt(9), None);
    }
}

#[test]
fn jitter_shortens_delays_by_at_most_a_tenth_and_never_below_the_minimum() {
    use std::time::Duration;
    let policy = delivery_policy::parse_subscription_policy(
        r#"{"healthyRetryPolicy":{"minDelayTarget":10,"maxDelayTarget":100,"numRetries":4,
        "numNoDelayRetries":1,"numMinDelayRetries":0,"numMaxDelayRetries":0,
        "backoffFunction":"linear"}}"#,
    )
    .unwrap();
    let effective = delivery_policy::effective(None, Some(&policy));
    for attempt in 0..=4 {
        let exact = effective.delay_before_attempt(attempt).unwrap();
        let none = effective
            .jittered_delay_before_attempt(attempt, 0.0)
            .unwrap();
        let most = effective
            .jittered_delay_before_attempt(attempt, 1.0)
            .unwrap();
        assert_eq!(none, exact);
        assert!(
            most <= exact && most >= exact.mul_f64(0.9),
            "{attempt}: {most:?}"
        );
        assert!(exact < Duration::from_secs(10) || most >= Duration::from_secs(10));
    }
    let last = effective.jittered_delay_before_attempt(4, 0.5).unwrap();
    assert_eq!(last, Duration::from_secs(95));
    assert_eq!(effective.jittered_delay_before_attempt(5, 0.5), None);
    // The default policy (20 s, 20 s) has no room below its minimum.
    let default = delivery_policy::effective(None, None);
    assert_eq!(
        default.jittered_delay_before_attempt(1, 1.0),
        Some(Duration::from_secs(20))
    );
}

#[test]
fn delivery_policies_are_validated_and_overridden_as_aws_does() {
    let error = delivery_policy::parse_subscription_policy(
        r#"{"healthyRetryPolicy":{"maxDelayTarget":20,"numRetries":3}}"#,
    )
    .unwrap_err();
    assert_eq!(
        error.message,
        "Invalid parameter: DeliveryPolicy Reason: healthyRetryPolicy.minDelayTarget must be \
         specified"
    );
    assert!(
        delivery_policy::parse_subscription_policy(
            r#"{"healthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":101}}"#
        )
        .is_err()
    );
    assert!(
        delivery_policy::parse_subscription_policy(
            r#"{"healthyRetryPolicy":{"minDelayTarget":3600,"maxDelayTarget":3600,"numRetries":2}}"#
        )
        .is_err(),
        "total over 3600 s"
    );
    let topic = delivery_policy::parse_topic_policy(
        r#"{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":5,"maxDelayTarget":5,
        "numRetries":1},"disableSubscriptionOverrides":true}}"#,
    )
    .unwrap();
    let subscription = delivery_policy::parse_subscription_policy(
        r#"{"healthyRetryPolicy":{"minDelayTarget":9,"maxDelayTarget":9,"numRetries":2}}"#,
    )
    .unwrap();
    let effective = delivery_policy::effective(Some(&topic), Some(&subscription));
    assert_eq!(effective.retry.min_delay_target, 5);
    assert!(
        effective
            .topic_json()
            .starts_with("{\"http\":{\"defaultHealthyRetryPolicy\":{\"minDelayTarget\":5")
    );
    let parsed: serde_json::Value = serde_json::from_str(&effective.subscription_json()).unwrap();
    assert_eq!(parsed["healthyRetryPolicy"]["numRetries"], 1);
}

#[test]
fn publish_checks_answer_as_aws_does() {
    let none = MessageAttributeMap::new();
    assert_eq!(
        message::validate_message("", &none, 10)
            .unwrap_err()
            .message,
        "Invalid parameter: Empty message"
    );
    assert_eq!(
        message::validate_message("hello", &none, 4)
            .unwrap_err()
            .message,
        "Invalid parameter: Message too long"
    );
    assert!(message::validate_subject("Hello world").is_ok());
    assert!(message::validate_subject("two\nlines").is_err());
    assert!(message::validate_subject(&"x".repeat(100)).is_err());
    let mut attributes = MessageAttributeMap::new();
    attributes.insert(
        "list".to_owned(),
        MessageAttributeValue {
            data_type: "String.Array".to_owned(),
            string_value: Some("[1,\"a\"]".to_owned()),
            binary_value: None,
        },
    );
    assert!(message::validate_attributes(&attributes).is_ok());
    attributes.insert(
        "AWS.x".to_owned(),
        MessageAttributeValue {
            data_type: "String".to_owned(),
            string_value: Some("v".to_owned()),
            binary_value: None,
        },
    );
    assert_eq!(
        message::validate_attributes(&attributes).unwrap_err().code,
        ErrorCode::ParameterValueInvalid
    );
    let entry = |id: &str| PublishBatchRequestEntry {
        id: id.to_owned(),
        message: "m".to_owned(),
        ..PublishBatchRequestEntry::default()
    };
    assert_eq!(
        message::validate_batch(&[]).unwrap_err().code,
        ErrorCode::EmptyBatchRequest
    );
    assert_eq!(
        message::validate_batch(&[entry("a"), entry("a")])
            .unwrap_err()
            .code,
        ErrorCode::BatchEntryIdsNotDistinct
    );
    assert_eq!(
        message::validate_batch(&[entry("a b")]).unwrap_err().code,
        ErrorCode::InvalidBatchEntryId
    );
    assert_eq!(
        message::validate_fifo_ids(true, false, None, None)
            .unwrap_err()
            .message,
        "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"
    );
    assert!(message::validate_fifo_ids(true, true, Some("g"), None).is_ok());
}

#[test]
fn topic_names_arns_and_attributes_are_checked() {
    assert!(attributes::validate_topic_name("orders", false).is_ok());
    assert!(attributes::validate_topic_name("orders.fifo", true).is_ok());
    assert_eq!(
        attributes::validate_topic_name("orders.fifo", false)
            .unwrap_err()
            .message,
        "Invalid parameter: Topic Name"
    );
    assert!(attributes::validate_topic_name("orders", true).is_err());
    assert_eq!(
        attributes::parse_topic_arn(TOPIC),
        Some(("us-east-1", "123456789012", "t"))
    );
    let subscription = attributes::subscription_arn(TOPIC, "abc");
    assert_eq!(
        attributes::parse_subscription_arn(&subscription),
        Some((TOPIC, "abc"))
    );
    assert!(attributes::validate_topic_attribute("SignatureVersion", "2", false).is_ok());
    assert!(attributes::validate_topic_attribute("SignatureVersion", "3", false).is_err());
    assert!(
        attributes::validate_topic_attribute("ContentBasedDeduplication", "true", false).is_err()
    );
    assert!(
        attributes::validate_topic_attribute(
            "ArchivePolicy",
            r#"{"MessageRetentionPeriod":"30"}"#,
            true
        )
        .is_ok()
    );
    assert!(attributes::validate_subscription_attribute("RawMessageDelivery", "yes").is_err());
    assert!(
        attributes::validate_subscription_attribute(
            "RedrivePolicy",
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:dlq"}"#
        )
        .is_ok()
    );
}
