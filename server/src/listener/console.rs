//! The web console at `/console`: a read-only view of streams, delivery streams, queues and
//! topics, served from assets embedded in the binary (no build step, nothing fetched at run
//! time).
//!
//! - `GET /console` is the page; `/console/app.js` and `/console/app.css` its script and
//!   style. The script polls `/console/api/overview` every two seconds and plots each
//!   stream's records per second and each consumer's lag from successive answers.
//! - `GET /console/api/overview`: every stream (status, retention, shards with hash ranges
//!   and lineage, consumers with their last MillisBehindLatest, records so far), delivery
//!   stream (source, bucket, last error, freshness, counters), queue (depths, dead-letter
//!   queue, oldest message's age) and topic (subscriptions with deliveries and failures).
//! - `GET /console/api/queue?name=Q`: a peek at the queue's first messages (nothing is
//!   received: no visibility or receive count changes).
//! - `GET /console/api/tail?stream=S`: server-sent events, one per record put to the stream
//!   from the moment of the request, until the client goes away or [`TAIL_MAX`] passes;
//!   between records it waits on the shards' commits (`Log::wait_for`), not on a timer.
//!
//! Nothing here changes state. With `[auth.access_keys]` configured the console asks for
//! HTTP Basic credentials (an access key id and its secret): a browser cannot sign requests,
//! and the console shows record and message bodies. `server.console = false` turns it off
//! (404).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{StatusCode, header};
use hyper::Response;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::http::{HttpState, ResponseBody};

/// Where the console is served.
pub const PATH: &str = "/console";

/// How long one tail streams at most (the page reconnects).
const TAIL_MAX: Duration = Duration::from_secs(600);
/// How long a tail waits for a commit before it looks again (for a client gone, a new shard).
const TAIL_WAIT: Duration = Duration::from_secs(1);
/// Records a tail reads from a shard at a time.
const TAIL_BATCH: usize = 100;
/// Bytes of a record or message body shown.
const BODY_PREVIEW_BYTES: usize = 512;
/// Messages a queue peek shows.
const PEEK_MESSAGES: usize = 20;

const INDEX_HTML: &str = include_str!("console/index.html");
const APP_JS: &str = include_str!("console/app.js");
const APP_CSS: &str = include_str!("console/app.css");

/// Answers a request under [`PATH`].
pub async fn handle(state: &HttpState, parts: &http::request::Parts) -> Response<ResponseBody> {
    if !state.console {
        return text(
            StatusCode::NOT_FOUND,
            "text/plain",
            "the console is off (server.console)\n",
        );
    }
    if parts.method != http::Method::GET {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "the console is read-only\n",
        );
    }
    if !authorized(state, parts) {
        let mut response = text(
            StatusCode::UNAUTHORIZED,
            "text/plain",
            "credentials required\n",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"Strata console\""),
        );
        return response;
    }
    let query = parts.uri.query().unwrap_or_default();
    match parts.uri.path().strip_prefix(PATH).unwrap_or_default() {
        "" | "/" => text(StatusCode::OK, "text/html; charset=utf-8", INDEX_HTML),
        "/app.js" => text(StatusCode::OK, "text/javascript; charset=utf-8", APP_JS),
        "/app.css" => text(StatusCode::OK, "text/css; charset=utf-8", APP_CSS),
        "/api/overview" => json_response(&overview(state)),
        "/api/queue" => match param(query, "name") {
            Some(name) => queue_peek(state, &name),
            None => text(StatusCode::BAD_REQUEST, "text/plain", "name= is required\n"),
        },
        "/api/tail" => match param(query, "stream") {
            Some(stream) => tail(state, stream),
            None => text(
                StatusCode::BAD_REQUEST,
                "text/plain",
                "stream= is required\n",
            ),
        },
        _ => text(
            StatusCode::NOT_FOUND,
            "text/plain",
            "no such console page\n",
        ),
    }
}

/// Whether the request may see the console: always without access keys, else with HTTP
/// Basic credentials naming one of them.
fn authorized(state: &HttpState, parts: &http::request::Parts) -> bool {
    if state.access_keys.is_empty() {
        return true;
    }
    let Some(encoded) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let Ok(decoded) = String::from_utf8(decoded) else {
        return false;
    };
    let Some((id, secret)) = decoded.split_once(':') else {
        return false;
    };
    state
        .access_keys
        .get(id)
        .is_some_and(|expected| constant_time_eq(expected.as_bytes(), secret.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A query parameter, percent-decoded (`None` if absent or malformed).
fn param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name)
            .then(|| protocol::aws::query::percent_decode(value.as_bytes()).ok())
            .flatten()
    })
}

fn text(status: StatusCode, content_type: &'static str, body: &str) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::Full(Some(Bytes::copy_from_slice(
        body.as_bytes(),
    ))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
        ),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

fn json_response(value: &Value) -> Response<ResponseBody> {
    text(StatusCode::OK, "application/json", &value.to_string())
}

