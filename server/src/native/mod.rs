//! The native protocol listener (`server.native`, default `127.0.0.1:4567`).
//!
//! One task reads frames from a connection and starts one task per request; responses go to
//! one writer task per connection, in completion order (requests carry ids, so clients
//! pipeline and match). Produce requests are routed and queued for commit by the reading task
//! itself, so a connection's produces are committed in the order they were sent, however many
//! are in flight. Bounds: `CONNECTIONS_MAX` connections, `IN_FLIGHT_MAX` requests per
//! connection (the reader stops reading while they are all busy, so a flood of producers
//! waits in the kernel's socket buffers rather than in server memory), and frames of at most
//! `FRAME_BYTES_MAX`. Fetch responses are written with vectored writes straight from the
//! segment mappings: record data is never copied into a response buffer.
//!
//! Splits and merges are ordered with produce routing by the engine's per-stream router
//! (`storage::Route`), so a produce never meets a shard closing under it.
//!
//! The first request must be `Hello`. A body that does not decode gets an error response and
//! the connection goes on; a frame header that does not (oversized, unknown kind) means the
//! stream is out of sync: the server answers with an error for request id 0 and closes it.

mod error;
mod handlers;
pub mod queues;

use std::collections::BTreeMap;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use protocol::native::auth::{self, AUTH_VERSION_MIN, NONCE_BYTES};
use protocol::native::{
    ErrorCode, ErrorResponse, FRAME_BYTES_MAX, Frame, HelloOk, Kind, PROTOCOL_VERSION,
    PROTOCOL_VERSION_MIN, Request, Response,
};
use storage::Log;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::config::NativeLimits;
use crate::views::streams::budget::ShardBudget;

/// Requests of one connection being handled at once.
pub const IN_FLIGHT_MAX: usize = 32;
/// Bytes read from a socket per read call.
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// The largest frame accepted before the handshake is complete: a `Hello` or `Authenticate`
/// is a few hundred bytes, so nobody unauthenticated can make the server buffer more.
pub const HANDSHAKE_FRAME_BYTES_MAX: u32 = 4096;
/// Requests answered with an error before the handshake is complete, after which the
/// connection is closed: a client that ignores `HandshakeRequired` is not served.
const HANDSHAKE_REFUSALS_MAX: u32 = 8;

/// What every connection of the listener shares.
pub struct State {
    /// The log.
    pub log: Log,
    /// The open shard budget (shared with the Kinesis view).
    pub budget: ShardBudget,
    /// Access key id → secret. Empty: no authentication.
    pub access_keys: BTreeMap<String, String>,
    /// Connection and timeout bounds.
    pub limits: NativeLimits,
    /// TLS, when configured: every connection must complete a TLS handshake first.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// The queue view, for the queue operations.
    pub queues: queues::QueueContext,
}

/// Serves connections on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, state: State) {
    let connections = Arc::new(Semaphore::new(state.limits.connections_max));
    let shared = Arc::new(Shared { state });
    loop {
        let Ok(permit) = connections.clone().acquire_owned().await else {
            return;
        };
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                warn!(%error, "Accepting a native connection failed");
                // EMFILE and its kin do not clear by themselves at once: back off rather than
                // spin on a listener that stays readable.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let shared = Arc::clone(&shared);
        metrics::counter!("strata_native_connections_total").increment(1);
        let open = metrics::gauge!("strata_native_connections");
        open.increment(1.0);
        tokio::spawn(async move {
            if let Err(error) = accepted(socket, peer, &shared).await {
                debug!(%peer, %error, "Native connection ended with an error");
            }
            open.decrement(1.0);
            drop(permit);
        });
    }
}

struct Shared {
    state: State,
}

/// Binds the listener; the address it reports is the one actually bound (port 0 picks one).
pub async fn bind(address: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
}

/// Counts a request frame by its operation (`unknown` for a code no operation has). The
/// counters are registered once, the first time a request comes.
fn observe_request(op: u16) {
    static COUNTERS: std::sync::OnceLock<Vec<(u16, metrics::Counter)>> = std::sync::OnceLock::new();
    static UNKNOWN: std::sync::OnceLock<metrics::Counter> = std::sync::OnceLock::new();
    let counters = COUNTERS.get_or_init(|| {
        protocol::native::Op::ALL
            .iter()
            .map(|op| {
                let name = format!("{op:?}");
                (
                    *op as u16,
                    metrics::counter!("strata_native_requests_total", "op" => name),
                )
            })
            .collect()
    });
    match counters.iter().find(|(code, _)| *code == op) {
        Some((_, counter)) => counter.increment(1),
        None => UNKNOWN
            .get_or_init(|| metrics::counter!("strata_native_requests_total", "op" => "unknown"))
            .increment(1),
    }
}

