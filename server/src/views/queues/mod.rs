//! SQS semantics on the log, in domain words (no HTTP, JSON or AWS shapes).
//!
//! # Layout
//!
//! - A queue is an engine stream `sqs:<name>` owned by [`OWNER`], with one shard, plus that
//!   stream's keyed state ([`storage::State`]).
//! - Sending appends one record per message ([`message::StoredMessage`]; a batch is one
//!   append). The engine assigns the offset, and the offset is the message's identity: the
//!   receipt handle ([`receipt`]) and per-message state name it.
//! - The state holds, under these keys ([`index`]):
//!   - `c`: the configuration ([`attributes::QueueConfig`]: attributes, tags, timestamps);
//!   - `w`: the low watermark, u64 big-endian: every message below it is finished (deleted,
//!     expired, moved or purged). Keys below it are deleted in the change that moves it, so
//!     the state stays proportional to the unfinished messages;
//!   - `m/<offset u64 BE>`: only for messages that changed: received (visible-at, receive
//!     count, receipt generation, first receive) or finished (a tombstone);
//!   - `d/<SHA-256 of scope and id>`: FIFO deduplication ids, each with its original
//!     message and an expiry 5 minutes after the send; expired ones are deleted lazily by
//!     later changes;
//!   - `p`: the time of the last purge (PurgeQueue's 60-second window holds across restarts);
//!   - `r`: the time of the last rewind ([`replay`]): handles issued until then are stale;
//!   - `a/<attempt id>`: FIFO receives by request attempt id, for 5 minutes, so a retry after
//!     a restart returns the same messages; expired ones are deleted by the next one kept.
//!   - `t/<handle>`: message move tasks from this queue ([`moves`]), resumed at open.
//! - The log's properties (namespace `sqs-deleted`) hold the deletion time of each queue
//!   deleted less than 60 seconds ago, so `QueueDeletedRecently` holds across restarts.
//! - In memory, per queue ([`index::Index`], behind a mutex never held across an await or
//!   I/O): the ready messages by offset (FIFO: per group, with the heads of unblocked
//!   groups), a timer set of delayed and in-flight messages, the counts. It is rebuilt at
//!   open from the state and the records from the watermark to the tail, and brought up to
//!   the tail by every operation (so records another task appended, a dead-letter move for
//!   instance, are found without being announced).
//!
//! # Ordering and durability
//!
//! A change is computed on the index under the queue's writer lock (an async mutex) and
//! queued ([`storage::State::enqueue_change`]) before the lock is released, so changes
//! commit in the order the index made them while their fsyncs are shared with everything
//! else in flight. A call answers only after its change is acknowledged under the log's
//! `fsync` setting: a receive returns its messages, a delete its success, a send its ids
//! only then. A change that fails makes the index be rebuilt from what is durable.
//!
//! A dead-letter move appends the messages to the dead-letter queue, and only once that is
//! acknowledged finishes them in the source: a crash in between leaves a message in both,
//! never in neither.
//!
//! # Time
//!
//! Every timestamp and deadline reads the engine clock ([`storage::Log::now_ms`]), so
//! tests drive visibility, delays, retention and deduplication with a `ManualClock`. A long
//! poll *sleeps* with `tokio::time` (so tests can pause tokio's clock): it waits for a send
//! (a `Notify`), for the next timer by the engine clock, or for the end of its wait,
//! measured by tokio's clock; it never polls in a loop.

pub mod attributes;
mod codec;
pub mod error;
mod index;
pub mod limits;
mod live;
pub mod message;
mod moves;
pub mod receipt;
mod replay;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use bytes::Bytes;
use md5::Md5;
use sha2::{Digest, Sha256};
use storage::{
    EncodedRecords, EncodedRecordsBuilder, Log, NewRecord, Owner, ReadLimits, State, StateChange,
    StreamInfo,
};
use tokio::sync::Notify;

pub use self::attributes::{
    AttributeChanges, DedupScope, QueueAttributes, QueueConfig, Redrive, RedriveAllow,
    ThroughputLimit,
};
pub use self::codec::DecodeError;
pub use self::error::{Error, Result};
pub use self::index::Counts;
use self::index::{Dedup, Index, Mark, Status};
pub use self::message::{AttributeValue, MessageAttribute, MessageId, SharedBody, StoredMessage};
use self::message::{Encoding, Summary};
pub use self::moves::MoveTaskStatus;
use self::receipt::Receipt;
pub use self::replay::{PeekState, RewindTo};

/// The owner of the engine streams this view serves.
pub const OWNER: Owner = Owner::from_static("sqs");

/// Engine stream names of queues start with this (queues and Kinesis streams share the
/// engine's name space; the owner, not the name, says which view a stream belongs to).
const STREAM_PREFIX: &str = "sqs:";

/// The engine stream holding bodies shared by many queues' messages (a name no queue's
/// stream can have: queue names have no `~`). Made on first use.
pub const SHARED_BODIES_STREAM: &str = "sqs~bodies";

/// Shared bodies are kept for the longest retention a queue can have, and the margin: every
/// message naming one expires first.
const SHARED_BODIES_RETENTION: Duration =
    Duration::from_secs(limits::RETENTION_S_MAX as u64 + RETENTION_MARGIN_S);

/// Bodies of one append to the shared body stream at most: a receive reads (and checks) the
/// whole batch its body is in.
const SHARED_BODIES_BATCH_BYTES: usize = 16 * 1024;

/// The property holding the receipt signing key.
const KEY_NAMESPACE: &str = "sqs";
const KEY_NAME: &str = "receipt_key";

/// The log-property namespace of recently deleted queue names (value: the deletion time, i64
/// ms big-endian), so `QueueDeletedRecently` holds across a restart.
const DELETED_NAMESPACE: &str = "sqs-deleted";

/// The state key of the time of the queue's last purge (i64 ms big-endian), so
/// `PurgeQueueInProgress` holds across a restart.
const PURGED_KEY: &[u8] = b"p";

/// The engine keeps a queue's records this much longer than its retention period, so a
/// message's record is never deleted before the view sees it expired.
const RETENTION_MARGIN_S: u64 = 3600;

/// One read of the log while indexing.
const INDEX_READ_LIMITS: ReadLimits = ReadLimits {
    records_max: 1024,
    bytes_max: 8 << 20,
};

/// Whether an engine stream is a queue's.
#[must_use]
pub fn is_queue(info: &StreamInfo) -> bool {
    info.owner == OWNER
}

/// The view's settings.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The key receipt handles are signed with. `None`: the one kept in the log's properties
    /// (made on first open), so handles survive restarts.
    pub receipt_key: Option<[u8; 32]>,
}

/// A queue as GetQueueAttributes and friends describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueInfo {
    /// Its name.
    pub name: String,
    /// Its engine stream's id (a recreated queue has another).
    pub stream_id: u64,
    /// Its configuration (attributes, tags, created and modified times in ms).
    pub config: QueueConfig,
    /// Its approximate message counts.
    pub counts: Counts,
}

/// A message to send.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewMessage {
    /// The message id (`None`: a random one). A topic's deliveries give one derived from
    /// the subscription and the message, so a redelivery is recognised
    /// ([`Queues::present_ids`]).
    pub id: Option<MessageId>,
    /// The body (the API layer checks its characters).
    pub body: Bytes,
    /// Message attributes (shared: a topic's deliveries of one message hold one list).
    pub attributes: Arc<[MessageAttribute]>,
    /// The tracing header system attribute.
    pub trace_header: Option<String>,
    /// Per-message delay in seconds (standard queues only; `None`: the queue's).
    pub delay_s: Option<u32>,
    /// The message group (required on FIFO queues; recorded on standard ones).
    pub group_id: Option<String>,
    /// The deduplication id (FIFO queues only).
    pub dedup_id: Option<String>,
    /// The body's MD5, when the sender already has it (a topic computes it once for every
    /// queue a raw message goes to); `None`: the view computes it. Never from a client.
    pub body_md5: Option<[u8; 16]>,
    /// Where the body is kept once for many queues ([`Queues::share_bodies`]); the
    /// record then names it instead of holding it (`body` still holds it for the size and
    /// digests). A topic's raw deliveries share one; never from a client.
    pub shared_body: Option<SharedBody>,
}

impl NewMessage {
    /// A message with this body and nothing else.
    #[cfg(test)]
    pub fn body(body: impl Into<Bytes>) -> Self {
        Self {
            body: body.into(),
            ..Self::default()
        }
    }

    /// Bytes it counts toward the queue's maximum message size: body and attributes.
    #[must_use]
    pub fn size(&self) -> usize {
        self.body.len()
            + self
                .attributes
                .iter()
                .map(MessageAttribute::size)
                .sum::<usize>()
    }
}

/// What a send stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    /// The message id (a duplicate's is the original's).
    pub message_id: MessageId,
    /// FIFO queues: the sequence number.
    pub sequence_number: Option<String>,
    /// The message's offset.
    pub offset: u64,
    /// A FIFO duplicate within the deduplication window: nothing was stored.
    pub duplicate: bool,
    /// The MD5 of the body this send gave (a duplicate's too), computed once for the record
    /// and the answer.
    pub body_md5: [u8; 16],
}

/// How to receive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiveOptions {
    /// Most messages to return (1 to 10).
    pub max_messages: u32,
    /// Visibility timeout in seconds for these messages (`None`: the queue's).
    pub visibility_timeout_s: Option<u32>,
    /// Longest wait in seconds for a message (`None`: the queue's receive wait time).
    pub wait_s: Option<u32>,
    /// FIFO queues: the receive request attempt id. A retry with the same id within 5
    /// minutes returns the same messages with the same receipt handles (their visibility
    /// timeout starting again) as long as none of them was deleted or received again;
    /// ignored on standard queues.
    pub attempt_id: Option<String>,
}

impl Default for ReceiveOptions {
    fn default() -> Self {
        Self {
            max_messages: 1,
            visibility_timeout_s: None,
            wait_s: None,
            attempt_id: None,
        }
    }
}

