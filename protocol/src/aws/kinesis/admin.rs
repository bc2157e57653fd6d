//! Shapes of the stream administration operations: retention (Increase/Decrease
//! StreamRetentionPeriod), resharding (SplitShard, MergeShards, UpdateShardCount), tags
//! (AddTagsToStream, RemoveTagsFromStream, ListTagsForStream, TagResource, UntagResource,
//! ListTagsForResource), server-side encryption (Start/StopStreamEncryption), enhanced
//! monitoring (Enable/DisableEnhancedMonitoring), stream settings (UpdateMaxRecordSize,
//! UpdateStreamMode, UpdateStreamWarmThroughput), DescribeLimits, resource policies
//! (Put/Get/DeleteResourcePolicy) and account settings (Describe/UpdateAccountSettings).
//!
//! Required members are plain fields, so a request without one is refused while decoding
//! with the `ValidationException` AWS sends for a null member.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::streams::{StreamModeDetails, StreamRef};
use crate::aws::body::Timestamp;

/// `IncreaseStreamRetentionPeriodInput` and `DecreaseStreamRetentionPeriodInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetentionPeriodInput {
    /// Which stream.
    #[serde(flatten)]
    pub stream: StreamRef,
    /// The new retention period, in hours (24–8760).
    pub retention_period_hours: i64,
}

/// `IncreaseStreamRetentionPeriodInput`.
pub type IncreaseStreamRetentionPeriodInput = RetentionPeriodInput;
/// `DecreaseStreamRetentionPeriodInput`.
pub type DecreaseStreamRetentionPeriodInput = RetentionPeriodInput;

/// `SplitShardInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SplitShardInput {
    /// Which stream.
    #[serde(flatten)]
    pub stream: StreamRef,
    /// The open shard to split.
    pub shard_to_split: String,
    /// The first hash key of the upper child, in decimal.
    pub new_starting_hash_key: String,
}

/// `MergeShardsInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MergeShardsInput {
    /// Which stream.
    #[serde(flatten)]
    pub stream: StreamRef,
    /// The child's parent.
    pub shard_to_merge: String,
    /// The child's adjacent parent; its hash keys must border the other shard's.
    pub adjacent_shard_to_merge: String,
}

/// `UpdateShardCountInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateShardCountInput {
    /// Which stream.
    #[serde(flatten)]
    pub stream: StreamRef,
    /// How many open shards the stream should have.
    pub target_shard_count: i64,
    /// `UNIFORM_SCALING`.
    pub scaling_type: String,
}

/// `UpdateShardCountOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateShardCountOutput {
    /// The stream's name.
    pub stream_name: String,
    /// Open shards before the update.
    pub current_shard_count: u32,
    /// Open shards after it.
    pub target_shard_count: u32,
    /// The stream's ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
}

/// `AddTagsToStreamInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddTagsToStreamInput {
    /// Which stream.
    #[serde(flatten)]
    pub stream: StreamRef,
    /// Tags to add or overwrite (at most 10 per call).
    pub tags: BTreeMap<String, String>,
}

/// `RemoveTagsFromStreamInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveTagsFromStreamInput {
    /// Which stream.
    #[serde(flatten)]
    pub stream: StreamRef,
    /// Keys to remove; absent keys are ignored.
    pub tag_keys: Vec<String>,
}

/// `ListTagsForStreamInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForStreamInput {
    /// Which stream.
    #[serde(flatten)]
    pub stream: StreamRef,
    /// List keys after this one.
    pub exclusive_start_tag_key: Option<String>,
    /// Tags per page, 1–50.
    pub limit: Option<i64>,
}

/// `Tag`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// The key.
    pub key: String,
    /// The value (possibly empty).
    pub value: String,
}

/// `ListTagsForStreamOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForStreamOutput {
    /// One page of tags, by key.
    pub tags: Vec<Tag>,
    /// Whether more follow.
    pub has_more_tags: bool,
}

/// `TagResourceInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceInput {
    /// A stream or consumer ARN.
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    /// Tags to add or overwrite.
    pub tags: BTreeMap<String, String>,
    /// Accepted and ignored (names are unique).
    pub stream_id: Option<String>,
}

