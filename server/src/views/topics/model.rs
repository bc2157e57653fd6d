//! What a topic stores: its configuration and subscriptions (keyed state, JSON) and its
//! published messages (records, JSON). The encodings are versioned by field presence:
//! fields added later are optional with a default.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::views::queues::{AttributeValue, MessageAttribute};

/// A topic's configuration: its attributes as set (validated by the API layer), its tags,
/// when it was made.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicConfig {
    /// Settable attributes by name (`DisplayName`, `DeliveryPolicy`, `FifoTopic`, ...).
    pub attributes: BTreeMap<String, String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Creation time, ms since the epoch.
    pub created_ms: i64,
}

impl TopicConfig {
    /// Whether this is a FIFO topic.
    #[must_use]
    pub fn fifo(&self) -> bool {
        self.attribute_is_true("FifoTopic")
    }

    /// Whether FIFO messages without a deduplication id are deduplicated by content.
    #[must_use]
    pub fn content_based_dedup(&self) -> bool {
        self.attribute_is_true("ContentBasedDeduplication")
    }

    /// Whether FIFO deduplication is per message group (`FifoThroughputScope=MessageGroup`).
    #[must_use]
    pub fn dedup_per_group(&self) -> bool {
        self.attributes
            .get("FifoThroughputScope")
            .is_some_and(|scope| scope == "MessageGroup")
    }

    fn attribute_is_true(&self, name: &str) -> bool {
        self.attributes
            .get(name)
            .is_some_and(|value| value.eq_ignore_ascii_case("true"))
    }
}

/// A subscription's delivery protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// A Strata queue, by ARN.
    Sqs,
    /// An HTTP endpoint.
    Http,
    /// An HTTPS endpoint.
    Https,
    /// A Strata delivery stream, by ARN.
    Firehose,
    /// Kept, never delivered here (no Lambda in Strata).
    Lambda,
    /// Kept pending, never delivered here (no mail relay).
    Email,
    /// Kept pending, never delivered here (no mail relay).
    EmailJson,
    /// Kept, never delivered here (no SMS gateway).
    Sms,
    /// Kept, never delivered here (no push services).
    Application,
}

impl Protocol {
    /// The protocol a `Protocol` parameter names (lowercase, as AWS requires).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "sqs" => Self::Sqs,
            "http" => Self::Http,
            "https" => Self::Https,
            "firehose" => Self::Firehose,
            "lambda" => Self::Lambda,
            "email" => Self::Email,
            "email-json" => Self::EmailJson,
            "sms" => Self::Sms,
            "application" => Self::Application,
            _ => return None,
        })
    }

    /// Its name, as the API shows it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqs => "sqs",
            Self::Http => "http",
            Self::Https => "https",
            Self::Firehose => "firehose",
            Self::Lambda => "lambda",
            Self::Email => "email",
            Self::EmailJson => "email-json",
            Self::Sms => "sms",
            Self::Application => "application",
        }
    }

    /// Whether a subscription must be confirmed by its endpoint before it gets messages.
    #[must_use]
    pub fn needs_confirmation(self) -> bool {
        matches!(
            self,
            Self::Http | Self::Https | Self::Email | Self::EmailJson
        )
    }

    /// The key of a `MessageStructure=json` message this protocol reads.
    #[must_use]
    pub fn structure_key(self) -> &'static str {
        self.name()
    }
}

/// A subscription as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    /// Its id (the last part of its ARN).
    pub id: String,
    /// How it is delivered.
    pub protocol: Protocol,
    /// Where: a queue or delivery stream ARN, a URL, an address.
    pub endpoint: String,
    /// Settable attributes as set (`FilterPolicy`, `RawMessageDelivery`, ...).
    pub attributes: BTreeMap<String, String>,
    /// Waiting for its endpoint's confirmation.
    pub pending: bool,
    /// The confirmation token while pending.
    #[serde(default)]
    pub token: Option<String>,
    /// Whether ConfirmSubscription was called with `AuthenticateOnUnsubscribe=true`.
    #[serde(default)]
    pub authenticated: bool,
    /// Creation time, ms since the epoch.
    pub created_ms: i64,
}

impl SubscriptionRecord {
    /// Whether deliveries carry the message alone (`RawMessageDelivery=true`).
    #[must_use]
    pub fn raw(&self) -> bool {
        self.attributes
            .get("RawMessageDelivery")
            .is_some_and(|value| value.eq_ignore_ascii_case("true"))
    }

    /// The dead-letter queue ARN of its `RedrivePolicy`, if any.
    #[must_use]
    pub fn dead_letter_arn(&self) -> Option<String> {
        let policy = self.attributes.get("RedrivePolicy")?;
        let value: serde_json::Value = serde_json::from_str(policy).ok()?;
        value
            .get("deadLetterTargetArn")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    }
}

/// One message attribute as a record holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAttribute {
    /// Name.
    pub name: String,
    /// Data type as given (`String`, `String.Array`, `Number`, `Binary`, custom suffixes).
    #[serde(rename = "type")]
    pub data_type: String,
    /// The text of a String or Number attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A Binary attribute's bytes, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<String>,
}

impl StoredAttribute {
    /// The attribute of a queue message (raw delivery to a queue).
    #[must_use]
    pub fn to_queue_attribute(&self) -> MessageAttribute {
        let value = match (&self.text, &self.binary) {
            (_, Some(binary)) => {
                AttributeValue::Binary(Bytes::from(BASE64.decode(binary).unwrap_or_default()))
            }
            (Some(text), None) => AttributeValue::Text(text.clone()),
            (None, None) => AttributeValue::Text(String::new()),
        };
        MessageAttribute {
            name: self.name.clone(),
            data_type: self.data_type.clone(),
            value,
        }
    }

    /// Its value as envelopes show it (`Value`: the text, or the base64 of a binary).
    #[must_use]
    pub fn envelope_value(&self) -> &str {
        self.binary
            .as_deref()
            .or(self.text.as_deref())
            .unwrap_or_default()
    }
}

/// A published message, the record of a topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedMessage {
    /// The SNS MessageId (a UUID).
    pub id: String,
    /// When it was published, ms since the epoch.
    pub ms: i64,
    /// The message, or its `default` text with `MessageStructure=json`.
    pub message: String,
    /// `MessageStructure=json`: the text for each protocol that has one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_protocol: BTreeMap<String, String>,
    /// Subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Message attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<StoredAttribute>,
    /// Message group (FIFO topics; fair queues on standard ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// FIFO topics: the deduplication id, given or derived from the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup: Option<String>,
}

impl PublishedMessage {
    /// The text a subscription of `protocol` gets.
    #[must_use]
    pub fn text_for(&self, protocol: Protocol) -> &str {
        self.per_protocol
            .get(protocol.structure_key())
            .map_or(self.message.as_str(), String::as_str)
    }

    /// The record's bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }

    /// The message of a record's bytes.
    pub fn decode(data: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(data)
    }
}

/// The fan-out cursor: every message below `next` was handed to every subscription it
/// matched (delivered into queues, or recorded as a pending HTTP delivery); `ms` is when.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FanoutCursor {
    /// The first offset not yet fanned out.
    pub next: u64,
    /// When the cursor last moved.
    pub ms: i64,
}

/// A pending delivery to an HTTP/S (or delivery-stream) subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingDelivery {
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due, ms since the epoch.
    pub due_ms: i64,
    /// When the first attempt was made (for the policy's total-time cap).
    pub first_ms: i64,
}
