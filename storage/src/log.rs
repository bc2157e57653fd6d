//! [`Log`]: the one public handle on the engine.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock, Weak, mpsc as std_mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::clock::{Clock, SystemClock};
use crate::commit::{self, AppendAck, Command, CommitCounters, CommitStats, Payload};
use crate::config::LogConfig;
use crate::error::{Error, IoContext, Result};
use crate::files::OpenFiles;
use crate::io::IoBackend;
use crate::meta::{CursorKey, MetaStore, Op, Owner, ShardInfo, StreamInfo};
use crate::record::{NewRecord, PARTITION_KEY_BYTES_MAX};
use crate::retention;
use crate::segment::ReadLimits;
use crate::shard::{ReadBatch, Shard, ShardBounds, ShardLayout, shard_dir, sync_dir};
use crate::state::{STATE_DIR, STATE_SHARD_ID, SnapshotPolicy, State, StreamState};

mod router;

pub use self::router::{Route, StreamIdentity, hash_key, record_hash_key};
use self::router::{RouteTable, Router};

/// A convenient retention for streams whose creator has no rule of its own (24 hours). The
/// engine takes any positive retention; the bounds a stream's API allows are its view's.
pub const RETENTION_DEFAULT: Duration = Duration::from_secs(24 * 3600);

/// An append in the commit queue; [`PendingAppend::acknowledged`] waits for its commit.
#[derive(Debug)]
#[must_use = "an append is only known to be committed once acknowledged"]
pub struct PendingAppend(oneshot::Receiver<Result<AppendAck>>);

impl PendingAppend {
    /// Waits until the append is committed as the durability setting defines.
    pub async fn acknowledged(self) -> Result<AppendAck> {
        self.0.await.map_err(|_| Error::Closed)?
    }
}

/// A durable, segmented, append-only log of streams and shards.
///
/// Cloning is cheap and every clone is the same log. See the crate documentation for an
/// example.
#[derive(Clone)]
pub struct Log {
    inner: Arc<Inner>,
}

/// A stream's share of the disk ([`Log::disk_usage`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskUsage {
    /// Segment files, over every shard.
    pub segments: u64,
    /// Bytes written to them.
    pub bytes: u64,
}

impl Inner {
    /// Every open shard now (a copy of the map's values, so no lock is held after).
    pub(crate) fn open_shards(&self) -> Vec<Arc<Shard>> {
        self.shards
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }
}

pub(crate) struct Inner {
    pub config: LogConfig,
    pub clock: Arc<dyn Clock>,
    meta: Mutex<MetaStore>,
    /// Open shards by (stream name, shard id).
    pub shards: RwLock<HashMap<(String, u32), Arc<Shard>>>,
    /// The keyed state of the streams that have one, by stream name. State shards are not in
    /// `shards`: retention never deletes state, compaction does.
    states: RwLock<HashMap<String, Arc<StreamState>>>,
    /// Held while a state's files are made, so two first calls do not both open them.
    creating_state: Mutex<()>,
    /// Each stream's router (its own lock, not the catalog's; see `router`), kept in step
    /// with the catalog by create, delete, split and merge.
    routers: RwLock<HashMap<String, Router>>,
    sender: RwLock<Option<mpsc::Sender<Command>>>,
    commit_thread: Mutex<Option<JoinHandle<()>>>,
    /// The maintenance thread's queue (retention passes on a timer, state compactions on
    /// request); dropping it stops the thread.
    retention_stop: Mutex<Option<std_mpsc::Sender<Maintenance>>>,
    retention_thread: Mutex<Option<JoinHandle<()>>>,
    backend: IoBackend,
    stats: Arc<CommitStats>,
    /// Held while the log is open; released by `close`.
    lock: Mutex<Option<File>>,
    /// The bounded cache of open segment files.
    files: Arc<OpenFiles>,
    /// Streams whose files are being made, outside the catalog lock (see `create_stream`).
    creating: Mutex<Creating>,
}

/// Work for the maintenance thread besides its retention passes.
pub(crate) enum Maintenance {
    /// Snapshot and compact a stream's state.
    Compact(Arc<StreamState>),
}

/// Names and ids taken by creates in progress: not yet in the catalog, but not free either.
#[derive(Default)]
struct Creating {
    names: std::collections::HashSet<String>,
    /// The next stream id no create in progress has taken.
    next_stream_id: u64,
}