/// A response ready for the socket: chunks written in one vectored write.
type Chunks = Vec<Bytes>;

fn frame_of(request_id: u32, response: &Response) -> Chunks {
    if let Response::FetchOk(fetch) = response {
        let mut chunks = Vec::new();
        fetch.encode_vectored(request_id, &mut chunks);
        return chunks;
    }
    let mut out = BytesMut::new();
    response.encode_frame(request_id, &mut out);
    vec![out.freeze()]
}

/// Where a connection is in its handshake.
enum Phase {
    /// Waiting for `Hello`.
    Hello,
    /// `HelloOk` sent with this nonce; waiting for `Authenticate`.
    Authenticate([u8; NONCE_BYTES]),
    /// Every operation is served.
    Ready,
}

/// Serves an accepted socket, after a TLS handshake (within the handshake deadline) when TLS
/// is configured.
async fn accepted(
    socket: TcpStream,
    peer: SocketAddr,
    shared: &Arc<Shared>,
) -> std::io::Result<()> {
    socket.set_nodelay(true)?;
    let handshake_deadline = Instant::now() + shared.state.limits.handshake_timeout;
    match &shared.state.tls {
        None => connection(socket, peer, shared, handshake_deadline).await,
        Some(acceptor) => {
            let stream = tokio::time::timeout_at(handshake_deadline, acceptor.accept(socket))
                .await
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
            connection(stream, peer, shared, handshake_deadline).await
        }
    }
}

async fn connection(
    socket: impl AsyncRead + AsyncWrite + Send + 'static,
    peer: SocketAddr,
    shared: &Arc<Shared>,
    handshake_deadline: Instant,
) -> std::io::Result<()> {
    let state = &shared.state;
    let (mut reader, writer) = tokio::io::split(socket);
    let (responses, outgoing) = mpsc::channel::<Chunks>(IN_FLIGHT_MAX);
    let writing = tokio::spawn(write_responses(writer, outgoing));
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT_MAX));
    let mut buffer = BytesMut::with_capacity(1024);
    let mut phase = Phase::Hello;
    let mut refusals = 0;
    let bytes_read = metrics::counter!("strata_native_bytes_read_total");
    debug!(%peer, "Native connection opened");
    'read: loop {
        loop {
            let frame_bytes_max = match phase {
                Phase::Ready => FRAME_BYTES_MAX,
                _ => HANDSHAKE_FRAME_BYTES_MAX,
            };
            let frame = match Frame::split_from(&mut buffer, frame_bytes_max) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error) => {
                    // The byte stream is out of sync: say why, then hang up.
                    let reply = ErrorResponse::new(error.code(), error.to_string());
                    let _ = responses.send(frame_of(0, &Response::Error(reply))).await;
                    break 'read;
                }
            };
            let request_id = frame.request_id;
            observe_request(frame.op);
            let request = match (frame.kind, Request::decode_shared(frame.op, &frame.body)) {
                (Kind::Request, Ok(request)) => request,
                (Kind::Request, Err(error)) => {
                    let reply = ErrorResponse::new(error.code(), error.to_string());
                    if !respond(&responses, request_id, &Response::Error(reply)).await {
                        break 'read;
                    }
                    continue;
                }
                (_, _) => {
                    let reply =
                        ErrorResponse::new(ErrorCode::MalformedFrame, "expected a request frame");
                    let _ = responses
                        .send(frame_of(request_id, &Response::Error(reply)))
                        .await;
                    break 'read;
                }
            };
            if !matches!(phase, Phase::Ready) {
                let (response, next, close) = handshake(state, &phase, request, peer);
                if let Some(next) = next {
                    phase = next;
                }
                if matches!(response, Response::Error(_)) {
                    refusals += 1;
                }
                let sent = respond(&responses, request_id, &response).await;
                if !sent || close || refusals > HANDSHAKE_REFUSALS_MAX {
                    break 'read;
                }
                continue;
            }
            if let Request::Hello(_) | Request::Authenticate(_) = &request {
                let reply = ErrorResponse::new(
                    ErrorCode::InvalidArgument,
                    "the handshake is already complete",
                );
                if !respond(&responses, request_id, &Response::Error(reply)).await {
                    break 'read;
                }
                continue;
            }
            // Waits while IN_FLIGHT_MAX requests are busy: backpressure on the socket.
            let Ok(permit) = in_flight.clone().acquire_owned().await else {
                break 'read;
            };
            let responses = responses.clone();
            // Produces are queued here, in request order, so a connection's produces commit
            // in order; only the wait for the commit runs beside the next requests.
            let queued = match request {
                Request::Produce(produce) => handlers::enqueue_produce(&state.log, produce)
                    .await
                    .map(handlers::Queued::Records),
                Request::ProduceBatch(batch) => handlers::enqueue_produce_batch(&state.log, batch)
                    .await
                    .map(handlers::Queued::Batch),
                request => {
                    let shared = Arc::clone(shared);
                    tokio::spawn(async move {
                        let response = handle(&shared, request).await;
                        let _ = responses.send(frame_of(request_id, &response)).await;
                        drop(permit);
                    });
                    continue;
                }
            };
            tokio::spawn(async move {
                let response = match queued {
                    Ok(queued) => queued.acknowledged().await.unwrap_or_else(Response::Error),
                    Err(error) => Response::Error(error),
                };
                let _ = responses.send(frame_of(request_id, &response)).await;
                drop(permit);
            });
        }
        buffer.reserve(READ_CHUNK_BYTES.min(match phase {
            Phase::Ready => READ_CHUNK_BYTES,
            _ => HANDSHAKE_FRAME_BYTES_MAX as usize,
        }));
        // Before the handshake completes the connection has until its deadline; after it, a
        // connection may be silent for the idle timeout, but not while a request of its own
        // (a long-polling fetch) is still being answered.
        let read = loop {
            let deadline = match phase {
                Phase::Ready => Instant::now() + state.limits.idle_timeout,
                _ => handshake_deadline,
            };
            match tokio::time::timeout_at(deadline, reader.read_buf(&mut buffer)).await {
                Ok(read) => break read?,
                Err(_)
                    if matches!(phase, Phase::Ready)
                        && in_flight.available_permits() < IN_FLIGHT_MAX => {}
                Err(_) => {
                    let (code, message) = match phase {
                        Phase::Ready => (ErrorCode::Unavailable, "closing an idle connection"),
                        _ => (ErrorCode::HandshakeRequired, "the handshake took too long"),
                    };
                    debug!(%peer, message, "Native connection timed out");
                    let reply = ErrorResponse::new(code, message);
                    let _ = responses.send(frame_of(0, &Response::Error(reply))).await;
                    break 'read;
                }
            }
        };
        if read == 0 {
            break;
        }
        bytes_read.increment(read as u64);
    }
    drop(responses);
    // In-flight requests hold senders: the writer finishes once they have answered.
    let _ = writing.await;
    debug!(%peer, "Native connection closed");
    Ok(())
}

