//! ListDeliveryStreams: names in order, optionally of one type, after a start name.

use protocol::aws::firehose::limits::{LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX};
use protocol::aws::firehose::{ListDeliveryStreamsInput, ListDeliveryStreamsOutput};

use super::error::ApiError;
use crate::api::kinesis::validate::Checks;
use crate::views::delivery::{DeliveryStreams, Source, channels};

/// Runs the operation.
pub async fn apply(
    delivery: &DeliveryStreams,
    input: ListDeliveryStreamsInput,
) -> Result<ListDeliveryStreamsOutput, ApiError> {
    let mut checks = Checks::new();
    checks.range("limit", input.limit, 1, LIST_LIMIT_MAX);
    checks.one_of(
        "deliveryStreamType",
        input.delivery_stream_type.as_deref(),
        &[
            "DirectPut",
            "KinesisStreamAsSource",
            "MSKAsSource",
            "DatabaseAsSource",
        ],
    );
    checks.length(
        "exclusiveStartDeliveryStreamName",
        input.exclusive_start_delivery_stream_name.as_deref(),
        1,
        64,
    );
    checks.finish()?;
    let limit = input
        .limit
        .and_then(|limit| usize::try_from(limit).ok())
        .unwrap_or(LIST_LIMIT_DEFAULT);
    let start = input.exclusive_start_delivery_stream_name;
    let mut names = delivery
        .list()
        .into_iter()
        // A channel's delivery stream belongs to the Kinesis API.
        .filter(|definition| !channels::is_channel(&definition.name))
        .filter(|definition| match input.delivery_stream_type.as_deref() {
            None => true,
            Some("DirectPut") => matches!(definition.source, Source::DirectPut),
            Some("KinesisStreamAsSource") => {
                matches!(definition.source, Source::KinesisStream { .. })
            }
            Some(_) => false,
        })
        .map(|definition| definition.name)
        .filter(|name| start.as_ref().is_none_or(|start| name > start));
    let page: Vec<String> = names.by_ref().take(limit).collect();
    let more = names.next().is_some();
    Ok(ListDeliveryStreamsOutput {
        delivery_stream_names: page,
        has_more_delivery_streams: more,
    })
}
