//! Input and output shapes of all 23 SQS operations, member for member as botocore's
//! `sqs/2012-11-05` model has them.
//!
//! Each shape derives serde once, with the JSON member names (PascalCase, except CreateQueue's
//! `tags` and ListDeadLetterSourceQueues' `queueUrls`, which the model spells in lowercase).
//! The query protocol's `locationName`s are serde aliases (`Attribute` for `Attributes`,
//! `SendMessageBatchRequestEntry` for `Entries`, …), so [`Form::decode`](crate::aws::Form::decode)
//! reads the same structs from `Attribute.1.Name=…&Attribute.1.Value=…`; the XML element names
//! of the responses come from [`super::Operation::xml_style`].
//!
//! Lists and maps are plain `Vec`s and `BTreeMap`s: absent (or JSON `null`) reads as empty,
//! and empty is not written, as AWS omits them (an empty ReceiveMessage has no `Messages`).
//! The batch results' `Successful` and `Failed`, required by the model, are always written.
//! Nothing here validates values; see [`super::attributes`] and [`super::message`].

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::aws::body::Blob;

/// Reads an absent-or-null member as the type's default (an empty list or map).
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A queue attribute map (`QueueAttributeMap`): attribute name → value, every value a string.
pub type QueueAttributeMap = BTreeMap<String, String>;
/// A message's user attributes (`MessageBodyAttributeMap`).
pub type MessageAttributeMap = BTreeMap<String, MessageAttributeValue>;
/// A tag map (`TagMap`).
pub type TagMap = BTreeMap<String, String>;

/// `MessageAttributeValue` (and `MessageSystemAttributeValue`, which has the same members).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageAttributeValue {
    /// For `String` and `Number` types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    /// For `Binary` types: base64 on the wire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<Blob>,
    /// Reserved by AWS (not implemented there); kept and hashed as the SDKs do.
    #[serde(
        default,
        alias = "StringListValue",
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub string_list_values: Vec<String>,
    /// Reserved by AWS (not implemented there); kept and hashed as the SDKs do.
    #[serde(
        default,
        alias = "BinaryListValue",
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub binary_list_values: Vec<Blob>,
    /// `String`, `Number` or `Binary`, with an optional `.custom` suffix.
    pub data_type: String,
}

/// `MessageSystemAttributeValue`: the same members as [`MessageAttributeValue`].
pub type MessageSystemAttributeValue = MessageAttributeValue;

/// `BatchResultErrorEntry`: one failed entry of a batch request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResultErrorEntry {
    /// The entry's `Id`.
    pub id: String,
    /// Whether the caller caused the failure.
    pub sender_fault: bool,
    /// The query error code, e.g. `InvalidParameterValue`.
    pub code: String,
    /// The message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Queues

/// CreateQueue input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateQueueRequest {
    /// 1–80 of `[A-Za-z0-9_-]`, `.fifo` for a FIFO queue.
    pub queue_name: String,
    /// Query: `Attribute.N.Name/Value`.
    #[serde(
        default,
        alias = "Attribute",
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub attributes: QueueAttributeMap,
    /// Lowercase in the model. Query: `Tag.N.Key/Value`.
    #[serde(
        rename = "tags",
        default,
        alias = "Tag",
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub tags: TagMap,
}

/// CreateQueue output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateQueueResult {
    /// The queue's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
}

/// GetQueueUrl input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueUrlRequest {
    /// The queue's name.
    pub queue_name: String,
    /// The owning account, when not the caller's.
    #[serde(
        rename = "QueueOwnerAWSAccountId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub queue_owner_aws_account_id: Option<String>,
}

/// GetQueueUrl output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueUrlResult {
    /// The queue's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
}

/// ListQueues input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesRequest {
    /// Only queues whose name starts with this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_name_prefix: Option<String>,
    /// From a previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// 1–1000; pages (and `NextToken`) only when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i32>,
}

/// ListQueues output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesResult {
    /// XML: `<QueueUrl>` per queue.
    #[serde(
        default,
        alias = "QueueUrl",
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub queue_urls: Vec<String>,
    /// The next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// DeleteQueue input (no output).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteQueueRequest {
    /// The queue.
    pub queue_url: String,
}

/// GetQueueAttributes input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueAttributesRequest {
    /// The queue.
    pub queue_url: String,
    /// Query: `AttributeName.N`. Empty returns no attribute; `All` returns all.
    #[serde(
        default,
        alias = "AttributeName",
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub attribute_names: Vec<String>,
}

/// GetQueueAttributes output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueAttributesResult {
    /// XML: `<Attribute><Name/><Value/></Attribute>` per attribute.
    #[serde(
        default,
        alias = "Attribute",
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub attributes: QueueAttributeMap,
}

