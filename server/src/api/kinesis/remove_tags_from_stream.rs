//! RemoveTagsFromStream: removes tags by key; keys that are not there are ignored.

use protocol::aws::kinesis::{Empty, RemoveTagsFromStreamInput};

use super::error::ApiError;
use super::validate::Checks;
use super::{admin, blocking, stream_name};
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(streams: &Streams, input: RemoveTagsFromStreamInput) -> Result<Empty, ApiError> {
    let mut checks = Checks::new();
    admin::tag_keys(&mut checks, "tagKeys", &input.tag_keys);
    checks.finish()?;
    let name = stream_name(streams, &input.stream)?;
    let keys = input.tag_keys;
    blocking(streams, move |streams| {
        let resource = streams.stream_resource(&name)?;
        streams.remove_tags(&resource, &keys)
    })
    .await?;
    Ok(Empty {})
}
