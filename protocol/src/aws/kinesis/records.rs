//! Shapes of PutRecord, PutRecords, GetShardIterator and GetRecords.

use serde::{Deserialize, Serialize};

use super::streams::{HashKeyRange, StreamRef};
use crate::aws::body::{Blob, Timestamp};

/// `PutRecordInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordInput {
    /// Which stream.
    #[serde(flatten)]
    pub stream: StreamRef,
    /// The payload.
    pub data: Blob,
    /// Hashed with MD5 to pick the shard.
    pub partition_key: String,
    /// A decimal 128-bit hash key that overrides the partition key's hash.
    pub explicit_hash_key: Option<String>,
    /// Orders this record after the one with this sequence number (Strata's sequence numbers
    /// always increase within a shard, so this is validated and otherwise a no-op).
    pub sequence_number_for_ordering: Option<String>,
}

/// `PutRecordOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordOutput {
    /// Where the record went.
    pub shard_id: String,
    /// Its sequence number.
    pub sequence_number: String,
    /// NONE or KMS.
    pub encryption_type: String,
}

/// `PutRecordsRequestEntry`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsRequestEntry {
    /// The payload.
    pub data: Blob,
    /// A decimal 128-bit hash key.
    pub explicit_hash_key: Option<String>,
    /// Hashed with MD5 to pick the shard.
    pub partition_key: String,
}

/// `PutRecordsInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsInput {
    /// Which stream.
    #[serde(flatten)]
    pub stream: StreamRef,
    /// 1–500 records.
    pub records: Vec<PutRecordsRequestEntry>,
}

/// `PutRecordsResultEntry`: a sequence number and shard, or an error code and message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsResultEntry {
    /// Set for a stored record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    /// Set for a stored record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_id: Option<String>,
    /// `ProvisionedThroughputExceededException` or `InternalFailure`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Detail for a failed record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// `PutRecordsOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsOutput {
    /// Failed records.
    pub failed_record_count: u32,
    /// One entry per request record, in request order.
    pub records: Vec<PutRecordsResultEntry>,
    /// NONE or KMS.
    pub encryption_type: String,
}

/// `GetShardIteratorInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetShardIteratorInput {
    /// Which stream.
    #[serde(flatten)]
    pub stream: StreamRef,
    /// Which shard.
    pub shard_id: String,
    /// AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST or AT_TIMESTAMP.
    pub shard_iterator_type: String,
    /// For the two sequence-number types.
    pub starting_sequence_number: Option<String>,
    /// For AT_TIMESTAMP.
    pub timestamp: Option<Timestamp>,
}

/// `GetShardIteratorOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetShardIteratorOutput {
    /// The iterator.
    pub shard_iterator: String,
}

/// `GetRecordsInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsInput {
    /// Where to read.
    pub shard_iterator: String,
    /// At most this many records, 1–10,000.
    pub limit: Option<i64>,
    /// The stream ARN (checked against the iterator's stream).
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    /// Accepted and ignored.
    pub stream_id: Option<String>,
}

/// `Record`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Record {
    /// Its sequence number.
    pub sequence_number: String,
    /// When it arrived.
    pub approximate_arrival_timestamp: Timestamp,
    /// The payload.
    pub data: Blob,
    /// Its partition key.
    pub partition_key: String,
    /// NONE or KMS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_type: Option<String>,
}

/// `ChildShard`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChildShard {
    /// The child.
    pub shard_id: String,
    /// Its parents.
    pub parent_shards: Vec<String>,
    /// Its hash keys.
    pub hash_key_range: HashKeyRange,
}

/// `GetRecordsOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsOutput {
    /// The records.
    pub records: Vec<Record>,
    /// Where to read next; absent once a closed shard has been read to its end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_shard_iterator: Option<String>,
    /// How far behind the shard's tip this response is.
    pub millis_behind_latest: i64,
    /// Set once a closed shard has been read to its end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_shards: Option<Vec<ChildShard>>,
}