/// SetQueueAttributes input (no output).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetQueueAttributesRequest {
    /// The queue.
    pub queue_url: String,
    /// Query: `Attribute.N.Name/Value`.
    #[serde(alias = "Attribute")]
    pub attributes: QueueAttributeMap,
}

/// PurgeQueue input (no output).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PurgeQueueRequest {
    /// The queue.
    pub queue_url: String,
}

// ---------------------------------------------------------------------------------------------
// Messages

/// SendMessage input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageRequest {
    /// The queue.
    pub queue_url: String,
    /// The body: at least one character of the allowed set.
    pub message_body: String,
    /// 0–900; standard queues only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<i32>,
    /// Query: `MessageAttribute.N.Name`, `MessageAttribute.N.Value.{DataType,StringValue,…}`.
    #[serde(
        default,
        alias = "MessageAttribute",
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub message_attributes: MessageAttributeMap,
    /// Only `AWSTraceHeader`. Query: `MessageSystemAttribute.N.…`.
    #[serde(
        default,
        alias = "MessageSystemAttribute",
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub message_system_attributes: BTreeMap<String, MessageSystemAttributeValue>,
    /// FIFO deduplication id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_deduplication_id: Option<String>,
    /// FIFO group (or fair-queue tenant on a standard queue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_group_id: Option<String>,
}

/// SendMessage output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageResult {
    /// Hex MD5 of the body.
    #[serde(
        rename = "MD5OfMessageBody",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub md5_of_message_body: Option<String>,
    /// Hex MD5 of the user attributes; absent when there are none.
    #[serde(
        rename = "MD5OfMessageAttributes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub md5_of_message_attributes: Option<String>,
    /// Hex MD5 of the system attributes; absent when there are none.
    #[serde(
        rename = "MD5OfMessageSystemAttributes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub md5_of_message_system_attributes: Option<String>,
    /// The message's id (a UUID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// FIFO only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
}

/// One entry of SendMessageBatch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageBatchRequestEntry {
    /// Unique in the batch: 1–80 of `[A-Za-z0-9_-]`.
    pub id: String,
    /// The body.
    pub message_body: String,
    /// 0–900; standard queues only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_seconds: Option<i32>,
    /// Query: `MessageAttribute.N.…`.
    #[serde(
        default,
        alias = "MessageAttribute",
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub message_attributes: MessageAttributeMap,
    /// Query: `MessageSystemAttribute.N.…`.
    #[serde(
        default,
        alias = "MessageSystemAttribute",
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub message_system_attributes: BTreeMap<String, MessageSystemAttributeValue>,
    /// FIFO deduplication id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_deduplication_id: Option<String>,
    /// FIFO group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_group_id: Option<String>,
}

/// SendMessageBatch input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageBatchRequest {
    /// The queue.
    pub queue_url: String,
    /// Query: `SendMessageBatchRequestEntry.N.…`. Absent reads as empty, so that the server
    /// can answer `EmptyBatchRequest`.
    #[serde(
        default,
        alias = "SendMessageBatchRequestEntry",
        deserialize_with = "nullable"
    )]
    pub entries: Vec<SendMessageBatchRequestEntry>,
}

/// One successful entry of SendMessageBatch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageBatchResultEntry {
    /// The entry's `Id`.
    pub id: String,
    /// The message's id.
    pub message_id: String,
    /// Hex MD5 of the body.
    #[serde(rename = "MD5OfMessageBody")]
    pub md5_of_message_body: String,
    /// Hex MD5 of the user attributes; absent when there are none.
    #[serde(
        rename = "MD5OfMessageAttributes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub md5_of_message_attributes: Option<String>,
    /// Hex MD5 of the system attributes; absent when there are none.
    #[serde(
        rename = "MD5OfMessageSystemAttributes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub md5_of_message_system_attributes: Option<String>,
    /// FIFO only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
}

/// SendMessageBatch output. XML: `<SendMessageBatchResultEntry>` and
/// `<BatchResultErrorEntry>` per entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageBatchResult {
    /// The entries sent.
    #[serde(
        default,
        alias = "SendMessageBatchResultEntry",
        deserialize_with = "nullable"
    )]
    pub successful: Vec<SendMessageBatchResultEntry>,
    /// The entries refused.
    #[serde(
        default,
        alias = "BatchResultErrorEntry",
        deserialize_with = "nullable"
    )]
    pub failed: Vec<BatchResultErrorEntry>,
}

