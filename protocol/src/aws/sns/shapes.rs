//! Input and output shapes of all 42 SNS operations, member for member as botocore's
//! `sns/2010-03-31` model has them.
//!
//! Inputs derive `Deserialize` with the model's member names (PascalCase, except the SMS
//! operations' `phoneNumber`, `attributes`, `nextToken`, which the model spells in lowercase)
//! and are read by [`Form::decode`](crate::aws::Form::decode) from the query form botocore
//! sends: lists as `Tags.member.N.Key=…`, maps as `Attributes.entry.N.key=…&…value=…`, message
//! attributes as `MessageAttributes.entry.N.Name=…&…Value.DataType=…`. Outputs derive
//! `Serialize` and are written by [`super::encode_xml`] as `<member>` lists and `<entry>` maps.
//!
//! A required member is a plain field (absent → `MissingParameter` from the decoder, which
//! [`super::errors::Error`] turns into SNS's `InvalidParameter`); lists and maps read absent
//! as empty and are not written when empty. Nothing here validates values; see
//! [`super::attributes`], [`super::delivery_policy`] and [`super::message`].

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

/// Attribute name → value (`TopicAttributesMap`, `SubscriptionAttributesMap`,
/// `MapStringToString`): every value a string.
pub type AttributeMap = BTreeMap<String, String>;
/// A message's attributes (`MessageAttributeMap`), name → value.
pub type MessageAttributeMap = BTreeMap<String, MessageAttributeValue>;

/// `MessageAttributeValue`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageAttributeValue {
    /// `String`, `String.Array`, `Number` or `Binary`, with an optional custom suffix.
    pub data_type: String,
    /// For `String`, `String.Array` (a JSON array) and `Number`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    /// For `Binary`: base64 on the wire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<Blob>,
}

/// `Tag`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// 1–128 characters.
    pub key: String,
    /// 0–256 characters.
    pub value: String,
}

/// `BatchResultErrorEntry`: one failed entry of PublishBatch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResultErrorEntry {
    /// The entry's `Id`.
    pub id: String,
    /// The query error code, e.g. `InvalidParameter`.
    pub code: String,
    /// The message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Whether the caller caused the failure.
    pub sender_fault: bool,
}

/// Declares a struct of optional `String` members only.
macro_rules! strings_shape {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct $name {
            $(
                $(#[$fdoc])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<String>,
            )*
        }
    };
}

/// Declares an input of required `String` members only.
macro_rules! required_shape {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct $name {
            $($(#[$fdoc])* pub $field: String,)*
        }
    };
}

/// Declares a shape without members (an empty input, or an output written as an empty
/// `<{Op}Result>`).
macro_rules! empty_shape {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
        pub struct $name {}
    };
}

/// Declares an output with one `Attributes` map.
macro_rules! attributes_shape {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct $name {
            /// The attributes.
            #[serde(
                default,
                deserialize_with = "nullable",

            )]
            pub attributes: AttributeMap,
        }
    };
}

// ---------------------------------------------------------------------------------------------
// Topics

/// CreateTopic input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateTopicInput {
    /// 1–256 of `[A-Za-z0-9_-]`, `.fifo` for a FIFO topic.
    pub name: String,
    /// Query: `Attributes.entry.N.key/value`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub attributes: AttributeMap,
    /// Query: `Tags.member.N.Key/Value`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tags: Vec<Tag>,
    /// A data protection policy document (JSON), up to 30 KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_protection_policy: Option<String>,
}

strings_shape! {
    /// CreateTopic output.
    CreateTopicResponse {
        /// The topic's ARN.
        topic_arn,
    }
}

required_shape! {
    /// DeleteTopic input.
    DeleteTopicInput {
        /// The topic's ARN.
        topic_arn,
    }
}

strings_shape! {
    /// ListTopics input.
    ListTopicsInput {
        /// From a previous page.
        next_token,
    }
}

strings_shape! {
    /// `Topic`: one entry of ListTopics.
    Topic {
        /// The topic's ARN.
        topic_arn,
    }
}

/// ListTopics output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTopicsResponse {
    /// Up to 100 topics.
    #[serde(default, deserialize_with = "nullable")]
    pub topics: Vec<Topic>,
    /// The next page's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