/// A received message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The message as stored (id, body, attributes, sent time, group, dedup id, origin).
    pub message: StoredMessage,
    /// Its offset in the queue.
    pub offset: u64,
    /// The handle that deletes it or changes its visibility (until it is received again).
    pub receipt_handle: String,
    /// Receives so far, this one included.
    pub receive_count: u32,
    /// The first receive's time (ms since the epoch).
    pub first_receive_ms: i64,
    /// FIFO queues: its sequence number.
    pub sequence_number: Option<String>,
}

/// A FIFO message's sequence number: the offset plus 10^19, in decimal (20 digits, growing
/// with the offset).
#[must_use]
pub fn sequence_number(offset: u64) -> String {
    (10_000_000_000_000_000_000_u128 + u128::from(offset)).to_string()
}

/// The deduplication key of id `id` of a message of `group` under `scope`.
fn dedup_hash(scope: DedupScope, group: &str, id: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    match scope {
        DedupScope::Queue => hasher.update(b"q\0"),
        DedupScope::MessageGroup => {
            hasher.update(b"g\0");
            hasher.update((group.len() as u64).to_be_bytes());
            hasher.update(group.as_bytes());
        }
    }
    hasher.update(id.as_bytes());
    <[u8; 32]>::from(hasher.finalize())
}

/// A FIFO record's deduplication entry, as its send made it (for [`Index::recover_dedup`]).
/// A message a send accepted, borrowed: what its record holds beyond the message.
struct Accepted<'m> {
    message: &'m NewMessage,
    id: MessageId,
    visible_from_ms: i64,
    body_md5: [u8; 16],
    /// FIFO queues: the deduplication id (given, or the body's hash) and its hash.
    dedup_id: Option<Cow<'m, str>>,
    hash: Option<[u8; 32]>,
}

impl Accepted<'_> {
    /// Its record, sent at `sent_ms`.
    fn encoding(&self, sent_ms: i64) -> Encoding<'_> {
        Encoding {
            id: self.id,
            sent_ms,
            visible_from_ms: self.visible_from_ms,
            body_md5: Some(self.body_md5),
            group_id: self.message.group_id.as_deref(),
            dedup_id: self.dedup_id.as_deref(),
            trace_header: self.message.trace_header.as_deref(),
            moved_from: None,
            attributes: &self.message.attributes,
            body: &self.message.body,
            shared_body: self.message.shared_body,
        }
    }

    /// What the index keeps of it: what [`Summary::decode`] reads from its record.
    fn summary(&self, sent_ms: i64) -> Summary {
        Summary {
            id: self.id,
            sent_ms,
            visible_from_ms: self.visible_from_ms,
            group_id: self.message.group_id.clone(),
            dedup_id: self.dedup_id.as_deref().map(str::to_owned),
        }
    }
}

fn dedup_of_record(scope: DedupScope, offset: u64, summary: &Summary) -> Option<([u8; 32], Dedup)> {
    let id = summary.dedup_id.as_deref()?;
    let group = summary.group_id.as_deref()?;
    Some((
        dedup_hash(scope, group, id),
        Dedup {
            offset,
            message_id: summary.id.0,
            expires_ms: summary.sent_ms.saturating_add(limits::DEDUP_WINDOW_MS),
        },
    ))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A time (i64 ms big-endian) kept under `key` in a queue's state, if any.
fn load_ms(queue: &str, state: &State, key: &[u8]) -> Result<Option<i64>> {
    match state.get(key).map_err(|e| storage_error(queue, &e))? {
        Some(bytes) => <[u8; 8]>::try_from(&bytes[..])
            .map(|b| Some(i64::from_be_bytes(b)))
            .map_err(|_| {
                Error::Internal(format!("queue {queue}: a time in its state is undecodable"))
            }),
        None => Ok(None),
    }
}

fn storage_error(queue: &str, error: &storage::Error) -> Error {
    match error {
        storage::Error::StreamNotFound(_) => Error::QueueNotFound(queue.to_string()),
        storage::Error::RecordTooLarge { size, max } => Error::MessageTooLong {
            size: *size,
            max: u32::try_from(*max).unwrap_or(u32::MAX),
        },
        other => Error::internal(other),
    }
}

/// Checks a queue name: 1 to 80 characters of `A-Za-z0-9_-`, a `.fifo` suffix included.
pub fn check_name(name: &str) -> Result<()> {
    let stem = name.strip_suffix(".fifo").unwrap_or(name);
    if name.is_empty()
        || stem.is_empty()
        || name.len() > limits::QUEUE_NAME_CHARS_MAX
        || !stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::InvalidValue(format!(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length ({name})"
        )));
    }
    Ok(())
}

/// One queue: its stream, state, configuration and index.
pub(crate) struct Queue {
    name: String,
    stream: String,
    stream_id: u64,
    state: State,
    config: Mutex<QueueConfig>,
    index: Mutex<Index>,
    /// Held while a change is computed and queued (never across its fsync).
    writer: Arc<tokio::sync::Mutex<()>>,
    /// FIFO queues: one send at a time, so deduplication sees every earlier send.
    sending: tokio::sync::Mutex<()>,
    /// Woken when messages may have become receivable (a send, a visibility change to now,
    /// a FIFO delete unblocking a group, the queue's deletion).
    arrived: Notify,
    deleted: AtomicBool,
    purged_ms: Mutex<Option<i64>>,
    /// When the queue was last rewound (0: never); handles issued until then are stale.
    rewound_ms: Mutex<i64>,
    /// FIFO queues: receives by request attempt id, for 5 minutes (durable, `a/<id>`).
    attempts: Mutex<HashMap<String, Attempt>>,
}

/// A FIFO receive remembered by its request attempt id (state key `a/<id>`).
struct Attempt {
    expires_ms: i64,
    issued_ms: i64,
    taken: Vec<Taken>,
}

/// The prefix of remembered receive attempts' state keys.
const ATTEMPT_PREFIX: &[u8] = b"a/";
const ATTEMPT_VERSION: u8 = 1;

fn attempt_key(id: &str) -> Bytes {
    let mut key = Vec::with_capacity(ATTEMPT_PREFIX.len() + id.len());
    key.extend_from_slice(ATTEMPT_PREFIX);
    key.extend_from_slice(id.as_bytes());
    Bytes::from(key)
}

impl Attempt {
    fn to_bytes(&self) -> Bytes {
        let mut out = Vec::with_capacity(21 + self.taken.len() * 24);
        out.push(ATTEMPT_VERSION);
        out.extend_from_slice(&self.expires_ms.to_be_bytes());
        out.extend_from_slice(&self.issued_ms.to_be_bytes());
        out.extend_from_slice(&u32::try_from(self.taken.len()).unwrap_or(0).to_be_bytes());
        for t in &self.taken {
            out.extend_from_slice(&t.offset.to_be_bytes());
            out.extend_from_slice(&t.receive_count.to_be_bytes());
            out.extend_from_slice(&t.generation.to_be_bytes());
            out.extend_from_slice(&t.first_receive_ms.to_be_bytes());
        }
        Bytes::from(out)
    }

    fn decode(bytes: &[u8]) -> std::result::Result<Self, DecodeError> {
        let mut r = codec::Reader::new("receive attempt", bytes);
        if r.u8()? != ATTEMPT_VERSION {
            return Err(r.error("unknown version"));
        }
        let expires_ms = r.i64()?;
        let issued_ms = r.i64()?;
        let count = r.u32()?;
        if usize::try_from(count).unwrap_or(usize::MAX) > limits::RECEIVE_MESSAGES_MAX as usize {
            return Err(r.error("too many messages"));
        }
        let mut taken = Vec::new();
        for _ in 0..count {
            taken.push(Taken {
                offset: r.u64()?,
                receive_count: r.u32()?,
                generation: r.u32()?,
                first_receive_ms: r.i64()?,
            });
        }
        r.finish()?;
        Ok(Self {
            expires_ms,
            issued_ms,
            taken,
        })
    }
}

/// The receive attempts a queue's state remembers (expired ones too: the next remembered
/// attempt deletes them).
fn load_attempts(queue: &str, state: &State) -> Result<HashMap<String, Attempt>> {
    let mut attempts = HashMap::new();
    for (key, value) in state
        .scan(ATTEMPT_PREFIX)
        .map_err(|e| storage_error(queue, &e))?
    {
        let id = key
            .get(ATTEMPT_PREFIX.len()..)
            .and_then(|id| std::str::from_utf8(id).ok());
        match (id, Attempt::decode(&value)) {
            (Some(id), Ok(attempt)) => {
                attempts.insert(id.to_string(), attempt);
            }
            _ => tracing::warn!(queue, "Undecodable receive attempt ignored"),
        }
    }
    Ok(attempts)
}

impl Queue {
    fn attributes(&self) -> QueueAttributes {
        lock(&self.config).attributes.clone()
    }

    fn retention_ms(&self) -> i64 {
        i64::from(lock(&self.config).attributes.retention_s) * 1000
    }
}

/// The queue's writer lock, held while a change is computed and queued.
type Writer = tokio::sync::OwnedMutexGuard<()>;

/// A message chosen by a receive, before its records are read.
#[derive(Clone, Copy)]
struct Taken {
    offset: u64,
    receive_count: u32,
    generation: u32,
    first_receive_ms: i64,
}

/// The queues view.
#[derive(Clone)]
pub struct Queues {
    inner: Arc<Inner>,
}

struct Inner {
    log: Log,
    receipt_key: [u8; 32],
    /// Every queue, by name (sorted, for listing).
    queues: RwLock<BTreeMap<String, Arc<Queue>>>,
    /// When each recently deleted name was deleted (ms); kept in the log's properties too.
    deleted: Mutex<HashMap<String, i64>>,
    /// Creates and deletes one at a time.
    lifecycle: tokio::sync::Mutex<()>,
    moves: moves::Registry,
    /// Set once the shared body stream exists.
    shared_bodies: tokio::sync::OnceCell<()>,
}

