//! Kinesis queues on the log: a queue delivers the records of one Kinesis stream to queue
//! consumers, one delivery at a time, with visibility timeouts, acknowledgements and
//! built-in dead-letter handling. In domain words (no HTTP, JSON or AWS shapes); failures are
//! [`crate::views::streams::Error`]s, mapped once by the Kinesis API.
//!
//! # Layout
//!
//! - Records are not copied: a queue reads its stream's own records from the log ("one
//!   record, many views"), and a record's id is its sequence number, the same in every queue
//!   and every delivery.
//! - A queue is an engine stream `kq:<id>` owned by [`OWNER`] (one empty shard; the stream
//!   exists for its keyed state, [`storage::State`]) holding, under the keys of [`model`]:
//!   the configuration `c`; per source shard a *frontier* `f/<shard>` (the first offset
//!   never delivered: every record at or past it is ready without any entry); and a *mark*
//!   `m/<shard><offset>` only for each record delivered and not yet finished (visible-at,
//!   receive count, first receive, receipt generation, dead-letter flag). A record below
//!   its shard's frontier without a mark is finished (acknowledged or trimmed), so the
//!   queue's state, on disk and in memory, is proportional to its unfinished deliveries,
//!   never to the stream. (The lowest mark, or else the frontier, is the shard's watermark:
//!   it is derived, so it is not stored.)
//! - Each queue's stream is registered as a consumer of its Kinesis stream through the
//!   property `kinesis.queues/<stream>` (queue id → the stream's engine id), which the
//!   streams view reads to count registered consumers, to refuse DeleteStream and the switch
//!   to PROVISIONED while queues exist. The registration is written after the queue's state
//!   and removed after its engine stream, and [`StreamQueues::open`] repairs both ways, so a
//!   crash leaves neither a queue without its registration nor a stale one.
//! - In memory, per queue ([`Index`], behind a mutex never held across an await): the
//!   frontiers, the marks, and two timer sets (marks that may be received again, and
//!   dead-letter marks) ordered by visible-at. Rebuilt at open from the state alone.
//!
//! # Status
//!
//! With `state_change` set, a queue is CREATING for that long after its creation and
//! UPDATING for that long after an UpdateQueue, derived from the times in its configuration
//! (so a restart keeps them), else ACTIVE. A deleted queue is gone at once; it is reported
//! as DELETING from memory for the state-change time, and not found after a restart.
//!
//! # Receiving
//!
//! A receive first takes marked records whose visibility ended (a record received
//! MaxReceiveCount times becomes a dead-letter record instead, under BUILT_IN handling), then
//! fresh records from the frontiers, round-robin over the shards, up to the limit. Shards
//! that appeared since the queue was created (children of a split or merge) get a frontier
//! at their first offset; marks of records trimmed by retention are dropped and frontiers
//! below the retained data move up to it.
//!
//! # Ordering and durability
//!
//! A change is computed on the index under the queue's writer lock (an async mutex) and
//! queued ([`storage::State::enqueue_change`]) before the lock is released, so changes
//! commit in the order the index made them while sharing fsyncs. A call answers only after
//! its change is acknowledged under the log's `fsync` setting; a change that fails makes the
//! index be rebuilt from what is durable. After a crash a record whose delivery was
//! acknowledged is never delivered again, and records in flight reappear when their
//! visibility ends.
//!
//! # Time
//!
//! Every timestamp and deadline reads the engine clock ([`storage::Log::now_ms`]). A long
//! poll waits for an append to one of the stream's open shards at its frontier
//! ([`storage::Log::wait_for`]), for a change of the queue (a `Notify`: visibility set to
//! now, a restore, the queue's deletion, the clock moved), for the next visibility timer by
//! the engine clock, or for the end of its wait by tokio's clock; it never polls.

pub mod limits;
pub mod model;
pub mod receipt;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use storage::{Log, Owner, ReadLimits, Record, State, StateChange, StreamInfo};
use tokio::sync::Notify;

use self::model::Mark;
pub use self::model::{AttributeChanges, Attributes, DeadLetter, QueueConfig, Start};
use self::receipt::Receipt;
use crate::views::streams::admin::allowed_tag_character;
use crate::views::streams::consumers::{CONSUMERS_MAX, queues_namespace};
use crate::views::streams::{Error, Mode, Result, Status, Streams};

/// The owner of the engine streams holding queue state.
pub const OWNER: Owner = Owner::from_static("kq");

/// Engine stream names of queues start with this (the owner, not the name, decides).
const STREAM_PREFIX: &str = "kq:";

/// The property holding the receipt signing key.
const KEY_NAMESPACE: &str = "kinesis";
const KEY_NAME: &str = "queue_receipt_key";

/// A queue's own engine stream keeps no records; its retention is only the engine's minimum
/// bookkeeping.
const STATE_STREAM_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// Whether an engine stream holds a queue's state.
#[must_use]
pub fn is_stream_queue(info: &StreamInfo) -> bool {
    info.owner == OWNER
}

/// The view's settings.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// How long a queue stays CREATING, UPDATING or DELETING after a change (zero: never),
    /// as Kinesis streams do (`kinesis.state_change`).
    pub state_change: Duration,
    /// The receipt signing key (`None`: the one kept in the log's properties).
    pub receipt_key: Option<[u8; 32]>,
}

/// A queue as DescribeQueue and ListQueues show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueView {
    /// Its configuration.
    pub config: QueueConfig,
    /// Its ARN.
    pub arn: String,
    /// Its status.
    pub status: Status,
    /// Its stream's ARN.
    pub stream_arn: String,
}

/// A delivered record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Its shard.
    pub shard: u32,
    /// The record as stored in the stream.
    pub record: Record,
    /// What acknowledges this delivery.
    pub receipt_handle: String,
    /// Deliveries without acknowledgement, this one included.
    pub receive_count: u32,
    /// The first delivery's time (ms).
    pub first_receive_ms: i64,
}

