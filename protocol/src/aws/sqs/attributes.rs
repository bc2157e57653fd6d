//! Queue attributes: names, what may be set when, ranges and defaults, and the validated parse
//! of an attribute map (CreateQueue, SetQueueAttributes) into [`QueueAttributes`]; the
//! RedrivePolicy and RedriveAllowPolicy documents; message system attribute names
//! (ReceiveMessage); queue names.
//!
//! Every refusal is the [`Error`] AWS answers with, code and message:
//!
//! | input | error |
//! |---|---|
//! | a name SQS does not know, a read-only one, `FifoQueue` on SetQueueAttributes, a FIFO-only one on a standard queue | `InvalidAttributeName`: `Unknown Attribute {name}.` |
//! | a number out of range or not a number, a bool that is not `true`/`false`, an unknown enum value | `InvalidAttributeValue`: `Invalid value for the parameter {name}.` |
//! | a RedrivePolicy or RedriveAllowPolicy that is not valid | `InvalidParameterValue`: `Value {json} for parameter {name} is invalid. Reason: …` |

use std::collections::{BTreeMap, BTreeSet};

use super::errors::{Error, ErrorCode};
use super::limits;

/// What a queue attribute allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Set at CreateQueue or SetQueueAttributes.
    Settable,
    /// Set only at CreateQueue (`FifoQueue`).
    CreateOnly,
    /// Reported, never set (`QueueArn`, the counts, the timestamps).
    ReadOnly,
    /// `All`: only a name to ask for, in GetQueueAttributes.
    Selector,
}

/// An integer attribute's range and default (seconds or bytes, as the attribute says).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// Lowest value allowed.
    pub min: u32,
    /// Highest value allowed.
    pub max: u32,
    /// Value of a queue created without it.
    pub default: u32,
}

macro_rules! queue_attributes {
    ($($variant:ident => ($access:ident, $fifo_only:literal),)*) => {
        /// `QueueAttributeName`: every queue attribute of the model.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum QueueAttributeName {
            $(#[doc = concat!("`", stringify!($variant), "`.")] $variant,)*
        }

        impl QueueAttributeName {
            /// Every name, `All` first.
            pub const ALL: &'static [QueueAttributeName] = &[$(Self::$variant,)*];

            /// The name on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => stringify!($variant),)* }
            }

            /// The attribute of a wire name (case-sensitive).
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $(stringify!($variant) => Some(Self::$variant),)* _ => None }
            }

            /// When it may be set.
            pub fn access(self) -> Access {
                match self { $(Self::$variant => Access::$access,)* }
            }

            /// Whether only FIFO queues have it.
            pub fn fifo_only(self) -> bool {
                match self { $(Self::$variant => $fifo_only,)* }
            }
        }
    };
}

queue_attributes! {
    All => (Selector, false),
    Policy => (Settable, false),
    VisibilityTimeout => (Settable, false),
    MaximumMessageSize => (Settable, false),
    MessageRetentionPeriod => (Settable, false),
    ApproximateNumberOfMessages => (ReadOnly, false),
    ApproximateNumberOfMessagesNotVisible => (ReadOnly, false),
    CreatedTimestamp => (ReadOnly, false),
    LastModifiedTimestamp => (ReadOnly, false),
    QueueArn => (ReadOnly, false),
    ApproximateNumberOfMessagesDelayed => (ReadOnly, false),
    DelaySeconds => (Settable, false),
    ReceiveMessageWaitTimeSeconds => (Settable, false),
    RedrivePolicy => (Settable, false),
    FifoQueue => (CreateOnly, true),
    ContentBasedDeduplication => (Settable, true),
    KmsMasterKeyId => (Settable, false),
    KmsDataKeyReusePeriodSeconds => (Settable, false),
    DeduplicationScope => (Settable, true),
    FifoThroughputLimit => (Settable, true),
    RedriveAllowPolicy => (Settable, false),
    SqsManagedSseEnabled => (Settable, false),
}

