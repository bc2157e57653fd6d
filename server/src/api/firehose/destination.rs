//! The S3 destination: shape ⇄ [`Destination`], checked once, for CreateDeliveryStream and
//! UpdateDestination (whose update shape has the same members, all optional).

use protocol::aws::firehose::limits::{
    BUFFER_MIB_DEFAULT, BUFFER_MIB_MAX, BUFFER_MIB_MIN, BUFFER_SECONDS_DEFAULT, BUFFER_SECONDS_MAX,
    BUFFER_SECONDS_MIN, RETRY_SECONDS_MAX,
};
use protocol::aws::firehose::{
    BufferingHints, CloudWatchLoggingOptions, DataFormatConversionConfiguration, Deserializer,
    DynamicPartitioningConfiguration, EncryptionConfiguration, InputFormatConfiguration,
    KmsEncryptionConfig, OutputFormatConfiguration, ParquetSerDe, ProcessingConfiguration,
    Processor, ProcessorParameter, RetryOptions, S3DestinationConfiguration,
    S3DestinationDescription, SchemaConfiguration, Serializer,
};

use super::error::{ApiError, invalid};
use crate::api::kinesis::validate::Checks;
use crate::views::delivery::Destination;
use crate::views::delivery::convert::ParquetCompression;
use crate::views::delivery::definition::Conversion;
use crate::views::delivery::definition::bucket_of;
use crate::views::delivery::encode::Compression;
use crate::views::delivery::keys::{Prefix, is_time_zone};
use crate::views::delivery::partition::Query;

const COMPRESSIONS: [&str; 6] = [
    "UNCOMPRESSED",
    "GZIP",
    "ZIP",
    "Snappy",
    "HADOOP_SNAPPY",
    "ZSTD",
];

