//! Shapes of the Channel operations (CreateChannel, DescribeChannel, ListChannels,
//! UpdateChannel, DeleteChannel): a Kinesis stream's built-in sink to S3, as botocore's
//! `kinesis/2013-12-02/service-2.json` defines them. Members Strata refuses (the S3 Tables
//! destination) are still decoded, so the server can answer with a precise error.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::aws::body::Timestamp;

/// `RecordConfiguration`: how the stream's records are read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecordConfiguration {
    /// `GSR_JSON`, `JSON`, `STRING` or `BYTE_ARRAY`.
    pub record_format_type: String,
    /// A Glue schema (with `GSR_JSON`).
    #[serde(rename = "GSRSchemaARN", skip_serializing_if = "Option::is_none")]
    pub gsr_schema_arn: Option<String>,
}

/// `ChannelStreamConfiguration`: a source stream.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelStreamConfiguration {
    /// The stream.
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    /// How its records are read.
    pub record_configuration: Option<RecordConfiguration>,
}

/// `S3StorageConfiguration`: where objects go.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3StorageConfiguration {
    /// `arn:aws:s3:::<bucket>`.
    #[serde(rename = "BucketARN")]
    pub bucket_arn: String,
    /// The bucket's account (12 digits).
    pub expected_bucket_owner: String,
    /// The key template (Firehose prefix expressions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_key_template: Option<String>,
    /// `STANDARD`, `INTELLIGENT_TIERING` or `GLACIER_IR`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// `NONE`, `GZIP` or `ZSTD`.
    pub compression_type: String,
}

/// `DeadLetterQueueS3Configuration`: where records that cannot be delivered go.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterQueueS3Configuration {
    /// `arn:aws:s3:::<bucket>`.
    #[serde(rename = "BucketARN")]
    pub bucket_arn: String,
    /// The bucket's account (12 digits).
    pub expected_bucket_owner: String,
    /// The key prefix of failed records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_output_prefix: Option<String>,
}

/// `S3DestinationConfiguration`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3DestinationConfiguration {
    /// How old the oldest undelivered record may get, in seconds.
    pub data_freshness_in_seconds: Option<i64>,
    /// The dead-letter location.
    #[serde(rename = "DeadLetterQueueS3Configuration")]
    pub dead_letter_queue_s3_configuration: Option<DeadLetterQueueS3Configuration>,
    /// The objects' location and format.
    pub storage_configuration: Option<S3StorageConfiguration>,
}

/// `S3DestinationDescription`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3DestinationDescription {
    /// See [`S3DestinationConfiguration`].
    pub data_freshness_in_seconds: i64,
    /// See [`S3DestinationConfiguration`].
    #[serde(rename = "DeadLetterQueueS3Configuration")]
    pub dead_letter_queue_s3_configuration: DeadLetterQueueS3Configuration,
    /// See [`S3DestinationConfiguration`].
    pub storage_configuration: S3StorageConfiguration,
}

/// `ChannelEncryptionConfiguration`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelEncryptionConfiguration {
    /// `KMS`.
    pub encryption_type: String,
    /// The key.
    pub key_id: String,
}

/// `CloudWatchLogs`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CloudWatchLogs {
    /// Whether logging is on.
    pub enabled: bool,
    /// The log group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_group_name: Option<String>,
    /// The log stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_stream_name: Option<String>,
}

/// `ChannelLoggingConfiguration` (and `ChannelLoggingUpdateInput`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelLoggingConfiguration {
    /// CloudWatch Logs.
    pub cloud_watch_logs: CloudWatchLogs,
}

/// `CreateChannelInput`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateChannelInput {
    /// The channel's name.
    pub channel_name: Option<String>,
    /// The role the channel would assume, recorded.
    #[serde(rename = "ServiceExecutionRoleARN")]
    pub service_execution_role_arn: Option<String>,
    /// The source streams.
    pub stream_configuration_list: Option<Vec<ChannelStreamConfiguration>>,
    /// The S3 destination.
    pub s3_destination_configuration: Option<S3DestinationConfiguration>,
    /// The S3 Tables destination (refused by Strata).
    pub s3_tables_destination_configuration: Option<serde_json::Value>,
    /// Encryption, recorded.
    pub encryption_configuration: Option<ChannelEncryptionConfiguration>,
    /// Tags.
    pub tags: Option<BTreeMap<String, String>>,
    /// Logging, recorded.
    pub logging_configuration: Option<ChannelLoggingConfiguration>,
}