/// Runs `work` on a blocking thread and waits for it without holding a runtime worker. It
/// runs to its end even if the waiting future is dropped.
async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|panicked| {
            Err(Error::Io {
                context: "changing a stream's shards".into(),
                source: std::io::Error::other(panicked.to_string()),
            })
        })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Log {
    /// Opens (creating or recovering) the log in `config.dir`, with the system clock.
    pub fn open(config: LogConfig) -> Result<Self> {
        Self::open_with_clock(config, Arc::new(SystemClock))
    }

    /// Opens the log with an injected clock (tests move time by hand).
    pub fn open_with_clock(config: LogConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        config.validate()?;
        let opening = std::time::Instant::now();
        let dir = config.dir.clone();
        std::fs::create_dir_all(dir.join("streams"))
            .context(|| format!("creating {}", dir.display()))?;
        let lock_path = dir.join("LOCK");
        // Not truncated before the lock is ours: it holds the holder's process id.
        let mut lock_file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .context(|| format!("creating {}", lock_path.display()))?;
        match lock_file.try_lock() {
            Ok(()) => {
                use std::io::Write as _;
                // Best effort: the id only names the holder in another process's error.
                let _ = lock_file
                    .set_len(0)
                    .and_then(|()| writeln!(lock_file, "{}", std::process::id()));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let pid = std::fs::read_to_string(&lock_path)
                    .ok()
                    .and_then(|text| text.trim().parse().ok());
                return Err(Error::DirectoryInUse { dir, pid });
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(Error::Io {
                    context: format!("locking {}", lock_path.display()),
                    source,
                });
            }
        }
        let mut meta = MetaStore::open(dir.join("meta"), config.meta_journal_bytes_max)?;
        meta.faults = config.faults.clone();
        // Half-done work first: files of streams and shards the catalog does not know.
        remove_orphans(&dir, &meta);
        let files = Arc::new(OpenFiles::new(config.open_files_max_or_default()));
        let mut shards = HashMap::new();
        let mut states = HashMap::new();
        for stream in meta.catalog.streams.values() {
            for info in &stream.shards {
                let shard = Shard::open(layout(&config, &files, stream, info))?;
                shards.insert((stream.name.clone(), info.id), shard);
            }
            let state_dir = state_dir(&config.dir, stream.id);
            if state_dir.is_dir() {
                let state = open_state(&config, &files, &stream.name, state_dir)?;
                states.insert(stream.name.clone(), state);
            }
        }
        let mut routers = HashMap::new();
        for stream in meta.catalog.streams.values() {
            let table =
                RouteTable::new(stream, |id| shards.get(&(stream.name.clone(), id)).cloned())?;
            routers.insert(stream.name.clone(), Router::new(stream, table));
        }
        let stats = Arc::new(CommitStats::default());
        let (sender, handle, backend) =
            commit::start(config.clone(), clock.clone(), stats.clone())?;
        tracing::info!(dir = %dir.display(), io = %backend, fsync = %config.fsync, engine_streams = meta.catalog.streams.len(), shards = shards.len(), "Log opened");
        // Recovery: the catalog's replay, the orphans' removal and every shard's scan.
        metrics::gauge!("strata_log_recovery_seconds").set(opening.elapsed().as_secs_f64());
        let inner = Arc::new(Inner {
            config,
            clock,
            meta: Mutex::new(meta),
            creating: Mutex::new(Creating::default()),
            shards: RwLock::new(shards),
            states: RwLock::new(states),
            creating_state: Mutex::new(()),
            routers: RwLock::new(routers),
            sender: RwLock::new(Some(sender)),
            commit_thread: Mutex::new(Some(handle)),
            retention_stop: Mutex::new(None),
            retention_thread: Mutex::new(None),
            backend,
            stats,
            lock: Mutex::new(Some(lock_file)),
            files,
        });
        let (stop, stopped) = std_mpsc::channel();
        let weak = Arc::downgrade(&inner);
        let every = inner.config.retention_check_interval;
        let handle = std::thread::Builder::new()
            .name("strata-retention".into())
            .spawn(move || retention_loop(weak, every, stopped))
            .context(|| "spawning the retention thread".to_string())?;
        *lock(&inner.retention_stop) = Some(stop);
        *lock(&inner.retention_thread) = Some(handle);
        Ok(Self { inner })
    }

    /// The write path in use.
    pub fn io_backend(&self) -> IoBackend {
        self.inner.backend
    }

    /// Counters of the commit thread since the log was opened.
    pub fn commit_counters(&self) -> CommitCounters {
        self.inner.stats.snapshot()
    }

    /// Appends, closes and syncs waiting for the commit thread now.
    pub fn commit_queue_depth(&self) -> usize {
        self.inner
            .sender
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map_or(0, |sender| sender.max_capacity() - sender.capacity())
    }

    /// What each stream holds on disk, by stream name: its segments and their written bytes
    /// (not the space allocated ahead of the writer).
    pub fn disk_usage(&self) -> HashMap<String, DiskUsage> {
        let shards = self.inner.open_shards();
        let mut usage: HashMap<String, DiskUsage> = HashMap::new();
        for shard in shards {
            let segments = shard.segments.read().unwrap_or_else(|e| e.into_inner());
            let entry = usage.entry(shard.stream.clone()).or_default();
            entry.segments += segments.len() as u64;
            entry.bytes += segments.iter().map(|segment| segment.len()).sum::<u64>();
        }
        usage
    }

    /// Segment files open now; at most [`LogConfig::open_files_max`] (plus, briefly, files
    /// evicted while a write or sync still used them).
    pub fn open_segment_files(&self) -> usize {
        self.inner.files.open_count()
    }

    /// The configuration the log was opened with.
    pub fn config(&self) -> &LogConfig {
        &self.inner.config
    }

    /// Now, by the log's clock.
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    // ---- catalog -------------------------------------------------------------------------

    /// Creates a stream of `shard_count` shards splitting the 128-bit hash key space evenly,
    /// belonging to `owner` (a tag the engine records and reports, nothing more).
    pub fn create_stream(
        &self,
        name: &str,
        shard_count: u32,
        retention: Duration,
        owner: Owner,
    ) -> Result<StreamInfo> {
        if name.is_empty() || name.len() > 256 || name.contains(['/', '\0']) {
            return Err(Error::InvalidArgument(format!(
                "invalid stream name {name:?}"
            )));
        }
        if shard_count == 0 || shard_count > 100_000 {
            return Err(Error::InvalidArgument(format!(
                "shard count {shard_count} out of range 1..=100000"
            )));
        }
        check_retention(retention)?;
        let now = self.now_ms();
        // The name and an id are taken under the catalog lock, the files are made without it
        // (a large stream's shards take a while, and every other request needs the catalog),
        // and the stream enters the catalog under the lock again.
        let id = {
            let meta = lock(&self.inner.meta);
            let mut creating = lock(&self.inner.creating);
            if meta.catalog.streams.contains_key(name) || creating.names.contains(name) {
                return Err(Error::StreamExists(name.to_string()));
            }
            let id = meta.catalog.next_stream_id.max(creating.next_stream_id);
            creating.next_stream_id = id + 1;
            creating.names.insert(name.to_string());
            id
        };
        let made = self.create_stream_files(name, shard_count, retention, owner, now, id);
        let mut creating = lock(&self.inner.creating);
        creating.names.remove(name);
        if made.is_err() && creating.next_stream_id == id + 1 {
            // Nobody took a later id: a retry gets the same one.
            creating.next_stream_id = id;
        }
        made
    }

    fn create_stream_files(
        &self,
        name: &str,
        shard_count: u32,
        retention: Duration,
        owner: Owner,
        now: i64,
        id: u64,
    ) -> Result<StreamInfo> {
        // 2^128 / shard_count, as Kinesis divides the key space (u128::MAX is 2^128 - 1).
        let count = u128::from(shard_count);
        let width = u128::MAX / count + u128::from(count > 1 && u128::MAX % count == count - 1);
        let shards = (0..shard_count)
            .map(|i| {
                let start = width * u128::from(i);
                let end = if i + 1 == shard_count {
                    u128::MAX
                } else {
                    start + width - 1
                };
                ShardInfo {
                    id: i,
                    hash_start: start,
                    hash_end: end,
                    parent: None,
                    adjacent_parent: None,
                    starting_offset: 0,
                    ending_offset: None,
                    created_ms: now,
                }
            })
            .collect();
        let info = StreamInfo {
            name: name.to_string(),
            id,
            owner,
            retention,
            created_ms: now,
            shards,
            next_shard_id: shard_count,
        };
        // Files first, catalog last: the stream exists only once its files do. A failure (a
        // full disk is `StorageFull`, too many open files is `Io`) removes what was made, so
        // the call can be retried; a crash in between leaves a directory the catalog does not
        // know, removed on open.
        let mut opened = Vec::new();
        let made = self
            .make_shards(&info, &info.shards, &mut opened)
            .and_then(|()| {
                // The shards are in the map before the catalog names them (under the catalog lock
                // still), so nobody finds the stream without its shards.
                let mut meta = lock(&self.inner.meta);
                let by_id: HashMap<u32, &Arc<Shard>> =
                    opened.iter().map(|shard| (shard.id, shard)).collect();
                let table = RouteTable::new(&info, |id| by_id.get(&id).copied().cloned())?;
                meta.commit(vec![Op::PutStream(info.clone())])?;
                let opened = std::mem::take(&mut opened)
                    .into_iter()
                    .map(|shard| ((name.to_string(), shard.id), shard));
                self.inner
                    .shards
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(opened);
                self.inner
                    .routers
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(name.to_string(), Router::new(&info, table));
                Ok(())
            });
        if let Err(error) = made {
            drop(opened);
            remove_dir_quietly(&self.stream_dir(&info));
            return Err(error);
        }
        Ok(info)
    }

    /// Deletes a stream, its data and its cursors.
    pub fn delete_stream(&self, name: &str) -> Result<()> {
        let mut meta = lock(&self.inner.meta);
        let info = meta
            .catalog
            .streams
            .get(name)
            .cloned()
            .ok_or_else(|| Error::StreamNotFound(name.to_string()))?;
        meta.commit(vec![Op::DeleteStream(name.to_string())])?;
        if let Some(state) = self
            .inner
            .states
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name)
        {
            state.mark_deleted();
        }
        self.inner
            .shards
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(stream, _), _| stream != name);
        self.inner
            .routers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        let dir = self
            .inner
            .config
            .dir
            .join("streams")
            .join(info.id.to_string());
        if let Err(error) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), %error, "Deleted stream's files linger; removed on next open");
        }
        Ok(())
    }

    /// The catalog entry of a stream.
    pub fn stream(&self, name: &str) -> Result<StreamInfo> {
        lock(&self.inner.meta)
            .catalog
            .streams
            .get(name)
            .cloned()
            .ok_or_else(|| Error::StreamNotFound(name.to_string()))
    }

    /// Every stream, by name.
    pub fn list_streams(&self) -> Vec<StreamInfo> {
        lock(&self.inner.meta)
            .catalog
            .streams
            .values()
            .cloned()
            .collect()
    }

    /// Changes a stream's retention (any positive duration); it applies from the next check.
    pub fn set_retention(&self, name: &str, retention: Duration) -> Result<()> {
        check_retention(retention)?;
        let mut meta = lock(&self.inner.meta);
        if !meta.catalog.streams.contains_key(name) {
            return Err(Error::StreamNotFound(name.to_string()));
        }
        let retention_ms = u64::try_from(retention.as_millis()).unwrap_or(u64::MAX);
        meta.commit(vec![Op::SetRetention {
            stream: name.to_string(),
            retention_ms,
        }])
    }

    fn shard(&self, stream: &str, shard: u32) -> Result<Arc<Shard>> {
        if let Some(found) = self
            .inner
            .shards
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(stream.to_string(), shard))
        {
            return Ok(found.clone());
        }
        if lock(&self.inner.meta).catalog.streams.contains_key(stream) {
            Err(Error::ShardNotFound {
                stream: stream.to_string(),
                shard,
            })
        } else {
            Err(Error::StreamNotFound(stream.to_string()))
        }
    }

    // ---- keyed state ----------------------------------------------------------------------

    /// Gives `stream` a keyed state (see [`State`]), or finds the one it has. Blocking: the
    /// first call creates and syncs its files. A crash during the first call leaves either no
    /// state or an empty one, and calling again finishes it.
    pub fn create_state(&self, stream: &str) -> Result<State> {
        if let Ok(state) = self.state(stream) {
            return Ok(state);
        }
        let _one = lock(&self.inner.creating_state);
        if let Ok(state) = self.state(stream) {
            return Ok(state);
        }
        let info = self.stream(stream)?;
        let dir = state_dir(&self.inner.config.dir, info.id);
        let opened = open_state(&self.inner.config, &self.inner.files, stream, dir)?;
        sync_dir(&self.stream_dir(&info), &self.inner.config.faults)?;
        let mut states = self.inner.states.write().unwrap_or_else(|e| e.into_inner());
        // Deleted meanwhile: its directory went with it (or goes at the next open).
        if lock(&self.inner.meta)
            .catalog
            .streams
            .get(stream)
            .is_none_or(|now| now.id != info.id)
        {
            opened.mark_deleted();
            return Err(Error::StreamNotFound(stream.to_string()));
        }
        let state = states.entry(stream.to_string()).or_insert(opened).clone();
        Ok(State {
            log: self.clone(),
            inner: state,
        })
    }

    /// The keyed state of `stream`, if [`Log::create_state`] gave it one. Touches neither the
    /// disk nor the catalog.
    pub fn state(&self, stream: &str) -> Result<State> {
        let found = self
            .inner
            .states
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(stream)
            .cloned();
        match found {
            Some(inner) => Ok(State {
                log: self.clone(),
                inner,
            }),
            None if lock(&self.inner.meta).catalog.streams.contains_key(stream) => Err(
                Error::InvalidArgument(format!("stream {stream:?} has no state")),
            ),
            None => Err(Error::StreamNotFound(stream.to_string())),
        }
    }

    /// Queues an append to a shard the caller holds (a state shard).
    pub(crate) async fn enqueue_to_shard(
        &self,
        shard: Arc<Shard>,
        records: Vec<NewRecord>,
    ) -> Result<PendingAppend> {
        self.check_records(&records)?;
        let (command, response) = Self::append_to(shard, Payload::Records(records));
        self.sender()?
            .send(command)
            .await
            .map_err(|_| Error::Closed)?;
        Ok(PendingAppend(response))
    }

    /// [`Log::enqueue_to_shard`] and its acknowledgement, for threads outside a runtime.
    pub(crate) fn append_to_shard_blocking(
        &self,
        shard: Arc<Shard>,
        records: Vec<NewRecord>,
    ) -> Result<AppendAck> {
        self.check_records(&records)?;
        let (command, response) = Self::append_to(shard, Payload::Records(records));
        self.sender()?
            .blocking_send(command)
            .map_err(|_| Error::Closed)?;
        response.blocking_recv().map_err(|_| Error::Closed)?
    }

    /// Asks the maintenance thread to snapshot and compact `state`.
    pub(crate) fn request_compaction(&self, state: Arc<StreamState>) {
        if let Some(queue) = lock(&self.inner.retention_stop).as_ref() {
            let _ = queue.send(Maintenance::Compact(state));
        }
    }

    // ---- appends ------------------------------------------------------------------------

    fn check_records(&self, records: &[NewRecord]) -> Result<()> {
        if records.is_empty() {
            return Err(Error::InvalidArgument(
                "an append needs at least one record".into(),
            ));
        }
        for record in records {
            // Views with rules of their own (Kinesis: 1 to 256 characters) check them; the engine
            // only bounds the size. Records addressed to a shard may have no key.
            if record.key.len() > PARTITION_KEY_BYTES_MAX {
                return Err(Error::InvalidArgument(format!(
                    "partition key of {} bytes; at most {PARTITION_KEY_BYTES_MAX}",
                    record.key.len()
                )));
            }
            if record.data.len() > self.inner.config.record_bytes_max {
                return Err(Error::RecordTooLarge {
                    size: record.data.len(),
                    max: self.inner.config.record_bytes_max,
                });
            }
        }
        let size = crate::record::batch_len(records);
        if size > self.inner.config.batch_bytes_max {
            return Err(Error::BatchTooLarge {
                size,
                max: self.inner.config.batch_bytes_max,
            });
        }
        Ok(())
    }

    fn sender(&self) -> Result<mpsc::Sender<Command>> {
        self.inner
            .sender
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or(Error::Closed)
    }

    /// Validates an append and builds its command and the receiver of its reply.
    fn append_command(
        &self,
        stream: &str,
        shard: u32,
        records: Vec<NewRecord>,
    ) -> Result<(Command, oneshot::Receiver<Result<AppendAck>>)> {
        self.check_records(&records)?;
        Ok(Self::append_to(
            self.shard(stream, shard)?,
            Payload::Records(records),
        ))
    }

    /// The command appending `records` to `shard`, and the receiver of its reply.
    fn append_to(
        shard: Arc<Shard>,
        records: Payload,
    ) -> (Command, oneshot::Receiver<Result<AppendAck>>) {
        let (reply, response) = oneshot::channel();
        (
            Command::Append {
                shard,
                records,
                reply,
            },
            response,
        )
    }

    /// Appends `records` to one shard as one batch; resolves once they are committed as the
    /// durability setting defines. Waits (without blocking the runtime) when the commit queue
    /// is full.
    pub async fn append(
        &self,
        stream: &str,
        shard: u32,
        records: Vec<NewRecord>,
    ) -> Result<AppendAck> {
        self.enqueue_append(stream, shard, records)
            .await?
            .acknowledged()
            .await
    }

    /// Queues an append and returns once it is in the commit queue, before it is committed.
    /// Appends queued one after another (from one task) are committed in that order, so a
    /// caller can keep many in flight and still keep their order.
    pub async fn enqueue_append(
        &self,
        stream: &str,
        shard: u32,
        records: Vec<NewRecord>,
    ) -> Result<PendingAppend> {
        let (command, response) = self.append_command(stream, shard, records)?;
        self.sender()?
            .send(command)
            .await
            .map_err(|_| Error::Closed)?;
        Ok(PendingAppend(response))
    }

    /// [`Log::append`] for threads outside an async runtime.
    pub fn append_blocking(
        &self,
        stream: &str,
        shard: u32,
        records: Vec<NewRecord>,
    ) -> Result<AppendAck> {
        let (command, response) = self.append_command(stream, shard, records)?;
        self.sender()?
            .blocking_send(command)
            .map_err(|_| Error::Closed)?;
        response.blocking_recv().map_err(|_| Error::Closed)?
    }

    /// Syncs everything written so far, whatever the durability setting.
    pub async fn sync(&self) -> Result<()> {
        let (reply, response) = oneshot::channel();
        self.sender()?
            .send(Command::Sync { reply })
            .await
            .map_err(|_| Error::Closed)?;
        response.await.map_err(|_| Error::Closed)?
    }

    // ---- reads --------------------------------------------------------------------------

    /// Reads committed records from `from` on, within `limits`. Record bytes are slices of the
    /// segment mapping, not copies. A `from` below the earliest retained offset is
    /// [`Error::Trimmed`]; one past the end is [`Error::OffsetBeyondEnd`].
    pub fn read(
        &self,
        stream: &str,
        shard: u32,
        from: u64,
        limits: ReadLimits,
    ) -> Result<ReadBatch> {
        self.shard(stream, shard)?.read(from, limits)
    }

    /// The offset of the first record that arrived at or after `timestamp_ms` (the next offset
    /// if there is none yet).
    pub fn offset_for_timestamp(&self, stream: &str, shard: u32, timestamp_ms: i64) -> Result<u64> {
        self.shard(stream, shard)?
            .offset_for_timestamp(timestamp_ms)
    }

    /// A shard's earliest, next and (if closed) ending offsets.
    pub fn shard_bounds(&self, stream: &str, shard: u32) -> Result<ShardBounds> {
        Ok(self.shard(stream, shard)?.bounds())
    }

    /// Waits until `offset` is readable in the shard, the shard is closed at or before it, or
    /// `timeout` passes; true unless it timed out. Woken by commits, not by polling.
    pub async fn wait_for(
        &self,
        stream: &str,
        shard: u32,
        offset: u64,
        timeout: Duration,
    ) -> Result<bool> {
        let shard = self.shard(stream, shard)?;
        Ok(shard.wait_for(offset, timeout).await)
    }

    // ---- lineage ------------------------------------------------------------------------

    async fn close_shard(&self, shard: &Arc<Shard>) -> Result<u64> {
        let (reply, response) = oneshot::channel();
        self.sender()?
            .send(Command::Close {
                shard: shard.clone(),
                reply,
            })
            .await
            .map_err(|_| Error::Closed)?;
        response.await.map_err(|_| Error::Closed)?
    }

    fn stream_dir(&self, stream: &StreamInfo) -> std::path::PathBuf {
        self.inner
            .config
            .dir
            .join("streams")
            .join(stream.id.to_string())
    }

    /// Creates (or opens) the files of `shards` of `stream` and makes their directory entries
    /// durable; the shards opened so far are pushed to `opened`, also on failure.
    fn make_shards(
        &self,
        stream: &StreamInfo,
        shards: &[ShardInfo],
        opened: &mut Vec<Arc<Shard>>,
    ) -> Result<()> {
        let config = &self.inner.config;
        for shard in shards {
            opened.push(Shard::open(layout(
                config,
                &self.inner.files,
                stream,
                shard,
            ))?);
        }
        sync_dir(&self.stream_dir(stream), &config.faults)?;
        sync_dir(&config.dir.join("streams"), &config.faults)
    }

    /// Adds the children of a split or merge: their files first, then the catalog change
    /// (`ops`). On failure the children's files are removed and the parents, closed in memory,
    /// take appends again, so the call can be retried. Returns the children's handles.
    fn add_children(
        &self,
        meta: &mut MetaStore,
        stream: &StreamInfo,
        children: &[ShardInfo],
        parents: &[&Arc<Shard>],
        ops: Vec<Op>,
    ) -> Result<Vec<Arc<Shard>>> {
        let mut opened = Vec::new();
        let made = self
            .make_shards(stream, children, &mut opened)
            .and_then(|()| meta.commit(ops));
        if let Err(error) = made {
            drop(opened);
            for child in children {
                remove_dir_quietly(&shard_dir(&self.inner.config.dir, stream.id, child.id));
            }
            parents.iter().for_each(|parent| parent.reopen());
            return Err(error);
        }
        // Inserted before the catalog lock is released, so whoever sees the children in the
        // catalog can append to them.
        self.inner
            .shards
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .extend(
                opened
                    .iter()
                    .map(|shard| ((stream.name.clone(), shard.id), shard.clone())),
            );
        Ok(opened)
    }

    /// Splits an open shard at `new_starting_hash`: closes it and creates two children, the
    /// lower one ending at `new_starting_hash - 1`. Returns the children's ids.
    ///
    /// Holds the stream's router exclusively throughout (see [`Route`]): appends routed
    /// before are committed to the parent before it closes, appends routed after go to the
    /// children, and none meets the parent closed.
    pub async fn split_shard(
        &self,
        stream: &str,
        shard_id: u32,
        new_starting_hash: u128,
    ) -> Result<[u32; 2]> {
        let router = self.router(stream)?;
        let mut routes = router.write_owned().await;
        let info = self.stream(stream)?;
        let parent = info
            .shard(shard_id)
            .cloned()
            .ok_or_else(|| Error::ShardNotFound {
                stream: stream.to_string(),
                shard: shard_id,
            })?;
        if !parent.is_open() {
            return Err(Error::ShardClosed {
                stream: stream.into(),
                shard: shard_id,
                ending_offset: parent.ending_offset.unwrap_or(0),
            });
        }
        if new_starting_hash <= parent.hash_start || new_starting_hash > parent.hash_end {
            return Err(Error::InvalidArgument(format!(
                "new starting hash key {new_starting_hash} is not inside shard {shard_id}'s range {}..={}",
                parent.hash_start, parent.hash_end
            )));
        }
        let handle = self.shard(stream, shard_id)?;
        let ending = self.close_shard(&handle).await?;
        // The children's files and the catalog commit are blocking work (fsyncs, under the
        // catalog's std mutex): a blocking thread does them, and swaps the route table too.
        let log = self.clone();
        let stream = stream.to_string();
        off_runtime(move || {
            let stream = stream.as_str();
            let now = log.now_ms();
            let mut meta = lock(&log.inner.meta);
            let current = meta
                .catalog
                .streams
                .get(stream)
                .cloned()
                .ok_or_else(|| Error::StreamNotFound(stream.into()))?;
            let first = current.next_shard_id;
            let child = |id: u32, start: u128, end: u128| ShardInfo {
                id,
                hash_start: start,
                hash_end: end,
                parent: Some(shard_id),
                adjacent_parent: None,
                starting_offset: ending,
                ending_offset: None,
                created_ms: now,
            };
            let lower = child(first, parent.hash_start, new_starting_hash - 1);
            let upper = child(first + 1, new_starting_hash, parent.hash_end);
            let ops = vec![
                Op::CloseShard {
                    stream: stream.into(),
                    shard: shard_id,
                    ending_offset: ending,
                },
                Op::AddShard {
                    stream: stream.into(),
                    shard: lower.clone(),
                },
                Op::AddShard {
                    stream: stream.into(),
                    shard: upper.clone(),
                },
            ];
            let children = [lower.clone(), upper.clone()];
            let handles = log.add_children(&mut meta, &current, &children, &[&handle], ops)?;
            drop(meta);
            routes.replace(&[shard_id], with_ranges(&children, handles));
            drop(routes);
            Ok([lower.id, upper.id])
        })
        .await
    }

    /// Merges two open shards with adjacent hash ranges into one new shard; `shard_id` becomes
    /// the parent and `adjacent_id` the adjacent parent. Returns the child's id. Holds the
    /// stream's router exclusively throughout, as [`Log::split_shard`] does.
    pub async fn merge_shards(&self, stream: &str, shard_id: u32, adjacent_id: u32) -> Result<u32> {
        let router = self.router(stream)?;
        let mut routes = router.write_owned().await;
        let info = self.stream(stream)?;
        let find = |id: u32| {
            info.shard(id).cloned().ok_or_else(|| Error::ShardNotFound {
                stream: stream.to_string(),
                shard: id,
            })
        };
        let (first, second) = (find(shard_id)?, find(adjacent_id)?);
        for shard in [&first, &second] {
            if let Some(ending) = shard.ending_offset {
                return Err(Error::ShardClosed {
                    stream: stream.into(),
                    shard: shard.id,
                    ending_offset: ending,
                });
            }
        }
        let adjacent = first.hash_end.checked_add(1) == Some(second.hash_start)
            || second.hash_end.checked_add(1) == Some(first.hash_start);
        if !adjacent || shard_id == adjacent_id {
            return Err(Error::InvalidArgument(format!(
                "shards {shard_id} and {adjacent_id} are not adjacent"
            )));
        }
        let (first_handle, second_handle) = (
            self.shard(stream, shard_id)?,
            self.shard(stream, adjacent_id)?,
        );
        let ending_first = self.close_shard(&first_handle).await?;
        let ending_second = match self.close_shard(&second_handle).await {
            Ok(ending) => ending,
            Err(error) => {
                first_handle.reopen();
                return Err(error);
            }
        };
        // Blocking work on a blocking thread, as in `split_shard`.
        let log = self.clone();
        let stream = stream.to_string();
        off_runtime(move || {
            let stream = stream.as_str();
            let now = log.now_ms();
            let mut meta = lock(&log.inner.meta);
            let current = meta
                .catalog
                .streams
                .get(stream)
                .cloned()
                .ok_or_else(|| Error::StreamNotFound(stream.into()))?;
            let child = ShardInfo {
                id: current.next_shard_id,
                hash_start: first.hash_start.min(second.hash_start),
                hash_end: first.hash_end.max(second.hash_end),
                parent: Some(shard_id),
                adjacent_parent: Some(adjacent_id),
                starting_offset: ending_first.max(ending_second),
                ending_offset: None,
                created_ms: now,
            };
            let ops = vec![
                Op::CloseShard {
                    stream: stream.into(),
                    shard: shard_id,
                    ending_offset: ending_first,
                },
                Op::CloseShard {
                    stream: stream.into(),
                    shard: adjacent_id,
                    ending_offset: ending_second,
                },
                Op::AddShard {
                    stream: stream.into(),
                    shard: child.clone(),
                },
            ];
            let parents = [&first_handle, &second_handle];
            let children = std::slice::from_ref(&child);
            let handles = log.add_children(&mut meta, &current, children, &parents, ops)?;
            drop(meta);
            routes.replace(&[shard_id, adjacent_id], with_ranges(children, handles));
            drop(routes);
            Ok(child.id)
        })
        .await
    }

    // ---- cursors and properties ------------------------------------------------------------

    /// Durably records that consumer `name` has processed `stream`/`shard` up to `offset`.
    pub fn commit_cursor(&self, name: &str, stream: &str, shard: u32, offset: u64) -> Result<()> {
        let mut meta = lock(&self.inner.meta);
        let info = meta
            .catalog
            .streams
            .get(stream)
            .ok_or_else(|| Error::StreamNotFound(stream.into()))?;
        if info.shard(shard).is_none() {
            return Err(Error::ShardNotFound {
                stream: stream.into(),
                shard,
            });
        }
        let key = CursorKey {
            name: name.into(),
            stream: stream.into(),
            shard,
        };
        meta.commit(vec![Op::PutCursor { key, offset }])
    }

    /// Where consumer `name` is in `stream`/`shard`, if it committed a position.
    pub fn cursor(&self, name: &str, stream: &str, shard: u32) -> Option<u64> {
        let key = CursorKey {
            name: name.into(),
            stream: stream.into(),
            shard,
        };
        lock(&self.inner.meta).catalog.cursors.get(&key).copied()
    }

    /// Every position consumer `name` has committed.
    pub fn cursors(&self, name: &str) -> Vec<(CursorKey, u64)> {
        let meta = lock(&self.inner.meta);
        meta.catalog
            .cursors
            .iter()
            .filter(|(key, _)| key.name == name)
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    /// Forgets every position of consumer `name`.
    pub fn delete_cursors(&self, name: &str) -> Result<()> {
        lock(&self.inner.meta).commit(vec![Op::DeleteCursors(name.into())])
    }

    /// Durably stores a small value for a view (tags, settings).
    pub fn put_property(&self, namespace: &str, key: &str, value: Vec<u8>) -> Result<()> {
        lock(&self.inner.meta).commit(vec![Op::PutProperty {
            namespace: namespace.into(),
            key: key.into(),
            value,
        }])
    }

    /// A stored property.
    pub fn property(&self, namespace: &str, key: &str) -> Option<Vec<u8>> {
        lock(&self.inner.meta)
            .catalog
            .properties
            .get(&(namespace.to_string(), key.to_string()))
            .cloned()
    }

    /// Every property in a namespace, by key.
    pub fn properties(&self, namespace: &str) -> Vec<(String, Vec<u8>)> {
        let meta = lock(&self.inner.meta);
        meta.catalog
            .properties
            .iter()
            .filter(|((ns, _), _)| ns == namespace)
            .map(|((_, key), value)| (key.clone(), value.clone()))
            .collect()
    }

    /// Removes a property.
    pub fn delete_property(&self, namespace: &str, key: &str) -> Result<()> {
        lock(&self.inner.meta).commit(vec![Op::DeleteProperty {
            namespace: namespace.into(),
            key: key.into(),
        }])
    }

    // ---- retention and shutdown --------------------------------------------------------------

    /// Deletes every whole segment older than its stream's retention now; returns how many.
    /// Runs by itself every `retention_check_interval`; tests call it directly.
    pub fn enforce_retention(&self) -> Result<usize> {
        retention::enforce(&self.inner)
    }

    pub(crate) fn retention_of(inner: &Inner, stream: &str) -> Option<Duration> {
        lock(&inner.meta)
            .catalog
            .streams
            .get(stream)
            .map(|info| info.retention)
    }

    /// Stops the log: finishes queued appends, syncs every file, stops the background threads.
    /// Later calls fail with [`Error::Closed`]. Blocking; call it from a blocking context.
    pub fn close(&self) -> Result<()> {
        let sender = self
            .inner
            .sender
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        drop(sender);
        if let Some(handle) = lock(&self.inner.commit_thread).take()
            && handle.join().is_err()
        {
            tracing::error!("Commit thread panicked");
        }
        drop(lock(&self.inner.retention_stop).take());
        if let Some(handle) = lock(&self.inner.retention_thread).take() {
            let _ = handle.join();
        }
        // Everything is synced and stopped: another log may open the directory now.
        drop(lock(&self.inner.lock).take());
        Ok(())
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        drop(self.sender.get_mut().ok().and_then(Option::take));
        if let Some(handle) = self.commit_thread.get_mut().ok().and_then(Option::take) {
            let _ = handle.join();
        }
        drop(self.retention_stop.get_mut().ok().and_then(Option::take));
    }
}

