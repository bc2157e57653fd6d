//! Input and output shapes of the Firehose operations Strata serves.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::aws::body::{Blob, Timestamp};

/// `BufferingHints`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BufferingHints {
    /// 1–128.
    #[serde(rename = "SizeInMBs", skip_serializing_if = "Option::is_none")]
    pub size_in_mbs: Option<i64>,
    /// 0–900.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_in_seconds: Option<i64>,
}

/// `KMSEncryptionConfig`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct KmsEncryptionConfig {
    /// The key.
    #[serde(rename = "AWSKMSKeyARN")]
    pub aws_kms_key_arn: String,
}

/// `EncryptionConfiguration` (of the S3 objects).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptionConfiguration {
    /// `NoEncryption`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_encryption_config: Option<String>,
    /// A KMS key.
    #[serde(
        rename = "KMSEncryptionConfig",
        skip_serializing_if = "Option::is_none"
    )]
    pub kms_encryption_config: Option<KmsEncryptionConfig>,
}

/// `CloudWatchLoggingOptions` (recorded, not acted on).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CloudWatchLoggingOptions {
    /// Whether logging is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_group_name: Option<String>,
    /// The stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_stream_name: Option<String>,
}

/// `ProcessorParameter`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessorParameter {
    /// `Delimiter`, `LambdaArn`, ...
    pub parameter_name: String,
    /// Its value.
    pub parameter_value: String,
}

/// `Processor`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Processor {
    /// `AppendDelimiterToRecord` is the one Strata runs.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Its parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<ProcessorParameter>>,
}

/// `ProcessingConfiguration`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessingConfiguration {
    /// Whether processing is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The processors, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processors: Option<Vec<Processor>>,
}

/// `SchemaConfiguration` (Glue table; Strata reads the columns from its own config).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SchemaConfiguration {
    /// Recorded.
    #[serde(rename = "RoleARN", skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// Recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog_id: Option<String>,
    /// Recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
    /// Names the schema in the server's `[delivery.schemas.<TableName>]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    /// Recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

/// `Deserializer` (`OpenXJsonSerDe` or `HiveJsonSerDe`; their options are not used).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Deserializer {
    /// OpenX JSON.
    #[serde(rename = "OpenXJsonSerDe", skip_serializing_if = "Option::is_none")]
    pub open_x_json_ser_de: Option<serde_json::Map<String, serde_json::Value>>,
    /// Hive JSON.
    #[serde(rename = "HiveJsonSerDe", skip_serializing_if = "Option::is_none")]
    pub hive_json_ser_de: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `InputFormatConfiguration`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InputFormatConfiguration {
    /// The JSON reader.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deserializer: Option<Deserializer>,
}

/// `ParquetSerDe` (only `Compression` is used).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParquetSerDe {
    /// `SNAPPY` (default), `GZIP` or `UNCOMPRESSED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
}

/// `Serializer`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Serializer {
    /// Parquet.
    #[serde(rename = "ParquetSerDe", skip_serializing_if = "Option::is_none")]
    pub parquet_ser_de: Option<ParquetSerDe>,
    /// ORC: refused.
    #[serde(rename = "OrcSerDe", skip_serializing_if = "Option::is_none")]
    pub orc_ser_de: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `OutputFormatConfiguration`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OutputFormatConfiguration {
    /// The writer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serializer: Option<Serializer>,
}

/// `DataFormatConversionConfiguration`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataFormatConversionConfiguration {
    /// The table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_configuration: Option<SchemaConfiguration>,
    /// The input format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_format_configuration: Option<InputFormatConfiguration>,
    /// The output format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_format_configuration: Option<OutputFormatConfiguration>,
    /// Whether conversion is on (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `RetryOptions`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetryOptions {
    /// How long delivery is retried (0 to 7200 seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_in_seconds: Option<i64>,
}

/// `DynamicPartitioningConfiguration`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DynamicPartitioningConfiguration {
    /// How long a failing delivery is retried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_options: Option<RetryOptions>,
    /// Whether records are partitioned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `ExtendedS3DestinationConfiguration`, and (with the extended members absent)
