//! Durable keyed state for views: each stream can have a map from keys to values of its own
//! (a queue's per-message visibility and receive counts, deduplication ids, a subscription's
//! cursor), changed through the same group commit as appends.
//!
//! A stream's state lives in a hidden shard of the stream, `streams/<id>/state/`, made of
//! segments like any other shard's, whose records are changes: the record key is the state
//! key, one attribute byte says put or delete, the data is the value. One change set is one
//! append, so it is atomic (one batch, one CRC), shares its round's `fdatasync` with every
//! other append, is acknowledged under the same `fsync` setting, and is recovered like any
//! shard (a torn tail is cut, corruption is never served).
//!
//! The map in memory is a fold of that shard in offset order. The task that made a change
//! folds up to the committed watermark once its change is acknowledged, and every reader does
//! the same first, so a read after an acknowledgement sees it, whoever made it; live folding
//! and recovery are the same code.
//!
//! Snapshots bound recovery. When the changes since the last snapshot outnumber the live
//! entries (and a minimum, in changes or bytes), the log's maintenance thread writes the map
//! as of offset N to `snapshot.<N>` (a temporary file, synced, renamed, directory synced). The
//! two newest snapshots are kept, and segments wholly before the older of them are deleted.
//! Opening loads the newest snapshot that verifies (the older one, whose changes are still on
//! disk, if the newest does not) and folds the changes after it. Deleting the stream deletes
//! its state with it.
//!
//! Snapshot layout, little-endian:
//!
//! ```text
//! magic     8 bytes  "STSNAP\0\x01"
//! offset    u64      every change before this offset is in the snapshot, none after it
//! count     u64      entries that follow, in key order
//! entry     u32 key length, key, u32 value length, value
//! crc       u32      CRC32 of every byte before it
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use crate::error::{Error, IoContext, Result};
use crate::log::Log;
use crate::record::{NewRecord, Record};
use crate::segment::ReadLimits;
use crate::shard::{Shard, sync_dir};

/// The directory of a stream's state, beside its shards' directories.
pub(crate) const STATE_DIR: &str = "state";
/// The shard id a state shard reports in logs and errors (never a data shard's id).
pub(crate) const STATE_SHARD_ID: u32 = u32::MAX;
/// A state key is at most this long (a record key's limit).
pub const STATE_KEY_BYTES_MAX: usize = crate::record::PARTITION_KEY_BYTES_MAX;

const PUT: u8 = 1;
const DELETE: u8 = 2;
const SNAPSHOT_MAGIC: &[u8; 8] = b"STSNAP\x00\x01";
const SNAPSHOT_PREFIX: &str = "snapshot.";
const SNAPSHOT_TMP: &str = "snapshot.tmp";
const SNAPSHOTS_KEPT: usize = 2;
/// One fold step reads at most this much.
const FOLD_LIMITS: ReadLimits = ReadLimits {
    records_max: 4096,
    bytes_max: 8 << 20,
};

/// One change to a stream's state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateChange {
    /// Sets `key` to `value`.
    Put {
        /// The key (1 to [`STATE_KEY_BYTES_MAX`] bytes).
        key: Bytes,
        /// The value (up to the log's `record_bytes_max`).
        value: Bytes,
    },
    /// Removes `key` (a no-op if it is absent).
    Delete {
        /// The key.
        key: Bytes,
    },
}

impl StateChange {
    /// Sets `key` to `value`.
    pub fn put(key: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        Self::Put {
            key: key.into(),
            value: value.into(),
        }
    }

    /// Removes `key`.
    pub fn delete(key: impl Into<Bytes>) -> Self {
        Self::Delete { key: key.into() }
    }

    /// The key changed.
    pub fn key(&self) -> &Bytes {
        match self {
            Self::Put { key, .. } | Self::Delete { key } => key,
        }
    }

    fn into_record(self) -> NewRecord {
        let (key, op, data): (_, &'static [u8], _) = match self {
            Self::Put { key, value } => (key, &[PUT], value),
            Self::Delete { key } => (key, &[DELETE], Bytes::new()),
        };
        NewRecord {
            key,
            hash_key: None,
            attributes: Bytes::from_static(op),
            data,
        }
    }
}

