//! AcknowledgeDeadLetterQueueRecords: discards dead-letter records from the queue (the
//! stream keeps them); each entry succeeds or fails on its own.

use protocol::aws::kinesis::{AcknowledgeDeadLetterQueueRecordsInput, QueueBatchOutput};

use super::error::ApiError;
use super::queues::{batch_output, check_batch};
use crate::views::stream_queues::{Path, StreamQueues};

/// Runs the operation.
pub async fn apply(
    queues: &StreamQueues,
    input: AcknowledgeDeadLetterQueueRecordsInput,
) -> Result<QueueBatchOutput, ApiError> {
    let handles: Vec<String> = input
        .entries
        .into_iter()
        .map(|e| e.receipt_handle)
        .collect();
    check_batch(&input.queue_arn, handles.iter().map(String::as_str))?;
    let results = queues
        .acknowledge(&input.queue_arn, Path::DeadLetter, &handles)
        .await?;
    Ok(batch_output(handles, results))
}