/// `S3DestinationConfiguration`; also the `...Update` shapes, whose members are all optional.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3DestinationConfiguration {
    /// Recorded; Strata does not assume roles.
    #[serde(rename = "RoleARN")]
    pub role_arn: Option<String>,
    /// `arn:aws:s3:::<bucket>`.
    #[serde(rename = "BucketARN")]
    pub bucket_arn: Option<String>,
    /// Key prefix, with `!{...}` expressions.
    pub prefix: Option<String>,
    /// Key prefix of objects that could not be processed.
    pub error_output_prefix: Option<String>,
    /// When a buffer is flushed.
    pub buffering_hints: Option<BufferingHints>,
    /// `UNCOMPRESSED`, `GZIP`, `ZIP`, `Snappy`, `HADOOP_SNAPPY` (and Strata's `ZSTD`).
    pub compression_format: Option<String>,
    /// Object encryption (recorded).
    pub encryption_configuration: Option<EncryptionConfiguration>,
    /// Recorded.
    pub cloud_watch_logging_options: Option<CloudWatchLoggingOptions>,
    /// `AppendDelimiterToRecord` adds a newline after each record.
    pub processing_configuration: Option<ProcessingConfiguration>,
    /// `Disabled` or `Enabled` (recorded).
    pub s3_backup_mode: Option<String>,
    /// Overrides the extension of delivered objects.
    pub file_extension: Option<String>,
    /// The IANA time zone prefixes are rendered in (default UTC).
    pub custom_time_zone: Option<String>,
    /// JSON → Parquet conversion.
    pub data_format_conversion_configuration: Option<DataFormatConversionConfiguration>,
    /// Partitioning by record content.
    pub dynamic_partitioning_configuration: Option<DynamicPartitioningConfiguration>,
}

/// `ExtendedS3DestinationDescription` (also used for `S3DestinationDescription`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3DestinationDescription {
    /// The role.
    #[serde(rename = "RoleARN")]
    pub role_arn: String,
    /// The bucket.
    #[serde(rename = "BucketARN")]
    pub bucket_arn: String,
    /// The key prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The error key prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_output_prefix: Option<String>,
    /// Buffering.
    pub buffering_hints: BufferingHints,
    /// Compression.
    pub compression_format: String,
    /// Object encryption.
    pub encryption_configuration: EncryptionConfiguration,
    /// Logging.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_watch_logging_options: Option<CloudWatchLoggingOptions>,
    /// Processing (extended only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_configuration: Option<ProcessingConfiguration>,
    /// Backup mode (extended only).
    #[serde(rename = "S3BackupMode", skip_serializing_if = "Option::is_none")]
    pub s3_backup_mode: Option<String>,
    /// Object extension (extended only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_extension: Option<String>,
    /// Time zone (extended only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_time_zone: Option<String>,
    /// Dynamic partitioning (extended only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic_partitioning_configuration: Option<DynamicPartitioningConfiguration>,
    /// Format conversion (extended only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_format_conversion_configuration: Option<DataFormatConversionConfiguration>,
}

/// `KinesisStreamSourceConfiguration`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct KinesisStreamSourceConfiguration {
    /// The source stream.
    #[serde(rename = "KinesisStreamARN")]
    pub kinesis_stream_arn: Option<String>,
    /// Recorded.
    #[serde(rename = "RoleARN")]
    pub role_arn: Option<String>,
}

/// `DeliveryStreamEncryptionConfigurationInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeliveryStreamEncryptionConfigurationInput {
    /// A customer managed key.
    #[serde(rename = "KeyARN")]
    pub key_arn: Option<String>,
    /// `AWS_OWNED_CMK` or `CUSTOMER_MANAGED_CMK`.
    pub key_type: Option<String>,
}

/// `Tag`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// 1–128 characters.
    pub key: String,
    /// 0–256 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `CreateDeliveryStreamInput`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateDeliveryStreamInput {
    /// 1–64 of `[a-zA-Z0-9_.-]`.
    pub delivery_stream_name: Option<String>,
    /// `DirectPut` (default) or `KinesisStreamAsSource`.
    pub delivery_stream_type: Option<String>,
    /// The source stream of a `KinesisStreamAsSource` delivery stream.
    pub kinesis_stream_source_configuration: Option<KinesisStreamSourceConfiguration>,
    /// Server-side encryption (recorded).
    pub delivery_stream_encryption_configuration_input:
        Option<DeliveryStreamEncryptionConfigurationInput>,
    /// The deprecated S3 destination.
    #[serde(rename = "S3DestinationConfiguration")]
    pub s3_destination_configuration: Option<S3DestinationConfiguration>,
    /// The S3 destination.
    #[serde(rename = "ExtendedS3DestinationConfiguration")]
    pub extended_s3_destination_configuration: Option<S3DestinationConfiguration>,
    /// Tags.
    pub tags: Option<Vec<Tag>>,
    /// Not served.
    pub redshift_destination_configuration: Option<IgnoredAny>,
    /// Not served.
    pub elasticsearch_destination_configuration: Option<IgnoredAny>,
    /// Not served.
    pub amazonopensearchservice_destination_configuration: Option<IgnoredAny>,
    /// Not served.
    pub splunk_destination_configuration: Option<IgnoredAny>,
    /// Not served.
    pub http_endpoint_destination_configuration: Option<IgnoredAny>,
    /// Not served.
    pub amazon_open_search_serverless_destination_configuration: Option<IgnoredAny>,
    /// Not served.
    pub snowflake_destination_configuration: Option<IgnoredAny>,
    /// Not served.
    pub iceberg_destination_configuration: Option<IgnoredAny>,
    /// Not served.
    #[serde(rename = "MSKSourceConfiguration")]
    pub msk_source_configuration: Option<IgnoredAny>,
    /// Not served.
    pub database_source_configuration: Option<IgnoredAny>,
}

