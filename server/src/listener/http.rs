//! The AWS HTTP listener: HTTP/1.1 and HTTP/2 (h2c, prior knowledge) on one port.
//!
//! Every request is routed by its `X-Amz-Target` header (`Kinesis_20131202.<Op>` or
//! `Firehose_20150804.<Op>`). `GET /health` answers 200 for readiness probes; `GET /metrics`
//! serves the delivery streams' counters in the Prometheus text format.
//!
//! # Resource limits
//!
//! Nothing a client sends before it has proved who it is may hold memory or a connection for
//! long:
//!
//! - **Connections**: at most `connections_max` are served at once; the accept loop takes a
//!   slot before it accepts, so further clients wait in the kernel's listen backlog (and are
//!   served as soon as a slot frees) instead of being refused. The limit is lowered to leave
//!   a quarter of the process's open-files limit to the log (segment files) and the native
//!   listener, so that HTTP clients can never exhaust the descriptors.
//! - **Timeouts** free the slots: hyper's HTTP/1 `header_read_timeout` closes a connection
//!   whose request head has not arrived in time (a slowloris client sending a byte a second),
//!   and hyper starts that timer again while a kept-alive HTTP/1 connection waits for its next
//!   request; a per-connection watchdog closes any connection (HTTP/1, HTTP/2, or one that
//!   never sent a byte) that has had no request in flight for `idle_timeout`; a body must
//!   arrive within `body_read_timeout` (408 `RequestTimeoutException`). HTTP/2 connections
//!   are pinged every `idle_timeout` and closed if the ping is not answered within
//!   `header_read_timeout`.
//! - **Bodies** are read only after the head passed every check it can: a `Content-Length`
//!   above `body_bytes_max` is answered 413 at once, unread; with access keys configured, the
//!   SigV4 checks that need no body ([`sigv4::verify_head`]: a signature at all, a known
//!   access key, the date, the signed headers, the scope's region and service) run first.
//!   Then the body's bytes are taken from a server-wide budget (`body_budget_bytes`, a
//!   semaphore of bytes): all of a declared length up front, or frame by frame for a body of
//!   unknown length. A request that does not fit is answered at once with 503
//!   `ServiceUnavailable` (`ServiceUnavailableException` for Firehose), which every AWS SDK
//!   retries with backoff, rather than queued: a queue would let slow clients hold the
//!   memory of those behind them. The bytes return to the budget when the operation has
//!   answered.
//!
//! Each request gets its id (`x-amzn-requestid`) before anything runs; failures inside the
//! server are logged under it and answered with a plain message that names it.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{Request, Response, StatusCode, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use protocol::aws::kinesis::errors as code;
use protocol::aws::sigv4;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tracing::{debug, warn};

use crate::api::aws::ApiError;
use crate::api::aws::routes::{self, Route, ServiceId};
use crate::api::{Reply, ReplyBody};
use crate::views::delivery::DeliveryStreams;
use crate::views::queues::Queues;
use crate::views::stream_queues::StreamQueues;
use crate::views::streams::Streams;
use crate::views::topics::Topics;

/// The exception of a 503 from a Kinesis endpoint (AWS's common `ServiceUnavailable`).
const KINESIS_SERVICE_UNAVAILABLE: &str = "ServiceUnavailable";

/// The exception of a body that did not arrive in time (botocore retries it as transient).
const REQUEST_TIMEOUT: &str = "RequestTimeoutException";

/// How long to wait after a failed `accept` (descriptors exhausted) before trying again.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(50);

/// How long an idle connection asked to close (HTTP/2: GOAWAY, then a ping the peer may never
/// answer) is given before it is dropped, if it still has no request in flight.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The least time between two warnings of the accept loop about the same condition.
const ACCEPT_WARNING_INTERVAL: Duration = Duration::from_secs(5);

