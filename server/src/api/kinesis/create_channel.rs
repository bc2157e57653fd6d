//! CreateChannel: a stream's built-in S3 sink, as a delivery stream reading the Kinesis
//! stream from its end at creation (LATEST). ACTIVE at once. Strata delivers one stream per
//! channel to S3 (not S3 Tables); records are delivered as their bytes, without delimiter.

use protocol::aws::kinesis::{
    ChannelOutput, CreateChannelInput, DeadLetterQueueS3Configuration, S3StorageConfiguration,
};

use super::channels::{blocking, check_logging, check_name, compression_of, description};
use super::error::ApiError;
use super::validate::Checks;
use crate::views::delivery::definition::bucket_of;
use crate::views::delivery::keys::Prefix;
use crate::views::delivery::{
    Channel, Definition, DeliveryStreams, Destination, Source, channels::delivery_name,
};
use crate::views::streams::Streams;

/// `DataFreshnessInSeconds` when none is given.
pub const FRESHNESS_SECONDS_DEFAULT: i64 = 300;
/// The largest `DataFreshnessInSeconds` (Firehose's largest buffering interval).
pub const FRESHNESS_SECONDS_MAX: i64 = 900;
/// A channel's buffer size: Firehose's largest, so that freshness decides when data flushes.
pub const BUFFER_MIB: u32 = 128;

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    delivery: &DeliveryStreams,
    input: CreateChannelInput,
) -> Result<ChannelOutput, ApiError> {
    let mut checks = Checks::new();
    check_name(&mut checks, "channelName", input.channel_name.as_deref());
    let role = input.service_execution_role_arn.as_deref();
    match role {
        None => checks.fail("serviceExecutionRoleARN", None, "not be null"),
        Some(_) => {
            checks.length("serviceExecutionRoleARN", role, 1, 512);
            checks.pattern(
                "serviceExecutionRoleARN",
                role,
                |arn| {
                    arn.starts_with("arn:aws") && arn.contains(":iam::") && arn.contains(":role/")
                },
                "arn:aws[-a-z0-9]*:iam::\\d{12}:role/[a-zA-Z_0-9+=,.@\\-_/]+",
            );
        }
    }
    let configurations = input.stream_configuration_list.as_deref();
    match configurations {
        None => checks.fail("streamConfigurationList", None, "not be null"),
        Some([]) => checks.fail(
            "streamConfigurationList",
            Some("[]"),
            "have length greater than or equal to 1",
        ),
        Some(list) => {
            for (index, configuration) in list.iter().enumerate() {
                let field = format!("streamConfigurationList.{}.member", index + 1);
                let arn = configuration.stream_arn.as_deref();
                if arn.is_none() {
                    checks.fail(&format!("{field}.streamARN"), None, "not be null");
                }
                checks.stream_arn(&format!("{field}.streamARN"), arn);
                match &configuration.record_configuration {
                    None => {
                        checks.fail(&format!("{field}.recordConfiguration"), None, "not be null")
                    }
                    Some(record) => {
                        checks.one_of(
                            &format!("{field}.recordConfiguration.recordFormatType"),
                            Some(&record.record_format_type),
                            &["GSR_JSON", "JSON", "STRING", "BYTE_ARRAY"],
                        );
                        checks.length(
                            &format!("{field}.recordConfiguration.gSRSchemaARN"),
                            record.gsr_schema_arn.as_deref(),
                            1,
                            512,
                        );
                    }
                }
            }
        }
    }
    if let Some(s3) = &input.s3_destination_configuration {
        checks.range(
            "s3DestinationConfiguration.dataFreshnessInSeconds",
            s3.data_freshness_in_seconds,
            0,
            FRESHNESS_SECONDS_MAX,
        );
        match &s3.storage_configuration {
            None => checks.fail(
                "s3DestinationConfiguration.storageConfiguration",
                None,
                "not be null",
            ),
            Some(storage) => check_storage(&mut checks, storage),
        }
        if let Some(dead_letter) = &s3.dead_letter_queue_s3_configuration {
            check_dead_letter(&mut checks, dead_letter);
        }
    }
    if let Some(encryption) = &input.encryption_configuration {
        checks.one_of(
            "encryptionConfiguration.encryptionType",
            Some(&encryption.encryption_type),
            &["KMS"],
        );
        checks.length(
            "encryptionConfiguration.keyId",
            Some(&encryption.key_id),
            1,
            2048,
        );
    }
    if let Some(tags) = &input.tags {
        if tags.is_empty() || tags.len() > 200 {
            checks.fail(
                "tags",
                Some(&format!("[{} tags]", tags.len())),
                "have between 1 and 200 entries",
            );
        }
        for (key, value) in tags {
            checks.length("tags.key", Some(key), 1, 128);
            checks.length("tags.value", Some(value), 0, 256);
        }
    }
    if let Some(logging) = &input.logging_configuration {
        check_logging(&mut checks, "loggingConfiguration", logging);
    }
    checks.finish()?;

    if input.s3_tables_destination_configuration.is_some() {
        return Err(ApiError::invalid(
            "S3TablesDestinationConfiguration is not supported by Strata; use S3DestinationConfiguration.",
        ));
    }
    let Some(s3) = input.s3_destination_configuration else {
        return Err(ApiError::invalid("S3DestinationConfiguration is required."));
    };
    let [configuration] = configurations.unwrap_or_default() else {
        return Err(ApiError::invalid(
            "Strata delivers one stream per channel: StreamConfigurationList must hold exactly one stream.",
        ));
    };
    let stream_arn = configuration.stream_arn.clone().unwrap_or_default();
    let stream = streams.resolve(None, Some(&stream_arn))?;
    if !delivery
        .log()
        .stream(&stream)
        .is_ok_and(|info| crate::views::streams::is_kinesis(&info))
    {
        return Err(ApiError::new(
            protocol::aws::kinesis::errors::RESOURCE_NOT_FOUND,
            format!(
                "Stream {stream} under account {} not found.",
                streams.settings().account
            ),
        ));
    }
    let record = configuration
        .record_configuration
        .clone()
        .unwrap_or_default();
    let storage = s3.storage_configuration.unwrap_or_default();
    let compression = compression_of(&storage.compression_type)
        .ok_or_else(|| ApiError::invalid("CompressionType must be NONE, GZIP or ZSTD."))?;
    let dead_letter =
        s3.dead_letter_queue_s3_configuration
            .unwrap_or_else(|| DeadLetterQueueS3Configuration {
                bucket_arn: storage.bucket_arn.clone(),
                expected_bucket_owner: storage.expected_bucket_owner.clone(),
                error_output_prefix: None,
            });
    Prefix::parse(storage.output_key_template.as_deref(), false)
        .map_err(|error| ApiError::invalid(format!("OutputKeyTemplate is invalid: {error}")))?;
    Prefix::parse(dead_letter.error_output_prefix.as_deref(), true)
        .map_err(|error| ApiError::invalid(format!("ErrorOutputPrefix is invalid: {error}")))?;
    let name = input.channel_name.unwrap_or_default();
    let role_arn = input.service_execution_role_arn.unwrap_or_default();
    let created_ms = delivery.log().now_ms();
    let freshness = s3
        .data_freshness_in_seconds
        .unwrap_or(FRESHNESS_SECONDS_DEFAULT);
    let definition = Definition {
        name: delivery_name(&name),
        created_ms,
        updated_ms: None,
        version: 1,
        source: Source::KinesisStream {
            stream,
            arn: stream_arn,
            role_arn: role_arn.clone(),
        },
        destination: Destination {
            role_arn,
            bucket_arn: storage.bucket_arn.clone(),
            prefix: storage.output_key_template.clone(),
            error_prefix: dead_letter.error_output_prefix.clone(),
            compression,
            ..Destination::plain(true, BUFFER_MIB, u32::try_from(freshness).unwrap_or(0))
        },
        encryption: None,
        tags: Default::default(),
    };
    let logs = input
        .logging_configuration
        .map(|logging| logging.cloud_watch_logs)
        .unwrap_or_default();
    let channel = Channel {
        name: name.clone(),
        id: channel_id(&name, created_ms),
        record_format: record.record_format_type,
        schema_arn: record.gsr_schema_arn,
        bucket_owner: storage.expected_bucket_owner,
        storage_class: storage.storage_class,
        dead_letter_bucket_arn: dead_letter.bucket_arn,
        dead_letter_owner: dead_letter.expected_bucket_owner,
        encryption: input
            .encryption_configuration
            .map(|e| (e.encryption_type, e.key_id)),
        logging_enabled: logs.enabled,
        log_group: logs.log_group_name,
        log_stream: logs.log_stream_name,
        tags: input.tags.unwrap_or_default(),
    };
    let state = blocking(delivery, move |delivery| {
        delivery.create_channel(&channel, definition)?;
        delivery.channel(&channel.name)
    })
    .await?;
    Ok(ChannelOutput {
        channel_description: description(delivery, &state),
    })
}

