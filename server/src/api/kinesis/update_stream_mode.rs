//! UpdateStreamMode: switches a stream (named by StreamARN) between PROVISIONED and
//! ON_DEMAND; its shards stay as they are.

use protocol::aws::kinesis::{Empty, UpdateStreamModeInput};

use super::blocking;
use super::error::ApiError;
use super::validate::Checks;
use crate::views::streams::{Mode, Streams};

/// Runs the operation.
pub async fn apply(streams: &Streams, input: UpdateStreamModeInput) -> Result<Empty, ApiError> {
    let mode_name = input.stream_mode_details.stream_mode;
    let mut checks = Checks::new();
    checks.stream_arn("streamARN", Some(&input.stream_arn));
    checks.one_of(
        "streamModeDetails.streamMode",
        Some(&mode_name),
        &["PROVISIONED", "ON_DEMAND"],
    );
    checks.range(
        "warmThroughputMiBps",
        input.warm_throughput_mi_bps,
        0,
        i64::from(i32::MAX),
    );
    checks.finish()?;
    let name = streams.resolve(None, Some(&input.stream_arn))?;
    let mode = Mode::parse(&mode_name).unwrap_or_default();
    let warm = input
        .warm_throughput_mi_bps
        .and_then(|mibps| u32::try_from(mibps).ok());
    blocking(streams, move |streams| streams.set_mode(&name, mode, warm)).await?;
    Ok(Empty {})
}