impl QueueAttributeName {
    /// The range and default of an integer attribute; `None` for the others.
    pub fn range(self) -> Option<Range> {
        let (min, max, default) = match self {
            Self::DelaySeconds => (0, limits::DELAY_SECONDS_MAX, limits::DELAY_SECONDS_DEFAULT),
            Self::MaximumMessageSize => (
                limits::MESSAGE_BYTES_MIN,
                limits::MESSAGE_BYTES_MAX,
                limits::MESSAGE_BYTES_DEFAULT,
            ),
            Self::MessageRetentionPeriod => (
                limits::RETENTION_SECONDS_MIN,
                limits::RETENTION_SECONDS_MAX,
                limits::RETENTION_SECONDS_DEFAULT,
            ),
            Self::ReceiveMessageWaitTimeSeconds => {
                (0, limits::WAIT_SECONDS_MAX, limits::WAIT_SECONDS_DEFAULT)
            }
            Self::VisibilityTimeout => (
                0,
                limits::VISIBILITY_SECONDS_MAX,
                limits::VISIBILITY_SECONDS_DEFAULT,
            ),
            Self::KmsDataKeyReusePeriodSeconds => (
                limits::KMS_REUSE_SECONDS_MIN,
                limits::KMS_REUSE_SECONDS_MAX,
                limits::KMS_REUSE_SECONDS_DEFAULT,
            ),
            _ => return None,
        };
        Some(Range { min, max, default })
    }
}

/// `DeduplicationScope`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeduplicationScope {
    /// `messageGroup`: ids are unique per group.
    MessageGroup,
    /// `queue` (the default): ids are unique per queue.
    Queue,
}

impl DeduplicationScope {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MessageGroup => "messageGroup",
            Self::Queue => "queue",
        }
    }
}

/// `FifoThroughputLimit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FifoThroughputLimit {
    /// `perQueue` (the default).
    PerQueue,
    /// `perMessageGroupId` (high throughput; needs `DeduplicationScope=messageGroup`).
    PerMessageGroupId,
}

impl FifoThroughputLimit {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PerQueue => "perQueue",
            Self::PerMessageGroupId => "perMessageGroupId",
        }
    }
}

/// A RedrivePolicy: where messages go after too many receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedrivePolicy {
    /// The dead-letter queue's ARN.
    pub dead_letter_target_arn: String,
    /// 1–1000 receives before the move.
    pub max_receive_count: u32,
}

impl RedrivePolicy {
    /// The attribute value, as AWS writes it back:
    /// `{"deadLetterTargetArn":"…","maxReceiveCount":5}`.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "deadLetterTargetArn": self.dead_letter_target_arn,
            "maxReceiveCount": self.max_receive_count,
        })
        .to_string()
    }
}

/// `RedriveAllowPolicy.redrivePermission`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedrivePermission {
    /// `allowAll` (the default): any queue may use this one as its dead-letter queue.
    AllowAll,
    /// `denyAll`: none may.
    DenyAll,
    /// `byQueue`: only these source queue ARNs (1–10).
    ByQueue(Vec<String>),
}

/// A RedriveAllowPolicy, set on a dead-letter queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedriveAllowPolicy {
    /// Who may redrive to this queue.
    pub permission: RedrivePermission,
}

impl RedriveAllowPolicy {
    /// Whether a queue of this ARN may name this queue as its dead-letter target.
    pub fn allows(&self, source_arn: &str) -> bool {
        match &self.permission {
            RedrivePermission::AllowAll => true,
            RedrivePermission::DenyAll => false,
            RedrivePermission::ByQueue(arns) => arns.iter().any(|arn| arn == source_arn),
        }
    }

    /// The attribute value: `{"redrivePermission":"byQueue","sourceQueueArns":[…]}`.
    pub fn to_json(&self) -> String {
        match &self.permission {
            RedrivePermission::AllowAll => r#"{"redrivePermission":"allowAll"}"#.to_owned(),
            RedrivePermission::DenyAll => r#"{"redrivePermission":"denyAll"}"#.to_owned(),
            RedrivePermission::ByQueue(arns) => serde_json::json!({
                "redrivePermission": "byQueue",
                "sourceQueueArns": arns,
            })
            .to_string(),
        }
    }
}

/// Where an attribute map comes from, which decides what it may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// CreateQueue: `FifoQueue` allowed; the queue is FIFO when `FifoQueue=true`.
    Create,
    /// SetQueueAttributes on an existing queue of this kind.
    Set {
        /// Whether the queue is FIFO.
        fifo: bool,
    },
}

