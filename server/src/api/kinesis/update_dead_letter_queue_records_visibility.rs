//! UpdateDeadLetterQueueRecordsVisibility: each dead-letter record stays invisible for its new
//! timeout from now (0: visible at once).

use protocol::aws::kinesis::{QueueBatchOutput, UpdateDeadLetterQueueRecordsVisibilityInput};

use super::error::ApiError;
use super::queues::update_visibility;
use crate::views::stream_queues::{Path, StreamQueues};

/// Runs the operation.
pub async fn apply(
    queues: &StreamQueues,
    input: UpdateDeadLetterQueueRecordsVisibilityInput,
) -> Result<QueueBatchOutput, ApiError> {
    let entries = input
        .entries
        .into_iter()
        .map(|e| (e.receipt_handle, e.visibility_timeout_seconds))
        .collect();
    update_visibility(queues, &input.queue_arn, entries, Path::DeadLetter).await
}
