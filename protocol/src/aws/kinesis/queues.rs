//! Shapes of the queue operations: a queue delivers a stream's records to queue consumers one
//! at a time, with visibility timeouts, acknowledgements and built-in dead-letter handling
//! (CreateQueue, DescribeQueue, ListQueues, UpdateQueue, DeleteQueue, ReceiveQueueRecords,
//! AcknowledgeQueueRecords, UpdateQueueRecordsVisibility and their dead-letter
//! counterparts, RestoreDeadLetterQueueRecords).
//!
//! Integers are read as `i64` so that out-of-range values reach the range checks (and their
//! `ValidationException`s) instead of failing to decode.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::aws::body::{Blob, Timestamp};

/// `QueueStartingPosition`: where in the stream delivery begins.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueStartingPosition {
    /// `TRIM_HORIZON`, `LATEST` or `AT_TIMESTAMP`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// For `AT_TIMESTAMP` only (in a request); the effective start once ACTIVE (in a
    /// response).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
}

/// `QueueStreamConfiguration`: the stream a queue delivers from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueStreamConfiguration {
    /// The stream's ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// Where delivery begins (default `LATEST`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starting_position: Option<QueueStartingPosition>,
}

/// `DeadLetterConfiguration`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterConfiguration {
    /// `BUILT_IN` or `NONE`.
    pub target_type: String,
    /// Receives before a record becomes a dead-letter record, 1–1000 (with `BUILT_IN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_receive_count: Option<i64>,
}

/// `QueueAttributes`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueAttributes {
    /// Seconds a received record stays invisible, 0–43200 (default 30).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility_timeout_seconds: Option<i64>,
    /// Dead-letter handling (default `BUILT_IN` with a MaxReceiveCount of 6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_configuration: Option<DeadLetterConfiguration>,
}

/// `CreateQueueInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateQueueInput {
    /// 1–128 of `[a-zA-Z0-9_.-]`, unique in the account.
    pub queue_name: String,
    /// Exactly one stream.
    pub stream_configuration_list: Vec<QueueStreamConfiguration>,
    /// Visibility timeout and dead-letter handling.
    pub queue_attributes: Option<QueueAttributes>,
    /// Tags for the queue.
    pub tags: Option<BTreeMap<String, String>>,
}

/// `QueueDescription`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueDescription {
    /// Its name.
    pub queue_name: String,
    /// Its ARN, `arn:aws:kinesis:<region>:<account>:queue/<id>`.
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    /// `CREATING`, `ACTIVE`, `UPDATING` or `DELETING`.
    pub queue_status: String,
    /// When it was created.
    pub queue_creation_timestamp: Timestamp,
    /// Its stream and starting position.
    pub stream_configuration_list: Vec<QueueStreamConfiguration>,
    /// Its attributes.
    pub queue_attributes: QueueAttributes,
}

/// `CreateQueueOutput`, `DescribeQueueOutput` and `UpdateQueueOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueDescriptionOutput {
    /// The queue.
    pub queue_description: QueueDescription,
}

/// `CreateQueueOutput`.
pub type CreateQueueOutput = QueueDescriptionOutput;
/// `DescribeQueueOutput`.
pub type DescribeQueueOutput = QueueDescriptionOutput;
/// `UpdateQueueOutput`.
pub type UpdateQueueOutput = QueueDescriptionOutput;

/// An input naming one queue: `DescribeQueueInput`, `DeleteQueueInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueRef {
    /// The queue's ARN.
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
}

/// `DescribeQueueInput`.
pub type DescribeQueueInput = QueueRef;
/// `DeleteQueueInput`.
pub type DeleteQueueInput = QueueRef;

/// `UpdateQueueInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateQueueInput {
    /// The queue's ARN.
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    /// The attributes to change; absent ones are left as they are.
    pub queue_attributes: QueueAttributes,
}

/// `QueueStreamFilter`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueStreamFilter {
    /// The stream's ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// The stream's creation time (tells a recreated stream from its predecessor).
    pub stream_creation_timestamp: Option<Timestamp>,
}

/// `ListQueuesInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesInput {
    /// At most this many summaries, 1–10000.
    pub max_results: Option<i64>,
    /// From a previous page.
    pub next_token: Option<String>,
    /// Only queues on these streams.
    pub stream_filter: Option<Vec<QueueStreamFilter>>,
}

/// `QueueStreamIdentifier`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueStreamIdentifier {
    /// The stream's ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// When the stream was created.
    pub stream_creation_timestamp: Timestamp,
}

/// `QueueSummary`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueSummary {
    /// Its name.
    pub queue_name: String,
    /// Its ARN.
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    /// Its status.
    pub queue_status: String,
    /// When it was created.
    pub queue_creation_timestamp: Timestamp,
    /// Its stream.
    pub streams: Vec<QueueStreamIdentifier>,
}

/// `ListQueuesOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesOutput {
    /// One page of queues, by name.
    pub queue_summaries: Vec<QueueSummary>,
    /// Present when more queues follow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// `ReceiveQueueRecordsInput` and `ReceiveDeadLetterQueueRecordsInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveQueueRecordsInput {
    /// The queue's ARN.
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    /// At most this many records, 1–10 (default 10).
    pub limit: Option<i64>,
    /// Longest wait for a record, 1–20 seconds (default 9).
    pub wait_time_seconds: Option<i64>,
    /// Visibility timeout of these records, 0–43200 (default: the queue's).
    pub visibility_timeout_seconds: Option<i64>,
}