/// Answers a request that arrived before the handshake was complete: the response, the next
/// phase (if it changes) and whether to close the connection after the response.
fn handshake(
    state: &State,
    phase: &Phase,
    request: Request,
    peer: SocketAddr,
) -> (Response, Option<Phase>, bool) {
    let refuse = |code, message: &str| Response::Error(ErrorResponse::new(code, message));
    match (phase, request) {
        (Phase::Hello, Request::Hello(hello)) => {
            let Some(version) = hello.negotiate(PROTOCOL_VERSION_MIN, PROTOCOL_VERSION) else {
                let message = format!(
                    "this server speaks versions {PROTOCOL_VERSION_MIN} to {PROTOCOL_VERSION}"
                );
                return (refuse(ErrorCode::UnsupportedVersion, &message), None, true);
            };
            let auth_nonce = (!state.access_keys.is_empty() && version >= AUTH_VERSION_MIN)
                .then(rand::random::<[u8; NONCE_BYTES]>);
            let next = match (state.access_keys.is_empty(), auth_nonce) {
                (true, _) => Phase::Ready,
                (false, Some(nonce)) => Phase::Authenticate(nonce),
                // A version-1 client cannot authenticate: every request it sends is refused.
                (false, None) => Phase::Authenticate(rand::random()),
            };
            debug!(%peer, client = %hello.client_name, version, "Native client connected");
            let ok = HelloOk {
                version,
                server_name: format!("strata {}", env!("CARGO_PKG_VERSION")),
                frame_bytes_max: FRAME_BYTES_MAX,
                auth_nonce,
            };
            (Response::HelloOk(ok), Some(next), false)
        }
        (Phase::Hello, _) => (
            refuse(ErrorCode::HandshakeRequired, "send Hello first"),
            None,
            false,
        ),
        (Phase::Authenticate(nonce), Request::Authenticate(auth)) => {
            let verified = state
                .access_keys
                .get(&auth.access_key_id)
                .is_some_and(|secret| {
                    auth::verify(secret, nonce, &auth.access_key_id, &auth.proof)
                });
            if verified {
                debug!(%peer, access_key_id = %auth.access_key_id, "Native client authenticated");
                (Response::AuthenticateOk, Some(Phase::Ready), false)
            } else {
                warn!(%peer, access_key_id = %auth.access_key_id, "Native authentication failed");
                let message = "the access key is unknown or the proof is wrong";
                (refuse(ErrorCode::AuthenticationFailed, message), None, true)
            }
        }
        (Phase::Authenticate(_), _) => (
            refuse(
                ErrorCode::AuthenticationRequired,
                "this server requires Authenticate (protocol version 2) before any other request",
            ),
            None,
            false,
        ),
        (Phase::Ready, _) => (
            refuse(ErrorCode::Internal, "the handshake is already complete"),
            None,
            false,
        ),
    }
}

