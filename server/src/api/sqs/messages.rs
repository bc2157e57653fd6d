//! Messages: SendMessage, SendMessageBatch, ReceiveMessage, DeleteMessage,
//! DeleteMessageBatch, ChangeMessageVisibility, ChangeMessageVisibilityBatch.

use std::collections::BTreeMap;

use protocol::aws::body::Blob;
use protocol::aws::sqs::attributes::{
    AWS_TRACE_HEADER, MessageSystemAttributeName, parse_system_attribute_names,
};
use protocol::aws::sqs::errors::Error;
use protocol::aws::sqs::md5::{digest_hex, md5_of_attributes, md5_of_body};
use protocol::aws::sqs::message::{
    attribute_selected, message_size, validate_attributes, validate_batch_ids, validate_batch_size,
    validate_body, validate_message_id, validate_range, validate_system_attributes,
};
use protocol::aws::sqs::{
    BatchResultEntry, ChangeMessageVisibilityBatchRequest, ChangeMessageVisibilityBatchResult,
    ChangeMessageVisibilityRequest, DeleteMessageBatchRequest, DeleteMessageBatchResult,
    DeleteMessageRequest, Message, MessageAttributeMap, MessageAttributeValue,
    ReceiveMessageRequest, ReceiveMessageResult, SendMessageBatchRequest, SendMessageBatchResult,
    SendMessageBatchResultEntry, SendMessageRequest, SendMessageResult, limits,
};

use super::Context;
use super::error::from_view;
use crate::views::queues::{
    AttributeValue, MessageAttribute, NewMessage, Queues, ReceiveOptions, Received, Sent,
};

/// One message to send, as both SendMessage and a SendMessageBatch entry give it.
struct Outgoing {
    body: String,
    delay_seconds: Option<i32>,
    attributes: MessageAttributeMap,
    system_attributes: MessageAttributeMap,
    dedup_id: Option<String>,
    group_id: Option<String>,
}

impl Outgoing {
    /// Checks it as AWS does before it reaches the queue (the queue checks its size and its
    /// FIFO rules), and makes the view's message, with the digests a send answers with. The
    /// body moves into the message.
    fn into_message(self) -> Result<(NewMessage, Digests), Error> {
        validate_body(&self.body)?;
        validate_attributes(&self.attributes)?;
        validate_system_attributes(&self.system_attributes)?;
        let delay_s = match self.delay_seconds {
            Some(delay) => {
                validate_range(
                    "DelaySeconds",
                    delay,
                    0,
                    i32::try_from(limits::DELAY_SECONDS_MAX).unwrap_or(i32::MAX),
                )?;
                u32::try_from(delay).ok()
            }
            None => None,
        };
        if let Some(id) = &self.dedup_id {
            validate_message_id("MessageDeduplicationId", id)?;
        }
        if let Some(id) = &self.group_id {
            validate_message_id("MessageGroupId", id)?;
        }
        let attributes = self
            .attributes
            .iter()
            .map(|(name, value)| MessageAttribute {
                name: name.clone(),
                data_type: value.data_type.clone(),
                value: match &value.binary_value {
                    Some(Blob(bytes)) => AttributeValue::Binary(bytes.clone()),
                    None => AttributeValue::Text(value.string_value.clone().unwrap_or_default()),
                },
            })
            .collect();
        let digests = Digests {
            attributes: md5_of_attributes(&self.attributes),
            system: md5_of_attributes(&self.system_attributes),
        };
        let trace_header = self
            .system_attributes
            .get(AWS_TRACE_HEADER)
            .and_then(|value| value.string_value.clone());
        let message = NewMessage {
            id: None,
            body: self.body.into_bytes().into(),
            attributes,
            trace_header,
            delay_s,
            group_id: self.group_id,
            dedup_id: self.dedup_id,
            body_md5: None,
            shared_body: None,
        };
        Ok((message, digests))
    }

    fn size(&self) -> usize {
        message_size(&self.body, &self.attributes)
    }
}

