//! DescribeChannel: a channel by ARN, ACTIVE, with the last delivery failure as
//! `ChannelStatusReason` while deliveries fail.

use protocol::aws::kinesis::{ChannelOutput, DescribeChannelInput};

use super::channels::{description, name_of_arn};
use super::error::ApiError;
use crate::views::delivery::DeliveryStreams;

/// Runs the operation.
pub async fn apply(
    delivery: &DeliveryStreams,
    input: DescribeChannelInput,
) -> Result<ChannelOutput, ApiError> {
    let name = name_of_arn(input.channel_arn.as_deref())?;
    let state = delivery.channel(&name)?;
    Ok(ChannelOutput {
        channel_description: description(delivery, &state),
    })
}
