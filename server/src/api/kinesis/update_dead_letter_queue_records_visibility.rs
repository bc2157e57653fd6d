//! UpdateDeadLetterQueueRecordsVisibility: each dead-letter record stays invisible for its new
//! timeout from now (0: visible at once).

use protocol::aws::kinesis::{QueueBatchOutput, UpdateDeadLetterQueueRecordsVisibilityInput};

use super::error::ApiError;
use super::queues::{batch_output, check_batch, check_visibilities};
use crate::views::stream_queues::{Path, StreamQueues};

/// Runs the operation.
pub async fn apply(
    queues: &StreamQueues,
    input: UpdateDeadLetterQueueRecordsVisibilityInput,
) -> Result<QueueBatchOutput, ApiError> {
    check_batch(
        &input.queue_arn,
        input.entries.iter().map(|e| e.receipt_handle.as_str()),
    )?;
    let seconds: Vec<i64> = input
        .entries
        .iter()
        .map(|e| e.visibility_timeout_seconds)
        .collect();
    let seconds = check_visibilities(&seconds)?;
    let handles: Vec<String> = input
        .entries
        .into_iter()
        .map(|e| e.receipt_handle)
        .collect();
    let entries: Vec<(String, u32)> = handles.iter().cloned().zip(seconds).collect();
    let results = queues
        .change_visibility(&input.queue_arn, Path::DeadLetter, &entries)
        .await?;
    Ok(batch_output(handles, results))
}