/// The engine's only rule: records are kept for some time. Bounds are the views' (Kinesis's
/// 24 to 8760 hours are `views::streams`').
fn check_retention(retention: Duration) -> Result<()> {
    if retention.as_millis() == 0 {
        return Err(Error::InvalidArgument(
            "a stream's retention must be at least a millisecond".to_string(),
        ));
    }
    Ok(())
}

fn layout(
    config: &LogConfig,
    files: &Arc<OpenFiles>,
    stream: &StreamInfo,
    shard: &ShardInfo,
) -> ShardLayout {
    ShardLayout {
        stream: stream.name.clone(),
        id: shard.id,
        dir: shard_dir(&config.dir, stream.id, shard.id),
        starting_offset: shard.starting_offset,
        ending_offset: shard.ending_offset,
        file_bytes: config.segment_file_bytes(),
        segment_bytes_max: config.segment_bytes_max,
        index_interval_bytes: config.index_interval_bytes,
        files: files.clone(),
        allocate_step: if config.segment_preallocate {
            config.segment_allocate_step_bytes
        } else {
            0
        },
        faults: config.faults.clone(),
    }
}

fn state_dir(root: &Path, stream_id: u64) -> std::path::PathBuf {
    root.join("streams")
        .join(stream_id.to_string())
        .join(STATE_DIR)
}

