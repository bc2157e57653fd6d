//! Queue lifecycle and tags: CreateQueue, GetQueueUrl, ListQueues, DeleteQueue, PurgeQueue,
//! TagQueue, UntagQueue, ListQueueTags.

use std::collections::BTreeMap;

use protocol::aws::sqs::attributes::{self, Context as AttributeContext};
use protocol::aws::sqs::errors::{Error, ErrorCode};
use protocol::aws::sqs::{
    CreateQueueRequest, CreateQueueResult, DeleteQueueRequest, GetQueueUrlRequest,
    GetQueueUrlResult, ListQueueTagsRequest, ListQueueTagsResult, ListQueuesRequest,
    ListQueuesResult, PurgeQueueRequest, TagQueueRequest, UntagQueueRequest, limits,
};

use super::Context;
use super::attributes::changes_of;
use super::error::from_view;
use crate::views::queues::Queues;

pub async fn create_queue(
    queues: &Queues,
    context: &Context,
    input: CreateQueueRequest,
) -> Result<CreateQueueResult, Error> {
    let parsed = attributes::parse_queue_attributes(&input.attributes, AttributeContext::Create)?;
    let fifo = parsed.fifo_queue.unwrap_or(false);
    attributes::validate_queue_name(&input.queue_name, fifo)?;
    check_tags(&input.tags)?;
    let changes = changes_of(context, &parsed)?;
    queues
        .create(&input.queue_name, &changes, input.tags)
        .await
        .map_err(from_view)?;
    Ok(CreateQueueResult {
        queue_url: Some(context.queue_url(&input.queue_name)),
    })
}

pub async fn get_queue_url(
    queues: &Queues,
    context: &Context,
    input: GetQueueUrlRequest,
) -> Result<GetQueueUrlResult, Error> {
    if input
        .queue_owner_aws_account_id
        .as_deref()
        .is_some_and(|account| account != context.account)
    {
        return Err(Error::queue_does_not_exist());
    }
    queues.info(&input.queue_name).map_err(from_view)?;
    Ok(GetQueueUrlResult {
        queue_url: Some(context.queue_url(&input.queue_name)),
    })
}

pub async fn list_queues(
    queues: &Queues,
    context: &Context,
    input: ListQueuesRequest,
) -> Result<ListQueuesResult, Error> {
    let max = match input.max_results {
        None => None,
        Some(max) if (1..=1000).contains(&max) => usize::try_from(max).ok(),
        Some(max) => {
            return Err(Error::invalid_parameter(
                "MaxResults",
                &max.to_string(),
                "MaxResults must be an integer between 1 and 1000",
            ));
        }
    };
    let prefix = input.queue_name_prefix.unwrap_or_default();
    let names = queues.list(&prefix);
    // The token is the last name of the page before: names are listed sorted.
    let after = input.next_token.filter(|token| !token.is_empty());
    let mut remaining = names
        .into_iter()
        .filter(|name| after.as_ref().is_none_or(|after| name > after));
    let page: Vec<String> = match max {
        Some(max) => remaining.by_ref().take(max).collect(),
        None => remaining.by_ref().take(1000).collect(),
    };
    // AWS gives a NextToken only when MaxResults was set and more remain.
    let next_token = match (max, remaining.next(), page.last()) {
        (Some(_), Some(_), Some(last)) => Some(last.clone()),
        _ => None,
    };
    Ok(ListQueuesResult {
        queue_urls: page.iter().map(|name| context.queue_url(name)).collect(),
        next_token,
    })
}

pub async fn delete_queue(
    queues: &Queues,
    context: &Context,
    input: DeleteQueueRequest,
) -> Result<(), Error> {
    let name = context.queue_name(&input.queue_url)?;
    queues.delete_queue(&name).await.map_err(from_view)
}

pub async fn purge_queue(
    queues: &Queues,
    context: &Context,
    input: PurgeQueueRequest,
) -> Result<(), Error> {
    let name = context.queue_name(&input.queue_url)?;
    queues.purge(&name).await.map_err(from_view)
}

/// Tag keys and values as AWS bounds them (the count is the view's).
fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), Error> {
    if tags.len() > limits::TAGS_MAX {
        return Err(Error::new(
            ErrorCode::InvalidParameterValue,
            format!(
                "Too many tags added for queue. The maximum is {}.",
                limits::TAGS_MAX
            ),
        ));
    }
    for (key, value) in tags {
        if key.is_empty() || key.chars().count() > limits::TAG_KEY_LENGTH_MAX {
            return Err(Error::invalid_parameter(
                "Tag.Key",
                key,
                "Tag keys must be between 1 and 128 characters",
            ));
        }
        if value.chars().count() > limits::TAG_VALUE_LENGTH_MAX {
            return Err(Error::invalid_parameter(
                "Tag.Value",
                value,
                "Tag values must be at most 256 characters",
            ));
        }
    }
    Ok(())
}

pub async fn tag_queue(
    queues: &Queues,
    context: &Context,
    input: TagQueueRequest,
) -> Result<(), Error> {
    let name = context.queue_name(&input.queue_url)?;
    check_tags(&input.tags)?;
    queues.tag(&name, input.tags).await.map_err(from_view)
}

pub async fn untag_queue(
    queues: &Queues,
    context: &Context,
    input: UntagQueueRequest,
) -> Result<(), Error> {
    let name = context.queue_name(&input.queue_url)?;
    queues
        .untag(&name, &input.tag_keys)
        .await
        .map_err(from_view)
}

pub async fn list_queue_tags(
    queues: &Queues,
    context: &Context,
    input: ListQueueTagsRequest,
) -> Result<ListQueueTagsResult, Error> {
    let name = context.queue_name(&input.queue_url)?;
    Ok(ListQueueTagsResult {
        tags: queues.tags(&name).map_err(from_view)?,
    })
}
