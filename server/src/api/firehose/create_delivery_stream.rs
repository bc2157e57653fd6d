//! CreateDeliveryStream: a DirectPut or KinesisStreamAsSource delivery stream with one S3
//! (or ExtendedS3) destination. It is ACTIVE at once.

use std::collections::BTreeMap;

use protocol::aws::arn::Arn;
use protocol::aws::firehose::{CreateDeliveryStreamInput, CreateDeliveryStreamOutput};

use super::error::{ApiError, invalid};
use super::{blocking, check_tags, delivery_stream_name, destination};
use crate::api::kinesis::validate::Checks;
use crate::views::delivery::{Definition, DeliveryStreams, Encryption, Source};

/// Runs the operation.
pub async fn apply(
    delivery: &DeliveryStreams,
    input: CreateDeliveryStreamInput,
) -> Result<CreateDeliveryStreamOutput, ApiError> {
    let mut checks = Checks::new();
    let name = delivery_stream_name(&mut checks, input.delivery_stream_name.as_deref());
    checks.one_of(
        "deliveryStreamType",
        input.delivery_stream_type.as_deref(),
        &[
            "DirectPut",
            "KinesisStreamAsSource",
            "MSKAsSource",
            "DatabaseAsSource",
        ],
    );
    if let Some(tags) = &input.tags {
        check_tags(&mut checks, "tags", tags);
    }
    if let Some(source) = &input.kinesis_stream_source_configuration {
        checks.length(
            "kinesisStreamSourceConfiguration.kinesisStreamARN",
            source.kinesis_stream_arn.as_deref(),
            1,
            512,
        );
    }
    checks.finish()?;

    let unsupported = [
        (
            "RedshiftDestinationConfiguration",
            input.redshift_destination_configuration.is_some(),
        ),
        (
            "ElasticsearchDestinationConfiguration",
            input.elasticsearch_destination_configuration.is_some(),
        ),
        (
            "AmazonopensearchserviceDestinationConfiguration",
            input
                .amazonopensearchservice_destination_configuration
                .is_some(),
        ),
        (
            "SplunkDestinationConfiguration",
            input.splunk_destination_configuration.is_some(),
        ),
        (
            "HttpEndpointDestinationConfiguration",
            input.http_endpoint_destination_configuration.is_some(),
        ),
        (
            "AmazonOpenSearchServerlessDestinationConfiguration",
            input
                .amazon_open_search_serverless_destination_configuration
                .is_some(),
        ),
        (
            "SnowflakeDestinationConfiguration",
            input.snowflake_destination_configuration.is_some(),
        ),
        (
            "IcebergDestinationConfiguration",
            input.iceberg_destination_configuration.is_some(),
        ),
        (
            "MSKSourceConfiguration",
            input.msk_source_configuration.is_some(),
        ),
        (
            "DatabaseSourceConfiguration",
            input.database_source_configuration.is_some(),
        ),
    ];
    if let Some((member, _)) = unsupported.iter().find(|(_, present)| *present) {
        return Err(invalid(format!(
            "{member} is not supported by Strata; use ExtendedS3DestinationConfiguration."
        )));
    }
    let kind = input.delivery_stream_type.as_deref().unwrap_or("DirectPut");
    let source = match kind {
        "DirectPut" => {
            if input.kinesis_stream_source_configuration.is_some() {
                return Err(invalid(
                    "KinesisStreamSourceConfiguration is only allowed for the KinesisStreamAsSource delivery stream type.",
                ));
            }
            Source::DirectPut
        }
        "KinesisStreamAsSource" => {
            let Some(config) = input.kinesis_stream_source_configuration else {
                return Err(invalid(
                    "KinesisStreamSourceConfiguration is required for the KinesisStreamAsSource delivery stream type.",
                ));
            };
            let arn = config.kinesis_stream_arn.unwrap_or_default();
            let stream = stream_of(&arn).ok_or_else(|| {
                invalid(format!(
                    "KinesisStreamARN {arn} is not a Kinesis stream ARN."
                ))
            })?;
            if input
                .delivery_stream_encryption_configuration_input
                .is_some()
            {
                return Err(invalid(
                    "Server-side encryption is not supported for the KinesisStreamAsSource delivery stream type; it uses the source stream's encryption.",
                ));
            }
            Source::KinesisStream {
                stream: stream.to_owned(),
                arn: arn.clone(),
                role_arn: config.role_arn.unwrap_or_default(),
            }
        }
        other => {
            return Err(invalid(format!(
                "Delivery stream type {other} is not supported by Strata."
            )));
        }
    };
    let destination = match (
        input.s3_destination_configuration,
        input.extended_s3_destination_configuration,
    ) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "Only one destination configuration may be given: S3DestinationConfiguration or ExtendedS3DestinationConfiguration.",
            ));
        }
        (Some(s3), None) => destination::apply("s3DestinationConfiguration", s3, None, false)?,
        (None, Some(extended)) => {
            destination::apply("extendedS3DestinationConfiguration", extended, None, true)?
        }
        (None, None) => {
            return Err(invalid(
                "A destination configuration is required: ExtendedS3DestinationConfiguration or S3DestinationConfiguration.",
            ));
        }
    };
    let encryption = match input.delivery_stream_encryption_configuration_input {
        Some(config) => Some(super::start_delivery_stream_encryption::encryption(config)?),
        None => None::<Encryption>,
    };
    let tags: BTreeMap<String, Option<String>> = input
        .tags
        .unwrap_or_default()
        .into_iter()
        .map(|tag| (tag.key, tag.value))
        .collect();
    let definition = Definition {
        name: name.clone(),
        created_ms: delivery.log().now_ms(),
        updated_ms: None,
        version: 1,
        source,
        destination,
        encryption,
        tags,
    };
    blocking(delivery, move |delivery| delivery.create(definition)).await?;
    Ok(CreateDeliveryStreamOutput {
        delivery_stream_arn: delivery.arn(&name),
    })
}

/// The stream name of a Kinesis stream ARN `arn:<partition>:kinesis:<region>:<account>:stream/<name>`.
fn stream_of(arn: &str) -> Option<&str> {
    Arn::parse(arn)?.named("kinesis", "stream").filter(|name| {
        name.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    })
}

#[cfg(test)]
mod tests {
    use super::stream_of;

    #[test]
    fn kinesis_stream_arns_name_their_stream() {
        assert_eq!(
            stream_of("arn:aws:kinesis:us-east-1:000000000000:stream/clicks"),
            Some("clicks")
        );
        assert_eq!(
            stream_of("arn:aws:kinesis:us-east-1:000000000000:stream/"),
            None
        );
        assert_eq!(stream_of("arn:aws:s3:::bucket"), None);
        assert_eq!(stream_of("clicks"), None);
    }
}