/// Opens (creating if needed) the state shard in `dir` and recovers its fold.
fn open_state(
    config: &LogConfig,
    files: &Arc<OpenFiles>,
    stream: &str,
    dir: std::path::PathBuf,
) -> Result<Arc<StreamState>> {
    let shard = Shard::open(ShardLayout {
        stream: stream.to_string(),
        id: STATE_SHARD_ID,
        dir: dir.clone(),
        starting_offset: 0,
        ending_offset: None,
        file_bytes: config.state_segment_bytes_max + config.batch_bytes_max as u64,
        segment_bytes_max: config.state_segment_bytes_max,
        index_interval_bytes: config.index_interval_bytes,
        files: files.clone(),
        allocate_step: if config.segment_preallocate {
            config
                .segment_allocate_step_bytes
                .min(STATE_ALLOCATE_STEP_BYTES)
        } else {
            0
        },
        faults: config.faults.clone(),
    })?;
    let policy = SnapshotPolicy {
        changes_min: config.state_snapshot_changes_min,
        bytes_min: config.state_snapshot_bytes_min,
    };
    Ok(StreamState::open(stream.to_string(), shard, dir, policy))
}

/// A state shard allocates at most this much at a time: most states are small.
const STATE_ALLOCATE_STEP_BYTES: u64 = 1024 * 1024;