/// `UntagResourceInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceInput {
    /// A stream or consumer ARN.
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    /// Keys to remove; absent keys are ignored.
    pub tag_keys: Vec<String>,
    /// Accepted and ignored.
    pub stream_id: Option<String>,
}

/// `ListTagsForResourceInput`, and the input of the resource policy reads and deletes
/// (`GetResourcePolicyInput`, `DeleteResourcePolicyInput`): a resource ARN.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceInput {
    /// A stream or consumer ARN.
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    /// Accepted and ignored.
    pub stream_id: Option<String>,
}

/// `ListTagsForResourceInput`.
pub type ListTagsForResourceInput = ResourceInput;
/// `GetResourcePolicyInput`.
pub type GetResourcePolicyInput = ResourceInput;
/// `DeleteResourcePolicyInput`.
pub type DeleteResourcePolicyInput = ResourceInput;

/// `ListTagsForResourceOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForResourceOutput {
    /// Every tag, by key.
    pub tags: Vec<Tag>,
}

/// `StartStreamEncryptionInput` and `StopStreamEncryptionInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamEncryptionInput {
    /// Which stream.
    #[serde(flatten)]
    pub stream: StreamRef,
    /// `KMS` (`NONE` is in the enum but refused).
    pub encryption_type: String,
    /// The KMS key: id, ARN, alias name or alias ARN.
    pub key_id: String,
}

/// `StartStreamEncryptionInput`.
pub type StartStreamEncryptionInput = StreamEncryptionInput;
/// `StopStreamEncryptionInput`.
pub type StopStreamEncryptionInput = StreamEncryptionInput;

/// `EnableEnhancedMonitoringInput` and `DisableEnhancedMonitoringInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnhancedMonitoringInput {
    /// Which stream.
    #[serde(flatten)]
    pub stream: StreamRef,
    /// Metric names, or `ALL`.
    pub shard_level_metrics: Vec<String>,
}

/// `EnableEnhancedMonitoringInput`.
pub type EnableEnhancedMonitoringInput = EnhancedMonitoringInput;
/// `DisableEnhancedMonitoringInput`.
pub type DisableEnhancedMonitoringInput = EnhancedMonitoringInput;

/// `EnhancedMonitoringOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnhancedMonitoringOutput {
    /// The stream's name.
    pub stream_name: String,
    /// Metrics enabled before the call.
    pub current_shard_level_metrics: Vec<String>,
    /// Metrics enabled after it.
    pub desired_shard_level_metrics: Vec<String>,
    /// The stream's ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
}

/// `UpdateMaxRecordSizeInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateMaxRecordSizeInput {
    /// Which stream (the model names it by ARN).
    #[serde(flatten)]
    pub stream: StreamRef,
    /// Largest record, 1024–10240 KiB.
    pub max_record_size_in_ki_b: i64,
}

/// `UpdateStreamModeInput`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateStreamModeInput {
    /// The stream's ARN (required: this operation takes no name).
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// Accepted and ignored.
    pub stream_id: Option<String>,
    /// The new mode.
    pub stream_mode_details: StreamModeDetails,
    /// Warm throughput of an ON_DEMAND stream, MiB/s.
    pub warm_throughput_mi_bps: Option<i64>,
}

/// `UpdateStreamWarmThroughputInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateStreamWarmThroughputInput {
    /// Which stream.
    #[serde(flatten)]
    pub stream: StreamRef,
    /// The warm throughput, MiB/s.
    pub warm_throughput_mi_bps: i64,
}

/// `WarmThroughputObject`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WarmThroughputObject {
    /// The requested warm throughput, MiB/s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_mi_bps: Option<u32>,
    /// The warm throughput the stream had when the request arrived, MiB/s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_mi_bps: Option<u32>,
}

/// `UpdateStreamWarmThroughputOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateStreamWarmThroughputOutput {
    /// The stream's ARN.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// The stream's name.
    pub stream_name: String,
    /// Requested and current warm throughput.
    pub warm_throughput: WarmThroughputObject,
}

/// An input with no members (`{}`): `DescribeLimitsInput`, `DescribeAccountSettingsInput`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct NoMembers {}

/// `DescribeLimitsInput`.
pub type DescribeLimitsInput = NoMembers;
/// `DescribeAccountSettingsInput`.
pub type DescribeAccountSettingsInput = NoMembers;

