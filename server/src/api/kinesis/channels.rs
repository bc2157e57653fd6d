//! What the Channel operations share: checking a channel's name and ARN, and the
//! `ChannelDescription` of a channel and its delivery stream.
//!
//! A channel is a delivery stream whose source is the Kinesis stream
//! (`views::delivery::channels`): `DataFreshnessInSeconds` is its buffer interval,
//! `OutputKeyTemplate` its key prefix (Firehose prefix expressions), the dead-letter
//! `ErrorOutputPrefix` its error prefix, `CompressionType` its compression.

use protocol::aws::body::Timestamp;
use protocol::aws::kinesis::{
    ChannelDescription, ChannelEncryptionConfiguration, ChannelLoggingConfiguration,
    ChannelStreamDescription, CloudWatchLogs, DeadLetterQueueS3Configuration, RecordConfiguration,
    S3DestinationDescription, S3StorageConfiguration,
};

use super::error::ApiError;
use super::validate::Checks;
use crate::views::delivery::encode::Compression;
use crate::views::delivery::{self, ChannelState, DeliveryStreams, Source};

/// A channel name: 1–128 of `[a-zA-Z0-9_.-]`.
pub fn check_name(checks: &mut Checks, field: &str, name: Option<&str>) {
    match name {
        None => checks.fail(field, None, "not be null"),
        Some(_) => {
            checks.length(field, name, 1, 128);
            checks.pattern(field, name, is_name, "[a-zA-Z0-9_.-]+");
        }
    }
}

fn is_name(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The channel a `ChannelARN` names (`arn:aws:kinesis:<region>:<account>:channel/<name>`),
/// after checking the member's constraints.
pub fn name_of_arn(arn: Option<&str>) -> Result<String, ApiError> {
    let mut checks = Checks::new();
    match arn {
        None => checks.fail("channelARN", None, "not be null"),
        Some(_) => {
            checks.length("channelARN", arn, 1, 2048);
            checks.pattern(
                "channelARN",
                arn,
                |text| channel_of(text).is_some(),
                "arn:aws.*:kinesis:.*:\\d{12}:channel/\\S+",
            );
        }
    }
    checks.finish()?;
    Ok(arn.and_then(channel_of).unwrap_or_default().to_owned())
}

/// The name inside a channel ARN.
fn channel_of(arn: &str) -> Option<&str> {
    let arn = protocol::aws::arn::Arn::parse(arn)?;
    if !arn.is_account_resource_of("kinesis") {
        return None;
    }
    arn.resource
        .strip_prefix("channel/")
        .filter(|name| !name.is_empty() && name.len() <= 128 && is_name(name))
}

/// The wire name of a channel's compression.
pub fn compression_name(compression: Compression) -> &'static str {
    match compression {
        Compression::Uncompressed => "NONE",
        other => other.as_str(),
    }
}

/// A channel's compression from its wire name (`NONE`, `GZIP`, `ZSTD`).
pub fn compression_of(name: &str) -> Option<Compression> {
    match name {
        "NONE" => Some(Compression::Uncompressed),
        "GZIP" => Some(Compression::Gzip),
        "ZSTD" => Some(Compression::Zstd),
        _ => None,
    }
}

/// The `ChannelDescription` of a channel.
pub fn description(delivery: &DeliveryStreams, state: &ChannelState) -> ChannelDescription {
    let channel = &state.channel;
    let definition = &state.delivery.definition;
    let destination = &definition.destination;
    let (stream_arn, stream, role_arn) = match &definition.source {
        Source::KinesisStream {
            stream,
            arn,
            role_arn,
        } => (arn.clone(), stream.as_str(), role_arn.clone()),
        Source::DirectPut => (String::new(), "", String::new()),
    };
    let stream_created_ms = delivery
        .log()
        .stream(stream)
        .map_or(definition.created_ms, |info| info.created_ms);
    ChannelDescription {
        channel_name: channel.name.clone(),
        channel_arn: delivery.channel_arn(&channel.name),
        channel_id: channel.id.clone(),
        channel_status: "ACTIVE".into(),
        channel_status_reason: state.delivery.failure.as_ref().map(|f| f.details.clone()),
        channel_creation_timestamp: Timestamp(definition.created_ms),
        service_execution_role_arn: role_arn,
        stream_configuration_list: vec![ChannelStreamDescription {
            stream_arn,
            stream_creation_timestamp: Timestamp(stream_created_ms),
            record_configuration: RecordConfiguration {
                record_format_type: channel.record_format.clone(),
                gsr_schema_arn: channel.schema_arn.clone(),
            },
        }],
        s3_destination_configuration: Some(S3DestinationDescription {
            data_freshness_in_seconds: i64::from(destination.buffer_seconds),
            dead_letter_queue_s3_configuration: DeadLetterQueueS3Configuration {
                bucket_arn: channel.dead_letter_bucket_arn.clone(),
                expected_bucket_owner: channel.dead_letter_owner.clone(),
                error_output_prefix: destination.error_prefix.clone(),
            },
            storage_configuration: S3StorageConfiguration {
                bucket_arn: destination.bucket_arn.clone(),
                expected_bucket_owner: channel.bucket_owner.clone(),
                output_key_template: destination.prefix.clone(),
                storage_class: channel.storage_class.clone(),
                compression_type: compression_name(destination.compression).into(),
            },
        }),
        encryption_configuration: channel.encryption.as_ref().map(|(kind, key)| {
            ChannelEncryptionConfiguration {
                encryption_type: kind.clone(),
                key_id: key.clone(),
            }
        }),
        logging_configuration: ChannelLoggingConfiguration {
            cloud_watch_logs: CloudWatchLogs {
                enabled: channel.logging_enabled,
                log_group_name: channel.log_group.clone(),
                log_stream_name: channel.log_stream.clone(),
            },
        },
    }
}

/// Checks `CloudWatchLogs`.
pub fn check_logging(checks: &mut Checks, field: &str, logging: &ChannelLoggingConfiguration) {
    let logs = &logging.cloud_watch_logs;
    checks.length(
        &format!("{field}.cloudWatchLogs.logGroupName"),
        logs.log_group_name.as_deref(),
        1,
        512,
    );
    checks.length(
        &format!("{field}.cloudWatchLogs.logStreamName"),
        logs.log_stream_name.as_deref(),
        1,
        512,
    );
}

/// Runs catalog work (which fsyncs the metadata journal) on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    delivery: &DeliveryStreams,
    work: impl FnOnce(&DeliveryStreams) -> delivery::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let delivery = delivery.clone();
    match tokio::task::spawn_blocking(move || work(&delivery)).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(error) => Err(ApiError::from(delivery::Error::Internal(error.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_arns_name_their_channel() {
        assert_eq!(
            channel_of("arn:aws:kinesis:us-east-1:000000000000:channel/c-1"),
            Some("c-1")
        );
        assert_eq!(
            channel_of("arn:aws:kinesis:us-east-1:000000000000:stream/c"),
            None
        );
        assert_eq!(channel_of("arn:aws:kinesis:us-east-1:0:channel/c"), None);
        assert_eq!(
            channel_of("arn:aws:kinesis:us-east-1:000000000000:channel/a:b"),
            None
        );
        assert_eq!(channel_of("c"), None);
    }

    #[test]
    fn compression_names_round_trip() {
        for name in ["NONE", "GZIP", "ZSTD"] {
            let compression = compression_of(name);
            assert_eq!(compression.map(compression_name), Some(name));
        }
        assert_eq!(compression_of("UNCOMPRESSED"), None);
    }
}
