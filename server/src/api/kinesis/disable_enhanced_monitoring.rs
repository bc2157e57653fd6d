//! DisableEnhancedMonitoring: turns shard-level metrics off (`ALL` for every one).

use protocol::aws::kinesis::{DisableEnhancedMonitoringInput, EnhancedMonitoringOutput};

use super::admin::change_monitoring;
use super::error::ApiError;
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    input: DisableEnhancedMonitoringInput,
) -> Result<EnhancedMonitoringOutput, ApiError> {
    change_monitoring(streams, input, false).await
}
