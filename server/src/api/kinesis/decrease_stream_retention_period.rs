//! DecreaseStreamRetentionPeriod: a retention period no longer than the current one, down to
//! 24 hours (records older than the new period become unreachable).

use protocol::aws::kinesis::{DecreaseStreamRetentionPeriodInput, Empty};

use super::error::ApiError;
use super::{blocking, stream_name};
use crate::views::streams::Streams;
use crate::views::streams::admin::RetentionChange;

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    input: DecreaseStreamRetentionPeriodInput,
) -> Result<Empty, ApiError> {
    let name = stream_name(streams, &input.stream)?;
    let hours = input.retention_period_hours;
    blocking(streams, move |streams| {
        streams.change_retention(&name, hours, RetentionChange::Decrease)
    })
    .await?;
    Ok(Empty {})
}
