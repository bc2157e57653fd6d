//! UntagResource: removes tags of a stream or consumer by key; absent keys are ignored.

use protocol::aws::kinesis::{Empty, UntagResourceInput};

use super::error::ApiError;
use super::validate::Checks;
use super::{admin, blocking};
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(streams: &Streams, input: UntagResourceInput) -> Result<Empty, ApiError> {
    let mut checks = Checks::new();
    admin::resource_arn(&mut checks, "resourceARN", &input.resource_arn);
    admin::tag_keys(&mut checks, "tagKeys", &input.tag_keys);
    checks.finish()?;
    let (arn, keys) = (input.resource_arn, input.tag_keys);
    blocking(streams, move |streams| {
        let resource = streams.resource(&arn)?;
        streams.remove_tags(&resource, &keys)
    })
    .await?;
    Ok(Empty {})
}
