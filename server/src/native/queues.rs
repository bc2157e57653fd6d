//! The native queue operations: the queue view's create, list, delete, send, receive, delete
//! by handle (ack), purge, peek and rewind, with SQS's checks (names, attributes, bodies,
//! ids) made by the same functions the SQS API uses, so a queue behaves alike whichever way
//! it is reached.

use std::collections::BTreeMap;

use protocol::aws::sqs::attributes::{self as wire, Context as AttributeContext};
use protocol::aws::sqs::message::validate_body;
use protocol::native::queues::{
    EntryOutcome, QueueAck, QueueAckOk, QueueCreate, QueueList, QueueMessageState, QueueNames,
    QueuePeek, QueueReceive, QueueRecord, QueueRecords, QueueRewind, QueueRewindOk, QueueSend,
    QueueSendOk, QueueSent, RewindPoint,
};
use protocol::native::{ErrorCode, ErrorResponse, Response};

use crate::api::sqs::Context;
use crate::api::sqs::attributes::changes_of;
use crate::views::queues::{
    Error as ViewError, NewMessage, PeekState, Queues, ReceiveOptions, RewindTo, StoredMessage,
};

type Outcome = Result<Response, ErrorResponse>;

/// What the queue operations need beyond the view: the account and region of the ARNs a
/// redrive policy names.
pub struct QueueContext {
    /// The view.
    pub queues: Queues,
    /// The SQS context (account, region; no URLs are made here).
    pub sqs: Context,
}

fn from_view(error: &ViewError) -> ErrorResponse {
    let code = match error {
        ViewError::QueueNotFound(_) => ErrorCode::QueueNotFound,
        ViewError::QueueExists(_) | ViewError::DeletedRecently(_) => ErrorCode::QueueExists,
        ViewError::PurgeInProgress(_) | ViewError::TooManyInFlight(_) => ErrorCode::LimitExceeded,
        ViewError::MessageTooLong { .. } => ErrorCode::RecordTooLarge,
        ViewError::StorageFull => ErrorCode::Unavailable,
        ViewError::Internal(_) => ErrorCode::Internal,
        _ => ErrorCode::InvalidArgument,
    };
    ErrorResponse::new(code, error.to_string())
}

fn from_sqs(error: &protocol::aws::sqs::errors::Error) -> ErrorResponse {
    ErrorResponse::new(ErrorCode::InvalidArgument, error.message.clone())
}

fn failed(error: &ErrorResponse) -> EntryOutcome<()> {
    EntryOutcome::Failed {
        code: error.code,
        message: error.message.clone(),
    }
}

pub async fn create(context: &QueueContext, request: QueueCreate) -> Outcome {
    let map: BTreeMap<String, String> = request.attributes.into_iter().collect();
    let parsed =
        wire::parse_queue_attributes(&map, AttributeContext::Create).map_err(|e| from_sqs(&e))?;
    wire::validate_queue_name(&request.name, parsed.fifo_queue.unwrap_or(false))
        .map_err(|e| from_sqs(&e))?;
    let changes = changes_of(&context.sqs, &parsed).map_err(|e| from_sqs(&e))?;
    context
        .queues
        .create(&request.name, &changes, BTreeMap::new())
        .await
        .map_err(|e| from_view(&e))?;
    Ok(Response::QueueCreateOk)
}

pub async fn delete(context: &QueueContext, name: &str) -> Outcome {
    context
        .queues
        .delete_queue(name)
        .await
        .map_err(|e| from_view(&e))?;
    Ok(Response::QueueDeleteOk)
}

pub fn list(context: &QueueContext, request: &QueueList) -> Outcome {
    Ok(Response::QueueNames(QueueNames {
        names: context.queues.list(&request.prefix),
    }))
}

pub async fn purge(context: &QueueContext, name: &str) -> Outcome {
    context
        .queues
        .purge(name)
        .await
        .map_err(|e| from_view(&e))?;
    Ok(Response::QueuePurgeOk)
}

/// A message's body as SQS takes it: UTF-8 of the allowed characters.
fn checked(message: protocol::native::queues::QueueMessage) -> Result<NewMessage, ErrorResponse> {
    let text = std::str::from_utf8(&message.body).map_err(|_| {
        ErrorResponse::new(
            ErrorCode::InvalidArgument,
            "a message body is UTF-8 text (SQS's character set)",
        )
    })?;
    validate_body(text).map_err(|e| from_sqs(&e))?;
    for (field, id) in [
        ("MessageGroupId", &message.group_id),
        ("MessageDeduplicationId", &message.dedup_id),
    ] {
        if let Some(id) = id {
            protocol::aws::sqs::message::validate_message_id(field, id)
                .map_err(|e| from_sqs(&e))?;
        }
    }
    if message
        .delay_s
        .is_some_and(|d| d > protocol::aws::sqs::limits::DELAY_SECONDS_MAX)
    {
        return Err(ErrorResponse::new(
            ErrorCode::InvalidArgument,
            "a message's delay is 0 to 900 seconds",
        ));
    }
    Ok(NewMessage {
        body: message.body,
        delay_s: message.delay_s,
        group_id: message.group_id,
        dedup_id: message.dedup_id,
        ..NewMessage::default()
    })
}

