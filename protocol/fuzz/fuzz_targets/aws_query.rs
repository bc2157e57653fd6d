//! Any form body or query string: `parse_form` answers a `Form` or a `QueryError`, never
//! panics, and gives the same answer twice; a parsed form decodes into every SQS request shape
//! (flattened lists and maps, nested message attribute values, numbers, blobs) and a
//! representative SNS shape (`member` lists, `entry` maps, bools) the same way twice, and a
//! decoded SendMessage runs through the SQS message checks and digests without panicking.
//!
//! Seeds worth starting from are the bodies botocore sends, e.g.
//! `Action=SendMessage&QueueUrl=q&MessageBody=hi&MessageAttribute.1.Name=a&MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=x`.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use protocol::aws::query::{Form, parse_form};
use protocol::aws::{sns, sqs};
use serde::Deserialize;
use serde::de::DeserializeOwned;

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
fn check<T: DeserializeOwned + std::fmt::Debug>(form: &Form) -> Option<T> {
    let first = form.decode::<T>();
    let second = form.decode::<T>();
    assert_eq!(
        first.as_ref().map(|value| format!("{value:?}")),
        second.as_ref().map(|value| format!("{value:?}")),
        "decoding is not deterministic"
    );
    first.ok()
}

fuzz_target!(|input: &[u8]| {
    let first = parse_form(input);
    assert_eq!(first, parse_form(input), "parsing is not deterministic");
    let Ok(form) = first else { return };
    let _ = (form.action(), form.version(), form.len());
    check::<sqs::AddPermissionRequest>(&form);
    check::<sqs::CancelMessageMoveTaskRequest>(&form);
    check::<sqs::ChangeMessageVisibilityRequest>(&form);
    check::<sqs::ChangeMessageVisibilityBatchRequest>(&form);
    check::<sqs::DeleteMessageRequest>(&form);
    check::<sqs::DeleteMessageBatchRequest>(&form);
    check::<sqs::DeleteQueueRequest>(&form);
    check::<sqs::GetQueueUrlRequest>(&form);
    check::<sqs::ListDeadLetterSourceQueuesRequest>(&form);
    check::<sqs::ListMessageMoveTasksRequest>(&form);
    check::<sqs::ListQueueTagsRequest>(&form);
    check::<sqs::ListQueuesRequest>(&form);
    check::<sqs::PurgeQueueRequest>(&form);
    check::<sqs::RemovePermissionRequest>(&form);
    check::<sqs::StartMessageMoveTaskRequest>(&form);
    check::<sqs::TagQueueRequest>(&form);
    check::<sqs::UntagQueueRequest>(&form);
    check::<CreateTopicInput>(&form);
    check::<sns::AddPermissionInput>(&form);
    check::<sns::CheckIfPhoneNumberIsOptedOutInput>(&form);
    check::<sns::ConfirmSubscriptionInput>(&form);
    check::<sns::CreatePlatformApplicationInput>(&form);
    check::<sns::CreatePlatformEndpointInput>(&form);
    check::<sns::CreateSmsSandboxPhoneNumberInput>(&form);
    check::<sns::CreateTopicInput>(&form);
    check::<sns::DeleteEndpointInput>(&form);
    check::<sns::DeletePlatformApplicationInput>(&form);
    check::<sns::DeleteSmsSandboxPhoneNumberInput>(&form);
    check::<sns::DeleteTopicInput>(&form);
    check::<sns::GetDataProtectionPolicyInput>(&form);
    check::<sns::GetEndpointAttributesInput>(&form);
    check::<sns::GetPlatformApplicationAttributesInput>(&form);
    check::<sns::GetSmsAttributesInput>(&form);
    check::<sns::GetSmsSandboxAccountStatusInput>(&form);
    check::<sns::GetSubscriptionAttributesInput>(&form);
    check::<sns::GetTopicAttributesInput>(&form);
    check::<sns::ListEndpointsByPlatformApplicationInput>(&form);
    check::<sns::ListOriginationNumbersRequest>(&form);
    check::<sns::ListPhoneNumbersOptedOutInput>(&form);
    check::<sns::ListPlatformApplicationsInput>(&form);
    check::<sns::ListSmsSandboxPhoneNumbersInput>(&form);
    check::<sns::ListSubscriptionsInput>(&form);
    check::<sns::ListSubscriptionsByTopicInput>(&form);
    check::<sns::ListTagsForResourceRequest>(&form);
    check::<sns::ListTopicsInput>(&form);
    check::<sns::OptInPhoneNumberInput>(&form);
    check::<sns::PublishInput>(&form);
    check::<sns::PublishBatchInput>(&form);
    check::<sns::PutDataProtectionPolicyInput>(&form);
    check::<sns::RemovePermissionInput>(&form);
    check::<sns::SetEndpointAttributesInput>(&form);
    check::<sns::SetPlatformApplicationAttributesInput>(&form);
    check::<sns::SetSmsAttributesInput>(&form);
    check::<sns::SetSubscriptionAttributesInput>(&form);
    check::<sns::SetTopicAttributesInput>(&form);
    check::<sns::SubscribeInput>(&form);
    check::<sns::TagResourceRequest>(&form);
    check::<sns::UntagResourceRequest>(&form);
    check::<sns::UnsubscribeInput>(&form);
    check::<sns::VerifySmsSandboxPhoneNumberInput>(&form);
    if let Some(request) = check::<sqs::CreateQueueRequest>(&form) {
        let _ = sqs::attributes::parse_queue_attributes(
            &request.attributes,
            sqs::attributes::Context::Create,
        );
        let _ = sqs::attributes::validate_queue_name(&request.queue_name, true);
    }
    if let Some(request) = check::<sqs::SetQueueAttributesRequest>(&form) {
        let _ = sqs::attributes::parse_queue_attributes(
            &request.attributes,
            sqs::attributes::Context::Set { fifo: false },
        );
    }
    if let Some(request) = check::<sqs::GetQueueAttributesRequest>(&form) {
        let _ = sqs::attributes::parse_attribute_names(&request.attribute_names, true);
    }
    if let Some(request) = check::<sqs::ReceiveMessageRequest>(&form) {
        let _ = sqs::attributes::parse_system_attribute_names(
            request
                .attribute_names
                .iter()
                .chain(&request.message_system_attribute_names),
        );
    }
    if let Some(request) = check::<sqs::SendMessageRequest>(&form) {
        let _ = sqs::message::validate_body(&request.message_body);
        let _ = sqs::message::validate_attributes(&request.message_attributes);
        let _ = sqs::message::validate_system_attributes(&request.message_system_attributes);
        let size = sqs::message::message_size(&request.message_body, &request.message_attributes);
        let _ = sqs::message::validate_size(size, sqs::limits::MESSAGE_BYTES_MAX);
        let _ = sqs::md5::md5_of_attributes(&request.message_attributes);
    }
    if let Some(request) = check::<sqs::SendMessageBatchRequest>(&form) {
        let _ = sqs::message::validate_batch_ids(
            "SendMessageBatchRequestEntry",
            request.entries.iter().map(|entry| entry.id.as_str()),
        );
    }
});
