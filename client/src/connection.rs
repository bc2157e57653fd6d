//! [`Client`]: one pipelined connection to a server.
//!
//! # Design
//!
//! - Requests get ids from an atomic counter (0 is skipped: a server uses it for errors that
//!   belong to no request). Each request registers a `oneshot` under its id *before* its frame
//!   is queued, so a response can never arrive for an unknown id.
//! - Frames go to one writer task through an unbounded channel, in the order requests are
//!   started; it writes whatever is queued with one vectored write. Queuing a frame is synchronous, so a caller that drops its future never leaves
//!   half a frame on the socket, and a producer that starts requests in order puts them on the
//!   wire in that order.
//! - One reader task splits response frames and routes each to its request's `oneshot`.
//! - When either task sees the connection end, it marks the connection closed and drops every
//!   registered sender: every pending request fails with [`ClientError::Disconnected`] at
//!   once, and every later one fails the same way without being sent.
//! - Every request has a deadline (the configured request timeout, plus a fetch's
//!   `max_wait_ms`), so nothing waits forever on a server that stopped answering.

use std::collections::{HashMap, VecDeque};
use std::io::IoSlice;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use protocol::native::auth;
use protocol::native::{
    Authenticate, BatchFrame, CommitCursor, CreateStream, DeleteStream, DescribeStream, ErrorCode,
    FRAME_BYTES_MAX, FRAME_HEADER_SIZE, Fetch, FetchCursor, FetchOk, Frame, Hello, HelloOk, Kind,
    ListStreams, MergeShards, PROTOCOL_VERSION, PROTOCOL_VERSION_MIN, Produce, ProduceRecord,
    ProduceResult, Request, Response, SplitShard, StreamDescription,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::error::ClientError;

/// Bytes read from the socket per read call.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// How a [`Client`] connects and how long it waits.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The name sent in the handshake (at most 128 bytes).
    pub client_name: String,
    /// Bound on the TCP connect plus the `Hello` handshake.
    pub connect_timeout: Duration,
    /// Bound on one request's round trip; a fetch gets its `max_wait_ms` on top.
    pub request_timeout: Duration,
    /// The access key to authenticate with when the server requires it. The secret never
    /// leaves the client: the handshake sends a proof over the server's nonce.
    pub credentials: Option<Credentials>,
    /// Speak TLS to a server configured with a certificate (`server.tls_cert_file`).
    pub tls: Option<crate::tls::ClientTls>,
}

/// An access key: the same pair that signs AWS requests to the server.
#[derive(Clone)]
pub struct Credentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
}

impl Credentials {
    /// The pair in `STRATA_ACCESS_KEY_ID` and `STRATA_SECRET_ACCESS_KEY`, the variables
    /// `strata serve` takes its key from, when both are set and not empty.
    #[must_use]
    pub fn from_env() -> Option<Self> {
        let var = |name| {
            std::env::var(name)
                .ok()
                .filter(|value: &String| !value.is_empty())
        };
        Some(Self {
            access_key_id: var("STRATA_ACCESS_KEY_ID")?,
            secret_access_key: var("STRATA_SECRET_ACCESS_KEY")?,
        })
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            client_name: format!("strata-client {}", env!("CARGO_PKG_VERSION")),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            credentials: Credentials::from_env(),
            tls: None,
        }
    }
}

/// What a response is routed as: a decoded response, or why it could not be decoded.
type Routed = Result<Response, ClientError>;

/// Requests waiting for their responses.
#[derive(Default)]
struct Pending {
    waiters: HashMap<u32, oneshot::Sender<Routed>>,
    /// Once set, nothing is registered again.
    closed: bool,
}

/// The state the reader and writer tasks share with requesters.
#[derive(Default)]
struct Shared {
    pending: Mutex<Pending>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // The map stays consistent even if a holder panicked: every operation is one call.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the connection closed and fails every pending request (dropping a sender makes
    /// its receiver report [`ClientError::Disconnected`]).
    fn close(&self) {
        let waiters = {
            let mut pending = self.lock();
            pending.closed = true;
            std::mem::take(&mut pending.waiters)
        };
        if !waiters.is_empty() {
            debug!(
                pending = waiters.len(),
                "Connection closed with requests pending"
            );
        }
        drop(waiters);
    }

