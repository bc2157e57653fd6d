//! Message validation: body characters, user attribute names, types and values, the counted
//! size, batch entry ids, FIFO ids and the numeric request parameters. Each check returns the
//! [`Error`] AWS answers with.

use std::collections::{BTreeMap, BTreeSet};

use super::attributes::AWS_TRACE_HEADER;
use super::errors::{Error, ErrorCode};
use super::limits;
use super::shapes::MessageAttributeValue;

/// Whether SQS allows `c` in a body or a string attribute value: `#x9 | #xA | #xD |
/// #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF`.
pub fn is_allowed_char(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..
    )
}

const ALLOWED_SET: &str =
    "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF";

/// Whether every byte of UTF-8 text says at once that its character is allowed: no control
/// byte but tab, line feed and carriage return, and no `0xEF` (the lead byte of U+F000 to
/// U+FFFF, among them the refused U+FFFE and U+FFFF). Bodies that are not plainly allowed
/// are checked character by character. The fold has no early exit, so it vectorizes.
fn is_plainly_allowed(text: &[u8]) -> bool {
    text.chunks(64).all(|chunk| {
        chunk.iter().fold(true, |ok, &b| {
            ok & ((b >= 0x20 && b != 0xEF) | (b == b'\t') | (b == b'\n') | (b == b'\r'))
        })
    })
}

/// Checks a message body: at least one character, every one of the allowed set.
pub fn validate_body(body: &str) -> Result<(), Error> {
    if body.is_empty() {
        return Err(Error::missing_parameter("MessageBody"));
    }
    if is_plainly_allowed(body.as_bytes()) {
        return Ok(());
    }
    match body.chars().find(|c| !is_allowed_char(*c)) {
        None => Ok(()),
        Some(c) => Err(Error::new(
            ErrorCode::InvalidMessageContents,
            format!(
                "Invalid binary character '#x{:X}' was found in the message body, the set of \
                 allowed characters is {ALLOWED_SET}",
                u32::from(c)
            ),
        )),
    }
}

/// The base types of a `DataType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaseType {
    /// `String` (and `String.*`).
    String,
    /// `Number` (and `Number.*`): the value is in `StringValue`.
    Number,
    /// `Binary` (and `Binary.*`).
    Binary,
}

/// The base type of a `DataType` (`String`, `Number.float`, `Binary.gif`): `None` when it is
/// not one of the three, or its custom suffix is empty.
pub fn base_type(data_type: &str) -> Option<BaseType> {
    let (base, custom) = match data_type.split_once('.') {
        Some((base, custom)) => (base, Some(custom)),
        None => (data_type, None),
    };
    if custom.is_some_and(str::is_empty) {
        return None;
    }
    match base {
        "String" => Some(BaseType::String),
        "Number" => Some(BaseType::Number),
        "Binary" => Some(BaseType::Binary),
        _ => None,
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorCode::InvalidParameterValue, message)
}

