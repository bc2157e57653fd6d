//! DeleteChannel: stops delivering and forgets the channel at once. Objects already
//! delivered stay; records not yet delivered are not.

use protocol::aws::kinesis::{DeleteChannelInput, DeleteChannelOutput};

use super::channels::{blocking, name_of_arn};
use super::error::ApiError;
use crate::views::delivery::DeliveryStreams;

/// Runs the operation.
pub async fn apply(
    delivery: &DeliveryStreams,
    input: DeleteChannelInput,
) -> Result<DeleteChannelOutput, ApiError> {
    let name = name_of_arn(input.channel_arn.as_deref())?;
    blocking(delivery, move |delivery| delivery.delete_channel(&name)).await?;
    Ok(DeleteChannelOutput {})
}
