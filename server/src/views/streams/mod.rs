//! Kinesis Data Streams semantics on the log.
//!
//! - A Kinesis stream is an engine stream; a Kinesis shard is an engine shard
//!   (`shardId-<id:012>`), hash ranges and lineage come from the engine's catalog.
//! - Settings the engine does not know (mode, tags, encryption, metrics, record size limit,
//!   policy) are properties ([`meta`]).
//! - Sequence numbers ([`sequence`]) and shard iterators ([`iterator`]) encode engine offsets.
//! - Status: a stream is ACTIVE as soon as the engine has it, unless `state_change` is set,
//!   in which case it is CREATING, UPDATING or DELETING for that long after a change, as on
//!   AWS (held in memory: after a restart every stream is ACTIVE).
//!
//! Invariant: records of one PutRecords call that land in the same shard are one engine
//! append, in request order; a PutRecord/PutRecords call returns only after its records are
//! acknowledged under the server's fsync setting.

pub mod admin;
pub mod budget;
pub mod consumers;
pub mod error;
pub mod iterator;
pub mod meta;
pub mod sequence;
pub mod subscribe;

/// The owner of the engine streams this view serves: Kinesis streams, which the native
/// protocol creates too. Every other owner's streams (a delivery stream's own, say) are not
/// listed, described or resolved here.
pub const OWNER: Owner = Owner::KINESIS;

/// Whether an engine stream is a Kinesis stream.
#[must_use]
pub fn is_kinesis(info: &StreamInfo) -> bool {
    info.owner == OWNER
}

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use storage::{Log, Owner, ReadLimits, Record, ShardInfo, StreamInfo};

pub use self::admin::retention_from_hours;
pub use self::error::{Error, Result};
use self::iterator::Position;
pub use self::meta::{Mode, StreamMeta};

/// The 128-bit hash key Kinesis derives from a partition key: MD5, read big-endian. The
/// engine's router applies the same rule, so it is the engine's function.
pub use storage::hash_key;

/// How long an iterator stays valid.
pub const ITERATOR_TTL_MS: i64 = protocol::aws::kinesis::limits::ITERATOR_TTL_MS;

/// The view's settings (the `[kinesis]` configuration section).
#[derive(Clone, Debug)]
pub struct Settings {
    /// The region in ARNs.
    pub region: String,
    /// The account id in ARNs.
    pub account: String,
    /// How long a stream stays CREATING/UPDATING/DELETING after a change (zero: never).
    pub state_change: Duration,
    /// Enforce the AWS per-shard write limits (1 MiB/s and 1,000 records/s).
    pub shard_write_limits: bool,
    /// The open shards Kinesis and native streams may have in all, shared with the native
    /// listener.
    pub budget: budget::ShardBudget,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            account: "000000000000".into(),
            state_change: Duration::ZERO,
            shard_write_limits: false,
            budget: budget::ShardBudget::new(admin::ACCOUNT_SHARDS_MAX),
        }
    }
}

/// A stream's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Just created.
    Creating,
    /// Usable.
    Active,
    /// Being resharded or reconfigured; reads and writes work.
    Updating,
    /// Being deleted.
    Deleting,
}

impl Status {
    /// The AWS name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "CREATING",
            Self::Active => "ACTIVE",
            Self::Updating => "UPDATING",
            Self::Deleting => "DELETING",
        }
    }
}

/// A stream as the API describes it.
#[derive(Clone, Debug)]
pub struct StreamView {
    /// The engine's catalog entry (shards and lineage).
    pub info: StreamInfo,
    /// Current status.
    pub status: Status,
    /// Kinesis settings.
    pub meta: StreamMeta,
    /// The ARN.
    pub arn: String,
}

/// A record to put.
#[derive(Clone, Debug)]
pub struct PutEntry {
    /// The partition key (already checked: 1–256 characters).
    pub partition_key: String,
    /// A hash key overriding the partition key's MD5.
    pub explicit_hash_key: Option<u128>,
    /// The payload.
    pub data: Bytes,
}

/// Where a put record was stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    /// The shard.
    pub shard: u32,
    /// Its offset in the shard.
    pub offset: u64,
}