/// Checks a user attribute's name: 1–256 of `[A-Za-z0-9_.-]`, no `AWS.` or `Amazon.` prefix
/// in any case, and no leading, trailing or doubled `.`.
pub fn validate_attribute_name(name: &str) -> Result<(), Error> {
    let reason = if name.is_empty() {
        Some("The attribute name must not be empty")
    } else if name.chars().count() > limits::MESSAGE_ATTRIBUTE_NAME_LENGTH_MAX {
        Some("The attribute name must be at most 256 characters long")
    } else if !name
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.'))
    {
        Some(
            "The attribute name can contain only alphanumeric characters, hyphens, \
             underscores and periods",
        )
    } else if starts_with_ignore_case(name, "AWS.") || starts_with_ignore_case(name, "Amazon.") {
        Some("The attribute name must not start with AWS-reserved prefixes 'AWS.' or 'Amazon.'")
    } else if name.starts_with('.') || name.ends_with('.') || name.contains("..") {
        Some(
            "The attribute name must not start or end with a period, or have two periods in \
             succession",
        )
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(invalid(format!(
            "Message (user) attribute name '{name}' is invalid. Reason: {reason}."
        ))),
    }
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// Checks a user attribute's type and value: a known base type of at most 256 characters,
/// the value in the member the type calls for, a number that parses, string characters of
/// the allowed set.
pub fn validate_attribute_value(name: &str, value: &MessageAttributeValue) -> Result<(), Error> {
    let data_type = value.data_type.as_str();
    if data_type.is_empty() {
        return Err(invalid(format!(
            "The message attribute '{name}' must contain non-empty message attribute type."
        )));
    }
    if data_type.chars().count() > limits::MESSAGE_ATTRIBUTE_TYPE_LENGTH_MAX {
        return Err(invalid(format!(
            "Message (user) attribute '{name}' type must be at most 256 characters long."
        )));
    }
    let Some(base) = base_type(data_type) else {
        return Err(invalid(format!(
            "The type of message (user) attribute '{name}' is invalid. You must use only the \
             following supported type prefixes: Binary, Number, String."
        )));
    };
    let has_string = value.string_value.is_some() || !value.string_list_values.is_empty();
    let has_binary = value.binary_value.is_some() || !value.binary_list_values.is_empty();
    match base {
        BaseType::String | BaseType::Number if !has_string || has_binary => {
            return Err(invalid(format!(
                "The message attribute '{name}' with type '{}' must use field 'String'.",
                if base == BaseType::Number {
                    "Number"
                } else {
                    "String"
                }
            )));
        }
        BaseType::Binary if !has_binary || has_string => {
            return Err(invalid(format!(
                "The message attribute '{name}' with type 'Binary' must use field 'Binary'."
            )));
        }
        _ => {}
    }
    let strings = value.string_value.iter().chain(&value.string_list_values);
    for text in strings {
        if base == BaseType::Number && !is_number(text) {
            return Err(invalid(format!(
                "Can't cast the value of message (user) attribute '{name}' to a number."
            )));
        }
        if text.is_empty() {
            return Err(invalid(format!(
                "Message (user) attribute '{name}' must contain a non-empty value of message \
                 attribute type '{data_type}'."
            )));
        }
        if let Some(c) = text.chars().find(|c| !is_allowed_char(*c)) {
            return Err(invalid(format!(
                "Message (user) attribute '{name}' value contains invalid binary character \
                 '#x{:X}'. You must use only the following supported characters: {ALLOWED_SET}.",
                u32::from(c)
            )));
        }
    }
    Ok(())
}

/// A decimal number as SQS accepts one: optional sign, digits with an optional fraction, an
/// optional exponent; at most 38 significant digits.
fn is_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|exponent| {
        let exponent = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
        !exponent.is_empty() && digits(exponent)
    });
    let significant = whole.trim_start_matches('0').len() + fraction.len();
    !(whole.is_empty() && fraction.is_empty())
        && digits(whole)
        && digits(fraction)
        && exponent_ok
        && significant <= 38
}

/// Checks a message's user attributes: at most 10, each name and value valid.
pub fn validate_attributes(
    attributes: &BTreeMap<String, MessageAttributeValue>,
) -> Result<(), Error> {
    if attributes.len() > limits::MESSAGE_ATTRIBUTES_MAX {
        return Err(invalid(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [{}].",
            attributes.len(),
            limits::MESSAGE_ATTRIBUTES_MAX
        )));
    }
    for (name, value) in attributes {
        validate_attribute_name(name)?;
        validate_attribute_value(name, value)?;
    }
    Ok(())
}

/// Checks a message's system attributes: only `AWSTraceHeader`, of type `String`.
pub fn validate_system_attributes(
    attributes: &BTreeMap<String, MessageAttributeValue>,
) -> Result<(), Error> {
    for (name, value) in attributes {
        if name != AWS_TRACE_HEADER {
            return Err(invalid(format!(
                "Message system attribute name '{name}' is invalid."
            )));
        }
        if value.data_type != "String" || value.string_value.is_none() {
            return Err(invalid(format!(
                "Message system attribute '{name}' must be of type 'String' and use field 'String'."
            )));
        }
    }
    Ok(())
}

