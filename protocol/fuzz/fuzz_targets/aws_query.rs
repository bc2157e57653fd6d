//! Any form body or query string: `parse_form` answers a `Form` or a `QueryError`, never
//! panics, and gives the same answer twice; a parsed form decodes into representative SQS and
//! SNS request shapes (flattened lists and maps, `member` lists, `entry` maps, numbers, bools,
//! blobs, nested structures) the same way twice.
//!
//! Seeds worth starting from are the bodies botocore sends, e.g.
//! `Action=SendMessage&QueueUrl=q&MessageBody=hi&MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=x`.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use protocol::aws::body::Blob;
use protocol::aws::query::{Form, parse_form};
use serde::Deserialize;
use serde::de::DeserializeOwned;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code, reason = "fields exist to be decoded")]
struct MessageAttributeValue {
    data_type: String,
    string_value: Option<String>,
    binary_value: Option<Blob>,
    #[serde(alias = "StringListValue")]
    string_list_values: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code, reason = "fields exist to be decoded")]
struct SendMessageBatchRequestEntry {
    id: String,
    message_body: String,
    delay_seconds: Option<i32>,
    #[serde(alias = "MessageAttribute")]
    message_attributes: Option<BTreeMap<String, MessageAttributeValue>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code, reason = "fields exist to be decoded")]
struct SendMessageBatchRequest {
    queue_url: String,
    #[serde(alias = "SendMessageBatchRequestEntry")]
    entries: Vec<SendMessageBatchRequestEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code, reason = "fields exist to be decoded")]
struct ReceiveMessageRequest {
    queue_url: String,
    #[serde(alias = "AttributeName")]
    attribute_names: Option<Vec<String>>,
    max_number_of_messages: Option<i32>,
    wait_time_seconds: Option<u64>,
    visibility_timeout: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code, reason = "fields exist to be decoded")]
struct Tag {
    key: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code, reason = "fields exist to be decoded")]
struct CreateTopicInput {
    name: String,
    attributes: Option<BTreeMap<String, String>>,
    tags: Option<Vec<Tag>>,
    fifo: Option<bool>,
}

/// Decodes `form` as `T` twice and checks both attempts agree.
fn check<T: DeserializeOwned + std::fmt::Debug>(form: &Form) {
    let first = form.decode::<T>().map(|value| format!("{value:?}"));
    let second = form.decode::<T>().map(|value| format!("{value:?}"));
    assert_eq!(first, second, "decoding is not deterministic");
}

fuzz_target!(|input: &[u8]| {
    let first = parse_form(input);
    assert_eq!(first, parse_form(input), "parsing is not deterministic");
    if let Ok(form) = first {
        let _ = (form.action(), form.version(), form.len());
        check::<SendMessageBatchRequest>(&form);
        check::<ReceiveMessageRequest>(&form);
        check::<CreateTopicInput>(&form);
    }
});
