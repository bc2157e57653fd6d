//! UntagDeliveryStream: removes tags by key; unknown keys are ignored.

use protocol::aws::firehose::{Empty, UntagDeliveryStreamInput};

use super::error::ApiError;
use super::{blocking, delivery_stream_name};
use crate::api::kinesis::validate::Checks;
use crate::views::delivery::DeliveryStreams;

/// Runs the operation.
pub async fn apply(
    delivery: &DeliveryStreams,
    input: UntagDeliveryStreamInput,
) -> Result<Empty, ApiError> {
    let mut checks = Checks::new();
    let name = delivery_stream_name(&mut checks, input.delivery_stream_name.as_deref());
    let keys = input.tag_keys.unwrap_or_default();
    if keys.is_empty() {
        checks.fail(
            "tagKeys",
            Some("[]"),
            "have length greater than or equal to 1",
        );
    } else if keys.len() > 50 {
        checks.fail(
            "tagKeys",
            Some(&format!("[{} keys]", keys.len())),
            "have length less than or equal to 50",
        );
    }
    for (index, key) in keys.iter().enumerate() {
        checks.length(&format!("tagKeys.{}.member", index + 1), Some(key), 1, 128);
    }
    checks.finish()?;
    blocking(delivery, move |delivery| {
        delivery.update(&name, None, |definition| {
            for key in &keys {
                definition.tags.remove(key);
            }
            Ok(())
        })
    })
    .await?;
    Ok(Empty {})
}