/// A validated attribute map: each member is `Some` when the map set it. For RedrivePolicy
/// and RedriveAllowPolicy, `Some(None)` is the empty string, which removes the policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueAttributes {
    /// Seconds, 0–900.
    pub delay_seconds: Option<u32>,
    /// Bytes, 1024–1048576.
    pub maximum_message_size: Option<u32>,
    /// Seconds, 60–1209600.
    pub message_retention_period: Option<u32>,
    /// Seconds, 0–20.
    pub receive_message_wait_time_seconds: Option<u32>,
    /// Seconds, 0–43200.
    pub visibility_timeout: Option<u32>,
    /// The IAM policy document, kept as given (`""` removes it).
    pub policy: Option<String>,
    /// The dead-letter configuration.
    pub redrive_policy: Option<Option<RedrivePolicy>>,
    /// Who may use this queue as a dead-letter queue.
    pub redrive_allow_policy: Option<Option<RedriveAllowPolicy>>,
    /// CreateQueue only.
    pub fifo_queue: Option<bool>,
    /// FIFO only.
    pub content_based_deduplication: Option<bool>,
    /// Kept, not used (`""` removes it).
    pub kms_master_key_id: Option<String>,
    /// Seconds, 60–86400.
    pub kms_data_key_reuse_period_seconds: Option<u32>,
    /// FIFO only.
    pub deduplication_scope: Option<DeduplicationScope>,
    /// FIFO only.
    pub fifo_throughput_limit: Option<FifoThroughputLimit>,
    /// SSE with SQS-owned keys.
    pub sqs_managed_sse_enabled: Option<bool>,
}

/// `InvalidAttributeName`: `Unknown Attribute {name}.`
pub fn unknown_attribute(name: &str) -> Error {
    Error::new(
        ErrorCode::InvalidAttributeName,
        format!("Unknown Attribute {name}."),
    )
}

/// `InvalidAttributeValue`: `Invalid value for the parameter {name}.`
pub fn invalid_attribute_value(name: &str) -> Error {
    Error::new(
        ErrorCode::InvalidAttributeValue,
        format!("Invalid value for the parameter {name}."),
    )
}

/// Validates an attribute map of CreateQueue or SetQueueAttributes. The first bad entry (in
/// name order) is the error.
pub fn parse_queue_attributes(
    map: &BTreeMap<String, String>,
    context: Context,
) -> Result<QueueAttributes, Error> {
    let fifo = match context {
        Context::Set { fifo } => fifo,
        Context::Create => match map.get("FifoQueue") {
            Some(value) => parse_bool("FifoQueue", value)?,
            None => false,
        },
    };
    let mut out = QueueAttributes::default();
    for (name, value) in map {
        let attribute =
            QueueAttributeName::from_name(name).ok_or_else(|| unknown_attribute(name))?;
        let allowed = match attribute.access() {
            Access::Settable => true,
            Access::CreateOnly => context == Context::Create,
            Access::ReadOnly | Access::Selector => false,
        };
        if !allowed
            || (attribute.fifo_only() && !fifo && attribute != QueueAttributeName::FifoQueue)
        {
            return Err(unknown_attribute(name));
        }
        let number = || parse_number(attribute, value);
        match attribute {
            QueueAttributeName::DelaySeconds => out.delay_seconds = Some(number()?),
            QueueAttributeName::MaximumMessageSize => out.maximum_message_size = Some(number()?),
            QueueAttributeName::MessageRetentionPeriod => {
                out.message_retention_period = Some(number()?);
            }
            QueueAttributeName::ReceiveMessageWaitTimeSeconds => {
                out.receive_message_wait_time_seconds = Some(number()?);
            }
            QueueAttributeName::VisibilityTimeout => out.visibility_timeout = Some(number()?),
            QueueAttributeName::KmsDataKeyReusePeriodSeconds => {
                out.kms_data_key_reuse_period_seconds = Some(number()?);
            }
            QueueAttributeName::Policy => {
                if !value.is_empty()
                    && !matches!(
                        serde_json::from_str::<serde_json::Value>(value),
                        Ok(serde_json::Value::Object(_))
                    )
                {
                    return Err(invalid_attribute_value(name));
                }
                out.policy = Some(value.clone());
            }
            QueueAttributeName::RedrivePolicy => {
                out.redrive_policy = Some(if value.is_empty() {
                    None
                } else {
                    Some(parse_redrive_policy(value)?)
                });
            }
            QueueAttributeName::RedriveAllowPolicy => {
                out.redrive_allow_policy = Some(if value.is_empty() {
                    None
                } else {
                    Some(parse_redrive_allow_policy(value)?)
                });
            }
            QueueAttributeName::FifoQueue => out.fifo_queue = Some(parse_bool(name, value)?),
            QueueAttributeName::ContentBasedDeduplication => {
                out.content_based_deduplication = Some(parse_bool(name, value)?);
            }
            QueueAttributeName::SqsManagedSseEnabled => {
                out.sqs_managed_sse_enabled = Some(parse_bool(name, value)?);
            }
            QueueAttributeName::KmsMasterKeyId => out.kms_master_key_id = Some(value.clone()),
            QueueAttributeName::DeduplicationScope => {
                out.deduplication_scope = Some(match value.as_str() {
                    "messageGroup" => DeduplicationScope::MessageGroup,
                    "queue" => DeduplicationScope::Queue,
                    _ => return Err(invalid_attribute_value(name)),
                });
            }
            QueueAttributeName::FifoThroughputLimit => {
                out.fifo_throughput_limit = Some(match value.as_str() {
                    "perQueue" => FifoThroughputLimit::PerQueue,
                    "perMessageGroupId" => FifoThroughputLimit::PerMessageGroupId,
                    _ => return Err(invalid_attribute_value(name)),
                });
            }
            QueueAttributeName::All
            | QueueAttributeName::ApproximateNumberOfMessages
            | QueueAttributeName::ApproximateNumberOfMessagesNotVisible
            | QueueAttributeName::ApproximateNumberOfMessagesDelayed
            | QueueAttributeName::CreatedTimestamp
            | QueueAttributeName::LastModifiedTimestamp
            | QueueAttributeName::QueueArn => return Err(unknown_attribute(name)),
        }
    }
    Ok(out)
}

