//! AddTagsToStream: adds or overwrites up to 10 tags per call, 50 per stream.

use protocol::aws::kinesis::limits::TAGS_PER_CALL_MAX;
use protocol::aws::kinesis::{AddTagsToStreamInput, Empty};

use super::error::ApiError;
use super::validate::Checks;
use super::{admin, blocking, stream_name};
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(streams: &Streams, input: AddTagsToStreamInput) -> Result<Empty, ApiError> {
    let mut checks = Checks::new();
    admin::tag_map(&mut checks, "tags", &input.tags);
    checks.finish()?;
    let name = stream_name(streams, &input.stream)?;
    let tags = input.tags;
    blocking(streams, move |streams| {
        let resource = streams.stream_resource(&name)?;
        streams.add_tags(&resource, &tags, TAGS_PER_CALL_MAX)
    })
    .await?;
    Ok(Empty {})
}