impl Queues {
    /// Opens the view on `log`: loads every queue and rebuilds its index from its state and
    /// records (blocking: it reads the log). A stream left without a configuration by a
    /// crash during its creation is deleted.
    pub fn open(log: Log, settings: Settings) -> Result<Self> {
        let receipt_key = match settings.receipt_key {
            Some(key) => key,
            None => super::signing_key(&log, KEY_NAMESPACE, KEY_NAME)
                .map_err(|error| Error::internal(&error))?,
        };
        let view = Self {
            inner: Arc::new(Inner {
                log,
                receipt_key,
                queues: RwLock::new(BTreeMap::new()),
                deleted: Mutex::new(HashMap::new()),
                lifecycle: tokio::sync::Mutex::new(()),
                moves: moves::Registry::default(),
                shared_bodies: tokio::sync::OnceCell::new(),
            }),
        };
        view.load_deleted();
        for info in view.inner.log.list_streams() {
            if !is_queue(&info) {
                continue;
            }
            let Some(name) = info.name.strip_prefix(STREAM_PREFIX).map(str::to_string) else {
                continue;
            };
            match view.load(&name, &info) {
                Ok(Some(queue)) => {
                    view.inner
                        .queues
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(name, queue);
                }
                Ok(None) => {
                    tracing::warn!(
                        queue = name,
                        "Queue without a configuration (an interrupted create); deleted"
                    );
                    if let Err(error) = view.inner.log.delete_stream(&info.name) {
                        tracing::warn!(queue = name, %error, "Could not delete a half-made queue");
                    }
                }
                Err(error) => {
                    tracing::error!(queue = name, %error, "Queue not loaded; it is not served");
                }
            }
        }
        view.resume_move_tasks();
        Ok(view)
    }

    /// Loads the recently deleted names, forgetting those whose window has passed.
    fn load_deleted(&self) {
        let log = &self.inner.log;
        let now = self.now_ms();
        let mut deleted = lock(&self.inner.deleted);
        for (name, value) in log.properties(DELETED_NAMESPACE) {
            let at = <[u8; 8]>::try_from(value.as_slice()).map(i64::from_be_bytes);
            match at {
                Ok(at) if now - at < limits::RECREATE_AFTER_DELETE_MS => {
                    deleted.insert(name, at);
                }
                _ => {
                    if let Err(error) = log.delete_property(DELETED_NAMESPACE, &name) {
                        tracing::warn!(queue = name, %error, "Could not forget a deleted queue name");
                    }
                }
            }
        }
    }

    /// Forgets deleted names whose window has passed, in memory and in the log's properties.
    fn forget_deleted(&self, now: i64) {
        let mut deleted = lock(&self.inner.deleted);
        let expired: Vec<String> = deleted
            .iter()
            .filter(|(_, at)| now - **at >= limits::RECREATE_AFTER_DELETE_MS)
            .map(|(name, _)| name.clone())
            .collect();
        for name in expired {
            deleted.remove(&name);
            if let Err(error) = self.inner.log.delete_property(DELETED_NAMESPACE, &name) {
                tracing::warn!(queue = name, %error, "Could not forget a deleted queue name");
            }
        }
    }

    fn load(&self, name: &str, info: &StreamInfo) -> Result<Option<Arc<Queue>>> {
        let log = &self.inner.log;
        let state = log
            .create_state(&info.name)
            .map_err(|e| storage_error(name, &e))?;
        let Some(bytes) = state
            .get(index::CONFIG_KEY)
            .map_err(|e| storage_error(name, &e))?
        else {
            return Ok(None);
        };
        let config = QueueConfig::decode(&bytes).map_err(|e| Error::Internal(e.to_string()))?;
        let fifo = config.attributes.fifo;
        let purged_ms = load_ms(name, &state, PURGED_KEY)?;
        let rewound_ms = load_ms(name, &state, replay::REWOUND_KEY)?.unwrap_or(0);
        let attempts = load_attempts(name, &state)?;
        let queue = Arc::new(Queue {
            name: name.to_string(),
            stream: info.name.clone(),
            stream_id: info.id,
            state,
            config: Mutex::new(config),
            index: Mutex::new(Index::new(fifo, 0)),
            writer: Arc::new(tokio::sync::Mutex::new(())),
            sending: tokio::sync::Mutex::new(()),
            arrived: Notify::new(),
            deleted: AtomicBool::new(false),
            purged_ms: Mutex::new(purged_ms),
            rewound_ms: Mutex::new(rewound_ms),
            attempts: Mutex::new(attempts),
        });
        self.rebuild(&queue)?;
        self.load_move_tasks(&queue)?;
        Ok(Some(queue))
    }

    /// Rebuilds a queue's index from its durable state and records.
    fn rebuild(&self, queue: &Arc<Queue>) -> Result<()> {
        let name = &queue.name;
        let state = &queue.state;
        let watermark = match state
            .get(index::WATERMARK_KEY)
            .map_err(|e| storage_error(name, &e))?
        {
            Some(bytes) => <[u8; 8]>::try_from(&bytes[..])
                .map(u64::from_be_bytes)
                .map_err(|_| Error::Internal(format!("queue {name}: watermark undecodable")))?,
            None => 0,
        };
        let fifo = lock(&queue.config).attributes.fifo;
        let mut index = Index::new(fifo, watermark);
        let mut marks = BTreeMap::new();
        for (key, value) in state
            .scan(index::MESSAGE_PREFIX)
            .map_err(|e| storage_error(name, &e))?
        {
            let Some(offset) = key
                .get(index::MESSAGE_PREFIX.len()..)
                .and_then(|rest| <[u8; 8]>::try_from(rest).ok())
                .map(u64::from_be_bytes)
            else {
                tracing::warn!(queue = name, "Undecodable message state key ignored");
                continue;
            };
            match Mark::decode(&value) {
                Ok(mark) if offset >= watermark => {
                    marks.insert(offset, mark);
                }
                Ok(_) => index.add_dead_key(offset),
                Err(error) => {
                    tracing::warn!(queue = name, offset, %error, "Undecodable message state; the message is taken as new");
                    index.add_dead_key(offset);
                }
            }
        }
        for (key, value) in state
            .scan(index::DEDUP_PREFIX)
            .map_err(|e| storage_error(name, &e))?
        {
            let hash = key
                .get(index::DEDUP_PREFIX.len()..)
                .and_then(|rest| <[u8; 32]>::try_from(rest).ok());
            match (hash, Dedup::decode(&value)) {
                (Some(hash), Ok(dedup)) => index.remember_dedup(hash, dedup),
                _ => tracing::warn!(queue = name, "Undecodable deduplication entry ignored"),
            }
        }
        self.index_records(queue, &mut index, &mut marks)?;
        // Keys of messages retention already deleted.
        for offset in marks.into_keys() {
            index.add_dead_key(offset);
        }
        *lock(&queue.index) = index;
        Ok(())
    }

    /// Indexes the records from `index`'s frontier to the shard's tail (a fresh index being
    /// built, with the durable marks of its messages).
    fn index_records(
        &self,
        queue: &Arc<Queue>,
        index: &mut Index,
        marks: &mut BTreeMap<u64, Mark>,
    ) -> Result<()> {
        let log = &self.inner.log;
        loop {
            let next = log
                .shard_bounds(&queue.stream, 0)
                .map_err(|e| storage_error(&queue.name, &e))?
                .next;
            if index.frontier >= next {
                return Ok(());
            }
            let batch = match log.read(&queue.stream, 0, index.frontier, INDEX_READ_LIMITS) {
                Ok(batch) => batch,
                Err(storage::Error::Trimmed { earliest, .. }) => {
                    index.skip_to(earliest);
                    continue;
                }
                Err(error) => return Err(storage_error(&queue.name, &error)),
            };
            if batch.records.is_empty() {
                return Ok(());
            }
            let now = self.now_ms();
            let retention_ms = queue.retention_ms();
            let scope = lock(&queue.config).attributes.dedup_scope;
            for record in &batch.records {
                if record.offset != index.frontier {
                    continue;
                }
                match Summary::decode(&record.data) {
                    Ok(summary) => {
                        if let Some((hash, dedup)) = dedup_of_record(scope, record.offset, &summary)
                        {
                            index.recover_dedup(hash, dedup, now);
                        }
                        index.insert(
                            record.offset,
                            &summary,
                            marks.remove(&record.offset),
                            now,
                            retention_ms,
                        );
                    }
                    Err(error) => {
                        tracing::error!(queue = queue.name, offset = record.offset, %error, "Undecodable message skipped");
                        index.skip(record.offset);
                    }
                }
            }
        }
    }

    /// Brings a queue's index up to its shard's tail (reading outside the index lock).
    fn catch_up(&self, queue: &Arc<Queue>) -> Result<()> {
        let log = &self.inner.log;
        loop {
            let from = lock(&queue.index).frontier;
            let next = log
                .shard_bounds(&queue.stream, 0)
                .map_err(|e| storage_error(&queue.name, &e))?
                .next;
            if from >= next {
                return Ok(());
            }
            let batch = match log.read(&queue.stream, 0, from, INDEX_READ_LIMITS) {
                Ok(batch) => batch,
                Err(storage::Error::Trimmed { earliest, .. }) => {
                    lock(&queue.index).skip_to(earliest);
                    continue;
                }
                Err(error) => return Err(storage_error(&queue.name, &error)),
            };
            if batch.records.is_empty() {
                return Ok(());
            }
            let summaries: Vec<(u64, std::result::Result<Summary, DecodeError>)> = batch
                .records
                .iter()
                .map(|record| (record.offset, Summary::decode(&record.data)))
                .collect();
            let now = self.now_ms();
            let retention_ms = queue.retention_ms();
            let scope = lock(&queue.config).attributes.dedup_scope;
            let mut index = lock(&queue.index);
            for (offset, summary) in summaries {
                if offset != index.frontier {
                    continue;
                }
                match summary {
                    Ok(summary) => {
                        if let Some((hash, dedup)) = dedup_of_record(scope, offset, &summary) {
                            index.recover_dedup(hash, dedup, now);
                        }
                        index.insert(offset, &summary, None, now, retention_ms);
                    }
                    Err(error) => {
                        tracing::error!(queue = queue.name, offset, %error, "Undecodable message skipped");
                        index.skip(offset);
                    }
                }
            }
        }
    }

