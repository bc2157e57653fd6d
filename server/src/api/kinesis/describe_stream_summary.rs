//! DescribeStreamSummary: the stream without its shards.

use protocol::aws::body::Timestamp;
use protocol::aws::kinesis::{
    DescribeStreamSummaryOutput, StreamDescriptionSummary, StreamModeDetails, StreamRef,
};

use super::error::ApiError;
use super::{encryption_type, enhanced_monitoring, stream_name};
use crate::views::streams::Streams;

pub async fn apply(
    streams: &Streams,
    input: StreamRef,
) -> Result<DescribeStreamSummaryOutput, ApiError> {
    let name = stream_name(streams, &input)?;
    let view = streams.describe(&name)?;
    let open_shards = view
        .info
        .shards
        .iter()
        .filter(|shard| shard.is_open())
        .count();
    Ok(DescribeStreamSummaryOutput {
        stream_description_summary: StreamDescriptionSummary {
            stream_name: view.info.name.clone(),
            stream_arn: view.arn.clone(),
            stream_id: format!("{:016x}", view.info.id),
            stream_status: view.status.as_str().to_owned(),
            stream_mode_details: StreamModeDetails {
                stream_mode: view.meta.mode.as_str().to_owned(),
            },
            retention_period_hours: u32::try_from(view.info.retention.as_secs() / 3600)
                .unwrap_or(u32::MAX),
            stream_creation_timestamp: Timestamp(view.info.created_ms),
            enhanced_monitoring: enhanced_monitoring(&view.meta),
            encryption_type: encryption_type(&view.meta).to_owned(),
            key_id: view.meta.encryption_key.clone(),
            open_shard_count: u32::try_from(open_shards).unwrap_or(u32::MAX),
            // Queues are registered consumers too: they count against the same limit.
            consumer_count: u32::try_from(
                streams.consumer_count(&name) + streams.queue_count(&name),
            )
            .unwrap_or(u32::MAX),
            max_record_size_in_ki_b: view.meta.max_record_kib,
        },
    })
}