fn parse_bool(name: &str, value: &str) -> Result<bool, Error> {
    if value.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(invalid_attribute_value(name))
    }
}

fn parse_number(attribute: QueueAttributeName, value: &str) -> Result<u32, Error> {
    let range = attribute.range();
    let number = value
        .parse::<u32>()
        .ok()
        .filter(|number| range.is_none_or(|range| (range.min..=range.max).contains(number)));
    number.ok_or_else(|| invalid_attribute_value(attribute.as_str()))
}

fn invalid_policy(name: &str, value: &str, reason: &str) -> Error {
    Error::invalid_parameter(name, value, reason)
}

/// Parses a RedrivePolicy: a JSON object with `deadLetterTargetArn` (a string) and
/// `maxReceiveCount` (1–1000, a number or a string holding one).
pub fn parse_redrive_policy(value: &str) -> Result<RedrivePolicy, Error> {
    const NAME: &str = "RedrivePolicy";
    let Ok(serde_json::Value::Object(object)) = serde_json::from_str::<serde_json::Value>(value)
    else {
        return Err(invalid_policy(
            NAME,
            value,
            "Redrive policy is not a valid JSON map",
        ));
    };
    let arn = match object.get("deadLetterTargetArn") {
        Some(serde_json::Value::String(arn)) if !arn.is_empty() => arn.clone(),
        Some(_) => {
            return Err(invalid_policy(
                NAME,
                value,
                "Invalid value for deadLetterTargetArn",
            ));
        }
        None => {
            return Err(invalid_policy(
                NAME,
                value,
                "Redrive policy does not contain mandatory attribute: deadLetterTargetArn",
            ));
        }
    };
    let count = match object.get("maxReceiveCount") {
        Some(serde_json::Value::Number(number)) => number.to_string(),
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => {
            return Err(invalid_policy(
                NAME,
                value,
                "Redrive policy does not contain mandatory attribute: maxReceiveCount",
            ));
        }
    };
    let counts = limits::MAX_RECEIVE_COUNT_MIN..=limits::MAX_RECEIVE_COUNT_MAX;
    let Some(max_receive_count) = count
        .parse::<u32>()
        .ok()
        .filter(|count| counts.contains(count))
    else {
        let reason = format!(
            "Invalid value for maxReceiveCount: {count}, valid values are from {} to {} both \
             inclusive",
            counts.start(),
            counts.end()
        );
        return Err(invalid_policy(NAME, value, &reason));
    };
    if let Some(unknown) = object
        .keys()
        .find(|key| !matches!(key.as_str(), "deadLetterTargetArn" | "maxReceiveCount"))
    {
        return Err(invalid_policy(
            NAME,
            value,
            &format!(
                "Only following attributes are supported: [deadLetterTargetArn, \
                 maxReceiveCount]. Found: {unknown}"
            ),
        ));
    }
    Ok(RedrivePolicy {
        dead_letter_target_arn: arn,
        max_receive_count,
    })
}

