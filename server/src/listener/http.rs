//! The AWS HTTP listener: HTTP/1.1 and HTTP/2 (h2c, prior knowledge) on one port.
//!
//! Every request is routed by its `X-Amz-Target` header (`Kinesis_20131202.<Op>` or
//! `Firehose_20150804.<Op>`); the body is read whole, up to `body_bytes_max`, before anything
//! is decoded. `GET /health` answers 200 for readiness probes; `GET /metrics` serves the
//! delivery streams' counters in the Prometheus text format. Each connection is its own task; a slow client holds only its
//! own connection's buffers.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use protocol::aws::body::Format;
use protocol::aws::firehose::TARGET_PREFIX as FIREHOSE;
use protocol::aws::kinesis::{TARGET_PREFIX as KINESIS, errors as code};
use protocol::aws::sigv4;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::api::kinesis::error::ApiError;
use crate::api::{Reply, ReplyBody};
use crate::views::delivery::DeliveryStreams;
use crate::views::streams::Streams;

/// What the HTTP listener serves.
pub struct HttpState {
    /// The Kinesis view.
    pub streams: Streams,
    /// The Firehose view.
    pub delivery: DeliveryStreams,
    /// Largest request body accepted, in bytes.
    pub body_bytes_max: usize,
    /// Access key id → secret. Empty: any credentials (or none) are accepted.
    pub access_keys: BTreeMap<String, String>,
}

/// Binds the listener; returns it with the address actually bound (port 0 picks one).
pub async fn bind(address: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(address).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Accepts connections until the task is aborted.
pub async fn serve(listener: TcpListener, state: Arc<HttpState>) {
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                warn!(%error, "HTTP accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(route(&state, request).await) }
            });
            if let Err(error) = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(socket), service)
                .await
            {
                debug!(%peer, %error, "HTTP connection ended with an error");
            }
        });
    }
}

async fn route(state: &HttpState, request: Request<Incoming>) -> Response<ResponseBody> {
    if request.method() == http::Method::GET && request.uri().path() == "/health" {
        return plain(StatusCode::OK, "ok\n");
    }
    if request.method() == http::Method::GET && request.uri().path() == "/metrics" {
        return metrics(&state.delivery);
    }
    let header_text = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let format = Format::from_content_type(header_text("content-type").as_deref());
    let target = header_text("x-amz-target").unwrap_or_default();
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, state.body_bytes_max).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            let too_large = error
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            let error = if too_large {
                ApiError {
                    status: 413,
                    code: code::VALIDATION,
                    message: format!(
                        "Request body exceeds the limit of {} bytes.",
                        state.body_bytes_max
                    ),
                }
            } else {
                ApiError::new(
                    code::SERIALIZATION,
                    format!("Could not read the request body: {error}"),
                )
            };
            return respond(error.reply(format));
        }
    };
    if !state.access_keys.is_empty()
        && let Err(error) = authenticate(state, &parts, &body, &target)
    {
        return respond(error.reply(format));
    }
    let reply = if let Some(operation) = target.strip_prefix(KINESIS) {
        if crate::api::kinesis::is_channel_operation(operation) {
            crate::api::kinesis::handle_channel(
                &state.streams,
                &state.delivery,
                operation,
                format,
                &body,
            )
            .await
        } else {
            crate::api::kinesis::handle(&state.streams, operation, format, &body).await
        }
    } else if let Some(operation) = target.strip_prefix(FIREHOSE) {
        crate::api::firehose::handle(&state.delivery, operation, format, &body).await
    } else {
        let message = if target.is_empty() {
            "Missing X-Amz-Target header.".to_owned()
        } else {
            format!("Operation {target} is not supported.")
        };
        ApiError::new(code::UNKNOWN_OPERATION, message).reply(format)
    };
    respond(reply)
}