/// Which receive path an operation works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// ReceiveQueueRecords and friends.
    Normal,
    /// The dead-letter operations.
    DeadLetter,
}

/// The in-memory index of one queue.
#[derive(Debug, Default)]
struct Index {
    frontiers: BTreeMap<u32, u64>,
    marks: BTreeMap<(u32, u64), Mark>,
    /// Non-dead-letter marks by (visible-at, shard, offset).
    ready: BTreeSet<(i64, u32, u64)>,
    /// Dead-letter marks by (visible-at, shard, offset).
    dead: BTreeSet<(i64, u32, u64)>,
    /// The shard fresh records are taken from first (round-robin).
    cursor: u32,
}

impl Index {
    fn insert_mark(&mut self, shard: u32, offset: u64, mark: Mark) {
        self.remove_mark(shard, offset);
        let timers = if mark.dead_letter {
            &mut self.dead
        } else {
            &mut self.ready
        };
        timers.insert((mark.visible_at_ms, shard, offset));
        self.marks.insert((shard, offset), mark);
    }

    fn remove_mark(&mut self, shard: u32, offset: u64) -> Option<Mark> {
        let mark = self.marks.remove(&(shard, offset))?;
        let timers = if mark.dead_letter {
            &mut self.dead
        } else {
            &mut self.ready
        };
        timers.remove(&(mark.visible_at_ms, shard, offset));
        Some(mark)
    }

    /// Marks on the `path`'s timers visible at `now`, in visible-at order.
    fn due(&self, path: Path, now: i64) -> Vec<(u32, u64)> {
        let timers = match path {
            Path::Normal => &self.ready,
            Path::DeadLetter => &self.dead,
        };
        timers
            .range(..(now.saturating_add(1), 0, 0))
            .map(|&(_, shard, offset)| (shard, offset))
            .collect()
    }

    /// The next time a mark on the `path` becomes visible. For a dead-letter receive that is
    /// also when a normal mark that reached `receive_count_max` becomes a dead-letter one
    /// (normal marks below it never do, so they are skipped rather than waking it early).
    fn next_timer(&self, path: Path, receive_count_max: Option<u32>) -> Option<i64> {
        match path {
            Path::Normal => self.ready.first().map(|&(at, _, _)| at),
            Path::DeadLetter => {
                let becoming_dead = receive_count_max.and_then(|max| {
                    self.ready.iter().find_map(|&(at, shard, offset)| {
                        self.marks
                            .get(&(shard, offset))
                            .filter(|mark| mark.receive_count >= max)
                            .map(|_| at)
                    })
                });
                [becoming_dead, self.dead.first().map(|&(at, _, _)| at)]
                    .into_iter()
                    .flatten()
                    .min()
            }
        }
    }
}

/// One queue.
struct Queue {
    /// Its engine stream (`kq:<id>`) and that stream's engine id.
    engine_stream: String,
    engine_id: u64,
    state: State,
    config: Mutex<QueueConfig>,
    index: Mutex<Index>,
    /// Held while a change is computed and queued (never across its fsync).
    writer: Arc<tokio::sync::Mutex<()>>,
    /// Woken when records may have become receivable without an append (visibility set to
    /// now, a restore, the clock moved) and when the queue is deleted.
    changed: Notify,
    deleted: AtomicBool,
}

impl Queue {
    fn config(&self) -> QueueConfig {
        lock(&self.config).clone()
    }
}

type Writer = tokio::sync::OwnedMutexGuard<()>;

/// A record chosen by a receive, with its new mark.
struct Taken {
    shard: u32,
    record: Record,
    mark: Mark,
}

/// The stream queues view.
#[derive(Clone)]
pub struct StreamQueues {
    inner: Arc<Inner>,
}

struct Inner {
    log: Log,
    streams: Streams,
    settings: Settings,
    receipt_key: [u8; 32],
    /// Every queue, by id.
    queues: RwLock<BTreeMap<String, Arc<Queue>>>,
    /// Queues deleted but still reported as DELETING, by id, until (engine ms).
    deleting: Mutex<HashMap<String, (QueueView, i64)>>,
    /// Creates, deletes and updates one at a time.
    lifecycle: tokio::sync::Mutex<()>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn internal(error: &storage::Error) -> Error {
    Error::internal(error)
}

/// Runs blocking engine work (catalog changes fsync the journal) off the runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|error| Err(Error::Internal(error.to_string())))
}

fn later_ms(now: i64, delay: Duration) -> i64 {
    now.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
}

/// One read of a record.
const ONE_RECORD: ReadLimits = ReadLimits {
    records_max: 1,
    bytes_max: 64 << 20,
};

impl StreamQueues {
    /// Opens the view on `log` beside the streams view: loads every queue's configuration,
    /// frontiers and marks (blocking), deletes queue streams a crash left without a
    /// configuration, and repairs the consumer registrations.
    pub fn open(log: Log, streams: Streams, settings: Settings) -> Result<Self> {
        let receipt_key = match settings.receipt_key {
            Some(key) => key,
            None => super::signing_key(&log, KEY_NAMESPACE, KEY_NAME).map_err(|e| internal(&e))?,
        };
        let view = Self {
            inner: Arc::new(Inner {
                log,
                streams,
                settings,
                receipt_key,
                queues: RwLock::new(BTreeMap::new()),
                deleting: Mutex::new(HashMap::new()),
                lifecycle: tokio::sync::Mutex::new(()),
            }),
        };
        let log = &view.inner.log;
        for info in log.list_streams() {
            if !is_stream_queue(&info) {
                continue;
            }
            match view.load(&info) {
                Ok(Some(queue)) => {
                    let config = queue.config();
                    view.register(&config)?;
                    view.write_queues().insert(config.id.clone(), queue);
                }
                Ok(None) => {
                    tracing::warn!(
                        stream = info.name,
                        "Queue without a configuration (an interrupted create); deleted"
                    );
                    if let Err(error) = log.delete_stream(&info.name) {
                        tracing::warn!(stream = info.name, %error, "Could not delete a half-made queue");
                    }
                }
                Err(error) => {
                    tracing::error!(stream = info.name, %error, "Queue not loaded; it is not served");
                }
            }
        }
        // Registrations of queues that are gone (a crash between deleting a queue's stream and
        // its registration).
        let known: BTreeSet<String> = view.read_queues().keys().cloned().collect();
        for stream in log.list_streams() {
            let namespace = queues_namespace(&stream.name);
            for (id, _) in log.properties(&namespace) {
                if !known.contains(&id) {
                    log.delete_property(&namespace, &id)
                        .map_err(|e| internal(&e))?;
                }
            }
        }
        Ok(view)
    }