/// Applies `shape` onto `base` (a new destination's defaults, or the current one for an
/// update), checking every member. `field` is the member's camelCase name in messages.
pub fn apply(
    field: &str,
    shape: S3DestinationConfiguration,
    base: Option<Destination>,
    extended: bool,
) -> Result<Destination, ApiError> {
    let mut checks = Checks::new();
    let creating = base.is_none();
    if creating && shape.role_arn.is_none() {
        checks.fail(&format!("{field}.roleARN"), None, "not be null");
    }
    if creating && shape.bucket_arn.is_none() {
        checks.fail(&format!("{field}.bucketARN"), None, "not be null");
    }
    checks.length(
        &format!("{field}.roleARN"),
        shape.role_arn.as_deref(),
        1,
        512,
    );
    checks.length(
        &format!("{field}.bucketARN"),
        shape.bucket_arn.as_deref(),
        1,
        2048,
    );
    checks.pattern(
        &format!("{field}.bucketARN"),
        shape.bucket_arn.as_deref(),
        |arn| bucket_of(arn).is_some(),
        "arn:.*:s3:::[\\w\\.\\-]{1,255}",
    );
    checks.length(&format!("{field}.prefix"), shape.prefix.as_deref(), 0, 1024);
    checks.length(
        &format!("{field}.errorOutputPrefix"),
        shape.error_output_prefix.as_deref(),
        0,
        1024,
    );
    if let Some(hints) = &shape.buffering_hints {
        checks.range(
            &format!("{field}.bufferingHints.sizeInMBs"),
            hints.size_in_mbs,
            BUFFER_MIB_MIN,
            BUFFER_MIB_MAX,
        );
        checks.range(
            &format!("{field}.bufferingHints.intervalInSeconds"),
            hints.interval_in_seconds,
            BUFFER_SECONDS_MIN,
            BUFFER_SECONDS_MAX,
        );
    }
    checks.one_of(
        &format!("{field}.compressionFormat"),
        shape.compression_format.as_deref(),
        &COMPRESSIONS,
    );
    checks.finish()?;

    let compression = match shape.compression_format.as_deref() {
        None => None,
        Some(name) => Some(Compression::parse(name).ok_or_else(|| {
            invalid(format!(
                "CompressionFormat {name} is not supported by Strata yet."
            ))
        })?),
    };
    let mut destination = base.unwrap_or_else(|| {
        Destination::plain(extended, BUFFER_MIB_DEFAULT, BUFFER_SECONDS_DEFAULT)
    });
    destination.extended |= extended;
    if let Some(role) = shape.role_arn {
        destination.role_arn = role;
    }
    if let Some(bucket) = shape.bucket_arn {
        destination.bucket_arn = bucket;
    }
    if let Some(prefix) = shape.prefix {
        destination.prefix = (!prefix.is_empty()).then_some(prefix);
    }
    if let Some(prefix) = shape.error_output_prefix {
        destination.error_prefix = (!prefix.is_empty()).then_some(prefix);
    }
    if let Some(hints) = shape.buffering_hints {
        if let Some(mib) = hints.size_in_mbs.and_then(|v| u32::try_from(v).ok()) {
            destination.buffer_mib = mib;
        }
        if let Some(seconds) = hints
            .interval_in_seconds
            .and_then(|v| u32::try_from(v).ok())
        {
            destination.buffer_seconds = seconds;
        }
    }
    if let Some(compression) = compression {
        destination.compression = compression;
    }
    if let Some(encryption) = shape.encryption_configuration {
        destination.kms_key = encryption
            .kms_encryption_config
            .map(|kms| kms.aws_kms_key_arn);
    }
    if let Some(logging) = shape.cloud_watch_logging_options {
        destination.logging_enabled = logging.enabled;
        destination.log_group = logging.log_group_name;
        destination.log_stream = logging.log_stream_name;
    }
    if let Some(conversion) = shape.data_format_conversion_configuration {
        destination.conversion = conversion_of(conversion)?;
    }
    if let Some(partitioning) = shape.dynamic_partitioning_configuration {
        if let Some(enabled) = partitioning.enabled {
            destination.dynamic_partitioning = enabled;
        }
        if let Some(seconds) = partitioning
            .retry_options
            .and_then(|retry| retry.duration_in_seconds)
        {
            destination.retry_seconds = Some(
                u32::try_from(seconds)
                    .ok()
                    .filter(|s| *s <= RETRY_SECONDS_MAX)
                    .ok_or_else(|| {
                        invalid(format!(
                            "RetryOptions.DurationInSeconds {seconds} is not between 0 and {RETRY_SECONDS_MAX}."
                        ))
                    })?,
            );
        }
    }
    if let Some(processing) = shape.processing_configuration {
        let mut delimiter = false;
        let mut query = None;
        for processor in processing.processors.unwrap_or_default() {
            match processor.kind.as_str() {
                "AppendDelimiterToRecord" => delimiter = true,
                "MetadataExtraction" => {
                    for parameter in processor.parameters.unwrap_or_default() {
                        match parameter.parameter_name.as_str() {
                            "MetadataExtractionQuery" => {
                                Query::parse(&parameter.parameter_value)
                                    .map_err(|error| invalid(error.to_string()))?;
                                query = Some(parameter.parameter_value);
                            }
                            "JsonParsingEngine" if parameter.parameter_value == "JQ-1.6" => {}
                            name => {
                                return Err(invalid(format!(
                                    "Processor parameter {name}={} is not supported by Strata for MetadataExtraction.",
                                    parameter.parameter_value
                                )));
                            }
                        }
                    }
                }
                other => {
                    return Err(invalid(format!(
                        "Processor type {other} is not supported by Strata; AppendDelimiterToRecord and MetadataExtraction are."
                    )));
                }
            }
        }
        destination.processing_enabled = processing.enabled;
        destination.delimiter = delimiter && processing.enabled != Some(false);
        destination.metadata_query = query.filter(|_| processing.enabled != Some(false));
    }
    if let Some(mode) = shape.s3_backup_mode {
        if mode != "Disabled" && mode != "Enabled" {
            return Err(invalid(format!("S3BackupMode {mode} is not valid.")));
        }
        destination.s3_backup_mode = Some(mode);
    }
    if let Some(extension) = shape.file_extension {
        let valid = extension.is_empty()
            || (extension.starts_with('.')
                && extension.len() > 1
                && extension.len() <= 128
                && extension.bytes().skip(1).all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b"!-_.*'()".contains(&b)
                }));
        if !valid {
            return Err(invalid(format!(
                "FileExtension {extension} is not valid: it must start with a period followed by [0-9a-z!-_.*'()]."
            )));
        }
        destination.file_extension = (!extension.is_empty()).then_some(extension);
    }
    if let Some(zone) = shape.custom_time_zone {
        if !zone.is_empty() && !is_time_zone(&zone) {
            return Err(invalid(format!(
                "CustomTimeZone {zone} is not a valid time zone (use an IANA name such as Asia/Tokyo)."
            )));
        }
        destination.custom_time_zone = (!zone.is_empty()).then_some(zone);
    }
    if destination.conversion.is_some() && destination.compression != Compression::Uncompressed {
        return Err(invalid(
            "CompressionFormat must be UNCOMPRESSED when data format conversion is enabled.",
        ));
    }
    check_prefixes(&destination)?;
    Ok(destination)
}

