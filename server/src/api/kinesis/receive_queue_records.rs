//! ReceiveQueueRecords: up to 10 records (default 10), waiting up to 20 s (default 9) for one
//! to become visible; each delivery gets a new receipt handle.

use protocol::aws::kinesis::{ReceiveQueueRecordsInput, ReceiveQueueRecordsOutput};

use super::error::ApiError;
use super::queues::receive;
use crate::views::stream_queues::{Path, StreamQueues};

/// Runs the operation.
pub async fn apply(
    queues: &StreamQueues,
    input: ReceiveQueueRecordsInput,
) -> Result<ReceiveQueueRecordsOutput, ApiError> {
    receive(queues, Path::Normal, input).await
}