/// A body as text for display: UTF-8 (lossy) up to [`BODY_PREVIEW_BYTES`].
fn preview(body: &[u8]) -> String {
    let shown = body.get(..BODY_PREVIEW_BYTES).unwrap_or(body);
    let mut text = String::from_utf8_lossy(shown).into_owned();
    if shown.len() < body.len() {
        text.push('…');
    }
    text
}

/// Everything the console's main page shows.
fn overview(state: &HttpState) -> Value {
    let log = state.streams.log();
    let lags = crate::metrics::consumer_lags();
    let streams: Vec<Value> = state
        .streams
        .list()
        .into_iter()
        .map(|view| {
            let name = view.info.name.clone();
            let shards: Vec<Value> = view
                .info
                .shards
                .iter()
                .map(|shard| {
                    let bounds = log.shard_bounds(&name, shard.id).ok();
                    json!({
                        "id": crate::views::streams::sequence::shard_name(shard.id),
                        "open": shard.is_open(),
                        "hash_start": shard.hash_start.to_string(),
                        "hash_end": shard.hash_end.to_string(),
                        "parent": shard.parent.map(crate::views::streams::sequence::shard_name),
                        "adjacent_parent": shard
                            .adjacent_parent
                            .map(crate::views::streams::sequence::shard_name),
                        "records": bounds.map_or(0, |b| b.next),
                    })
                })
                .collect();
            let records: u64 = shards
                .iter()
                .filter_map(|shard| shard.get("records").and_then(Value::as_u64))
                .sum();
            let mut consumers: Vec<Value> = state
                .streams
                .consumers(&name)
                .into_iter()
                .map(|consumer| {
                    json!({
                        "name": consumer.name,
                        "status": consumer.status.as_str(),
                        "millis_behind": lags.get(&(name.clone(), consumer.name.clone())),
                    })
                })
                .collect();
            if let Some(lag) = lags.get(&(name.clone(), "GetRecords".to_owned())) {
                consumers.push(json!({
                    "name": "GetRecords (shared throughput)",
                    "status": "ACTIVE",
                    "millis_behind": lag,
                }));
            }
            json!({
                "name": name,
                "status": view.status.as_str(),
                "retention_hours": view.info.retention.as_secs() / 3600,
                "created_ms": view.info.created_ms,
                "records": records,
                "shards": shards,
                "consumers": consumers,
            })
        })
        .collect();

    let counters: BTreeMap<String, crate::views::delivery::MetricsSnapshot> =
        state.delivery.metrics().into_iter().collect();
    let delivery_streams: Vec<Value> = state
        .delivery
        .list()
        .into_iter()
        .map(|definition| {
            let described = state.delivery.describe(&definition.name).ok();
            let failure = described
                .and_then(|d| d.failure)
                .map(|failure| json!({"details": failure.details, "since_ms": failure.since_ms}));
            let source = match &definition.source {
                crate::views::delivery::definition::Source::DirectPut => "DirectPut".to_owned(),
                crate::views::delivery::definition::Source::KinesisStream { stream, .. } => {
                    format!("Kinesis stream {stream}")
                }
            };
            let m = counters.get(&definition.name).copied().unwrap_or_default();
            json!({
                "name": definition.name,
                "source": source,
                "bucket": definition.destination.bucket(),
                "status": if failure.is_some() { "FAILING" } else { "ACTIVE" },
                "failure": failure,
                "freshness_ms": m.freshness_ms,
                "records_in": m.records_in,
                "records_delivered": m.records_delivered,
                "objects": m.objects_delivered,
                "failures": m.failures,
            })
        })
        .collect();

    let now = log.now_ms();
    let queues: Vec<Value> = state
        .queues
        .list("")
        .into_iter()
        .filter_map(|name| {
            let info = state.queues.info(&name).ok()?;
            let oldest = state.queues.oldest_sent_ms(&name);
            Some(json!({
                "name": name,
                "fifo": name.ends_with(".fifo"),
                "visible": info.counts.visible,
                "in_flight": info.counts.in_flight,
                "delayed": info.counts.delayed,
                "dead_letter_queue": info
                    .config
                    .attributes
                    .redrive
                    .as_ref()
                    .map(|redrive| redrive.dead_letter_queue.clone()),
                "oldest_age_s": oldest.map(|sent| (now - sent).max(0) / 1000),
            }))
        })
        .collect();

    let deliveries = crate::metrics::topic_delivery_counts();
    let topics: Vec<Value> = state
        .topics
        .list()
        .into_iter()
        .map(|topic| {
            let subscriptions: Vec<Value> = state
                .topics
                .subscriptions(&topic)
                .unwrap_or_default()
                .into_iter()
                .map(|subscription| {
                    let count = |result: &'static str| {
                        deliveries
                            .get(&(topic.clone(), subscription.id.clone(), result))
                            .copied()
                            .unwrap_or(0)
                    };
                    json!({
                        "id": subscription.id,
                        "protocol": serde_json::to_value(subscription.protocol).unwrap_or(Value::Null),
                        "endpoint": subscription.endpoint,
                        "pending_confirmation": subscription.pending,
                        "delivered": count("delivered"),
                        "failed": count("failed"),
                    })
                })
                .collect();
            json!({"name": topic, "subscriptions": subscriptions})
        })
        .collect();

    json!({
        "now_ms": now,
        "streams": streams,
        "delivery_streams": delivery_streams,
        "queues": queues,
        "topics": topics,
    })
}