/// What the HTTP listener serves.
pub struct HttpState {
    /// The Kinesis view.
    pub streams: Streams,
    /// The Firehose view.
    pub delivery: DeliveryStreams,
    /// The SQS view.
    pub queues: Queues,
    /// The Kinesis queues view (queues over streams).
    pub stream_queues: StreamQueues,
    /// The SNS view.
    pub topics: Topics,
    /// The account of queue URLs and ARNs.
    pub account: String,
    /// The engine's clock when `server.clock = "manual"`: `/_strata/clock` reads and moves it.
    pub manual_clock: Option<Arc<storage::ManualClock>>,
    /// `server.public_url`: the base of queue URLs, else each request's `Host`.
    pub public_url: Option<String>,
    /// Largest request body accepted, in bytes.
    pub body_bytes_max: usize,
    /// Access key id → secret. Empty: any credentials (or none) are accepted.
    pub access_keys: BTreeMap<String, String>,
    /// The region signatures must be scoped to (`kinesis.region`).
    pub region: String,
    /// Bytes of request bodies held in memory at once, over all connections.
    pub body_budget_bytes: usize,
    /// Most connections served at once.
    pub connections_max: usize,
    /// How long an HTTP/1 request head may take to arrive.
    pub header_read_timeout: Duration,
    /// How long a connection may stay with no request in flight.
    pub idle_timeout: Duration,
    /// How long a request body may take to arrive.
    pub body_read_timeout: Duration,
    /// TLS, when configured (ALPN `h2` and `http/1.1`).
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Whether `/console` is served (`server.console`).
    pub console: bool,
}

/// Binds the listener; returns it with the address actually bound (port 0 picks one).
pub async fn bind(address: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(address).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// The state and the body budget, shared by every connection.
struct Shared {
    state: Arc<HttpState>,
    budget: Arc<Semaphore>,
}

/// Accepts connections until the task is aborted.
pub async fn serve(listener: TcpListener, state: Arc<HttpState>) {
    // Already fitted to the descriptor budget (`crate::descriptors`) by `serve`.
    let connections_max = state.connections_max;
    let connections = Arc::new(Semaphore::new(connections_max));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(state.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(state.idle_timeout)
        .keep_alive_timeout(state.header_read_timeout);
    let shared = Arc::new(Shared {
        budget: Arc::new(Semaphore::new(state.body_budget_bytes)),
        state,
    });
    let mut last_warning: Option<Instant> = None;
    let mut warn_once = |message: &str, error: Option<std::io::Error>| {
        if last_warning.is_none_or(|at| at.elapsed() >= ACCEPT_WARNING_INTERVAL) {
            last_warning = Some(Instant::now());
            match error {
                Some(error) => warn!(%error, "{message}"),
                None => warn!(connections_max, "{message}"),
            }
        }
    };
    loop {
        if connections.available_permits() == 0 {
            warn_once(
                "HTTP connection limit reached; new connections wait in the backlog",
                None,
            );
        }
        let Ok(slot) = connections.clone().acquire_owned().await else {
            return;
        };
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                warn_once("HTTP accept failed", Some(error));
                tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        tokio::spawn(connection(
            socket,
            peer,
            shared.clone(),
            builder.clone(),
            slot,
        ));
    }
}

/// Serves one connection, holding its slot until it ends, and closes it once it has been
/// idle for `idle_timeout`.
async fn connection(
    socket: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    builder: auto::Builder<TokioExecutor>,
    slot: OwnedSemaphorePermit,
) {
    let Some(acceptor) = shared.state.tls.clone() else {
        return serve_connection(socket, peer, shared, builder, slot).await;
    };
    // The TLS handshake is bounded like the request headers that follow it.
    match tokio::time::timeout(shared.state.header_read_timeout, acceptor.accept(socket)).await {
        Ok(Ok(stream)) => serve_connection(stream, peer, shared, builder, slot).await,
        Ok(Err(error)) => debug!(%peer, %error, "TLS handshake failed"),
        Err(_) => debug!(%peer, "TLS handshake timed out"),
    }
}

async fn serve_connection(
    socket: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    peer: SocketAddr,
    shared: Arc<Shared>,
    builder: auto::Builder<TokioExecutor>,
    _slot: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let service = {
        let activity = activity.clone();
        let shared = shared.clone();
        service_fn(move |request| {
            let in_flight = InFlight::begin(&activity);
            let shared = shared.clone();
            async move {
                let response = route(&shared, request).await;
                Ok::<_, Infallible>(response.map(|body| TrackedBody {
                    body,
                    _in_flight: in_flight,
                }))
            }
        })
    };
    let idle_timeout = shared.state.idle_timeout;
    let connection = builder.serve_connection(TokioIo::new(socket), service);
    tokio::pin!(connection);
    let mut ticks = tokio::time::interval(
        (idle_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1)),
    );
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut closing_since: Option<Instant> = None;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    debug!(%peer, %error, "HTTP connection ended with an error");
                }
                return;
            }
            _ = ticks.tick() => match closing_since {
                None if activity.idle_for() >= idle_timeout => {
                    debug!(%peer, "closing an idle HTTP connection");
                    connection.as_mut().graceful_shutdown();
                    closing_since = Some(Instant::now());
                }
                Some(since) if since.elapsed() >= CLOSE_GRACE && activity.idle_for() > Duration::ZERO => {
                    return;
                }
                _ => {}
            },
        }
    }
}