/// Verifies the request's SigV4 signature (header or presigned form) against the configured
/// keys, and that it was signed for the service its target belongs to.
fn authenticate(
    state: &HttpState,
    parts: &http::request::Parts,
    body: &[u8],
    target: &str,
) -> Result<(), ApiError> {
    let mut headers: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    // HTTP/2 carries the host in the :authority pseudo-header, which hyper puts in the URI.
    let authority = parts.uri.authority().map(|a| a.as_str().to_owned());
    if !parts.headers.contains_key(header::HOST)
        && let Some(authority) = authority.as_deref()
    {
        headers.push(("host", authority.as_bytes()));
    }
    let request = sigv4::RequestParts {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &headers,
        body,
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        });
    let service = if target.starts_with(KINESIS) {
        "kinesis"
    } else if target.starts_with(FIREHOSE) {
        "firehose"
    } else {
        ""
    };
    sigv4::verify(&request, |key| state.access_keys.get(key).cloned(), now_ms)
        .and_then(|signer| {
            if service.is_empty() {
                Ok(())
            } else {
                signer.check_scope(None, service)
            }
        })
        .map_err(|error| {
            let mut message = error.message();
            // As AWS does, say what was expected, so a client's signing bug can be found.
            if let sigv4::SigV4Error::SignatureMismatch {
                canonical_request,
                string_to_sign,
            } = &error
            {
                message.push_str(&format!(
                    "\n\nThe Canonical String for this request should have been\n'{canonical_request}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n"
                ));
            }
            ApiError {
                status: error.http_status(),
                code: error.aws_code(),
                message,
            }
        })
}

/// A metric: name, type, help and how to read it from a snapshot.
type Series = (
    &'static str,
    &'static str,
    &'static str,
    fn(&crate::views::delivery::MetricsSnapshot) -> u64,
);

/// The delivery streams' counters, in the Prometheus text format.
fn metrics(delivery: &DeliveryStreams) -> Response<ResponseBody> {
    let snapshots = delivery.metrics();
    let series: [Series; 7] = [
        (
            "strata_delivery_records_in_total",
            "counter",
            "Records accepted or read from the source.",
            |m| m.records_in,
        ),
        (
            "strata_delivery_bytes_in_total",
            "counter",
            "Bytes of those records.",
            |m| m.bytes_in,
        ),
        (
            "strata_delivery_objects_total",
            "counter",
            "Objects stored.",
            |m| m.objects_delivered,
        ),
        (
            "strata_delivery_records_delivered_total",
            "counter",
            "Records in stored objects.",
            |m| m.records_delivered,
        ),
        (
            "strata_delivery_bytes_delivered_total",
            "counter",
            "Bytes of stored objects.",
            |m| m.bytes_delivered,
        ),
        (
            "strata_delivery_failures_total",
            "counter",
            "Failed attempts to store an object.",
            |m| m.failures,
        ),
        (
            "strata_delivery_freshness_milliseconds",
            "gauge",
            "Age of the oldest record not yet delivered.",
            |m| u64::try_from(m.freshness_ms).unwrap_or(0),
        ),
    ];
    let mut text = String::new();
    for (name, kind, help, value) in series {
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (stream, snapshot) in &snapshots {
            text.push_str(&format!(
                "{name}{{delivery_stream=\"{stream}\"}} {}\n",
                value(snapshot)
            ));
        }
    }
    let mut response = Response::new(ResponseBody::Full(Some(Bytes::from(text))));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response<ResponseBody> {
    let mut response = Response::new(ResponseBody::Full(Some(Bytes::from_static(
        text.as_bytes(),
    ))));
    *response.status_mut() = status;
    response
}

fn respond(reply: Reply) -> Response<ResponseBody> {
    let body = match reply.body {
        ReplyBody::Full(bytes) => ResponseBody::Full(Some(bytes)),
        ReplyBody::Stream(receiver) => ResponseBody::Stream(receiver),
    };
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(reply.content_type),
    );
    let request_id = format!("{:032x}", rand::random::<u128>());
    if let Ok(value) = header::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

/// A response body: whole, or chunks from a channel (event streams).
pub enum ResponseBody {
    /// The whole body, taken on the first poll.
    Full(Option<Bytes>),
    /// Chunks until the sender is dropped.
    Stream(mpsc::Receiver<Bytes>),
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Self::Full(bytes) => Poll::Ready(bytes.take().map(|bytes| Ok(Frame::data(bytes)))),
            Self::Stream(receiver) => receiver
                .poll_recv(context)
                .map(|chunk| chunk.map(|bytes| Ok(Frame::data(bytes)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Self::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(Some(bytes)) => SizeHint::with_exact(bytes.len() as u64),
            Self::Full(None) => SizeHint::with_exact(0),
            Self::Stream(_) => SizeHint::default(),
        }
    }
}
