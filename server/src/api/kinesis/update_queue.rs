//! UpdateQueue: changes the visibility timeout and/or dead-letter handling; deliveries in
//! flight keep the timeout they were received with.

use protocol::aws::kinesis::{QueueDescriptionOutput, UpdateQueueInput, UpdateQueueOutput};

use super::error::ApiError;
use super::queues::{attribute_changes, description, queue_arn};
use super::validate::Checks;
use crate::views::stream_queues::StreamQueues;

/// Runs the operation.
pub async fn apply(
    queues: &StreamQueues,
    input: UpdateQueueInput,
) -> Result<UpdateQueueOutput, ApiError> {
    let mut checks = Checks::new();
    queue_arn(&mut checks, "queueARN", &input.queue_arn);
    let changes = attribute_changes(&mut checks, "queueAttributes", &input.queue_attributes);
    checks.finish()?;
    let view = queues.update(&input.queue_arn, changes).await?;
    Ok(QueueDescriptionOutput {
        queue_description: description(&view),
    })
}
