//! The per-stream router: which open shard takes a hash key, and the ordering of routed
//! appends with splits and merges.
//!
//! Every stream has one [`RouteTable`] behind its own `tokio::sync::RwLock` (never the catalog
//! mutex): its owner and its open shards' hash ranges, sorted, with their shard handles. A
//! [`Route`] is the read side, held while an appender routes its records *and* queues them in
//! the commit queue. A split or merge takes the write side for the whole change: it queues the
//! parents' close, waits for it (the queue is FIFO, so every append routed before is committed
//! before the close), makes the children and commits the catalog, swaps the table and only
//! then lets appenders in again. So closing a parent and publishing its children is one step
//! as appenders see it: a routed append never meets a closed shard, and nothing retries.
//!
//! The lock is a tokio one because the read side is held across the (bounded, async) send
//! into the commit queue, and the write side across the wait for the close.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{OwnedRwLockReadGuard, RwLock, mpsc};

use super::{Log, PendingAppend};
use crate::commit::{Command, Payload};
use crate::error::{Error, Result};
use crate::meta::{Owner, StreamInfo};
use crate::record::{EncodedRecords, NewRecord};
use crate::shard::Shard;

/// The 128-bit hash key of a partition key: its MD5 read as a big-endian integer (the rule
/// Kinesis uses, so records land where its clients expect).
#[must_use]
pub fn hash_key(partition_key: &[u8]) -> u128 {
    use md5::Digest as _;
    u128::from_be_bytes(md5::Md5::digest(partition_key).into())
}

/// The hash key that routes `record`: its explicit one, else the MD5 of its key.
#[must_use]
pub fn record_hash_key(record: &NewRecord) -> u128 {
    record.hash_key.unwrap_or_else(|| hash_key(&record.key))
}

/// What a stream is, as its router knows it without the catalog: its engine id (a stream
/// deleted and created again under the same name has a new one) and its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamIdentity {
    /// The stream's engine id.
    pub id: u64,
    /// The view it belongs to.
    pub owner: Owner,
}

/// One stream's router, shared by the log's stream map and the routes taken from it: its
/// identity (fixed for the stream's life) and its route table.
#[derive(Clone)]
pub(crate) struct Router {
    identity: StreamIdentity,
    table: Arc<RwLock<RouteTable>>,
}

impl Router {
    pub(crate) fn new(info: &StreamInfo, table: RouteTable) -> Self {
        Self {
            identity: StreamIdentity {
                id: info.id,
                owner: info.owner.clone(),
            },
            table: Arc::new(RwLock::new(table)),
        }
    }
}

impl Router {
    /// The write side, owned, so a split or merge can hand it to the blocking thread that
    /// commits the change and swaps the table even if the async caller goes away meanwhile.
    pub(crate) async fn write_owned(&self) -> tokio::sync::OwnedRwLockWriteGuard<RouteTable> {
        Arc::clone(&self.table).write_owned().await
    }
}

impl std::ops::Deref for Router {
    type Target = RwLock<RouteTable>;

    fn deref(&self) -> &Self::Target {
        &self.table
    }
}

/// An open shard's hash range.
struct Range {
    start: u128,
    end: u128,
    shard: Arc<Shard>,
}

/// A stream's owner and the hash ranges of its open shards.
pub(crate) struct RouteTable {
    owner: Owner,
    /// Sorted by `start`; disjoint.
    ranges: Vec<Range>,
    /// Shard id → index in `ranges`.
    ids: HashMap<u32, usize>,
}

impl RouteTable {
    /// The table of `info`'s open shards; `handle` finds each one's shard.
    pub(crate) fn new(
        info: &StreamInfo,
        handle: impl Fn(u32) -> Option<Arc<Shard>>,
    ) -> Result<Self> {
        let mut ranges = Vec::new();
        for shard in info.shards.iter().filter(|shard| shard.is_open()) {
            let found = handle(shard.id).ok_or_else(|| Error::ShardNotFound {
                stream: info.name.clone(),
                shard: shard.id,
            })?;
            ranges.push(Range {
                start: shard.hash_start,
                end: shard.hash_end,
                shard: found,
            });
        }
        let mut table = Self {
            owner: info.owner.clone(),
            ranges,
            ids: HashMap::new(),
        };
        table.reindex();
        Ok(table)
    }

    fn reindex(&mut self) {
        self.ranges.sort_by_key(|range| range.start);
        self.ids = self
            .ranges
            .iter()
            .enumerate()
            .map(|(index, range)| (range.shard.id, index))
            .collect();
    }

    /// Replaces the closed `parents` by the `children` (id, hash range, handle).
    pub(crate) fn replace(&mut self, parents: &[u32], children: Vec<(u128, u128, Arc<Shard>)>) {
        self.ranges
            .retain(|range| !parents.contains(&range.shard.id));
        self.ranges
            .extend(
                children
                    .into_iter()
                    .map(|(start, end, shard)| Range { start, end, shard }),
            );
        self.reindex();
    }

    fn find(&self, hash: u128) -> Option<&Range> {
        let after = self.ranges.partition_point(|range| range.start <= hash);
        let range = self.ranges.get(after.checked_sub(1)?)?;
        (hash <= range.end).then_some(range)
    }

