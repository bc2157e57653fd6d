//! SubscribeToShard: records of one shard pushed to a registered consumer as an event stream
//! (`application/vnd.amazon.eventstream`), over HTTP/1.1 (chunked) or HTTP/2 alike.
//!
//! Failures found before the stream starts (bad members, unknown consumer or shard, a
//! consumer that is not ACTIVE, a second subscription within five seconds) are ordinary
//! error responses. After that the body is a sequence of messages:
//!
//! 1. an `initial-response` event with an empty payload (`{}`), which botocore requires
//!    first;
//! 2. `SubscribeToShardEvent` events: the records readable at once (possibly none), then each
//!    time records are committed (woken by the engine, no polling), and an empty event after
//!    [`HEARTBEAT`] without records, each with the continuation sequence number and lag;
//! 3. the end: after five minutes, once a closed shard is read to its end (the last event
//!    carries `ChildShards` and no continuation number), when a later subscription takes
//!    over or the consumer is deregistered (an `exception` message:
//!    `ResourceInUseException`/`ResourceNotFoundException`), or on a failure (an `exception`
//!    message); a client that goes away ends it too.
//!
//! Payloads are JSON, or CBOR for a CBOR request. The body is a bounded channel of
//! [`EVENTS_BUFFERED`] encoded events, each at most about 1.4 MiB: a slow reader holds back
//! the reads, never grows the server's memory.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use protocol::aws::body::{self, Format};
use protocol::aws::eventstream::{self, Message};
use protocol::aws::kinesis::{
    EventStreamException, SubscribeToShardEvent, SubscribeToShardInput, errors as code,
};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::debug;

use super::consumers::check_arn;
use super::error::ApiError;
use super::validate::Checks;
use super::{child_shape, record_shape};
use crate::api::{Reply, ReplyBody};
use crate::views::streams::subscribe::{Batch, Revoked, SUBSCRIPTION_LIFETIME, Subscription};
use crate::views::streams::{Start, Streams};

/// Encoded events queued for the client before reading pauses.
pub const EVENTS_BUFFERED: usize = 4;

/// The longest a subscription stays silent: without new records, an empty event goes out
/// this often, carrying the current lag.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// The `:event-type` of a batch of records.
const EVENT_TYPE: &str = "SubscribeToShardEvent";

const TYPES: &[&str] = &[
    "AT_SEQUENCE_NUMBER",
    "AFTER_SEQUENCE_NUMBER",
    "TRIM_HORIZON",
    "LATEST",
    "AT_TIMESTAMP",
];

/// Decodes, checks and starts a subscription; the reply's body streams its events.
pub async fn handle(streams: &Streams, format: Format, body: &[u8]) -> Result<Reply, ApiError> {
    let input: SubscribeToShardInput = body::decode(format, body)?;
    let position = &input.starting_position;
    let mut checks = Checks::new();
    check_arn(&mut checks, "consumerARN", Some(&input.consumer_arn));
    checks.shard_id("shardId", Some(&input.shard_id));
    checks.one_of("startingPosition.type", Some(&position.kind), TYPES);
    checks.sequence_number(
        "startingPosition.sequenceNumber",
        position.sequence_number.as_deref(),
    );
    checks.finish()?;
    let start = match (
        position.kind.as_str(),
        position.sequence_number.clone(),
        position.timestamp,
    ) {
        ("AT_SEQUENCE_NUMBER", Some(sequence), _) => Start::AtSequence(sequence),
        ("AFTER_SEQUENCE_NUMBER", Some(sequence), _) => Start::AfterSequence(sequence),
        ("TRIM_HORIZON", None, _) => Start::TrimHorizon,
        ("LATEST", None, _) => Start::Latest,
        // A time in the future reads like LATEST, as for GetShardIterator.
        ("AT_TIMESTAMP", None, Some(at)) if at.0 > streams.log().now_ms() => Start::Latest,
        ("AT_TIMESTAMP", None, Some(at)) => Start::AtTimestamp(at.0),
        ("AT_TIMESTAMP", _, None) => {
            return Err(ApiError::invalid(
                "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.",
            ));
        }
        (kind, _, _) => {
            return Err(ApiError::invalid(format!(
                "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and SequenceNumber or (2) TRIM_HORIZON or LATEST and no SequenceNumber. Request specified {kind} and {} SequenceNumber.",
                if position.sequence_number.is_some() {
                    "also a"
                } else {
                    "no"
                }
            )));
        }
    };
    let consumer = streams.find_consumer(Some(&input.consumer_arn), None, None)?;
    let subscription = streams.subscribe(&consumer, &input.shard_id, &start)?;
    let initial = encode(&Message::initial_response(
        payload_type(format),
        body::encode(format, &protocol::aws::kinesis::Empty {}),
    ))
    .ok_or_else(|| {
        ApiError::from(crate::views::streams::Error::Internal(
            "the initial response could not be encoded".into(),
        ))
    })?;
    let (sender, receiver) = mpsc::channel(EVENTS_BUFFERED);
    // The channel is new and empty, so the initial response is queued first.
    if sender.try_send(initial).is_err() {
        return Err(ApiError::from(crate::views::streams::Error::Internal(
            "the event channel refused the initial response".into(),
        )));
    }
    debug!(consumer = %consumer.arn, shard = subscription.shard(), offset = subscription.offset(), "Subscription started");
    tokio::spawn(pump(subscription, sender, format, SUBSCRIPTION_LIFETIME));
    Ok(Reply::new(
        200,
        eventstream::CONTENT_TYPE,
        ReplyBody::Stream(receiver),
    ))
}

