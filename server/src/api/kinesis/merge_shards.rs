//! MergeShards: closes two open shards with bordering hash key ranges and opens their child.

use protocol::aws::kinesis::{Empty, MergeShardsInput};

use super::error::ApiError;
use super::stream_name;
use super::validate::Checks;
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(streams: &Streams, input: MergeShardsInput) -> Result<Empty, ApiError> {
    let mut checks = Checks::new();
    checks.shard_id("shardToMerge", Some(&input.shard_to_merge));
    checks.shard_id("adjacentShardToMerge", Some(&input.adjacent_shard_to_merge));
    checks.finish()?;
    let name = stream_name(streams, &input.stream)?;
    streams
        .merge(&name, &input.shard_to_merge, &input.adjacent_shard_to_merge)
        .await?;
    Ok(Empty {})
}
