//! ListTagsForResource: every tag of a stream or consumer, by key.

use protocol::aws::kinesis::{ListTagsForResourceInput, ListTagsForResourceOutput};

use super::admin;
use super::error::ApiError;
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    input: ListTagsForResourceInput,
) -> Result<ListTagsForResourceOutput, ApiError> {
    let resource = admin::resource(streams, "resourceARN", &input.resource_arn)?;
    Ok(ListTagsForResourceOutput {
        tags: admin::tag_list(streams.tags(&resource)),
    })
}
