//! EnableEnhancedMonitoring: turns shard-level metrics on (`ALL` for every one).

use protocol::aws::kinesis::{EnableEnhancedMonitoringInput, EnhancedMonitoringOutput};

use super::admin::change_monitoring;
use super::error::ApiError;
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    input: EnableEnhancedMonitoringInput,
) -> Result<EnhancedMonitoringOutput, ApiError> {
    change_monitoring(streams, input, true).await
}
