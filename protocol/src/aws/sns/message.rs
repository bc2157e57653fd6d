//! Publish checks: message size, subject, message attributes, batch entry ids and FIFO ids.
//! Each returns the [`Error`] AWS answers with.

use std::collections::BTreeSet;

use super::errors::{Error, ErrorCode};
use super::limits;
use super::shapes::{MessageAttributeMap, PublishBatchRequestEntry};

/// The counted size of a message: body plus every attribute's name, type and value, in bytes.
pub fn message_size(message: &str, attributes: &MessageAttributeMap) -> usize {
    message.len()
        + attributes
            .iter()
            .map(|(name, value)| {
                name.len()
                    + value.data_type.len()
                    + value.string_value.as_ref().map_or(0, String::len)
                    + value.binary_value.as_ref().map_or(0, |blob| blob.0.len())
            })
            .sum::<usize>()
}

/// Checks a message: not empty (`Invalid parameter: Empty message`) and at most `bytes_max`
/// counted bytes (`Invalid parameter: Message too long`).
pub fn validate_message(
    message: &str,
    attributes: &MessageAttributeMap,
    bytes_max: usize,
) -> Result<(), Error> {
    if message.is_empty() {
        return Err(Error::invalid_parameter("Empty message"));
    }
    if message_size(message, attributes) > bytes_max {
        return Err(Error::invalid_parameter("Message too long"));
    }
    Ok(())
}

/// Checks a `Subject`: 1–99 printable ASCII characters, no line break, starting with a letter,
/// digit or punctuation.
pub fn validate_subject(subject: &str) -> Result<(), Error> {
    let starts_well = subject
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c.is_ascii_punctuation());
    if !starts_well
        || subject.chars().count() > limits::SUBJECT_LENGTH_MAX
        || !subject.chars().all(|c| c == ' ' || c.is_ascii_graphic())
    {
        return Err(Error::invalid_parameter("Subject"));
    }
    Ok(())
}

/// Checks message attributes: at most [`limits::MESSAGE_ATTRIBUTES_MAX`], names of
/// `[A-Za-z0-9_.-]` without a leading, trailing or doubled `.` nor an `AWS.`/`Amazon.` prefix,
/// types `String`, `String.Array`, `Number`, `Binary` (with an optional custom suffix), and a
/// value of the type (`ParameterValueInvalid`).
pub fn validate_attributes(attributes: &MessageAttributeMap) -> Result<(), Error> {
    if attributes.len() > limits::MESSAGE_ATTRIBUTES_MAX {
        return Err(Error::parameter_value_invalid(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{}].",
            attributes.len(),
            limits::MESSAGE_ATTRIBUTES_MAX
        )));
    }
    for (name, value) in attributes {
        let lower = name.to_ascii_lowercase();
        if name.is_empty()
            || name.chars().count() > limits::MESSAGE_ATTRIBUTE_NAME_LENGTH_MAX
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            || name.starts_with('.')
            || name.ends_with('.')
            || name.contains("..")
            || lower.starts_with("aws.")
            || lower.starts_with("amazon.")
        {
            return Err(Error::parameter_value_invalid(format!(
                "The message attribute name '{name}' is invalid."
            )));
        }
        let data_type = value.data_type.as_str();
        let base = if data_type == "String.Array" {
            "String.Array"
        } else {
            data_type.split('.').next().unwrap_or_default()
        };
        let has_suffix = data_type.len() > base.len();
        if has_suffix && data_type.ends_with('.') {
            return Err(invalid_type(name));
        }
        match base {
            "String" | "String.Array" | "Number" => {
                let Some(text) = value
                    .string_value
                    .as_deref()
                    .filter(|text| !text.is_empty())
                else {
                    return Err(empty_value(name, data_type));
                };
                if base == "String.Array"
                    && !matches!(
                        serde_json::from_str::<serde_json::Value>(text),
                        Ok(serde_json::Value::Array(_))
                    )
                {
                    return Err(Error::parameter_value_invalid(format!(
                        "The message attribute '{name}' with type 'String.Array' has an \
                         invalid value: must be a JSON array."
                    )));
                }
                if base == "Number" && !text.parse::<f64>().is_ok_and(|n| n.abs() <= 1e9) {
                    return Err(Error::parameter_value_invalid(format!(
                        "Could not cast message attribute '{name}' value to number."
                    )));
                }
            }
            "Binary" => {
                if value
                    .binary_value
                    .as_ref()
                    .is_none_or(|blob| blob.0.is_empty())
                {
                    return Err(empty_value(name, data_type));
                }
            }
            _ => return Err(invalid_type(name)),
        }
    }
    Ok(())
}