/// `DescribeLimitsOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeLimitsOutput {
    /// Open shards the account may have.
    pub shard_limit: u32,
    /// Open shards of every stream of the account.
    pub open_shard_count: u32,
    /// ON_DEMAND streams of the account.
    pub on_demand_stream_count: u32,
    /// ON_DEMAND streams the account may have.
    pub on_demand_stream_count_limit: u32,
}

/// `PutResourcePolicyInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutResourcePolicyInput {
    /// A stream or consumer ARN.
    #[serde(rename = "ResourceARN")]
    pub resource_arn: String,
    /// Accepted and ignored.
    pub stream_id: Option<String>,
    /// The policy document, a JSON object as text.
    pub policy: String,
}

/// `GetResourcePolicyOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetResourcePolicyOutput {
    /// The policy document (`{}` when none is attached).
    pub policy: String,
}

/// `MinimumThroughputBillingCommitmentInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MinimumThroughputBillingCommitmentInput {
    /// `ENABLED` or `DISABLED`.
    pub status: String,
}

/// `UpdateAccountSettingsInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAccountSettingsInput {
    /// The desired commitment.
    pub minimum_throughput_billing_commitment: MinimumThroughputBillingCommitmentInput,
}

/// `MinimumThroughputBillingCommitmentOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MinimumThroughputBillingCommitmentOutput {
    /// `ENABLED`, `DISABLED` or `ENABLED_UNTIL_EARLIEST_ALLOWED_END`.
    pub status: String,
    /// When the commitment started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    /// The earliest time it may end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earliest_allowed_end_at: Option<Timestamp>,
}

/// `DescribeAccountSettingsOutput` and `UpdateAccountSettingsOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountSettingsOutput {
    /// The account's minimum throughput billing commitment.
    pub minimum_throughput_billing_commitment: MinimumThroughputBillingCommitmentOutput,
}

/// `DescribeAccountSettingsOutput`.
pub type DescribeAccountSettingsOutput = AccountSettingsOutput;
/// `UpdateAccountSettingsOutput`.
pub type UpdateAccountSettingsOutput = AccountSettingsOutput;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::body::{self, BodyError, Format};

    #[test]
    fn required_members_are_validation_errors_and_names_follow_the_model() {
        let missing: Result<RetentionPeriodInput, _> =
            body::decode(Format::Json, br#"{"StreamName":"s"}"#);
        assert_eq!(
            missing,
            Err(BodyError::MissingMember("retentionPeriodHours".into()))
        );
        let split: Result<SplitShardInput, _> = body::decode(
            Format::Json,
            br#"{"StreamARN":"arn:aws:kinesis:us-east-1:000000000000:stream/s","ShardToSplit":"shardId-000000000000","NewStartingHashKey":"5"}"#,
        );
        assert_eq!(
            split.map(|s| (s.stream.stream_arn.is_some(), s.new_starting_hash_key)),
            Ok((true, "5".to_owned()))
        );
        let record: Result<UpdateMaxRecordSizeInput, _> = body::decode(
            Format::Json,
            br#"{"StreamName":"s","MaxRecordSizeInKiB":2048}"#,
        );
        assert_eq!(record.map(|r| r.max_record_size_in_ki_b), Ok(2048));
        let none: Result<NoMembers, _> = body::decode(Format::Json, b"");
        assert_eq!(none, Ok(NoMembers {}));
        let out = body::encode(
            Format::Json,
            &UpdateStreamWarmThroughputOutput {
                stream_arn: "a".into(),
                stream_name: "s".into(),
                warm_throughput: WarmThroughputObject {
                    target_mi_bps: Some(10),
                    current_mi_bps: None,
                },
            },
        );
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"{"StreamARN":"a","StreamName":"s","WarmThroughput":{"TargetMiBps":10}}"#
        );
        let limits = body::encode(
            Format::Json,
            &DescribeLimitsOutput {
                shard_limit: 500,
                open_shard_count: 1,
                on_demand_stream_count: 0,
                on_demand_stream_count_limit: 50,
            },
        );
        assert_eq!(
            String::from_utf8_lossy(&limits),
            r#"{"ShardLimit":500,"OpenShardCount":1,"OnDemandStreamCount":0,"OnDemandStreamCountLimit":50}"#
        );
    }
}
