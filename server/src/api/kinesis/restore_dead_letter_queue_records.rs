//! RestoreDeadLetterQueueRecords: dead-letter records return to the normal receive path with
//! their receive count reset.

use protocol::aws::kinesis::{QueueBatchOutput, RestoreDeadLetterQueueRecordsInput};

use super::error::ApiError;
use super::queues::{batch_output, check_batch};
use crate::views::stream_queues::StreamQueues;

/// Runs the operation.
pub async fn apply(
    queues: &StreamQueues,
    input: RestoreDeadLetterQueueRecordsInput,
) -> Result<QueueBatchOutput, ApiError> {
    let handles: Vec<String> = input
        .entries
        .into_iter()
        .map(|e| e.receipt_handle)
        .collect();
    check_batch(&input.queue_arn, handles.iter().map(String::as_str))?;
    let results = queues.restore(&input.queue_arn, &handles).await?;
    Ok(batch_output(handles, results))
}
