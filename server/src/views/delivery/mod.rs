//! Delivery streams: Amazon Data Firehose semantics on the log.
//!
//! - A delivery stream's definition (source, S3 destination, buffering, compression, tags,
//!   encryption) is one log property ([`definition`]), so each change is one atomic write.
//! - A `DirectPut` delivery stream owns a one-shard engine stream named `firehose:<name>`
//!   (a name no Kinesis stream can have, so the Kinesis API never lists it): PutRecord and
//!   PutRecordBatch append to it and answer only once the log has acknowledged the records.
//!   A `KinesisStreamAsSource` one reads every shard of the Kinesis stream, from the position
//!   it had when the delivery stream was created (LATEST, as Firehose does).
//! - One background task per delivery stream ([`task`]) buffers each source shard's records
//!   per partition ([`buffer`], [`partition`]), encodes them ([`encode`], or Parquet with
//!   [`convert`]), puts the object ([`sink`]) under a key that is a pure function of the
//!   buffer ([`keys`]), and only then advances the shard's durable cursor
//!   (`firehose/<name>`). Records that cannot be partitioned or converted, and buffers that
//!   cannot be stored within the retry duration, go to the error output ([`errors`]).
//!
//! Invariants: a cursor never passes a record whose object is not stored; before an object
//! is put its range and key are recorded (`firehose.plan/<name>`), so after a crash the same
//! records are delivered again under the same key, replacing the first copy instead of
//! duplicating it. Delivery never drops records: a failing store is retried with exponential
//! backoff (the failure reported by Describe until a put succeeds), and after the retry
//! duration the buffer is written under the error output prefix instead.

pub mod buffer;
pub mod channels;
pub mod convert;
pub mod definition;
pub mod encode;
pub mod error;
pub mod errors;
pub mod keys;
pub mod partition;
pub mod sink;
pub mod task;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use storage::{Log, NewRecord, Owner, StreamInfo};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use self::channels::{Channel, ChannelState};
pub use self::definition::{Definition, Destination, Encryption, Source};
pub use self::error::{Error, Result};
use self::sink::{Sink, SinkSettings};

/// Namespace of the definitions (key: the delivery stream's name).
const DEFINITIONS: &str = "firehose.streams";
/// The naming scheme of the engine stream behind a DirectPut delivery stream (a name no
/// Kinesis or Firehose name can be, so the names never meet; which view a stream belongs to
/// is its owner, [`OWNER`], never its name).
const BACKING_PREFIX: &str = "firehose:";
/// The owner of the delivery streams' own engine streams.
pub const OWNER: Owner = Owner::FIREHOSE;
/// How long the records of a DirectPut delivery stream are kept in its engine stream, so a
/// store that is down for days loses nothing (Firehose itself keeps them 24 hours).
const BACKING_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// The engine stream a DirectPut delivery stream appends to.
pub fn backing_stream(name: &str) -> String {
    format!("{BACKING_PREFIX}{name}")
}

/// The engine stream of a DirectPut delivery stream, if there is one of that name owned by
/// this view.
fn find_backing(log: &Log, name: &str) -> Option<StreamInfo> {
    log.stream(&backing_stream(name))
        .ok()
        .filter(|info| info.owner == OWNER)
}

/// The engine stream a delivery stream reads, if it exists and is of the owner its source
/// implies: a DirectPut stream's own (`firehose`), or a Kinesis stream.
pub(crate) fn find_source(log: &Log, source: &Source, name: &str) -> Option<StreamInfo> {
    match source {
        Source::DirectPut => find_backing(log, name),
        Source::KinesisStream { stream, .. } => log
            .stream(stream)
            .ok()
            .filter(crate::views::streams::is_kinesis),
    }
}

/// The cursor name of a delivery stream's delivered positions.
fn cursor_name(name: &str) -> String {
    format!("firehose/{name}")
}

/// The property namespace of a delivery stream's planned buffers.
fn plan_namespace(name: &str) -> String {
    format!("firehose.plan/{name}")
}