required_shape! {
    /// GetTopicAttributes input.
    GetTopicAttributesInput {
        /// The topic's ARN.
        topic_arn,
    }
}

attributes_shape! {
    /// GetTopicAttributes output.
    GetTopicAttributesResponse
}

/// SetTopicAttributes input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetTopicAttributesInput {
    /// The topic's ARN.
    pub topic_arn: String,
    /// One attribute name.
    pub attribute_name: String,
    /// Its new value (absent: empty, which clears the attributes that may be cleared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_value: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

/// Subscribe input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscribeInput {
    /// The topic's ARN.
    pub topic_arn: String,
    /// `http`, `https`, `email`, `email-json`, `sms`, `sqs`, `application`, `lambda`,
    /// `firehose`.
    pub protocol: String,
    /// The endpoint, whose form depends on the protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Subscription attributes. Query: `Attributes.entry.N.key/value`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub attributes: AttributeMap,
    /// Return the ARN even while the subscription is pending confirmation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_subscription_arn: Option<bool>,
}

strings_shape! {
    /// Subscribe output: the ARN, or `pending confirmation`.
    SubscribeResponse {
        /// The subscription's ARN.
        subscription_arn,
    }
}

/// ConfirmSubscription input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfirmSubscriptionInput {
    /// The topic's ARN.
    pub topic_arn: String,
    /// The token sent to the endpoint.
    pub token: String,
    /// `true` disallows unauthenticated unsubscribes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticate_on_unsubscribe: Option<String>,
}

strings_shape! {
    /// ConfirmSubscription output.
    ConfirmSubscriptionResponse {
        /// The subscription's ARN.
        subscription_arn,
    }
}

required_shape! {
    /// Unsubscribe input.
    UnsubscribeInput {
        /// The subscription's ARN.
        subscription_arn,
    }
}

strings_shape! {
    /// ListSubscriptions input.
    ListSubscriptionsInput {
        /// From a previous page.
        next_token,
    }
}

strings_shape! {
    /// `Subscription`: one entry of ListSubscriptions(ByTopic).
    Subscription {
        /// The ARN, or `PendingConfirmation`.
        subscription_arn,
        /// The owner's account.
        owner,
        /// The protocol.
        protocol,
        /// The endpoint.
        endpoint,
        /// The topic's ARN.
        topic_arn,
    }
}

/// ListSubscriptions output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSubscriptionsResponse {
    /// Up to 100 subscriptions.
    #[serde(default, deserialize_with = "nullable")]
    pub subscriptions: Vec<Subscription>,
    /// The next page's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// ListSubscriptionsByTopic input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSubscriptionsByTopicInput {
    /// The topic's ARN.
    pub topic_arn: String,
    /// From a previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// ListSubscriptionsByTopic output.
pub type ListSubscriptionsByTopicResponse = ListSubscriptionsResponse;

required_shape! {
    /// GetSubscriptionAttributes input.
    GetSubscriptionAttributesInput {
        /// The subscription's ARN.
        subscription_arn,
    }
}

attributes_shape! {
    /// GetSubscriptionAttributes output.
    GetSubscriptionAttributesResponse
}

/// SetSubscriptionAttributes input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetSubscriptionAttributesInput {
    /// The subscription's ARN.
    pub subscription_arn: String,
    /// One attribute name.
    pub attribute_name: String,
    /// Its new value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_value: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Publishing

/// Publish input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishInput {
    /// The topic (one of `TopicArn`, `TargetArn`, `PhoneNumber` is required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_arn: Option<String>,
    /// A topic or a platform endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_arn: Option<String>,
    /// An E.164 number for SMS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// The body.
    pub message: String,
    /// For email endpoints and the envelope's `Subject`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// `json`: `Message` holds one body per protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_structure: Option<String>,
    /// Query: `MessageAttributes.entry.N.Name/Value.DataType/Value.StringValue`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub message_attributes: MessageAttributeMap,
    /// FIFO topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_deduplication_id: Option<String>,
    /// FIFO topics (required there), and fair SQS queues behind standard topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_group_id: Option<String>,
}

strings_shape! {
    /// Publish output.
    PublishResponse {
        /// The message's id.
        message_id,
        /// FIFO topics only: 128-bit, increasing per group.
        sequence_number,
    }
}