/// When a connection last had a request in flight.
struct Activity {
    opened: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds after `opened` at which the last request in flight finished.
    idle_since_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(0),
        }
    }

    /// How long the connection has had no request in flight (zero while one is).
    fn idle_for(&self) -> Duration {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return Duration::ZERO;
        }
        let since = Duration::from_millis(self.idle_since_ms.load(Ordering::Acquire));
        self.opened.elapsed().saturating_sub(since)
    }
}

/// One request in flight on a connection, from the service call until its response body has
/// been sent (or dropped).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let elapsed = u64::try_from(self.0.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.idle_since_ms.store(elapsed, Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in flight until it is dropped.
struct TrackedBody {
    body: ResponseBody,
    _in_flight: InFlight,
}

impl Body for TrackedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(context)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Gives the request its id, handles it with that id in scope, and sends the id back.
async fn route(shared: &Shared, request: Request<Incoming>) -> Response<ResponseBody> {
    let request_id = format!("{:032x}", rand::random::<u128>());
    let started = std::time::Instant::now();
    let mut observed = Observed::default();
    let mut response =
        crate::api::with_request_id(request_id.clone(), handle(shared, request, &mut observed))
            .await;
    if !observed.service.is_empty() {
        crate::metrics::http_request(
            observed.service,
            &observed.operation,
            observed.error,
            started.elapsed(),
        );
    }
    if let Ok(value) = header::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

/// What an API request was, for its metrics: filled in as it is recognised and answered.
/// Requests that are not API calls (`/health`, `/metrics`, the clock) leave it empty.
#[derive(Default)]
struct Observed {
    /// The service's SigV4 name, or `unknown`.
    service: &'static str,
    /// The operation or action, as the request named it.
    operation: String,
    /// The error code it was answered with.
    error: Option<&'static str>,
}

impl Observed {
    /// Notes the reply's error code on the way out.
    fn answered(&mut self, reply: Reply) -> Response<ResponseBody> {
        self.error = reply.error_code;
        respond(reply)
    }
}

async fn handle(
    shared: &Shared,
    request: Request<Incoming>,
    observed: &mut Observed,
) -> Response<ResponseBody> {
    let state = &*shared.state;
    if request.method() == http::Method::GET && request.uri().path() == "/health" {
        return plain(StatusCode::OK, "ok\n");
    }
    if request.method() == http::Method::GET && request.uri().path() == "/metrics" {
        return metrics(state);
    }
    let path = request.uri().path();
    if path == super::console::PATH || path.starts_with("/console/") {
        let (parts, _) = request.into_parts();
        return super::console::handle(state, &parts).await;
    }
    if request.uri().path() == CLOCK_PATH {
        let (parts, _) = request.into_parts();
        return clock(state, &parts);
    }
    if request.method() == http::Method::GET
        && let Some(file) = request.uri().path().strip_prefix(SIGNING_CERT_PATH)
    {
        return signing_certificate(state, file).await;
    }
    let header_text = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let target = header_text("x-amz-target");
    let content_type = header_text("content-type");
    let route = routes::recognise(
        target.as_deref(),
        content_type.as_deref(),
        request.method(),
        request.uri().query(),
    );
    let signing_name = route.signing_name();
    match &route {
        Route::Json {
            service, operation, ..
        } => {
            observed.service = service.signing_name;
            (*operation).clone_into(&mut observed.operation);
        }
        // Refined once the form names the action.
        Route::Query | Route::Unknown { .. } => observed.service = "unknown",
    }
    let (parts, body) = request.into_parts();
    // hyper knows the length from Content-Length (HTTP/1 and HTTP/2); none for chunked bodies.
    let declared = body.size_hint().upper();
    if declared.is_some_and(|length| length > state.body_bytes_max as u64) {
        return observed.answered(error_reply(&route, &too_large(state)));
    }
    if !state.access_keys.is_empty()
        && let Err(error) = authenticate_head(state, &parts, signing_name)
    {
        return observed.answered(error_reply(&route, &error));
    }
    let unavailable_code = match route {
        Route::Json { service, .. } => service.unavailable_code,
        Route::Query | Route::Unknown { .. } => KINESIS_SERVICE_UNAVAILABLE,
    };
    let (body, budget) = match read_body(shared, body, declared, unavailable_code).await {
        Ok(read) => read,
        Err(error) => return observed.answered(error_reply(&route, &error)),
    };
    if !state.access_keys.is_empty()
        && let Err(error) = authenticate(state, &parts, &body, signing_name)
    {
        return observed.answered(error_reply(&route, &error));
    }
    let reply = match route {
        Route::Json {
            service,
            format,
            operation,
        } => match service.id {
            ServiceId::Kinesis if crate::api::kinesis::is_channel_operation(operation) => {
                crate::api::kinesis::handle_channel(
                    &state.streams,
                    &state.delivery,
                    operation,
                    format,
                    &body,
                )
                .await
            }
            ServiceId::Kinesis => {
                crate::api::kinesis::handle(
                    &state.streams,
                    &state.stream_queues,
                    operation,
                    format,
                    &body,
                )
                .await
            }
            ServiceId::Firehose => {
                crate::api::firehose::handle(&state.delivery, operation, format, &body).await
            }
            ServiceId::Sns => ApiError::new(
                code::UNKNOWN_OPERATION,
                "SNS takes the query protocol (Action=...), not X-Amz-Target.".to_owned(),
            )
            .reply(format),
            ServiceId::Sqs => {
                let context = sqs_context(state, &parts);
                crate::api::sqs::handle_json(&state.queues, &context, operation, &body).await
            }
        },
        Route::Query => query_reply(state, &parts, &body, observed).await,
        Route::Unknown { format, target } => {
            let message = if target.is_empty() {
                "Missing X-Amz-Target header.".to_owned()
            } else {
                format!("Operation {target} is not supported.")
            };
            ApiError::new(code::UNKNOWN_OPERATION, message).reply(format)
        }
    };
    // The body's bytes go back to the budget once the operation has answered.
    drop(body);
    drop(budget);
    observed.answered(reply)
}

/// An error answered before the operation ran, in the protocol of the request: an XML
/// `ErrorResponse` for the query protocol, the JSON or CBOR error body otherwise.
fn error_reply(route: &Route<'_>, error: &ApiError) -> Reply {
    match route {
        Route::Query => {
            let fault = if error.status >= 500 {
                protocol::aws::xml::Fault::Receiver
            } else {
                protocol::aws::xml::Fault::Sender
            };
            let body = protocol::aws::xml::encode_error(
                protocol::aws::xml::SQS_NAMESPACE,
                fault,
                error.code,
                &error.message,
                &crate::api::request_id(),
            );
            Reply::new(error.status, "text/xml", ReplyBody::Full(body)).with_error_code(error.code)
        }
        Route::Json { .. } | Route::Unknown { .. } => error.reply(route.error_format()),
    }
}

/// A query-protocol request (`Action=`): its form (the body of a POST, else the query string)
/// is parsed and handed to the query service it is for ([`routes::query_service`]: the
/// signature's service, else the API version, else the action's name). An action no service
/// here has is `InvalidAction`, in the namespace of the API version asked for.
async fn query_reply(
    state: &HttpState,
    parts: &http::request::Parts,
    body: &[u8],
    observed: &mut Observed,
) -> Reply {
    use protocol::aws::xml::{Fault, SNS_NAMESPACE, SQS_NAMESPACE, encode_error};
    let form_bytes = if parts.method == http::Method::POST {
        body
    } else {
        parts.uri.query().unwrap_or_default().as_bytes()
    };
    let parsed = protocol::aws::query::parse_form(form_bytes).map(|form| {
        // Sent to a queue's URL: the path names the queue when the form does not.
        let path = parts.uri.path();
        if form.get("QueueUrl").is_none() && path.len() > 1 {
            let mut with_url = form_bytes.to_vec();
            with_url.extend_from_slice(b"&QueueUrl=");
            with_url.extend(path.bytes().flat_map(|byte| match byte {
                b'/' => b"%2F".to_vec(),
                byte => vec![byte],
            }));
            protocol::aws::query::parse_form(&with_url).unwrap_or(form)
        } else {
            form
        }
    });
    let (code, message, namespace) = match parsed {
        Err(error) => (error.code(), error.to_string(), SQS_NAMESPACE),
        Ok(form) => {
            let namespace = match form.version() {
                Some("2010-03-31") => SNS_NAMESPACE,
                _ => SQS_NAMESPACE,
            };
            match form.action() {
                None | Some("") => (
                    "MissingAction",
                    "The request must contain the parameter Action.".to_owned(),
                    namespace,
                ),
                Some(action) => {
                    let authorization = parts
                        .headers
                        .get(header::AUTHORIZATION)
                        .and_then(|value| value.to_str().ok());
                    let signing_service =
                        routes::credential_service(authorization, parts.uri.query());
                    let service =
                        routes::query_service(signing_service.as_deref(), form.version(), action);
                    if let Some(service) = service {
                        observed.service = service.signing_name;
                        action.clone_into(&mut observed.operation);
                    }
                    if service.is_some_and(|service| service.id == ServiceId::Sqs) {
                        let context = sqs_context(state, parts);
                        return crate::api::sqs::handle_query(&state.queues, &context, &form).await;
                    }
                    if service.is_some_and(|service| service.id == ServiceId::Sns) {
                        return crate::api::sns::handle_query(&state.topics, &form).await;
                    }
                    (
                        "InvalidAction",
                        format!(
                            "The action {} is not valid for this endpoint.",
                            action.chars().take(128).collect::<String>()
                        ),
                        namespace,
                    )
                }
            }
        }
    };
    let body = encode_error(
        namespace,
        Fault::Sender,
        code,
        &message,
        &crate::api::request_id(),
    );
    Reply::new(400, "text/xml", ReplyBody::Full(body))
        .with_header("x-amzn-query-error", format!("{code};Sender"))
        .with_error_code(code)
}

/// Where an SQS request was sent, for the queue URLs it is answered with: the configured
/// public URL, else its `Host` header (or the HTTP/2 authority).
fn sqs_context(state: &HttpState, parts: &http::request::Parts) -> crate::api::sqs::Context {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            parts
                .uri
                .authority()
                .map(|authority| authority.as_str().to_owned())
        })
        .unwrap_or_else(|| "localhost:4566".to_owned());
    let scheme = if state.tls.is_some() { "https" } else { "http" };
    crate::api::sqs::Context {
        base_url: state
            .public_url
            .clone()
            .unwrap_or_else(|| format!("{scheme}://{host}")),
        account: state.account.clone(),
        region: state.region.clone(),
    }
}