/// The records of one put, read where they are, so a request's partition keys and (encoded)
/// data go into the shards' batches without being copied out first.
pub trait PutRecords {
    /// How many records.
    fn count(&self) -> usize;
    /// Record `index`'s partition key (checked: 1–256 characters).
    fn partition_key(&self, index: usize) -> &[u8];
    /// Its hash key overriding the partition key's MD5.
    fn explicit_hash_key(&self, index: usize) -> Option<u128>;
    /// The size of its data.
    fn data_len(&self, index: usize) -> usize;
    /// Writes its data into `out` (exactly [`Self::data_len`] bytes); false if it cannot.
    fn write_data(&self, index: usize, out: &mut [u8]) -> bool;
}

impl PutRecords for [PutEntry] {
    fn count(&self) -> usize {
        self.len()
    }
    fn partition_key(&self, index: usize) -> &[u8] {
        self.get(index)
            .map_or(&[][..], |entry| entry.partition_key.as_bytes())
    }
    fn explicit_hash_key(&self, index: usize) -> Option<u128> {
        self.get(index).and_then(|entry| entry.explicit_hash_key)
    }
    fn data_len(&self, index: usize) -> usize {
        self.get(index).map_or(0, |entry| entry.data.len())
    }
    fn write_data(&self, index: usize, out: &mut [u8]) -> bool {
        match self.get(index) {
            Some(entry) if entry.data.len() == out.len() => {
                out.copy_from_slice(&entry.data);
                true
            }
            _ => false,
        }
    }
}

/// One shard's part of a put: its records' places in the request and their batch.
struct ShardPut {
    shard: u32,
    indexes: Vec<usize>,
    /// Partition keys and data, as the write limits count them.
    bytes: usize,
    /// Data alone, as the metrics count it.
    data_bytes: usize,
    encoded: storage::EncodedRecords,
}

/// A put routed and encoded by [`Streams::prepare_put`], holding the stream's routes until
/// [`Self::commit`] has queued its appends.
pub struct PreparedPut {
    streams: Streams,
    stream: String,
    route: storage::Route,
    results: Vec<Option<Result<Stored>>>,
    groups: Vec<ShardPut>,
}

impl PreparedPut {
    /// Queues each shard's batch (those the write limits let in) and waits for them to be
    /// acknowledged; one result per record, in request order. A shard whose append failed
    /// reports the failure on each of its records.
    pub async fn commit(self) -> Result<Vec<Result<Stored>>> {
        let Self {
            streams,
            stream,
            route,
            mut results,
            groups,
        } = self;
        let stream = stream.as_str();
        let mut appends = Vec::with_capacity(groups.len());
        for group in groups {
            let count = group.indexes.len();
            if !streams.admit(stream, group.shard, count, group.bytes) {
                for &index in &group.indexes {
                    if let Some(slot) = results.get_mut(index) {
                        *slot = Some(Err(Error::ThroughputExceeded {
                            stream: stream.to_owned(),
                            shard: sequence::shard_name(group.shard),
                            account: streams.inner.settings.account.clone(),
                        }));
                    }
                }
                continue;
            }
            let data_bytes = group.data_bytes;
            let queued = route.enqueue_encoded(group.shard, group.encoded).await;
            appends.push((group.shard, group.indexes, data_bytes, queued));
        }
        // Everything is queued: a split or merge may go ahead while the commits complete.
        drop(route);
        for (shard, indexes, bytes, queued) in appends {
            let acked = match queued {
                Ok(pending_append) => pending_append.acknowledged().await,
                Err(error) => Err(error),
            };
            match acked {
                Ok(ack) => {
                    crate::metrics::kinesis_records_in(stream, shard, indexes.len(), bytes);
                    for (position, index) in indexes.into_iter().enumerate() {
                        if let Some(slot) = results.get_mut(index) {
                            *slot = Some(Ok(Stored {
                                shard,
                                offset: ack.first_offset + position as u64,
                            }));
                        }
                    }
                }
                Err(storage::Error::StreamNotFound(_)) => return Err(streams.not_found(stream)),
                Err(error) => {
                    for index in indexes {
                        if let Some(slot) = results.get_mut(index) {
                            *slot = Some(Err(Error::internal(&error)));
                        }
                    }
                }
            }
        }
        Ok(results
            .into_iter()
            .map(|result| {
                result.unwrap_or_else(|| Err(Error::Internal("record not routed".into())))
            })
            .collect())
    }
}

/// Where a new iterator starts.
#[derive(Clone, Debug)]
pub enum Start {
    /// The oldest retained record.
    TrimHorizon,
    /// Just after the newest record.
    Latest,
    /// At this sequence number.
    AtSequence(String),
    /// Just after this sequence number.
    AfterSequence(String),
    /// The first record that arrived at or after this time (ms).
    AtTimestamp(i64),
}

