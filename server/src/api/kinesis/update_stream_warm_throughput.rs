//! UpdateStreamWarmThroughput: records the warm throughput of an ON_DEMAND stream (the
//! account needs MinimumThroughputBillingCommitment).

use protocol::aws::kinesis::{
    UpdateStreamWarmThroughputInput, UpdateStreamWarmThroughputOutput, WarmThroughputObject,
};

use super::error::ApiError;
use super::validate::Checks;
use super::{blocking, stream_name};
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    input: UpdateStreamWarmThroughputInput,
) -> Result<UpdateStreamWarmThroughputOutput, ApiError> {
    let mut checks = Checks::new();
    checks.range(
        "warmThroughputMiBps",
        Some(input.warm_throughput_mi_bps),
        0,
        i64::from(i32::MAX),
    );
    checks.finish()?;
    let name = stream_name(streams, &input.stream)?;
    let mibps = u32::try_from(input.warm_throughput_mi_bps).unwrap_or(u32::MAX);
    let stream = name.clone();
    let before = blocking(streams, move |streams| {
        streams.set_warm_throughput(&stream, mibps)
    })
    .await?;
    Ok(UpdateStreamWarmThroughputOutput {
        stream_arn: streams.arn(&name),
        stream_name: name,
        warm_throughput: WarmThroughputObject {
            target_mi_bps: Some(mibps),
            current_mi_bps: before,
        },
    })
}