fn check_bucket(checks: &mut Checks, field: &str, arn: &str, owner: &str) {
    checks.length(&format!("{field}.bucketARN"), Some(arn), 1, 2048);
    checks.pattern(
        &format!("{field}.bucketARN"),
        Some(arn),
        |arn| {
            bucket_of(arn).is_some_and(|bucket| {
                (3..=63).contains(&bucket.len())
                    && bucket.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            })
        },
        "arn:aws[-a-z0-9]*:s3:::[a-z0-9._-]{3,63}",
    );
    checks.pattern(
        &format!("{field}.expectedBucketOwner"),
        Some(owner),
        |owner| owner.len() == 12 && owner.bytes().all(|b| b.is_ascii_digit()),
        "\\d{12}",
    );
}

fn check_storage(checks: &mut Checks, storage: &S3StorageConfiguration) {
    let field = "s3DestinationConfiguration.storageConfiguration";
    check_bucket(
        checks,
        field,
        &storage.bucket_arn,
        &storage.expected_bucket_owner,
    );
    checks.length(
        &format!("{field}.outputKeyTemplate"),
        storage.output_key_template.as_deref(),
        1,
        1024,
    );
    checks.pattern(
        &format!("{field}.outputKeyTemplate"),
        storage.output_key_template.as_deref(),
        |text| {
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!-_'.*()/=:{}".contains(&b))
        },
        "[0-9A-Za-z!\\-_'.*()\\/=:{}]+",
    );
    checks.one_of(
        &format!("{field}.storageClass"),
        storage.storage_class.as_deref(),
        &["STANDARD", "INTELLIGENT_TIERING", "GLACIER_IR"],
    );
    checks.one_of(
        &format!("{field}.compressionType"),
        Some(&storage.compression_type),
        &["NONE", "GZIP", "ZSTD"],
    );
}

fn check_dead_letter(checks: &mut Checks, dead_letter: &DeadLetterQueueS3Configuration) {
    let field = "s3DestinationConfiguration.deadLetterQueueS3Configuration";
    check_bucket(
        checks,
        field,
        &dead_letter.bucket_arn,
        &dead_letter.expected_bucket_owner,
    );
    checks.length(
        &format!("{field}.errorOutputPrefix"),
        dead_letter.error_output_prefix.as_deref(),
        1,
        512,
    );
    checks.pattern(
        &format!("{field}.errorOutputPrefix"),
        dead_letter.error_output_prefix.as_deref(),
        |text| {
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!-_'.*()/".contains(&b))
        },
        "[0-9A-Za-z!\\-_'.*()\\/]+",
    );
}

/// A channel's id: its creation time and a digest of its name, in hex. Unique because a
/// name is taken by one channel at a time and creations are ms apart or differ in name.
fn channel_id(name: &str, created_ms: i64) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{created_ms:012x}-{hex}")
}