/// Parses a RedriveAllowPolicy: `redrivePermission` `allowAll` | `denyAll` | `byQueue`, and
/// with `byQueue` (only) `sourceQueueArns`, 1–10 strings.
pub fn parse_redrive_allow_policy(value: &str) -> Result<RedriveAllowPolicy, Error> {
    const NAME: &str = "RedriveAllowPolicy";
    let bad = |reason: &str| invalid_policy(NAME, value, reason);
    let Ok(serde_json::Value::Object(object)) = serde_json::from_str::<serde_json::Value>(value)
    else {
        return Err(bad("Redrive allow policy is not a valid JSON map"));
    };
    let arns = match object.get("sourceQueueArns") {
        None => None,
        Some(serde_json::Value::Array(items)) => {
            let mut arns = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    serde_json::Value::String(arn) => arns.push(arn.clone()),
                    _ => return Err(bad("sourceQueueArns must be a list of queue ARNs")),
                }
            }
            Some(arns)
        }
        Some(_) => return Err(bad("sourceQueueArns must be a list of queue ARNs")),
    };
    let permission = match (object.get("redrivePermission"), arns) {
        (Some(serde_json::Value::String(kind)), arns) => match (kind.as_str(), arns) {
            ("allowAll", None) => RedrivePermission::AllowAll,
            ("denyAll", None) => RedrivePermission::DenyAll,
            ("allowAll" | "denyAll", Some(_)) => {
                return Err(bad(
                    "sourceQueueArns can be specified only when redrivePermission is byQueue",
                ));
            }
            ("byQueue", Some(arns))
                if !arns.is_empty() && arns.len() <= limits::REDRIVE_SOURCE_QUEUES_MAX =>
            {
                RedrivePermission::ByQueue(arns)
            }
            ("byQueue", _) => {
                return Err(bad(&format!(
                    "sourceQueueArns must hold 1 to {} queue ARNs when redrivePermission is \
                     byQueue",
                    limits::REDRIVE_SOURCE_QUEUES_MAX
                )));
            }
            _ => {
                return Err(bad(
                    "redrivePermission must be one of allowAll, denyAll, byQueue",
                ));
            }
        },
        _ => {
            return Err(bad(
                "Redrive allow policy does not contain mandatory attribute: redrivePermission",
            ));
        }
    };
    Ok(RedriveAllowPolicy { permission })
}

/// The attributes GetQueueAttributes asks for: `All` stands for every reportable attribute
/// (FIFO-only ones only on a FIFO queue); no name asks for none. An unknown name, or a
/// FIFO-only one on a standard queue, is `InvalidAttributeName`.
pub fn parse_attribute_names(
    names: &[String],
    fifo: bool,
) -> Result<BTreeSet<QueueAttributeName>, Error> {
    let mut out = BTreeSet::new();
    for name in names {
        let attribute =
            QueueAttributeName::from_name(name).ok_or_else(|| unknown_attribute(name))?;
        if attribute == QueueAttributeName::All {
            out.extend(
                QueueAttributeName::ALL
                    .iter()
                    .copied()
                    .filter(|attribute| *attribute != QueueAttributeName::All)
                    .filter(|attribute| fifo || !attribute.fifo_only()),
            );
        } else if attribute.fifo_only() && !fifo {
            return Err(unknown_attribute(name));
        } else {
            out.insert(attribute);
        }
    }
    Ok(out)
}