/// ReceiveMessage input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveMessageRequest {
    /// The queue.
    pub queue_url: String,
    /// Deprecated spelling of [`Self::message_system_attribute_names`]. Query:
    /// `AttributeName.N`.
    #[serde(
        default,
        alias = "AttributeName",
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub attribute_names: Vec<String>,
    /// System attributes to return (`All`, `SenderId`, …). Query:
    /// `MessageSystemAttributeName.N`.
    #[serde(
        default,
        alias = "MessageSystemAttributeName",
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub message_system_attribute_names: Vec<String>,
    /// User attributes to return (`All`, `.*`, `prefix.*`, names). Query:
    /// `MessageAttributeName.N`.
    #[serde(
        default,
        alias = "MessageAttributeName",
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub message_attribute_names: Vec<String>,
    /// 1–10, default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_number_of_messages: Option<i32>,
    /// 0–43200; default the queue's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility_timeout: Option<i32>,
    /// 0–20; default the queue's `ReceiveMessageWaitTimeSeconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_time_seconds: Option<i32>,
    /// FIFO retry token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receive_request_attempt_id: Option<String>,
}

/// One received message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Message {
    /// The message's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// This receive's handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_handle: Option<String>,
    /// Hex MD5 of the body.
    #[serde(rename = "MD5OfBody", default, skip_serializing_if = "Option::is_none")]
    pub md5_of_body: Option<String>,
    /// The body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// System attributes asked for. XML: `<Attribute><Name/><Value/></Attribute>`.
    #[serde(
        default,
        alias = "Attribute",
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub attributes: BTreeMap<String, String>,
    /// Hex MD5 of the user attributes returned; absent when none is.
    #[serde(
        rename = "MD5OfMessageAttributes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub md5_of_message_attributes: Option<String>,
    /// User attributes asked for. XML: `<MessageAttribute><Name/><Value>…</Value></MessageAttribute>`.
    #[serde(
        default,
        alias = "MessageAttribute",
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub message_attributes: MessageAttributeMap,
}

/// ReceiveMessage output. An empty receive writes `{}` (JSON) and an empty
/// `<ReceiveMessageResult>` (XML).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveMessageResult {
    /// XML: `<Message>` per message.
    #[serde(
        default,
        alias = "Message",
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub messages: Vec<Message>,
}

/// DeleteMessage input (no output).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageRequest {
    /// The queue.
    pub queue_url: String,
    /// The latest receive's handle.
    pub receipt_handle: String,
}

/// One entry of DeleteMessageBatch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageBatchRequestEntry {
    /// Unique in the batch.
    pub id: String,
    /// The latest receive's handle.
    pub receipt_handle: String,
}

/// DeleteMessageBatch input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageBatchRequest {
    /// The queue.
    pub queue_url: String,
    /// Query: `DeleteMessageBatchRequestEntry.N.…`. Absent reads as empty.
    #[serde(
        default,
        alias = "DeleteMessageBatchRequestEntry",
        deserialize_with = "nullable"
    )]
    pub entries: Vec<DeleteMessageBatchRequestEntry>,
}

/// One successful entry of DeleteMessageBatch or ChangeMessageVisibilityBatch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResultEntry {
    /// The entry's `Id`.
    pub id: String,
}

/// `DeleteMessageBatchResultEntry`.
pub type DeleteMessageBatchResultEntry = BatchResultEntry;
/// `ChangeMessageVisibilityBatchResultEntry`.
pub type ChangeMessageVisibilityBatchResultEntry = BatchResultEntry;

/// DeleteMessageBatch output. XML: `<DeleteMessageBatchResultEntry>` and
/// `<BatchResultErrorEntry>` per entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageBatchResult {
    /// The entries deleted.
    #[serde(
        default,
        alias = "DeleteMessageBatchResultEntry",
        deserialize_with = "nullable"
    )]
    pub successful: Vec<DeleteMessageBatchResultEntry>,
    /// The entries refused.
    #[serde(
        default,
        alias = "BatchResultErrorEntry",
        deserialize_with = "nullable"
    )]
    pub failed: Vec<BatchResultErrorEntry>,
}

/// ChangeMessageVisibility input (no output).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeMessageVisibilityRequest {
    /// The queue.
    pub queue_url: String,
    /// The latest receive's handle.
    pub receipt_handle: String,
    /// 0–43200, from now.
    pub visibility_timeout: i32,
}

/// One entry of ChangeMessageVisibilityBatch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeMessageVisibilityBatchRequestEntry {
    /// Unique in the batch.
    pub id: String,
    /// The latest receive's handle.
    pub receipt_handle: String,
    /// 0–43200, from now. Optional in the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility_timeout: Option<i32>,
}

/// ChangeMessageVisibilityBatch input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeMessageVisibilityBatchRequest {
    /// The queue.
    pub queue_url: String,
    /// Query: `ChangeMessageVisibilityBatchRequestEntry.N.…`. Absent reads as empty.
    #[serde(
        default,
        alias = "ChangeMessageVisibilityBatchRequestEntry",
        deserialize_with = "nullable"
    )]
    pub entries: Vec<ChangeMessageVisibilityBatchRequestEntry>,
}