    fn open_shard(&self, id: u32) -> Option<&Arc<Shard>> {
        self.ids
            .get(&id)
            .and_then(|&index| self.ranges.get(index))
            .map(|range| &range.shard)
    }

    fn open_range(&self, id: u32) -> Option<(u128, u128)> {
        self.ids
            .get(&id)
            .and_then(|&index| self.ranges.get(index))
            .map(|range| (range.start, range.end))
    }
}

/// A stream's routes, held: while a `Route` lives, no split or merge of the stream runs, so
/// every shard [`Route::shard_for_hash`] names stays open and takes the appends queued
/// through [`Route::enqueue`]. Drop it as soon as the appends are queued (before waiting for
/// their acknowledgements): a split or merge waits for it.
pub struct Route {
    log: Log,
    stream: String,
    sender: mpsc::Sender<Command>,
    table: OwnedRwLockReadGuard<RouteTable>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("stream", &self.stream)
            .field("owner", &self.table.owner)
            .field("open_shards", &self.table.ranges.len())
            .finish_non_exhaustive()
    }
}

impl Route {
    /// The view the stream belongs to (checked without the catalog).
    #[must_use]
    pub fn owner(&self) -> &Owner {
        &self.table.owner
    }

    /// The open shard whose hash range holds `hash`.
    #[must_use]
    pub fn shard_for_hash(&self, hash: u128) -> Option<u32> {
        self.table.find(hash).map(|range| range.shard.id)
    }

    /// The open shard that takes `record` ([`record_hash_key`]).
    #[must_use]
    pub fn shard_for(&self, record: &NewRecord) -> Option<u32> {
        self.shard_for_hash(record_hash_key(record))
    }

    /// The open shards' ids and hash ranges, in hash order.
    pub fn open_shards(&self) -> impl Iterator<Item = (u32, u128, u128)> + '_ {
        self.table
            .ranges
            .iter()
            .map(|range| (range.shard.id, range.start, range.end))
    }

    /// Queues `records` as one append to `shard`; returns once it is in the commit queue.
    /// Appends queued one after another commit in that order. An open shard of this route
    /// never answers [`Error::ShardClosed`]; any other shard of the stream is addressed as
    /// [`Log::enqueue_append`] would (a closed one answers `ShardClosed`).
    pub async fn enqueue(&self, shard: u32, records: Vec<NewRecord>) -> Result<PendingAppend> {
        self.log.check_records(&records)?;
        self.send(shard, Payload::Records(records)).await
    }

    /// Queues records the producer encoded (checked by [`EncodedRecords::check`]) as one
    /// batch, adopted as they came; as [`Self::enqueue`] otherwise.
    ///
    /// # Errors
    /// As [`Self::enqueue`]; [`Error::BatchTooLarge`] over the log's batch limit.
    pub async fn enqueue_encoded(
        &self,
        shard: u32,
        records: EncodedRecords,
    ) -> Result<PendingAppend> {
        let max = self.log.config().batch_bytes_max;
        if records.batch_len() > max {
            return Err(Error::BatchTooLarge {
                size: records.batch_len(),
                max,
            });
        }
        self.send(shard, Payload::Encoded(records)).await
    }

    async fn send(&self, shard: u32, records: Payload) -> Result<PendingAppend> {
        let handle = match self.table.open_shard(shard) {
            Some(handle) => handle.clone(),
            None => self.log.shard(&self.stream, shard)?,
        };
        let (command, response) = Log::append_to(handle, records);
        self.sender.send(command).await.map_err(|_| Error::Closed)?;
        Ok(PendingAppend(response))
    }

    /// The hash key range `[start, end]` of `shard`, if it is open.
    pub fn open_range(&self, shard: u32) -> Option<(u128, u128)> {
        self.table.open_range(shard)
    }
}

impl Log {
    /// Takes `stream`'s routes (waiting while a split or merge of it runs), to route records
    /// to its open shards and queue them; see [`Route`].
    pub async fn route(&self, stream: &str) -> Result<Route> {
        let router = self.router(stream)?;
        let sender = self.sender()?;
        let table = Arc::clone(&router.table).read_owned().await;
        Ok(Route {
            log: self.clone(),
            stream: stream.to_string(),
            sender,
            table,
        })
    }

    /// Waits until no split or merge of `stream` is running. A reader that found a shard
    /// closed calls it before it asks the catalog for the children: once it returns, a closed
    /// shard's children are in the catalog (or the change failed and the shard is open again).
    pub async fn routes_settled(&self, stream: &str) {
        if let Ok(router) = self.router(stream) {
            drop(router.read().await);
        }
    }

    /// `stream`'s engine id and owner, from its router: no catalog lock, no wait for a split
    /// or merge. For read paths that must check that a stream is still the one they knew.
    pub fn identity(&self, stream: &str) -> Result<StreamIdentity> {
        Ok(self.router(stream)?.identity)
    }

    pub(super) fn router(&self, stream: &str) -> Result<Router> {
        self.inner
            .routers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(stream)
            .cloned()
            .ok_or_else(|| Error::StreamNotFound(stream.to_string()))
    }
}