/// `ReceiveDeadLetterQueueRecordsInput`.
pub type ReceiveDeadLetterQueueRecordsInput = ReceiveQueueRecordsInput;

/// `QueueRecord`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueRecord {
    /// What acknowledges this delivery, changes its visibility or restores it.
    pub receipt_handle: String,
    /// The same in every delivery and every queue of the record.
    pub record_id: String,
    /// The record's partition key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition_key: Option<String>,
    /// The record's data.
    pub data: Blob,
    /// When the record arrived in the stream.
    pub approximate_arrival_timestamp: Timestamp,
    /// When the queue first delivered it.
    pub first_receive_timestamp: Timestamp,
    /// Deliveries without acknowledgement, this one included.
    pub receive_count: u32,
}

/// `ReceiveQueueRecordsOutput` and `ReceiveDeadLetterQueueRecordsOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveQueueRecordsOutput {
    /// The records (empty when none became visible in time).
    pub queue_records: Vec<QueueRecord>,
}

/// `ReceiveDeadLetterQueueRecordsOutput`.
pub type ReceiveDeadLetterQueueRecordsOutput = ReceiveQueueRecordsOutput;

/// An entry naming a delivery by its receipt handle (acknowledge and restore requests, and
/// every result entry).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiptHandleEntry {
    /// The receipt handle.
    pub receipt_handle: String,
}

/// An input of receipt handles: `AcknowledgeQueueRecordsInput`,
/// `AcknowledgeDeadLetterQueueRecordsInput`, `RestoreDeadLetterQueueRecordsInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueHandlesInput {
    /// The queue's ARN.
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    /// 1–10 entries.
    pub entries: Vec<ReceiptHandleEntry>,
}

/// `AcknowledgeQueueRecordsInput`.
pub type AcknowledgeQueueRecordsInput = QueueHandlesInput;
/// `AcknowledgeDeadLetterQueueRecordsInput`.
pub type AcknowledgeDeadLetterQueueRecordsInput = QueueHandlesInput;
/// `RestoreDeadLetterQueueRecordsInput`.
pub type RestoreDeadLetterQueueRecordsInput = QueueHandlesInput;

/// `UpdateQueueRecordsVisibilityRequestEntry` (and its dead-letter twin).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VisibilityEntry {
    /// The receipt handle.
    pub receipt_handle: String,
    /// The new timeout from now, 0–43200 seconds.
    pub visibility_timeout_seconds: i64,
}

/// `UpdateQueueRecordsVisibilityInput` and `UpdateDeadLetterQueueRecordsVisibilityInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateQueueRecordsVisibilityInput {
    /// The queue's ARN.
    #[serde(rename = "QueueARN")]
    pub queue_arn: String,
    /// 1–10 entries.
    pub entries: Vec<VisibilityEntry>,
}

/// `UpdateDeadLetterQueueRecordsVisibilityInput`.
pub type UpdateDeadLetterQueueRecordsVisibilityInput = UpdateQueueRecordsVisibilityInput;

/// A failed entry of a batch (`AcknowledgeQueueRecordsErrorEntry` and the others).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueErrorEntry {
    /// The entry's receipt handle.
    pub receipt_handle: String,
    /// `InvalidArgumentException`, `ResourceNotFoundException`, ...
    pub error_code: String,
    /// Why.
    pub error_message: String,
}

/// The output of every batch operation on receipt handles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueBatchOutput {
    /// The entries that took effect.
    pub successful: Vec<ReceiptHandleEntry>,
    /// The entries that did not, each with its reason.
    pub failed: Vec<QueueErrorEntry>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use crate::aws::body::{Format, decode, encode};

    #[test]
    fn inputs_decode_as_boto3_sends_them_and_outputs_omit_absent_members() {
        let body = br#"{"QueueName":"q","StreamConfigurationList":[{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s","StartingPosition":{"Type":"AT_TIMESTAMP","Timestamp":1700000000.5}}],"QueueAttributes":{"DeadLetterConfiguration":{"TargetType":"NONE"}},"Tags":{"k":"v"}}"#;
        let input: CreateQueueInput = decode(Format::Json, body).unwrap();
        let position = input.stream_configuration_list[0]
            .starting_position
            .clone()
            .unwrap();
        assert_eq!(position.kind, "AT_TIMESTAMP");
        assert_eq!(position.timestamp, Some(Timestamp(1_700_000_000_500)));
        let attributes = input.queue_attributes.unwrap();
        assert_eq!(attributes.visibility_timeout_seconds, None);
        assert_eq!(
            attributes.dead_letter_configuration.unwrap().target_type,
            "NONE"
        );
        // A required member missing is refused, not defaulted.
        assert!(decode::<QueueRef>(Format::Json, b"{}").is_err());
        let output = QueueBatchOutput {
            successful: vec![ReceiptHandleEntry {
                receipt_handle: "h".into(),
            }],
            failed: Vec::new(),
        };
        assert_eq!(
            encode(Format::Json, &output),
            br#"{"Successful":[{"ReceiptHandle":"h"}],"Failed":[]}"#
        );
        let list = ListQueuesOutput {
            queue_summaries: Vec::new(),
            next_token: None,
        };
        assert_eq!(encode(Format::Json, &list), br#"{"QueueSummaries":[]}"#);
    }
}