    fn is_closed(&self) -> bool {
        self.lock().closed
    }

    fn route(&self, request_id: u32, routed: Routed) {
        let waiter = self.lock().waiters.remove(&request_id);
        match waiter {
            // The requester may have given up (timeout, dropped future): that is fine.
            Some(waiter) => {
                let _ = waiter.send(routed);
            }
            None => debug!(request_id, "Response for a request nobody waits for"),
        }
    }

    fn forget(&self, request_id: u32) {
        self.lock().waiters.remove(&request_id);
    }
}

/// The sending side of a connection: what starting a request needs.
struct Conn {
    shared: Arc<Shared>,
    outgoing: mpsc::UnboundedSender<Bytes>,
    next_id: AtomicU32,
    request_timeout: Duration,
    /// The server's limit on a request frame.
    frame_bytes_max: AtomicU32,
}

impl Conn {
    fn next_id(&self) -> u32 {
        loop {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            if id != 0 {
                return id;
            }
        }
    }

    /// Registers the request and queues its frame; the response is awaited separately.
    fn start(&self, request: &Request, deadline: Instant) -> Result<PendingResponse, ClientError> {
        let frame_bytes = FRAME_HEADER_SIZE + request.encoded_size();
        let frame_bytes_max = self.frame_bytes_max.load(Ordering::Relaxed);
        if frame_bytes > frame_bytes_max as usize {
            return Err(ClientError::InvalidArgument(format!(
                "a {frame_bytes}-byte request exceeds the server's {frame_bytes_max}-byte frame limit"
            )));
        }
        self.queue(deadline, |id| {
            let mut out = BytesMut::with_capacity(frame_bytes);
            request.encode_frame(id, &mut out);
            out.freeze()
        })
    }

    /// As [`Conn::start`], for a `ProduceBatch` frame a builder already wrote; also returns
    /// the frame as sent (shared, not copied).
    fn start_batch(
        &self,
        frame: BatchFrame,
        deadline: Instant,
    ) -> Result<(PendingResponse, Bytes), ClientError> {
        let frame_bytes_max = self.frame_bytes_max.load(Ordering::Relaxed);
        if frame.len() > frame_bytes_max as usize {
            return Err(ClientError::InvalidArgument(format!(
                "a {}-byte batch exceeds the server's {frame_bytes_max}-byte frame limit",
                frame.len()
            )));
        }
        let mut sent = Bytes::new();
        let pending = self.queue(deadline, |id| {
            sent = frame.into_frame(id);
            sent.clone()
        })?;
        Ok((pending, sent))
    }

    /// Registers a request id, then queues the frame `encode` makes for it.
    fn queue(
        &self,
        deadline: Instant,
        encode: impl FnOnce(u32) -> Bytes,
    ) -> Result<PendingResponse, ClientError> {
        let id = self.next_id();
        let (sender, receiver) = oneshot::channel();
        {
            let mut pending = self.shared.lock();
            if pending.closed {
                return Err(ClientError::Disconnected);
            }
            pending.waiters.insert(id, sender);
        }
        if self.outgoing.send(encode(id)).is_err() {
            self.shared.forget(id);
            return Err(ClientError::Disconnected);
        }
        Ok(PendingResponse {
            id,
            receiver,
            shared: Arc::clone(&self.shared),
            deadline,
        })
    }
}

/// A request on the wire whose response has not been awaited yet. Dropping it forgets the
/// request (its response, if it comes, is discarded).
pub(crate) struct PendingResponse {
    id: u32,
    receiver: oneshot::Receiver<Routed>,
    shared: Arc<Shared>,
    deadline: Instant,
}

impl PendingResponse {
    /// Waits for the response; an error response becomes [`ClientError::Server`].
    pub(crate) async fn wait(mut self) -> Result<Response, ClientError> {
        match tokio::time::timeout_at(self.deadline, &mut self.receiver).await {
            Ok(Ok(Ok(Response::Error(error)))) => Err(error.into()),
            Ok(Ok(routed)) => routed,
            Ok(Err(_)) => Err(ClientError::Disconnected),
            Err(_) => Err(ClientError::Timeout),
        }
    }
}

impl Drop for PendingResponse {
    fn drop(&mut self) {
        self.shared.forget(self.id);
    }
}

