//! ListQueues: the account's queues by name, optionally only those on given streams, in
//! pages (the token is the last name of the page, hex-encoded).

use protocol::aws::body::Timestamp;
use protocol::aws::kinesis::{
    ListQueuesInput, ListQueuesOutput, QueueStreamIdentifier, QueueSummary,
};

use super::error::ApiError;
use super::validate::Checks;
use crate::views::stream_queues::StreamQueues;
use crate::views::stream_queues::limits::{LIST_RESULTS_DEFAULT, LIST_RESULTS_MAX};
use crate::views::streams::{Error, Streams};

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    queues: &StreamQueues,
    input: ListQueuesInput,
) -> Result<ListQueuesOutput, ApiError> {
    let mut checks = Checks::new();
    let results_max = i64::try_from(LIST_RESULTS_MAX).unwrap_or(i64::MAX);
    checks.range("maxResults", input.max_results, 1, results_max);
    checks.length("nextToken", input.next_token.as_deref(), 1, 1_048_576);
    let given = input.stream_filter.is_some();
    let filters = input.stream_filter.unwrap_or_default();
    if given && filters.is_empty() {
        checks.fail(
            "streamFilter",
            None,
            "have length greater than or equal to 1",
        );
    } else if filters.len() > LIST_RESULTS_MAX {
        checks.fail(
            "streamFilter",
            None,
            &format!("have length less than or equal to {LIST_RESULTS_MAX}"),
        );
    }
    for (index, filter) in filters.iter().enumerate() {
        checks.stream_arn(
            &format!("streamFilter.{}.member.streamARN", index + 1),
            Some(&filter.stream_arn),
        );
    }
    checks.finish()?;
    let after = match &input.next_token {
        Some(token) => Some(
            hex::decode(token)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| Error::InvalidArgument(format!("Invalid NextToken {token}.")))?,
        ),
        None => None,
    };
    // A filter names a stream by ARN (and, optionally, its creation time, which tells a
    // recreated stream from an earlier one of the same name).
    let wanted: Vec<(String, Option<i64>)> = filters
        .iter()
        .filter_map(|filter| {
            let name = streams.resolve(None, Some(&filter.stream_arn)).ok()?;
            Some((name, filter.stream_creation_timestamp.map(|t| t.0)))
        })
        .collect();
    let max = input
        .max_results
        .and_then(|max| usize::try_from(max).ok())
        .unwrap_or(LIST_RESULTS_DEFAULT);
    let mut matching = queues.list().into_iter().filter(|view| {
        after.as_ref().is_none_or(|after| view.config.name > *after)
            && (filters.is_empty()
                || wanted.iter().any(|(stream, created)| {
                    *stream == view.config.stream
                        && created.is_none_or(|ms| {
                            ms.div_euclid(1000) == view.config.stream_created_ms.div_euclid(1000)
                        })
                }))
    });
    let page: Vec<_> = matching.by_ref().take(max).collect();
    let next_token = match (matching.next(), page.last()) {
        (Some(_), Some(last)) => Some(hex::encode(&last.config.name)),
        _ => None,
    };
    Ok(ListQueuesOutput {
        queue_summaries: page
            .into_iter()
            .map(|view| QueueSummary {
                queue_name: view.config.name.clone(),
                queue_arn: view.arn.clone(),
                queue_status: view.status.as_str().into(),
                queue_creation_timestamp: Timestamp(view.config.created_ms),
                streams: vec![QueueStreamIdentifier {
                    stream_arn: view.stream_arn.clone(),
                    stream_creation_timestamp: Timestamp(view.config.stream_created_ms),
                }],
            })
            .collect(),
        next_token,
    })
}
