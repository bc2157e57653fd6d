//! What the queue operations share: the QueueARN, attribute, receive and batch checks, and
//! the conversions between the view's queues and deliveries and their shapes.

use std::time::Duration;

use protocol::aws::body::{Blob, Timestamp};
use protocol::aws::kinesis::errors as code;
use protocol::aws::kinesis::{
    DeadLetterConfiguration, QueueAttributes, QueueBatchOutput, QueueDescription, QueueErrorEntry,
    QueueRecord, QueueStartingPosition, QueueStreamConfiguration, ReceiptHandleEntry,
    ReceiveQueueRecordsInput, ReceiveQueueRecordsOutput,
};

use super::error::ApiError;
use super::validate::Checks;
use crate::views::stream_queues::limits::{
    BATCH_ENTRIES_MAX, RECEIVE_COUNT_MAX_MAX, RECEIVE_RECORDS_MAX, VISIBILITY_TIMEOUT_S_MAX,
    WAIT_S_DEFAULT, WAIT_S_MAX,
};
use crate::views::stream_queues::{
    AttributeChanges, DeadLetter, Delivery, Path, QueueView, Start, StreamQueues,
};
use crate::views::streams::{Error, Status, sequence};

/// Length of a QueueARN.
const QUEUE_ARN_CHARS_MAX: usize = 2048;
/// Length of a ReceiptHandle.
const RECEIPT_HANDLE_CHARS_MAX: usize = 1024;

/// Whether `arn` has the model's QueueARN form, `arn:aws.*:kinesis:.*:\d{12}:queue/\S+`.
pub fn is_queue_arn(arn: &str) -> bool {
    protocol::aws::arn::Arn::parse(arn).is_some_and(|parsed| {
        parsed.is_account_resource_of("kinesis")
            && parsed
                .resource
                .strip_prefix("queue/")
                .is_some_and(|id| !id.is_empty() && !id.chars().any(char::is_whitespace))
    })
}

/// A QueueARN member.
pub fn queue_arn(checks: &mut Checks, field: &str, arn: &str) {
    checks.length(field, Some(arn), 1, QUEUE_ARN_CHARS_MAX);
    checks.pattern(
        field,
        Some(arn),
        is_queue_arn,
        "arn:aws.*:kinesis:.*:\\d{12}:queue/\\S+",
    );
}

/// Checks the QueueARN of a request that names only a queue.
pub fn checked_arn(arn: &str) -> Result<(), ApiError> {
    let mut checks = Checks::new();
    queue_arn(&mut checks, "queueARN", arn);
    checks.finish()
}

/// A visibility timeout member, 0–43200.
fn visibility(checks: &mut Checks, field: &str, seconds: Option<i64>) -> Option<u32> {
    checks.range(field, seconds, 0, i64::from(VISIBILITY_TIMEOUT_S_MAX));
    seconds.and_then(|s| u32::try_from(s).ok())
}

/// QueueAttributes as changes (CreateQueue starts from the defaults, UpdateQueue from the
/// queue's attributes).
pub fn attribute_changes(
    checks: &mut Checks,
    field: &str,
    attributes: &QueueAttributes,
) -> AttributeChanges {
    let visibility_timeout_s = visibility(
        checks,
        &format!("{field}.visibilityTimeoutSeconds"),
        attributes.visibility_timeout_seconds,
    );
    let dead_letter = attributes.dead_letter_configuration.as_ref().map(|config| {
        let member = format!("{field}.deadLetterConfiguration");
        checks.one_of(
            &format!("{member}.targetType"),
            Some(&config.target_type),
            &["BUILT_IN", "NONE"],
        );
        checks.range(
            &format!("{member}.maxReceiveCount"),
            config.max_receive_count,
            1,
            i64::from(RECEIVE_COUNT_MAX_MAX),
        );
        match (config.target_type.as_str(), config.max_receive_count) {
            ("BUILT_IN", Some(max)) => DeadLetter::BuiltIn {
                receive_count_max: u32::try_from(max).unwrap_or(1),
            },
            ("BUILT_IN", None) => {
                checks.fail(
                    &format!("{member}.maxReceiveCount"),
                    None,
                    "not be null when targetType is BUILT_IN",
                );
                DeadLetter::None
            }
            ("NONE", Some(max)) => {
                checks.fail(
                    &format!("{member}.maxReceiveCount"),
                    Some(&max.to_string()),
                    "be null when targetType is NONE",
                );
                DeadLetter::None
            }
            _ => DeadLetter::None,
        }
    });
    AttributeChanges {
        visibility_timeout_s,
        dead_letter,
    }
}