/// What a stream's state holds, for metrics, benchmarks and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateStats {
    /// Live keys.
    pub entries: usize,
    /// Bytes of live keys and values.
    pub live_bytes: u64,
    /// Offset of the newest snapshot, if one was written.
    pub snapshot_offset: Option<u64>,
    /// Changes folded since the newest snapshot (what an open would replay).
    pub changes_since_snapshot: u64,
    /// The earliest change still on disk (changes before it are only in snapshots).
    pub earliest_offset: u64,
    /// The offset the next change will get.
    pub next_offset: u64,
}

/// When a snapshot is due: the changes (or bytes) since the last one outnumber both the live
/// state and these minimums, so snapshotting costs O(1) per change.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SnapshotPolicy {
    pub changes_min: u64,
    pub bytes_min: u64,
}

/// The fold: the map and where it stands.
struct Table {
    entries: BTreeMap<Bytes, Bytes>,
    live_bytes: u64,
    /// One past the last change folded.
    applied: u64,
    /// Bytes of changes folded since the newest snapshot.
    bytes_since_snapshot: u64,
    /// Offsets of the snapshots on disk, ascending.
    snapshots: Vec<u64>,
    /// Why this state cannot be served (no snapshot covers trimmed changes, a corrupt change).
    broken: Option<(PathBuf, String)>,
    /// Where the fold stood when the last compaction failed (a full disk): the next one is
    /// due only `changes_min` changes later, not at every change.
    failed_compaction_at: Option<u64>,
}

impl Table {
    fn apply(&mut self, record: &Record) -> std::result::Result<(), String> {
        let weight = (record.key.len() + record.data.len()) as u64;
        match record.attributes.first() {
            Some(&PUT) => {
                let value = Bytes::copy_from_slice(&record.data);
                // Copies, not slices of the mapping: a value kept for long must not pin a
                // segment that compaction deletes.
                if let Some(old) = self
                    .entries
                    .insert(Bytes::copy_from_slice(&record.key), value)
                {
                    self.live_bytes = self
                        .live_bytes
                        .saturating_sub((record.key.len() + old.len()) as u64);
                }
                self.live_bytes += weight;
            }
            Some(&DELETE) => {
                if let Some(old) = self.entries.remove(&record.key[..]) {
                    self.live_bytes = self
                        .live_bytes
                        .saturating_sub((record.key.len() + old.len()) as u64);
                }
            }
            other => {
                return Err(format!(
                    "state change at offset {} has operation {other:?}",
                    record.offset
                ));
            }
        }
        self.bytes_since_snapshot += weight;
        Ok(())
    }

    fn newest_snapshot(&self) -> Option<u64> {
        self.snapshots.last().copied()
    }

    fn changes_since_snapshot(&self) -> u64 {
        self.applied - self.newest_snapshot().unwrap_or(0).min(self.applied)
    }
}

