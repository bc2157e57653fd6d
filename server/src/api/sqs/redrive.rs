//! Dead-letter queues: ListDeadLetterSourceQueues, StartMessageMoveTask,
//! ListMessageMoveTasks, CancelMessageMoveTask.

use protocol::aws::sqs::errors::{Error, ErrorCode};
use protocol::aws::sqs::message::validate_range;
use protocol::aws::sqs::{
    CancelMessageMoveTaskRequest, CancelMessageMoveTaskResult, ListDeadLetterSourceQueuesRequest,
    ListDeadLetterSourceQueuesResult, ListMessageMoveTasksRequest, ListMessageMoveTasksResult,
    ListMessageMoveTasksResultEntry, StartMessageMoveTaskRequest, StartMessageMoveTaskResult,
    limits,
};

use super::Context;
use super::error::from_view;
use crate::views::queues::{MoveTaskStatus, Queues};

pub async fn list_dead_letter_source_queues(
    queues: &Queues,
    context: &Context,
    input: ListDeadLetterSourceQueuesRequest,
) -> Result<ListDeadLetterSourceQueuesResult, Error> {
    let name = context.queue_name(&input.queue_url)?;
    let max = match input.max_results {
        None => None,
        Some(max) => {
            validate_range("MaxResults", max, 1, 1000)?;
            usize::try_from(max).ok()
        }
    };
    let sources = queues.dead_letter_sources(&name).map_err(from_view)?;
    let after = input.next_token.filter(|token| !token.is_empty());
    let mut remaining = sources
        .into_iter()
        .filter(|source| after.as_ref().is_none_or(|after| source > after));
    let page: Vec<String> = remaining.by_ref().take(max.unwrap_or(1000)).collect();
    let next_token = match (max, remaining.next(), page.last()) {
        (Some(_), Some(_), Some(last)) => Some(last.clone()),
        _ => None,
    };
    Ok(ListDeadLetterSourceQueuesResult {
        queue_urls: page
            .iter()
            .map(|source| context.queue_url(source))
            .collect(),
        next_token,
    })
}

/// The queue of a move task's ARN; one of another account or region, or malformed, is
/// `ResourceNotFoundException`, as AWS answers an ARN it does not know.
fn queue_of_arn(context: &Context, arn: &str) -> Result<String, Error> {
    context.name_of_arn(arn).ok_or_else(|| {
        Error::new(
            ErrorCode::ResourceNotFoundException,
            format!("The resource {arn} does not exist."),
        )
    })
}

pub async fn start_message_move_task(
    queues: &Queues,
    context: &Context,
    input: StartMessageMoveTaskRequest,
) -> Result<StartMessageMoveTaskResult, Error> {
    let source = queue_of_arn(context, &input.source_arn)?;
    let destination = input
        .destination_arn
        .as_deref()
        .map(|arn| queue_of_arn(context, arn))
        .transpose()?;
    let rate = match input.max_number_of_messages_per_second {
        None => None,
        Some(rate) => {
            validate_range(
                "MaxNumberOfMessagesPerSecond",
                rate,
                1,
                limits::MOVE_MESSAGES_PER_SECOND_MAX,
            )?;
            u32::try_from(rate).ok()
        }
    };
    let handle = queues
        .start_move_task(&source, destination.as_deref(), rate)
        .await
        .map_err(from_view)?;
    Ok(StartMessageMoveTaskResult {
        task_handle: Some(handle),
    })
}

pub async fn list_message_move_tasks(
    queues: &Queues,
    context: &Context,
    input: ListMessageMoveTasksRequest,
) -> Result<ListMessageMoveTasksResult, Error> {
    let source = queue_of_arn(context, &input.source_arn)?;
    let max = match input.max_results {
        None => usize::try_from(limits::LIST_MOVE_TASKS_RESULTS_DEFAULT).unwrap_or(10),
        Some(max) => {
            validate_range("MaxResults", max, 1, limits::LIST_MOVE_TASKS_RESULTS_MAX)?;
            usize::try_from(max).unwrap_or(1)
        }
    };
    let tasks = queues.list_move_tasks(&source).map_err(from_view)?;
    let results = tasks
        .into_iter()
        .take(max)
        .map(|task| ListMessageMoveTasksResultEntry {
            task_handle: (task.status == MoveTaskStatus::Running).then_some(task.handle),
            status: Some(task.status.as_str().to_owned()),
            source_arn: Some(context.queue_arn(&task.source)),
            destination_arn: task.destination.map(|name| context.queue_arn(&name)),
            max_number_of_messages_per_second: i32::try_from(task.rate_per_s).ok(),
            approximate_number_of_messages_moved: i64::try_from(task.moved).ok(),
            approximate_number_of_messages_to_move: i64::try_from(task.to_move).ok(),
            failure_reason: task.failure,
            started_timestamp: Some(task.started_ms),
        })
        .collect();
    Ok(ListMessageMoveTasksResult { results })
}

pub async fn cancel_message_move_task(
    queues: &Queues,
    _context: &Context,
    input: CancelMessageMoveTaskRequest,
) -> Result<CancelMessageMoveTaskResult, Error> {
    let moved = queues
        .cancel_move_task(&input.task_handle)
        .await
        .map_err(from_view)?;
    Ok(CancelMessageMoveTaskResult {
        approximate_number_of_messages_moved: i64::try_from(moved).ok(),
    })
}