    fn read_queues(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Queue>>> {
        self.inner.queues.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_queues(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Arc<Queue>>> {
        self.inner.queues.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the queue as a registered consumer of its stream (blocking).
    fn register(&self, config: &QueueConfig) -> Result<()> {
        let log = &self.inner.log;
        let namespace = queues_namespace(&config.stream);
        let value = config.stream_id.to_string().into_bytes();
        if log.property(&namespace, &config.id).as_ref() != Some(&value) {
            log.put_property(&namespace, &config.id, value)
                .map_err(|e| internal(&e))?;
        }
        Ok(())
    }

    fn load(&self, info: &StreamInfo) -> Result<Option<Arc<Queue>>> {
        let log = &self.inner.log;
        let state = log.create_state(&info.name).map_err(|e| internal(&e))?;
        let Some(bytes) = state.get(model::CONFIG_KEY).map_err(|e| internal(&e))? else {
            return Ok(None);
        };
        let config = QueueConfig::decode(&bytes).ok_or_else(|| {
            Error::Internal(format!("queue {}: configuration undecodable", info.name))
        })?;
        let queue = Arc::new(Queue {
            engine_stream: info.name.clone(),
            engine_id: info.id,
            state,
            config: Mutex::new(config),
            index: Mutex::new(Index::default()),
            writer: Arc::new(tokio::sync::Mutex::new(())),
            changed: Notify::new(),
            deleted: AtomicBool::new(false),
        });
        Self::rebuild(&queue)?;
        Ok(Some(queue))
    }

    /// Rebuilds a queue's index from its durable state.
    fn rebuild(queue: &Queue) -> Result<()> {
        let mut index = Index::default();
        for (key, value) in queue
            .state
            .scan(model::FRONTIER_PREFIX)
            .map_err(|e| internal(&e))?
        {
            match (
                model::parse_frontier_key(&key),
                <[u8; 8]>::try_from(&value[..]).ok().map(u64::from_be_bytes),
            ) {
                (Some(shard), Some(frontier)) => {
                    index.frontiers.insert(shard, frontier);
                }
                _ => tracing::warn!(queue = queue.engine_stream, "Undecodable frontier ignored"),
            }
        }
        for (key, value) in queue
            .state
            .scan(model::MARK_PREFIX)
            .map_err(|e| internal(&e))?
        {
            match (model::parse_mark_key(&key), Mark::decode(&value)) {
                (Some((shard, offset)), Some(mark)) => index.insert_mark(shard, offset, mark),
                _ => tracing::warn!(queue = queue.engine_stream, "Undecodable mark ignored"),
            }
        }
        *lock(&queue.index) = index;
        Ok(())
    }

    fn now_ms(&self) -> i64 {
        self.inner.log.now_ms()
    }

    /// Wakes every waiting receive: the engine's clock moved (a manual clock), so visibility
    /// timeouts may have ended without any change to announce them.
    pub fn clock_moved(&self) {
        for queue in self.read_queues().values() {
            queue.changed.notify_waiters();
        }
    }

    // ---- names and status -------------------------------------------------------------------

    /// A queue's ARN.
    pub fn arn(&self, id: &str) -> String {
        let settings = self.inner.streams.settings();
        format!(
            "arn:aws:kinesis:{}:{}:queue/{id}",
            settings.region, settings.account
        )
    }

    fn not_found(arn: &str) -> Error {
        Error::NotFound(format!("Queue {arn} not found."))
    }

    /// The queue a QueueARN names: of this account, and existing.
    fn find(&self, arn: &str) -> Result<Arc<Queue>> {
        let account = &self.inner.streams.settings().account;
        let parsed = protocol::aws::arn::Arn::parse(arn)
            .filter(|parsed| parsed.service == "kinesis")
            .ok_or_else(|| Error::InvalidArgument(format!("Invalid QueueARN {arn}.")))?;
        let id = parsed
            .resource
            .strip_prefix("queue/")
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Error::InvalidArgument(format!("Invalid QueueARN {arn}.")))?;
        if parsed.account != *account {
            return Err(Self::not_found(arn));
        }
        self.read_queues()
            .get(id)
            .cloned()
            .ok_or_else(|| Self::not_found(arn))
    }

    /// CREATING for the state-change time after its creation, then UPDATING for that long
    /// after an UpdateQueue, else ACTIVE; derived from the durable configuration, so a
    /// restart keeps it.
    fn status(&self, config: &QueueConfig) -> Status {
        let delay = self.inner.settings.state_change;
        if delay.is_zero() {
            return Status::Active;
        }
        let now = self.now_ms();
        if now < later_ms(config.created_ms, delay) {
            Status::Creating
        } else if config.updated_ms > config.created_ms && now < later_ms(config.updated_ms, delay)
        {
            Status::Updating
        } else {
            Status::Active
        }
    }

    fn view_of(&self, queue: &Queue) -> QueueView {
        let config = queue.config();
        QueueView {
            arn: self.arn(&config.id),
            status: self.status(&config),
            stream_arn: self.inner.streams.arn(&config.stream),
            config,
        }
    }

    /// Fails unless the queue is ACTIVE or UPDATING (records are delivered then).
    fn require_serving(&self, queue: &Queue, arn: &str) -> Result<()> {
        match self.status(&lock(&queue.config)) {
            Status::Creating => Err(Error::NotFound(format!(
                "Queue {arn} is CREATING; it delivers records once it is ACTIVE."
            ))),
            _ => Ok(()),
        }
    }

    // ---- lifecycle ----------------------------------------------------------------------------

    /// Creates a queue on the stream `stream_arn` names.
    pub async fn create(
        &self,
        name: &str,
        stream_arn: &str,
        start: Start,
        attributes: Attributes,
        tags: BTreeMap<String, String>,
    ) -> Result<QueueView> {
        let _lifecycle = self.inner.lifecycle.lock().await;
        let account = self.inner.streams.settings().account.clone();
        let taken = self
            .read_queues()
            .values()
            .any(|queue| lock(&queue.config).name == name)
            || lock(&self.inner.deleting)
                .values()
                .any(|(view, until)| view.config.name == name && *until > self.now_ms());
        if taken {
            return Err(Error::InUse(format!(
                "Queue {name} under account {account} already exists."
            )));
        }
        check_tags(&tags, name)?;
        let streams = &self.inner.streams;
        let stream = streams.resolve(None, Some(stream_arn))?;
        let view = streams.require_active(&stream)?;
        if view.meta.mode != Mode::OnDemand {
            return Err(Error::InvalidArgument(format!(
                "Queues are supported only on data streams in ON_DEMAND capacity mode; stream {stream} under account {account} is {}.",
                view.meta.mode.as_str()
            )));
        }
        let registered = streams.consumer_count(&stream) + streams.queue_count(&stream);
        if registered >= CONSUMERS_MAX {
            return Err(Error::LimitExceeded(format!(
                "Stream {stream} under account {account} already has {CONSUMERS_MAX} registered consumers (queues included)."
            )));
        }
        let info = view.info;
        let id = hex::encode(rand::random::<[u8; 16]>());
        let now = self.now_ms();
        let retention_ms = i64::try_from(info.retention.as_millis()).unwrap_or(i64::MAX);
        let readable_from = info.created_ms.max(now.saturating_sub(retention_ms));
        let effective_start_ms = match start {
            Start::Latest => now,
            Start::TrimHorizon => readable_from,
            Start::AtTimestamp(ms) => ms.max(readable_from),
        };
        let config = QueueConfig {
            name: name.to_owned(),
            id: id.clone(),
            stream: stream.clone(),
            stream_id: info.id,
            stream_created_ms: info.created_ms,
            start,
            effective_start_ms,
            attributes,
            tags,
            created_ms: now,
            updated_ms: now,
        };
        let engine_stream = format!("{STREAM_PREFIX}{id}");
        let log = self.inner.log.clone();
        let (state, engine_id) = {
            let engine_stream = engine_stream.clone();
            blocking(move || {
                let made = log
                    .create_stream(&engine_stream, 1, STATE_STREAM_RETENTION, OWNER)
                    .map_err(|e| internal(&e))?;
                let state = log.create_state(&engine_stream).map_err(|e| internal(&e))?;
                Ok((state, made.id))
            })
            .await?
        };
        // Every shard the stream has now gets its frontier by the starting position; later
        // shards start at their first offset.
        let log = &self.inner.log;
        let mut frontiers = BTreeMap::new();
        for shard in &info.shards {
            let bounds = log
                .shard_bounds(&stream, shard.id)
                .map_err(|e| internal(&e))?;
            let frontier = match start {
                Start::Latest => bounds.ending.unwrap_or(bounds.next),
                Start::TrimHorizon => bounds.earliest,
                Start::AtTimestamp(ms) => log
                    .offset_for_timestamp(&stream, shard.id, ms)
                    .map_err(|e| internal(&e))?
                    .max(bounds.earliest),
            };
            frontiers.insert(shard.id, frontier);
        }
        let mut changes = vec![StateChange::put(
            model::CONFIG_KEY.to_vec(),
            config.encode(),
        )];
        changes.extend(frontiers.iter().map(|(&shard, &frontier)| {
            StateChange::put(model::frontier_key(shard), frontier.to_be_bytes().to_vec())
        }));
        let stored = match state.change(changes).await {
            Ok(_) => {
                let this = self.clone();
                let registered_config = config.clone();
                blocking(move || {
                    this.register(&registered_config)?;
                    // A DeleteStream that counted the queues just before this registration
                    // deleted the stream: the queue is not made.
                    let log = &this.inner.log;
                    match log.stream(&registered_config.stream) {
                        Ok(now) if now.id == registered_config.stream_id => Ok(()),
                        _ => {
                            let namespace = queues_namespace(&registered_config.stream);
                            log.delete_property(&namespace, &registered_config.id)
                                .map_err(|e| internal(&e))?;
                            Err(this.inner.streams.not_found(&registered_config.stream))
                        }
                    }
                })
                .await
            }
            Err(error) => Err(internal(&error)),
        };
        if let Err(error) = stored {
            let log = self.inner.log.clone();
            let engine_stream = engine_stream.clone();
            if let Err(cleanup) =
                blocking(move || log.delete_stream(&engine_stream).map_err(|e| internal(&e))).await
            {
                // Left behind: the next open deletes it if it has no configuration, else
                // loads it (its receives then fail as its stream is gone) for DeleteQueue.
                tracing::warn!(%cleanup, "Could not remove the state of a queue not created");
            }
            return Err(error);
        }
        let queue = Arc::new(Queue {
            engine_stream,
            engine_id,
            state,
            config: Mutex::new(config),
            index: Mutex::new(Index {
                frontiers,
                ..Index::default()
            }),
            writer: Arc::new(tokio::sync::Mutex::new(())),
            changed: Notify::new(),
            deleted: AtomicBool::new(false),
        });
        self.write_queues().insert(id.clone(), queue.clone());
        Ok(self.view_of(&queue))
    }

    /// A queue's description; a deleted one is DELETING for the state-change time.
    pub fn describe(&self, arn: &str) -> Result<QueueView> {
        match self.find(arn) {
            Ok(queue) => Ok(self.view_of(&queue)),
            Err(Error::NotFound(message)) => {
                let now = self.now_ms();
                let mut deleting = lock(&self.inner.deleting);
                deleting.retain(|_, (_, until)| *until > now);
                deleting
                    .values()
                    .find(|(view, _)| view.arn == arn)
                    .map(|(view, _)| view.clone())
                    .ok_or(Error::NotFound(message))
            }
            Err(other) => Err(other),
        }
    }

    /// Every queue (DELETING ones included while they are reported), by name.
    pub fn list(&self) -> Vec<QueueView> {
        let mut views: Vec<QueueView> = self
            .read_queues()
            .values()
            .map(|queue| self.view_of(queue))
            .collect();
        let now = self.now_ms();
        let mut deleting = lock(&self.inner.deleting);
        deleting.retain(|_, (_, until)| *until > now);
        views.extend(deleting.values().map(|(view, _)| view.clone()));
        drop(deleting);
        views.sort_by(|a, b| a.config.name.cmp(&b.config.name));
        views
    }

    /// Changes a queue's attributes (only while it is ACTIVE).
    pub async fn update(&self, arn: &str, changes: AttributeChanges) -> Result<QueueView> {
        let _lifecycle = self.inner.lifecycle.lock().await;
        let queue = self.find(arn)?;
        let view = self.view_of(&queue);
        if view.status != Status::Active {
            return Err(Error::InUse(format!(
                "Queue {arn} is not ACTIVE, instead in state {}.",
                view.status.as_str()
            )));
        }
        let mut config = view.config;
        config.attributes = config.attributes.with(changes);
        config.updated_ms = self.now_ms();
        self.write_config(&queue, config).await?;
        Ok(self.view_of(&queue))
    }

    async fn write_config(&self, queue: &Arc<Queue>, config: QueueConfig) -> Result<()> {
        let writer = queue.writer.clone().lock_owned().await;
        let change = vec![StateChange::put(
            model::CONFIG_KEY.to_vec(),
            config.encode(),
        )];
        *lock(&queue.config) = config;
        self.commit(queue, writer, change).await
    }

    /// Deletes a queue: its deliveries end, its receipt handles stop working, its state goes.
    pub async fn delete(&self, arn: &str) -> Result<()> {
        let _lifecycle = self.inner.lifecycle.lock().await;
        let queue = self.find(arn)?;
        let last = self.view_of(&queue);
        let _writer = queue.writer.clone().lock_owned().await;
        queue.deleted.store(true, Ordering::Release);
        let config = queue.config();
        self.write_queues().remove(&config.id);
        queue.changed.notify_waiters();
        let log = self.inner.log.clone();
        let engine_stream = queue.engine_stream.clone();
        blocking(move || {
            match log.delete_stream(&engine_stream) {
                Ok(()) | Err(storage::Error::StreamNotFound(_)) => {}
                Err(error) => return Err(internal(&error)),
            }
            let namespace = queues_namespace(&config.stream);
            if log.property(&namespace, &config.id).is_some() {
                log.delete_property(&namespace, &config.id)
                    .map_err(|e| internal(&e))?;
            }
            Ok(())
        })
        .await?;
        let delay = self.inner.settings.state_change;
        if !delay.is_zero() {
            let until = later_ms(self.now_ms(), delay);
            let view = QueueView {
                status: Status::Deleting,
                ..last
            };
            lock(&self.inner.deleting).insert(view.config.id.clone(), (view, until));
        }
        Ok(())
    }

    // ---- tags ---------------------------------------------------------------------------------

    /// A queue's tags.
    pub fn tags(&self, arn: &str) -> Result<BTreeMap<String, String>> {
        Ok(self.find(arn)?.config().tags)
    }

    /// Adds or overwrites tags (at most `per_call_max` per call, 50 per queue).
    pub async fn tag(
        &self,
        arn: &str,
        tags: &BTreeMap<String, String>,
        per_call_max: usize,
    ) -> Result<()> {
        let _lifecycle = self.inner.lifecycle.lock().await;
        let queue = self.find(arn)?;
        if tags.len() > per_call_max {
            return Err(Error::InvalidArgument(format!(
                "Failed to add tags to queue {arn} because a request can add at most {per_call_max} tags."
            )));
        }
        let mut config = queue.config();
        let mut after = config.tags.clone();
        after.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        check_tags(&after, arn)?;
        config.tags = after;
        self.write_config(&queue, config).await
    }

    /// Removes tags; absent keys are ignored.
    pub async fn untag(&self, arn: &str, keys: &[String]) -> Result<()> {
        let _lifecycle = self.inner.lifecycle.lock().await;
        let queue = self.find(arn)?;
        let mut config = queue.config();
        for key in keys {
            config.tags.remove(key);
        }
        self.write_config(&queue, config).await
    }

    // ---- changes ------------------------------------------------------------------------------

    /// Queues `changes` (computed under `writer`), releases the writer and waits for the
    /// acknowledgement, in a task of its own, so a caller that goes away never leaves the
    /// index ahead of a change that was not queued; on failure the index is rebuilt.
    async fn commit(
        &self,
        queue: &Arc<Queue>,
        writer: Writer,
        changes: Vec<StateChange>,
    ) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        let queue = queue.clone();
        tokio::spawn(async move {
            let pending = queue.state.enqueue_change(changes).await;
            drop(writer);
            let result = match pending {
                Ok(pending) => pending.acknowledged().await.map(|_| ()),
                Err(error) => Err(error),
            };
            if let Err(error) = result {
                if !queue.deleted.load(Ordering::Acquire) {
                    let _writer = queue.writer.clone().lock_owned().await;
                    if let Err(rebuild) = Self::rebuild(&queue) {
                        tracing::error!(queue = queue.engine_stream, %rebuild, "Queue index not rebuilt after a failed change");
                    }
                    if let Ok(bytes) = queue.state.get(model::CONFIG_KEY)
                        && let Some(config) = bytes.as_deref().and_then(QueueConfig::decode)
                    {
                        *lock(&queue.config) = config;
                    }
                }
                return Err(internal(&error));
            }
            Ok(())
        })
        .await
        .map_err(|error| Error::Internal(format!("queue change task failed: {error}")))?
    }

    // ---- receiving ----------------------------------------------------------------------------

    /// Receives up to `limit` records on `path`, waiting up to `wait` for one to become
    /// visible; each delivery is invisible for `visibility_s` (`None`: the queue's timeout).
    pub async fn receive(
        &self,
        arn: &str,
        path: Path,
        limit: usize,
        wait: Duration,
        visibility_s: Option<u32>,
    ) -> Result<Vec<Delivery>> {
        let queue = self.find(arn)?;
        self.require_serving(&queue, arn)?;
        let end = tokio::time::Instant::now() + wait;
        loop {
            let notified = queue.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if queue.deleted.load(Ordering::Acquire) {
                return Err(Self::not_found(arn));
            }
            let delivered = self.take(&queue, path, limit, visibility_s).await?;
            if !delivered.is_empty() {
                return Ok(delivered);
            }
            let now = tokio::time::Instant::now();
            if now >= end {
                return Ok(Vec::new());
            }
            let mut until = end;
            let receive_count_max = match lock(&queue.config).attributes.dead_letter {
                DeadLetter::BuiltIn { receive_count_max } => Some(receive_count_max),
                DeadLetter::None => None,
            };
            if let Some(at) = lock(&queue.index).next_timer(path, receive_count_max) {
                let ms = u64::try_from(at.saturating_sub(self.now_ms()))
                    .unwrap_or(0)
                    .max(1);
                until = until.min(now + Duration::from_millis(ms));
            }
            let timeout = until.saturating_duration_since(now);
            let appends = match path {
                Path::Normal => self.append_waits(&queue, timeout),
                Path::DeadLetter => Vec::new(),
            };
            let appended = async move {
                if appends.is_empty() {
                    std::future::pending::<()>().await;
                } else {
                    futures::future::select_all(appends).await;
                }
            };
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(until) => {}
                () = appended => {}
            }
        }
    }

    /// One wait per open shard of the queue's stream for a record at its frontier (or the
    /// shard's close, after which its children are found).
    fn append_waits(
        &self,
        queue: &Queue,
        timeout: Duration,
    ) -> Vec<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>> {
        let stream = lock(&queue.config).stream.clone();
        let frontiers: Vec<(u32, u64)> = lock(&queue.index)
            .frontiers
            .iter()
            .map(|(&shard, &frontier)| (shard, frontier))
            .collect();
        let log = &self.inner.log;
        frontiers
            .into_iter()
            .filter(|&(shard, _)| {
                log.shard_bounds(&stream, shard)
                    .is_ok_and(|bounds| bounds.ending.is_none())
            })
            .map(|(shard, frontier)| {
                let log = log.clone();
                let stream = stream.clone();
                Box::pin(async move {
                    let _ = log.wait_for(&stream, shard, frontier, timeout).await;
                }) as std::pin::Pin<Box<dyn Future<Output = ()> + Send>>
            })
            .collect()
    }

    /// One receive attempt: chooses the records, makes their marks durable, and returns them
    /// with their receipt handles.
    async fn take(
        &self,
        queue: &Arc<Queue>,
        path: Path,
        limit: usize,
        visibility_s: Option<u32>,
    ) -> Result<Vec<Delivery>> {
        let writer = queue.writer.clone().lock_owned().await;
        if queue.deleted.load(Ordering::Acquire) {
            return Ok(Vec::new());
        }
        let config = queue.config();
        let log = &self.inner.log;
        let stream = config.stream.as_str();
        let info = match log.stream(stream) {
            Ok(info) if info.id == config.stream_id => info,
            Ok(_) | Err(storage::Error::StreamNotFound(_)) => {
                return Err(Error::NotFound(format!(
                    "The stream {stream} of queue {} no longer exists.",
                    self.arn(&config.id)
                )));
            }
            Err(error) => return Err(internal(&error)),
        };
        let now = self.now_ms();
        let visible_at_ms = now.saturating_add(
            i64::from(visibility_s.unwrap_or(config.attributes.visibility_timeout_s)) * 1000,
        );
        let mut changes = Vec::new();
        let mut taken = Vec::new();
        {
            let mut index = lock(&queue.index);
            // Shards that appeared since (children of a split or merge) start at their start.
            for shard in &info.shards {
                if let std::collections::btree_map::Entry::Vacant(entry) =
                    index.frontiers.entry(shard.id)
                {
                    entry.insert(shard.starting_offset);
                    changes.push(frontier_change(shard.id, shard.starting_offset));
                }
            }
            // Retention: marks of trimmed records go, frontiers move up to the retained data.
            let mut bounds = BTreeMap::new();
            let known: Vec<(u32, u64)> = index.frontiers.iter().map(|(&s, &f)| (s, f)).collect();
            for (shard, frontier) in known {
                let Ok(found) = log.shard_bounds(stream, shard) else {
                    continue;
                };
                bounds.insert(shard, found);
                if frontier < found.earliest {
                    index.frontiers.insert(shard, found.earliest);
                    changes.push(frontier_change(shard, found.earliest));
                }
                let trimmed: Vec<(u32, u64)> = index
                    .marks
                    .range((shard, 0)..(shard, found.earliest))
                    .map(|(&key, _)| key)
                    .collect();
                for (shard, offset) in trimmed {
                    index.remove_mark(shard, offset);
                    changes.push(StateChange::delete(model::mark_key(shard, offset)));
                }
            }
            // Records whose visibility ended.
            let receive_count_max = match config.attributes.dead_letter {
                DeadLetter::BuiltIn { receive_count_max } => Some(receive_count_max),
                DeadLetter::None => None,
            };
            if path == Path::DeadLetter {
                // Records that reached MaxReceiveCount become dead-letter records first.
                for (shard, offset) in index.due(Path::Normal, now) {
                    if let Some(&mark) = index.marks.get(&(shard, offset))
                        && receive_count_max.is_some_and(|max| mark.receive_count >= max)
                    {
                        let dead = Mark {
                            dead_letter: true,
                            ..mark
                        };
                        index.insert_mark(shard, offset, dead);
                        changes.push(mark_change(shard, offset, &dead));
                    }
                }
            }
            // Walked in visible-at order and only as far as the limit needs, so a receive
            // costs what it takes, not the number of expired marks. A record taken with a
            // visibility of 0 is due again at once: `seen` keeps it to one delivery.
            let due_end = (now.saturating_add(1), 0, 0);
            let mut after: Option<(i64, u32, u64)> = None;
            let mut seen = BTreeSet::new();
            while taken.len() < limit {
                let timers = match path {
                    Path::Normal => &index.ready,
                    Path::DeadLetter => &index.dead,
                };
                let next = match after {
                    None => timers.range(..due_end).next(),
                    Some(key) => timers
                        .range((Bound::Excluded(key), Bound::Excluded(due_end)))
                        .next(),
                }
                .copied();
                let Some(key @ (_, shard, offset)) = next else {
                    break;
                };
                after = Some(key);
                if !seen.insert((shard, offset)) {
                    continue;
                }
                let Some(&mark) = index.marks.get(&(shard, offset)) else {
                    continue;
                };
                if path == Path::Normal
                    && receive_count_max.is_some_and(|max| mark.receive_count >= max)
                {
                    let dead = Mark {
                        dead_letter: true,
                        ..mark
                    };
                    index.insert_mark(shard, offset, dead);
                    changes.push(mark_change(shard, offset, &dead));
                    continue;
                }
                let record = match read_one(log, stream, shard, offset) {
                    Some(record) => record,
                    None => {
                        // Trimmed or unreadable: never delivered again.
                        index.remove_mark(shard, offset);
                        changes.push(StateChange::delete(model::mark_key(shard, offset)));
                        continue;
                    }
                };
                let delivered = Mark {
                    visible_at_ms,
                    receive_count: mark.receive_count.saturating_add(1),
                    generation: mark.generation.wrapping_add(1),
                    ..mark
                };
                index.insert_mark(shard, offset, delivered);
                changes.push(mark_change(shard, offset, &delivered));
                taken.push(Taken {
                    shard,
                    record,
                    mark: delivered,
                });
            }
            // Fresh records from the frontiers, round-robin over the shards.
            if path == Path::Normal && taken.len() < limit {
                let want = limit - taken.len();
                let mut shards: Vec<u32> = bounds
                    .iter()
                    .filter(|(shard, found)| {
                        index.frontiers.get(shard).is_some_and(|&f| f < found.next)
                    })
                    .map(|(&shard, _)| shard)
                    .collect();
                let cursor = index.cursor;
                shards.sort_by_key(|&shard| (shard < cursor, shard));
                let mut fresh: Vec<std::collections::VecDeque<Record>> = Vec::new();
                let mut starts = Vec::with_capacity(shards.len());
                for &shard in &shards {
                    let from = index.frontiers.get(&shard).copied().unwrap_or(0);
                    starts.push(from);
                    let limits = ReadLimits {
                        records_max: want,
                        bytes_max: 64 << 20,
                    };
                    let records = match log.read(stream, shard, from, limits) {
                        Ok(batch) => batch.records,
                        Err(error) => {
                            tracing::warn!(stream, shard, %error, "Queue read failed");
                            Vec::new()
                        }
                    };
                    fresh.push(records.into_iter().collect());
                }
                let mut last_shard = None;
                'rounds: loop {
                    let mut any = false;
                    for (slot, &shard) in shards.iter().enumerate() {
                        if taken.len() >= limit {
                            break 'rounds;
                        }
                        let Some(record) = fresh.get_mut(slot).and_then(|q| q.pop_front()) else {
                            continue;
                        };
                        any = true;
                        let mark = Mark {
                            visible_at_ms,
                            receive_count: 1,
                            first_receive_ms: now,
                            generation: 1,
                            dead_letter: false,
                        };
                        index.insert_mark(shard, record.offset, mark);
                        changes.push(mark_change(shard, record.offset, &mark));
                        index.frontiers.insert(shard, record.offset + 1);
                        last_shard = Some(shard);
                        taken.push(Taken {
                            shard,
                            record,
                            mark,
                        });
                    }
                    if !any {
                        break;
                    }
                }
                for (&shard, &before) in shards.iter().zip(&starts) {
                    if let Some(&frontier) = index.frontiers.get(&shard)
                        && frontier != before
                    {
                        changes.push(frontier_change(shard, frontier));
                    }
                }
                if let Some(shard) = last_shard {
                    index.cursor = shard.saturating_add(1);
                }
            }
        }
        self.commit(queue, writer, changes).await?;
        let key = &self.inner.receipt_key;
        Ok(taken
            .into_iter()
            .map(
                |Taken {
                     shard,
                     record,
                     mark,
                 }| Delivery {
                    receipt_handle: receipt::encode(
                        key,
                        &Receipt {
                            dead_letter: path == Path::DeadLetter,
                            queue: queue.engine_id,
                            shard,
                            offset: record.offset,
                            generation: mark.generation,
                            issued_ms: now,
                        },
                    ),
                    shard,
                    record,
                    receive_count: mark.receive_count,
                    first_receive_ms: mark.first_receive_ms,
                },
            )
            .collect())
    }

