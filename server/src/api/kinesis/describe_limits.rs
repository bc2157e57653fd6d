//! DescribeLimits: the account's open shards and ON_DEMAND streams, and their limits.

use protocol::aws::kinesis::{DescribeLimitsInput, DescribeLimitsOutput};

use super::error::ApiError;
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    _input: DescribeLimitsInput,
) -> Result<DescribeLimitsOutput, ApiError> {
    let limits = streams.limits();
    Ok(DescribeLimitsOutput {
        shard_limit: limits.shards_max,
        open_shard_count: limits.open_shards,
        on_demand_stream_count: limits.on_demand_streams,
        on_demand_stream_count_limit: limits.on_demand_streams_max,
    })
}
