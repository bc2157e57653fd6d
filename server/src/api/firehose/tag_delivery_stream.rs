//! TagDeliveryStream: adds or overwrites tags, at most 50 per delivery stream.

use protocol::aws::firehose::limits::TAGS_MAX;
use protocol::aws::firehose::{Empty, TagDeliveryStreamInput};

use super::error::ApiError;
use super::{blocking, check_tags, delivery_stream_name};
use crate::api::kinesis::validate::Checks;
use crate::views::delivery::{DeliveryStreams, Error};

/// Runs the operation.
pub async fn apply(
    delivery: &DeliveryStreams,
    input: TagDeliveryStreamInput,
) -> Result<Empty, ApiError> {
    let mut checks = Checks::new();
    let name = delivery_stream_name(&mut checks, input.delivery_stream_name.as_deref());
    let tags = input.tags.unwrap_or_default();
    if tags.is_empty() {
        checks.fail("tags", Some("[]"), "have length greater than or equal to 1");
    }
    check_tags(&mut checks, "tags", &tags);
    checks.finish()?;
    blocking(delivery, move |delivery| {
        delivery.update(&name, None, |definition| {
            let mut merged = definition.tags.clone();
            for tag in tags {
                merged.insert(tag.key, tag.value);
            }
            if merged.len() > TAGS_MAX {
                return Err(Error::LimitExceeded(format!(
                    "A delivery stream can have at most {TAGS_MAX} tags; this call would leave {}.",
                    merged.len()
                )));
            }
            definition.tags = merged;
            Ok(())
        })
    })
    .await?;
    Ok(Empty {})
}