/// ChangeMessageVisibilityBatch output. XML: `<ChangeMessageVisibilityBatchResultEntry>` and
/// `<BatchResultErrorEntry>` per entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeMessageVisibilityBatchResult {
    /// The entries changed.
    #[serde(
        default,
        alias = "ChangeMessageVisibilityBatchResultEntry",
        deserialize_with = "nullable"
    )]
    pub successful: Vec<ChangeMessageVisibilityBatchResultEntry>,
    /// The entries refused.
    #[serde(
        default,
        alias = "BatchResultErrorEntry",
        deserialize_with = "nullable"
    )]
    pub failed: Vec<BatchResultErrorEntry>,
}

// ---------------------------------------------------------------------------------------------
// Tags and permissions

/// TagQueue input (no output).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagQueueRequest {
    /// The queue.
    pub queue_url: String,
    /// Query: `Tag.N.Key/Value`.
    #[serde(alias = "Tag")]
    pub tags: TagMap,
}

/// UntagQueue input (no output).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagQueueRequest {
    /// The queue.
    pub queue_url: String,
    /// Query: `TagKey.N`.
    #[serde(alias = "TagKey")]
    pub tag_keys: Vec<String>,
}

/// ListQueueTags input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueueTagsRequest {
    /// The queue.
    pub queue_url: String,
}

/// ListQueueTags output. XML: `<Tag><Key/><Value/></Tag>` per tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueueTagsResult {
    /// The tags.
    #[serde(
        default,
        alias = "Tag",
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub tags: TagMap,
}

/// AddPermission input (no output).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionRequest {
    /// The queue.
    pub queue_url: String,
    /// The statement's id: 1–80 of `[A-Za-z0-9_-]`.
    pub label: String,
    /// Principals. Query: `AWSAccountId.N`.
    #[serde(rename = "AWSAccountIds", alias = "AWSAccountId")]
    pub aws_account_ids: Vec<String>,
    /// Actions (`SendMessage`, `*`, …). Query: `ActionName.N`.
    #[serde(alias = "ActionName")]
    pub actions: Vec<String>,
}

/// RemovePermission input (no output).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemovePermissionRequest {
    /// The queue.
    pub queue_url: String,
    /// The statement added with this label.
    pub label: String,
}

// ---------------------------------------------------------------------------------------------
// Dead-letter queues and message move tasks

/// ListDeadLetterSourceQueues input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDeadLetterSourceQueuesRequest {
    /// The dead-letter queue.
    pub queue_url: String,
    /// From a previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// 1–1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i32>,
}

/// ListDeadLetterSourceQueues output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDeadLetterSourceQueuesResult {
    /// Lowercase in the model, and required (always written). XML: `<QueueUrl>` per queue.
    #[serde(
        rename = "queueUrls",
        default,
        alias = "QueueUrl",
        deserialize_with = "nullable"
    )]
    pub queue_urls: Vec<String>,
    /// The next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// StartMessageMoveTask input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartMessageMoveTaskRequest {
    /// The dead-letter queue's ARN.
    pub source_arn: String,
    /// Where to move to; absent: each message back to its own source queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_arn: Option<String>,
    /// 1–500; absent: as fast as the system allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_number_of_messages_per_second: Option<i32>,
}

/// StartMessageMoveTask output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartMessageMoveTaskResult {
    /// Names the task for CancelMessageMoveTask.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_handle: Option<String>,
}

/// CancelMessageMoveTask input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelMessageMoveTaskRequest {
    /// The running task.
    pub task_handle: String,
}

/// CancelMessageMoveTask output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelMessageMoveTaskResult {
    /// Moved before the cancel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_number_of_messages_moved: Option<i64>,
}

/// ListMessageMoveTasks input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasksRequest {
    /// The dead-letter queue's ARN.
    pub source_arn: String,
    /// 1–10, default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i32>,
}

/// One task of ListMessageMoveTasks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasksResultEntry {
    /// Only while `RUNNING`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_handle: Option<String>,
    /// `RUNNING`, `COMPLETED`, `CANCELLING`, `CANCELLED` or `FAILED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The dead-letter queue's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<String>,
    /// Absent when moving back to the sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_arn: Option<String>,
    /// As asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_number_of_messages_per_second: Option<i32>,
    /// Moved so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_number_of_messages_moved: Option<i64>,
    /// In the source when the task started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_number_of_messages_to_move: Option<i64>,
    /// Why a `FAILED` task failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// Epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_timestamp: Option<i64>,
}

/// ListMessageMoveTasks output. XML: `<ListMessageMoveTasksResultEntry>` per task.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasksResult {
    /// Most recent first.
    #[serde(
        default,
        alias = "ListMessageMoveTasksResultEntry",
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub results: Vec<ListMessageMoveTasksResultEntry>,
}
