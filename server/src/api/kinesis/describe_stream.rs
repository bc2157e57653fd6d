//! DescribeStream: the stream and one page of its shards (Limit, ExclusiveStartShardId).

use protocol::aws::body::Timestamp;
use protocol::aws::kinesis::{
    DescribeStreamInput, DescribeStreamOutput, StreamDescription, StreamModeDetails, limits,
};

use super::error::ApiError;
use super::validate::Checks;
use super::{encryption_type, enhanced_monitoring, shard_shape, stream_name};
use crate::views::streams::{Streams, sequence};

pub async fn apply(
    streams: &Streams,
    input: DescribeStreamInput,
) -> Result<DescribeStreamOutput, ApiError> {
    let mut checks = Checks::new();
    checks.range("limit", input.limit, 1, i64::from(limits::SHARDS_PAGE_MAX));
    checks.shard_id(
        "exclusiveStartShardId",
        input.exclusive_start_shard_id.as_deref(),
    );
    checks.finish()?;
    let name = stream_name(streams, &input.stream)?;
    let view = streams.describe(&name)?;
    let limit = input
        .limit
        .and_then(|limit| usize::try_from(limit).ok())
        .unwrap_or(limits::DESCRIBE_STREAM_PAGE_DEFAULT as usize);
    let after = input
        .exclusive_start_shard_id
        .as_deref()
        .map(|id| sequence::parse_shard_name(id).map_or(i64::MAX, i64::from));
    let mut shards = view
        .info
        .shards
        .iter()
        .filter(|shard| after.is_none_or(|after| i64::from(shard.id) > after));
    let page: Vec<_> = shards.by_ref().take(limit).map(shard_shape).collect();
    let has_more_shards = shards.next().is_some();
    let retention_hours = u32::try_from(view.info.retention.as_secs() / 3600).unwrap_or(u32::MAX);
    Ok(DescribeStreamOutput {
        stream_description: StreamDescription {
            stream_name: view.info.name.clone(),
            stream_arn: view.arn.clone(),
            stream_status: view.status.as_str().to_owned(),
            stream_mode_details: StreamModeDetails {
                stream_mode: view.meta.mode.as_str().to_owned(),
            },
            shards: page,
            has_more_shards,
            retention_period_hours: retention_hours,
            stream_creation_timestamp: Timestamp(view.info.created_ms),
            enhanced_monitoring: enhanced_monitoring(&view.meta),
            encryption_type: encryption_type(&view.meta).to_owned(),
            key_id: view.meta.encryption_key.clone(),
        },
    })
}
