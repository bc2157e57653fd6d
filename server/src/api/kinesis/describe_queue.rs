//! DescribeQueue: a queue's status, stream, starting position and attributes.

use protocol::aws::kinesis::{DescribeQueueInput, DescribeQueueOutput, QueueDescriptionOutput};

use super::error::ApiError;
use super::queues::{checked_arn, description};
use crate::views::stream_queues::StreamQueues;

/// Runs the operation.
pub async fn apply(
    queues: &StreamQueues,
    input: DescribeQueueInput,
) -> Result<DescribeQueueOutput, ApiError> {
    checked_arn(&input.queue_arn)?;
    let view = queues.describe(&input.queue_arn)?;
    Ok(QueueDescriptionOutput {
        queue_description: description(&view),
    })
}