    /// Keeps `bodies` once, in the shared body stream, for messages of many queues to name
    /// ([`NewMessage::shared_body`]) instead of each holding a copy; answers where each is,
    /// in order. A body no message names (a crash before the sends) costs only its space
    /// until the stream's retention, the longest a queue can have, removes it.
    ///
    /// # Errors
    /// [`Error::StorageFull`] or another storage error; nothing is named then.
    pub async fn share_bodies(&self, bodies: &[Bytes]) -> Result<Vec<SharedBody>> {
        if bodies.is_empty() {
            return Ok(Vec::new());
        }
        let log = &self.inner.log;
        self.inner
            .shared_bodies
            .get_or_try_init(|| async {
                match log.create_stream(SHARED_BODIES_STREAM, 1, SHARED_BODIES_RETENTION, OWNER) {
                    Ok(_) | Err(storage::Error::StreamExists(_)) => Ok(()),
                    Err(error) => Err(storage_error(SHARED_BODIES_STREAM, &error)),
                }
            })
            .await?;
        // Appends of at most `SHARED_BODIES_BATCH_BYTES` (or one body), queued one after
        // another so they commit in order and share a commit round.
        let mut pending = Vec::new();
        let mut start = 0;
        while start < bodies.len() {
            let mut end = start + 1;
            let mut bytes = bodies[start].len();
            while let Some(next) = bodies.get(end)
                && bytes + next.len() <= SHARED_BODIES_BATCH_BYTES
            {
                bytes += next.len();
                end += 1;
            }
            let records = bodies[start..end]
                .iter()
                .map(|body| NewRecord {
                    key: Bytes::new(),
                    hash_key: None,
                    attributes: Bytes::new(),
                    data: body.clone(),
                })
                .collect();
            let append = log
                .enqueue_append(SHARED_BODIES_STREAM, 0, records)
                .await
                .map_err(|e| storage_error(SHARED_BODIES_STREAM, &e))?;
            pending.push((start..end, append));
            start = end;
        }
        let mut shared = Vec::with_capacity(bodies.len());
        for (range, append) in pending {
            let ack = append
                .acknowledged()
                .await
                .map_err(|e| storage_error(SHARED_BODIES_STREAM, &e))?;
            for (offset, body) in (ack.first_offset..).zip(&bodies[range]) {
                shared.push(SharedBody {
                    offset,
                    len: u32::try_from(body.len()).unwrap_or(u32::MAX),
                });
            }
        }
        Ok(shared)
    }

    /// `messages` with their bodies in place, read from the shared body stream where their
    /// records name one there (one read per run of nearby bodies); `None` where that body
    /// cannot be read.
    fn with_bodies(
        &self,
        queue: &str,
        mut messages: Vec<Option<StoredMessage>>,
    ) -> Vec<Option<StoredMessage>> {
        let wanted: Vec<(usize, SharedBody)> = messages
            .iter()
            .enumerate()
            .filter_map(|(i, m)| Some((i, m.as_ref()?.shared_body?)))
            .collect();
        if wanted.is_empty() {
            return messages;
        }
        let offsets: Vec<u64> = wanted.iter().map(|(_, shared)| shared.offset).collect();
        let bodies = self.read_records(SHARED_BODIES_STREAM, &offsets);
        for ((i, shared), body) in wanted.into_iter().zip(bodies) {
            let Some(slot) = messages.get_mut(i) else {
                continue;
            };
            match body {
                Some(body) if body.len() == shared.len as usize => {
                    if let Some(message) = slot {
                        message.body = body;
                        message.shared_body = None;
                    }
                }
                _ => {
                    tracing::error!(
                        queue,
                        offset = shared.offset,
                        "A message's shared body is missing or unreadable"
                    );
                    *slot = None;
                }
            }
        }
        messages
    }

    /// The data of the records at `offsets` (in any order) of a one-shard stream, in the
    /// order asked; `None` for one that is gone or unreadable. Offsets close together are read
    /// by one read, so a receive of consecutive messages reads their batches once.
    fn read_records(&self, stream: &str, offsets: &[u64]) -> Vec<Option<Bytes>> {
        /// Offsets at most this far apart share a read.
        const RUN_SPAN: u64 = 256;
        let mut found = vec![None; offsets.len()];
        let mut order: Vec<usize> = (0..offsets.len()).collect();
        order.sort_unstable_by_key(|&i| offsets.get(i).copied());
        let wanted: Vec<(u64, usize)> = order
            .into_iter()
            .filter_map(|i| Some((*offsets.get(i)?, i)))
            .collect();
        let mut k = 0;
        while let Some(&(from, _)) = wanted.get(k) {
            let last = wanted
                .get(k..)
                .unwrap_or_default()
                .iter()
                .take_while(|(offset, _)| *offset < from.saturating_add(RUN_SPAN))
                .last()
                .map_or(from, |(offset, _)| *offset);
            let limits = ReadLimits {
                records_max: usize::try_from(last - from + 1).unwrap_or(1),
                bytes_max: INDEX_READ_LIMITS.bytes_max,
            };
            let batch = match self.inner.log.read(stream, 0, from, limits) {
                Ok(batch) => batch,
                Err(error) => {
                    if !matches!(error, storage::Error::Trimmed { .. }) {
                        tracing::warn!(stream, offset = from, %error, "Record unreadable");
                    }
                    k += 1;
                    continue;
                }
            };
            let mut records = batch.records.into_iter().peekable();
            let before = k;
            while let Some(&(offset, i)) = wanted.get(k) {
                if offset >= batch.next_offset {
                    break;
                }
                while records.next_if(|r| r.offset < offset).is_some() {}
                if let Some(record) = records.peek().filter(|r| r.offset == offset)
                    && let Some(slot) = found.get_mut(i)
                {
                    *slot = Some(record.data.clone());
                }
                k += 1;
            }
            if k == before {
                // Nothing at `from` (past the end): it stays `None`.
                k += 1;
            }
        }
        found
    }

    /// Brings a queue's index past messages this call appended from `first` on: from the
    /// messages themselves when the index had reached `first` (as reading them back would),
    /// else by [`Self::catch_up`], which also takes whatever came before or after them.
    fn index_appended(
        &self,
        queue: &Arc<Queue>,
        first: u64,
        summaries: impl Iterator<Item = Summary>,
    ) -> Result<()> {
        let now = self.now_ms();
        let retention_ms = queue.retention_ms();
        let scope = lock(&queue.config).attributes.dedup_scope;
        {
            let mut index = lock(&queue.index);
            if index.frontier == first {
                for (offset, summary) in (first..).zip(summaries) {
                    if let Some((hash, dedup)) = dedup_of_record(scope, offset, &summary) {
                        index.recover_dedup(hash, dedup, now);
                    }
                    index.insert(offset, &summary, None, now, retention_ms);
                }
            }
        }
        self.catch_up(queue)
    }

    /// After a failed change: the index is rebuilt from what is durable.
    async fn recover(&self, queue: &Arc<Queue>) {
        if queue.deleted.load(Ordering::Acquire) {
            return;
        }
        let _writer = queue.writer.clone().lock_owned().await;
        if let Err(error) = self.rebuild(queue) {
            tracing::error!(queue = queue.name, %error, "Queue index not rebuilt after a failed change");
        }
    }

