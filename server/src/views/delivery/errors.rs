//! The error output: records Firehose could not deliver or process, written under
//! `ErrorOutputPrefix` as its error documents.
//!
//! Each failed record becomes one JSON line, as Firehose documents for processing,
//! partitioning and format-conversion failures:
//!
//! ```text
//! {"attemptsMade":1,"arrivalTimestamp":1700000000000,"errorCode":"…","errorMessage":"…",
//!  "attemptEndingTimestamp":1700000001000,"rawData":"<base64 of the record>"}
//! ```
//!
//! The prefix is `ErrorOutputPrefix` with `!{firehose:error-output-type}` filled in
//! (`processing-failed`, `partitioning-failed`, `format-conversion-failed`, and Strata's
//! `s3-failed`). Without any expression, `<error-output-type>/yyyy/MM/dd/HH/` is appended to
//! it, so the failures of each kind and hour stay apart.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::keys::Prefix;

/// One record that failed, and why.
#[derive(Clone, Copy, Debug)]
pub struct FailedRecord<'a> {
    /// The record's bytes, as put.
    pub data: &'a [u8],
    /// When the record arrived (ms since the epoch).
    pub arrival_ms: i64,
    /// A short code (`S3.PutObjectFailed`, `DynamicPartitioning.MetadataExtractionFailed`).
    pub code: &'a str,
    /// What went wrong.
    pub message: &'a str,
}

/// The error object's body: one JSON document per record, each followed by a newline.
pub fn encode(records: &[FailedRecord<'_>], attempts: u64, attempt_ending_ms: i64) -> Vec<u8> {
    let mut out = Vec::new();
    for record in records {
        let document = serde_json::json!({
            "attemptsMade": attempts,
            "arrivalTimestamp": record.arrival_ms,
            "errorCode": record.code,
            "errorMessage": record.message,
            "attemptEndingTimestamp": attempt_ending_ms,
            "rawData": BASE64.encode(record.data),
        });
        out.extend_from_slice(document.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

/// The parsed error output prefix. The prefix was checked when it was set; one that no
/// longer parses falls back to the default rather than stopping delivery.
pub fn error_prefix(text: Option<&str>) -> Prefix {
    let default = "!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/";
    let text = text.unwrap_or("");
    let full = if Prefix::has_expressions(Some(text)) {
        text.to_owned()
    } else {
        format!("{text}{default}")
    };
    Prefix::parse(Some(&full), true)
        .or_else(|_| Prefix::parse(Some(default), true))
        .unwrap_or_else(|_| Prefix::empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::views::delivery::keys::UtcTime;

    #[test]
    fn each_failed_record_is_one_json_line_with_its_bytes_in_base64() {
        let records = [
            FailedRecord {
                data: b"not json",
                arrival_ms: 5,
                code: "C",
                message: "m",
            },
            FailedRecord {
                data: b"\xff",
                arrival_ms: 6,
                code: "C",
                message: "m",
            },
        ];
        let body = encode(&records, 1, 9);
        let lines: Vec<serde_json::Value> = body
            .split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| serde_json::from_slice(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["rawData"], "bm90IGpzb24=");
        assert_eq!(lines[1]["rawData"], "/w==");
        assert_eq!(lines[0]["errorCode"], "C");
        assert_eq!(lines[0]["arrivalTimestamp"], 5);
        assert_eq!(lines[0]["attemptEndingTimestamp"], 9);
        assert_eq!(lines[0]["attemptsMade"], 1);
    }

    #[test]
    fn error_prefix_without_expressions_gets_the_type_and_hour() {
        let time = UtcTime::from_epoch_ms(0);
        let seed = [0; 32];
        assert_eq!(
            error_prefix(None).render(&time, &seed, "s3-failed"),
            "s3-failed/1970/01/01/00/"
        );
        assert_eq!(
            error_prefix(Some("err/")).render(&time, &seed, "processing-failed"),
            "err/processing-failed/1970/01/01/00/"
        );
        assert_eq!(
            error_prefix(Some("e/!{firehose:error-output-type}/")).render(&time, &seed, "x"),
            "e/x/"
        );
    }
}