/// The digests a send answers with besides the body's (the view computes that one, for the
/// record too): of the message attributes and of the system attributes.
struct Digests {
    attributes: Option<String>,
    system: Option<String>,
}

pub async fn send_message(
    queues: &Queues,
    context: &Context,
    input: SendMessageRequest,
) -> Result<SendMessageResult, Error> {
    let name = context.queue_name(&input.queue_url)?;
    let outgoing = Outgoing {
        body: input.message_body,
        delay_seconds: input.delay_seconds,
        attributes: input.message_attributes,
        system_attributes: input.message_system_attributes,
        dedup_id: input.message_deduplication_id,
        group_id: input.message_group_id,
    };
    let (message, digests) = outgoing.into_message()?;
    let sent = queues
        .send(&name, vec![message])
        .await
        .map_err(from_view)?
        .pop()
        .ok_or_else(|| super::internal("a send returned no outcome"))?
        .map_err(from_view)?;
    Ok(SendMessageResult {
        md5_of_message_body: Some(digest_hex(&sent.body_md5)),
        md5_of_message_attributes: digests.attributes,
        md5_of_message_system_attributes: digests.system,
        message_id: Some(sent.message_id.to_string()),
        sequence_number: sent.sequence_number,
    })
}

pub async fn send_message_batch(
    queues: &Queues,
    context: &Context,
    input: SendMessageBatchRequest,
) -> Result<SendMessageBatchResult, Error> {
    let name = context.queue_name(&input.queue_url)?;
    validate_batch_ids(
        "SendMessageBatchRequestEntry",
        input.entries.iter().map(|entry| entry.id.as_str()),
    )?;
    let entries: Vec<(String, Outgoing)> = input
        .entries
        .into_iter()
        .map(|entry| {
            (
                entry.id,
                Outgoing {
                    body: entry.message_body,
                    delay_seconds: entry.delay_seconds,
                    attributes: entry.message_attributes,
                    system_attributes: entry.message_system_attributes,
                    dedup_id: entry.message_deduplication_id,
                    group_id: entry.message_group_id,
                },
            )
        })
        .collect();
    validate_batch_size(entries.iter().map(|(_, entry)| entry.size()).sum())?;
    // The queue must exist before entries are judged one by one.
    queues.exists(&name).map_err(from_view)?;
    let mut result = SendMessageBatchResult::default();
    let mut valid = Vec::with_capacity(entries.len());
    let mut messages = Vec::with_capacity(entries.len());
    for (id, entry) in entries {
        match entry.into_message() {
            Ok((message, digests)) => {
                valid.push((id, digests));
                messages.push(message);
            }
            Err(error) => result.failed.push(error.batch_entry(&id)),
        }
    }
    let outcomes = if valid.is_empty() {
        Vec::new()
    } else {
        queues.send(&name, messages).await.map_err(from_view)?
    };
    for ((id, digests), outcome) in valid.into_iter().zip(outcomes) {
        match outcome {
            Ok(Sent {
                message_id,
                sequence_number,
                body_md5,
                ..
            }) => {
                result.successful.push(SendMessageBatchResultEntry {
                    id,
                    message_id: message_id.to_string(),
                    md5_of_message_body: digest_hex(&body_md5),
                    md5_of_message_attributes: digests.attributes,
                    md5_of_message_system_attributes: digests.system,
                    sequence_number,
                });
            }
            Err(error) => result.failed.push(from_view(error).batch_entry(&id)),
        }
    }
    Ok(result)
}

/// An optional integer parameter in its range, as the view's `u32`.
fn optional_range(parameter: &str, value: Option<i32>, max: u32) -> Result<Option<u32>, Error> {
    match value {
        None => Ok(None),
        Some(value) => {
            validate_range(parameter, value, 0, i32::try_from(max).unwrap_or(i32::MAX))?;
            Ok(u32::try_from(value).ok())
        }
    }
}