/// DataFormatConversionConfiguration → the view's conversion (None when disabled).
fn conversion_of(shape: DataFormatConversionConfiguration) -> Result<Option<Conversion>, ApiError> {
    if shape.enabled == Some(false) {
        return Ok(None);
    }
    let serializer = shape
        .output_format_configuration
        .and_then(|output| output.serializer)
        .unwrap_or_default();
    if serializer.orc_ser_de.is_some() {
        return Err(invalid(
            "OrcSerDe is not supported by Strata; use ParquetSerDe.",
        ));
    }
    let parquet = serializer.parquet_ser_de.ok_or_else(|| {
        invalid("DataFormatConversionConfiguration needs OutputFormatConfiguration.Serializer.ParquetSerDe.")
    })?;
    let compression = match parquet.compression.as_deref() {
        None => ParquetCompression::Snappy,
        Some(name) => ParquetCompression::parse(name).ok_or_else(|| {
            invalid(format!(
                "ParquetSerDe.Compression {name} is not supported; use SNAPPY, GZIP or UNCOMPRESSED."
            ))
        })?,
    };
    let schema = shape.schema_configuration.unwrap_or_default();
    let table = schema
        .table_name
        .filter(|name| !name.is_empty())
        .ok_or_else(|| invalid("SchemaConfiguration.TableName is required."))?;
    Ok(Some(Conversion {
        table,
        database: schema.database_name,
        compression,
    }))
}

/// The prefix rules: expressions parse; a prefix with expressions needs an error prefix.
fn check_prefixes(destination: &Destination) -> Result<(), ApiError> {
    let prefix = Prefix::parse(destination.prefix.as_deref(), false)
        .map_err(|error| invalid(format!("Prefix is invalid: {error}")))?;
    let keys = prefix.partition_keys();
    if !keys.is_empty() && !destination.dynamic_partitioning {
        return Err(invalid(
            "The partitionKeyFromQuery namespace can only be used when dynamic partitioning is enabled.",
        ));
    }
    if destination.dynamic_partitioning {
        if destination.error_prefix.is_none() {
            return Err(invalid(
                "ErrorOutputPrefix cannot be null or empty when dynamic partitioning is enabled.",
            ));
        }
        let query = destination
            .metadata_query
            .as_deref()
            .map(Query::parse)
            .transpose()
            .map_err(|error| invalid(error.to_string()))?
            .ok_or_else(|| {
                invalid(
                    "Dynamic partitioning needs a MetadataExtraction processor with a MetadataExtractionQuery in Strata.",
                )
            })?;
        let names: Vec<&str> = query.names().collect();
        if let Some(missing) = keys.iter().find(|key| !names.contains(key)) {
            return Err(invalid(format!(
                "The partitionKeyFromQuery key {missing} is not in the MetadataExtractionQuery."
            )));
        }
        if keys.is_empty() {
            return Err(invalid(
                "Prefix must use !{partitionKeyFromQuery:...} when dynamic partitioning is enabled.",
            ));
        }
    }
    Prefix::parse(destination.error_prefix.as_deref(), true)
        .map_err(|error| invalid(format!("ErrorOutputPrefix is invalid: {error}")))?;
    if Prefix::has_expressions(destination.prefix.as_deref()) && destination.error_prefix.is_none()
    {
        return Err(invalid(
            "ErrorOutputPrefix cannot be null or empty when expression is used in Prefix.",
        ));
    }
    Ok(())
}

