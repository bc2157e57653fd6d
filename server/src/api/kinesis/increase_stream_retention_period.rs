//! IncreaseStreamRetentionPeriod: a retention period no shorter than the current one, up to
//! 8760 hours.

use protocol::aws::kinesis::{Empty, IncreaseStreamRetentionPeriodInput};

use super::error::ApiError;
use super::{blocking, stream_name};
use crate::views::streams::Streams;
use crate::views::streams::admin::RetentionChange;

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    input: IncreaseStreamRetentionPeriodInput,
) -> Result<Empty, ApiError> {
    let name = stream_name(streams, &input.stream)?;
    let hours = input.retention_period_hours;
    blocking(streams, move |streams| {
        streams.change_retention(&name, hours, RetentionChange::Increase)
    })
    .await?;
    Ok(Empty {})
}
