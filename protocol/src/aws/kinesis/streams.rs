//! Shapes of CreateStream, DeleteStream, DescribeStream, DescribeStreamSummary, ListStreams
//! and ListShards.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::aws::body::Timestamp;

/// `StreamModeDetails`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamModeDetails {
    /// `PROVISIONED` or `ON_DEMAND`.
    pub stream_mode: String,
}

/// `CreateStreamInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateStreamInput {
    /// Name of the new stream.
    pub stream_name: String,
    /// Shards (required for PROVISIONED streams).
    pub shard_count: Option<i64>,
    /// PROVISIONED (default) or ON_DEMAND.
    pub stream_mode_details: Option<StreamModeDetails>,
    /// Tags to attach.
    pub tags: Option<BTreeMap<String, String>>,
    /// Warm throughput (recorded).
    pub warm_throughput_mi_bps: Option<i64>,
    /// Largest record, 1024–10240 KiB.
    pub max_record_size_in_ki_b: Option<i64>,
}

/// The three ways an operation names a stream; at least one must be present.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamRef {
    /// The stream name.
    pub stream_name: Option<String>,
    /// The stream ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    /// The stream id (accepted and ignored: names are unique).
    pub stream_id: Option<String>,
}

/// `DeleteStreamInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteStreamInput {
    /// Which stream.
    #[serde(flatten)]
    pub stream: StreamRef,
    /// Delete registered consumers too instead of refusing.
    pub enforce_consumer_deletion: Option<bool>,
}

/// `DescribeStreamInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamInput {
    /// Which stream.
    #[serde(flatten)]
    pub stream: StreamRef,
    /// Shards per page, 1–10,000 (default 100).
    pub limit: Option<i64>,
    /// Start after this shard.
    pub exclusive_start_shard_id: Option<String>,
}

/// `HashKeyRange`: decimal 128-bit hash keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HashKeyRange {
    /// First hash key.
    pub starting_hash_key: String,
    /// Last hash key (inclusive).
    pub ending_hash_key: String,
}

/// `SequenceNumberRange`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SequenceNumberRange {
    /// Sequence number of the shard's first record.
    pub starting_sequence_number: String,
    /// For a closed shard, that of its last record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ending_sequence_number: Option<String>,
}

/// `Shard`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Shard {
    /// `shardId-000000000000`.
    pub shard_id: String,
    /// The shard this one was split from or merged into.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_shard_id: Option<String>,
    /// The other parent of a merge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adjacent_parent_shard_id: Option<String>,
    /// The shard's hash keys.
    pub hash_key_range: HashKeyRange,
    /// The shard's sequence numbers.
    pub sequence_number_range: SequenceNumberRange,
}

/// `EnhancedMetrics`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnhancedMetrics {
    /// Shard-level metrics enabled.
    #[serde(default)]
    pub shard_level_metrics: Vec<String>,
}

/// `StreamDescription`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDescription {
    /// The name.
    pub stream_name: String,
    /// The ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// CREATING, DELETING, ACTIVE or UPDATING.
    pub stream_status: String,
    /// PROVISIONED or ON_DEMAND.
    pub stream_mode_details: StreamModeDetails,
    /// One page of shards.
    pub shards: Vec<Shard>,
    /// Whether more shards follow.
    pub has_more_shards: bool,
    /// Retention.
    pub retention_period_hours: u32,
    /// Creation time.
    pub stream_creation_timestamp: Timestamp,
    /// Enabled metrics (one entry).
    pub enhanced_monitoring: Vec<EnhancedMetrics>,
    /// NONE or KMS.
    pub encryption_type: String,
    /// The KMS key, when encrypted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// `DescribeStreamOutput`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamOutput {
    /// The description.
    pub stream_description: StreamDescription,
}

/// `StreamDescriptionSummary`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDescriptionSummary {
    /// The name.
    pub stream_name: String,
    /// The ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// The stream id.
    pub stream_id: String,
    /// CREATING, DELETING, ACTIVE or UPDATING.
    pub stream_status: String,
    /// PROVISIONED or ON_DEMAND.
    pub stream_mode_details: StreamModeDetails,
    /// Retention.
    pub retention_period_hours: u32,
    /// Creation time.
    pub stream_creation_timestamp: Timestamp,
    /// Enabled metrics.
    pub enhanced_monitoring: Vec<EnhancedMetrics>,
    /// NONE or KMS.
    pub encryption_type: String,
    /// The KMS key, when encrypted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Open shards.
    pub open_shard_count: u32,
    /// Registered consumers.
    pub consumer_count: u32,
    /// Largest record, KiB.
    pub max_record_size_in_ki_b: u32,
}

/// `DescribeStreamSummaryOutput`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamSummaryOutput {
    /// The summary.
    pub stream_description_summary: StreamDescriptionSummary,
}

/// `ListStreamsInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamsInput {
    /// Names per page, 1–10,000 (default 100).
    pub limit: Option<i64>,
    /// Start after this name.
    pub exclusive_start_stream_name: Option<String>,
    /// Continue a previous listing.
    pub next_token: Option<String>,
}

/// `StreamSummary`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSummary {
    /// The name.
    pub stream_name: String,
    /// The ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// Status.
    pub stream_status: String,
    /// Mode.
    pub stream_mode_details: StreamModeDetails,
    /// Creation time.
    pub stream_creation_timestamp: Timestamp,
}

/// `ListStreamsOutput`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamsOutput {
    /// Names, sorted.
    pub stream_names: Vec<String>,
    /// Whether more follow.
    pub has_more_streams: bool,
    /// Token for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// One summary per name.
    pub stream_summaries: Vec<StreamSummary>,
}

/// `ShardFilter`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShardFilter {
    /// AFTER_SHARD_ID, AT_TRIM_HORIZON, FROM_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP or
    /// FROM_TIMESTAMP.
    #[serde(rename = "Type")]
    pub kind: String,
    /// For AFTER_SHARD_ID.
    pub shard_id: Option<String>,
    /// For AT_TIMESTAMP and FROM_TIMESTAMP.
    pub timestamp: Option<Timestamp>,
}

/// `ListShardsInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListShardsInput {
    /// Which stream (not allowed together with NextToken).
    #[serde(flatten)]
    pub stream: StreamRef,
    /// Continue a previous listing.
    pub next_token: Option<String>,
    /// Start after this shard.
    pub exclusive_start_shard_id: Option<String>,
    /// Shards per page, 1–10,000 (default 1,000).
    pub max_results: Option<i64>,
    /// Tells apart streams of the same name (checked against the creation time).
    pub stream_creation_timestamp: Option<Timestamp>,
    /// Which shards to list.
    pub shard_filter: Option<ShardFilter>,
}

/// `ListShardsOutput`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListShardsOutput {
    /// One page of shards.
    pub shards: Vec<Shard>,
    /// Token for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// An output with no members (`{}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Empty {}