/// `CreateDeliveryStreamOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CreateDeliveryStreamOutput {
    /// The new delivery stream's ARN.
    #[serde(rename = "DeliveryStreamARN")]
    pub delivery_stream_arn: String,
}

/// `DeliveryStreamName` alone: DeleteDeliveryStream (with `AllowForceDelete`),
/// StopDeliveryStreamEncryption.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeliveryStreamNameInput {
    /// Which delivery stream.
    pub delivery_stream_name: Option<String>,
    /// DeleteDeliveryStream: accepted and ignored.
    pub allow_force_delete: Option<bool>,
}

/// An empty output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Empty {}

/// `DescribeDeliveryStreamInput`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeDeliveryStreamInput {
    /// Which delivery stream.
    pub delivery_stream_name: Option<String>,
    /// 1–10,000 destinations (there is one).
    pub limit: Option<i64>,
    /// Paging over destinations.
    pub exclusive_start_destination_id: Option<String>,
}

/// `FailureDescription`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FailureDescription {
    /// A `DeliveryStreamFailureType`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// What went wrong.
    pub details: String,
}

/// `DeliveryStreamEncryptionConfiguration`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeliveryStreamEncryptionConfiguration {
    /// The key.
    #[serde(rename = "KeyARN", skip_serializing_if = "Option::is_none")]
    pub key_arn: Option<String>,
    /// The key type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    /// `ENABLED` or `DISABLED`.
    pub status: String,
}

/// `KinesisStreamSourceDescription`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KinesisStreamSourceDescription {
    /// The source stream.
    #[serde(rename = "KinesisStreamARN")]
    pub kinesis_stream_arn: String,
    /// The role.
    #[serde(rename = "RoleARN")]
    pub role_arn: String,
    /// When delivery started.
    #[serde(rename = "DeliveryStartTimestamp")]
    pub delivery_start_timestamp: Timestamp,
}

/// `SourceDescription`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SourceDescription {
    /// Set for `KinesisStreamAsSource`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kinesis_stream_source_description: Option<KinesisStreamSourceDescription>,
}

/// `DestinationDescription`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationDescription {
    /// `destinationId-000000000001`.
    pub destination_id: String,
    /// The S3 view of the destination (always present for S3 destinations).
    #[serde(rename = "S3DestinationDescription")]
    pub s3_destination_description: S3DestinationDescription,
    /// The extended view.
    #[serde(
        rename = "ExtendedS3DestinationDescription",
        skip_serializing_if = "Option::is_none"
    )]
    pub extended_s3_destination_description: Option<S3DestinationDescription>,
}

/// `DeliveryStreamDescription`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeliveryStreamDescription {
    /// The name.
    pub delivery_stream_name: String,
    /// The ARN.
    #[serde(rename = "DeliveryStreamARN")]
    pub delivery_stream_arn: String,
    /// `ACTIVE` (Strata's delivery streams are usable at once).
    pub delivery_stream_status: String,
    /// The last delivery failure while deliveries fail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_description: Option<FailureDescription>,
    /// Server-side encryption.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_stream_encryption_configuration: Option<DeliveryStreamEncryptionConfiguration>,
    /// `DirectPut` or `KinesisStreamAsSource`.
    pub delivery_stream_type: String,
    /// Grows with each UpdateDestination.
    pub version_id: String,
    /// Creation time.
    pub create_timestamp: Timestamp,
    /// Last UpdateDestination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_timestamp: Option<Timestamp>,
    /// The source, for `KinesisStreamAsSource`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceDescription>,
    /// The one destination.
    pub destinations: Vec<DestinationDescription>,
    /// Always false.
    pub has_more_destinations: bool,
}

/// `DescribeDeliveryStreamOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeDeliveryStreamOutput {
    /// The description.
    pub delivery_stream_description: DeliveryStreamDescription,
}

/// `ListDeliveryStreamsInput`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDeliveryStreamsInput {
    /// 1–10,000; default 10.
    pub limit: Option<i64>,
    /// Only delivery streams of this type.
    pub delivery_stream_type: Option<String>,
    /// List names after this one.
    pub exclusive_start_delivery_stream_name: Option<String>,
}

/// `ListDeliveryStreamsOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDeliveryStreamsOutput {
    /// Names, sorted.
    pub delivery_stream_names: Vec<String>,
    /// Whether more follow.
    pub has_more_delivery_streams: bool,
}

/// `Record`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Record {
    /// Up to 1,000 KiB.
    pub data: Blob,
}

/// `PutRecordInput`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordInput {
    /// Which delivery stream.
    pub delivery_stream_name: Option<String>,
    /// The record.
    pub record: Option<Record>,
}

/// `PutRecordOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordOutput {
    /// The stored record's id.
    pub record_id: String,
    /// Whether server-side encryption is on.
    pub encrypted: bool,
}

/// `PutRecordBatchInput`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordBatchInput {
    /// Which delivery stream.
    pub delivery_stream_name: Option<String>,
    /// 1–500 records, 4 MiB in all.
    pub records: Option<Vec<Record>>,
}

/// `PutRecordBatchResponseEntry`: a record id, or an error code and message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordBatchResponseEntry {
    /// Set for a stored record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    /// Set for a failed record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Set for a failed record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// `PutRecordBatchOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordBatchOutput {
    /// How many records failed.
    pub failed_put_count: i64,
    /// Whether server-side encryption is on.
    pub encrypted: bool,
    /// One entry per record, in request order.
    pub request_responses: Vec<PutRecordBatchResponseEntry>,
}

/// `UpdateDestinationInput`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateDestinationInput {
    /// Which delivery stream.
    pub delivery_stream_name: Option<String>,
    /// Must be the current `VersionId`.
    pub current_delivery_stream_version_id: Option<String>,
    /// `destinationId-000000000001`.
    pub destination_id: Option<String>,
    /// The deprecated S3 update.
    #[serde(rename = "S3DestinationUpdate")]
    pub s3_destination_update: Option<S3DestinationConfiguration>,
    /// The S3 update.
    #[serde(rename = "ExtendedS3DestinationUpdate")]
    pub extended_s3_destination_update: Option<S3DestinationConfiguration>,
    /// Not served.
    pub redshift_destination_update: Option<IgnoredAny>,
    /// Not served.
    pub elasticsearch_destination_update: Option<IgnoredAny>,
    /// Not served.
    pub amazonopensearchservice_destination_update: Option<IgnoredAny>,
    /// Not served.
    pub splunk_destination_update: Option<IgnoredAny>,
    /// Not served.
    pub http_endpoint_destination_update: Option<IgnoredAny>,
    /// Not served.
    pub amazon_open_search_serverless_destination_update: Option<IgnoredAny>,
    /// Not served.
    pub snowflake_destination_update: Option<IgnoredAny>,
    /// Not served.
    pub iceberg_destination_update: Option<IgnoredAny>,
}

/// `TagDeliveryStreamInput`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagDeliveryStreamInput {
    /// Which delivery stream.
    pub delivery_stream_name: Option<String>,
    /// 1–50 tags.
    pub tags: Option<Vec<Tag>>,
}

/// `UntagDeliveryStreamInput`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagDeliveryStreamInput {
    /// Which delivery stream.
    pub delivery_stream_name: Option<String>,
    /// 1–50 keys.
    pub tag_keys: Option<Vec<String>>,
}

/// `ListTagsForDeliveryStreamInput`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForDeliveryStreamInput {
    /// Which delivery stream.
    pub delivery_stream_name: Option<String>,
    /// List keys after this one.
    pub exclusive_start_tag_key: Option<String>,
    /// 1–50.
    pub limit: Option<i64>,
}

/// `ListTagsForDeliveryStreamOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForDeliveryStreamOutput {
    /// Tags, by key.
    pub tags: Vec<Tag>,
    /// Whether more follow.
    pub has_more_tags: bool,
}

/// `StartDeliveryStreamEncryptionInput`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartDeliveryStreamEncryptionInput {
    /// Which delivery stream.
    pub delivery_stream_name: Option<String>,
    /// The key.
    pub delivery_stream_encryption_configuration_input:
        Option<DeliveryStreamEncryptionConfigurationInput>,
}