fn too_large(state: &HttpState) -> ApiError {
    ApiError {
        status: 413,
        code: code::VALIDATION,
        message: format!(
            "Request body exceeds the limit of {} bytes.",
            state.body_bytes_max
        ),
    }
}

/// Reads the whole body within `body_read_timeout` and `body_bytes_max`, its bytes taken
/// from the budget: all of `declared` before the first byte is read, or frame by frame when
/// the length is not known. Returns the body and its share of the budget.
async fn read_body(
    shared: &Shared,
    mut body: Incoming,
    declared: Option<u64>,
    unavailable_code: &'static str,
) -> Result<(Bytes, Option<OwnedSemaphorePermit>), ApiError> {
    let state = &*shared.state;
    let take = |bytes: usize| -> Result<Option<OwnedSemaphorePermit>, ApiError> {
        if bytes == 0 {
            return Ok(None);
        }
        // `bytes` is at most `body_bytes_max`, which the configuration keeps within a u32.
        let permits = u32::try_from(bytes).unwrap_or(u32::MAX);
        shared
            .budget
            .clone()
            .try_acquire_many_owned(permits)
            .map(Some)
            .map_err(|_| ApiError {
                status: 503,
                code: unavailable_code,
                message: "The server is holding as many request bodies as it is configured \
                              to; retry the request."
                    .to_owned(),
            })
    };
    let mut held = match declared {
        Some(length) => take(usize::try_from(length).unwrap_or(usize::MAX))?,
        None => None,
    };
    let read = async {
        // A body of one frame is kept as it came. From a second frame on, each is copied into
        // one buffer as it arrives (sized from Content-Length when there is one), while it is
        // still in cache and so hyper can reuse its read buffer at once.
        let mut first: Option<Bytes> = None;
        let mut whole: Option<BytesMut> = None;
        let mut length = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| {
                ApiError::new(
                    code::SERIALIZATION,
                    format!("Could not read the request body: {error}"),
                )
            })?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            length = length.saturating_add(data.len());
            if length > state.body_bytes_max {
                return Err(too_large(state));
            }
            if declared.is_none()
                && let Some(more) = take(data.len())?
            {
                match held.as_mut() {
                    Some(permit) => permit.merge(more),
                    None => held = Some(more),
                }
            }
            match (whole.as_mut(), first.take()) {
                (Some(buffer), _) => buffer.extend_from_slice(&data),
                (None, None) => first = Some(data),
                (None, Some(earlier)) => {
                    // `declared` is at most `body_bytes_max` (checked before the body is read).
                    let expected = declared.and_then(|d| usize::try_from(d).ok());
                    let mut buffer = BytesMut::with_capacity(expected.unwrap_or(0).max(length));
                    buffer.extend_from_slice(&earlier);
                    buffer.extend_from_slice(&data);
                    whole = Some(buffer);
                }
            }
        }
        Ok(match whole {
            Some(buffer) => buffer.freeze(),
            None => first.unwrap_or_default(),
        })
    };
    match tokio::time::timeout(state.body_read_timeout, read).await {
        Ok(Ok(body)) => Ok((body, held)),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(ApiError {
            status: 408,
            code: REQUEST_TIMEOUT,
            message: format!(
                "The request body did not arrive within {} ms.",
                state.body_read_timeout.as_millis()
            ),
        }),
    }
}