    // ---- acting on deliveries -----------------------------------------------------------------

    /// The mark a receipt handle acts on, or why it acts on none.
    fn check_receipt(
        &self,
        queue: &Queue,
        index: &Index,
        path: Path,
        handle: &str,
    ) -> Result<(u32, u64, Mark)> {
        let invalid = |why: &str| Error::InvalidArgument(format!("ReceiptHandle {why}."));
        let receipt = receipt::decode(&self.inner.receipt_key, handle)
            .ok_or_else(|| invalid("is not a valid receipt handle"))?;
        if receipt.queue != queue.engine_id {
            return Err(invalid("was issued by another queue"));
        }
        match (path, receipt.dead_letter) {
            (Path::Normal, true) => {
                return Err(invalid(
                    "was issued by ReceiveDeadLetterQueueRecords; use the dead-letter operations",
                ));
            }
            (Path::DeadLetter, false) => {
                return Err(invalid(
                    "was issued by ReceiveQueueRecords, not by ReceiveDeadLetterQueueRecords",
                ));
            }
            _ => {}
        }
        let Some(&mark) = index.marks.get(&(receipt.shard, receipt.offset)) else {
            return Err(Error::NotFound(
                "The record of this receipt handle is no longer in the queue (acknowledged, or trimmed by the stream's retention).".into(),
            ));
        };
        if mark.generation != receipt.generation {
            return Err(invalid(
                "is stale: the record was received again since it was issued",
            ));
        }
        if mark.dead_letter != (path == Path::DeadLetter) {
            return Err(invalid(match path {
                Path::Normal => "names a dead-letter record; use the dead-letter operations",
                Path::DeadLetter => "names a record that is no longer a dead-letter record",
            }));
        }
        Ok((receipt.shard, receipt.offset, mark))
    }