/// A stream's state: its shard of changes and the fold of it.
pub(crate) struct StreamState {
    pub stream: String,
    pub shard: Arc<Shard>,
    dir: PathBuf,
    table: Mutex<Table>,
    /// One compaction at a time.
    compaction: Mutex<()>,
    /// A compaction was asked of the maintenance thread and has not run yet.
    compaction_requested: AtomicBool,
    /// The stream was deleted: every call fails.
    deleted: AtomicBool,
    policy: SnapshotPolicy,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl StreamState {
    /// Loads the newest snapshot that verifies and folds the changes after it. Damage that
    /// leaves the state unknowable makes it refuse every call, not the log refuse to open.
    pub(crate) fn open(
        stream: String,
        shard: Arc<Shard>,
        dir: PathBuf,
        policy: SnapshotPolicy,
    ) -> Arc<Self> {
        let earliest = shard.bounds().earliest;
        let mut table = Table {
            entries: BTreeMap::new(),
            live_bytes: 0,
            applied: earliest,
            bytes_since_snapshot: 0,
            snapshots: Vec::new(),
            broken: None,
            failed_compaction_at: None,
        };
        let mut offsets = list_snapshots(&dir);
        let mut loaded = false;
        while let Some(offset) = offsets.pop() {
            let path = snapshot_path(&dir, offset);
            // A snapshot older than the earliest change still on disk cannot be caught up.
            let result = if offset < earliest {
                Err(format!(
                    "its offset {offset} is before the earliest change on disk, {earliest}"
                ))
            } else {
                std::fs::read(&path)
                    .map_err(|error| error.to_string())
                    .and_then(|bytes| decode_snapshot(&bytes))
                    .and_then(|(at, entries)| {
                        if at == offset {
                            Ok(entries)
                        } else {
                            Err(format!("it says offset {at}"))
                        }
                    })
            };
            match result {
                Ok(entries) => {
                    table.live_bytes = entries
                        .iter()
                        .map(|(k, v)| (k.len() + v.len()) as u64)
                        .sum();
                    table.entries = entries;
                    table.applied = offset;
                    table.snapshots = offsets.clone();
                    table.snapshots.push(offset);
                    loaded = true;
                    break;
                }
                Err(why) => {
                    tracing::error!(stream, path = %path.display(), why, "State snapshot unusable; removed, an older one is used");
                    if let Err(error) = std::fs::remove_file(&path) {
                        tracing::warn!(path = %path.display(), %error, "Could not remove an unusable state snapshot");
                    }
                }
            }
        }
        if !loaded && earliest > 0 {
            table.broken = Some((
                dir.clone(),
                format!("no usable snapshot holds the state changes before offset {earliest}"),
            ));
        }
        let _ = std::fs::remove_file(dir.join(SNAPSHOT_TMP));
        let state = Arc::new(Self {
            stream,
            shard,
            dir,
            table: Mutex::new(table),
            compaction: Mutex::new(()),
            compaction_requested: AtomicBool::new(false),
            deleted: AtomicBool::new(false),
            policy,
        });
        let mut table = lock(&state.table);
        if table.broken.is_none()
            && let Err(error) = state.fold(&mut table)
        {
            tracing::error!(stream = %state.stream, %error, "State not recovered; it is refused until repaired");
        }
        if let Some((path, why)) = &table.broken {
            tracing::error!(stream = %state.stream, path = %path.display(), why, "State refused");
        }
        drop(table);
        state
    }

    /// Folds every committed change not folded yet.
    fn fold(&self, table: &mut Table) -> Result<()> {
        if let Some((path, reason)) = &table.broken {
            return Err(Error::Corrupt {
                path: path.clone(),
                position: 0,
                reason: reason.clone(),
            });
        }
        loop {
            let end = self.shard.committed();
            if table.applied >= end {
                return Ok(());
            }
            let batch = self.shard.read(table.applied, FOLD_LIMITS)?;
            if batch.records.is_empty() {
                let reason = format!("state changes from offset {} are unreadable", table.applied);
                table.broken = Some((self.shard.dir.clone(), reason.clone()));
                return Err(Error::Corrupt {
                    path: self.shard.dir.clone(),
                    position: 0,
                    reason,
                });
            }
            for record in &batch.records {
                if let Err(reason) = table.apply(record) {
                    table.broken = Some((self.shard.dir.clone(), reason.clone()));
                    return Err(Error::Corrupt {
                        path: self.shard.dir.clone(),
                        position: 0,
                        reason,
                    });
                }
            }
            table.applied = batch.next_offset;
        }
    }

    fn check_live(&self) -> Result<()> {
        if self.deleted.load(Ordering::Acquire) {
            return Err(Error::StreamNotFound(self.stream.clone()));
        }
        Ok(())
    }

    /// The table, caught up with every acknowledged change.
    fn current(&self) -> Result<MutexGuard<'_, Table>> {
        self.check_live()?;
        let mut table = lock(&self.table);
        self.fold(&mut table)?;
        Ok(table)
    }

    /// Whether a snapshot is due.
    fn snapshot_due(&self, table: &Table) -> bool {
        if table
            .failed_compaction_at
            .is_some_and(|at| table.applied.saturating_sub(at) < self.policy.changes_min)
        {
            return false;
        }
        let changes = table.changes_since_snapshot();
        let entries = table.entries.len() as u64;
        (changes >= self.policy.changes_min.max(entries))
            || (table.bytes_since_snapshot >= self.policy.bytes_min.max(table.live_bytes))
    }

