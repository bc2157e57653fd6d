//! StopDeliveryStreamEncryption: records that server-side encryption is off (DISABLED).

use protocol::aws::firehose::{DeliveryStreamNameInput, Empty};

use super::error::ApiError;
use super::{blocking, name_only};
use crate::views::delivery::{DeliveryStreams, Error, Source};

/// Runs the operation.
pub async fn apply(
    delivery: &DeliveryStreams,
    input: DeliveryStreamNameInput,
) -> Result<Empty, ApiError> {
    let name = name_only(input.delivery_stream_name.as_deref())?;
    blocking(delivery, move |delivery| {
        delivery.update(&name, None, |definition| {
            if !matches!(definition.source, Source::DirectPut) {
                return Err(Error::InvalidArgument(format!(
                    "Server-side encryption is not supported for the KinesisStreamAsSource delivery stream {}.",
                    definition.name
                )));
            }
            definition.encryption = None;
            Ok(())
        })
    })
    .await?;
    Ok(Empty {})
}