    /// Applies `act` to the mark of each handle under the writer, commits, and reports each
    /// entry's outcome; `wake`: the change can make records visible now, so waiting receives
    /// look again.
    async fn act(
        &self,
        arn: &str,
        path: Path,
        handles: &[String],
        wake: bool,
        mut act: impl FnMut(&mut Index, u32, u64, Mark, usize, &mut Vec<StateChange>),
    ) -> Result<Vec<Result<()>>> {
        let queue = self.find(arn)?;
        let writer = queue.writer.clone().lock_owned().await;
        if queue.deleted.load(Ordering::Acquire) {
            return Err(Self::not_found(arn));
        }
        let mut changes = Vec::new();
        let results: Vec<Result<()>> = {
            let mut index = lock(&queue.index);
            handles
                .iter()
                .enumerate()
                .map(|(entry, handle)| {
                    let (shard, offset, mark) = self.check_receipt(&queue, &index, path, handle)?;
                    act(&mut index, shard, offset, mark, entry, &mut changes);
                    Ok(())
                })
                .collect()
        };
        self.commit(&queue, writer, changes).await?;
        if wake {
            queue.changed.notify_waiters();
        }
        Ok(results)
    }

    /// Acknowledges deliveries: their records are never delivered by this queue again.
    pub async fn acknowledge(
        &self,
        arn: &str,
        path: Path,
        handles: &[String],
    ) -> Result<Vec<Result<()>>> {
        self.act(
            arn,
            path,
            handles,
            false,
            |index, shard, offset, _, _, changes| {
                index.remove_mark(shard, offset);
                changes.push(StateChange::delete(model::mark_key(shard, offset)));
            },
        )
        .await
    }