    pub(crate) fn mark_deleted(&self) {
        self.deleted.store(true, Ordering::Release);
    }

    /// Writes a snapshot of the state as of now, drops snapshots past the newest two, and
    /// deletes the segments wholly before the older one. Blocking (it syncs). False if there
    /// was nothing new to snapshot.
    pub(crate) fn compact(&self) -> Result<bool> {
        let _one = lock(&self.compaction);
        self.compaction_requested.store(false, Ordering::Release);
        let (offset, entries) = {
            let table = self.current()?;
            if table.newest_snapshot() == Some(table.applied)
                || (table.applied == 0 && table.snapshots.is_empty())
            {
                return Ok(false);
            }
            (table.applied, table.entries.clone())
        };
        if let Err(error) = write_snapshot(&self.dir, offset, &entries, &self.shard.faults) {
            lock(&self.table).failed_compaction_at = Some(offset);
            return Err(error);
        }
        let (obsolete, cutoff) = {
            let mut table = lock(&self.table);
            table.failed_compaction_at = None;
            table.snapshots.push(offset);
            table.bytes_since_snapshot = 0;
            let excess = table.snapshots.len().saturating_sub(SNAPSHOTS_KEPT);
            let obsolete: Vec<u64> = table.snapshots.drain(..excess).collect();
            let cutoff = (table.snapshots.len() >= SNAPSHOTS_KEPT)
                .then(|| table.snapshots.first().copied())
                .flatten();
            (obsolete, cutoff)
        };
        for old in obsolete {
            let path = snapshot_path(&self.dir, old);
            if let Err(error) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), %error, "Could not remove an old state snapshot");
            }
        }
        if let Some(cutoff) = cutoff {
            self.shard.delete_segments_before(cutoff);
        }
        Ok(true)
    }
}

/// A state change in the commit queue; [`PendingChange::acknowledged`] waits for its commit.
#[derive(Debug)]
#[must_use = "a state change is only known to be committed once acknowledged"]
pub struct PendingChange {
    state: State,
    pending: crate::log::PendingAppend,
}

impl PendingChange {
    /// Waits until the change is committed as the durability setting defines; from then on
    /// every read sees it. Returns the offset the step's last change got.
    pub async fn acknowledged(self) -> Result<u64> {
        let ack = self.pending.acknowledged().await?;
        self.state.settle();
        Ok(ack.first_offset + u64::from(ack.record_count) - 1)
    }
}

/// A handle on one stream's state. Cheap to clone; every clone is the same state.
///
/// Changes are atomic per call, durable as the log's `fsync` setting says once
/// acknowledged, and visible to every reader from then on. Reads never block on I/O.
#[derive(Clone)]
pub struct State {
    pub(crate) log: Log,
    pub(crate) inner: Arc<StreamState>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("stream", &self.inner.stream)
            .finish_non_exhaustive()
    }
}

impl State {
    /// The stream this state belongs to.
    pub fn stream(&self) -> &str {
        &self.inner.stream
    }

    fn records(&self, changes: Vec<StateChange>) -> Result<Vec<NewRecord>> {
        // Refused, not appended, when the state cannot be served.
        drop(self.inner.current()?);
        if changes.is_empty() {
            return Err(Error::InvalidArgument(
                "a state change needs at least one key".into(),
            ));
        }
        if let Some(change) = changes
            .iter()
            .find(|c| c.key().is_empty() || c.key().len() > STATE_KEY_BYTES_MAX)
        {
            return Err(Error::InvalidArgument(format!(
                "state key of {} bytes; 1 to {STATE_KEY_BYTES_MAX}",
                change.key().len()
            )));
        }
        Ok(changes.into_iter().map(StateChange::into_record).collect())
    }

    /// Applies `changes` as one atomic step; resolves once they are acknowledged under the
    /// log's `fsync` setting, and from then on every read sees them. Returns the offset the
    /// step's last change got. Waits (without blocking the runtime) when the commit queue is
    /// full; never waits on an fsync or the catalog.
    pub async fn change(&self, changes: Vec<StateChange>) -> Result<u64> {
        self.enqueue_change(changes).await?.acknowledged().await
    }

