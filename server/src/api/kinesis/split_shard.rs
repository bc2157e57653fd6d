//! SplitShard: closes an open shard and opens two children divided at NewStartingHashKey.

use protocol::aws::kinesis::{Empty, SplitShardInput};

use super::error::ApiError;
use super::stream_name;
use super::validate::{Checks, parse_hash_key};
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(streams: &Streams, input: SplitShardInput) -> Result<Empty, ApiError> {
    let mut checks = Checks::new();
    checks.shard_id("shardToSplit", Some(&input.shard_to_split));
    checks.hash_key("newStartingHashKey", Some(&input.new_starting_hash_key));
    checks.finish()?;
    let name = stream_name(streams, &input.stream)?;
    let key = parse_hash_key(&input.new_starting_hash_key).ok_or_else(|| {
        ApiError::invalid(format!(
            "NewStartingHashKey {} used in SplitShard() is larger than the largest hash key {}.",
            input.new_starting_hash_key,
            u128::MAX
        ))
    })?;
    streams.split(&name, &input.shard_to_split, key).await?;
    Ok(Empty {})
}