    /// Makes each delivery invisible for its number of seconds from now (0: visible now).
    pub async fn change_visibility(
        &self,
        arn: &str,
        path: Path,
        entries: &[(String, u32)],
    ) -> Result<Vec<Result<()>>> {
        let now = self.now_ms();
        let handles: Vec<String> = entries.iter().map(|(handle, _)| handle.clone()).collect();
        self.act(
            arn,
            path,
            &handles,
            true,
            |index, shard, offset, mark, entry, changes| {
                let seconds = entries.get(entry).map_or(0, |&(_, seconds)| seconds);
                let changed = Mark {
                    visible_at_ms: now.saturating_add(i64::from(seconds) * 1000),
                    ..mark
                };
                index.insert_mark(shard, offset, changed);
                changes.push(mark_change(shard, offset, &changed));
            },
        )
        .await
    }

    /// Returns dead-letter records to the normal receive path with a receive count of 0.
    pub async fn restore(&self, arn: &str, handles: &[String]) -> Result<Vec<Result<()>>> {
        let now = self.now_ms();
        self.act(
            arn,
            Path::DeadLetter,
            handles,
            true,
            |index, shard, offset, mark, _, changes| {
                let restored = Mark {
                    visible_at_ms: now,
                    receive_count: 0,
                    dead_letter: false,
                    ..mark
                };
                index.insert_mark(shard, offset, restored);
                changes.push(mark_change(shard, offset, &restored));
            },
        )
        .await
    }