/// The size SQS counts against `MaximumMessageSize`: the body's UTF-8 bytes, plus, per user
/// attribute, its name, its `DataType` and its value (string bytes, or decoded binary bytes).
/// System attributes do not count.
pub fn message_size(body: &str, attributes: &BTreeMap<String, MessageAttributeValue>) -> usize {
    let attribute_bytes: usize = attributes
        .iter()
        .map(|(name, value)| {
            let strings: usize = value
                .string_value
                .iter()
                .chain(&value.string_list_values)
                .map(String::len)
                .sum();
            let binaries: usize = value
                .binary_value
                .iter()
                .chain(&value.binary_list_values)
                .map(|blob| blob.0.len())
                .sum();
            name.len() + value.data_type.len() + strings + binaries
        })
        .sum();
    body.len() + attribute_bytes
}

/// Checks a counted size against the queue's `MaximumMessageSize`.
pub fn validate_size(size: usize, maximum_message_size: u32) -> Result<(), Error> {
    if size > maximum_message_size as usize {
        return Err(invalid(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than \
             {maximum_message_size} bytes."
        )));
    }
    Ok(())
}

/// Checks the entry ids of a batch: 1–10 entries, each id 1–80 of `[A-Za-z0-9_-]`, all
/// distinct. `entry` is the query name of an entry (`SendMessageBatchRequestEntry`, …), which
/// AWS's message names.
pub fn validate_batch_ids<'a>(
    entry: &str,
    ids: impl ExactSizeIterator<Item = &'a str>,
) -> Result<(), Error> {
    if ids.len() == 0 {
        return Err(Error::new(
            ErrorCode::EmptyBatchRequest,
            format!("There should be at least one {entry} in the request."),
        ));
    }
    if ids.len() > limits::BATCH_ENTRIES_MAX {
        return Err(Error::new(
            ErrorCode::TooManyEntriesInBatchRequest,
            format!(
                "Maximum number of entries per request are {}. You have sent {}.",
                limits::BATCH_ENTRIES_MAX,
                ids.len()
            ),
        ));
    }
    let mut seen = BTreeSet::new();
    for id in ids {
        let valid = !id.is_empty()
            && id.len() <= limits::BATCH_ENTRY_ID_LENGTH_MAX
            && id
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
        if !valid {
            return Err(Error::new(
                ErrorCode::InvalidBatchEntryId,
                "A batch entry id can only contain alphanumeric characters, hyphens and \
                 underscores. It can be at most 80 letters long.",
            ));
        }
        if !seen.insert(id) {
            return Err(Error::new(
                ErrorCode::BatchEntryIdsNotDistinct,
                format!("Id {id} repeated."),
            ));
        }
    }
    Ok(())
}

/// Checks the total size of a SendMessageBatch (the sum of [`message_size`] over its entries).
pub fn validate_batch_size(total: usize) -> Result<(), Error> {
    if total > limits::BATCH_BYTES_MAX {
        return Err(Error::new(
            ErrorCode::BatchRequestTooLong,
            format!(
                "Batch requests cannot be longer than {} bytes. You have sent {total} bytes.",
                limits::BATCH_BYTES_MAX
            ),
        ));
    }
    Ok(())
}

/// Checks a `MessageDeduplicationId`, `MessageGroupId` or `ReceiveRequestAttemptId`: 1–128 of
/// ASCII alphanumerics and punctuation.
pub fn validate_message_id(parameter: &str, value: &str) -> Result<(), Error> {
    let valid = !value.is_empty()
        && value.len() <= limits::MESSAGE_ID_LENGTH_MAX
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte.is_ascii_punctuation());
    if valid {
        return Ok(());
    }
    let reason = format!(
        "{parameter} can only include alphanumeric and punctuation characters. 1 to {} in length",
        limits::MESSAGE_ID_LENGTH_MAX
    );
    Err(Error::invalid_parameter(parameter, value, &reason))
}

/// Checks an integer request parameter against its range: `Value {value} for parameter
/// {parameter} is invalid. Reason: Must be between {min} and {max}, if provided.`
pub fn validate_range(parameter: &str, value: i32, min: i32, max: i32) -> Result<(), Error> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid_parameter(
            parameter,
            &value.to_string(),
            &format!("Must be between {min} and {max}, if provided"),
        ))
    }
}

