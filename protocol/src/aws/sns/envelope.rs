//! The JSON bodies SNS delivers to SQS and HTTP/S endpoints (`Notification`,
//! `SubscriptionConfirmation`, `UnsubscribeConfirmation`), the string SNS signs, and
//! `MessageStructure=json` bodies.
//!
//! Pure: ids, times and the signature are passed in; signing (RSA SHA1withRSA for
//! `SignatureVersion` 1, SHA256withRSA for 2) happens in the server over
//! [`string_to_sign`]. Bodies are laid out as AWS writes them: two-space indented,
//! `"Key" : "Value"`, fields in AWS's order, absent ones left out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::errors::Error;
use super::shapes::MessageAttributeMap;

/// Which body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A published message.
    Notification,
    /// Sent to an HTTP/S endpoint on Subscribe.
    SubscriptionConfirmation,
    /// Sent to an HTTP/S endpoint on Unsubscribe.
    UnsubscribeConfirmation,
}

impl Kind {
    /// The `Type` text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notification => "Notification",
            Self::SubscriptionConfirmation => "SubscriptionConfirmation",
            Self::UnsubscribeConfirmation => "UnsubscribeConfirmation",
        }
    }
}

/// One body to deliver. `Option` fields are left out of the JSON when `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// `Type`.
    pub kind: Kind,
    /// `MessageId`.
    pub message_id: String,
    /// `Token` (confirmations only).
    pub token: Option<String>,
    /// `TopicArn`.
    pub topic_arn: String,
    /// `Subject` (notifications, only if set).
    pub subject: Option<String>,
    /// `Message`.
    pub message: String,
    /// `SubscribeURL` (confirmations only).
    pub subscribe_url: Option<String>,
    /// `Timestamp`, milliseconds since the epoch (written as ISO 8601).
    pub timestamp_ms: i64,
    /// `SequenceNumber` (FIFO topics).
    pub sequence_number: Option<String>,
    /// `SignatureVersion` (`1` or `2`); `None` leaves out all signature fields (FIFO topics).
    pub signature_version: Option<String>,
    /// `SigningCertURL`.
    pub signing_cert_url: Option<String>,
    /// `UnsubscribeURL` (notifications).
    pub unsubscribe_url: Option<String>,
    /// `MessageAttributes` (notifications, only if any).
    pub message_attributes: MessageAttributeMap,
}

/// `2012-05-02T00:54:06.655Z`: UTC, millisecond precision.
pub fn iso8601_millis(epoch_ms: i64) -> String {
    let days = epoch_ms.div_euclid(86_400_000);
    let ms_of_day = epoch_ms.rem_euclid(86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1_000 % 60,
        ms_of_day % 1_000
    )
}

fn quote(text: &str) -> String {
    // Serializing a str cannot fail.
    serde_json::to_string(text).unwrap_or_default()
}

/// The string SNS signs: `Key\nValue\n` for each present field, in AWS's order
/// (notifications: Message, MessageId, Subject, Timestamp, TopicArn, Type; confirmations:
/// Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type).
pub fn string_to_sign(envelope: &Envelope) -> String {
    let timestamp = iso8601_millis(envelope.timestamp_ms);
    let fields: Vec<(&str, Option<&str>)> = match envelope.kind {
        Kind::Notification => vec![
            ("Message", Some(envelope.message.as_str())),
            ("MessageId", Some(envelope.message_id.as_str())),
            ("Subject", envelope.subject.as_deref()),
            ("Timestamp", Some(timestamp.as_str())),
            ("TopicArn", Some(envelope.topic_arn.as_str())),
            ("Type", Some(envelope.kind.as_str())),
        ],
        Kind::SubscriptionConfirmation | Kind::UnsubscribeConfirmation => vec![
            ("Message", Some(envelope.message.as_str())),
            ("MessageId", Some(envelope.message_id.as_str())),
            ("SubscribeURL", envelope.subscribe_url.as_deref()),
            ("Timestamp", Some(timestamp.as_str())),
            ("Token", envelope.token.as_deref()),
            ("TopicArn", Some(envelope.topic_arn.as_str())),
            ("Type", Some(envelope.kind.as_str())),
        ],
    };
    let mut out = String::new();
    for (key, value) in fields {
        if let Some(value) = value {
            let _ = write!(out, "{key}\n{value}\n");
        }
    }
    out
}

impl Envelope {
    /// The JSON body, with `signature` as `Signature` (left out when `None`, or when there is
    /// no `SignatureVersion`).
    pub fn to_json(&self, signature: Option<&str>) -> String {
        let timestamp = iso8601_millis(self.timestamp_ms);
        let signed = self.signature_version.is_some();
        let mut fields: Vec<(&str, String)> = vec![
            ("Type", quote(self.kind.as_str())),
            ("MessageId", quote(&self.message_id)),
        ];
        let mut push = |key: &'static str, value: Option<&str>| {
            if let Some(value) = value {
                fields.push((key, quote(value)));
            }
        };
        push("Token", self.token.as_deref());
        push("TopicArn", Some(&self.topic_arn));
        push("Subject", self.subject.as_deref());
        push("Message", Some(&self.message));
        push("SubscribeURL", self.subscribe_url.as_deref());
        push("SequenceNumber", self.sequence_number.as_deref());
        push("Timestamp", Some(&timestamp));
        if signed {
            push("SignatureVersion", self.signature_version.as_deref());
            push("Signature", signature);
            push("SigningCertURL", self.signing_cert_url.as_deref());
        }
        push("UnsubscribeURL", self.unsubscribe_url.as_deref());
        if !self.message_attributes.is_empty() {
            let mut attributes = String::from("{\n");
            let count = self.message_attributes.len();
            for (index, (name, value)) in self.message_attributes.iter().enumerate() {
                let text = match &value.binary_value {
                    Some(blob) => BASE64.encode(&blob.0),
                    None => value.string_value.clone().unwrap_or_default(),
                };
                let comma = if index + 1 < count { "," } else { "" };
                let _ = writeln!(
                    attributes,
                    "    {} : {{\"Type\":{},\"Value\":{}}}{comma}",
                    quote(name),
                    quote(&value.data_type),
                    quote(&text)
                );
            }
            attributes.push_str("  }");
            fields.push(("MessageAttributes", attributes));
        }
        let mut out = String::from("{\n");
        let count = fields.len();
        for (index, (key, value)) in fields.iter().enumerate() {
            let comma = if index + 1 < count { "," } else { "" };
            let _ = writeln!(out, "  \"{key}\" : {value}{comma}");
        }
        out.push('}');
        out
    }
}

/// The per-protocol bodies of a `MessageStructure=json` message: a JSON object that must
/// have a string `default`; members whose value is not a string are ignored, and a key given
/// twice fails the publish, as on SNS.
pub fn message_structure_json(text: &str) -> Result<BTreeMap<String, String>, Error> {
    let failed =
        || Error::invalid_parameter("Message Structure - JSON message body failed to parse");
    let Members(members) = serde_json::from_str(text).map_err(|_| failed())?;
    let mut bodies = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for (key, value) in members {
        if !seen.insert(key.clone()) {
            return Err(Error::invalid_parameter(&format!(
                "Message Structure - Duplicate key {key} in JSON message body"
            )));
        }
        if let serde_json::Value::String(body) = value {
            bodies.insert(key, body);
        }
    }
    if !bodies.contains_key("default") {
        return Err(Error::invalid_parameter(
            "Message Structure - No default entry in JSON message body",
        ));
    }
    Ok(bodies)
}

/// A JSON object's members in order, duplicates kept (serde_json's map keeps only the last).
struct Members(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}