macro_rules! system_attributes {
    ($($variant:ident,)*) => {
        /// `MessageSystemAttributeName`: what ReceiveMessage may return per message.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum MessageSystemAttributeName {
            $(#[doc = concat!("`", stringify!($variant), "`.")] $variant,)*
        }

        impl MessageSystemAttributeName {
            /// Every name, `All` first.
            pub const ALL: &'static [MessageSystemAttributeName] = &[$(Self::$variant,)*];

            /// The name on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => stringify!($variant),)* }
            }

            /// The attribute of a wire name (case-sensitive).
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $(stringify!($variant) => Some(Self::$variant),)* _ => None }
            }
        }
    };
}

system_attributes! {
    All,
    SenderId,
    SentTimestamp,
    ApproximateReceiveCount,
    ApproximateFirstReceiveTimestamp,
    SequenceNumber,
    MessageDeduplicationId,
    MessageGroupId,
    AWSTraceHeader,
    DeadLetterQueueSourceArn,
}

/// The only system attribute a sender may set (`MessageSystemAttributeNameForSends`).
pub const AWS_TRACE_HEADER: &str = "AWSTraceHeader";

/// The system attributes a ReceiveMessage asks for, from `MessageSystemAttributeNames` and
/// the deprecated `AttributeNames` together; `All` stands for every one. An unknown name is
/// `InvalidAttributeName`.
pub fn parse_system_attribute_names<'a>(
    names: impl IntoIterator<Item = &'a String>,
) -> Result<BTreeSet<MessageSystemAttributeName>, Error> {
    let mut out = BTreeSet::new();
    for name in names {
        match MessageSystemAttributeName::from_name(name) {
            Some(MessageSystemAttributeName::All) => out.extend(
                MessageSystemAttributeName::ALL
                    .iter()
                    .copied()
                    .filter(|name| *name != MessageSystemAttributeName::All),
            ),
            Some(attribute) => {
                out.insert(attribute);
            }
            None => return Err(unknown_attribute(name)),
        }
    }
    Ok(out)
}