/// `PublishBatchRequestEntry`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishBatchRequestEntry {
    /// 1–80 of `[A-Za-z0-9_-]`, distinct within the batch.
    pub id: String,
    /// The body.
    pub message: String,
    /// As Publish's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// As Publish's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_structure: Option<String>,
    /// As Publish's.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub message_attributes: MessageAttributeMap,
    /// As Publish's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_deduplication_id: Option<String>,
    /// As Publish's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_group_id: Option<String>,
}

/// PublishBatch input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishBatchInput {
    /// The topic's ARN.
    pub topic_arn: String,
    /// Query: `PublishBatchRequestEntries.member.N.…`. Required by the model; an empty list
    /// (a bare `PublishBatchRequestEntries=`) is `EmptyBatchRequest`, for the caller to
    /// check.
    pub publish_batch_request_entries: Vec<PublishBatchRequestEntry>,
}

strings_shape! {
    /// `PublishBatchResultEntry`.
    PublishBatchResultEntry {
        /// The entry's `Id`.
        id,
        /// The message's id.
        message_id,
        /// FIFO topics only.
        sequence_number,
    }
}

/// PublishBatch output. Both lists are written even when empty, as AWS does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishBatchResponse {
    /// The published entries.
    #[serde(default, deserialize_with = "nullable")]
    pub successful: Vec<PublishBatchResultEntry>,
    /// The failed entries.
    #[serde(default, deserialize_with = "nullable")]
    pub failed: Vec<BatchResultErrorEntry>,
}

// ---------------------------------------------------------------------------------------------
// Tags and permissions

/// TagResource input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceRequest {
    /// The topic's ARN.
    pub resource_arn: String,
    /// Query: `Tags.member.N.Key/Value`.
    pub tags: Vec<Tag>,
}

empty_shape! {
    /// TagResource output (an empty `<TagResourceResult>`).
    TagResourceResponse
}

/// UntagResource input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceRequest {
    /// The topic's ARN.
    pub resource_arn: String,
    /// Query: `TagKeys.member.N`.
    pub tag_keys: Vec<String>,
}

empty_shape! {
    /// UntagResource output (an empty `<UntagResourceResult>`).
    UntagResourceResponse
}

required_shape! {
    /// ListTagsForResource input.
    ListTagsForResourceRequest {
        /// The topic's ARN.
        resource_arn,
    }
}

/// ListTagsForResource output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForResourceResponse {
    /// The tags.
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<Tag>,
}

/// AddPermission input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionInput {
    /// The topic's ARN.
    pub topic_arn: String,
    /// The statement id.
    pub label: String,
    /// Query: `AWSAccountId.member.N`.
    #[serde(rename = "AWSAccountId")]
    pub aws_account_id: Vec<String>,
    /// Query: `ActionName.member.N` (`Publish`, `Subscribe`, …).
    pub action_name: Vec<String>,
}

required_shape! {
    /// RemovePermission input.
    RemovePermissionInput {
        /// The topic's ARN.
        topic_arn,
        /// The statement id.
        label,
    }
}

// ---------------------------------------------------------------------------------------------
// Data protection

required_shape! {
    /// GetDataProtectionPolicy input.
    GetDataProtectionPolicyInput {
        /// The topic's ARN.
        resource_arn,
    }
}

strings_shape! {
    /// GetDataProtectionPolicy output.
    GetDataProtectionPolicyResponse {
        /// The policy document (JSON).
        data_protection_policy,
    }
}

required_shape! {
    /// PutDataProtectionPolicy input.
    PutDataProtectionPolicyInput {
        /// The topic's ARN.
        resource_arn,
        /// The policy document (JSON).
        data_protection_policy,
    }
}

// ---------------------------------------------------------------------------------------------
// Mobile push: platform applications and endpoints

/// CreatePlatformApplication input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatePlatformApplicationInput {
    /// 1–256 of `[A-Za-z0-9_.-]`.
    pub name: String,
    /// `ADM`, `APNS`, `APNS_SANDBOX`, `GCM`, `BAIDU`, `MPNS`, `WNS`.
    pub platform: String,
    /// `PlatformCredential`, `PlatformPrincipal`, … Required by the model.
    pub attributes: AttributeMap,
}