/// The QueueAttributes shape of attributes.
fn attributes_shape(view: &QueueView) -> QueueAttributes {
    let attributes = view.config.attributes;
    QueueAttributes {
        visibility_timeout_seconds: Some(i64::from(attributes.visibility_timeout_s)),
        dead_letter_configuration: Some(match attributes.dead_letter {
            DeadLetter::BuiltIn { receive_count_max } => DeadLetterConfiguration {
                target_type: "BUILT_IN".into(),
                max_receive_count: Some(i64::from(receive_count_max)),
            },
            DeadLetter::None => DeadLetterConfiguration {
                target_type: "NONE".into(),
                max_receive_count: None,
            },
        }),
    }
}

/// The QueueDescription of a queue. While CREATING the starting position echoes what was
/// asked; from ACTIVE on it carries the effective starting time.
pub fn description(view: &QueueView) -> QueueDescription {
    let config = &view.config;
    let timestamp = match (view.status, config.start) {
        (Status::Creating, Start::AtTimestamp(ms)) => Some(Timestamp(ms)),
        (Status::Creating, _) => None,
        _ => Some(Timestamp(config.effective_start_ms)),
    };
    QueueDescription {
        queue_name: config.name.clone(),
        queue_arn: view.arn.clone(),
        queue_status: view.status.as_str().into(),
        queue_creation_timestamp: Timestamp(config.created_ms),
        stream_configuration_list: vec![QueueStreamConfiguration {
            stream_arn: view.stream_arn.clone(),
            starting_position: Some(QueueStartingPosition {
                kind: config.start.as_str().into(),
                timestamp,
            }),
        }],
        queue_attributes: attributes_shape(view),
    }
}

/// The QueueRecord of a delivery.
fn record_shape(delivery: Delivery) -> QueueRecord {
    let record = delivery.record;
    QueueRecord {
        receipt_handle: delivery.receipt_handle,
        record_id: sequence::encode(delivery.shard, record.offset),
        partition_key: (!record.key.is_empty())
            .then(|| String::from_utf8_lossy(&record.key).into_owned()),
        data: Blob(record.data),
        approximate_arrival_timestamp: Timestamp(record.timestamp_ms),
        first_receive_timestamp: Timestamp(delivery.first_receive_ms),
        receive_count: delivery.receive_count,
    }
}

/// ReceiveQueueRecords and ReceiveDeadLetterQueueRecords.
pub async fn receive(
    queues: &StreamQueues,
    path: Path,
    input: ReceiveQueueRecordsInput,
) -> Result<ReceiveQueueRecordsOutput, ApiError> {
    let mut checks = Checks::new();
    queue_arn(&mut checks, "queueARN", &input.queue_arn);
    let records_max = i64::try_from(RECEIVE_RECORDS_MAX).unwrap_or(i64::MAX);
    checks.range("limit", input.limit, 1, records_max);
    checks.range(
        "waitTimeSeconds",
        input.wait_time_seconds,
        1,
        i64::from(WAIT_S_MAX),
    );
    let visibility_s = visibility(
        &mut checks,
        "visibilityTimeoutSeconds",
        input.visibility_timeout_seconds,
    );
    checks.finish()?;
    let limit = input
        .limit
        .and_then(|limit| usize::try_from(limit).ok())
        .unwrap_or(RECEIVE_RECORDS_MAX);
    let wait_s = input
        .wait_time_seconds
        .and_then(|wait| u64::try_from(wait).ok())
        .unwrap_or(u64::from(WAIT_S_DEFAULT));
    let delivered = queues
        .receive(
            &input.queue_arn,
            path,
            limit,
            Duration::from_secs(wait_s),
            visibility_s,
        )
        .await?;
    Ok(ReceiveQueueRecordsOutput {
        queue_records: delivered.into_iter().map(record_shape).collect(),
    })
}

