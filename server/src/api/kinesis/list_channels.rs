//! ListChannels: channels in name order, optionally only those reading given streams, in
//! pages of `MaxResults` (default 100); `NextToken` is the last name of the previous page.

use protocol::aws::body::Timestamp;
use protocol::aws::kinesis::{
    ChannelStreamIdentifier, ChannelSummary, ListChannelsInput, ListChannelsOutput, errors as code,
};

use super::channels::description;
use super::error::ApiError;
use super::validate::Checks;
use crate::views::delivery::DeliveryStreams;

/// Page size when `MaxResults` is not given.
pub const LIST_LIMIT_DEFAULT: usize = 100;

/// Runs the operation.
pub async fn apply(
    delivery: &DeliveryStreams,
    input: ListChannelsInput,
) -> Result<ListChannelsOutput, ApiError> {
    let mut checks = Checks::new();
    checks.range("maxResults", input.max_results, 1, 10_000);
    checks.length("nextToken", input.next_token.as_deref(), 1, 1_048_576);
    if let Some(filters) = &input.stream_filter {
        if filters.is_empty() {
            checks.fail(
                "streamFilter",
                Some("[]"),
                "have length greater than or equal to 1",
            );
        }
        for (index, filter) in filters.iter().enumerate() {
            let field = format!("streamFilter.{}.member.streamARN", index + 1);
            if filter.stream_arn.is_none() {
                checks.fail(&field, None, "not be null");
            }
            checks.stream_arn(&field, filter.stream_arn.as_deref());
        }
    }
    checks.finish()?;
    let start = match input.next_token {
        Some(token) => Some(
            token
                .strip_prefix("channel/")
                .map(str::to_owned)
                .ok_or_else(|| {
                    ApiError::new(
                        code::EXPIRED_NEXT_TOKEN,
                        format!("Invalid NextToken {token}."),
                    )
                })?,
        ),
        None => None,
    };
    let limit = input
        .max_results
        .and_then(|limit| usize::try_from(limit).ok())
        .unwrap_or(LIST_LIMIT_DEFAULT);
    let wanted: Option<Vec<String>> = input
        .stream_filter
        .map(|filters| filters.into_iter().filter_map(|f| f.stream_arn).collect());
    let mut summaries = delivery
        .channels()
        .into_iter()
        .filter(|state| {
            start
                .as_ref()
                .is_none_or(|start| &state.channel.name > start)
        })
        .map(|state| description(delivery, &state))
        .filter(|described| {
            wanted.as_ref().is_none_or(|wanted| {
                described
                    .stream_configuration_list
                    .iter()
                    .any(|stream| wanted.contains(&stream.stream_arn))
            })
        });
    let page: Vec<ChannelSummary> = summaries
        .by_ref()
        .take(limit)
        .map(|described| ChannelSummary {
            streams: described
                .stream_configuration_list
                .iter()
                .map(|stream| ChannelStreamIdentifier {
                    stream_arn: stream.stream_arn.clone(),
                    stream_creation_timestamp: Timestamp(stream.stream_creation_timestamp.0),
                })
                .collect(),
            channel_name: described.channel_name,
            channel_arn: described.channel_arn,
            channel_id: described.channel_id,
            channel_status: described.channel_status,
            channel_status_reason: described.channel_status_reason,
            channel_creation_timestamp: described.channel_creation_timestamp,
            channel_destination_type: "S3".into(),
        })
        .collect();
    let next_token = match (summaries.next(), page.last()) {
        (Some(_), Some(last)) => Some(format!("channel/{}", last.channel_name)),
        _ => None,
    };
    Ok(ListChannelsOutput {
        channel_summaries: page,
        next_token,
    })
}