/// The view's settings (`[delivery]` and the region/account of `[kinesis]`).
#[derive(Clone, Debug)]
pub struct Settings {
    /// The region in ARNs.
    pub region: String,
    /// The account id in ARNs.
    pub account: String,
    /// Where objects go.
    pub sink: SinkSettings,
    /// First wait after a failed put.
    pub retry_backoff_min: Duration,
    /// Longest wait between two attempts.
    pub retry_backoff_max: Duration,
    /// How long a buffer's put may keep failing before the buffer goes to the error output
    /// prefix (Firehose's fixed 24 hours for S3).
    pub retry_duration: Duration,
    /// How often an idle delivery task looks for new records and due buffers.
    pub poll_interval: Duration,
    /// Format-conversion schemas by table name (`[delivery.schemas.<table>]`).
    pub schemas: BTreeMap<String, convert::Schema>,
    /// Buffers a delivery stream encodes and stores at once (at least 1).
    pub objects_in_flight: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            account: "000000000000".into(),
            sink: SinkSettings::default(),
            retry_backoff_min: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(10),
            retry_duration: Duration::from_secs(86_400),
            poll_interval: Duration::from_millis(100),
            schemas: BTreeMap::new(),
            objects_in_flight: 2,
        }
    }
}

/// Counters of one delivery stream, since the server started.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Records accepted (DirectPut) or read from the source (Kinesis).
    pub records_in: AtomicU64,
    /// Their bytes.
    pub bytes_in: AtomicU64,
    /// Objects stored.
    pub objects_delivered: AtomicU64,
    /// Records in stored objects.
    pub records_delivered: AtomicU64,
    /// Bytes of stored objects (after compression).
    pub bytes_delivered: AtomicU64,
    /// Failed puts.
    pub failures: AtomicU64,
    /// Arrival time (ms) of the oldest record not yet delivered; `i64::MAX` when none.
    pub oldest_pending_ms: AtomicI64,
}

/// A snapshot of [`Metrics`], with the data freshness computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// See [`Metrics::records_in`].
    pub records_in: u64,
    /// See [`Metrics::bytes_in`].
    pub bytes_in: u64,
    /// See [`Metrics::objects_delivered`].
    pub objects_delivered: u64,
    /// See [`Metrics::records_delivered`].
    pub records_delivered: u64,
    /// See [`Metrics::bytes_delivered`].
    pub bytes_delivered: u64,
    /// See [`Metrics::failures`].
    pub failures: u64,
    /// Age (ms) of the oldest record not yet delivered; 0 when everything read is delivered.
    pub freshness_ms: i64,
}

/// A delivery failure, as Describe reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong, last.
    pub details: String,
    /// When the failures began (ms).
    pub since_ms: i64,
    /// Reading the source failed (rather than storing an object).
    pub source: bool,
}