/// Queues a response for the writer; false once the connection's writer is gone.
async fn respond(responses: &mpsc::Sender<Chunks>, request_id: u32, response: &Response) -> bool {
    responses.send(frame_of(request_id, response)).await.is_ok()
}

async fn handle(shared: &Shared, request: Request) -> Response {
    let (log, budget) = (&shared.state.log, &shared.state.budget);
    let outcome = match request {
        Request::CreateStream(request) => handlers::create_stream(log, budget, request).await,
        Request::DeleteStream(request) => handlers::delete_stream(log, request).await,
        Request::ListStreams(_) => handlers::list_streams(log),
        Request::DescribeStream(request) => handlers::describe_stream(log, &request),
        Request::Produce(request) => match handlers::enqueue_produce(log, request).await {
            Ok(pending) => pending.acknowledged().await,
            Err(error) => Err(error),
        },
        Request::ProduceBatch(request) => {
            match handlers::enqueue_produce_batch(log, request).await {
                Ok(pending) => pending.acknowledged().await,
                Err(error) => Err(error),
            }
        }
        Request::Fetch(request) => handlers::fetch(log, request).await.map(Response::FetchOk),
        Request::CommitCursor(request) => handlers::commit_cursor(log, request).await,
        Request::FetchCursor(request) => handlers::fetch_cursor(log, &request),
        Request::SplitShard(request) => handlers::split_shard(log, budget, request).await,
        Request::MergeShards(request) => handlers::merge_shards(log, request).await,
        Request::QueueCreate(request) => queues::create(&shared.state.queues, request).await,
        Request::QueueDelete(request) => queues::delete(&shared.state.queues, &request.name).await,
        Request::QueueList(request) => queues::list(&shared.state.queues, &request),
        Request::QueueSend(request) => queues::send(&shared.state.queues, request).await,
        Request::QueueReceive(request) => queues::receive(&shared.state.queues, request).await,
        Request::QueueAck(request) => queues::ack(&shared.state.queues, request).await,
        Request::QueuePurge(request) => queues::purge(&shared.state.queues, &request.name).await,
        Request::QueuePeek(request) => queues::peek(&shared.state.queues, &request),
        Request::QueueRewind(request) => queues::rewind(&shared.state.queues, request).await,
        Request::Hello(_) | Request::Authenticate(_) => Err(ErrorResponse::new(
            ErrorCode::InvalidArgument,
            "the handshake is already complete",
        )),
        _ => Err(ErrorResponse::new(
            ErrorCode::UnknownOperation,
            "operation not served",
        )),
    };
    outcome.unwrap_or_else(Response::Error)
}

async fn write_responses(
    mut writer: impl AsyncWrite + Unpin,
    mut outgoing: mpsc::Receiver<Chunks>,
) -> std::io::Result<()> {
    let bytes_written = metrics::counter!("strata_native_bytes_written_total");
    while let Some(chunks) = outgoing.recv().await {
        write_all_vectored(&mut writer, &chunks).await?;
        bytes_written.increment(chunks.iter().map(|chunk| chunk.len() as u64).sum());
    }
    writer.shutdown().await
}

/// Writes every chunk, in as few vectored writes as the socket allows.
async fn write_all_vectored(
    writer: &mut (impl AsyncWrite + Unpin),
    chunks: &[Bytes],
) -> std::io::Result<()> {
    let mut index = 0;
    let mut offset = 0;
    while index < chunks.len() {
        let slices: Vec<IoSlice<'_>> = chunks
            .iter()
            .skip(index)
            .enumerate()
            .map(|(i, chunk)| {
                IoSlice::new(if i == 0 {
                    chunk.get(offset..).unwrap_or_default()
                } else {
                    chunk
                })
            })
            .take(1024)
            .collect();
        let mut written = writer.write_vectored(&slices).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while let Some(chunk) = chunks.get(index) {
            let left = chunk.len() - offset;
            if written < left {
                offset += written;
                break;
            }
            written -= left;
            index += 1;
            offset = 0;
        }
    }
    Ok(())
}