fn queue_peek(state: &HttpState, name: &str) -> Response<ResponseBody> {
    match state.queues.peek(name, None, PEEK_MESSAGES, false) {
        Ok(page) => {
            let messages: Vec<Value> = page
                .messages
                .into_iter()
                .map(|peeked| {
                    json!({
                        "offset": peeked.offset,
                        "state": format!("{:?}", peeked.state),
                        "receive_count": peeked.receive_count,
                        "id": peeked.message.id.to_string(),
                        "sent_ms": peeked.message.sent_ms,
                        "group": peeked.message.group_id,
                        "body": preview(&peeked.message.body),
                    })
                })
                .collect();
            json_response(&json!({"name": name, "messages": messages}))
        }
        Err(error) => text(StatusCode::NOT_FOUND, "text/plain", &format!("{error}\n")),
    }
}

/// Server-sent events of the records put to `stream` from now on.
fn tail(state: &HttpState, stream: String) -> Response<ResponseBody> {
    let log = state.streams.log().clone();
    let Ok(info) = log.stream(&stream) else {
        return text(StatusCode::NOT_FOUND, "text/plain", "no such stream\n");
    };
    if !crate::views::streams::is_kinesis(&info) {
        return text(StatusCode::NOT_FOUND, "text/plain", "no such stream\n");
    }
    let (sender, receiver) = mpsc::channel::<Bytes>(16);
    tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        // Next offset per shard; a shard first seen starts at its end (records from now on),
        // or at its start if it appeared after the tail began (a split's child).
        let mut next: BTreeMap<u32, u64> = BTreeMap::new();
        let mut first_round = true;
        if sender
            .send(Bytes::from_static(b": tail\n\n"))
            .await
            .is_err()
        {
            return;
        }
        while started.elapsed() < TAIL_MAX {
            let Ok(info) = log.stream(&stream) else {
                let _ = sender
                    .send(Bytes::from_static(
                        b"event: end\ndata: the stream is gone\n\n",
                    ))
                    .await;
                return;
            };
            let mut sent = 0;
            // Open shards, where a commit can still come: (shard, next offset).
            let mut open = Vec::new();
            for shard in &info.shards {
                let Ok(bounds) = log.shard_bounds(&stream, shard.id) else {
                    continue;
                };
                let offset = next.entry(shard.id).or_insert(if first_round {
                    bounds.next
                } else {
                    bounds.earliest
                });
                if bounds.ending.is_none() {
                    open.push((shard.id, *offset));
                }
                if *offset >= bounds.next {
                    continue;
                }
                let limits = storage::ReadLimits {
                    records_max: TAIL_BATCH,
                    bytes_max: 1 << 20,
                };
                let Ok(batch) = log.read(&stream, shard.id, *offset, limits) else {
                    continue;
                };
                *offset = batch.next_offset;
                for record in batch.records {
                    let event = json!({
                        "shard": crate::views::streams::sequence::shard_name(shard.id),
                        "offset": record.offset,
                        "timestamp_ms": record.timestamp_ms,
                        "key": String::from_utf8_lossy(&record.key),
                        "data": preview(&record.data),
                    });
                    let line = format!("data: {event}\n\n");
                    if sender.send(Bytes::from(line)).await.is_err() {
                        return;
                    }
                    sent += 1;
                }
            }
            first_round = false;
            if sent == 0 {
                if sender.is_closed() {
                    return;
                }
                // Woken by the first commit to any shard, or after TAIL_WAIT to notice a
                // client gone or a shard added.
                let waits: Vec<_> = open
                    .iter()
                    .map(|&(shard, offset)| {
                        Box::pin(log.wait_for(&stream, shard, offset, TAIL_WAIT))
                    })
                    .collect();
                if waits.is_empty() {
                    tokio::time::sleep(TAIL_WAIT).await;
                } else {
                    let _ = futures::future::select_all(waits).await;
                }
            }
        }
    });
    let mut response = Response::new(ResponseBody::Stream(receiver));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::{constant_time_eq, param, preview};

    #[test]
    fn query_parameters_are_decoded() {
        assert_eq!(
            param("a=1&name=my%20queue.fifo", "name").as_deref(),
            Some("my queue.fifo")
        );
        assert_eq!(param("stream=a+b", "stream").as_deref(), Some("a b"));
        assert_eq!(param("x=1", "name"), None);
        assert_eq!(param("name=%zz%4", "name"), None, "malformed");
    }

    #[test]
    fn bodies_are_previewed_within_a_bound() {
        assert_eq!(preview(b"hello"), "hello");
        let long = vec![b'a'; 600];
        assert_eq!(preview(&long).chars().count(), 513);
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
    }
}
