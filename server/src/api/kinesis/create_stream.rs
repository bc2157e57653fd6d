//! CreateStream: a PROVISIONED stream of ShardCount shards, or an ON_DEMAND one (4 shards).

use protocol::aws::kinesis::{CreateStreamInput, Empty, limits};

use super::blocking;
use super::error::ApiError;
use super::validate::Checks;
use crate::views::streams::{Mode, StreamMeta};

/// Shards one stream may have.
const SHARDS_MAX: i64 = 100_000;

pub async fn apply(
    streams: &crate::views::streams::Streams,
    input: CreateStreamInput,
) -> Result<Empty, ApiError> {
    let mode_name = input
        .stream_mode_details
        .as_ref()
        .map(|d| d.stream_mode.as_str());
    let mut checks = Checks::new();
    checks.stream_name("streamName", Some(&input.stream_name));
    checks.range("shardCount", input.shard_count, 1, SHARDS_MAX);
    checks.one_of(
        "streamModeDetails.streamMode",
        mode_name,
        &["PROVISIONED", "ON_DEMAND"],
    );
    checks.range(
        "maxRecordSizeInKiB",
        input.max_record_size_in_ki_b,
        i64::from(limits::RECORD_KIB_MIN),
        i64::from(limits::RECORD_KIB_MAX),
    );
    checks.range(
        "warmThroughputMiBps",
        input.warm_throughput_mi_bps,
        0,
        i64::from(u32::MAX),
    );
    checks.finish()?;
    let mode = mode_name.and_then(Mode::parse).unwrap_or_default();
    let shards = match (mode, input.shard_count) {
        (Mode::Provisioned, Some(count)) => u32::try_from(count).unwrap_or(1),
        (Mode::Provisioned, None) => {
            return Err(ApiError::new(
                protocol::aws::kinesis::errors::VALIDATION,
                "1 validation error detected: Value null at 'shardCount' failed to satisfy constraint: Member must not be null when StreamMode is PROVISIONED",
            ));
        }
        (Mode::OnDemand, count) => {
            count.map_or(limits::ON_DEMAND_SHARDS, |c| u32::try_from(c).unwrap_or(1))
        }
    };
    let tags = input.tags.unwrap_or_default();
    if tags.len() > limits::TAGS_MAX {
        return Err(ApiError::invalid(format!(
            "Failed to create stream {} because it would have more than {} tags.",
            input.stream_name,
            limits::TAGS_MAX
        )));
    }
    let meta = StreamMeta {
        mode,
        max_record_kib: input
            .max_record_size_in_ki_b
            .and_then(|kib| u32::try_from(kib).ok())
            .unwrap_or(limits::RECORD_KIB_DEFAULT),
        warm_throughput_mibps: input
            .warm_throughput_mi_bps
            .and_then(|v| u32::try_from(v).ok()),
        tags,
        ..StreamMeta::default()
    };
    let name = input.stream_name;
    blocking(streams, move |streams| streams.create(&name, shards, &meta)).await?;
    Ok(Empty {})
}