    /// Queues `changes` as one atomic step and returns once they are in the commit queue,
    /// before they are committed: [`PendingChange::acknowledged`] waits for that. Changes
    /// queued one after another (say, under a caller's lock held only while queueing) commit
    /// in that order, so a caller can order its changes without holding a lock across an
    /// fsync.
    pub async fn enqueue_change(&self, changes: Vec<StateChange>) -> Result<PendingChange> {
        let records = self.records(changes)?;
        let pending = self
            .log
            .enqueue_to_shard(self.inner.shard.clone(), records)
            .await?;
        Ok(PendingChange {
            state: self.clone(),
            pending,
        })
    }

    /// [`State::change`] for threads outside an async runtime.
    pub fn change_blocking(&self, changes: Vec<StateChange>) -> Result<u64> {
        let records = self.records(changes)?;
        let ack = self
            .log
            .append_to_shard_blocking(self.inner.shard.clone(), records)?;
        self.settle();
        Ok(ack.first_offset + u64::from(ack.record_count) - 1)
    }

    /// Folds the acknowledged change and asks for a snapshot if one is due.
    fn settle(&self) {
        let due = {
            let mut table = lock(&self.inner.table);
            if let Err(error) = self.inner.fold(&mut table) {
                tracing::error!(stream = %self.inner.stream, %error, "State fold failed");
                return;
            }
            self.inner.snapshot_due(&table)
        };
        if due && !self.inner.compaction_requested.swap(true, Ordering::AcqRel) {
            self.log.request_compaction(self.inner.clone());
        }
    }