pub async fn send(context: &QueueContext, request: QueueSend) -> Outcome {
    if request.messages.is_empty() {
        return Err(ErrorResponse::new(
            ErrorCode::InvalidArgument,
            "a send carries at least one message",
        ));
    }
    // Each message that fails its checks fails alone; the others are one append.
    let mut results: Vec<Option<EntryOutcome<QueueSent>>> = Vec::new();
    let mut messages = Vec::new();
    for message in request.messages {
        match checked(message) {
            Ok(message) => {
                messages.push(message);
                results.push(None);
            }
            Err(error) => results.push(Some(EntryOutcome::Failed {
                code: error.code,
                message: error.message,
            })),
        }
    }
    let mut sent = if messages.is_empty() {
        Vec::new()
    } else {
        context
            .queues
            .send(&request.name, messages)
            .await
            .map_err(|e| from_view(&e))?
    }
    .into_iter();
    let results = results
        .into_iter()
        .map(|result| {
            result.unwrap_or_else(|| match sent.next() {
                Some(Ok(sent)) => EntryOutcome::Ok(QueueSent {
                    message_id: sent.message_id.to_string(),
                    sequence_number: sent.sequence_number,
                }),
                Some(Err(error)) => {
                    let error = from_view(&error);
                    EntryOutcome::Failed {
                        code: error.code,
                        message: error.message,
                    }
                }
                None => EntryOutcome::Failed {
                    code: ErrorCode::Internal.as_u32(),
                    message: "the send returned no outcome".into(),
                },
            })
        })
        .collect();
    Ok(Response::QueueSendOk(QueueSendOk { results }))
}

fn record(
    offset: u64,
    message: StoredMessage,
    receipt_handle: String,
    state: QueueMessageState,
    receive_count: u32,
) -> QueueRecord {
    QueueRecord {
        offset,
        message_id: message.id.to_string(),
        receipt_handle,
        state,
        receive_count,
        sent_ms: message.sent_ms,
        group_id: message.group_id,
        body: message.body,
    }
}

pub async fn receive(context: &QueueContext, request: QueueReceive) -> Outcome {
    let options = ReceiveOptions {
        max_messages: request.max_messages,
        visibility_timeout_s: request.visibility_timeout_s,
        wait_s: Some(request.wait_s),
        attempt_id: None,
    };
    let received = context
        .queues
        .receive(&request.name, &options)
        .await
        .map_err(|e| from_view(&e))?;
    Ok(Response::QueueReceived(QueueRecords {
        messages: received
            .into_iter()
            .map(|r| {
                record(
                    r.offset,
                    r.message,
                    r.receipt_handle,
                    QueueMessageState::InFlight,
                    r.receive_count,
                )
            })
            .collect(),
        next_offset: 0,
    }))
}

pub async fn ack(context: &QueueContext, request: QueueAck) -> Outcome {
    if request.receipt_handles.is_empty() {
        return Err(ErrorResponse::new(
            ErrorCode::InvalidArgument,
            "an ack carries at least one receipt handle",
        ));
    }
    let outcomes = context
        .queues
        .delete_messages(&request.name, &request.receipt_handles)
        .await
        .map_err(|e| from_view(&e))?;
    Ok(Response::QueueAckOk(QueueAckOk {
        results: outcomes
            .into_iter()
            .map(|outcome| match outcome {
                Ok(()) => EntryOutcome::Ok(()),
                Err(error) => failed(&from_view(&error)),
            })
            .collect(),
    }))
}

pub fn peek(context: &QueueContext, request: &QueuePeek) -> Outcome {
    let page = context
        .queues
        .peek(
            &request.name,
            request.from_offset,
            usize::try_from(request.max_messages).unwrap_or(usize::MAX),
            request.include_finished,
        )
        .map_err(|e| from_view(&e))?;
    Ok(Response::QueuePeeked(QueueRecords {
        messages: page
            .messages
            .into_iter()
            .map(|peeked| {
                let state = match peeked.state {
                    PeekState::Ready => QueueMessageState::Ready,
                    PeekState::Delayed => QueueMessageState::Delayed,
                    PeekState::InFlight => QueueMessageState::InFlight,
                    PeekState::Finished => QueueMessageState::Finished,
                };
                record(
                    peeked.offset,
                    peeked.message,
                    String::new(),
                    state,
                    peeked.receive_count,
                )
            })
            .collect(),
        next_offset: page.next_offset,
    }))
}

pub async fn rewind(context: &QueueContext, request: QueueRewind) -> Outcome {
    let to = match request.to {
        RewindPoint::Offset(offset) => RewindTo::Offset(offset),
        RewindPoint::Timestamp(ms) => RewindTo::Timestamp(ms),
    };
    let rewound = context
        .queues
        .rewind(&request.name, to)
        .await
        .map_err(|e| from_view(&e))?;
    Ok(Response::QueueRewindOk(QueueRewindOk {
        offset: rewound.offset,
        unfinished: rewound.unfinished,
    }))
}
