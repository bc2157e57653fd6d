//! EnableEnhancedMonitoring: turns shard-level metrics on (`ALL` for every one); answers the
//! metrics before (Current) and after (Desired).

use protocol::aws::kinesis::{EnableEnhancedMonitoringInput, EnhancedMonitoringOutput};

use super::error::ApiError;
use super::validate::Checks;
use super::{admin, blocking, stream_name};
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    input: EnableEnhancedMonitoringInput,
) -> Result<EnhancedMonitoringOutput, ApiError> {
    let mut checks = Checks::new();
    admin::metrics(&mut checks, "shardLevelMetrics", &input.shard_level_metrics);
    checks.finish()?;
    let name = stream_name(streams, &input.stream)?;
    let (stream, names) = (name.clone(), input.shard_level_metrics);
    let (current, desired) = blocking(streams, move |streams| {
        streams.change_metrics(&stream, &names, true)
    })
    .await?;
    Ok(EnhancedMonitoringOutput {
        stream_arn: streams.arn(&name),
        stream_name: name,
        current_shard_level_metrics: current,
        desired_shard_level_metrics: desired,
    })
}
