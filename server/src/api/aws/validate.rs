//! Shape constraints (length, range, pattern) checked the way AWS reports them:
//! `2 validation errors detected: Value 'x' at 'streamName' failed to satisfy constraint:
//! Member must ...; Value ...`, as a `ValidationException`.

use protocol::aws::kinesis::errors::VALIDATION;

use super::error::ApiError;

/// Collects constraint violations of one request.
#[derive(Debug, Default)]
pub struct Checks(Vec<String>);

fn shown(value: &str) -> String {
    value.chars().take(256).collect()
}

impl Checks {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation of `field` (camelCase, as AWS names members).
    pub fn fail(&mut self, field: &str, value: Option<&str>, constraint: &str) {
        let value = value.map_or_else(|| "null".to_owned(), |v| format!("'{}'", shown(v)));
        self.0.push(format!(
            "Value {value} at '{field}' failed to satisfy constraint: Member must {constraint}"
        ));
    }

    /// Length in characters within `min..=max`.
    pub fn length(&mut self, field: &str, value: Option<&str>, min: usize, max: usize) {
        if let Some(text) = value {
            let length = text.chars().count();
            if length < min {
                self.fail(
                    field,
                    value,
                    &format!("have length greater than or equal to {min}"),
                );
            } else if length > max {
                self.fail(
                    field,
                    value,
                    &format!("have length less than or equal to {max}"),
                );
            }
        }
    }

    /// A byte length (blobs) of at most `max`.
    pub fn blob_length(&mut self, field: &str, length: usize, max: usize) {
        if length > max {
            self.0.push(format!(
                "Value at '{field}' failed to satisfy constraint: Member must have length less than or equal to {max}"
            ));
        }
    }

    /// A number within `min..=max`.
    pub fn range(&mut self, field: &str, value: Option<i64>, min: i64, max: i64) {
        if let Some(number) = value {
            let text = number.to_string();
            if number < min {
                self.fail(
                    field,
                    Some(&text),
                    &format!("have value greater than or equal to {min}"),
                );
            } else if number > max {
                self.fail(
                    field,
                    Some(&text),
                    &format!("have value less than or equal to {max}"),
                );
            }
        }
    }

    /// A string matching `pattern`, tested by `matches`.
    pub fn pattern(
        &mut self,
        field: &str,
        value: Option<&str>,
        matches: fn(&str) -> bool,
        pattern: &str,
    ) {
        if let Some(text) = value
            && !matches(text)
        {
            self.fail(
                field,
                value,
                &format!("satisfy regular expression pattern: {pattern}"),
            );
        }
    }

    /// One of `allowed`.
    pub fn one_of(&mut self, field: &str, value: Option<&str>, allowed: &[&str]) {
        if let Some(text) = value
            && !allowed.contains(&text)
        {
            self.fail(
                field,
                value,
                &format!("satisfy enum value set: [{}]", allowed.join(", ")),
            );
        }
    }

    /// A stream name: 1–128 of `[a-zA-Z0-9_.-]`.
    pub fn stream_name(&mut self, field: &str, value: Option<&str>) {
        self.length(field, value, 1, 128);
        self.pattern(field, value, is_name, "[a-zA-Z0-9_.-]+");
    }

    /// A stream ARN: 1–2048 characters of the Kinesis stream ARN form.
    pub fn stream_arn(&mut self, field: &str, value: Option<&str>) {
        self.length(field, value, 1, 2048);
        self.pattern(
            field,
            value,
            |arn| {
                arn.starts_with("arn:aws") && arn.contains(":kinesis:") && arn.contains(":stream/")
            },
            "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+",
        );
    }

    /// A shard id: 1–128 of `[a-zA-Z0-9_.-]`.
    pub fn shard_id(&mut self, field: &str, value: Option<&str>) {
        self.length(field, value, 1, 128);
        self.pattern(field, value, is_name, "[a-zA-Z0-9_.-]+");
    }

    /// A decimal hash key `0|([1-9]\d{0,38})`.
    pub fn hash_key(&mut self, field: &str, value: Option<&str>) {
        self.pattern(field, value, is_hash_key, "0|([1-9]\\d{0,38})");
    }

    /// A sequence number `0|([1-9]\d{0,128})`.
    pub fn sequence_number(&mut self, field: &str, value: Option<&str>) {
        self.pattern(field, value, is_sequence, "0|([1-9]\\d{0,128})");
    }

    /// The collected violations as one `ValidationException`, if any.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.0.len() {
            0 => Ok(()),
            count => Err(ApiError::new(
                VALIDATION,
                format!(
                    "{count} validation error{} detected: {}",
                    if count == 1 { "" } else { "s" },
                    self.0.join("; ")
                ),
            )),
        }
    }
}

fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn digits(text: &str, max: usize) -> bool {
    text == "0"
        || (!text.is_empty()
            && text.len() <= max
            && !text.starts_with('0')
            && text.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `text` matches a hash key's pattern `0|([1-9]\d{0,38})`.
pub fn is_hash_key(text: &str) -> bool {
    digits(text, 39)
}

fn is_sequence(text: &str) -> bool {
    digits(text, 129)
}

/// Parses a decimal hash key already checked by [`Checks::hash_key`]; `None` above 2^128 - 1.
pub fn parse_hash_key(text: &str) -> Option<u128> {
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_like_aws() {
        let mut checks = Checks::new();
        checks.stream_name("streamName", Some("bad name"));
        checks.range("shardCount", Some(0), 1, 100_000);
        let error = checks.finish().err().map(|e| e.message).unwrap_or_default();
        assert_eq!(
            error,
            "2 validation errors detected: Value 'bad name' at 'streamName' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; \
             Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1"
        );
        assert!(Checks::new().finish().is_ok());
        assert!(is_hash_key("0") && is_hash_key("340282366920938463463374607431768211455"));
        assert!(!is_hash_key("01") && !is_hash_key("-1") && !is_hash_key(""));
    }
}