/// Reads the subscription into the channel until it ends, at the latest after `lifetime`.
async fn pump(
    mut subscription: Subscription,
    sender: mpsc::Sender<Bytes>,
    format: Format,
    lifetime: Duration,
) {
    let deadline = Instant::now() + lifetime;
    let revocation = subscription.revocation();
    tokio::pin!(revocation);
    let mut wait = Duration::ZERO;
    let end = loop {
        let outcome = tokio::select! {
            () = sender.closed() => break "client gone",
            () = tokio::time::sleep_until(deadline) => break "lifetime over",
            reason = &mut revocation => {
                // Best effort: a client too slow to take it is ended all the same.
                let _ = sender.try_send(revoked(format, reason));
                break "revoked";
            }
            outcome = subscription.next(wait) => outcome,
        };
        wait = HEARTBEAT;
        let (chunk, last) = match outcome {
            Ok(batch) => match encode(&event(format, &batch)) {
                Some(chunk) => (chunk, batch.children.is_some()),
                None => (
                    failure(
                        format,
                        code::INTERNAL_FAILURE,
                        "An event could not be encoded.",
                    ),
                    true,
                ),
            },
            Err(error) => {
                let error = ApiError::from(error);
                (failure(format, error.code, &error.message), true)
            }
        };
        tokio::select! {
            sent = sender.send(chunk) => if sent.is_err() { break "client gone" },
            () = tokio::time::sleep_until(deadline) => break "lifetime over",
            reason = &mut revocation => {
                let _ = sender.try_send(revoked(format, reason));
                break "revoked";
            }
        }
        if last {
            break "shard ended or failed";
        }
    };
    debug!(
        shard = subscription.shard(),
        offset = subscription.offset(),
        end,
        "Subscription ended"
    );
}

/// The `:content-type` of event payloads.
fn payload_type(format: Format) -> &'static str {
    match format {
        Format::Json | Format::Json10 => "application/json",
        Format::Cbor => "application/cbor",
    }
}

fn encode(message: &Message) -> Option<Bytes> {
    let mut out = BytesMut::with_capacity(message.encoded_size());
    message.encode(&mut out).ok()?;
    Some(out.freeze())
}

/// The `SubscribeToShardEvent` of a batch.
fn event(format: Format, batch: &Batch) -> Message {
    let shard = batch.shard;
    let records = batch
        .records
        .iter()
        .map(|record| record_shape(shard, record))
        .collect();
    let child_shards = batch
        .children
        .as_ref()
        .map(|children| children.iter().map(child_shape).collect());
    let payload = SubscribeToShardEvent {
        records,
        continuation_sequence_number: batch.children.is_none().then(|| batch.continuation()),
        millis_behind_latest: batch.millis_behind,
        child_shards,
    };
    Message::event(
        EVENT_TYPE,
        payload_type(format),
        body::encode(format, &payload),
    )
}

/// An `exception` message. The event stream models ResourceNotFoundException,
/// ResourceInUseException and InternalFailureException (and KMS failures); any other code is
/// sent as InternalFailureException.
fn failure(format: Format, kind: &'static str, message: &str) -> Bytes {
    let kind = match kind {
        code::RESOURCE_NOT_FOUND | code::RESOURCE_IN_USE => kind,
        _ => code::INTERNAL_FAILURE,
    };
    let payload = body::encode(
        format,
        &EventStreamException {
            message: message.to_owned(),
        },
    );
    encode(&Message::exception(kind, payload_type(format), payload)).unwrap_or_default()
}