/// The headers SigV4 sees: the request's, plus `host` from the URI's authority under HTTP/2.
fn signed_view(parts: &http::request::Parts) -> Vec<(&str, &[u8])> {
    let mut headers: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    // HTTP/2 carries the host in the :authority pseudo-header, which hyper puts in the URI.
    if !parts.headers.contains_key(header::HOST)
        && let Some(authority) = parts.uri.authority()
    {
        headers.push(("host", authority.as_str().as_bytes()));
    }
    headers
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// Checks the scope of a signature the keys accepted: the server's region, and the service of
/// the target (any service for a target that names none; it is refused later).
fn check_scope(
    state: &HttpState,
    signer: &sigv4::Signer,
    signing_name: Option<&str>,
) -> Result<(), sigv4::SigV4Error> {
    let service = signing_name.unwrap_or(signer.service.as_str());
    signer.check_scope(Some(&state.region), service)
}

/// Every SigV4 check that needs no body, before the body is read: a request with no
/// signature, an unknown access key, a stale date, unsigned `x-amz-*` headers or the wrong
/// scope never gets to hold memory.
fn authenticate_head(
    state: &HttpState,
    parts: &http::request::Parts,
    signing_name: Option<&str>,
) -> Result<(), ApiError> {
    let headers = signed_view(parts);
    let request = sigv4::RequestParts {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &headers,
        body: &[],
    };
    sigv4::verify_head(
        &request,
        |key| state.access_keys.get(key).cloned(),
        now_ms(),
    )
    .and_then(|signer| check_scope(state, &signer, signing_name))
    .map_err(|error| auth_error(&error))
}

/// Verifies the request's SigV4 signature (header or presigned form) against the configured
/// keys, and that it was signed for this server's region and the service its target belongs
/// to.
fn authenticate(
    state: &HttpState,
    parts: &http::request::Parts,
    body: &[u8],
    signing_name: Option<&str>,
) -> Result<(), ApiError> {
    let headers = signed_view(parts);
    let request = sigv4::RequestParts {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &headers,
        body,
    };
    sigv4::verify(
        &request,
        |key| state.access_keys.get(key).cloned(),
        now_ms(),
    )
    .and_then(|signer| check_scope(state, &signer, signing_name))
    .map_err(|error| auth_error(&error))
}

fn auth_error(error: &sigv4::SigV4Error) -> ApiError {
    let mut message = error.message();
    // As AWS does, say what was expected, so a client's signing bug can be found.
    if let sigv4::SigV4Error::SignatureMismatch {
        canonical_request,
        string_to_sign,
    } = error
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
}

/// Every layer's metrics, in the Prometheus text format ([`crate::metrics`]).
fn metrics(state: &HttpState) -> Response<ResponseBody> {
    let text = crate::metrics::render(state);
    let mut response = Response::new(ResponseBody::Full(Some(Bytes::from(text))));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

/// Where the manual clock is read (`GET`) and moved (`POST ?advance_ms=N`).
const CLOCK_PATH: &str = "/_strata/clock";

/// The manual clock's endpoint: `{"now_ms": N}` after moving it forward by `advance_ms`
/// (POST), or as it is (GET). 404 unless `server.clock = "manual"`; signed like every other
/// request when access keys are configured. Moving the clock wakes every queue, so long polls
/// see messages whose delay or visibility timeout the move ended.
fn clock(state: &HttpState, parts: &http::request::Parts) -> Response<ResponseBody> {
    let Some(clock) = &state.manual_clock else {
        return plain(
            StatusCode::NOT_FOUND,
            "the clock is not manual (server.clock)\n",
        );
    };
    if !state.access_keys.is_empty()
        && let Err(error) = authenticate(state, parts, &[], None)
    {
        let mut response = Response::new(ResponseBody::Full(Some(Bytes::from(error.message))));
        *response.status_mut() = StatusCode::FORBIDDEN;
        return response;
    }
    match parts.method {
        http::Method::GET => {}
        http::Method::POST => {
            let advance = parts.uri.query().and_then(|query| {
                query
                    .split('&')
                    .find_map(|pair| pair.strip_prefix("advance_ms="))
                    .map(str::parse::<i64>)
            });
            match advance {
                Some(Ok(ms)) if ms >= 0 => {
                    clock.advance_ms(ms);
                    state.queues.clock_moved();
                    state.stream_queues.clock_moved();
                    state.topics.clock_moved();
                }
                _ => {
                    return plain(
                        StatusCode::BAD_REQUEST,
                        "expected ?advance_ms=<milliseconds, 0 or more>\n",
                    );
                }
            }
        }
        _ => return plain(StatusCode::METHOD_NOT_ALLOWED, "GET or POST\n"),
    }
    let now = storage::Clock::now_ms(clock.as_ref());
    let mut response = Response::new(ResponseBody::Full(Some(Bytes::from(format!(
        "{{\"now_ms\":{now}}}\n"
    )))));
    if let Ok(value) = header::HeaderValue::from_str("application/json") {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

/// Where SNS's signing certificate is served (`SigningCertURL`).
const SIGNING_CERT_PATH: &str = "/_strata/sns/";

/// The certificate SNS messages are signed under, PEM, at the file name envelopes give
/// (the name changes with the key, so an old name is 404).
async fn signing_certificate(state: &HttpState, file: &str) -> Response<ResponseBody> {
    let signer = match state.topics.signing_keys().get().await {
        Ok(signer) => signer,
        Err(error) => {
            tracing::warn!(%error, "No SNS signing key");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "no signing key\n");
        }
    };
    if file != signer.certificate_file() {
        return plain(StatusCode::NOT_FOUND, "no such certificate\n");
    }
    let mut response = Response::new(ResponseBody::Full(Some(Bytes::from(
        signer.certificate_pem().to_owned(),
    ))));
    if let Ok(value) = header::HeaderValue::from_str("application/x-pem-file") {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
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
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            header::HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
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
