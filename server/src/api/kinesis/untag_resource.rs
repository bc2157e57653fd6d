//! UntagResource: removes tags of a stream, consumer or queue by key; absent keys are ignored.

use protocol::aws::kinesis::{Empty, UntagResourceInput};

use super::error::ApiError;
use super::validate::Checks;
use super::{admin, blocking};
use crate::views::stream_queues::StreamQueues;
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    queues: &StreamQueues,
    input: UntagResourceInput,
) -> Result<Empty, ApiError> {
    let mut checks = Checks::new();
    admin::resource_arn(&mut checks, "resourceARN", &input.resource_arn);
    admin::tag_keys(&mut checks, "tagKeys", &input.tag_keys);
    checks.finish()?;
    let (arn, keys) = (input.resource_arn, input.tag_keys);
    if admin::is_queue_resource(&arn) {
        queues.untag(&arn, &keys).await?;
        return Ok(Empty {});
    }
    blocking(streams, move |streams| {
        let resource = streams.resource(&arn)?;
        streams.remove_tags(&resource, &keys)
    })
    .await?;
    Ok(Empty {})
}
