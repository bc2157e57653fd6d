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
//! Splits and merges are ordered with every connection's produce routing by one
//! [`handlers::ReshardGate`], so a produce never meets a shard closing under it.
//!
//! The first request must be `Hello`. A body that does not decode gets an error response and
//! the connection goes on; a frame header that does not (oversized, unknown kind) means the
//! stream is out of sync: the server answers with an error for request id 0 and closes it.

mod error;
mod handlers;

use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use protocol::native::{
    ErrorCode, ErrorResponse, FRAME_BYTES_MAX, Frame, HelloOk, Kind, PROTOCOL_VERSION, Request,
    Response,
};
use storage::Log;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tracing::{debug, info, warn};

/// Connections served at once; more wait in the listen backlog.
pub const CONNECTIONS_MAX: usize = 1024;
/// Requests of one connection being handled at once.
pub const IN_FLIGHT_MAX: usize = 32;
/// Bytes read from a socket per read call.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Serves connections on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, log: Log) {
    let connections = Arc::new(Semaphore::new(CONNECTIONS_MAX));
    let gate = Arc::new(handlers::ReshardGate::default());
    loop {
        let Ok(permit) = connections.clone().acquire_owned().await else {
            return;
        };
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                warn!(%error, "Accepting a native connection failed");
                continue;
            }
        };
        let log = log.clone();
        let gate = Arc::clone(&gate);
        tokio::spawn(async move {
            if let Err(error) = connection(socket, peer, log, gate).await {
                debug!(%peer, %error, "Native connection ended with an error");
            }
            drop(permit);
        });
    }
}

/// Binds the listener; the address it reports is the one actually bound (port 0 picks one).
pub async fn bind(address: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
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

async fn connection(
    socket: TcpStream,
    peer: SocketAddr,
    log: Log,
    gate: Arc<handlers::ReshardGate>,
) -> std::io::Result<()> {
    socket.set_nodelay(true)?;
    let (mut reader, writer) = socket.into_split();
    let (responses, outgoing) = mpsc::channel::<Chunks>(IN_FLIGHT_MAX);
    let writing = tokio::spawn(write_responses(writer, outgoing));
    let in_flight = Arc::new(Semaphore::new(IN_FLIGHT_MAX));
    let mut buffer = BytesMut::with_capacity(READ_CHUNK_BYTES);
    let mut greeted = false;
    debug!(%peer, "Native connection opened");
    'read: loop {
        loop {
            let frame = match Frame::split_from(&mut buffer, FRAME_BYTES_MAX) {
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
            if let Request::Hello(hello) = &request {
                let response = match hello.negotiate(PROTOCOL_VERSION, PROTOCOL_VERSION) {
                    Some(version) => {
                        greeted = true;
                        info!(%peer, client = %hello.client_name, version, "Native client connected");
                        Response::HelloOk(HelloOk {
                            version,
                            server_name: format!("strata {}", env!("CARGO_PKG_VERSION")),
                            frame_bytes_max: FRAME_BYTES_MAX,
                        })
                    }
                    None => Response::Error(ErrorResponse::new(
                        ErrorCode::UnsupportedVersion,
                        format!("this server speaks version {PROTOCOL_VERSION} only"),
                    )),
                };
                if !respond(&responses, request_id, &response).await {
                    break 'read;
                }
                continue;
            }
            if !greeted {
                let reply = ErrorResponse::new(ErrorCode::HandshakeRequired, "send Hello first");
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
            if let Request::Produce(produce) = request {
                // Queued here, in request order, so a connection's produces commit in order;
                // only the wait for the commit runs beside the next requests.
                let pending = handlers::enqueue_produce(&log, &gate, produce).await;
                tokio::spawn(async move {
                    let response = match pending {
                        Ok(pending) => pending.acknowledged().await.unwrap_or_else(Response::Error),
                        Err(error) => Response::Error(error),
                    };
                    let _ = responses.send(frame_of(request_id, &response)).await;
                    drop(permit);
                });
                continue;
            }
            let log = log.clone();
            let gate = Arc::clone(&gate);
            tokio::spawn(async move {
                let response = handle(&log, &gate, request).await;
                let _ = responses.send(frame_of(request_id, &response)).await;
                drop(permit);
            });
        }
        buffer.reserve(READ_CHUNK_BYTES);
        if reader.read_buf(&mut buffer).await? == 0 {
            break;
        }
    }
    drop(responses);
    // In-flight requests hold senders: the writer finishes once they have answered.
    let _ = writing.await;
    debug!(%peer, "Native connection closed");
    Ok(())
}

/// Queues a response for the writer; false once the connection's writer is gone.
async fn respond(responses: &mpsc::Sender<Chunks>, request_id: u32, response: &Response) -> bool {
    responses.send(frame_of(request_id, response)).await.is_ok()
}

async fn handle(log: &Log, gate: &handlers::ReshardGate, request: Request) -> Response {
    let outcome = match request {
        Request::CreateStream(request) => handlers::create_stream(log, request).await,
        Request::DeleteStream(request) => handlers::delete_stream(log, request).await,
        Request::ListStreams(_) => handlers::list_streams(log),
        Request::DescribeStream(request) => handlers::describe_stream(log, &request),
        Request::Produce(request) => match handlers::enqueue_produce(log, gate, request).await {
            Ok(pending) => pending.acknowledged().await,
            Err(error) => Err(error),
        },
        Request::Fetch(request) => handlers::fetch(log, gate, request)
            .await
            .map(Response::FetchOk),
        Request::CommitCursor(request) => handlers::commit_cursor(log, request).await,
        Request::FetchCursor(request) => handlers::fetch_cursor(log, &request),
        Request::SplitShard(request) => handlers::split_shard(log, gate, request).await,
        Request::MergeShards(request) => handlers::merge_shards(log, gate, request).await,
        Request::Hello(_) => Err(ErrorResponse::new(
            ErrorCode::InvalidArgument,
            "Hello is answered first",
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
    while let Some(chunks) = outgoing.recv().await {
        write_all_vectored(&mut writer, &chunks).await?;
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
