//! UpdateShardCount: reshards a PROVISIONED stream into TargetShardCount shards that divide
//! the hash key space evenly (UNIFORM_SCALING), by splits and merges.

use protocol::aws::kinesis::{UpdateShardCountInput, UpdateShardCountOutput};

use super::error::ApiError;
use super::stream_name;
use super::validate::Checks;
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    input: UpdateShardCountInput,
) -> Result<UpdateShardCountOutput, ApiError> {
    let mut checks = Checks::new();
    checks.range(
        "targetShardCount",
        Some(input.target_shard_count),
        1,
        i64::from(i32::MAX),
    );
    checks.one_of(
        "scalingType",
        Some(&input.scaling_type),
        &["UNIFORM_SCALING"],
    );
    checks.finish()?;
    let name = stream_name(streams, &input.stream)?;
    let target = u32::try_from(input.target_shard_count).unwrap_or(u32::MAX);
    let current = streams.update_shard_count(&name, target).await?;
    Ok(UpdateShardCountOutput {
        stream_arn: streams.arn(&name),
        stream_name: name,
        current_shard_count: current,
        target_shard_count: target,
    })
}