/// What GetRecords returns.
#[derive(Clone, Debug)]
pub struct Fetched {
    /// The shard read.
    pub shard: u32,
    /// The records, in order.
    pub records: Vec<Record>,
    /// Where to read next; `None` once a closed shard is read to its end.
    pub next_iterator: Option<String>,
    /// How far behind the shard's tip the response is.
    pub millis_behind: i64,
    /// The children, once a closed shard is read to its end.
    pub children: Option<Vec<ShardInfo>>,
}

#[derive(Clone, Debug)]
struct Transition {
    status: Status,
    /// Engine clock, milliseconds since the epoch.
    until: i64,
}

/// A token bucket pair for one shard's write limits.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Engine clock, milliseconds since the epoch.
    at: i64,
    bytes: f64,
    records: f64,
}

/// The Kinesis streams view.
#[derive(Clone)]
pub struct Streams {
    inner: Arc<Inner>,
}

struct Inner {
    log: Log,
    settings: Settings,
    iterator_key: [u8; 32],
    transitions: Mutex<HashMap<String, Transition>>,
    /// Streams deleted from the log but still reported as DELETING, with their last view.
    deleting: Mutex<HashMap<String, (StreamView, i64)>>,
    buckets: Mutex<HashMap<(String, u32), Bucket>>,
    subscriptions: subscribe::Registry,
    /// Each stream's settings as last loaded or stored, so the data path reads them without
    /// the catalog (see [`Streams::meta`]).
    metas: RwLock<HashMap<String, Arc<StreamMeta>>>,
}

