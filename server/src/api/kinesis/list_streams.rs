//! ListStreams: names and summaries in name order, paged by Limit and
//! ExclusiveStartStreamName or NextToken.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as TOKEN;
use protocol::aws::body::Timestamp;
use protocol::aws::kinesis::{
    ListStreamsInput, ListStreamsOutput, StreamModeDetails, StreamSummary, limits,
};

use super::error::ApiError;
use super::validate::Checks;
use crate::views::streams::Streams;

pub async fn apply(
    streams: &Streams,
    input: ListStreamsInput,
) -> Result<ListStreamsOutput, ApiError> {
    let mut checks = Checks::new();
    checks.range(
        "limit",
        input.limit,
        1,
        i64::from(limits::LIST_STREAMS_PAGE_MAX),
    );
    checks.stream_name(
        "exclusiveStartStreamName",
        input.exclusive_start_stream_name.as_deref(),
    );
    checks.length("nextToken", input.next_token.as_deref(), 1, 1_048_576);
    checks.finish()?;
    let after = match &input.next_token {
        Some(token) => Some(
            TOKEN
                .decode(token)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| ApiError::invalid(format!("Invalid NextToken: {token}")))?,
        ),
        None => input.exclusive_start_stream_name.clone(),
    };
    let limit = input
        .limit
        .and_then(|limit| usize::try_from(limit).ok())
        .unwrap_or(limits::LIST_STREAMS_PAGE_DEFAULT as usize);
    let mut all = streams.list().into_iter().filter(|view| {
        after
            .as_ref()
            .is_none_or(|after| view.info.name.as_str() > after.as_str())
    });
    let page: Vec<_> = all.by_ref().take(limit).collect();
    let has_more_streams = all.next().is_some();
    let next_token = has_more_streams
        .then(|| {
            page.last()
                .map(|view| TOKEN.encode(view.info.name.as_bytes()))
        })
        .flatten();
    Ok(ListStreamsOutput {
        stream_names: page.iter().map(|view| view.info.name.clone()).collect(),
        has_more_streams,
        next_token,
        stream_summaries: page
            .into_iter()
            .map(|view| StreamSummary {
                stream_name: view.info.name,
                stream_arn: view.arn,
                stream_status: view.status.as_str().to_owned(),
                stream_mode_details: StreamModeDetails {
                    stream_mode: view.meta.mode.as_str().to_owned(),
                },
                stream_creation_timestamp: Timestamp(view.info.created_ms),
            })
            .collect(),
    })
}