/// The route table entries of new `children`, from their catalog entries and handles.
fn with_ranges(children: &[ShardInfo], handles: Vec<Arc<Shard>>) -> Vec<(u128, u128, Arc<Shard>)> {
    children
        .iter()
        .zip(handles)
        .map(|(info, shard)| (info.hash_start, info.hash_end, shard))
        .collect()
}

fn remove_dir_quietly(dir: &Path) {
    match std::fs::remove_dir_all(dir) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            tracing::warn!(dir = %dir.display(), %error, "Could not remove half-made files; removed on next open");
        }
        _ => {}
    }
}

/// Removes stream directories the catalog does not know (a crash during a delete, or during a
/// create before its catalog entry), and shard directories of known streams it does not know
/// (a crash during a split or merge before its catalog entry).
fn remove_orphans(dir: &Path, meta: &MetaStore) {
    let Ok(listing) = std::fs::read_dir(dir.join("streams")) else {
        return;
    };
    for entry in listing.flatten() {
        let stream = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u64>().ok())
            .and_then(|id| meta.catalog.streams.values().find(|s| s.id == id));
        let Some(stream) = stream else {
            tracing::info!(dir = %entry.path().display(), "Removing files of a stream the catalog does not know");
            remove_dir_quietly(&entry.path());
            continue;
        };
        let Ok(shards) = std::fs::read_dir(entry.path()) else {
            continue;
        };
        for shard in shards.flatten() {
            if shard.file_name() == STATE_DIR {
                continue;
            }
            let known = shard
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|id| stream.shard(id).is_some());
            if !known {
                tracing::info!(dir = %shard.path().display(), "Removing files of a shard the catalog does not know");
                remove_dir_quietly(&shard.path());
            }
        }
    }
}

/// The maintenance thread: a retention pass every `every`, and state compactions as asked.
/// Stops when its queue's sender is dropped (by `close`).
fn retention_loop(inner: Weak<Inner>, every: Duration, work: std_mpsc::Receiver<Maintenance>) {
    let mut next_pass = std::time::Instant::now() + every;
    loop {
        let wait = next_pass.saturating_duration_since(std::time::Instant::now());
        match work.recv_timeout(wait) {
            Ok(Maintenance::Compact(state)) => {
                if let Err(error) = state.compact() {
                    tracing::warn!(stream = %state.stream, %error, "State compaction failed; retried when due again");
                }
            }
            Err(std_mpsc::RecvTimeoutError::Timeout) => {
                next_pass = std::time::Instant::now() + every;
                let Some(inner) = inner.upgrade() else { return };
                if let Err(error) = retention::enforce(&inner) {
                    tracing::warn!(%error, "Retention pass failed");
                }
            }
            Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}