    /// Queues `changes` (computed under `writer`), releases the writer, and waits for the
    /// acknowledgement; on failure the index is rebuilt. It runs as a task of its own, so a
    /// caller that is dropped (a client gone) never leaves the index ahead of a change that
    /// was not queued.
    async fn commit(
        &self,
        queue: &Arc<Queue>,
        writer: Writer,
        changes: Vec<StateChange>,
    ) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let view = self.clone();
        let queue = queue.clone();
        tokio::spawn(async move { view.commit_now(&queue, writer, changes).await })
            .await
            .map_err(|error| Error::Internal(format!("queue change task failed: {error}")))?
    }

    async fn commit_now(
        &self,
        queue: &Arc<Queue>,
        writer: Writer,
        changes: Vec<StateChange>,
    ) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        // Ids known only from their records go with the next change (see `Index`).
        let mut changes = changes;
        for (hash, dedup) in std::mem::take(&mut lock(&queue.index).unpersisted_dedups) {
            changes.push(StateChange::put(index::dedup_key(&hash), dedup.to_bytes()));
        }
        let pending = queue.state.enqueue_change(changes).await;
        drop(writer);
        let result = match pending {
            Ok(pending) => pending.acknowledged().await.map(|_| ()),
            Err(error) => Err(error),
        };
        if let Err(error) = result {
            self.recover(queue).await;
            return Err(storage_error(&queue.name, &error));
        }
        Ok(())
    }

    /// Now, by the engine's clock.
    fn now_ms(&self) -> i64 {
        self.inner.log.now_ms()
    }

    /// Wakes every waiting receive: the engine's clock moved (a manual clock), so delays and
    /// visibility timeouts may have ended without any send to announce them.
    pub fn clock_moved(&self) {
        for queue in self
            .inner
            .queues
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            queue.arrived.notify_waiters();
        }
    }

    /// The log underneath.
    #[cfg(test)]
    pub fn log(&self) -> &Log {
        &self.inner.log
    }

    /// When the oldest message still in the queue was sent (ms since the epoch), if it holds
    /// any: the first by offset (a message moved from a source queue keeps its sent time).
    pub fn oldest_sent_ms(&self, name: &str) -> Option<i64> {
        let queue = self.queue(name).ok()?;
        lock(&queue.index)
            .live
            .first()
            .map(|(_, entry)| entry.sent_ms)
    }

    /// Whether the queue exists ([`Error::QueueNotFound`] if not), without reading its state.
    pub fn exists(&self, name: &str) -> Result<()> {
        self.queue(name).map(drop)
    }

    fn queue(&self, name: &str) -> Result<Arc<Queue>> {
        self.inner
            .queues
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| Error::QueueNotFound(name.to_string()))
    }

    // ---- queue lifecycle ------------------------------------------------------------------

    /// Creates a queue, or returns the existing one when every given attribute equals its
    /// value (else [`Error::QueueExists`]). A name deleted less than 60 seconds ago is
    /// [`Error::DeletedRecently`]. `tags` apply to a new queue only.
    pub async fn create(
        &self,
        name: &str,
        changes: &AttributeChanges,
        tags: BTreeMap<String, String>,
    ) -> Result<QueueInfo> {
        check_name(name)?;
        changes.check()?;
        let fifo = changes.fifo.unwrap_or(false);
        if name.ends_with(".fifo") != fifo {
            return Err(Error::InvalidValue(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix".into(),
            ));
        }
        if !fifo && changes.names_fifo_only() {
            return Err(Error::InvalidValue(
                "FIFO attributes are only valid for FIFO queues".into(),
            ));
        }
        if tags.len() > limits::TAGS_MAX {
            return Err(Error::InvalidValue(format!(
                "a queue has at most {} tags",
                limits::TAGS_MAX
            )));
        }
        let _lifecycle = self.inner.lifecycle.lock().await;
        if let Ok(existing) = self.queue(name) {
            let config = lock(&existing.config).clone();
            return if changes.matches(&config.attributes) {
                self.info(name)
            } else {
                Err(Error::QueueExists(name.to_string()))
            };
        }
        let now = self.now_ms();
        self.forget_deleted(now);
        if lock(&self.inner.deleted).contains_key(name) {
            return Err(Error::DeletedRecently(name.to_string()));
        }
        let attributes = changes.applied_to(&QueueAttributes::default());
        self.check_redrive(name, &attributes)?;
        let config = QueueConfig {
            created_ms: now,
            modified_ms: now,
            attributes,
            tags,
        };
        let stream = format!("{STREAM_PREFIX}{name}");
        let log = &self.inner.log;
        let info = log
            .create_stream(
                &stream,
                1,
                stream_retention(config.attributes.retention_s),
                OWNER,
            )
            .map_err(|e| storage_error(name, &e))?;
        let made = async {
            let state = log
                .create_state(&stream)
                .map_err(|e| storage_error(name, &e))?;
            state
                .change(vec![StateChange::put(index::CONFIG_KEY, config.to_bytes())])
                .await
                .map_err(|e| storage_error(name, &e))?;
            Ok::<_, Error>(state)
        }
        .await;
        let state = match made {
            Ok(state) => state,
            Err(error) => {
                if let Err(cleanup) = log.delete_stream(&stream) {
                    tracing::warn!(queue = name, %cleanup, "Half-made queue not deleted; it is at the next open");
                }
                return Err(error);
            }
        };
        let fifo = config.attributes.fifo;
        let queue = Arc::new(Queue {
            name: name.to_string(),
            stream,
            stream_id: info.id,
            state,
            config: Mutex::new(config),
            index: Mutex::new(Index::new(fifo, 0)),
            writer: Arc::new(tokio::sync::Mutex::new(())),
            sending: tokio::sync::Mutex::new(()),
            arrived: Notify::new(),
            deleted: AtomicBool::new(false),
            purged_ms: Mutex::new(None),
            rewound_ms: Mutex::new(0),
            attempts: Mutex::new(HashMap::new()),
        });
        self.inner
            .queues
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), queue);
        self.info(name)
    }

    /// The rules a redrive policy must keep: its dead-letter queue exists, is not the queue
    /// itself, is of the same type, and allows this queue.
    fn check_redrive(&self, name: &str, attributes: &QueueAttributes) -> Result<()> {
        let Some(redrive) = &attributes.redrive else {
            return Ok(());
        };
        if redrive.dead_letter_queue == name {
            return Err(Error::InvalidValue(
                "a queue cannot be its own dead-letter queue".into(),
            ));
        }
        let target = self.queue(&redrive.dead_letter_queue).map_err(|_| {
            Error::InvalidValue(format!(
                "Dead-letter target {} does not exist",
                redrive.dead_letter_queue
            ))
        })?;
        let target = lock(&target.config).attributes.clone();
        if target.fifo != attributes.fifo {
            return Err(Error::InvalidValue(
                "a dead-letter queue must be of the same type as its source queue".into(),
            ));
        }
        match &target.redrive_allow {
            Some(RedriveAllow::DenyAll) => Err(Error::InvalidValue(format!(
                "{} allows no source queues",
                redrive.dead_letter_queue
            ))),
            Some(RedriveAllow::ByQueue(names)) if !names.iter().any(|n| n == name) => {
                Err(Error::InvalidValue(format!(
                    "{} does not allow {name} as a source queue",
                    redrive.dead_letter_queue
                )))
            }
            _ => Ok(()),
        }
    }

    /// Deletes a queue with its messages and state. Its name can be reused after 60 seconds.
    pub async fn delete_queue(&self, name: &str) -> Result<()> {
        let _lifecycle = self.inner.lifecycle.lock().await;
        let queue = self.queue(name)?;
        self.inner
            .log
            .delete_stream(&queue.stream)
            .map_err(|e| storage_error(name, &e))?;
        self.inner
            .queues
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        queue.deleted.store(true, Ordering::Release);
        queue.arrived.notify_waiters();
        self.inner.moves.cancel_all(name);
        let now = self.now_ms();
        lock(&self.inner.deleted).insert(name.to_string(), now);
        if let Err(error) =
            self.inner
                .log
                .put_property(DELETED_NAMESPACE, name, now.to_be_bytes().to_vec())
        {
            tracing::warn!(queue = name, %error, "The deletion time of a queue is kept in memory only");
        }
        Ok(())
    }

    /// The queues whose names start with `prefix`, sorted.
    pub fn list(&self, prefix: &str) -> Vec<String> {
        self.inner
            .queues
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(name, _)| name.starts_with(prefix))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// A queue's configuration and message counts.
    pub fn info(&self, name: &str) -> Result<QueueInfo> {
        let queue = self.queue(name)?;
        self.catch_up(&queue)?;
        let now = self.now_ms();
        let counts = {
            let mut index = lock(&queue.index);
            index.promote(now);
            index.counts()
        };
        Ok(QueueInfo {
            name: queue.name.clone(),
            stream_id: queue.stream_id,
            config: lock(&queue.config).clone(),
            counts,
        })
    }

    /// Changes a queue's attributes. `fifo` cannot change; FIFO-only attributes are refused
    /// on a standard queue; a redrive policy's dead-letter queue must exist and match.
    pub async fn set_attributes(&self, name: &str, changes: &AttributeChanges) -> Result<()> {
        changes.check()?;
        let queue = self.queue(name)?;
        let writer = queue.writer.clone().lock_owned().await;
        let mut config = lock(&queue.config).clone();
        if changes
            .fifo
            .is_some_and(|fifo| fifo != config.attributes.fifo)
        {
            return Err(Error::InvalidValue(
                "a queue's FifoQueue attribute cannot change".into(),
            ));
        }
        if !config.attributes.fifo && changes.names_fifo_only() {
            return Err(Error::InvalidValue(
                "FIFO attributes are only valid for FIFO queues".into(),
            ));
        }
        let attributes = changes.applied_to(&config.attributes);
        self.check_redrive(name, &attributes)?;
        let retention_changed = attributes.retention_s != config.attributes.retention_s;
        config.attributes = attributes;
        config.modified_ms = self.now_ms();
        self.write_config(&queue, writer, config).await?;
        if retention_changed {
            let retention = stream_retention(lock(&queue.config).attributes.retention_s);
            self.inner
                .log
                .set_retention(&queue.stream, retention)
                .map_err(|e| storage_error(name, &e))?;
        }
        Ok(())
    }

    /// Writes a new configuration (in a task of its own, as [`Queues::commit`]).
    async fn write_config(
        &self,
        queue: &Arc<Queue>,
        writer: Writer,
        config: QueueConfig,
    ) -> Result<()> {
        let view = self.clone();
        let queue = queue.clone();
        tokio::spawn(async move { view.write_config_now(&queue, writer, config).await })
            .await
            .map_err(|error| Error::Internal(format!("queue change task failed: {error}")))?
    }

    async fn write_config_now(
        &self,
        queue: &Arc<Queue>,
        writer: Writer,
        config: QueueConfig,
    ) -> Result<()> {
        let pending = queue
            .state
            .enqueue_change(vec![StateChange::put(index::CONFIG_KEY, config.to_bytes())])
            .await
            .map_err(|e| storage_error(&queue.name, &e))?;
        // The configuration in memory changes only once the change is queued, in the
        // order of the queue, and is visible to callers from its acknowledgement.
        *lock(&queue.config) = config;
        drop(writer);
        if let Err(error) = pending.acknowledged().await {
            self.recover_config(queue);
            return Err(storage_error(&queue.name, &error));
        }
        Ok(())
    }

    fn recover_config(&self, queue: &Arc<Queue>) {
        match queue.state.get(index::CONFIG_KEY) {
            Ok(Some(bytes)) => match QueueConfig::decode(&bytes) {
                Ok(config) => *lock(&queue.config) = config,
                Err(error) => {
                    tracing::error!(queue = queue.name, %error, "Queue configuration undecodable")
                }
            },
            Ok(None) => {}
            Err(error) => {
                tracing::error!(queue = queue.name, %error, "Queue configuration unreadable")
            }
        }
    }

    /// A queue's tags.
    pub fn tags(&self, name: &str) -> Result<BTreeMap<String, String>> {
        Ok(lock(&self.queue(name)?.config).tags.clone())
    }

    /// Adds or replaces tags (at most 50 in all).
    pub async fn tag(&self, name: &str, tags: BTreeMap<String, String>) -> Result<()> {
        let queue = self.queue(name)?;
        let writer = queue.writer.clone().lock_owned().await;
        let mut config = lock(&queue.config).clone();
        config.tags.extend(tags);
        if config.tags.len() > limits::TAGS_MAX {
            return Err(Error::InvalidValue(format!(
                "a queue has at most {} tags",
                limits::TAGS_MAX
            )));
        }
        self.write_config(&queue, writer, config).await
    }

    /// Removes tags (absent keys are ignored).
    pub async fn untag(&self, name: &str, keys: &[String]) -> Result<()> {
        let queue = self.queue(name)?;
        let writer = queue.writer.clone().lock_owned().await;
        let mut config = lock(&queue.config).clone();
        for key in keys {
            config.tags.remove(key);
        }
        self.write_config(&queue, writer, config).await
    }

    /// Deletes every message sent before the call, in flight or not, in one state change.
    /// Once per 60 seconds ([`Error::PurgeInProgress`]).
    pub async fn purge(&self, name: &str) -> Result<()> {
        let queue = self.queue(name)?;
        let now = self.now_ms();
        {
            let mut purged = lock(&queue.purged_ms);
            if purged.is_some_and(|at| now - at < limits::PURGE_INTERVAL_MS) {
                return Err(Error::PurgeInProgress(name.to_string()));
            }
            *purged = Some(now);
        }
        self.catch_up(&queue)?;
        let writer = queue.writer.clone().lock_owned().await;
        let changes = {
            let mut index = lock(&queue.index);
            let end = index.frontier;
            index.purge(end);
            let mut changes = vec![StateChange::put(
                PURGED_KEY,
                Bytes::copy_from_slice(&now.to_be_bytes()),
            )];
            index.seal(&mut changes);
            changes
        };
        let result = self.commit(&queue, writer, changes).await;
        if result.is_err() {
            *lock(&queue.purged_ms) = None;
        }
        result
    }

    /// The queues whose redrive policy names `name` as their dead-letter queue, sorted.
    pub fn dead_letter_sources(&self, name: &str) -> Result<Vec<String>> {
        self.queue(name)?;
        Ok(self
            .inner
            .queues
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|queue| {
                lock(&queue.config)
                    .attributes
                    .redrive
                    .as_ref()
                    .is_some_and(|redrive| redrive.dead_letter_queue == name)
            })
            .map(|queue| queue.name.clone())
            .collect())
    }

    // ---- messages -------------------------------------------------------------------------

    /// Which of `ids` are among the messages sent to queue `name` since `since_ms` (a
    /// bounded read of the records from that time to the tail).
    pub fn present_ids(
        &self,
        name: &str,
        since_ms: i64,
        ids: &std::collections::HashSet<MessageId>,
    ) -> Result<std::collections::HashSet<MessageId>> {
        let queue = self.queue(name)?;
        let log = &self.inner.log;
        let mut found = std::collections::HashSet::new();
        let mut from = log
            .offset_for_timestamp(&queue.stream, 0, since_ms)
            .map_err(|e| storage_error(name, &e))?;
        loop {
            let batch = match log.read(&queue.stream, 0, from, INDEX_READ_LIMITS) {
                Ok(batch) => batch,
                Err(storage::Error::OffsetBeyondEnd { .. }) => break,
                Err(storage::Error::Trimmed { .. }) => {
                    from = log
                        .shard_bounds(&queue.stream, 0)
                        .map_err(|e| storage_error(name, &e))?
                        .earliest;
                    continue;
                }
                Err(error) => return Err(storage_error(name, &error)),
            };
            if batch.records.is_empty() {
                break;
            }
            for record in &batch.records {
                if let Ok((message, _)) = StoredMessage::decode(&record.data)
                    && ids.contains(&message.id)
                {
                    found.insert(message.id);
                }
            }
            from = batch.next_offset;
        }
        Ok(found)
    }

    /// Sends messages: the valid ones are one append, in order. Each entry's outcome is in
    /// the same position (a batch's entries fail alone; a single send is a batch of one).
    /// Answers once the messages (and, on FIFO queues, their deduplication ids) are
    /// acknowledged under the log's `fsync` setting.
    pub async fn send(&self, name: &str, messages: Vec<NewMessage>) -> Result<Vec<Result<Sent>>> {
        let copies: Vec<(Option<MessageId>, &NewMessage)> = messages
            .iter()
            .map(|message| (message.id, message))
            .collect();
        self.send_copies(name, &copies).await
    }

    /// [`Self::send`] of borrowed messages, each under the id beside it (`None`: a random
    /// one) rather than its own: a topic's deliveries of one message to many queues share
    /// it, each queue's copy with an id of its own.
    pub async fn send_copies(
        &self,
        name: &str,
        messages: &[(Option<MessageId>, &NewMessage)],
    ) -> Result<Vec<Result<Sent>>> {
        let queue = self.queue(name)?;
        let attributes = queue.attributes();
        let fifo = attributes.fifo;
        let _sending = if fifo {
            Some(queue.sending.lock().await)
        } else {
            None
        };
        let now = self.now_ms();
        let mut outcomes: Vec<Option<Result<Sent>>> = Vec::with_capacity(messages.len());
        // (position in `outcomes`, the accepted message)
        let mut accepted: Vec<(usize, Accepted<'_>)> = Vec::with_capacity(messages.len());
        // Duplicates of an earlier entry of this batch: (position, that entry's position, the
        // duplicate's body digest).
        let mut echoes: Vec<(usize, usize, [u8; 16])> = Vec::new();
        for (position, &(id, message)) in messages.iter().enumerate() {
            match Self::prepare(&attributes, id, message, now) {
                Err(error) => outcomes.push(Some(Err(error))),
                Ok(entry) => {
                    let body_md5 = entry.body_md5;
                    if let Some(hash) = entry.hash {
                        if let Some(dedup) = lock(&queue.index).dedup_of(&hash, now) {
                            outcomes.push(Some(Ok(Sent {
                                message_id: MessageId(dedup.message_id),
                                sequence_number: Some(sequence_number(dedup.offset)),
                                offset: dedup.offset,
                                duplicate: true,
                                body_md5,
                            })));
                            continue;
                        }
                        if let Some((earlier, _)) =
                            accepted.iter().find(|(_, a)| a.hash == Some(hash))
                        {
                            echoes.push((position, *earlier, body_md5));
                            outcomes.push(None);
                            continue;
                        }
                    }
                    accepted.push((position, entry));
                    outcomes.push(None);
                }
            }
        }
        if !accepted.is_empty() {
            let ack = self
                .append_messages(&queue, accepted.iter().map(|(_, a)| a.encoding(now)))
                .await?;
            let mut dedups = Vec::new();
            for ((position, entry), offset) in accepted.iter().zip(ack.first_offset..) {
                if let Some(hash) = entry.hash {
                    dedups.push((
                        hash,
                        Dedup {
                            offset,
                            message_id: entry.id.0,
                            expires_ms: now + limits::DEDUP_WINDOW_MS,
                        },
                    ));
                }
                if let Some(slot) = outcomes.get_mut(*position) {
                    *slot = Some(Ok(Sent {
                        message_id: entry.id,
                        sequence_number: fifo.then(|| sequence_number(offset)),
                        offset,
                        duplicate: false,
                        body_md5: entry.body_md5,
                    }));
                }
            }
            if !dedups.is_empty() {
                self.remember_dedups(&queue, dedups).await?;
            }
            self.index_appended(
                &queue,
                ack.first_offset,
                accepted.iter().map(|(_, a)| a.summary(now)),
            )?;
            queue.arrived.notify_waiters();
        }
        for (position, earlier, body_md5) in echoes {
            let echo = match outcomes.get(earlier) {
                Some(Some(Ok(sent))) => Ok(Sent {
                    duplicate: true,
                    body_md5,
                    ..sent.clone()
                }),
                _ => Err(Error::Internal("duplicate of a failed entry".into())),
            };
            if let Some(slot) = outcomes.get_mut(position) {
                *slot = Some(echo);
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|outcome| outcome.unwrap_or_else(|| Err(Error::Internal("entry lost".into()))))
            .collect())
    }

    /// Appends messages to a queue's shard as one batch, each encoded straight into it (one
    /// copy of every body, checksummed as it is written).
    async fn append_messages<'a>(
        &self,
        queue: &Queue,
        messages: impl Iterator<Item = Encoding<'a>> + Clone,
    ) -> Result<storage::AppendAck> {
        let log = &self.inner.log;
        let capacity = messages
            .clone()
            .map(|encoding| EncodedRecordsBuilder::record_len(0, None, encoding.len()))
            .sum();
        let mut builder = EncodedRecords::builder(capacity, log.config().record_bytes_max);
        for encoding in messages {
            builder
                .push_appending(&[], None, encoding.len(), |out| {
                    encoding.write(out);
                    true
                })
                .map_err(|e| storage_error(&queue.name, &e))?;
        }
        let Some(records) = builder.finish() else {
            return Err(Error::Internal("an append of no messages".into()));
        };
        let route = log
            .route(&queue.stream)
            .await
            .map_err(|e| storage_error(&queue.name, &e))?;
        let pending = route
            .enqueue_encoded(0, records)
            .await
            .map_err(|e| storage_error(&queue.name, &e))?;
        drop(route);
        pending
            .acknowledged()
            .await
            .map_err(|e| storage_error(&queue.name, &e))
    }

    /// Writes new deduplication ids (and drops expired ones) in one change.
    async fn remember_dedups(
        &self,
        queue: &Arc<Queue>,
        dedups: Vec<([u8; 32], Dedup)>,
    ) -> Result<()> {
        let writer = queue.writer.clone().lock_owned().await;
        let now = self.now_ms();
        let changes = {
            let mut index = lock(&queue.index);
            let mut changes = Vec::new();
            index.prune_dedup(now, &mut changes);
            for (hash, dedup) in dedups {
                changes.push(StateChange::put(index::dedup_key(&hash), dedup.to_bytes()));
                index.remember_dedup(hash, dedup);
            }
            changes
        };
        self.commit(queue, writer, changes).await
    }

    /// Checks one message against the queue: what its record adds to it (FIFO: with its
    /// deduplication id and hash).
    fn prepare<'m>(
        attributes: &QueueAttributes,
        id: Option<MessageId>,
        message: &'m NewMessage,
        now: i64,
    ) -> Result<Accepted<'m>> {
        let size = message.size();
        if size > attributes.message_bytes_max as usize {
            return Err(Error::MessageTooLong {
                size,
                max: attributes.message_bytes_max,
            });
        }
        if let Some(delay) = message.delay_s {
            if delay > limits::DELAY_S_MAX {
                return Err(Error::InvalidValue(format!(
                    "delay {delay} is out of range 0 to {}",
                    limits::DELAY_S_MAX
                )));
            }
            if attributes.fifo {
                return Err(Error::InvalidValue(
                    "The request include parameter that is not valid for this queue type: DelaySeconds".into(),
                ));
            }
        }
        let mut hash = None;
        let mut dedup_id = None;
        if attributes.fifo {
            let Some(group) = &message.group_id else {
                return Err(Error::InvalidValue(
                    "The request must contain the parameter MessageGroupId.".into(),
                ));
            };
            let id: Cow<'m, str> = match (&message.dedup_id, attributes.content_based_dedup) {
                (Some(id), _) => Cow::Borrowed(id),
                (None, true) => Cow::Owned(hex(&Sha256::digest(&message.body))),
                (None, false) => {
                    return Err(Error::InvalidValue(
                        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly".into(),
                    ));
                }
            };
            hash = Some(dedup_hash(attributes.dedup_scope, group, &id));
            dedup_id = Some(id);
        } else if message.dedup_id.is_some() {
            return Err(Error::InvalidValue(
                "The request include parameter that is not valid for this queue type: MessageDeduplicationId".into(),
            ));
        }
        let delay_s = message.delay_s.unwrap_or(attributes.delay_s);
        Ok(Accepted {
            message,
            id: id.unwrap_or_else(MessageId::random),
            visible_from_ms: now + i64::from(delay_s) * 1000,
            body_md5: message
                .body_md5
                .unwrap_or_else(|| Md5::digest(&message.body).into()),
            dedup_id,
            hash,
        })
    }

    /// Receives up to `max_messages` messages, waiting up to the wait time for one when none
    /// is ready. Each is in flight for the visibility timeout from now, with a new receipt
    /// handle; messages received more often than the redrive policy allows are moved to the
    /// dead-letter queue instead; expired ones are dropped. Answers once the receive is
    /// acknowledged under the log's `fsync` setting.
    pub async fn receive(&self, name: &str, options: &ReceiveOptions) -> Result<Vec<Received>> {
        let queue = self.queue(name)?;
        if !(1..=limits::RECEIVE_MESSAGES_MAX).contains(&options.max_messages) {
            return Err(Error::InvalidValue(format!(
                "Value {} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.",
                options.max_messages
            )));
        }
        if options
            .visibility_timeout_s
            .is_some_and(|t| t > limits::VISIBILITY_TIMEOUT_S_MAX)
        {
            return Err(Error::InvalidValue(
                "the visibility timeout is out of range 0 to 43200".into(),
            ));
        }
        if options.wait_s.is_some_and(|w| w > limits::WAIT_S_MAX) {
            return Err(Error::InvalidValue(
                "Value for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.".into(),
            ));
        }
        let attributes = queue.attributes();
        let wait = Duration::from_secs(u64::from(
            options.wait_s.unwrap_or(attributes.receive_wait_s),
        ));
        let visibility_s = options
            .visibility_timeout_s
            .unwrap_or(attributes.visibility_timeout_s);
        let attempt_id = options.attempt_id.as_ref().filter(|_| attributes.fifo);
        if let Some(id) = attempt_id
            && let Some(received) = self.retry_attempt(&queue, id, visibility_s).await?
        {
            return Ok(received);
        }
        let end = tokio::time::Instant::now() + wait;
        loop {
            let notified = queue.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if queue.deleted.load(Ordering::Acquire) {
                return Err(Error::QueueNotFound(name.to_string()));
            }
            self.catch_up(&queue)?;
            let (received, moved) = self
                .take(&queue, options.max_messages as usize, visibility_s)
                .await?;
            if !received.is_empty() {
                if let Some(id) = attempt_id {
                    self.remember_attempt(&queue, id, &received).await?;
                }
                return Ok(received);
            }
            if moved {
                continue;
            }
            let now = tokio::time::Instant::now();
            if now >= end {
                return Ok(Vec::new());
            }
            let mut until = end;
            if let Some(at) = lock(&queue.index).next_timer_ms() {
                let ms = u64::try_from(at.saturating_sub(self.now_ms()))
                    .unwrap_or(0)
                    .max(1);
                until = until.min(now + Duration::from_millis(ms));
            }
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(until) => {}
            }
        }
    }

    /// Remembers a FIFO receive by its attempt id, durably (a retry after a restart gets
    /// the same messages), and forgets expired attempts.
    async fn remember_attempt(
        &self,
        queue: &Arc<Queue>,
        id: &str,
        received: &[Received],
    ) -> Result<()> {
        let now = self.now_ms();
        let Some(issued_ms) = received.first().and_then(|r| {
            receipt::decode(&self.inner.receipt_key, &r.receipt_handle).map(|r| r.issued_ms)
        }) else {
            return Ok(());
        };
        let taken = received
            .iter()
            .filter_map(|r| {
                let receipt = receipt::decode(&self.inner.receipt_key, &r.receipt_handle)?;
                Some(Taken {
                    offset: r.offset,
                    receive_count: r.receive_count,
                    generation: receipt.generation,
                    first_receive_ms: r.first_receive_ms,
                })
            })
            .collect();
        let attempt = Attempt {
            expires_ms: now + limits::RECEIVE_ATTEMPT_WINDOW_MS,
            issued_ms,
            taken,
        };
        let writer = queue.writer.clone().lock_owned().await;
        let changes = {
            let mut attempts = lock(&queue.attempts);
            let mut changes = vec![StateChange::put(attempt_key(id), attempt.to_bytes())];
            attempts.retain(|id, attempt| {
                let live = attempt.expires_ms > now;
                if !live {
                    changes.push(StateChange::delete(attempt_key(id)));
                }
                live
            });
            attempts.insert(id.to_string(), attempt);
            changes
        };
        self.commit(queue, writer, changes).await
    }

    /// A retried FIFO receive: the remembered messages again, with their visibility timeout
    /// restarted, if the attempt is remembered and every one of its messages is still on the
    /// receive it made. `None`: receive afresh.
    async fn retry_attempt(
        &self,
        queue: &Arc<Queue>,
        id: &str,
        visibility_s: u32,
    ) -> Result<Option<Vec<Received>>> {
        let now = self.now_ms();
        let (issued_ms, taken) = {
            // Expired attempts stay until the next one remembered deletes their keys.
            let attempts = lock(&queue.attempts);
            let Some(attempt) = attempts.get(id).filter(|a| a.expires_ms > now) else {
                return Ok(None);
            };
            let taken: Vec<Taken> = attempt.taken.clone();
            (attempt.issued_ms, taken)
        };
        let writer = queue.writer.clone().lock_owned().await;
        let visible_at = now + i64::from(visibility_s) * 1000;
        let changes = {
            let mut index = lock(&queue.index);
            index.promote(now);
            let unchanged = taken.iter().all(|t| {
                index.live.get(t.offset).is_some_and(|entry| {
                    entry.generation == t.generation && entry.status != Status::Moving
                })
            });
            if !unchanged {
                // Kept (its key too) until it expires or this receive replaces it.
                return Ok(None);
            }
            let mut changes = Vec::new();
            for t in &taken {
                index.mark_visible_at(t.offset, visible_at, now, &mut changes);
            }
            changes
        };
        self.commit(queue, writer, changes).await?;
        Ok(Some(self.read_taken(queue, &taken, issued_ms)))
    }

    /// One receive attempt: takes ready messages, marks them in flight in one change, and
    /// moves those over the receive count to the dead-letter queue. True in the second place
    /// when some were moved (so an empty result is worth retrying at once).
    async fn take(
        &self,
        queue: &Arc<Queue>,
        max: usize,
        visibility_s: u32,
    ) -> Result<(Vec<Received>, bool)> {
        let attributes = queue.attributes();
        let retention_ms = i64::from(attributes.retention_s) * 1000;
        let dead_letter = attributes
            .redrive
            .as_ref()
            .and_then(|redrive| Some((self.queue(&redrive.dead_letter_queue).ok()?, redrive)));
        let writer = queue.writer.clone().lock_owned().await;
        let now = self.now_ms();
        let visible_at = now + i64::from(visibility_s) * 1000;
        let mut taken = Vec::new();
        let mut moving = Vec::new();
        let mut changes = Vec::new();
        {
            let mut index = lock(&queue.index);
            index.promote(now);
            let mut current = None;
            loop {
                if taken.len() >= max || index.in_flight() >= limits::IN_FLIGHT_MAX {
                    break;
                }
                let Some(offset) = index.next_ready(current) else {
                    break;
                };
                let Some(entry) = index.live.get(offset) else {
                    break;
                };
                if entry.sent_ms.saturating_add(retention_ms) <= now {
                    index.finish(offset);
                    continue;
                }
                if let Some((_, redrive)) = &dead_letter
                    && entry.receive_count >= redrive.receive_count_max
                {
                    index.set_status(offset, Status::Moving);
                    moving.push(offset);
                    continue;
                }
                current = entry.group;
                if let Some((receive_count, generation, first_receive_ms)) =
                    index.mark_received(offset, now, visible_at, &mut changes)
                {
                    taken.push(Taken {
                        offset,
                        receive_count,
                        generation,
                        first_receive_ms,
                    });
                }
            }
            if taken.is_empty()
                && !attributes.fifo
                && index.in_flight() >= limits::IN_FLIGHT_MAX
                && index.counts().visible > 0
            {
                drop(index);
                drop(writer);
                self.release(queue, &moving);
                return Err(Error::TooManyInFlight(limits::IN_FLIGHT_MAX));
            }
            index.seal(&mut changes);
        }
        self.commit(queue, writer, changes).await?;
        let moved = !moving.is_empty();
        // In a task of its own: a dropped receive must not leave messages marked moving.
        if let Some((target, _)) = dead_letter
            && moved
            && let Err(error) = {
                let view = self.clone();
                let source = queue.clone();
                let destination = target.clone();
                tokio::spawn(async move {
                    let origin = source.name.clone();
                    view.move_messages(&source, &destination, &moving, Some(&origin))
                        .await
                })
                .await
                .unwrap_or_else(|error| Err(Error::Internal(error.to_string())))
            }
        {
            tracing::warn!(queue = queue.name, target = target.name, %error, "Dead-letter move failed; the messages stay");
        }
        // A receive in the millisecond of a rewind must not issue handles the rewind made stale.
        let issued_ms = now.max(lock(&queue.rewound_ms).saturating_add(1));
        let received = self.read_taken(queue, &taken, issued_ms);
        Ok((received, moved))
    }

    /// Makes messages a failed move marked [`Status::Moving`] ready again.
    fn release(&self, queue: &Arc<Queue>, offsets: &[u64]) {
        let mut index = lock(&queue.index);
        for &offset in offsets {
            if index
                .live
                .get(offset)
                .is_some_and(|entry| entry.status == Status::Moving)
            {
                index.set_status(offset, Status::Ready);
            }
        }
        drop(index);
        if !offsets.is_empty() {
            queue.arrived.notify_waiters();
        }
    }

    /// Reads the records of messages a receive took, with their receipt handles.
    fn read_taken(&self, queue: &Arc<Queue>, taken: &[Taken], issued_ms: i64) -> Vec<Received> {
        let fifo = lock(&queue.config).attributes.fifo;
        let offsets: Vec<u64> = taken.iter().map(|t| t.offset).collect();
        taken
            .iter()
            .zip(self.read_messages(queue, &offsets))
            .filter_map(|(t, message)| {
                let receipt = Receipt {
                    stream_id: queue.stream_id,
                    offset: t.offset,
                    generation: t.generation,
                    issued_ms,
                };
                Some(Received {
                    message: message?,
                    offset: t.offset,
                    receipt_handle: receipt::encode(&self.inner.receipt_key, &receipt),
                    receive_count: t.receive_count,
                    first_receive_ms: t.first_receive_ms,
                    sequence_number: fifo.then(|| sequence_number(t.offset)),
                })
            })
            .collect()
    }

    /// The messages at `offsets`, in that order, each if its record is still there and
    /// decodes, with its body in place.
    fn read_messages(&self, queue: &Arc<Queue>, offsets: &[u64]) -> Vec<Option<StoredMessage>> {
        let messages = self
            .read_records(&queue.stream, offsets)
            .into_iter()
            .zip(offsets)
            .map(|(data, &offset)| match StoredMessage::decode(&data?) {
                Ok((message, _)) => Some(message),
                Err(error) => {
                    tracing::error!(queue = queue.name, offset, %error, "Undecodable message");
                    None
                }
            })
            .collect();
        self.with_bodies(&queue.name, messages)
    }

    /// Moves messages marked [`Status::Moving`] from `source` to `target`: appends them
    /// there (acknowledged) and only then finishes them in `source`. `moved_from` is what
    /// the copies record as their origin (a dead-letter move names the source; a move back
    /// names none). On a failed append they are ready again in `source`.
    async fn move_messages(
        &self,
        source: &Arc<Queue>,
        target: &Arc<Queue>,
        offsets: &[u64],
        moved_from: Option<&str>,
    ) -> Result<usize> {
        let now = self.now_ms();
        let target_fifo = lock(&target.config).attributes.fifo;
        let mut records = Vec::new();
        let mut gone = Vec::new();
        for (&offset, message) in offsets.iter().zip(self.read_messages(source, offsets)) {
            match message {
                Some(mut message) => {
                    message.moved_from = moved_from.map(str::to_string);
                    if target_fifo {
                        message.sent_ms = now;
                    }
                    message.visible_from_ms = now;
                    records.push(NewRecord {
                        key: Bytes::new(),
                        hash_key: None,
                        attributes: Bytes::new(),
                        data: message.to_bytes(),
                    });
                }
                None => gone.push(offset),
            }
        }
        let count = records.len();
        if !records.is_empty()
            && let Err(error) = self.inner.log.append(&target.stream, 0, records).await
        {
            self.release(source, offsets);
            return Err(storage_error(&target.name, &error));
        }
        if count > 0 {
            if let Err(error) = self.catch_up(target) {
                tracing::warn!(queue = target.name, %error, "Index not caught up after a move");
            }
            target.arrived.notify_waiters();
        }
        let writer = source.writer.clone().lock_owned().await;
        let changes = {
            let mut index = lock(&source.index);
            for &offset in offsets {
                index.finish(offset);
            }
            let mut changes = Vec::new();
            index.seal(&mut changes);
            changes
        };
        self.commit(source, writer, changes).await?;
        Ok(count)
    }

    fn receipt(&self, queue: &Arc<Queue>, handle: &str) -> Result<Receipt> {
        let rewound_ms = *lock(&queue.rewound_ms);
        receipt::decode(&self.inner.receipt_key, handle)
            .filter(|receipt| {
                receipt.stream_id == queue.stream_id && receipt.issued_ms > rewound_ms
            })
            .ok_or_else(|| Error::ReceiptInvalid(handle.to_string()))
    }

    /// Deletes messages by receipt handle, in one state change; each handle's outcome is in
    /// its position. A handle of a message already deleted succeeds; a handle of an earlier
    /// receive (the message was received again since) succeeds without deleting on a
    /// standard queue and is [`Error::ReceiptExpired`] on a FIFO queue; a malformed or
    /// foreign handle is [`Error::ReceiptInvalid`].
    pub async fn delete_messages(&self, name: &str, handles: &[String]) -> Result<Vec<Result<()>>> {
        let queue = self.queue(name)?;
        let fifo = lock(&queue.config).attributes.fifo;
        let receipts: Vec<Result<Receipt>> = handles
            .iter()
            .map(|handle| self.receipt(&queue, handle))
            .collect();
        let writer = queue.writer.clone().lock_owned().await;
        let mut finished = false;
        let mut outcomes = Vec::with_capacity(receipts.len());
        let changes = {
            let mut index = lock(&queue.index);
            for receipt in receipts {
                outcomes.push(
                    receipt.and_then(|receipt| match index.live.get(receipt.offset) {
                        None => Ok(()),
                        Some(entry) if entry.generation == receipt.generation => {
                            if entry.status == Status::Moving {
                                return Ok(());
                            }
                            index.finish(receipt.offset);
                            finished = true;
                            Ok(())
                        }
                        Some(_) if fifo => Err(Error::ReceiptExpired),
                        Some(_) => Ok(()),
                    }),
                );
            }
            let mut changes = Vec::new();
            if finished {
                index.seal(&mut changes);
            }
            changes
        };
        self.commit(&queue, writer, changes).await?;
        if finished && fifo {
            queue.arrived.notify_waiters();
        }
        Ok(outcomes)
    }

    /// Changes the visibility timeout of in-flight messages (seconds from now, 0 to 43,200,
    /// and at most 12 hours after the receive), in one state change; each entry's outcome
    /// is in its position. A message not in flight is [`Error::MessageNotInflight`]; a handle
    /// of an earlier receive is [`Error::ReceiptExpired`].
    pub async fn change_visibility(
        &self,
        name: &str,
        entries: &[(String, u32)],
    ) -> Result<Vec<Result<()>>> {
        let queue = self.queue(name)?;
        let checked: Vec<Result<(Receipt, u32)>> = entries
            .iter()
            .map(|(handle, timeout_s)| {
                if *timeout_s > limits::VISIBILITY_TIMEOUT_S_MAX {
                    return Err(Error::InvalidValue(format!(
                        "Value {timeout_s} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200."
                    )));
                }
                Ok((self.receipt(&queue, handle)?, *timeout_s))
            })
            .collect();
        let writer = queue.writer.clone().lock_owned().await;
        let now = self.now_ms();
        let mut woke = false;
        let mut outcomes = Vec::with_capacity(checked.len());
        let changes = {
            let mut index = lock(&queue.index);
            index.promote(now);
            let mut changes = Vec::new();
            for entry in checked {
                outcomes.push(entry.and_then(|(receipt, timeout_s)| {
                    let Some(message) = index.live.get(receipt.offset) else {
                        return Err(Error::MessageNotInflight);
                    };
                    if message.generation != receipt.generation {
                        return Err(Error::ReceiptExpired);
                    }
                    if !matches!(message.status, Status::InFlight(at) if at > now) {
                        return Err(Error::MessageNotInflight);
                    }
                    let visible_at = now + i64::from(timeout_s) * 1000;
                    let limit = receipt.issued_ms
                        + i64::from(limits::VISIBILITY_TIMEOUT_S_MAX) * 1000;
                    if visible_at > limit {
                        return Err(Error::InvalidValue(format!(
                            "Value {timeout_s} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]"
                        )));
                    }
                    index.mark_visible_at(receipt.offset, visible_at, now, &mut changes);
                    woke |= timeout_s == 0;
                    Ok(())
                }));
            }
            if !changes.is_empty() {
                index.seal(&mut changes);
            }
            changes
        };
        self.commit(&queue, writer, changes).await?;
        if woke {
            queue.arrived.notify_waiters();
        }
        Ok(outcomes)
    }
}

/// The engine retention of a queue's stream for a retention period in seconds.
fn stream_retention(retention_s: u32) -> Duration {
    Duration::from_secs(u64::from(retention_s) + RETENTION_MARGIN_S)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}
