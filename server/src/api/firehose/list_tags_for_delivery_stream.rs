//! ListTagsForDeliveryStream: tags by key, after a start key, up to `Limit` (default 50).

use protocol::aws::firehose::{
    ListTagsForDeliveryStreamInput, ListTagsForDeliveryStreamOutput, Tag,
};

use super::delivery_stream_name;
use super::error::{ApiError, from_view};
use crate::api::kinesis::validate::Checks;
use crate::views::delivery::DeliveryStreams;

/// Runs the operation.
pub async fn apply(
    delivery: &DeliveryStreams,
    input: ListTagsForDeliveryStreamInput,
) -> Result<ListTagsForDeliveryStreamOutput, ApiError> {
    let mut checks = Checks::new();
    let name = delivery_stream_name(&mut checks, input.delivery_stream_name.as_deref());
    checks.range("limit", input.limit, 1, 50);
    checks.length(
        "exclusiveStartTagKey",
        input.exclusive_start_tag_key.as_deref(),
        1,
        128,
    );
    checks.finish()?;
    let limit = input
        .limit
        .and_then(|limit| usize::try_from(limit).ok())
        .unwrap_or(50);
    let definition = delivery.describe(&name).map_err(from_view)?.definition;
    let start = input.exclusive_start_tag_key;
    let mut tags = definition
        .tags
        .into_iter()
        .filter(|(key, _)| start.as_ref().is_none_or(|start| key > start))
        .map(|(key, value)| Tag { key, value });
    let page: Vec<Tag> = tags.by_ref().take(limit).collect();
    let more = tags.next().is_some();
    Ok(ListTagsForDeliveryStreamOutput {
        tags: page,
        has_more_tags: more,
    })
}