pub async fn receive_message(
    queues: &Queues,
    context: &Context,
    input: ReceiveMessageRequest,
) -> Result<ReceiveMessageResult, Error> {
    let name = context.queue_name(&input.queue_url)?;
    let max_messages = match input.max_number_of_messages {
        None => 1,
        Some(max) => {
            validate_range("MaxNumberOfMessages", max, 1, limits::RECEIVE_MESSAGES_MAX)?;
            u32::try_from(max).unwrap_or(1)
        }
    };
    let visibility_timeout_s = optional_range(
        "VisibilityTimeout",
        input.visibility_timeout,
        limits::VISIBILITY_SECONDS_MAX,
    )?;
    let wait_s = optional_range(
        "WaitTimeSeconds",
        input.wait_time_seconds,
        limits::WAIT_SECONDS_MAX,
    )?;
    if let Some(id) = &input.receive_request_attempt_id {
        validate_message_id("ReceiveRequestAttemptId", id)?;
    }
    // The deprecated `AttributeNames` is typed as queue attribute names: names of it that
    // are no message system attribute are ignored; `MessageSystemAttributeNames` is strict.
    let system = parse_system_attribute_names(
        input
            .attribute_names
            .iter()
            .filter(|name| MessageSystemAttributeName::from_name(name).is_some())
            .chain(&input.message_system_attribute_names),
    )?;
    let options = ReceiveOptions {
        max_messages,
        visibility_timeout_s,
        wait_s,
        attempt_id: input.receive_request_attempt_id,
    };
    let received = queues.receive(&name, &options).await.map_err(from_view)?;
    let messages = received
        .into_iter()
        .map(|received| message_of(context, &received, &system, &input.message_attribute_names))
        .collect();
    Ok(ReceiveMessageResult { messages })
}

/// The wire message of a received one, with the system attributes asked for and the message
/// attributes `filters` select (the attributes' digest is over those).
fn message_of(
    context: &Context,
    received: &Received,
    system: &std::collections::BTreeSet<MessageSystemAttributeName>,
    filters: &[String],
) -> Message {
    use MessageSystemAttributeName as S;
    let message = &received.message;
    let body = String::from_utf8_lossy(&message.body).into_owned();
    let mut attributes = BTreeMap::new();
    for name in system {
        let value = match name {
            S::All => None,
            S::SenderId => Some(context.account.clone()),
            S::SentTimestamp => Some(message.sent_ms.to_string()),
            S::ApproximateReceiveCount => Some(received.receive_count.to_string()),
            S::ApproximateFirstReceiveTimestamp => Some(received.first_receive_ms.to_string()),
            S::SequenceNumber => received.sequence_number.clone(),
            S::MessageDeduplicationId => message.dedup_id.clone(),
            S::MessageGroupId => message.group_id.clone(),
            S::AWSTraceHeader => message.trace_header.clone(),
            S::DeadLetterQueueSourceArn => message
                .moved_from
                .as_deref()
                .map(|source| context.queue_arn(source)),
        };
        if let Some(value) = value {
            attributes.insert(name.as_str().to_owned(), value);
        }
    }
    let message_attributes: MessageAttributeMap = message
        .attributes
        .iter()
        .filter(|attribute| attribute_selected(filters, &attribute.name))
        .map(|attribute| {
            let mut value = MessageAttributeValue {
                data_type: attribute.data_type.clone(),
                ..MessageAttributeValue::default()
            };
            match &attribute.value {
                AttributeValue::Text(text) => value.string_value = Some(text.clone()),
                AttributeValue::Binary(bytes) => value.binary_value = Some(Blob(bytes.clone())),
            }
            (attribute.name.clone(), value)
        })
        .collect();
    Message {
        message_id: Some(message.id.to_string()),
        receipt_handle: Some(received.receipt_handle.clone()),
        md5_of_body: Some(match &message.body_md5 {
            Some(md5) => digest_hex(md5),
            None => md5_of_body(&body),
        }),
        body: Some(body),
        attributes,
        md5_of_message_attributes: md5_of_attributes(&message_attributes),
        message_attributes,
    }
}