    /// How many marks a queue holds (tests: memory follows the unfinished deliveries).
    #[cfg(test)]
    fn marks(&self, arn: &str) -> usize {
        self.find(arn)
            .map_or(0, |queue| lock(&queue.index).marks.len())
    }
}

fn frontier_change(shard: u32, frontier: u64) -> StateChange {
    StateChange::put(model::frontier_key(shard), frontier.to_be_bytes().to_vec())
}

fn mark_change(shard: u32, offset: u64, mark: &Mark) -> StateChange {
    StateChange::put(model::mark_key(shard, offset), mark.encode())
}

/// The record at `offset` of a shard, if it is still retained.
fn read_one(log: &Log, stream: &str, shard: u32, offset: u64) -> Option<Record> {
    let batch = log.read(stream, shard, offset, ONE_RECORD).ok()?;
    batch
        .records
        .into_iter()
        .next()
        .filter(|record| record.offset == offset)
}

/// Tags of a queue: at most 50, of the characters Kinesis allows.
fn check_tags(tags: &BTreeMap<String, String>, what: &str) -> Result<()> {
    use protocol::aws::kinesis::limits::TAGS_MAX;
    if tags.len() > TAGS_MAX {
        return Err(Error::InvalidArgument(format!(
            "Failed to add tags to queue {what} because a given resource cannot have more than {TAGS_MAX} tags associated with it."
        )));
    }
    if tags
        .iter()
        .any(|(key, value)| !key.chars().chain(value.chars()).all(allowed_tag_character))
    {
        return Err(Error::InvalidArgument(format!(
            "Failed to add tags to queue {what} because some tags contained illegal characters. The allowed characters are Unicode letters, digits, white space, '_', '.', '/', '=', '+', '-', '@', ':'."
        )));
    }
    Ok(())
}
