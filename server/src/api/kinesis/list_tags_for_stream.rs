//! ListTagsForStream: a stream's tags by key, one page at a time (ExclusiveStartTagKey,
//! Limit up to 50, by default all of them).

use protocol::aws::kinesis::limits::TAGS_MAX;
use protocol::aws::kinesis::{ListTagsForStreamInput, ListTagsForStreamOutput};

use super::error::ApiError;
use super::validate::Checks;
use super::{admin, stream_name};
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    input: ListTagsForStreamInput,
) -> Result<ListTagsForStreamOutput, ApiError> {
    let mut checks = Checks::new();
    checks.length(
        "exclusiveStartTagKey",
        input.exclusive_start_tag_key.as_deref(),
        1,
        128,
    );
    checks.range(
        "limit",
        input.limit,
        1,
        i64::try_from(TAGS_MAX).unwrap_or(i64::MAX),
    );
    checks.finish()?;
    let name = stream_name(streams, &input.stream)?;
    let resource = streams.stream_resource(&name)?;
    let limit = input
        .limit
        .and_then(|limit| usize::try_from(limit).ok())
        .unwrap_or(TAGS_MAX);
    let after = input.exclusive_start_tag_key;
    let mut tags = streams
        .tags(&resource)
        .into_iter()
        .filter(|(key, _)| after.as_deref().is_none_or(|after| key.as_str() > after));
    let page = tags.by_ref().take(limit).collect();
    let has_more_tags = tags.next().is_some();
    Ok(ListTagsForStreamOutput {
        tags: admin::tag_list(page),
        has_more_tags,
    })
}