/// Checks a queue name: 1–80 of `[A-Za-z0-9_-]`; a FIFO queue's name ends in `.fifo` (which
/// counts toward the 80) and only a FIFO queue's may.
pub fn validate_queue_name(name: &str, fifo: bool) -> Result<(), Error> {
    let stem = if fifo {
        name.strip_suffix(limits::FIFO_SUFFIX)
    } else {
        Some(name)
    };
    let valid = stem.is_some_and(|stem| {
        !stem.is_empty()
            && name.len() <= limits::QUEUE_NAME_LENGTH_MAX
            && stem
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
    });
    if valid {
        Ok(())
    } else if fifo {
        Err(Error::new(
            ErrorCode::InvalidParameterValue,
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or \
             underscores, must end with .fifo suffix and be 1 to 80 in length.",
        ))
    } else {
        Err(Error::new(
            ErrorCode::InvalidParameterValue,
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn ranges_and_defaults_are_as_aws_documents() {
        let range = |name| QueueAttributeName::range(name).unwrap();
        assert_eq!(
            range(QueueAttributeName::MaximumMessageSize),
            Range {
                min: 1024,
                max: 1_048_576,
                default: 1_048_576
            }
        );
        assert_eq!(
            range(QueueAttributeName::MessageRetentionPeriod),
            Range {
                min: 60,
                max: 1_209_600,
                default: 345_600
            }
        );
        assert_eq!(
            range(QueueAttributeName::DelaySeconds),
            Range {
                min: 0,
                max: 900,
                default: 0
            }
        );
        assert_eq!(
            range(QueueAttributeName::VisibilityTimeout),
            Range {
                min: 0,
                max: 43_200,
                default: 30
            }
        );
        assert_eq!(
            range(QueueAttributeName::ReceiveMessageWaitTimeSeconds),
            Range {
                min: 0,
                max: 20,
                default: 0
            }
        );
        assert_eq!(
            range(QueueAttributeName::KmsDataKeyReusePeriodSeconds),
            Range {
                min: 60,
                max: 86_400,
                default: 300
            }
        );
        assert_eq!(QueueAttributeName::Policy.range(), None);
    }

    #[test]
    fn bounds_are_inclusive_and_one_past_is_refused() {
        for attribute in QueueAttributeName::ALL.iter().copied() {
            let Some(range) = attribute.range() else {
                continue;
            };
            let name = attribute.as_str();
            for ok in [range.min, range.max, range.default] {
                let parsed =
                    parse_queue_attributes(&map(&[(name, &ok.to_string())]), Context::Create)
                        .unwrap();
                assert_ne!(parsed, QueueAttributes::default(), "{name}={ok}");
            }
            let mut bad = vec![(range.max + 1).to_string(), "x".to_owned(), "-1".to_owned()];
            if range.min > 0 {
                bad.push((range.min - 1).to_string());
            }
            for value in bad {
                let error =
                    parse_queue_attributes(&map(&[(name, &value)]), Context::Create).unwrap_err();
                assert_eq!(error.code, ErrorCode::InvalidAttributeValue);
                assert_eq!(
                    error.message,
                    format!("Invalid value for the parameter {name}.")
                );
            }
        }
    }

    #[test]
    fn typed_members_are_filled() {
        let parsed = parse_queue_attributes(
            &map(&[
                ("FifoQueue", "true"),
                ("ContentBasedDeduplication", "TRUE"),
                ("DeduplicationScope", "messageGroup"),
                ("FifoThroughputLimit", "perMessageGroupId"),
                ("VisibilityTimeout", "60"),
                ("RedrivePolicy", r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:d.fifo","maxReceiveCount":"3"}"#),
                ("KmsMasterKeyId", "alias/aws/sqs"),
            ]),
            Context::Create,
        )
        .unwrap();
        assert_eq!(parsed.fifo_queue, Some(true));
        assert_eq!(parsed.content_based_deduplication, Some(true));
        assert_eq!(
            parsed.deduplication_scope,
            Some(DeduplicationScope::MessageGroup)
        );
        assert_eq!(
            parsed.fifo_throughput_limit,
            Some(FifoThroughputLimit::PerMessageGroupId)
        );
        assert_eq!(parsed.visibility_timeout, Some(60));
        assert_eq!(
            parsed.redrive_policy,
            Some(Some(RedrivePolicy {
                dead_letter_target_arn: "arn:aws:sqs:us-east-1:1:d.fifo".to_owned(),
                max_receive_count: 3,
            }))
        );
        assert_eq!(parsed.kms_master_key_id.as_deref(), Some("alias/aws/sqs"));
    }

    #[test]
    fn names_that_cannot_be_set_are_unknown_attributes() {
        for (pairs, context, name) in [
            (&[("QueueArn", "x")][..], Context::Create, "QueueArn"),
            (
                &[("ApproximateNumberOfMessages", "1")][..],
                Context::Set { fifo: false },
                "ApproximateNumberOfMessages",
            ),
            (&[("Bogus", "1")][..], Context::Create, "Bogus"),
            (&[("All", "1")][..], Context::Create, "All"),
            (
                &[("FifoQueue", "true")][..],
                Context::Set { fifo: true },
                "FifoQueue",
            ),
            (
                &[("ContentBasedDeduplication", "true")][..],
                Context::Create,
                "ContentBasedDeduplication",
            ),
            (
                &[("DeduplicationScope", "queue")][..],
                Context::Set { fifo: false },
                "DeduplicationScope",
            ),
        ] {
            let error = parse_queue_attributes(&map(pairs), context).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidAttributeName, "{name}");
            assert_eq!(error.message, format!("Unknown Attribute {name}."));
        }
    }

    #[test]
    fn enum_and_bool_values_are_checked() {
        for (name, value) in [("SqsManagedSseEnabled", "yes"), ("FifoQueue", "1")] {
            let error =
                parse_queue_attributes(&map(&[(name, value)]), Context::Create).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidAttributeValue);
        }
        let fifo = Context::Set { fifo: true };
        let error =
            parse_queue_attributes(&map(&[("DeduplicationScope", "group")]), fifo).unwrap_err();
        assert_eq!(
            error.message,
            "Invalid value for the parameter DeduplicationScope."
        );
        let error = parse_queue_attributes(&map(&[("Policy", "[1]")]), fifo).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidAttributeValue);
    }

    #[test]
    fn redrive_policy_accepts_numbers_and_strings_and_checks_the_count() {
        let arn = "arn:aws:sqs:us-east-1:123456789012:dlq";
        for text in [
            format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":5}}"#),
            format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"5"}}"#),
        ] {
            let policy = parse_redrive_policy(&text).unwrap();
            assert_eq!(policy.max_receive_count, 5);
            assert_eq!(
                policy.to_json(),
                format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":5}}"#)
            );
        }
        let text = format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":1001}}"#);
        let error = parse_redrive_policy(&text).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidParameterValue);
        assert_eq!(
            error.message,
            format!(
                "Value {text} for parameter RedrivePolicy is invalid. Reason: Invalid value for \
                 maxReceiveCount: 1001, valid values are from 1 to 1000 both inclusive."
            )
        );
        for bad in [
            "{",
            "[]",
            r#"{"maxReceiveCount":1}"#,
            r#"{"deadLetterTargetArn":"a"}"#,
            r#"{"deadLetterTargetArn":"a","maxReceiveCount":0}"#,
        ] {
            assert_eq!(
                parse_redrive_policy(bad).unwrap_err().code,
                ErrorCode::InvalidParameterValue,
                "{bad}"
            );
        }
        let removed =
            parse_queue_attributes(&map(&[("RedrivePolicy", "")]), Context::Set { fifo: false })
                .unwrap();
        assert_eq!(removed.redrive_policy, Some(None));
    }

    #[test]
    fn redrive_allow_policy_kinds() {
        assert_eq!(
            parse_redrive_allow_policy(r#"{"redrivePermission":"allowAll"}"#)
                .unwrap()
                .permission,
            RedrivePermission::AllowAll
        );
        let policy = parse_redrive_allow_policy(
            r#"{"redrivePermission":"byQueue","sourceQueueArns":["arn:aws:sqs:us-east-1:1:a"]}"#,
        )
        .unwrap();
        assert!(policy.allows("arn:aws:sqs:us-east-1:1:a"));
        assert!(!policy.allows("arn:aws:sqs:us-east-1:1:b"));
        assert_eq!(
            parse_redrive_allow_policy(&policy.to_json()).unwrap(),
            policy
        );
        let eleven: Vec<String> = (0..11).map(|i| format!("\"arn:{i}\"")).collect();
        for bad in [
            r#"{"redrivePermission":"byQueue"}"#.to_owned(),
            r#"{"redrivePermission":"byQueue","sourceQueueArns":[]}"#.to_owned(),
            format!(
                r#"{{"redrivePermission":"byQueue","sourceQueueArns":[{}]}}"#,
                eleven.join(",")
            ),
            r#"{"redrivePermission":"denyAll","sourceQueueArns":["a"]}"#.to_owned(),
            r#"{"redrivePermission":"some"}"#.to_owned(),
            "{}".to_owned(),
        ] {
            assert_eq!(
                parse_redrive_allow_policy(&bad).unwrap_err().code,
                ErrorCode::InvalidParameterValue,
                "{bad}"
            );
        }
    }

    #[test]
    fn attribute_names_expand_all() {
        let all = parse_attribute_names(&["All".to_owned()], false).unwrap();
        assert!(all.contains(&QueueAttributeName::QueueArn));
        assert!(!all.contains(&QueueAttributeName::FifoQueue));
        assert!(!all.contains(&QueueAttributeName::All));
        let all = parse_attribute_names(&["All".to_owned()], true).unwrap();
        assert!(all.contains(&QueueAttributeName::ContentBasedDeduplication));
        assert!(parse_attribute_names(&[], false).unwrap().is_empty());
        let error = parse_attribute_names(&["Nope".to_owned()], false).unwrap_err();
        assert_eq!(error.message, "Unknown Attribute Nope.");
        let names = ["All".to_owned()];
        let system = parse_system_attribute_names(names.iter()).unwrap();
        assert_eq!(system.len(), MessageSystemAttributeName::ALL.len() - 1);
    }

    #[test]
    fn queue_names() {
        assert!(validate_queue_name("orders-1_a", false).is_ok());
        assert!(validate_queue_name(&"a".repeat(80), false).is_ok());
        assert!(validate_queue_name(&format!("{}.fifo", "a".repeat(75)), true).is_ok());
        for bad in ["", "a.b", "a b", "a.fifo", &"a".repeat(81)] {
            let error = validate_queue_name(bad, false).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidParameterValue, "{bad:?}");
        }
        for bad in ["a", ".fifo", &format!("{}.fifo", "a".repeat(76))] {
            let error = validate_queue_name(bad, true).unwrap_err();
            assert!(
                error.message.starts_with("The name of a FIFO queue"),
                "{bad:?}"
            );
        }
    }
}
