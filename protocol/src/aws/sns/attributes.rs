//! Topic names, topic and subscription ARNs, and the validation of settable topic and
//! subscription attribute values, with AWS's `InvalidParameter` messages.
//!
//! `FilterPolicy` is not checked here: the server runs it through the filter engine.
//! `DeliveryPolicy` is checked by [`super::delivery_policy`].

use super::errors::Error;
use super::limits;
use crate::aws::arn::Arn;

/// Checks a topic name: 1–256 of `[A-Za-z0-9_-]`, ending in `.fifo` exactly when `fifo`.
pub fn validate_topic_name(name: &str, fifo: bool) -> Result<(), Error> {
    let stem = if fifo {
        name.strip_suffix(limits::FIFO_SUFFIX)
    } else {
        Some(name)
    };
    let valid = stem.is_some_and(|stem| {
        !stem.is_empty()
            && name.len() <= limits::TOPIC_NAME_LENGTH_MAX
            && stem
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
    });
    match (valid, fifo) {
        (true, _) => Ok(()),
        (false, true) => Err(Error::invalid_parameter(
            "Fifo Topic names must end with .fifo and must be made up of only uppercase and \
             lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 \
             and 256 characters long.",
        )),
        (false, false) => Err(Error::invalid_parameter("Topic Name")),
    }
}

/// `arn:aws:sns:{region}:{account}:{name}`.
pub fn topic_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:sns:{region}:{account}:{name}")
}

/// `{topic_arn}:{id}`.
pub fn subscription_arn(topic_arn: &str, id: &str) -> String {
    format!("{topic_arn}:{id}")
}

/// The parts of a topic ARN: (region, account, name), or `None` when it is not one.
pub fn parse_topic_arn(text: &str) -> Option<(&str, &str, &str)> {
    let arn = Arn::parse(text)?;
    (arn.service == "sns" && !arn.resource.contains(':')).then_some((
        arn.region,
        arn.account,
        arn.resource,
    ))
}

/// The parts of a subscription ARN: (topic ARN, subscription id).
pub fn parse_subscription_arn(text: &str) -> Option<(&str, &str)> {
    let (topic, id) = text.rsplit_once(':')?;
    (parse_topic_arn(topic).is_some() && !id.is_empty()).then_some((topic, id))
}

fn attribute(name: &str, reason: &str) -> Error {
    Error::invalid_parameter_reason("Attributes", &format!("{name}: {reason}"))
}

fn boolean(name: &str, value: &str) -> Result<(), Error> {
    if value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false") {
        Ok(())
    } else {
        Err(attribute(name, "Invalid value, must be true or false"))
    }
}

/// Checks a settable topic attribute's value. `fifo` is whether the topic is (or is being
/// created as) FIFO. Unknown names are `InvalidParameter: AttributeName`.
pub fn validate_topic_attribute(name: &str, value: &str, fifo: bool) -> Result<(), Error> {
    let fifo_only = |name: &str| -> Result<(), Error> {
        if fifo {
            Ok(())
        } else {
            Err(attribute(name, "Attribute only applies to FIFO topics"))
        }
    };
    match name {
        "DisplayName" if value.chars().count() > 100 => {
            Err(Error::invalid_parameter("DisplayName"))
        }
        "DisplayName" | "KmsMasterKeyId" => Ok(()),
        "SignatureVersion" if matches!(value, "1" | "2") => Ok(()),
        "SignatureVersion" => Err(attribute(name, "must be 1 or 2")),
        "TracingConfig" if matches!(value, "PassThrough" | "Active") => Ok(()),
        "TracingConfig" => Err(attribute(name, "must be PassThrough or Active")),
        "MaximumMessageSize" => match value.parse::<usize>() {
            Ok(size) if (limits::MESSAGE_BYTES_MIN..=limits::MESSAGE_BYTES_MAX).contains(&size) => {
                Ok(())
            }
            _ => Err(attribute(name, "must be between 1024 and 1048576")),
        },
        "FifoTopic" => boolean(name, value),
        "ContentBasedDeduplication" => {
            boolean(name, value)?;
            fifo_only(name)
        }
        "FifoThroughputScope" => {
            if !matches!(value, "Topic" | "MessageGroup") {
                return Err(attribute(name, "must be Topic or MessageGroup"));
            }
            fifo_only(name)
        }
        "ArchivePolicy" => {
            fifo_only(name)?;
            if value.is_empty() {
                return Ok(());
            }
            let days = serde_json::from_str::<serde_json::Value>(value)
                .ok()
                .and_then(|policy| {
                    policy
                        .get("MessageRetentionPeriod")
                        .and_then(|days| match days {
                            serde_json::Value::String(text) => text.parse::<u32>().ok(),
                            other => other.as_u64().and_then(|n| u32::try_from(n).ok()),
                        })
                });
            match days {
                Some(1..=365) => Ok(()),
                _ => Err(attribute(
                    name,
                    "MessageRetentionPeriod must be between 1 and 365 days",
                )),
            }
        }
        "Policy" | "DataProtectionPolicy" => {
            if value.is_empty() || serde_json::from_str::<serde_json::Value>(value).is_ok() {
                Ok(())
            } else {
                Err(attribute(name, "failed to parse JSON"))
            }
        }
        "DeliveryPolicy" => super::delivery_policy::parse_topic_policy(value).map(drop),
        _ if name.ends_with("FeedbackRoleArn") => Ok(()),
        _ if name.ends_with("SuccessFeedbackSampleRate") => match value.parse::<u32>() {
            Ok(0..=100) => Ok(()),
            _ => Err(attribute(name, "must be between 0 and 100")),
        },
        _ => Err(Error::invalid_parameter("AttributeName")),
    }
}

/// Checks a settable subscription attribute's value (`FilterPolicy` is the filter engine's).
pub fn validate_subscription_attribute(name: &str, value: &str) -> Result<(), Error> {
    match name {
        "RawMessageDelivery" => boolean(name, value),
        "FilterPolicyScope" if matches!(value, "MessageAttributes" | "MessageBody") => Ok(()),
        "FilterPolicyScope" => Err(attribute(name, "must be MessageAttributes or MessageBody")),
        "DeliveryPolicy" => super::delivery_policy::parse_subscription_policy(value).map(drop),
        "RedrivePolicy" => {
            if value.is_empty() {
                return Ok(());
            }
            let target = serde_json::from_str::<serde_json::Value>(value)
                .ok()
                .and_then(|policy| {
                    policy
                        .get("deadLetterTargetArn")
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_owned)
                });
            match target {
                Some(arn) if Arn::parse(&arn).is_some_and(|arn| arn.service == "sqs") => Ok(()),
                Some(_) => Err(Error::invalid_parameter_reason(
                    "RedrivePolicy",
                    "Invalid deadLetterTargetArn",
                )),
                None => Err(Error::invalid_parameter_reason(
                    "RedrivePolicy",
                    "deadLetterTargetArn must be specified",
                )),
            }
        }
        "ReplayPolicy" => {
            if value.is_empty() || serde_json::from_str::<serde_json::Value>(value).is_ok() {
                Ok(())
            } else {
                Err(attribute(name, "failed to parse JSON"))
            }
        }
        "FilterPolicy" | "SubscriptionRoleArn" => Ok(()),
        _ => Err(Error::invalid_parameter("AttributeName")),
    }
}