fn revoked(format: Format, reason: Revoked) -> Bytes {
    match reason {
        Revoked::TakenOver => failure(
            format,
            code::RESOURCE_IN_USE,
            "Another subscription to this shard by this consumer has taken over.",
        ),
        Revoked::ConsumerGone => failure(
            format,
            code::RESOURCE_NOT_FOUND,
            "The consumer was deregistered.",
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::collections::BTreeMap;

    use protocol::aws::eventstream::decode;
    use storage::{Log, LogConfig};

    use super::*;
    use crate::views::streams::{PutEntry, Settings, StreamMeta};

    fn open(dir: &std::path::Path) -> Streams {
        let log = Log::open(LogConfig::new(dir)).unwrap();
        Streams::open(log, Settings::default()).unwrap()
    }

    async fn put(streams: &Streams, data: &'static [u8]) {
        let entry = PutEntry {
            partition_key: "k".into(),
            explicit_hash_key: None,
            data: Bytes::from_static(data),
        };
        streams.put("s", vec![entry]).await.unwrap();
    }

    /// The next message of the body, within five seconds.
    async fn message(receiver: &mut mpsc::Receiver<Bytes>) -> Option<Message> {
        let chunk = tokio::time::timeout(Duration::from_secs(5), receiver.recv())
            .await
            .unwrap()?;
        let (message, used) = decode(&chunk).unwrap().unwrap();
        assert_eq!(used, chunk.len(), "one message per chunk");
        Some(message)
    }

    fn json(message: &Message) -> serde_json::Value {
        serde_json::from_slice(&message.payload).unwrap()
    }

    #[tokio::test]
    async fn the_body_is_an_initial_response_then_records_as_they_come() {
        let dir = tempfile::tempdir().unwrap();
        let streams = open(dir.path());
        streams.create("s", 1, &StreamMeta::default()).unwrap();
        let consumer = streams
            .register_consumer("s", "c", &BTreeMap::new())
            .unwrap();
        put(&streams, b"one").await;
        let request = serde_json::json!({
            "ConsumerARN": consumer.arn,
            "ShardId": "shardId-000000000000",
            "StartingPosition": {"Type": "TRIM_HORIZON"},
        });
        let body = serde_json::to_vec(&request).unwrap();
        let reply = handle(&streams, Format::Json, &body).await.unwrap();
        assert_eq!(
            (reply.status, reply.content_type),
            (200, eventstream::CONTENT_TYPE)
        );
        let ReplyBody::Stream(mut receiver) = reply.body else {
            panic!("not a stream");
        };
        let initial = message(&mut receiver).await.unwrap();
        assert_eq!(initial.header_str(":event-type"), Some("initial-response"));
        assert_eq!(json(&initial), serde_json::json!({}));
        let first = message(&mut receiver).await.unwrap();
        assert_eq!(first.header_str(":event-type"), Some(EVENT_TYPE));
        let event = json(&first);
        assert_eq!(event["Records"][0]["Data"], "b25l");
        assert_eq!(
            event["ContinuationSequenceNumber"],
            crate::views::streams::sequence::encode(0, 0)
        );
        put(&streams, b"two").await;
        let second = json(&message(&mut receiver).await.unwrap());
        assert_eq!(second["Records"][0]["Data"], "dHdv");

        // Errors before the stream starts are plain errors.
        let again = handle(&streams, Format::Json, &body).await;
        assert_eq!(again.err().map(|e| e.code), Some(code::RESOURCE_IN_USE));
        let ghost = serde_json::to_vec(&serde_json::json!({
            "ConsumerARN": format!("{}/consumer/ghost:1", streams.arn("s")),
            "ShardId": "shardId-000000000000",
            "StartingPosition": {"Type": "LATEST"},
        }))
        .unwrap();
        let missing = handle(&streams, Format::Json, &ghost).await;
        assert_eq!(
            missing.err().map(|e| e.code),
            Some(code::RESOURCE_NOT_FOUND)
        );

        // Deregistering ends the stream with an exception message.
        streams.deregister_consumer(&consumer).unwrap();
        let last = message(&mut receiver).await.unwrap();
        assert_eq!(last.header_str(":message-type"), Some("exception"));
        assert_eq!(
            last.header_str(":exception-type"),
            Some(code::RESOURCE_NOT_FOUND)
        );
        assert!(json(&last)["message"].is_string());
        assert!(message(&mut receiver).await.is_none());
    }

    #[tokio::test]
    async fn a_subscription_ends_after_its_lifetime_or_when_the_client_leaves() {
        let dir = tempfile::tempdir().unwrap();
        let streams = open(dir.path());
        streams.create("s", 1, &StreamMeta::default()).unwrap();
        let consumer = streams
            .register_consumer("s", "c", &BTreeMap::new())
            .unwrap();
        let shard = "shardId-000000000000";
        let subscription = streams.subscribe(&consumer, shard, &Start::Latest).unwrap();
        let (sender, mut receiver) = mpsc::channel(EVENTS_BUFFERED);
        let started = std::time::Instant::now();
        let task = tokio::spawn(pump(
            subscription,
            sender,
            Format::Cbor,
            Duration::from_millis(300),
        ));
        let first = message(&mut receiver).await.unwrap();
        assert_eq!(first.header_str(":content-type"), Some("application/cbor"));
        assert!(message(&mut receiver).await.is_none());
        task.await.unwrap();
        assert!(started.elapsed() < HEARTBEAT);

        // A client that goes away ends the pump without waiting for a heartbeat.
        let other = streams
            .register_consumer("s", "d", &BTreeMap::new())
            .unwrap();
        let subscription = streams.subscribe(&other, shard, &Start::Latest).unwrap();
        let (sender, receiver) = mpsc::channel(EVENTS_BUFFERED);
        let task = tokio::spawn(pump(
            subscription,
            sender,
            Format::Json,
            SUBSCRIPTION_LIFETIME,
        ));
        drop(receiver);
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .unwrap()
            .unwrap();
    }
}