/// Whether ReceiveMessage's `MessageAttributeNames` select the attribute `name`: `All` or
/// `.*` select every one, `prefix.*` those starting with `prefix.`, anything else its exact
/// name.
pub fn attribute_selected(filters: &[String], name: &str) -> bool {
    filters.iter().any(|filter| match filter.as_str() {
        "All" | ".*" => true,
        filter => match filter.strip_suffix(".*") {
            Some(prefix) => name
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('.')),
            None => filter == name,
        },
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use bytes::Bytes;

    use super::*;
    use crate::aws::body::Blob;

    fn string(value: &str) -> MessageAttributeValue {
        MessageAttributeValue {
            string_value: Some(value.to_owned()),
            data_type: "String".to_owned(),
            ..MessageAttributeValue::default()
        }
    }

    #[test]
    fn body_characters_fast_path_agrees_with_the_character_rule() {
        let mut samples: Vec<String> = vec![
            "plain ascii ~\u{7f}".into(),
            "\u{EFFF}\u{F000}\u{FFFD}".into(),
            "\u{FFFE}".into(),
            "\u{FFFF}x".into(),
            "x\u{0}".into(),
            "é€😀".into(),
        ];
        for c in (0u32..0x300).chain(0xD000..0xD900).chain(0xE000..0x1_0100) {
            if let Some(c) = char::from_u32(c) {
                samples.push(format!("{}{c}{}", "a".repeat(70), "b".repeat(3)));
            }
        }
        for sample in samples {
            let expected = sample.chars().all(is_allowed_char);
            assert_eq!(validate_body(&sample).is_ok(), expected, "{sample:?}");
            if is_plainly_allowed(sample.as_bytes()) {
                assert!(expected, "{sample:?}");
            }
        }
    }

    #[test]
    fn body_characters() {
        assert!(validate_body("tab\tnl\ncr\r \u{D7FF}\u{E000}\u{FFFD}\u{10000}\u{10FFFF}").is_ok());
        let error = validate_body("a\u{1}b").unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidMessageContents);
        assert_eq!(
            error.message,
            "Invalid binary character '#x1' was found in the message body, the set of allowed \
             characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"
        );
        for c in ['\u{0}', '\u{8}', '\u{B}', '\u{1F}', '\u{FFFE}', '\u{FFFF}'] {
            assert!(!is_allowed_char(c), "{c:?}");
        }
        assert_eq!(
            validate_body("").unwrap_err().code,
            ErrorCode::MissingParameter
        );
    }

    #[test]
    fn attribute_names() {
        for ok in ["a", "A-b_c.d", &"x".repeat(256), "AWSx", "Amazonian"] {
            assert!(validate_attribute_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a b",
            "é",
            ".a",
            "a.",
            "a..b",
            "AWS.x",
            "aws.x",
            "amazon.y",
            &"x".repeat(257),
        ] {
            let error = validate_attribute_name(bad).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidParameterValue, "{bad}");
            assert!(
                error
                    .message
                    .starts_with(&format!("Message (user) attribute name '{bad}'"))
            );
        }
    }

    #[test]
    fn data_types_and_values() {
        assert!(validate_attribute_value("a", &string("x")).is_ok());
        let mut number = string("-1.5e10");
        number.data_type = "Number.float".to_owned();
        assert!(validate_attribute_value("n", &number).is_ok());
        number.string_value = Some("12a".to_owned());
        assert_eq!(
            validate_attribute_value("n", &number).unwrap_err().message,
            "Can't cast the value of message (user) attribute 'n' to a number."
        );
        let binary = MessageAttributeValue {
            binary_value: Some(Blob(Bytes::from_static(b"\x00"))),
            data_type: "Binary.gif".to_owned(),
            ..MessageAttributeValue::default()
        };
        assert!(validate_attribute_value("b", &binary).is_ok());
        for bad_type in [
            "",
            "Strin",
            "String.",
            "Text.x",
            &format!("String.{}", "x".repeat(250)),
        ] {
            let mut value = string("x");
            value.data_type = bad_type.to_owned();
            assert!(validate_attribute_value("a", &value).is_err(), "{bad_type}");
        }
        let mut wrong = binary.clone();
        wrong.data_type = "String".to_owned();
        assert_eq!(
            validate_attribute_value("a", &wrong).unwrap_err().message,
            "The message attribute 'a' with type 'String' must use field 'String'."
        );
        let mut wrong = string("x");
        wrong.data_type = "Binary".to_owned();
        assert_eq!(
            validate_attribute_value("a", &wrong).unwrap_err().message,
            "The message attribute 'a' with type 'Binary' must use field 'Binary'."
        );
        assert!(validate_attribute_value("a", &string("\u{1}")).is_err());
    }

    #[test]
    fn at_most_ten_attributes() {
        let ten: BTreeMap<_, _> = (0..10).map(|i| (format!("a{i}"), string("x"))).collect();
        assert!(validate_attributes(&ten).is_ok());
        let mut eleven = ten;
        eleven.insert("z".to_owned(), string("x"));
        assert_eq!(
            validate_attributes(&eleven).unwrap_err().message,
            "Number of message attributes [11] exceeds the allowed maximum [10]."
        );
    }

    #[test]
    fn system_attributes_are_only_the_trace_header() {
        let ok = BTreeMap::from([(AWS_TRACE_HEADER.to_owned(), string("Root=1-5759e988"))]);
        assert!(validate_system_attributes(&ok).is_ok());
        let bad = BTreeMap::from([("SenderId".to_owned(), string("x"))]);
        assert!(validate_system_attributes(&bad).is_err());
    }

    #[test]
    fn size_counts_body_names_types_and_values() {
        let attributes = BTreeMap::from([
            ("ab".to_owned(), string("xyz")),
            (
                "b".to_owned(),
                MessageAttributeValue {
                    binary_value: Some(Blob(Bytes::from_static(b"\x00\x01"))),
                    data_type: "Binary".to_owned(),
                    ..MessageAttributeValue::default()
                },
            ),
        ]);
        // "héllo" is 6 bytes; "ab" + "String" + "xyz" = 11; "b" + "Binary" + 2 = 9.
        assert_eq!(message_size("héllo", &attributes), 26);
        assert!(validate_size(1024, 1024).is_ok());
        assert_eq!(
            validate_size(1025, 1024).unwrap_err().message,
            "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes."
        );
    }

    #[test]
    fn batch_ids() {
        let entry = "SendMessageBatchRequestEntry";
        assert!(validate_batch_ids(entry, ["a", "b-1", "C_2"].into_iter()).is_ok());
        let code = |ids: &[&str]| {
            validate_batch_ids(entry, ids.iter().copied())
                .unwrap_err()
                .code
        };
        assert_eq!(code(&[]), ErrorCode::EmptyBatchRequest);
        assert_eq!(code(&["a"; 11]), ErrorCode::TooManyEntriesInBatchRequest);
        assert_eq!(code(&["a", "a"]), ErrorCode::BatchEntryIdsNotDistinct);
        assert_eq!(code(&["a.b"]), ErrorCode::InvalidBatchEntryId);
        assert_eq!(code(&[&"a".repeat(81)]), ErrorCode::InvalidBatchEntryId);
        assert_eq!(
            validate_batch_ids(entry, std::iter::empty())
                .unwrap_err()
                .message,
            "There should be at least one SendMessageBatchRequestEntry in the request."
        );
        assert!(validate_batch_size(1_048_576).is_ok());
        assert_eq!(
            validate_batch_size(1_048_577).unwrap_err().code,
            ErrorCode::BatchRequestTooLong
        );
    }

    #[test]
    fn message_ids_and_ranges() {
        assert!(validate_message_id("MessageGroupId", "g-1!{}~").is_ok());
        assert!(validate_message_id("MessageGroupId", "").is_err());
        assert!(validate_message_id("MessageGroupId", "a b").is_err());
        assert!(validate_message_id("MessageGroupId", &"a".repeat(129)).is_err());
        assert_eq!(
            validate_range("MaxNumberOfMessages", 11, 1, 10)
                .unwrap_err()
                .message,
            "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
        );
    }

    #[test]
    fn attribute_filters() {
        let filters = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(attribute_selected(&filters(&["All"]), "x"));
        assert!(attribute_selected(&filters(&[".*"]), "x"));
        assert!(attribute_selected(&filters(&["bar.*"]), "bar.baz"));
        assert!(!attribute_selected(&filters(&["bar.*"]), "barbaz"));
        assert!(attribute_selected(&filters(&["x"]), "x"));
        assert!(!attribute_selected(&filters(&["x"]), "y"));
        assert!(!attribute_selected(&[], "x"));
    }
}
