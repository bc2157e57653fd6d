//! ReceiveDeadLetterQueueRecords: up to 10 dead-letter records, waiting up to 20 s (default 9)
//! for one to become visible.

use protocol::aws::kinesis::{
    ReceiveDeadLetterQueueRecordsInput, ReceiveDeadLetterQueueRecordsOutput,
};

use super::error::ApiError;
use super::queues::receive;
use crate::views::stream_queues::{Path, StreamQueues};

/// Runs the operation.
pub async fn apply(
    queues: &StreamQueues,
    input: ReceiveDeadLetterQueueRecordsInput,
) -> Result<ReceiveDeadLetterQueueRecordsOutput, ApiError> {
    receive(queues, Path::DeadLetter, input).await
}
