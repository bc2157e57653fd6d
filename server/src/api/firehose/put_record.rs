//! PutRecord: one record into a DirectPut delivery stream, answered once the log has it.

use protocol::aws::firehose::limits::RECORD_BYTES_MAX;
use protocol::aws::firehose::{PutRecordInput, PutRecordOutput};

use super::error::{ApiError, from_view};
use super::{delivery_stream_name, record_id};
use crate::api::kinesis::validate::Checks;
use crate::views::delivery::DeliveryStreams;

/// Runs the operation.
pub async fn apply(
    delivery: &DeliveryStreams,
    input: PutRecordInput,
) -> Result<PutRecordOutput, ApiError> {
    let mut checks = Checks::new();
    let name = delivery_stream_name(&mut checks, input.delivery_stream_name.as_deref());
    let Some(record) = input.record else {
        checks.fail("record", None, "not be null");
        checks.finish()?;
        return Err(ApiError::new("ValidationException", "record is required"));
    };
    checks.blob_length("record.data", record.data.0.len(), RECORD_BYTES_MAX);
    checks.finish()?;
    let definition = delivery.describe(&name).map_err(from_view)?.definition;
    let offsets = delivery
        .put(&name, vec![record.data.0])
        .await
        .map_err(from_view)?;
    let offset = offsets.first().copied().unwrap_or_default();
    Ok(PutRecordOutput {
        record_id: record_id(definition.created_ms, offset),
        encrypted: definition.encryption.is_some(),
    })
}