/// The description shape; `extended` adds the ExtendedS3 members.
pub fn describe(destination: &Destination, extended: bool) -> S3DestinationDescription {
    let processing = destination
        .processing_enabled
        .map(|enabled| ProcessingConfiguration {
            enabled: Some(enabled),
            processors: Some({
                let mut processors = Vec::new();
                if let Some(query) = &destination.metadata_query {
                    processors.push(Processor {
                        kind: "MetadataExtraction".into(),
                        parameters: Some(vec![
                            ProcessorParameter {
                                parameter_name: "MetadataExtractionQuery".into(),
                                parameter_value: query.clone(),
                            },
                            ProcessorParameter {
                                parameter_name: "JsonParsingEngine".into(),
                                parameter_value: "JQ-1.6".into(),
                            },
                        ]),
                    });
                }
                if destination.delimiter {
                    processors.push(Processor {
                        kind: "AppendDelimiterToRecord".into(),
                        parameters: Some(Vec::<ProcessorParameter>::new()),
                    });
                }
                processors
            }),
        });
    S3DestinationDescription {
        role_arn: destination.role_arn.clone(),
        bucket_arn: destination.bucket_arn.clone(),
        prefix: destination.prefix.clone(),
        error_output_prefix: destination.error_prefix.clone(),
        buffering_hints: BufferingHints {
            size_in_mbs: Some(i64::from(destination.buffer_mib)),
            interval_in_seconds: Some(i64::from(destination.buffer_seconds)),
        },
        compression_format: destination.compression.as_str().to_owned(),
        encryption_configuration: match &destination.kms_key {
            Some(key) => EncryptionConfiguration {
                no_encryption_config: None,
                kms_encryption_config: Some(KmsEncryptionConfig {
                    aws_kms_key_arn: key.clone(),
                }),
            },
            None => EncryptionConfiguration {
                no_encryption_config: Some("NoEncryption".into()),
                kms_encryption_config: None,
            },
        },
        cloud_watch_logging_options: Some(CloudWatchLoggingOptions {
            enabled: Some(destination.logging_enabled.unwrap_or(false)),
            log_group_name: destination.log_group.clone(),
            log_stream_name: destination.log_stream.clone(),
        }),
        processing_configuration: if extended { processing } else { None },
        s3_backup_mode: if extended {
            Some(
                destination
                    .s3_backup_mode
                    .clone()
                    .unwrap_or_else(|| "Disabled".into()),
            )
        } else {
            None
        },
        file_extension: if extended {
            destination.file_extension.clone()
        } else {
            None
        },
        custom_time_zone: if extended {
            destination.custom_time_zone.clone()
        } else {
            None
        },
        data_format_conversion_configuration: destination
            .conversion
            .as_ref()
            .filter(|_| extended)
            .map(|conversion| DataFormatConversionConfiguration {
                schema_configuration: Some(SchemaConfiguration {
                    role_arn: Some(destination.role_arn.clone()),
                    database_name: conversion.database.clone(),
                    table_name: Some(conversion.table.clone()),
                    ..SchemaConfiguration::default()
                }),
                input_format_configuration: Some(InputFormatConfiguration {
                    deserializer: Some(Deserializer {
                        open_x_json_ser_de: Some(serde_json::Map::new()),
                        hive_json_ser_de: None,
                    }),
                }),
                output_format_configuration: Some(OutputFormatConfiguration {
                    serializer: Some(Serializer {
                        parquet_ser_de: Some(ParquetSerDe {
                            compression: Some(conversion.compression.as_str().to_owned()),
                        }),
                        orc_ser_de: None,
                    }),
                }),
                enabled: Some(true),
            }),
        dynamic_partitioning_configuration: (extended && destination.dynamic_partitioning).then(
            || DynamicPartitioningConfiguration {
                retry_options: destination.retry_seconds.map(|seconds| RetryOptions {
                    duration_in_seconds: Some(i64::from(seconds)),
                }),
                enabled: Some(true),
            },
        ),
    }
}