struct Inner {
    conn: Conn,
    hello: HelloOk,
    reader: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The writer ends by itself once `conn.outgoing` is dropped.
        self.reader.abort();
    }
}

/// A connection to a strata server speaking the native protocol.
///
/// Cheap to clone: clones share the connection, and requests from every clone are pipelined
/// on it. The connection closes when the last clone is dropped. A client does not reconnect:
/// once [`ClientError::Disconnected`] is returned, connect a new one.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("server", &self.inner.hello.server_name)
            .field("version", &self.inner.hello.version)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// Answers the server's challenge with a proof by `credentials`.
async fn authenticate(
    conn: &Conn,
    credentials: Option<&Credentials>,
    nonce: &[u8; auth::NONCE_BYTES],
    deadline: Instant,
) -> Result<(), ClientError> {
    let Some(credentials) = credentials else {
        return Err(ClientError::Server {
            code: Some(ErrorCode::AuthenticationRequired),
            raw_code: ErrorCode::AuthenticationRequired.as_u32(),
            message: "the server requires authentication: set STRATA_ACCESS_KEY_ID and \
                      STRATA_SECRET_ACCESS_KEY (or ClientConfig::credentials)"
                .to_owned(),
        });
    };
    let request = Request::Authenticate(Authenticate {
        access_key_id: credentials.access_key_id.clone(),
        proof: auth::proof(
            &credentials.secret_access_key,
            nonce,
            &credentials.access_key_id,
        ),
    });
    match conn.start(&request, deadline)?.wait().await? {
        Response::AuthenticateOk => Ok(()),
        other => Err(unexpected("AuthenticateOk", &other)),
    }
}

impl Client {
    /// Connects with [`ClientConfig::default`].
    ///
    /// # Errors
    /// [`ClientError::Io`] if the connection is refused, [`ClientError::Timeout`] if the
    /// connect and handshake take longer than the connect timeout, and
    /// [`ClientError::Server`] if the server refuses the handshake.
    pub async fn connect(address: impl ToSocketAddrs) -> Result<Self, ClientError> {
        Self::connect_with(address, ClientConfig::default()).await
    }

    /// Connects, then performs the `Hello` handshake, both within `config.connect_timeout`.
    ///
    /// # Errors
    /// As [`Self::connect`].
    pub async fn connect_with(
        address: impl ToSocketAddrs,
        config: ClientConfig,
    ) -> Result<Self, ClientError> {
        let deadline = Instant::now() + config.connect_timeout;
        let socket = tokio::time::timeout_at(deadline, TcpStream::connect(address))
            .await
            .map_err(|_| ClientError::Timeout)??;
        socket.set_nodelay(true)?;
        let shared = Arc::new(Shared::default());
        let (outgoing, queued) = mpsc::unbounded_channel();
        let reader = match &config.tls {
            None => {
                let (reader, writer) = socket.into_split();
                tokio::spawn(write_frames(writer, queued, Arc::clone(&shared)));
                tokio::spawn(read_frames(reader, Arc::clone(&shared)))
            }
            Some(tls) => {
                let stream = tokio::time::timeout_at(deadline, tls.connect(socket))
                    .await
                    .map_err(|_| ClientError::Timeout)??;
                let (reader, writer) = tokio::io::split(stream);
                tokio::spawn(write_frames(writer, queued, Arc::clone(&shared)));
                tokio::spawn(read_frames(reader, Arc::clone(&shared)))
            }
        };
        let conn = Conn {
            shared,
            outgoing,
            next_id: AtomicU32::new(1),
            request_timeout: config.request_timeout,
            frame_bytes_max: AtomicU32::new(FRAME_BYTES_MAX),
        };
        let hello = Request::Hello(Hello {
            protocol_version_min: PROTOCOL_VERSION_MIN,
            protocol_version_max: PROTOCOL_VERSION,
            client_name: config.client_name,
        });
        // On failure `reader` is aborted here and the writer ends with `conn`.
        let response = match conn.start(&hello, deadline) {
            Ok(pending) => pending.wait().await,
            Err(error) => Err(error),
        };
        let hello = match response {
            Ok(Response::HelloOk(ok)) => ok,
            Ok(other) => {
                reader.abort();
                return Err(unexpected("HelloOk", &other));
            }
            Err(error) => {
                reader.abort();
                return Err(error);
            }
        };
        if let Some(nonce) = hello.auth_nonce
            && let Err(error) =
                authenticate(&conn, config.credentials.as_ref(), &nonce, deadline).await
        {
            reader.abort();
            return Err(error);
        }
        conn.frame_bytes_max.store(
            hello.frame_bytes_max.min(FRAME_BYTES_MAX),
            Ordering::Relaxed,
        );
        debug!(server = %hello.server_name, version = hello.version, "Connected");
        Ok(Self {
            inner: Arc::new(Inner {
                conn,
                hello,
                reader,
            }),
        })
    }

