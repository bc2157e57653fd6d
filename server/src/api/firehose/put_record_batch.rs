//! PutRecordBatch: up to 500 records, 4 MiB in all, each up to 1,000 KiB, as one append to a
//! DirectPut delivery stream; every record gets its own result.

use protocol::aws::firehose::errors::SERVICE_UNAVAILABLE;
use protocol::aws::firehose::limits::{
    PUT_RECORD_BATCH_BYTES_MAX, PUT_RECORD_BATCH_RECORDS_MAX, RECORD_BYTES_MAX,
};
use protocol::aws::firehose::{
    PutRecordBatchInput, PutRecordBatchOutput, PutRecordBatchResponseEntry,
};

use super::error::{ApiError, from_view, invalid};
use super::{delivery_stream_name, record_id};
use crate::api::kinesis::validate::Checks;
use crate::views::delivery::{DeliveryStreams, Error};

/// Runs the operation.
pub async fn apply(
    delivery: &DeliveryStreams,
    input: PutRecordBatchInput,
) -> Result<PutRecordBatchOutput, ApiError> {
    let mut checks = Checks::new();
    let name = delivery_stream_name(&mut checks, input.delivery_stream_name.as_deref());
    let records = input.records.unwrap_or_default();
    let count = records.len();
    if count == 0 {
        checks.fail(
            "records",
            Some("[]"),
            "have length greater than or equal to 1",
        );
    } else if count > PUT_RECORD_BATCH_RECORDS_MAX {
        checks.fail(
            "records",
            Some(&format!("[{count} records]")),
            &format!("have length less than or equal to {PUT_RECORD_BATCH_RECORDS_MAX}"),
        );
    }
    for (index, record) in records.iter().enumerate() {
        checks.blob_length(
            &format!("records.{}.member.data", index + 1),
            record.data.0.len(),
            RECORD_BYTES_MAX,
        );
    }
    checks.finish()?;
    let total: usize = records.iter().map(|record| record.data.0.len()).sum();
    if total > PUT_RECORD_BATCH_BYTES_MAX {
        return Err(invalid(format!(
            "Records size exceeds {PUT_RECORD_BATCH_BYTES_MAX} bytes limit: the batch holds {total} bytes."
        )));
    }
    let definition = delivery.describe(&name).map_err(from_view)?.definition;
    let data = records.into_iter().map(|record| record.data.0).collect();
    let responses: Vec<PutRecordBatchResponseEntry> = match delivery.put(&name, data).await {
        Ok(offsets) => offsets
            .into_iter()
            .map(|offset| PutRecordBatchResponseEntry {
                record_id: Some(record_id(definition.created_ms, offset)),
                ..PutRecordBatchResponseEntry::default()
            })
            .collect(),
        // The log could not take the batch: every record failed, and the caller may retry them.
        Err(Error::Internal(detail)) => {
            let message = crate::api::internal_message(&detail);
            (0..count)
                .map(|_| PutRecordBatchResponseEntry {
                    error_code: Some(SERVICE_UNAVAILABLE.to_owned()),
                    error_message: Some(message.clone()),
                    ..PutRecordBatchResponseEntry::default()
                })
                .collect()
        }
        Err(other) => return Err(from_view(other)),
    };
    let failed = responses
        .iter()
        .filter(|entry| entry.error_code.is_some())
        .count();
    Ok(PutRecordBatchOutput {
        failed_put_count: i64::try_from(failed).unwrap_or(i64::MAX),
        encrypted: definition.encryption.is_some(),
        request_responses: responses,
    })
}
