//! GetRecords: up to Limit records and 10 MiB from an iterator; ChildShards and no
//! NextShardIterator once a closed shard is read to its end.

use protocol::aws::body::{Blob, Timestamp};
use protocol::aws::kinesis::{ChildShard, GetRecordsInput, GetRecordsOutput, Record, limits};

use super::error::ApiError;
use super::hash_range;
use super::validate::Checks;
use crate::views::streams::{Streams, sequence};

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
        .into_iter()
        .map(|record| Record {
            sequence_number: sequence::encode(shard, record.offset),
            approximate_arrival_timestamp: Timestamp(record.timestamp_ms),
            data: Blob(record.data),
            partition_key: String::from_utf8_lossy(&record.key).into_owned(),
            encryption_type: None,
        })
        .collect();
    let child_shards = fetched.children.map(|children| {
        children
            .iter()
            .map(|child| ChildShard {
                shard_id: sequence::shard_name(child.id),
                parent_shards: [child.parent, child.adjacent_parent]
                    .into_iter()
                    .flatten()
                    .map(sequence::shard_name)
                    .collect(),
                hash_key_range: hash_range(child),
            })
            .collect()
    });
    Ok(GetRecordsOutput {
        records,
        next_shard_iterator: fetched.next_iterator,
        millis_behind_latest: fetched.millis_behind,
        child_shards,
    })
}
