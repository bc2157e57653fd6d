//! ListTagsForResource: every tag of a stream, consumer or queue, by key.

use protocol::aws::kinesis::{ListTagsForResourceInput, ListTagsForResourceOutput};

use super::admin;
use super::error::ApiError;
use super::validate::Checks;
use crate::views::stream_queues::StreamQueues;
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    queues: &StreamQueues,
    input: ListTagsForResourceInput,
) -> Result<ListTagsForResourceOutput, ApiError> {
    if admin::is_queue_resource(&input.resource_arn) {
        let mut checks = Checks::new();
        admin::resource_arn(&mut checks, "resourceARN", &input.resource_arn);
        checks.finish()?;
        return Ok(ListTagsForResourceOutput {
            tags: admin::tag_list(queues.tags(&input.resource_arn)?),
        });
    }
    let resource = admin::resource(streams, "resourceARN", &input.resource_arn)?;
    Ok(ListTagsForResourceOutput {
        tags: admin::tag_list(streams.tags(&resource)),
    })
}
