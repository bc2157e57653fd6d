//! DeleteQueue: the queue's deliveries end, its receipt handles stop working and its state
//! is removed; the stream and its records are untouched.

use protocol::aws::kinesis::{DeleteQueueInput, Empty};

use super::error::ApiError;
use super::queues::checked_arn;
use crate::views::stream_queues::StreamQueues;

/// Runs the operation.
pub async fn apply(queues: &StreamQueues, input: DeleteQueueInput) -> Result<Empty, ApiError> {
    checked_arn(&input.queue_arn)?;
    queues.delete(&input.queue_arn).await?;
    Ok(Empty {})
}