    /// The value of `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Bytes>> {
        Ok(self.inner.current()?.entries.get(key).cloned())
    }

    /// Every entry whose key starts with `prefix`, in key order (all of them for an empty
    /// prefix).
    pub fn scan(&self, prefix: &[u8]) -> Result<Vec<(Bytes, Bytes)>> {
        self.scan_page(prefix, None, usize::MAX)
    }

    /// At most `limit` entries whose key starts with `prefix` and is greater than `after`, in
    /// key order: pages through a large state without holding it for long.
    pub fn scan_page(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Bytes, Bytes)>> {
        let table = self.inner.current()?;
        let start = match after {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        Ok(table
            .entries
            .range::<[u8], _>((start, Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    /// Live keys.
    pub fn len(&self) -> Result<usize> {
        Ok(self.inner.current()?.entries.len())
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Sizes and positions.
    pub fn stats(&self) -> Result<StateStats> {
        let table = self.inner.current()?;
        Ok(StateStats {
            entries: table.entries.len(),
            live_bytes: table.live_bytes,
            snapshot_offset: table.newest_snapshot(),
            changes_since_snapshot: table.changes_since_snapshot(),
            earliest_offset: self.inner.shard.bounds().earliest,
            next_offset: table.applied,
        })
    }

    /// Snapshots and compacts now rather than when due (blocking: it syncs). False if nothing
    /// changed since the last snapshot.
    pub fn compact(&self) -> Result<bool> {
        self.inner.compact()
    }
}

fn snapshot_path(dir: &Path, offset: u64) -> PathBuf {
    dir.join(format!("{SNAPSHOT_PREFIX}{offset:020}"))
}

/// Offsets of the snapshot files in `dir`, ascending.
fn list_snapshots(dir: &Path) -> Vec<u64> {
    let mut offsets: Vec<u64> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            entry
                .file_name()
                .to_str()?
                .strip_prefix(SNAPSHOT_PREFIX)?
                .parse::<u64>()
                .ok()
        })
        .collect();
    offsets.sort_unstable();
    offsets
}

pub(crate) fn encode_snapshot(offset: u64, entries: &BTreeMap<Bytes, Bytes>) -> Vec<u8> {
    let size: usize = entries.iter().map(|(k, v)| 8 + k.len() + v.len()).sum();
    let mut out = Vec::with_capacity(28 + size);
    out.extend_from_slice(SNAPSHOT_MAGIC);
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    for (key, value) in entries {
        for part in [key, value] {
            out.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_le_bytes());
            out.extend_from_slice(part);
        }
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Decodes a snapshot: its offset and entries, or why not. Never panics.
pub(crate) fn decode_snapshot(
    bytes: &[u8],
) -> std::result::Result<(u64, BTreeMap<Bytes, Bytes>), String> {
    let (body, crc) = bytes
        .split_last_chunk::<4>()
        .ok_or("shorter than its checksum")?;
    if crc32fast::hash(body) != u32::from_le_bytes(*crc) {
        return Err("checksum mismatch".into());
    }
    let rest = body
        .strip_prefix(SNAPSHOT_MAGIC.as_slice())
        .ok_or("not a state snapshot")?;
    let mut reader = Cursor(rest);
    let offset = reader.u64()?;
    let count = reader.u64()?;
    let mut entries = BTreeMap::new();
    let mut previous: Option<Bytes> = None;
    for _ in 0..count {
        let key = Bytes::copy_from_slice(reader.part()?);
        let value = Bytes::copy_from_slice(reader.part()?);
        if key.is_empty() || key.len() > STATE_KEY_BYTES_MAX {
            return Err(format!("a key of {} bytes", key.len()));
        }
        if previous.as_ref().is_some_and(|p| *p >= key) {
            return Err("keys out of order".into());
        }
        previous = Some(key.clone());
        entries.insert(key, value);
    }
    if !reader.0.is_empty() {
        return Err(format!("{} bytes after the last entry", reader.0.len()));
    }
    Ok((offset, entries))
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("truncated".into());
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u64(&mut self) -> std::result::Result<u64, String> {
        let bytes = self.take(8)?;
        let mut array = [0; 8];
        array.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(array))
    }

    fn part(&mut self) -> std::result::Result<&'a [u8], String> {
        let bytes = self.take(4)?;
        let mut array = [0; 4];
        array.copy_from_slice(bytes);
        let len = usize::try_from(u32::from_le_bytes(array)).map_err(|e| e.to_string())?;
        self.take(len)
    }
}

fn write_snapshot(
    dir: &Path,
    offset: u64,
    entries: &BTreeMap<Bytes, Bytes>,
    faults: &crate::faults::Faults,
) -> Result<()> {
    let tmp = dir.join(SNAPSHOT_TMP);
    let bytes = encode_snapshot(offset, entries);
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&bytes)?;
        file.sync_all()
    })();
    if let Err(source) = written {
        let _ = std::fs::remove_file(&tmp);
        let context = format!("writing {}", tmp.display());
        return Err(if crate::error::is_storage_full(&source) {
            Error::StorageFull { context }
        } else {
            Error::io(context, source)
        });
    }
    let path = snapshot_path(dir, offset);
    std::fs::rename(&tmp, &path).context(|| format!("renaming {}", tmp.display()))?;
    sync_dir(dir, faults)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BTreeMap<Bytes, Bytes> {
        (0..50u32)
            .map(|i| {
                (
                    Bytes::from(format!("key-{i:03}")),
                    Bytes::from(vec![i as u8; i as usize]),
                )
            })
            .collect()
    }

    #[test]
    fn snapshots_round_trip() {
        let entries = sample();
        let bytes = encode_snapshot(1234, &entries);
        assert_eq!(decode_snapshot(&bytes), Ok((1234, entries)));
        let empty = encode_snapshot(0, &BTreeMap::new());
        assert_eq!(decode_snapshot(&empty), Ok((0, BTreeMap::new())));
    }

    #[test]
    fn every_flipped_bit_and_every_truncation_is_refused() {
        let bytes = encode_snapshot(99, &sample());
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x04;
            assert!(decode_snapshot(&damaged).is_err(), "flip at {at}");
            assert!(decode_snapshot(&bytes[..at]).is_err(), "cut at {at}");
        }
    }

    #[test]
    fn a_checksummed_but_malformed_body_is_refused() {
        let mut body = SNAPSHOT_MAGIC.to_vec();
        body.extend_from_slice(&7u64.to_le_bytes());
        body.extend_from_slice(&u64::MAX.to_le_bytes());
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        let crc = crc32fast::hash(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(decode_snapshot(&body), Err("truncated".to_string()));
    }
}