    /// The server's handshake answer: negotiated version, name and frame limit.
    #[must_use]
    pub fn server(&self) -> &HelloOk {
        &self.inner.hello
    }

    /// Whether the connection has closed; every request now fails with
    /// [`ClientError::Disconnected`].
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.inner.conn.shared.is_closed()
    }

    /// Starts a request: registered and queued for the socket when this returns. `extra` is
    /// added to the request timeout.
    pub(crate) fn start(
        &self,
        request: &Request,
        extra: Duration,
    ) -> Result<PendingResponse, ClientError> {
        let conn = &self.inner.conn;
        conn.start(request, Instant::now() + conn.request_timeout + extra)
    }

    /// Starts a `ProduceBatch` whose frame a [`protocol::native::BatchBuilder`] wrote.
    pub(crate) fn start_batch(
        &self,
        frame: BatchFrame,
    ) -> Result<(PendingResponse, Bytes), ClientError> {
        let conn = &self.inner.conn;
        conn.start_batch(frame, Instant::now() + conn.request_timeout)
    }

    /// Sends any request and waits for its response. An error response is returned as
    /// [`ClientError::Server`]; any other response is returned as is.
    ///
    /// # Errors
    /// [`ClientError::Server`], [`ClientError::Disconnected`], [`ClientError::Timeout`],
    /// [`ClientError::Protocol`], or [`ClientError::InvalidArgument`] for a request larger
    /// than the server's frame limit.
    pub async fn call(&self, request: Request) -> Result<Response, ClientError> {
        let extra = match &request {
            Request::Fetch(fetch) => Duration::from_millis(u64::from(fetch.max_wait_ms)),
            Request::QueueReceive(receive) => Duration::from_secs(u64::from(receive.wait_s)),
            _ => Duration::ZERO,
        };
        self.start(&request, extra)?.wait().await
    }

    /// Creates a stream of `shards` shards keeping records for `retention_hours`.
    ///
    /// # Errors
    /// As [`Self::call`]; `StreamExists` if the name is taken.
    pub async fn create_stream(
        &self,
        name: &str,
        shards: u32,
        retention_hours: u32,
    ) -> Result<(), ClientError> {
        let request = Request::CreateStream(CreateStream {
            name: name.into(),
            shard_count: shards,
            retention_hours,
        });
        match self.call(request).await? {
            Response::CreateStreamOk => Ok(()),
            other => Err(unexpected("CreateStreamOk", &other)),
        }
    }

    /// Deletes a stream and its records.
    ///
    /// # Errors
    /// As [`Self::call`]; `StreamNotFound` if there is no such stream.
    pub async fn delete_stream(&self, name: &str) -> Result<(), ClientError> {
        let request = Request::DeleteStream(DeleteStream { name: name.into() });
        match self.call(request).await? {
            Response::DeleteStreamOk => Ok(()),
            other => Err(unexpected("DeleteStreamOk", &other)),
        }
    }

    /// Every stream's name.
    ///
    /// # Errors
    /// As [`Self::call`].
    pub async fn list_streams(&self) -> Result<Vec<String>, ClientError> {
        match self.call(Request::ListStreams(ListStreams {})).await? {
            Response::StreamList(list) => Ok(list.names),
            other => Err(unexpected("StreamList", &other)),
        }
    }

    /// One stream's retention and shards (with their hash ranges and lineage).
    ///
    /// # Errors
    /// As [`Self::call`]; `StreamNotFound` if there is no such stream.
    pub async fn describe_stream(&self, name: &str) -> Result<StreamDescription, ClientError> {
        let request = Request::DescribeStream(DescribeStream { name: name.into() });
        match self.call(request).await? {
            Response::StreamDescription(description) => Ok(description),
            other => Err(unexpected("StreamDescription", &other)),
        }
    }

    /// Splits open shard `shard` at `new_starting_hash_key`, which must lie above the shard's
    /// first hash key and at most its last; returns the children, `[lower, upper]`. The upper
    /// child's range starts at `new_starting_hash_key`.
    ///
    /// The shard closes: its records stay readable, and a [`crate::ShardConsumer`] reports the
    /// children once it has read them all. Records with a partition key produced after this
    /// returns go to the children.
    ///
    /// # Errors
    /// As [`Self::call`]; `ShardNotFound`, `ShardClosed` (already split or merged) or
    /// `InvalidArgument` (the hash key is outside the shard's range).
    pub async fn split_shard(
        &self,
        stream: &str,
        shard: u32,
        new_starting_hash_key: u128,
    ) -> Result<[u32; 2], ClientError> {
        let request = Request::SplitShard(SplitShard {
            stream: stream.into(),
            shard,
            new_starting_hash_key,
        });
        match self.call(request).await? {
            Response::SplitShardOk(ok) => Ok(ok.children),
            other => Err(unexpected("SplitShardOk", &other)),
        }
    }

    /// Merges open shards `shard` and `adjacent_shard`, whose hash ranges must touch, into one
    /// new shard, which is returned; `shard` becomes its parent and `adjacent_shard` its
    /// adjacent parent.
    ///
    /// # Errors
    /// As [`Self::call`]; `ShardNotFound`, `ShardClosed`, or `InvalidArgument` (the shards
    /// are not adjacent, or are the same shard).
    pub async fn merge_shards(
        &self,
        stream: &str,
        shard: u32,
        adjacent_shard: u32,
    ) -> Result<u32, ClientError> {
        let request = Request::MergeShards(MergeShards {
            stream: stream.into(),
            shard,
            adjacent_shard,
        });
        match self.call(request).await? {
            Response::MergeShardsOk(ok) => Ok(ok.child),
            other => Err(unexpected("MergeShardsOk", &other)),
        }
    }

    /// Saves consumer `name`'s position in a shard. [`crate::ShardConsumer`] stores the next
    /// offset to read.
    ///
    /// # Errors
    /// As [`Self::call`].
    pub async fn commit_cursor(
        &self,
        name: &str,
        stream: &str,
        shard: u32,
        offset: u64,
    ) -> Result<(), ClientError> {
        let request = Request::CommitCursor(CommitCursor {
            name: name.into(),
            stream: stream.into(),
            shard,
            offset,
        });
        match self.call(request).await? {
            Response::CommitCursorOk => Ok(()),
            other => Err(unexpected("CommitCursorOk", &other)),
        }
    }

    /// Loads consumer `name`'s position in a shard; `None` if it never committed one.
    ///
    /// # Errors
    /// As [`Self::call`].
    pub async fn fetch_cursor(
        &self,
        name: &str,
        stream: &str,
        shard: u32,
    ) -> Result<Option<u64>, ClientError> {
        let request = Request::FetchCursor(FetchCursor {
            name: name.into(),
            stream: stream.into(),
            shard,
        });
        match self.call(request).await? {
            Response::CursorPosition(position) => Ok(position.offset),
            other => Err(unexpected("CursorPosition", &other)),
        }
    }

    /// Appends records in one request; the results are in record order.
    ///
    /// # Errors
    /// As [`Self::call`]. The request is all or nothing from the client's view: on an error
    /// no result is known (a timeout or disconnect may still have appended some records).
    pub async fn produce(
        &self,
        stream: &str,
        records: Vec<ProduceRecord>,
    ) -> Result<Vec<ProduceResult>, ClientError> {
        let count = records.len();
        let request = Request::Produce(Produce {
            stream: stream.into(),
            records,
        });
        produce_results(self.start(&request, Duration::ZERO)?, count).await
    }

    /// Reads records from one shard, waiting up to `max_wait_ms` for a first one.
    ///
    /// # Errors
    /// As [`Self::call`].
    pub async fn fetch(&self, fetch: Fetch) -> Result<FetchOk, ClientError> {
        match self.call(Request::Fetch(fetch)).await? {
            Response::FetchOk(ok) => Ok(ok),
            other => Err(unexpected("FetchOk", &other)),
        }
    }
}

