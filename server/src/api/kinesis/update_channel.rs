//! UpdateChannel: a new `DataFreshnessInSeconds` (the buffer interval, applied to the
//! buffers being filled) and logging settings.

use protocol::aws::kinesis::{ChannelOutput, UpdateChannelInput};

use super::channels::{blocking, check_logging, description, name_of_arn};
use super::create_channel::FRESHNESS_SECONDS_MAX;
use super::error::ApiError;
use super::validate::Checks;
use crate::views::delivery::DeliveryStreams;

/// Runs the operation.
pub async fn apply(
    delivery: &DeliveryStreams,
    input: UpdateChannelInput,
) -> Result<ChannelOutput, ApiError> {
    let name = name_of_arn(input.channel_arn.as_deref())?;
    let mut checks = Checks::new();
    if let Some(s3) = &input.s3_destination_configuration {
        let field = "s3DestinationConfiguration.dataFreshnessInSeconds";
        if s3.data_freshness_in_seconds.is_none() {
            checks.fail(field, None, "not be null");
        }
        checks.range(
            field,
            s3.data_freshness_in_seconds,
            0,
            FRESHNESS_SECONDS_MAX,
        );
    }
    if let Some(logging) = &input.logging_configuration {
        check_logging(&mut checks, "loggingConfiguration", logging);
    }
    checks.finish()?;
    if input.s3_tables_destination_configuration.is_some() {
        return Err(ApiError::invalid(
            "Channel has no S3TablesDestinationConfiguration to update; Strata supports S3 destinations only.",
        ));
    }
    let freshness = input
        .s3_destination_configuration
        .and_then(|s3| s3.data_freshness_in_seconds)
        .and_then(|seconds| u32::try_from(seconds).ok());
    let logs = input.logging_configuration.map(|l| l.cloud_watch_logs);
    let state = blocking(delivery, move |delivery| {
        delivery.update_channel(
            &name,
            |channel| {
                if let Some(logs) = logs {
                    channel.logging_enabled = logs.enabled;
                    channel.log_group = logs.log_group_name;
                    channel.log_stream = logs.log_stream_name;
                }
            },
            |definition| {
                if let Some(seconds) = freshness {
                    definition.destination.buffer_seconds = seconds;
                }
                Ok(())
            },
        )?;
        delivery.channel(&name)
    })
    .await?;
    Ok(ChannelOutput {
        channel_description: description(delivery, &state),
    })
}
