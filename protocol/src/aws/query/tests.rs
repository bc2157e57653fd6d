use std::collections::BTreeMap;

use base64::Engine as _;
use bytes::Bytes;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use super::*;
use crate::aws::body::Blob;

// --- Shapes as the JSON path declares them, with query locationNames as aliases. ---

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct MessageAttributeValue {
    data_type: String,
    string_value: Option<String>,
    binary_value: Option<Blob>,
    #[serde(alias = "StringListValue")]
    string_list_values: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct SendMessageRequest {
    queue_url: String,
    message_body: String,
    delay_seconds: Option<i32>,
    #[serde(alias = "MessageAttribute")]
    message_attributes: Option<BTreeMap<String, MessageAttributeValue>>,
    message_group_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReceiveMessageRequest {
    queue_url: String,
    #[serde(alias = "AttributeName")]
    attribute_names: Option<Vec<String>>,
    #[serde(alias = "MessageAttributeName")]
    message_attribute_names: Option<Vec<String>>,
    max_number_of_messages: Option<i32>,
    wait_time_seconds: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct SnsMessageAttributeValue {
    data_type: String,
    string_value: Option<String>,
    binary_value: Option<Blob>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct PublishInput {
    topic_arn: Option<String>,
    message: String,
    subject: Option<String>,
    message_attributes: Option<BTreeMap<String, SnsMessageAttributeValue>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
struct CreateTopicInput {
    name: String,
    attributes: Option<BTreeMap<String, String>>,
    tags: Option<Vec<Tag>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Flags {
    content_based_deduplication: Option<bool>,
    retention_hours: Option<u64>,
    ratio: Option<f64>,
}

fn decode<T: DeserializeOwned>(form: &str) -> Result<T, QueryError> {
    parse_form(form.as_bytes())?.decode()
}

// --- Parsing ---

#[test]
fn send_message_with_attributes_decodes() {
    let form = parse_form(
        b"Action=SendMessage&Version=2012-11-05\
          &QueueUrl=http%3A%2F%2Flocalhost%3A4566%2F000000000000%2Fq&MessageBody=hi+there%21\
          &DelaySeconds=5\
          &MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=String\
          &MessageAttribute.1.Value.StringValue=x\
          &MessageAttribute.2.Name=b&MessageAttribute.2.Value.DataType=Binary\
          &MessageAttribute.2.Value.BinaryValue=AAEC",
    )
    .expect("parses");
    assert_eq!(form.action(), Some("SendMessage"));
    assert_eq!(form.version(), Some("2012-11-05"));
    assert_eq!(form.get("MessageAttribute.1.Name"), Some("a"));
    assert_eq!(form.len(), 11);
    let request: SendMessageRequest = form.decode().expect("decodes");
    let mut attributes = BTreeMap::new();
    attributes.insert(
        "a".to_owned(),
        MessageAttributeValue {
            data_type: "String".to_owned(),
            string_value: Some("x".to_owned()),
            ..MessageAttributeValue::default()
        },
    );
    attributes.insert(
        "b".to_owned(),
        MessageAttributeValue {
            data_type: "Binary".to_owned(),
            binary_value: Some(Blob(Bytes::from_static(&[0, 1, 2]))),
            ..MessageAttributeValue::default()
        },
    );
    assert_eq!(
        request,
        SendMessageRequest {
            queue_url: "http://localhost:4566/000000000000/q".to_owned(),
            message_body: "hi there!".to_owned(),
            delay_seconds: Some(5),
            message_attributes: Some(attributes),
            message_group_id: None,
        }
    );
}

#[test]
fn receive_message_lists_follow_index_order_not_text_order() {
    let names: String = (1..=11)
        .rev()
        .map(|i| format!("&MessageAttributeName.{i}=n{i}"))
        .collect();
    let request: ReceiveMessageRequest = decode(&format!(
        "Action=ReceiveMessage&QueueUrl=q&AttributeName.2=SentTimestamp&AttributeName.1=All\
         &MaxNumberOfMessages=10&WaitTimeSeconds=20{names}"
    ))
    .expect("decodes");
    assert_eq!(
        request.attribute_names,
        Some(vec!["All".to_owned(), "SentTimestamp".to_owned()])
    );
    let expected: Vec<String> = (1..=11).map(|i| format!("n{i}")).collect();
    assert_eq!(request.message_attribute_names, Some(expected));
    assert_eq!(request.max_number_of_messages, Some(10));
    assert_eq!(request.wait_time_seconds, Some(20));
}

#[test]
fn member_lists_and_entry_maps_decode_as_sns_writes_them() {
    let request: CreateTopicInput = decode(
        "Action=CreateTopic&Version=2010-03-31&Name=orders\
         &Attributes.entry.1.key=FifoTopic&Attributes.entry.1.value=true\
         &Attributes.entry.2.key=DisplayName&Attributes.entry.2.value=Orders\
         &Tags.member.1.Key=team&Tags.member.1.Value=core\
         &Tags.member.2.Key=env&Tags.member.2.Value=prod",
    )
    .expect("decodes");
    let mut attributes = BTreeMap::new();
    attributes.insert("FifoTopic".to_owned(), "true".to_owned());
    attributes.insert("DisplayName".to_owned(), "Orders".to_owned());
    assert_eq!(request.attributes, Some(attributes));
    assert_eq!(
        request.tags,
        Some(vec![
            Tag {
                key: "team".to_owned(),
                value: "core".to_owned()
            },
            Tag {
                key: "env".to_owned(),
                value: "prod".to_owned()
            },
        ])
    );
}

#[test]
fn sns_publish_message_attributes_decode_from_entries() {
    let request: PublishInput = decode(
        "Action=Publish&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At&Message=m\
         &MessageAttributes.entry.1.Name=k&MessageAttributes.entry.1.Value.DataType=Number\
         &MessageAttributes.entry.1.Value.StringValue=42",
    )
    .expect("decodes");
    assert_eq!(
        request.topic_arn.as_deref(),
        Some("arn:aws:sns:us-east-1:000000000000:t")
    );
    let attributes = request.message_attributes.expect("attributes");
    assert_eq!(
        attributes.get("k"),
        Some(&SnsMessageAttributeValue {
            data_type: "Number".to_owned(),
            string_value: Some("42".to_owned()),
            binary_value: None,
        })
    );
}

#[test]
fn map_entry_names_match_case_insensitively() {
    let request: CreateTopicInput =
        decode("Name=t&Attributes.1.Key=a&Attributes.1.VALUE=b").expect("decodes");
    assert_eq!(
        request.attributes.and_then(|map| map.get("a").cloned()),
        Some("b".to_owned())
    );
}

#[test]
fn empty_list_marker_decodes_as_an_empty_list() {
    // botocore writes an empty list as `Name=`.
    let request: ReceiveMessageRequest = decode("QueueUrl=q&AttributeNames=").expect("decodes");
    assert_eq!(request.attribute_names, Some(Vec::new()));
}

#[test]
fn unknown_keys_and_empty_pairs_are_ignored() {
    let request: ReceiveMessageRequest =
        decode("&QueueUrl=q&&Unknown.1.Deep=x&Signature=abc&").expect("decodes");
    assert_eq!(request.queue_url, "q");
}

#[test]
fn absent_options_are_none() {
    let request: SendMessageRequest = decode("QueueUrl=q&MessageBody=b").expect("decodes");
    assert_eq!(request.delay_seconds, None);
    assert_eq!(request.message_attributes, None);
}

#[test]
fn scalars_parse_from_text() {
    let flags: Flags =
        decode("ContentBasedDeduplication=TRUE&RetentionHours=168&Ratio=0.5").expect("decodes");
    assert_eq!(flags.content_based_deduplication, Some(true));
    assert_eq!(flags.retention_hours, Some(168));
    assert_eq!(flags.ratio, Some(0.5));
}

#[test]
fn percent_plus_is_a_plus_and_plus_is_a_space() {
    let form = parse_form(b"A=1%2B1+%3D+2&B%2EC=dot").expect("parses");
    assert_eq!(form.get("A"), Some("1+1 = 2"));
    // A `.` written as `%2E` still splits the key: the key is split after decoding.
    assert_eq!(form.get("B.C"), Some("dot"));
}

#[test]
fn pair_without_equals_has_an_empty_value() {
    let form = parse_form(b"Action").expect("parses");
    assert_eq!(form.action(), Some(""));
}

// --- Refusals ---

fn malformed(bytes: &[u8]) -> String {
    match parse_form(bytes) {
        Err(QueryError::MalformedQueryString(message)) => message,
        other => panic!("expected MalformedQueryString, got {other:?}"),
    }
}

#[test]
fn bad_percent_escapes_are_refused() {
    for input in [&b"A=%"[..], b"A=%4", b"A=%zz", b"A%=1", b"A=%4g"] {
        assert_eq!(
            malformed(input),
            "A % is not followed by two hexadecimal digits."
        );
    }
}

#[test]
fn non_utf8_is_refused() {
    assert_eq!(malformed(b"A=%FF"), "A parameter is not valid UTF-8.");
    assert_eq!(malformed(b"A=\xc3"), "A parameter is not valid UTF-8.");
}

#[test]
fn duplicate_keys_are_refused() {
    assert_eq!(
        malformed(b"A=1&B=2&A=3"),
        "Parameter A is given more than once."
    );
    // The same key spelled two ways is still one key.
    assert_eq!(
        malformed(b"A=1&%41=1"),
        "Parameter A is given more than once."
    );
}

#[test]
fn a_member_under_both_its_name_and_its_alias_is_refused() {
    let result = decode::<ReceiveMessageRequest>(
        "QueueUrl=q&AttributeName.1=All&AttributeNames.member.1=All",
    );
    assert_eq!(
        result,
        Err(QueryError::MalformedQueryString(
            "Parameter AttributeNames is given more than once.".to_owned()
        ))
    );
}

#[test]
fn empty_key_segments_are_refused() {
    assert_eq!(malformed(b"=1"), "A parameter name is empty.");
    assert_eq!(malformed(b"A..B=1"), "Parameter A..B has an empty part.");
    assert_eq!(malformed(b"A.=1"), "Parameter A. has an empty part.");
}

#[test]
fn pair_count_is_bounded() {
    let at_limit: String = (0..FORM_PAIRS_MAX).map(|i| format!("K{i}=v&")).collect();
    assert_eq!(
        parse_form(at_limit.as_bytes()).map(|form| form.len()),
        Ok(FORM_PAIRS_MAX)
    );
    let over = format!("{at_limit}Z=1");
    assert_eq!(
        malformed(over.as_bytes()),
        "The request has more than 4096 parameters."
    );
}

#[test]
fn key_length_and_depth_are_bounded() {
    let at_limit = format!("{}=1", "k".repeat(FORM_KEY_BYTES_MAX));
    assert!(parse_form(at_limit.as_bytes()).is_ok());
    let over = format!("{}=1", "k".repeat(FORM_KEY_BYTES_MAX + 1));
    assert_eq!(
        malformed(over.as_bytes()),
        "A parameter name is longer than 256 bytes."
    );
    let deep = ["a"; FORM_KEY_SEGMENTS_MAX].join(".");
    assert!(parse_form(format!("{deep}=1").as_bytes()).is_ok());
    let deeper = format!("{deep}.a=1");
    assert_eq!(
        malformed(deeper.as_bytes()),
        format!(
            "Parameter {} has more than 12 parts.",
            &deeper[..deeper.len() - 2]
        )
    );
}

#[test]
fn list_indices_must_run_from_one_without_gaps() {
    let gap = decode::<ReceiveMessageRequest>("QueueUrl=q&AttributeName.1=All&AttributeName.3=x");
    assert_eq!(
        gap,
        Err(QueryError::MalformedQueryString(
            "Parameter AttributeName.3 is not a list element: indices run from 1 to 2 without gaps."
                .to_owned()
        ))
    );
    for bad in [
        "AttributeName.0=x",
        "AttributeName.01=x",
        "AttributeName.x=x",
        "AttributeName.+1=x",
    ] {
        let result = decode::<ReceiveMessageRequest>(&format!("QueueUrl=q&{bad}"));
        assert!(
            matches!(result, Err(QueryError::MalformedQueryString(_))),
            "{bad}: {result:?}"
        );
    }
    let mixed =
        decode::<CreateTopicInput>("Name=t&Tags.member.1.Key=a&Tags.member.1.Value=b&Tags.2.Key=c");
    assert_eq!(
        mixed,
        Err(QueryError::MalformedQueryString(
            "Parameter Tags mixes member and flattened list elements.".to_owned()
        ))
    );
}

#[test]
fn bad_numbers_are_invalid_parameter_values() {
    let error =
        decode::<ReceiveMessageRequest>("QueueUrl=q&MaxNumberOfMessages=ten").expect_err("refused");
    assert_eq!(error.code(), "InvalidParameterValue");
    assert_eq!(
        error.to_string(),
        "Value ten for parameter MaxNumberOfMessages is invalid. Reason: must be an integer."
    );
    let error = decode::<Flags>("RetentionHours=-1").expect_err("refused");
    assert_eq!(
        error.to_string(),
        "Value -1 for parameter RetentionHours is invalid. Reason: must be a non-negative integer."
    );
    let error = decode::<Flags>("ContentBasedDeduplication=yes").expect_err("refused");
    assert_eq!(
        error.to_string(),
        "Value yes for parameter ContentBasedDeduplication is invalid. Reason: must be true or false."
    );
}

#[test]
fn bad_base64_names_the_parameter() {
    let error = decode::<SendMessageRequest>(
        "QueueUrl=q&MessageBody=b&MessageAttribute.1.Name=a\
         &MessageAttribute.1.Value.DataType=Binary&MessageAttribute.1.Value.BinaryValue=%21%21",
    )
    .expect_err("refused");
    assert_eq!(
        error,
        QueryError::InvalidParameterValue {
            parameter: "MessageAttribute.1.Value.BinaryValue".to_owned(),
            value: "!!".to_owned(),
            reason: "Base64 encoded data is not valid".to_owned(),
        }
    );
}

#[test]
fn missing_members_name_their_full_key() {
    let error = decode::<SendMessageRequest>("QueueUrl=q").expect_err("refused");
    assert_eq!(error.code(), "MissingParameter");
    assert_eq!(
        error.to_string(),
        "The request must contain the parameter MessageBody."
    );
    let error = decode::<SendMessageRequest>(
        "QueueUrl=q&MessageBody=b&MessageAttribute.1.Name=a&MessageAttribute.1.Value.StringValue=x",
    )
    .expect_err("refused");
    assert_eq!(
        error,
        QueryError::MissingParameter {
            parameter: "MessageAttribute.1.Value.DataType".to_owned()
        }
    );
    let error = decode::<SendMessageRequest>(
        "QueueUrl=q&MessageBody=b&MessageAttribute.1.Value.DataType=String",
    )
    .expect_err("refused");
    assert_eq!(
        error,
        QueryError::MissingParameter {
            parameter: "MessageAttribute.1.Name".to_owned()
        }
    );
}

#[test]
fn a_structure_where_text_is_expected_is_invalid() {
    let error = decode::<SendMessageRequest>("QueueUrl.1=q&MessageBody=b").expect_err("refused");
    assert_eq!(
        error,
        QueryError::InvalidParameterValue {
            parameter: "QueueUrl".to_owned(),
            value: String::new(),
            reason: "expected a single value".to_owned(),
        }
    );
}

// --- Round trip through a form encoder that mirrors botocore's QuerySerializer ---

/// Pairs as botocore's `QuerySerializer` writes them.
#[derive(Default)]
struct FormWriter {
    pairs: Vec<(String, String)>,
}

impl FormWriter {
    fn scalar(&mut self, key: &str, value: impl ToString) {
        self.pairs.push((key.to_owned(), value.to_string()));
    }

    fn option<T>(&mut self, key: &str, value: Option<&T>, write: impl FnOnce(&mut Self, &str, &T)) {
        if let Some(value) = value {
            write(self, key, value);
        }
    }

    /// `_serialize_type_list`: an empty list is `prefix=`; a flattened list replaces the last
    /// segment with the member's locationName; otherwise `prefix.member.N`.
    fn list<T>(
        &mut self,
        prefix: &str,
        flattened_name: Option<&str>,
        items: &[T],
        mut write: impl FnMut(&mut Self, &str, &T),
    ) {
        if items.is_empty() {
            self.scalar(prefix, "");
            return;
        }
        let list_prefix = match flattened_name {
            Some(name) => match prefix.rsplit_once('.') {
                Some((parent, _)) => format!("{parent}.{name}"),
                None => name.to_owned(),
            },
            None => format!("{prefix}.member"),
        };
        for (i, item) in items.iter().enumerate() {
            write(self, &format!("{list_prefix}.{}", i + 1), item);
        }
    }

    /// `_serialize_type_map`: `prefix.N.key` flattened, `prefix.entry.N.key` otherwise.
    fn map<V>(
        &mut self,
        prefix: &str,
        flattened: bool,
        names: (&str, &str),
        map: &BTreeMap<String, V>,
        mut write: impl FnMut(&mut Self, &str, &V),
    ) {
        let full = if flattened {
            prefix.to_owned()
        } else {
            format!("{prefix}.entry")
        };
        for (i, (key, value)) in map.iter().enumerate() {
            self.scalar(&format!("{full}.{}.{}", i + 1, names.0), key);
            write(self, &format!("{full}.{}.{}", i + 1, names.1), value);
        }
    }

    fn encode(&self, plus_for_space: bool) -> String {
        let mut out = String::new();
        for (key, value) in &self.pairs {
            if !out.is_empty() {
                out.push('&');
            }
            percent_encode(&mut out, key, plus_for_space);
            out.push('=');
            percent_encode(&mut out, value, plus_for_space);
        }
        out
    }
}

fn percent_encode(out: &mut String, text: &str, plus_for_space: bool) {
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            b' ' if plus_for_space => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
}

fn write_attribute(form: &mut FormWriter, prefix: &str, value: &MessageAttributeValue) {
    form.scalar(&format!("{prefix}.DataType"), &value.data_type);
    form.option(
        &format!("{prefix}.StringValue"),
        value.string_value.as_ref(),
        |f, k, v| {
            f.scalar(k, v);
        },
    );
    form.option(
        &format!("{prefix}.BinaryValue"),
        value.binary_value.as_ref(),
        |f, k, v| {
            f.scalar(k, base64::engine::general_purpose::STANDARD.encode(&v.0));
        },
    );
    form.option(
        &format!("{prefix}.StringListValues"),
        value.string_list_values.as_ref(),
        |f, k, v| {
            f.list(k, Some("StringListValue"), v, |f, k, v| f.scalar(k, v));
        },
    );
}

fn write_send_message(request: &SendMessageRequest) -> FormWriter {
    let mut form = FormWriter::default();
    form.scalar("Action", "SendMessage");
    form.scalar("Version", "2012-11-05");
    form.scalar("QueueUrl", &request.queue_url);
    form.scalar("MessageBody", &request.message_body);
    form.option("DelaySeconds", request.delay_seconds.as_ref(), |f, k, v| {
        f.scalar(k, v)
    });
    form.option(
        "MessageAttribute",
        request.message_attributes.as_ref(),
        |f, k, v| {
            f.map(k, true, ("Name", "Value"), v, write_attribute);
        },
    );
    form.option(
        "MessageGroupId",
        request.message_group_id.as_ref(),
        |f, k, v| f.scalar(k, v),
    );
    form
}

fn write_create_topic(request: &CreateTopicInput) -> FormWriter {
    let mut form = FormWriter::default();
    form.scalar("Action", "CreateTopic");
    form.scalar("Name", &request.name);
    form.option("Attributes", request.attributes.as_ref(), |f, k, v| {
        f.map(k, false, ("key", "value"), v, |f, k, v| f.scalar(k, v));
    });
    form.option("Tags", request.tags.as_ref(), |f, k, v| {
        f.list(k, None, v, |f, k, tag| {
            f.scalar(&format!("{k}.Key"), &tag.key);
            f.scalar(&format!("{k}.Value"), &tag.value);
        });
    });
    form
}

fn write_receive_message(request: &ReceiveMessageRequest) -> FormWriter {
    let mut form = FormWriter::default();
    form.scalar("QueueUrl", &request.queue_url);
    form.option(
        "AttributeNames",
        request.attribute_names.as_ref(),
        |f, k, v| {
            f.list(k, Some("AttributeName"), v, |f, k, v| f.scalar(k, v));
        },
    );
    form.option(
        "MessageAttributeNames",
        request.message_attribute_names.as_ref(),
        |f, k, v| {
            f.list(k, Some("MessageAttributeName"), v, |f, k, v| f.scalar(k, v));
        },
    );
    form.option(
        "MaxNumberOfMessages",
        request.max_number_of_messages.as_ref(),
        |f, k, v| {
            f.scalar(k, v);
        },
    );
    form.option(
        "WaitTimeSeconds",
        request.wait_time_seconds.as_ref(),
        |f, k, v| f.scalar(k, v),
    );
    form
}

fn text() -> impl Strategy<Value = String> {
    any::<String>()
}

fn attribute_value() -> impl Strategy<Value = MessageAttributeValue> {
    (
        text(),
        proptest::option::of(text()),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
        proptest::option::of(proptest::collection::vec(text(), 0..12)),
    )
        .prop_map(
            |(data_type, string_value, binary_value, string_list_values)| MessageAttributeValue {
                data_type,
                string_value,
                binary_value: binary_value.map(|bytes| Blob(Bytes::from(bytes))),
                string_list_values,
            },
        )
}

fn send_message() -> impl Strategy<Value = SendMessageRequest> {
    (
        text(),
        text(),
        proptest::option::of(any::<i32>()),
        proptest::option::of(proptest::collection::btree_map(
            text(),
            attribute_value(),
            1..12,
        )),
        proptest::option::of(text()),
    )
        .prop_map(
            |(queue_url, message_body, delay_seconds, message_attributes, message_group_id)| {
                SendMessageRequest {
                    queue_url,
                    message_body,
                    delay_seconds,
                    message_attributes,
                    message_group_id,
                }
            },
        )
}

fn create_topic() -> impl Strategy<Value = CreateTopicInput> {
    (
        text(),
        proptest::option::of(proptest::collection::btree_map(text(), text(), 1..12)),
        proptest::option::of(proptest::collection::vec(
            (text(), text()).prop_map(|(key, value)| Tag { key, value }),
            0..12,
        )),
    )
        .prop_map(|(name, attributes, tags)| CreateTopicInput {
            name,
            attributes,
            tags,
        })
}

fn receive_message() -> impl Strategy<Value = ReceiveMessageRequest> {
    (
        text(),
        proptest::option::of(proptest::collection::vec(text(), 0..12)),
        proptest::option::of(proptest::collection::vec(text(), 0..12)),
        proptest::option::of(any::<i32>()),
        proptest::option::of(any::<i32>()),
    )
        .prop_map(
            |(queue_url, attribute_names, message_attribute_names, max, wait)| {
                ReceiveMessageRequest {
                    queue_url,
                    attribute_names,
                    message_attribute_names,
                    max_number_of_messages: max,
                    wait_time_seconds: wait,
                }
            },
        )
}

proptest! {
    #[test]
    fn send_message_round_trips_through_a_botocore_form(
        request in send_message(),
        plus in any::<bool>(),
    ) {
        let body = write_send_message(&request).encode(plus);
        let decoded: SendMessageRequest = decode(&body).map_err(|e| TestCaseError::fail(format!("{e}: {body}")))?;
        prop_assert_eq!(decoded, request);
    }

    #[test]
    fn create_topic_round_trips_through_a_botocore_form(
        request in create_topic(),
        plus in any::<bool>(),
    ) {
        let body = write_create_topic(&request).encode(plus);
        let decoded: CreateTopicInput = decode(&body).map_err(|e| TestCaseError::fail(format!("{e}: {body}")))?;
        prop_assert_eq!(decoded, request);
    }

    #[test]
    fn receive_message_round_trips_in_any_pair_order(
        request in receive_message(),
        seed in any::<u64>(),
    ) {
        let mut form = write_receive_message(&request);
        // Pair order carries no meaning: rotate and interleave by the seed.
        let len = form.pairs.len().max(1);
        #[expect(clippy::cast_possible_truncation, reason = "a test's small rotation")]
        form.pairs.rotate_left((seed % len as u64) as usize);
        if seed & 1 == 1 {
            form.pairs.reverse();
        }
        let body = form.encode(seed & 2 == 2);
        let decoded: ReceiveMessageRequest = decode(&body).map_err(|e| TestCaseError::fail(format!("{e}: {body}")))?;
        prop_assert_eq!(decoded, request);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_answer_the_same_twice(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let first = parse_form(&bytes);
        prop_assert_eq!(&first, &parse_form(&bytes));
        if let Ok(form) = first {
            let a = form.decode::<SendMessageRequest>();
            let b = form.decode::<SendMessageRequest>();
            prop_assert_eq!(a, b);
            let _ = form.decode::<CreateTopicInput>();
            let _ = form.decode::<Flags>();
        }
    }
}