strings_shape! {
    /// CreatePlatformApplication output.
    CreatePlatformApplicationResponse {
        /// The application's ARN.
        platform_application_arn,
    }
}

/// CreatePlatformEndpoint input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatePlatformEndpointInput {
    /// The application's ARN.
    pub platform_application_arn: String,
    /// The device token.
    pub token: String,
    /// Free text kept with the endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_user_data: Option<String>,
    /// `Enabled`, `CustomUserData`, `Token`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub attributes: AttributeMap,
}

strings_shape! {
    /// CreatePlatformEndpoint output.
    CreateEndpointResponse {
        /// The endpoint's ARN.
        endpoint_arn,
    }
}

required_shape! {
    /// DeleteEndpoint input.
    DeleteEndpointInput {
        /// The endpoint's ARN.
        endpoint_arn,
    }
}

required_shape! {
    /// DeletePlatformApplication input.
    DeletePlatformApplicationInput {
        /// The application's ARN.
        platform_application_arn,
    }
}

required_shape! {
    /// GetEndpointAttributes input.
    GetEndpointAttributesInput {
        /// The endpoint's ARN.
        endpoint_arn,
    }
}

attributes_shape! {
    /// GetEndpointAttributes output.
    GetEndpointAttributesResponse
}

required_shape! {
    /// GetPlatformApplicationAttributes input.
    GetPlatformApplicationAttributesInput {
        /// The application's ARN.
        platform_application_arn,
    }
}

attributes_shape! {
    /// GetPlatformApplicationAttributes output.
    GetPlatformApplicationAttributesResponse
}

/// SetEndpointAttributes input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetEndpointAttributesInput {
    /// The endpoint's ARN.
    pub endpoint_arn: String,
    /// Required by the model.
    pub attributes: AttributeMap,
}

/// SetPlatformApplicationAttributes input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetPlatformApplicationAttributesInput {
    /// The application's ARN.
    pub platform_application_arn: String,
    /// Required by the model.
    pub attributes: AttributeMap,
}

strings_shape! {
    /// ListPlatformApplications input.
    ListPlatformApplicationsInput {
        /// From a previous page.
        next_token,
    }
}

/// `PlatformApplication`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PlatformApplication {
    /// The application's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_application_arn: Option<String>,
    /// Its attributes.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub attributes: AttributeMap,
}

/// ListPlatformApplications output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPlatformApplicationsResponse {
    /// The applications.
    #[serde(default, deserialize_with = "nullable")]
    pub platform_applications: Vec<PlatformApplication>,
    /// The next page's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// ListEndpointsByPlatformApplication input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListEndpointsByPlatformApplicationInput {
    /// The application's ARN.
    pub platform_application_arn: String,
    /// From a previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// `Endpoint`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Endpoint {
    /// The endpoint's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_arn: Option<String>,
    /// Its attributes.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub attributes: AttributeMap,
}

/// ListEndpointsByPlatformApplication output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListEndpointsByPlatformApplicationResponse {
    /// The endpoints.
    #[serde(default, deserialize_with = "nullable")]
    pub endpoints: Vec<Endpoint>,
    /// The next page's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// SMS

/// CheckIfPhoneNumberIsOptedOut input (lowercase in the model).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct CheckIfPhoneNumberIsOptedOutInput {
    /// The number.
    #[serde(rename = "phoneNumber")]
    pub phone_number: String,
}

/// CheckIfPhoneNumberIsOptedOut output (lowercase in the model).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct CheckIfPhoneNumberIsOptedOutResponse {
    /// Whether the number opted out.
    #[serde(
        rename = "isOptedOut",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub is_opted_out: Option<bool>,
}

/// GetSMSAttributes input: `attributes.member.N` (lowercase in the model).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct GetSmsAttributesInput {
    /// The names wanted (empty: all).
    #[serde(
        rename = "attributes",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub attributes: Vec<String>,
}

/// GetSMSAttributes output (lowercase in the model).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct GetSmsAttributesResponse {
    /// The attributes.
    #[serde(rename = "attributes", default, deserialize_with = "nullable")]
    pub attributes: AttributeMap,
}