pub async fn delete_message(
    queues: &Queues,
    context: &Context,
    input: DeleteMessageRequest,
) -> Result<(), Error> {
    let name = context.queue_name(&input.queue_url)?;
    queues
        .delete_messages(&name, &[input.receipt_handle])
        .await
        .map_err(from_view)?
        .pop()
        .ok_or_else(|| super::internal("a delete returned no outcome"))?
        .map_err(from_view)
}

pub async fn delete_message_batch(
    queues: &Queues,
    context: &Context,
    input: DeleteMessageBatchRequest,
) -> Result<DeleteMessageBatchResult, Error> {
    let name = context.queue_name(&input.queue_url)?;
    validate_batch_ids(
        "DeleteMessageBatchRequestEntry",
        input.entries.iter().map(|entry| entry.id.as_str()),
    )?;
    let handles: Vec<String> = input
        .entries
        .iter()
        .map(|entry| entry.receipt_handle.clone())
        .collect();
    let outcomes = queues
        .delete_messages(&name, &handles)
        .await
        .map_err(from_view)?;
    let mut result = DeleteMessageBatchResult::default();
    for (entry, outcome) in input.entries.into_iter().zip(outcomes) {
        match outcome {
            Ok(()) => result.successful.push(BatchResultEntry { id: entry.id }),
            Err(error) => result.failed.push(from_view(error).batch_entry(&entry.id)),
        }
    }
    Ok(result)
}

fn visibility_timeout(value: i32) -> Result<u32, Error> {
    validate_range(
        "VisibilityTimeout",
        value,
        0,
        i32::try_from(limits::VISIBILITY_SECONDS_MAX).unwrap_or(i32::MAX),
    )?;
    u32::try_from(value).map_err(|_| super::internal("a checked timeout is negative"))
}

pub async fn change_message_visibility(
    queues: &Queues,
    context: &Context,
    input: ChangeMessageVisibilityRequest,
) -> Result<(), Error> {
    let name = context.queue_name(&input.queue_url)?;
    let timeout = visibility_timeout(input.visibility_timeout)?;
    queues
        .change_visibility(&name, &[(input.receipt_handle, timeout)])
        .await
        .map_err(from_view)?
        .pop()
        .ok_or_else(|| super::internal("a visibility change returned no outcome"))?
        .map_err(from_view)
}

pub async fn change_message_visibility_batch(
    queues: &Queues,
    context: &Context,
    input: ChangeMessageVisibilityBatchRequest,
) -> Result<ChangeMessageVisibilityBatchResult, Error> {
    let name = context.queue_name(&input.queue_url)?;
    validate_batch_ids(
        "ChangeMessageVisibilityBatchRequestEntry",
        input.entries.iter().map(|entry| entry.id.as_str()),
    )?;
    queues.info(&name).map_err(from_view)?;
    let mut result = ChangeMessageVisibilityBatchResult::default();
    let mut valid = Vec::new();
    for entry in input.entries {
        let timeout = entry
            .visibility_timeout
            .ok_or_else(|| Error::missing_parameter("VisibilityTimeout"))
            .and_then(visibility_timeout);
        match timeout {
            Ok(timeout) => valid.push((entry.id, entry.receipt_handle, timeout)),
            Err(error) => result.failed.push(error.batch_entry(&entry.id)),
        }
    }
    let changes: Vec<(String, u32)> = valid
        .iter()
        .map(|(_, handle, timeout)| (handle.clone(), *timeout))
        .collect();
    let outcomes = if changes.is_empty() {
        Vec::new()
    } else {
        queues
            .change_visibility(&name, &changes)
            .await
            .map_err(from_view)?
    };
    for ((id, _, _), outcome) in valid.into_iter().zip(outcomes) {
        match outcome {
            Ok(()) => result.successful.push(BatchResultEntry { id }),
            Err(error) => result.failed.push(from_view(error).batch_entry(&id)),
        }
    }
    Ok(result)
}