/// `ChannelStreamDescription`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelStreamDescription {
    /// The stream.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// When the stream was created.
    pub stream_creation_timestamp: Timestamp,
    /// How its records are read.
    pub record_configuration: RecordConfiguration,
}

/// `ChannelDescription`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelDescription {
    /// Its name.
    pub channel_name: String,
    /// `arn:aws:kinesis:<region>:<account>:channel/<name>`.
    #[serde(rename = "ChannelARN")]
    pub channel_arn: String,
    /// A unique id.
    pub channel_id: String,
    /// `ACTIVE` (Strata creates, updates and deletes at once).
    pub channel_status: String,
    /// Why the channel is in its status (while deliveries fail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_status_reason: Option<String>,
    /// When it was created.
    pub channel_creation_timestamp: Timestamp,
    /// The role, as given.
    #[serde(rename = "ServiceExecutionRoleARN")]
    pub service_execution_role_arn: String,
    /// The source streams.
    pub stream_configuration_list: Vec<ChannelStreamDescription>,
    /// The S3 destination.
    #[serde(rename = "S3DestinationConfiguration")]
    pub s3_destination_configuration: Option<S3DestinationDescription>,
    /// Encryption, as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_configuration: Option<ChannelEncryptionConfiguration>,
    /// Logging, as given.
    pub logging_configuration: ChannelLoggingConfiguration,
}

/// `CreateChannelOutput`, `DescribeChannelOutput` and `UpdateChannelOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelOutput {
    /// The channel.
    pub channel_description: ChannelDescription,
}

/// `CreateChannelOutput`.
pub type CreateChannelOutput = ChannelOutput;
/// `DescribeChannelOutput`.
pub type DescribeChannelOutput = ChannelOutput;
/// `UpdateChannelOutput`.
pub type UpdateChannelOutput = ChannelOutput;

/// `DescribeChannelInput` and `DeleteChannelInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelRef {
    /// The channel.
    #[serde(rename = "ChannelARN")]
    pub channel_arn: Option<String>,
}

/// `DescribeChannelInput`.
pub type DescribeChannelInput = ChannelRef;
/// `DeleteChannelInput`.
pub type DeleteChannelInput = ChannelRef;

/// `DeleteChannelOutput` (empty).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeleteChannelOutput {}

/// `S3DestinationUpdateInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3DestinationUpdateInput {
    /// The new freshness bound, in seconds.
    pub data_freshness_in_seconds: Option<i64>,
}

/// `UpdateChannelInput`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateChannelInput {
    /// The channel.
    #[serde(rename = "ChannelARN")]
    pub channel_arn: Option<String>,
    /// The S3 destination's new settings.
    pub s3_destination_configuration: Option<S3DestinationUpdateInput>,
    /// The S3 Tables destination's (refused by Strata).
    pub s3_tables_destination_configuration: Option<serde_json::Value>,
    /// New logging settings.
    pub logging_configuration: Option<ChannelLoggingConfiguration>,
}

/// `StreamFilter`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamFilter {
    /// A source stream.
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
}

/// `ListChannelsInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListChannelsInput {
    /// Only channels reading one of these streams.
    pub stream_filter: Option<Vec<StreamFilter>>,
    /// Page size, 1–10,000.
    pub max_results: Option<i64>,
    /// Where the previous page ended.
    pub next_token: Option<String>,
}

/// `ChannelStreamIdentifier`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelStreamIdentifier {
    /// The stream.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// When it was created.
    pub stream_creation_timestamp: Timestamp,
}

/// `ChannelSummary`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelSummary {
    /// See [`ChannelDescription`].
    pub channel_name: String,
    /// See [`ChannelDescription`].
    #[serde(rename = "ChannelARN")]
    pub channel_arn: String,
    /// See [`ChannelDescription`].
    pub channel_id: String,
    /// See [`ChannelDescription`].
    pub channel_status: String,
    /// See [`ChannelDescription`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_status_reason: Option<String>,
    /// See [`ChannelDescription`].
    pub channel_creation_timestamp: Timestamp,
    /// `S3`.
    pub channel_destination_type: String,
    /// The source streams.
    pub streams: Vec<ChannelStreamIdentifier>,
}

/// `ListChannelsOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListChannelsOutput {
    /// One page.
    pub channel_summaries: Vec<ChannelSummary>,
    /// Where the next page starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}
