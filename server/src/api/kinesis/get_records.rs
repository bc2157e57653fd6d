//! GetRecords: up to Limit records and 10 MiB from an iterator; ChildShards and no
//! NextShardIterator once a closed shard is read to its end.

use protocol::aws::kinesis::{GetRecordsInput, GetRecordsOutput, limits};

use super::error::ApiError;
use super::validate::Checks;
use super::{child_shape, record_shape};
use crate::views::streams::Streams;

pub async fn apply(
    streams: &Streams,
    input: GetRecordsInput,
) -> Result<GetRecordsOutput, ApiError> {
    let mut checks = Checks::new();
    checks.length("shardIterator", Some(&input.shard_iterator), 1, 512);
    checks.stream_arn("streamARN", input.stream_arn.as_deref());
    checks.finish()?;
    let limit = match input.limit {
        None => limits::GET_RECORDS_MAX as usize,
        Some(limit) if (1..=i64::from(limits::GET_RECORDS_MAX)).contains(&limit) => {
            usize::try_from(limit).unwrap_or(1)
        }
        Some(limit) => {
            let mut checks = Checks::new();
            checks.range("limit", Some(limit), 1, i64::from(limits::GET_RECORDS_MAX));
            checks.finish()?;
            1
        }
    };
    let streams_view = streams.clone();
    let token = input.shard_iterator;
    let fetched = tokio::task::spawn_blocking(move || streams_view.get_records(&token, limit))
        .await
        .map_err(|error| {
            ApiError::from(crate::views::streams::Error::Internal(error.to_string()))
        })??;
    let shard = fetched.shard;
    let records = fetched
        .records
        .iter()
        .map(|record| record_shape(shard, record))
        .collect();
    let child_shards = fetched
        .children
        .map(|children| children.iter().map(child_shape).collect());
    Ok(GetRecordsOutput {
        records,
        next_shard_iterator: fetched.next_iterator,
        millis_behind_latest: fetched.millis_behind,
        child_shards,
    })
}