/// `now_ms` plus `delay`, saturating.
fn later_ms(now_ms: i64, delay: Duration) -> i64 {
    now_ms.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

/// The property holding the iterator signing key.
const KEY_NAMESPACE: &str = "kinesis";
const KEY_NAME: &str = "iterator_key";

impl Streams {
    /// Opens the view on `log`, creating the iterator signing key on first use (blocking).
    pub fn open(log: Log, settings: Settings) -> Result<Self> {
        let iterator_key = super::signing_key(&log, KEY_NAMESPACE, KEY_NAME)
            .map_err(|error| Error::internal(&error))?;
        Ok(Self {
            inner: Arc::new(Inner {
                log,
                settings,
                iterator_key,
                transitions: Mutex::new(HashMap::new()),
                deleting: Mutex::new(HashMap::new()),
                buckets: Mutex::new(HashMap::new()),
                subscriptions: subscribe::Registry::default(),
                metas: RwLock::new(HashMap::new()),
            }),
        })
    }

    /// A stream's settings (defaults for a stream that has none stored).
    ///
    /// Served from the view's copy: the data path (PutRecord, PutRecords) reads them on every
    /// request and must not take the catalog mutex or scan the properties for it. Every change
    /// goes through [`Self::store_meta`], which replaces the copy after the journal holds it;
    /// a load that raced with a change inserts only where no copy is, so it never puts back an
    /// older value over a newer one.
    pub fn meta(&self, stream: &str) -> Arc<StreamMeta> {
        if let Some(meta) = read(&self.inner.metas).get(stream) {
            return Arc::clone(meta);
        }
        let loaded = Arc::new(StreamMeta::load(&self.inner.log, stream));
        // Only a stream of this view gets a copy, so a copy means the stream existed.
        if !matches!(self.inner.log.stream(stream), Ok(info) if is_kinesis(&info)) {
            return loaded;
        }
        Arc::clone(
            write(&self.inner.metas)
                .entry(stream.to_owned())
                .or_insert(loaded),
        )
    }

    /// The settings of a stream that takes records: "not found" while it is CREATING or when
    /// it does not exist. After the first call for a stream this takes no catalog lock; a
    /// stream deleted in the meantime is caught by the append's route.
    pub fn writable_meta(&self, stream: &str) -> Result<Arc<StreamMeta>> {
        if self.transition(stream) == Some(Status::Creating) {
            return Err(self.not_found(stream));
        }
        if let Some(meta) = read(&self.inner.metas).get(stream) {
            return Ok(Arc::clone(meta));
        }
        self.active(stream)?;
        Ok(self.meta(stream))
    }

    /// Stores the change from `before` to `after` of a stream's settings, then makes `after`
    /// the view's copy (blocking: each changed setting is a journal entry).
    fn store_meta(&self, stream: &str, after: &StreamMeta, before: &StreamMeta) -> Result<()> {
        let stored = after.save(&self.inner.log, stream, before);
        // On a failure some settings may be stored and some not: read them back next time.
        let mut metas = write(&self.inner.metas);
        match stored {
            Ok(()) => metas.insert(stream.to_owned(), Arc::new(after.clone())),
            Err(_) => metas.remove(stream),
        };
        stored
    }

    /// The engine's clock (milliseconds since the epoch): state-change times and write
    /// limits are read from it, so tests drive them with a manual clock.
    fn now_ms(&self) -> i64 {
        self.inner.log.now_ms()
    }

    /// The log underneath.
    pub fn log(&self) -> &Log {
        &self.inner.log
    }

    /// The view's settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Holds the shard budget for a change adding `additional` open shards, or refuses it
    /// with AWS's LimitExceededException (blocking).
    pub fn reserve_shards_blocking(&self, additional: u64) -> Result<budget::Reservation<'_>> {
        let settings = &self.inner.settings;
        settings
            .budget
            .reserve_blocking(&self.inner.log, additional)
            .map_err(|over| self.over_budget(&over))
    }

    /// As [`Self::reserve_shards_blocking`], in async code.
    pub async fn reserve_shards(&self, additional: u64) -> Result<budget::Reservation<'_>> {
        let settings = &self.inner.settings;
        settings
            .budget
            .reserve(&self.inner.log, additional)
            .await
            .map_err(|over| self.over_budget(&over))
    }

    fn over_budget(&self, over: &budget::OverBudget) -> Error {
        let Settings {
            region, account, ..
        } = &self.inner.settings;
        Error::LimitExceeded(over.message(account, region))
    }

    /// A stream's ARN.
    pub fn arn(&self, stream: &str) -> String {
        let Settings {
            region, account, ..
        } = &self.inner.settings;
        format!("arn:aws:kinesis:{region}:{account}:stream/{stream}")
    }

    /// The stream an operation names: its name, or the name inside its ARN (which must be of
    /// this server's account and region when both are given).
    pub fn resolve(&self, name: Option<&str>, arn: Option<&str>) -> Result<String> {
        let from_arn = match arn {
            Some(arn) => Some(self.name_from_arn(arn)?),
            None => None,
        };
        match (name, from_arn) {
            (Some(name), Some(from_arn)) if name != from_arn => {
                Err(Error::InvalidArgument(format!(
                    "StreamName {name} and StreamARN {arn:?} name different streams.",
                    arn = arn.unwrap_or_default()
                )))
            }
            (Some(name), _) => Ok(name.to_owned()),
            (None, Some(from_arn)) => Ok(from_arn),
            (None, None) => Err(Error::InvalidArgument(
                "Either StreamName or StreamARN should be provided.".into(),
            )),
        }
    }

    fn name_from_arn(&self, arn: &str) -> Result<String> {
        let invalid = || Error::InvalidArgument(format!("Invalid StreamARN {arn}."));
        let mut parts = arn.splitn(6, ':');
        let (
            Some("arn"),
            Some(_partition),
            Some("kinesis"),
            Some(_region),
            Some(account),
            Some(resource),
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        )
        else {
            return Err(invalid());
        };
        let name = resource.strip_prefix("stream/").ok_or_else(invalid)?;
        let name = name.split('/').next().unwrap_or_default();
        // Another view's engine stream (a delivery stream's own) is not a Kinesis stream.
        if name.is_empty()
            || self
                .inner
                .log
                .stream(name)
                .is_ok_and(|info| !is_kinesis(&info))
        {
            return Err(invalid());
        }
        if account != self.inner.settings.account {
            return Err(self.not_found(name));
        }
        Ok(name.to_owned())
    }

    /// The "not found" error for `stream`.
    pub fn not_found(&self, stream: &str) -> Error {
        Error::StreamNotFound {
            stream: stream.to_owned(),
            account: self.inner.settings.account.clone(),
        }
    }

    fn transition(&self, stream: &str) -> Option<Status> {
        let mut transitions = lock(&self.inner.transitions);
        match transitions.get(stream) {
            Some(transition) if transition.until > self.now_ms() => Some(transition.status),
            Some(_) => {
                transitions.remove(stream);
                None
            }
            None => None,
        }
    }

    /// Marks `stream` as being in `status` for the configured state-change time.
    pub fn begin_transition(&self, stream: &str, status: Status) {
        let delay = self.inner.settings.state_change;
        if delay.is_zero() {
            return;
        }
        lock(&self.inner.transitions).insert(
            stream.to_owned(),
            Transition {
                status,
                until: later_ms(self.now_ms(), delay),
            },
        );
    }

    /// A stream's catalog entry, settings and status. A stream being deleted is reported as
    /// DELETING until its transition ends.
    pub fn describe(&self, stream: &str) -> Result<StreamView> {
        let status = self.transition(stream);
        match self.inner.log.stream(stream) {
            Ok(info) if is_kinesis(&info) => Ok(StreamView {
                meta: StreamMeta::clone(&self.meta(stream)),
                status: status.unwrap_or(Status::Active),
                arn: self.arn(stream),
                info,
            }),
            // Another view's engine stream is, to Kinesis, no stream at all.
            Ok(_) | Err(storage::Error::StreamNotFound(_)) => {
                self.deleting(stream).ok_or_else(|| self.not_found(stream))
            }
            Err(error) => Err(Error::internal(&error)),
        }
    }

    /// The last view of a stream deleted less than `state_change` ago, as DELETING.
    fn deleting(&self, stream: &str) -> Option<StreamView> {
        let mut deleting = lock(&self.inner.deleting);
        let now = self.now_ms();
        deleting.retain(|_, (_, until)| *until > now);
        deleting.get(stream).map(|(view, _)| view.clone())
    }

    /// Like [`Self::describe`], but a stream that is still CREATING is "not found", as AWS
    /// answers data-plane calls.
    pub fn active(&self, stream: &str) -> Result<StreamInfo> {
        if self.transition(stream) == Some(Status::Creating) {
            return Err(self.not_found(stream));
        }
        match self.inner.log.stream(stream) {
            Ok(info) if is_kinesis(&info) => Ok(info),
            Ok(_) | Err(storage::Error::StreamNotFound(_)) => Err(self.not_found(stream)),
            Err(other) => Err(Error::internal(&other)),
        }
    }

    /// Fails unless the stream exists and is ACTIVE (for changes that AWS refuses while a
    /// stream is CREATING, UPDATING or DELETING).
    pub fn require_active(&self, stream: &str) -> Result<StreamView> {
        let view = self.describe(stream)?;
        if view.status != Status::Active {
            return Err(Error::StreamNotActive {
                stream: stream.to_owned(),
                account: self.inner.settings.account.clone(),
                status: view.status.as_str(),
            });
        }
        Ok(view)
    }

    /// Every stream, by name.
    pub fn list(&self) -> Vec<StreamView> {
        let mut streams: Vec<StreamView> = self
            .inner
            .log
            .list_streams()
            .into_iter()
            .filter(is_kinesis)
            .map(|info| StreamView {
                status: self.transition(&info.name).unwrap_or(Status::Active),
                meta: StreamMeta::clone(&self.meta(&info.name)),
                arn: self.arn(&info.name),
                info,
            })
            .collect();
        let mut deleting = lock(&self.inner.deleting);
        let now = self.now_ms();
        deleting.retain(|_, (_, until)| *until > now);
        streams.extend(
            deleting
                .values()
                .filter(|(view, _)| !streams.iter().any(|s| s.info.name == view.info.name))
                .map(|(view, _)| view.clone())
                .collect::<Vec<_>>(),
        );
        drop(deleting);
        streams.sort_by(|a, b| a.info.name.cmp(&b.info.name));
        streams
    }

    /// Creates a stream (blocking: it fsyncs the catalog).
    pub fn create(&self, stream: &str, shards: u32, meta: &StreamMeta) -> Result<()> {
        if self.deleting(stream).is_some() {
            return Err(Error::StreamExists {
                stream: stream.to_owned(),
                account: self.inner.settings.account.clone(),
            });
        }
        let retention = retention_from_hours(i64::from(
            protocol::aws::kinesis::limits::RETENTION_HOURS_DEFAULT,
        ))?;
        let _reservation = self.reserve_shards_blocking(u64::from(shards))?;
        match self
            .inner
            .log
            .create_stream(stream, shards, retention, OWNER)
        {
            Ok(_) => {}
            Err(storage::Error::StreamExists(_)) => {
                return Err(Error::StreamExists {
                    stream: stream.to_owned(),
                    account: self.inner.settings.account.clone(),
                });
            }
            Err(storage::Error::InvalidArgument(what)) => return Err(Error::InvalidArgument(what)),
            Err(error) => return Err(Error::internal(&error)),
        }
        // Stale settings of an earlier stream of this name (a crash mid-delete) go first.
        StreamMeta::delete_all(&self.inner.log, stream)?;
        self.store_meta(stream, meta, &StreamMeta::default())?;
        self.begin_transition(stream, Status::Creating);
        Ok(())
    }

    /// Deletes a stream, its data and its settings (blocking).
    pub fn delete(&self, stream: &str) -> Result<()> {
        if self.deleting(stream).is_some() {
            return Err(self.not_found(stream));
        }
        let last_view = self.describe(stream)?;
        match self.inner.log.delete_stream(stream) {
            Ok(()) => {}
            Err(storage::Error::StreamNotFound(_)) => return Err(self.not_found(stream)),
            Err(error) => return Err(Error::internal(&error)),
        }
        StreamMeta::delete_all(&self.inner.log, stream)?;
        write(&self.inner.metas).remove(stream);
        lock(&self.inner.buckets).retain(|(name, _), _| name != stream);
        lock(&self.inner.transitions).remove(stream);
        let delay = self.inner.settings.state_change;
        if !delay.is_zero() {
            let view = StreamView {
                status: Status::Deleting,
                ..last_view
            };
            let until = later_ms(self.now_ms(), delay);
            lock(&self.inner.deleting).insert(stream.to_owned(), (view, until));
        }
        Ok(())
    }

    /// Stores changed settings (blocking).
    pub fn update_meta(&self, stream: &str, change: impl FnOnce(&mut StreamMeta)) -> Result<()> {
        let before = self.meta(stream);
        let mut after = StreamMeta::clone(&before);
        change(&mut after);
        self.store_meta(stream, &after, &before)
    }

    /// Whether the write limits let `records` records of `bytes` bytes into a shard now.
    fn admit(&self, stream: &str, shard: u32, records: usize, bytes: usize) -> bool {
        if !self.inner.settings.shard_write_limits {
            return true;
        }
        use protocol::aws::kinesis::limits::{
            SHARD_WRITE_BYTES_PER_SEC as BYTES, SHARD_WRITE_RECORDS_PER_SEC as RECORDS,
        };
        #[allow(
            clippy::cast_precision_loss,
            reason = "rates and sizes are far below 2^52"
        )]
        let (rate_bytes, rate_records, want_bytes, want_records) =
            (BYTES as f64, RECORDS as f64, bytes as f64, records as f64);
        let now = self.now_ms();
        let mut buckets = lock(&self.inner.buckets);
        let bucket = buckets.entry((stream.to_owned(), shard)).or_insert(Bucket {
            at: now,
            bytes: rate_bytes,
            records: rate_records,
        });
        #[allow(
            clippy::cast_precision_loss,
            reason = "milliseconds between two writes are far below 2^52"
        )]
        let elapsed = now.saturating_sub(bucket.at).max(0) as f64 / 1000.0;
        bucket.at = now;
        bucket.bytes = (bucket.bytes + elapsed * rate_bytes).min(rate_bytes);
        bucket.records = (bucket.records + elapsed * rate_records).min(rate_records);
        if bucket.bytes >= want_bytes && bucket.records >= want_records {
            bucket.bytes -= want_bytes;
            bucket.records -= want_records;
            true
        } else {
            false
        }
    }

    /// Puts records; one result per entry, in order. Entries for one shard are one append.
    /// [`Self::prepare_put`], then [`PreparedPut::commit`].
    pub async fn put(&self, stream: &str, entries: Vec<PutEntry>) -> Result<Vec<Result<Stored>>> {
        self.prepare_put(stream, entries.as_slice())
            .await?
            .commit()
            .await
    }

    /// Routes `records` to their shards and encodes each shard's into one batch, data written
    /// straight into it; nothing is written yet, and an error here (an unknown stream, data
    /// that [`PutRecords::write_data`] refused) leaves no trace.
    ///
    /// Routed through the engine's router ([`storage::Route`]), held until the appends are
    /// queued: a concurrent split or merge either waits for them (and they commit to the
    /// parent before it closes) or runs first (and they go to its children), so no append
    /// meets a closed shard and nothing is routed twice. The catalog is not consulted: the
    /// stream's owner comes with its routes.
    pub async fn prepare_put<R: PutRecords + ?Sized>(
        &self,
        stream: &str,
        records: &R,
    ) -> Result<PreparedPut> {
        if self.transition(stream) == Some(Status::Creating) {
            return Err(self.not_found(stream));
        }
        let route = match self.inner.log.route(stream).await {
            Ok(route) if *route.owner() == OWNER => route,
            Ok(_) | Err(storage::Error::StreamNotFound(_)) => return Err(self.not_found(stream)),
            Err(error) => return Err(Error::internal(&error)),
        };
        let count = records.count();
        let mut results: Vec<Option<Result<Stored>>> = (0..count).map(|_| None).collect();
        let mut by_shard: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        for (index, slot) in results.iter_mut().enumerate() {
            let hash = records
                .explicit_hash_key(index)
                .unwrap_or_else(|| hash_key(records.partition_key(index)));
            match route.shard_for_hash(hash) {
                Some(shard) => by_shard.entry(shard).or_default().push(index),
                None => {
                    *slot = Some(Err(Error::Internal(
                        "no open shard holds the record's hash key".into(),
                    )));
                }
            }
        }
        let data_bytes_max = self.inner.log.config().record_bytes_max;
        let mut groups = Vec::with_capacity(by_shard.len());
        for (shard, indexes) in by_shard {
            let (mut size, mut data_bytes, mut key_bytes) = (0, 0, 0);
            for &index in &indexes {
                let (key, data) = (records.partition_key(index), records.data_len(index));
                let hash = records.explicit_hash_key(index);
                size += storage::EncodedRecordsBuilder::record_len(key.len(), hash, data);
                data_bytes += data;
                key_bytes += key.len();
            }
            let mut builder = storage::EncodedRecords::builder(size, data_bytes_max);
            for &index in &indexes {
                builder
                    .push_with(
                        records.partition_key(index),
                        records.explicit_hash_key(index),
                        records.data_len(index),
                        |room| records.write_data(index, room),
                    )
                    .map_err(|error| match error {
                        storage::Error::InvalidArgument(_) => Error::InvalidArgument(format!(
                            "record {index}: its data could not be read"
                        )),
                        other => Error::internal(&other),
                    })?;
            }
            if let Some(encoded) = builder.finish() {
                groups.push(ShardPut {
                    shard,
                    indexes,
                    bytes: data_bytes + key_bytes,
                    data_bytes,
                    encoded,
                });
            }
        }
        Ok(PreparedPut {
            streams: self.clone(),
            stream: stream.to_owned(),
            route,
            results,
            groups,
        })
    }

    fn shard_of<'a>(&self, info: &'a StreamInfo, shard: &str) -> Result<&'a ShardInfo> {
        sequence::parse_shard_name(shard)
            .and_then(|id| info.shard(id))
            .ok_or_else(|| Error::ShardNotFound {
                stream: info.name.clone(),
                shard: shard.to_owned(),
                account: self.inner.settings.account.clone(),
            })
    }

    fn storage_error(&self, stream: &str, error: &storage::Error) -> Error {
        match error {
            storage::Error::StreamNotFound(_) => self.not_found(stream),
            storage::Error::ShardNotFound { shard, .. } => Error::ShardNotFound {
                stream: stream.to_owned(),
                shard: sequence::shard_name(*shard),
                account: self.inner.settings.account.clone(),
            },
            other => Error::internal(other),
        }
    }

    /// Issues a shard iterator.
    pub fn shard_iterator(&self, stream: &str, shard: &str, start: &Start) -> Result<String> {
        let info = self.active(stream)?;
        let shard = self.shard_of(&info, shard)?;
        let bounds = self
            .inner
            .log
            .shard_bounds(stream, shard.id)
            .map_err(|error| self.storage_error(stream, &error))?;
        let from_sequence = |sequence: &str| -> Result<u64> {
            let (owner, offset) = sequence::decode(sequence).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "StartingSequenceNumber {sequence} used in GetShardIterator on shard {} in stream {stream} under account {} is invalid.",
                    sequence::shard_name(shard.id),
                    self.inner.settings.account
                ))
            })?;
            if owner != shard.id {
                return Err(Error::InvalidArgument(format!(
                    "Invalid StartingSequenceNumber. It encodes {}, while it was used in a call to a shard with {}",
                    sequence::shard_name(owner),
                    sequence::shard_name(shard.id)
                )));
            }
            Ok(offset)
        };
        let offset = match start {
            Start::TrimHorizon => bounds.earliest,
            Start::Latest => bounds.next,
            Start::AtSequence(sequence) => from_sequence(sequence)?,
            Start::AfterSequence(sequence) => from_sequence(sequence)?.saturating_add(1),
            Start::AtTimestamp(ms) => self
                .inner
                .log
                .offset_for_timestamp(stream, shard.id, *ms)
                .map_err(|error| self.storage_error(stream, &error))?,
        };
        let offset = offset.clamp(bounds.earliest.min(bounds.next), bounds.next);
        Ok(self.issue(&info.name, info.id, shard.id, offset))
    }

    fn issue(&self, stream: &str, stream_id: u64, shard: u32, offset: u64) -> String {
        iterator::encode(
            &self.inner.iterator_key,
            &Position {
                stream_id,
                stream: stream.to_owned(),
                shard,
                offset,
                issued_ms: self.inner.log.now_ms(),
            },
        )
    }

    /// Decodes and checks an iterator: authentic, unexpired, of a live stream (the same one
    /// it was issued for: checked by the engine id in the stream's router, not the catalog).
    pub fn position(&self, token: &str) -> Result<Position> {
        let position = iterator::decode(&self.inner.iterator_key, token)
            .ok_or_else(|| Error::InvalidArgument("Invalid ShardIterator.".into()))?;
        let now_ms = self.inner.log.now_ms();
        if now_ms.saturating_sub(position.issued_ms) > ITERATOR_TTL_MS {
            return Err(Error::IteratorExpired {
                issued_ms: position.issued_ms,
                now_ms,
                ttl_ms: ITERATOR_TTL_MS,
            });
        }
        if self.transition(&position.stream) == Some(Status::Creating) {
            return Err(self.not_found(&position.stream));
        }
        match self.inner.log.identity(&position.stream) {
            Ok(identity) if identity.owner == OWNER && identity.id == position.stream_id => {
                Ok(position)
            }
            Ok(_) | Err(storage::Error::StreamNotFound(_)) => Err(self.not_found(&position.stream)),
            Err(other) => Err(Error::internal(&other)),
        }
    }

    /// Reads up to `limit` records (and 10 MiB) at an iterator.
    pub fn get_records(&self, token: &str, limit: usize) -> Result<Fetched> {
        let position = self.position(token)?;
        self.read_at(
            &position.stream,
            position.stream_id,
            position.shard,
            position.offset,
            limit,
        )
    }

    /// Reads from `offset` in a shard of `stream` (engine id `stream_id`): records, the next
    /// iterator, lag and, at the end of a closed shard, its children.
    pub fn read_at(
        &self,
        stream: &str,
        stream_id: u64,
        shard: u32,
        offset: u64,
        limit: usize,
    ) -> Result<Fetched> {
        let limits = ReadLimits {
            records_max: limit,
            bytes_max: protocol::aws::kinesis::limits::GET_RECORDS_BYTES_MAX,
        };
        let log = &self.inner.log;
        let batch = match log.read(stream, shard, offset, limits) {
            Ok(batch) => batch,
            // Trimmed by retention: continue from the oldest record kept, as AWS does.
            Err(storage::Error::Trimmed { earliest, .. }) => log
                .read(stream, shard, earliest, limits)
                .map_err(|error| self.storage_error(stream, &error))?,
            Err(error) => return Err(self.storage_error(stream, &error)),
        };
        let bounds = log
            .shard_bounds(stream, shard)
            .map_err(|error| self.storage_error(stream, &error))?;
        let now = log.now_ms();
        let millis_behind = if batch.next_offset >= bounds.next {
            0
        } else {
            batch
                .records
                .last()
                .map_or(0, |record| now.saturating_sub(record.timestamp_ms).max(0))
        };
        let finished = bounds
            .ending
            .is_some_and(|ending| batch.next_offset >= ending);
        // The catalog is read again: `info` may predate the split or merge that closed it.
        let children: Vec<ShardInfo> = if finished {
            self.inner
                .log
                .stream(stream)
                .map(|current| {
                    current
                        .shards
                        .into_iter()
                        .filter(|child| {
                            child.parent == Some(shard) || child.adjacent_parent == Some(shard)
                        })
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        // A shard is closed a moment before its children are in the catalog; until they are,
        // the reader is told to come back (same position) rather than that the shard ended
        // with no children.
        let (next_iterator, children) = if finished && !children.is_empty() {
            (None, Some(children))
        } else {
            (
                Some(self.issue(stream, stream_id, shard, batch.next_offset)),
                None,
            )
        };
        crate::metrics::kinesis_records_out(
            stream,
            shard,
            &batch.records,
            "GetRecords",
            millis_behind,
        );
        Ok(Fetched {
            shard,
            records: batch.records,
            next_iterator,
            millis_behind,
            children,
        })
    }
}