/// One delivery stream's live state.
pub struct Entry {
    definition: RwLock<Definition>,
    failure: Mutex<Option<Failure>>,
    metrics: Metrics,
    wake: Notify,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Entry {
    fn new(definition: Definition) -> Self {
        let metrics = Metrics::default();
        metrics.oldest_pending_ms.store(i64::MAX, Ordering::Relaxed);
        Self {
            definition: RwLock::new(definition),
            failure: Mutex::new(None),
            metrics,
            wake: Notify::new(),
            task: Mutex::new(None),
        }
    }

    /// The current definition.
    pub fn definition(&self) -> Definition {
        self.definition
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_failure(&self, details: String, now_ms: i64, source: bool) {
        let mut failure = lock(&self.failure);
        let since_ms = failure.as_ref().map_or(now_ms, |f| f.since_ms);
        *failure = Some(Failure {
            details,
            since_ms,
            source,
        });
    }

    fn clear_failure(&self) {
        *lock(&self.failure) = None;
    }

    /// Clears a failure to read the source (the source is readable again).
    fn clear_source_failure(&self) {
        let mut failure = lock(&self.failure);
        if failure.as_ref().is_some_and(|f| f.source) {
            *failure = None;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// What Describe shows.
#[derive(Clone, Debug)]
pub struct Described {
    /// The definition.
    pub definition: Definition,
    /// The ongoing failure, if deliveries fail.
    pub failure: Option<Failure>,
}

/// The delivery-streams view.
#[derive(Clone)]
pub struct DeliveryStreams {
    inner: Arc<Inner>,
}

struct Inner {
    log: Log,
    settings: Settings,
    sink: Sink,
    runtime: tokio::runtime::Handle,
    entries: Mutex<BTreeMap<String, Arc<Entry>>>,
    /// Serializes catalog changes (create, delete, update) so each sees the last one's result.
    changes: Mutex<()>,
}

impl DeliveryStreams {
    /// Loads every delivery stream from the log and starts its delivery task. Must be called
    /// inside a tokio runtime (the tasks run on it).
    pub fn open(log: Log, settings: Settings) -> Result<Self> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|error| Error::Internal(format!("no runtime: {error}")))?;
        let sink = Sink::new(settings.sink.clone());
        let view = Self {
            inner: Arc::new(Inner {
                log,
                settings,
                sink,
                runtime,
                entries: Mutex::new(BTreeMap::new()),
                changes: Mutex::new(()),
            }),
        };
        for (name, value) in view.inner.log.properties(DEFINITIONS) {
            match Definition::decode(&name, &value) {
                Some(definition) => {
                    let entry = Arc::new(Entry::new(definition));
                    lock(&view.inner.entries).insert(name, entry.clone());
                    view.start(&entry);
                }
                None => {
                    tracing::warn!(delivery_stream = %name, "Unreadable delivery stream definition; skipped")
                }
            }
        }
        Ok(view)
    }

    /// The log.
    pub fn log(&self) -> &Log {
        &self.inner.log
    }

    /// A delivery stream's ARN.
    pub fn arn(&self, name: &str) -> String {
        format!(
            "arn:aws:firehose:{}:{}:deliverystream/{name}",
            self.inner.settings.region, self.inner.settings.account
        )
    }

    fn start(&self, entry: &Arc<Entry>) {
        let context = task::Context {
            log: self.inner.log.clone(),
            sink: self.inner.sink.clone(),
            settings: self.inner.settings.clone(),
        };
        let handle = self.inner.runtime.spawn(task::run(context, entry.clone()));
        *lock(&entry.task) = Some(handle);
    }

    fn entry(&self, name: &str) -> Result<Arc<Entry>> {
        lock(&self.inner.entries)
            .get(name)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                name: name.to_owned(),
                account: self.inner.settings.account.clone(),
            })
    }

    fn persist(&self, definition: &Definition) -> Result<()> {
        self.inner
            .log
            .put_property(DEFINITIONS, &definition.name, definition.encode())?;
        Ok(())
    }

    /// Creates a delivery stream (blocking: writes the catalog) and starts delivering.
    pub fn create(&self, definition: Definition) -> Result<()> {
        self.check_schema(&definition.destination)?;
        let _changes = lock(&self.inner.changes);
        let name = definition.name.clone();
        if lock(&self.inner.entries).contains_key(&name) {
            return Err(Error::Exists {
                name,
                account: self.inner.settings.account.clone(),
            });
        }
        let log = &self.inner.log;
        // Left-overs of a delete that did not finish: the definition is gone, so they are
        // not this delivery stream's.
        log.delete_cursors(&cursor_name(&name))?;
        for (key, _) in log.properties(&plan_namespace(&name)) {
            log.delete_property(&plan_namespace(&name), &key)?;
        }
        match &definition.source {
            Source::DirectPut => {
                if let Some(left_over) = find_backing(log, &name) {
                    log.delete_stream(&left_over.name)?;
                }
                log.create_stream(&backing_stream(&name), 1, BACKING_RETENTION, OWNER)?;
            }
            Source::KinesisStream { stream, .. } => {
                // Start at LATEST: every shard's current end.
                let info = find_source(log, &definition.source, &name).ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "Kinesis stream {stream} under account {} not found.",
                        self.inner.settings.account
                    ))
                })?;
                for shard in &info.shards {
                    let bounds = log.shard_bounds(stream, shard.id)?;
                    log.commit_cursor(&cursor_name(&name), stream, shard.id, bounds.next)?;
                }
            }
        }
        self.persist(&definition)?;
        let entry = Arc::new(Entry::new(definition));
        lock(&self.inner.entries).insert(name, entry.clone());
        self.start(&entry);
        Ok(())
    }

    /// Deletes a delivery stream: stops its task and forgets its records and positions
    /// (blocking: writes the catalog).
    pub fn delete(&self, name: &str) -> Result<()> {
        let _changes = lock(&self.inner.changes);
        let entry = self.entry(name)?;
        if let Some(task) = lock(&entry.task).take() {
            task.abort();
        }
        let log = &self.inner.log;
        // The definition first: once it is gone, a restart does not bring the stream back,
        // and create() removes whatever else is left.
        log.delete_property(DEFINITIONS, name)?;
        lock(&self.inner.entries).remove(name);
        if matches!(entry.definition().source, Source::DirectPut)
            && let Some(backing) = find_backing(log, name)
        {
            log.delete_stream(&backing.name)?;
        }
        log.delete_cursors(&cursor_name(name))?;
        for (key, _) in log.properties(&plan_namespace(name)) {
            log.delete_property(&plan_namespace(name), &key)?;
        }
        Ok(())
    }

    /// A delivery stream, its failure and counters.
    pub fn describe(&self, name: &str) -> Result<Described> {
        let entry = self.entry(name)?;
        Ok(Described {
            definition: entry.definition(),
            failure: lock(&entry.failure).clone(),
        })
    }

    fn snapshot(&self, entry: &Entry) -> MetricsSnapshot {
        let m = &entry.metrics;
        let oldest = m.oldest_pending_ms.load(Ordering::Relaxed);
        MetricsSnapshot {
            records_in: m.records_in.load(Ordering::Relaxed),
            bytes_in: m.bytes_in.load(Ordering::Relaxed),
            objects_delivered: m.objects_delivered.load(Ordering::Relaxed),
            records_delivered: m.records_delivered.load(Ordering::Relaxed),
            bytes_delivered: m.bytes_delivered.load(Ordering::Relaxed),
            failures: m.failures.load(Ordering::Relaxed),
            freshness_ms: if oldest == i64::MAX {
                0
            } else {
                (self.inner.log.now_ms() - oldest).max(0)
            },
        }
    }

    /// Every delivery stream's counters, by name.
    pub fn metrics(&self) -> Vec<(String, MetricsSnapshot)> {
        let entries: Vec<(String, Arc<Entry>)> = lock(&self.inner.entries)
            .iter()
            .map(|(name, entry)| (name.clone(), entry.clone()))
            .collect();
        entries
            .into_iter()
            .map(|(name, entry)| (name, self.snapshot(&entry)))
            .collect()
    }

    /// Every delivery stream, by name.
    pub fn list(&self) -> Vec<Definition> {
        lock(&self.inner.entries)
            .values()
            .map(|entry| entry.definition())
            .collect()
    }

    /// Appends records to a DirectPut delivery stream; resolves once the log acknowledged
    /// them, with their offsets.
    pub async fn put(&self, name: &str, records: Vec<Bytes>) -> Result<Vec<u64>> {
        self.put_keyed(
            name,
            records
                .into_iter()
                .map(|data| (Bytes::new(), data))
                .collect(),
        )
        .await
    }

    /// Which of `keys` are the keys of records put to `name` since `since_ms` (a bounded
    /// read from that time to the tail): how a topic's fan-out, resuming after a crash,
    /// finds the records it had already put ([`DeliveryStreams::put_keyed`]).
    pub fn present_keys(
        &self,
        name: &str,
        since_ms: i64,
        keys: &std::collections::HashSet<Bytes>,
    ) -> Result<std::collections::HashSet<Bytes>> {
        self.entry(name)?;
        let log = &self.inner.log;
        let stream = backing_stream(name);
        let mut found = std::collections::HashSet::new();
        let mut from = log.offset_for_timestamp(&stream, 0, since_ms)?;
        let limits = storage::ReadLimits {
            records_max: 1024,
            bytes_max: 8 << 20,
        };
        loop {
            let batch = match log.read(&stream, 0, from, limits) {
                Ok(batch) => batch,
                Err(storage::Error::OffsetBeyondEnd { .. }) => break,
                Err(storage::Error::Trimmed { earliest, .. }) => {
                    from = earliest;
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            if batch.records.is_empty() {
                break;
            }
            for record in &batch.records {
                if keys.contains(&record.key) {
                    found.insert(record.key.clone());
                }
            }
            from = batch.next_offset;
        }
        Ok(found)
    }

    /// [`DeliveryStreams::put`] with a key stored beside each record (not delivered: the
    /// objects hold the data alone), for [`DeliveryStreams::present_keys`].
    pub async fn put_keyed(&self, name: &str, records: Vec<(Bytes, Bytes)>) -> Result<Vec<u64>> {
        let entry = self.entry(name)?;
        if !matches!(entry.definition().source, Source::DirectPut) {
            return Err(Error::InvalidArgument(format!(
                "This operation is not permitted on KinesisStreamAsSource delivery stream type {name}."
            )));
        }
        let count = records.len();
        let bytes: usize = records.iter().map(|(_, data)| data.len()).sum();
        let records = records
            .into_iter()
            .map(|(key, data)| NewRecord::new(key, data))
            .collect();
        let ack = match self
            .inner
            .log
            .append(&backing_stream(name), 0, records)
            .await
        {
            Ok(ack) => ack,
            // Deleted while the request was on its way.
            Err(storage::Error::StreamNotFound(_)) => {
                return Err(Error::NotFound {
                    name: name.to_owned(),
                    account: self.inner.settings.account.clone(),
                });
            }
            Err(error) => return Err(error.into()),
        };
        let metrics = &entry.metrics;
        metrics
            .records_in
            .fetch_add(u64::try_from(count).unwrap_or(u64::MAX), Ordering::Relaxed);
        metrics
            .bytes_in
            .fetch_add(u64::try_from(bytes).unwrap_or(u64::MAX), Ordering::Relaxed);
        entry.wake.notify_one();
        Ok((0..count as u64).map(|i| ack.first_offset + i).collect())
    }

    /// Changes a delivery stream's definition if `version` is its current version; bumps
    /// the version (blocking: writes the catalog).
    pub fn update(
        &self,
        name: &str,
        version: Option<u64>,
        change: impl FnOnce(&mut Definition) -> Result<()>,
    ) -> Result<()> {
        let _changes = lock(&self.inner.changes);
        let entry = self.entry(name)?;
        let mut definition = entry.definition();
        if let Some(version) = version
            && version != definition.version
        {
            return Err(Error::ConcurrentModification(format!(
                "Cannot update firehose: {name} since the current version id: {} and specified version id: {version} do not match",
                definition.version
            )));
        }
        change(&mut definition)?;
        self.check_schema(&definition.destination)?;
        if version.is_some() {
            definition.version += 1;
            definition.updated_ms = Some(self.inner.log.now_ms());
        }
        self.persist(&definition)?;
        *entry.definition.write().unwrap_or_else(|e| e.into_inner()) = definition;
        entry.wake.notify_one();
        Ok(())
    }

    /// Format conversion needs its table's schema in the server's configuration.
    fn check_schema(&self, destination: &Destination) -> Result<()> {
        match &destination.conversion {
            Some(conversion) if !self.inner.settings.schemas.contains_key(&conversion.table) => {
                Err(Error::InvalidArgument(format!(
                    "SchemaConfiguration.TableName {} has no schema: add [delivery.schemas.{}] to the server's configuration.",
                    conversion.table, conversion.table
                )))
            }
            _ => Ok(()),
        }
    }

    /// Stops every delivery task (before the log is closed). Buffers not yet delivered are
    /// delivered after the next start, from the durable cursors.
    pub fn shutdown(&self) {
        for entry in lock(&self.inner.entries).values() {
            if let Some(task) = lock(&entry.task).take() {
                task.abort();
            }
        }
    }
}