/// Checks a batch's QueueARN and 1–10 receipt handles.
pub fn check_batch<'a>(
    arn: &str,
    handles: impl ExactSizeIterator<Item = &'a str>,
) -> Result<(), ApiError> {
    let mut checks = Checks::new();
    queue_arn(&mut checks, "queueARN", arn);
    let count = handles.len();
    if count == 0 || count > BATCH_ENTRIES_MAX {
        let constraint = if count == 0 {
            "have length greater than or equal to 1".to_owned()
        } else {
            format!("have length less than or equal to {BATCH_ENTRIES_MAX}")
        };
        checks.fail("entries", None, &constraint);
    }
    for (index, handle) in handles.enumerate() {
        checks.length(
            &format!("entries.{}.member.receiptHandle", index + 1),
            Some(handle),
            1,
            RECEIPT_HANDLE_CHARS_MAX,
        );
    }
    checks.finish()
}

/// Checks the visibility timeouts of a visibility batch.
pub fn check_visibilities(seconds: &[i64]) -> Result<Vec<u32>, ApiError> {
    let mut checks = Checks::new();
    let checked = seconds
        .iter()
        .enumerate()
        .map(|(index, &s)| {
            visibility(
                &mut checks,
                &format!("entries.{}.member.visibilityTimeoutSeconds", index + 1),
                Some(s),
            )
            .unwrap_or(0)
        })
        .collect();
    checks.finish()?;
    Ok(checked)
}

/// UpdateQueueRecordsVisibility and its dead-letter twin: each handle's record stays
/// invisible for its new timeout (seconds from now; 0: visible at once), on `path`.
pub async fn update_visibility(
    queues: &StreamQueues,
    arn: &str,
    entries: Vec<(String, i64)>,
    path: Path,
) -> Result<QueueBatchOutput, ApiError> {
    check_batch(arn, entries.iter().map(|(handle, _)| handle.as_str()))?;
    let seconds: Vec<i64> = entries.iter().map(|(_, seconds)| *seconds).collect();
    let seconds = check_visibilities(&seconds)?;
    let handles: Vec<String> = entries.into_iter().map(|(handle, _)| handle).collect();
    let entries: Vec<(String, u32)> = handles.iter().cloned().zip(seconds).collect();
    let results = queues.change_visibility(arn, path, &entries).await?;
    Ok(batch_output(handles, results))
}

/// The Successful and Failed lists of a batch.
pub fn batch_output(handles: Vec<String>, results: Vec<Result<(), Error>>) -> QueueBatchOutput {
    let mut output = QueueBatchOutput {
        successful: Vec::new(),
        failed: Vec::new(),
    };
    for (receipt_handle, result) in handles.into_iter().zip(results) {
        match result {
            Ok(()) => output
                .successful
                .push(ReceiptHandleEntry { receipt_handle }),
            Err(error) => {
                let api = ApiError::from(error);
                let error_code = if api.code == code::RESOURCE_NOT_FOUND {
                    code::RESOURCE_NOT_FOUND
                } else if api.status >= 500 {
                    code::INTERNAL_FAILURE
                } else {
                    code::INVALID_ARGUMENT
                };
                output.failed.push(QueueErrorEntry {
                    receipt_handle,
                    error_code: error_code.into(),
                    error_message: api.message,
                });
            }
        }
    }
    output
}
