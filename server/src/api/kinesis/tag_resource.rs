//! TagResource: adds or overwrites tags of a stream, consumer or queue (50 per resource).

use protocol::aws::kinesis::limits::TAGS_MAX;
use protocol::aws::kinesis::{Empty, TagResourceInput};

use super::error::ApiError;
use super::validate::Checks;
use super::{admin, blocking};
use crate::views::stream_queues::StreamQueues;
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    queues: &StreamQueues,
    input: TagResourceInput,
) -> Result<Empty, ApiError> {
    let mut checks = Checks::new();
    admin::resource_arn(&mut checks, "resourceARN", &input.resource_arn);
    admin::tag_map(&mut checks, "tags", &input.tags);
    checks.finish()?;
    let (arn, tags) = (input.resource_arn, input.tags);
    if admin::is_queue_resource(&arn) {
        queues.tag(&arn, &tags, TAGS_MAX).await?;
        return Ok(Empty {});
    }
    blocking(streams, move |streams| {
        let resource = streams.resource(&arn)?;
        streams.add_tags(&resource, &tags, TAGS_MAX)
    })
    .await?;
    Ok(Empty {})
}