/// SetSMSAttributes input: `attributes.entry.N.key/value` (lowercase in the model).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct SetSmsAttributesInput {
    /// The attributes.
    #[serde(rename = "attributes")]
    pub attributes: AttributeMap,
}

empty_shape! {
    /// SetSMSAttributes output (an empty `<SetSMSAttributesResult>`).
    SetSmsAttributesResponse
}

/// ListPhoneNumbersOptedOut input (lowercase in the model).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct ListPhoneNumbersOptedOutInput {
    /// From a previous page.
    #[serde(rename = "nextToken", default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// ListPhoneNumbersOptedOut output (lowercase in the model).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct ListPhoneNumbersOptedOutResponse {
    /// The numbers.
    #[serde(rename = "phoneNumbers", default, deserialize_with = "nullable")]
    pub phone_numbers: Vec<String>,
    /// The next page's token.
    #[serde(rename = "nextToken", default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// OptInPhoneNumber input (lowercase in the model).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct OptInPhoneNumberInput {
    /// The number.
    #[serde(rename = "phoneNumber")]
    pub phone_number: String,
}

empty_shape! {
    /// OptInPhoneNumber output (an empty `<OptInPhoneNumberResult>`).
    OptInPhoneNumberResponse
}

/// CreateSMSSandboxPhoneNumber input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateSmsSandboxPhoneNumberInput {
    /// `+` and at least 8 digits, ≤ 20 characters.
    pub phone_number: String,
    /// `en-US`, `en-GB`, … (the model's `LanguageCodeString`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
}

empty_shape! {
    /// CreateSMSSandboxPhoneNumber output.
    CreateSmsSandboxPhoneNumberResult
}

required_shape! {
    /// DeleteSMSSandboxPhoneNumber input.
    DeleteSmsSandboxPhoneNumberInput {
        /// The number.
        phone_number,
    }
}

empty_shape! {
    /// DeleteSMSSandboxPhoneNumber output.
    DeleteSmsSandboxPhoneNumberResult
}

required_shape! {
    /// VerifySMSSandboxPhoneNumber input.
    VerifySmsSandboxPhoneNumberInput {
        /// The number.
        phone_number,
        /// 5–8 digits.
        one_time_password,
    }
}

empty_shape! {
    /// VerifySMSSandboxPhoneNumber output.
    VerifySmsSandboxPhoneNumberResult
}

empty_shape! {
    /// GetSMSSandboxAccountStatus input.
    GetSmsSandboxAccountStatusInput
}

/// GetSMSSandboxAccountStatus output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetSmsSandboxAccountStatusResult {
    /// Whether the account is in the SMS sandbox.
    pub is_in_sandbox: bool,
}

/// ListSMSSandboxPhoneNumbers input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSmsSandboxPhoneNumbersInput {
    /// From a previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// 1–100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i32>,
}

strings_shape! {
    /// `SMSSandboxPhoneNumber`.
    SmsSandboxPhoneNumber {
        /// The number.
        phone_number,
        /// `Pending` or `Verified`.
        status,
    }
}

/// ListSMSSandboxPhoneNumbers output. `PhoneNumbers` is required, so it is written even when
/// empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSmsSandboxPhoneNumbersResult {
    /// The numbers.
    #[serde(default, deserialize_with = "nullable")]
    pub phone_numbers: Vec<SmsSandboxPhoneNumber>,
    /// The next page's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// ListOriginationNumbers input.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListOriginationNumbersRequest {
    /// From a previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// 1–30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_results: Option<i32>,
}

/// `PhoneNumberInformation`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PhoneNumberInformation {
    /// A timestamp in the model, which the query protocol writes as ISO 8601
    /// (`2012-05-02T00:54:06.655Z`); kept as that
    /// text because [`Timestamp`](crate::aws::body::Timestamp) writes epoch seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iso2_country_code: Option<String>,
    /// `Transactional`, `Promotional` or `Premium`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_type: Option<String>,
    /// `SMS`, `MMS`, `VOICE`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub number_capabilities: Vec<String>,
}

/// ListOriginationNumbers output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListOriginationNumbersResult {
    /// The next page's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// The numbers.
    #[serde(default, deserialize_with = "nullable")]
    pub phone_numbers: Vec<PhoneNumberInformation>,
}