/// Waits for a started `Produce` and checks it answered once per record.
pub(crate) async fn produce_results(
    pending: PendingResponse,
    count: usize,
) -> Result<Vec<ProduceResult>, ClientError> {
    match pending.wait().await? {
        Response::ProduceOk(ok) if ok.results.len() == count => Ok(ok.results),
        Response::ProduceOk(ok) => Err(ClientError::UnexpectedResponse(format!(
            "{} results for {count} records",
            ok.results.len()
        ))),
        other => Err(unexpected("ProduceOk", &other)),
    }
}

pub(crate) fn unexpected(expected: &str, got: &Response) -> ClientError {
    ClientError::UnexpectedResponse(format!("expected {expected}, got {:?}", got.op()))
}

/// Frames written with one vectored write at most.
const WRITE_FRAMES_MAX: usize = 64;

/// Writes queued frames in order, as many as are queued (up to [`WRITE_FRAMES_MAX`]) with
/// one vectored write: pipelined requests share syscalls and no frame is copied again.
async fn write_frames(
    mut writer: impl AsyncWrite + Unpin,
    mut queued: mpsc::UnboundedReceiver<Bytes>,
    shared: Arc<Shared>,
) {
    let mut frames: VecDeque<Bytes> = VecDeque::with_capacity(WRITE_FRAMES_MAX);
    while let Some(frame) = queued.recv().await {
        frames.push_back(frame);
        while frames.len() < WRITE_FRAMES_MAX {
            match queued.try_recv() {
                Ok(frame) => frames.push_back(frame),
                Err(_) => break,
            }
        }
        if let Err(error) = write_all_vectored(&mut writer, &mut frames).await {
            warn!(%error, "Writing to the server failed; closing the connection");
            shared.close();
            return;
        }
    }
    let _ = writer.shutdown().await;
}

