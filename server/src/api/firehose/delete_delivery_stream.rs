//! DeleteDeliveryStream: stops delivery and forgets the delivery stream, its undelivered
//! records and its positions. Objects already delivered stay.

use protocol::aws::firehose::{DeliveryStreamNameInput, Empty};

use super::error::ApiError;
use super::{blocking, name_only};
use crate::views::delivery::DeliveryStreams;

/// Runs the operation.
pub async fn apply(
    delivery: &DeliveryStreams,
    input: DeliveryStreamNameInput,
) -> Result<Empty, ApiError> {
    let name = name_only(input.delivery_stream_name.as_deref())?;
    blocking(delivery, move |delivery| delivery.delete(&name)).await?;
    Ok(Empty {})
}
