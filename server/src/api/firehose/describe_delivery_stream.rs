//! DescribeDeliveryStream: the definition, ACTIVE, and while deliveries fail the last
//! failure as `FailureDescription` (type `UNKNOWN_ERROR`, the details say what failed).

use protocol::aws::body::Timestamp;
use protocol::aws::firehose::{
    DeliveryStreamDescription, DeliveryStreamEncryptionConfiguration, DescribeDeliveryStreamInput,
    DescribeDeliveryStreamOutput, DestinationDescription, FailureDescription,
    KinesisStreamSourceDescription, SourceDescription,
};

use super::error::{ApiError, from_view};
use super::{DESTINATION_ID, delivery_stream_name, destination};
use crate::api::kinesis::validate::Checks;
use crate::views::delivery::{DeliveryStreams, Source};

/// Runs the operation.
pub async fn apply(
    delivery: &DeliveryStreams,
    input: DescribeDeliveryStreamInput,
) -> Result<DescribeDeliveryStreamOutput, ApiError> {
    let mut checks = Checks::new();
    let name = delivery_stream_name(&mut checks, input.delivery_stream_name.as_deref());
    checks.range("limit", input.limit, 1, 10_000);
    checks.length(
        "exclusiveStartDestinationId",
        input.exclusive_start_destination_id.as_deref(),
        1,
        100,
    );
    checks.finish()?;
    let described = delivery.describe(&name).map_err(from_view)?;
    let definition = &described.definition;
    let extended = definition.destination.extended;
    let destinations = if input.exclusive_start_destination_id.as_deref() == Some(DESTINATION_ID) {
        Vec::new()
    } else {
        vec![DestinationDescription {
            destination_id: DESTINATION_ID.to_owned(),
            s3_destination_description: destination::describe(&definition.destination, false),
            extended_s3_destination_description: extended
                .then(|| destination::describe(&definition.destination, true)),
        }]
    };
    let (kind, source) = match &definition.source {
        Source::DirectPut => ("DirectPut", None),
        Source::KinesisStream { arn, role_arn, .. } => (
            "KinesisStreamAsSource",
            Some(SourceDescription {
                kinesis_stream_source_description: Some(KinesisStreamSourceDescription {
                    kinesis_stream_arn: arn.clone(),
                    role_arn: role_arn.clone(),
                    delivery_start_timestamp: Timestamp(definition.created_ms),
                }),
            }),
        ),
    };
    let encryption = match (&definition.source, &definition.encryption) {
        (Source::KinesisStream { .. }, _) => None,
        (_, Some(encryption)) => Some(DeliveryStreamEncryptionConfiguration {
            key_arn: encryption.key_arn.clone(),
            key_type: Some(encryption.key_type.clone()),
            status: "ENABLED".into(),
        }),
        (_, None) => Some(DeliveryStreamEncryptionConfiguration {
            key_arn: None,
            key_type: None,
            status: "DISABLED".into(),
        }),
    };
    Ok(DescribeDeliveryStreamOutput {
        delivery_stream_description: DeliveryStreamDescription {
            delivery_stream_name: definition.name.clone(),
            delivery_stream_arn: delivery.arn(&definition.name),
            delivery_stream_status: "ACTIVE".into(),
            failure_description: described.failure.map(|failure| FailureDescription {
                kind: "UNKNOWN_ERROR".into(),
                details: failure.details,
            }),
            delivery_stream_encryption_configuration: encryption,
            delivery_stream_type: kind.into(),
            version_id: definition.version.to_string(),
            create_timestamp: Timestamp(definition.created_ms),
            last_update_timestamp: definition.updated_ms.map(Timestamp),
            source,
            destinations,
            has_more_destinations: false,
        },
    })
}