fn invalid_type(name: &str) -> Error {
    Error::parameter_value_invalid(format!(
        "The message attribute '{name}' has an invalid message attribute type, the set of \
         supported type prefixes is Binary, Number, and String."
    ))
}

fn empty_value(name: &str, data_type: &str) -> Error {
    Error::parameter_value_invalid(format!(
        "The message attribute '{name}' must contain non-empty message attribute value for \
         message attribute type '{data_type}'."
    ))
}

/// Checks a batch as a whole: 1–10 entries, ids of 1–80 `[A-Za-z0-9_-]`, all distinct.
pub fn validate_batch(entries: &[PublishBatchRequestEntry]) -> Result<(), Error> {
    if entries.is_empty() {
        return Err(Error::of(ErrorCode::EmptyBatchRequest));
    }
    if entries.len() > limits::BATCH_ENTRIES_MAX {
        return Err(Error::of(ErrorCode::TooManyEntriesInBatchRequest));
    }
    let mut seen = BTreeSet::new();
    for entry in entries {
        let id = entry.id.as_str();
        if id.is_empty()
            || id.len() > limits::BATCH_ENTRY_ID_LENGTH_MAX
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        {
            return Err(Error::of(ErrorCode::InvalidBatchEntryId));
        }
        if !seen.insert(id) {
            return Err(Error::of(ErrorCode::BatchEntryIdsNotDistinct));
        }
    }
    Ok(())
}

/// The batch's total counted size must be at most `bytes_max` (`BatchRequestTooLong`).
pub fn validate_batch_size(
    entries: &[PublishBatchRequestEntry],
    bytes_max: usize,
) -> Result<(), Error> {
    let total: usize = entries
        .iter()
        .map(|entry| message_size(&entry.message, &entry.message_attributes))
        .sum();
    if total > bytes_max {
        return Err(Error::of(ErrorCode::BatchRequestTooLong));
    }
    Ok(())
}

fn valid_fifo_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= limits::MESSAGE_ID_LENGTH_MAX
        && id.chars().all(|c| c.is_ascii_graphic())
}

/// Checks the FIFO ids of a publish. On a FIFO topic `MessageGroupId` is required, and a
/// `MessageDeduplicationId` too unless `content_based_deduplication`.
pub fn validate_fifo_ids(
    fifo: bool,
    content_based_deduplication: bool,
    group_id: Option<&str>,
    deduplication_id: Option<&str>,
) -> Result<(), Error> {
    if let Some(id) = group_id.filter(|id| !valid_fifo_id(id)) {
        return Err(Error::invalid_parameter_reason(
            "MessageGroupId",
            &format!("{id} must be 1-128 alphanumeric or punctuation characters"),
        ));
    }
    if let Some(id) = deduplication_id.filter(|id| !valid_fifo_id(id)) {
        return Err(Error::invalid_parameter_reason(
            "MessageDeduplicationId",
            &format!("{id} must be 1-128 alphanumeric or punctuation characters"),
        ));
    }
    if fifo {
        if group_id.is_none() {
            return Err(Error::invalid_parameter(
                "The MessageGroupId parameter is required for FIFO topics",
            ));
        }
        if deduplication_id.is_none() && !content_based_deduplication {
            return Err(Error::invalid_parameter(
                "The topic should either have ContentBasedDeduplication enabled or \
                 MessageDeduplicationId provided explicitly",
            ));
        }
    } else if deduplication_id.is_some() {
        return Err(Error::invalid_parameter(
            "MessageDeduplicationId Reason: The request includes MessageDeduplicationId \
             parameter that is not valid for this topic type",
        ));
    }
    Ok(())
}