/// Writes every byte of `frames`, emptying it.
async fn write_all_vectored(
    writer: &mut (impl AsyncWrite + Unpin),
    frames: &mut VecDeque<Bytes>,
) -> std::io::Result<()> {
    if !writer.is_write_vectored() && frames.len() > 1 {
        // A writer that would take one slice per call (TLS) gets them joined, so small
        // frames still share a record and a syscall.
        let mut joined = BytesMut::with_capacity(frames.iter().map(Bytes::len).sum());
        for frame in frames.drain(..) {
            joined.extend_from_slice(&frame);
        }
        frames.push_back(joined.freeze());
    }
    while !frames.is_empty() {
        let slices: Vec<IoSlice<'_>> = frames.iter().map(|frame| IoSlice::new(frame)).collect();
        let mut written = writer.write_vectored(&slices).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while let Some(front) = frames.front_mut() {
            if written < front.len() {
                bytes::Buf::advance(front, written);
                break;
            }
            written -= front.len();
            frames.pop_front();
        }
    }
    writer.flush().await
}

async fn read_frames(mut reader: impl AsyncRead + Unpin, shared: Arc<Shared>) {
    let mut buffer = BytesMut::with_capacity(READ_CHUNK_BYTES);
    loop {
        loop {
            let frame = match Frame::split_from(&mut buffer, FRAME_BYTES_MAX) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error) => {
                    warn!(%error, "The server's byte stream is out of sync; closing");
                    shared.close();
                    return;
                }
            };
            if frame.kind != Kind::Response {
                warn!("The server sent a request frame; closing");
                shared.close();
                return;
            }
            let routed = Response::decode_shared(frame.op, &frame.body).map_err(ClientError::from);
            if frame.request_id == 0 {
                // An error for no particular request: the server is about to hang up.
                warn!(response = ?routed, "The server reported a connection error");
                continue;
            }
            shared.route(frame.request_id, routed);
        }
        buffer.reserve(READ_CHUNK_BYTES);
        match reader.read_buf(&mut buffer).await {
            Ok(0) => {
                debug!("The server closed the connection");
                break;
            }
            Ok(_) => {}
            Err(error) => {
                debug!(%error, "Reading from the server failed");
                break;
            }
        }
    }
    shared.close();
}
