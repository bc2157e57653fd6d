//! UpdateDestination: changes the S3 destination of the given version and bumps the version.
//! Members not given keep their values; buffers being filled take the new settings at their
//! next flush decision.

use protocol::aws::firehose::{Empty, UpdateDestinationInput};

use super::error::{ApiError, invalid};
use super::{DESTINATION_ID, blocking, delivery_stream_name, destination};
use crate::api::kinesis::validate::Checks;
use crate::views::delivery::{DeliveryStreams, Error};

/// Runs the operation.
pub async fn apply(
    delivery: &DeliveryStreams,
    input: UpdateDestinationInput,
) -> Result<Empty, ApiError> {
    let mut checks = Checks::new();
    let name = delivery_stream_name(&mut checks, input.delivery_stream_name.as_deref());
    let version = input.current_delivery_stream_version_id.as_deref();
    let destination_id = input.destination_id.as_deref();
    if version.is_none() {
        checks.fail("currentDeliveryStreamVersionId", None, "not be null");
    }
    checks.length("currentDeliveryStreamVersionId", version, 1, 50);
    checks.pattern(
        "currentDeliveryStreamVersionId",
        version,
        |text| text.bytes().all(|b| b.is_ascii_digit()),
        "[0-9]+",
    );
    if destination_id.is_none() {
        checks.fail("destinationId", None, "not be null");
    }
    checks.length("destinationId", destination_id, 1, 100);
    checks.finish()?;
    let version: u64 = version
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| invalid("CurrentDeliveryStreamVersionId is not a version id."))?;
    if destination_id != Some(DESTINATION_ID) {
        return Err(invalid(format!(
            "Destination {} not found; the delivery stream's destination is {DESTINATION_ID}.",
            destination_id.unwrap_or_default()
        )));
    }
    let others = [
        input.redshift_destination_update.is_some(),
        input.elasticsearch_destination_update.is_some(),
        input.amazonopensearchservice_destination_update.is_some(),
        input.splunk_destination_update.is_some(),
        input.http_endpoint_destination_update.is_some(),
        input
            .amazon_open_search_serverless_destination_update
            .is_some(),
        input.snowflake_destination_update.is_some(),
        input.iceberg_destination_update.is_some(),
    ];
    if others.iter().any(|present| *present) {
        return Err(invalid(
            "Only S3 destinations are supported by Strata; use ExtendedS3DestinationUpdate.",
        ));
    }
    let (field, update, extended) = match (
        input.s3_destination_update,
        input.extended_s3_destination_update,
    ) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "Only one destination update may be given: S3DestinationUpdate or ExtendedS3DestinationUpdate.",
            ));
        }
        (Some(update), None) => ("s3DestinationUpdate", update, false),
        (None, Some(update)) => ("extendedS3DestinationUpdate", update, true),
        (None, None) => {
            return Err(invalid(
                "A destination update is required: ExtendedS3DestinationUpdate or S3DestinationUpdate.",
            ));
        }
    };
    // Checked against the current destination inside the change, so a concurrent update
    // cannot slip between the check and the write.
    blocking(delivery, move |delivery| {
        delivery.update(&name, Some(version), |definition| {
            let current = definition.destination.clone();
            definition.destination = destination::apply(field, update, Some(current), extended)
                .map_err(|error| Error::InvalidArgument(error.message))?;
            Ok(())
        })
    })
    .await?;
    Ok(Empty {})
}
