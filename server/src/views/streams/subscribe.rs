//! Enhanced fan-out subscriptions (SubscribeToShard): a registered consumer reading one shard,
//! pushed records as they are committed.
//!
//! - A [`Subscription`] holds a position in a shard. [`Subscription::next`] returns what is
//!   readable there at once, or waits on the engine's tail wake-up ([`storage::Log::wait_for`])
//!   for up to the given time, so an idle subscription costs no polling. Each batch is bounded
//!   ([`EVENT_RECORDS_MAX`], [`EVENT_BYTES_MAX`]), so one event stays far below the largest
//!   event-stream message.
//! - Once a closed shard is read to its end, the batch carries the shard's children and the
//!   subscription is over.
//! - One subscription per consumer and shard, as on AWS: a second SubscribeToShard within
//!   [`RESUBSCRIBE_INTERVAL`] of a successful one is refused ([`Error::InUse`]); a later one
//!   takes over, and the earlier subscription is revoked ([`Revoked::TakenOver`]).
//!   Deregistering the consumer (or deleting its stream) revokes its subscriptions
//!   ([`Revoked::ConsumerGone`]). The leases are held in memory: a restart ends every
//!   subscription anyway.
//! - Continuation sequence numbers name the last record delivered, so AFTER_SEQUENCE_NUMBER
//!   with one resumes exactly at the next record. Before any record of a shard whose first
//!   offset is 0 there is no such record; the number just below the shard's first sequence
//!   number stands for that position (see [`continuation`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use storage::{ReadLimits, Record, ShardInfo};
use tokio::sync::watch;

use super::consumers::Consumer;
use super::error::{Error, Result};
use super::{Start, Status, Streams, lock, sequence};

/// How long one subscription lasts before the client must subscribe again (AWS: 5 minutes).
pub const SUBSCRIPTION_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// A consumer may subscribe to a shard again only this long after its last successful
/// SubscribeToShard on that shard (AWS: "within 5 seconds of a successful call, you'll get a
/// ResourceInUseException").
pub const RESUBSCRIBE_INTERVAL: Duration = Duration::from_secs(5);

/// Records in one event.
pub const EVENT_RECORDS_MAX: usize = 10_000;

/// Bytes of keys and data in one event (at least one record is sent, up to the 10 MiB a record
/// may have): far below the 16 MiB an event-stream message may take after base64.
pub const EVENT_BYTES_MAX: usize = 1024 * 1024;

/// How long the catalog may lag behind a shard's close (a split or merge closes the shard,
/// then records its children in one journal entry) before the read is tried again.
const LINEAGE_RETRY: Duration = Duration::from_millis(10);

/// Why a subscription was ended from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revoked {
    /// A later SubscribeToShard for the same consumer and shard took over.
    TakenOver,
    /// The consumer was deregistered or its stream deleted.
    ConsumerGone,
}

/// One consumer's lease on one shard.
struct Lease {
    /// When it was taken, by the engine's clock (ms since the epoch).
    started_ms: i64,
    revoke: watch::Sender<Option<Revoked>>,
}

/// The live subscriptions, one lease per (consumer ARN, shard).
#[derive(Default)]
pub(super) struct Registry {
    leases: Mutex<HashMap<(String, u32), Lease>>,
}

impl Registry {
    /// Takes the lease of `consumer` on `shard`, revoking an older holder; refused within
    /// [`RESUBSCRIBE_INTERVAL`] of the last successful subscription.
    /// `now_ms` is the engine clock's now.
    fn acquire(
        &self,
        now_ms: i64,
        consumer: &str,
        shard: u32,
        busy: impl FnOnce() -> Error,
    ) -> Result<watch::Receiver<Option<Revoked>>> {
        let interval_ms = i64::try_from(RESUBSCRIBE_INTERVAL.as_millis()).unwrap_or(i64::MAX);
        let recent = |lease: &Lease| now_ms.saturating_sub(lease.started_ms) < interval_ms;
        let mut leases = lock(&self.leases);
        // Forget leases that neither block a new subscription nor have a live holder.
        leases.retain(|_, lease| recent(lease) || !lease.revoke.is_closed());
        let key = (consumer.to_owned(), shard);
        if let Some(lease) = leases.get(&key) {
            if recent(lease) {
                return Err(busy());
            }
            lease.revoke.send_replace(Some(Revoked::TakenOver));
        }
        let (revoke, revoked) = watch::channel(None);
        leases.insert(
            key,
            Lease {
                started_ms: now_ms,
                revoke,
            },
        );
        Ok(revoked)
    }

    /// Revokes every subscription of `consumer` and forgets its leases.
    pub(super) fn revoke_consumer(&self, consumer: &str) {
        lock(&self.leases).retain(|(holder, _), lease| {
            if holder == consumer {
                lease.revoke.send_replace(Some(Revoked::ConsumerGone));
                false
            } else {
                true
            }
        });
    }

    /// How many subscriptions are live.
    #[cfg(test)]
    fn live(&self) -> usize {
        lock(&self.leases)
            .values()
            .filter(|lease| !lease.revoke.is_closed())
            .count()
    }
}

/// One push of a subscription: what was read and where it stands.
#[derive(Clone, Debug)]
pub struct Batch {
    /// The shard read.
    pub shard: u32,
    /// The records, in order (possibly none).
    pub records: Vec<Record>,
    /// The next offset to read.
    pub next_offset: u64,
    /// How far behind the shard's tip the batch is.
    pub millis_behind: i64,
    /// The children, once a closed shard is read to its end (the subscription is over).
    pub children: Option<Vec<ShardInfo>>,
}

impl Batch {
    /// The continuation sequence number: resume AFTER it to read on from `next_offset`.
    pub fn continuation(&self) -> String {
        continuation(self.shard, self.next_offset)
    }
}

/// The sequence number just before `next_offset` in `shard`: that of the last record before
/// it, or, at offset 0, the number just below the shard's first sequence number.
pub fn continuation(shard: u32, next_offset: u64) -> String {
    let at: u128 = (u128::from(shard) + 1) << 64 | u128::from(next_offset);
    (at - 1).to_string()
}

/// A consumer's subscription to one shard.
pub struct Subscription {
    streams: Streams,
    consumer: String,
    stream: String,
    stream_id: u64,
    shard: u32,
    offset: u64,
    revoked: watch::Receiver<Option<Revoked>>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Subscription")
            .field("consumer", &self.consumer)
            .field("stream", &self.stream)
            .field("shard", &self.shard)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

impl Streams {
    /// Subscribes an ACTIVE consumer to a shard of its stream from `start`.
    pub fn subscribe(
        &self,
        consumer: &Consumer,
        shard: &str,
        start: &Start,
    ) -> Result<Subscription> {
        let account = &self.inner.settings.account;
        if consumer.status != Status::Active {
            return Err(Error::InUse(format!(
                "Consumer {} with creation timestamp {} under stream: {}, account {account} is not in ACTIVE status.",
                consumer.name,
                consumer.created_ms.div_euclid(1000),
                consumer.stream
            )));
        }
        let stream = consumer.stream.as_str();
        let info = self.active(stream)?;
        let shard = self.shard_of(&info, shard)?;
        let log = &self.inner.log;
        let bounds = log
            .shard_bounds(stream, shard.id)
            .map_err(|error| self.storage_error(stream, &error))?;
        let from_sequence = |sequence: &str, after: bool| -> Result<u64> {
            let invalid = || {
                Error::InvalidArgument(format!(
                    "Invalid StartingSequenceNumber {sequence} for shard {} in stream {stream} under account {account}.",
                    sequence::shard_name(shard.id)
                ))
            };
            let value: u128 = sequence.parse().map_err(|_| invalid())?;
            // The number just below the shard's first one: before offset 0.
            if value.checked_add(1) == Some((u128::from(shard.id) + 1) << 64) {
                return Ok(0);
            }
            let (owner, offset) = sequence::decode(sequence).ok_or_else(invalid)?;
            if owner != shard.id {
                return Err(Error::InvalidArgument(format!(
                    "Invalid StartingSequenceNumber. It encodes {}, while it was used in a call to a shard with {}",
                    sequence::shard_name(owner),
                    sequence::shard_name(shard.id)
                )));
            }
            Ok(if after {
                offset.saturating_add(1)
            } else {
                offset
            })
        };
        let offset = match start {
            Start::TrimHorizon => bounds.earliest,
            Start::Latest => bounds.next,
            Start::AtSequence(sequence) => from_sequence(sequence, false)?,
            Start::AfterSequence(sequence) => from_sequence(sequence, true)?,
            Start::AtTimestamp(ms) => log
                .offset_for_timestamp(stream, shard.id, *ms)
                .map_err(|error| self.storage_error(stream, &error))?,
        };
        let offset = offset.clamp(bounds.earliest.min(bounds.next), bounds.next);
        let now_ms = self.now_ms();
        let revoked = self.inner.subscriptions.acquire(now_ms, &consumer.arn, shard.id, || {
            Error::InUse(format!(
                "Another active subscription exists for this consumer: {account}:{stream}:{}:{}",
                sequence::shard_name(shard.id),
                consumer.name
            ))
        })?;
        Ok(Subscription {
            streams: self.clone(),
            consumer: consumer.arn.clone(),
            stream: stream.to_owned(),
            stream_id: info.id,
            shard: shard.id,
            offset,
            revoked,
        })
    }

    /// How many subscriptions are live.
    #[cfg(test)]
    pub fn live_subscriptions(&self) -> usize {
        self.inner.subscriptions.live()
    }
}

impl Subscription {
    /// The shard read.
    pub fn shard(&self) -> u32 {
        self.shard
    }

    /// The next offset to read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Resolves once the subscription is revoked, with the reason. Cancel-safe; a
    /// subscription that is never revoked never resolves.
    pub fn revocation(&self) -> impl Future<Output = Revoked> + Send + 'static {
        let mut revoked = self.revoked.clone();
        async move {
            loop {
                if let Some(reason) = *revoked.borrow_and_update() {
                    return reason;
                }
                if revoked.changed().await.is_err() {
                    // The lease was dropped without a reason: only a revocation drops it.
                    return Revoked::ConsumerGone;
                }
            }
        }
    }

    /// Reads what is readable at the position, waiting up to `wait` for a first record if
    /// there is none yet, and moves past it. A batch with children is the last one.
    pub async fn next(&mut self, wait: Duration) -> Result<Batch> {
        let streams = &self.streams;
        let log = streams.log();
        let stream = self.stream.as_str();
        let mut info = streams.active(stream)?;
        if info.id != self.stream_id {
            return Err(streams.not_found(stream));
        }
        if !wait.is_zero() {
            log.wait_for(stream, self.shard, self.offset, wait)
                .await
                .map_err(|error| streams.storage_error(stream, &error))?;
        }
        let limits = ReadLimits {
            records_max: EVENT_RECORDS_MAX,
            bytes_max: EVENT_BYTES_MAX,
        };
        let batch = match log.read(stream, self.shard, self.offset, limits) {
            Ok(batch) => batch,
            // Trimmed by retention: continue from the oldest record kept, as GetRecords does.
            Err(storage::Error::Trimmed { earliest, .. }) => log
                .read(stream, self.shard, earliest, limits)
                .map_err(|error| streams.storage_error(stream, &error))?,
            Err(error) => return Err(streams.storage_error(stream, &error)),
        };
        let bounds = log
            .shard_bounds(stream, self.shard)
            .map_err(|error| streams.storage_error(stream, &error))?;
        let millis_behind = if batch.next_offset >= bounds.next {
            0
        } else {
            batch.records.last().map_or(0, |record| {
                log.now_ms().saturating_sub(record.timestamp_ms).max(0)
            })
        };
        let mut children = None;
        if bounds
            .ending
            .is_some_and(|ending| batch.next_offset >= ending)
        {
            let closed = |info: &storage::StreamInfo| {
                info.shard(self.shard).is_some_and(|shard| !shard.is_open())
            };
            if !closed(&info) {
                // Closed in the engine, children not yet in the catalog: a moment away.
                tokio::time::sleep(LINEAGE_RETRY).await;
                info = streams.active(stream)?;
            }
            if closed(&info) {
                children = Some(
                    info.shards
                        .iter()
                        .filter(|child| {
                            child.parent == Some(self.shard)
                                || child.adjacent_parent == Some(self.shard)
                        })
                        .cloned()
                        .collect(),
                );
            }
        }
        self.offset = batch.next_offset;
        crate::metrics::kinesis_records_out(
            stream,
            self.shard,
            &batch.records,
            &self.consumer,
            millis_behind,
        );
        Ok(Batch {
            shard: self.shard,
            records: batch.records,
            next_offset: batch.next_offset,
            millis_behind,
            children,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::collections::BTreeMap;

    use bytes::Bytes;
    use storage::{Log, LogConfig};

    use super::*;
    use crate::views::streams::{PutEntry, Settings, StreamMeta};

    fn open(dir: &std::path::Path) -> Streams {
        let log = Log::open(LogConfig::new(dir)).unwrap();
        Streams::open(log, Settings::default()).unwrap()
    }

    fn entry(data: &'static [u8]) -> PutEntry {
        PutEntry {
            partition_key: "k".into(),
            explicit_hash_key: None,
            data: Bytes::from_static(data),
        }
    }

    fn data(batch: &Batch) -> Vec<&[u8]> {
        batch
            .records
            .iter()
            .map(|record| record.data.as_ref())
            .collect()
    }

    #[tokio::test]
    async fn pushes_what_is_there_then_what_is_committed_later() {
        let dir = tempfile::tempdir().unwrap();
        let streams = open(dir.path());
        streams.create("s", 1, &StreamMeta::default()).unwrap();
        let consumer = streams
            .register_consumer("s", "c", &BTreeMap::new())
            .unwrap();
        let mut subscription = streams
            .subscribe(&consumer, "shardId-000000000000", &Start::TrimHorizon)
            .unwrap();
        let empty = subscription.next(Duration::ZERO).await.unwrap();
        assert!(empty.records.is_empty() && empty.children.is_none());
        // Before any record: resuming after the continuation starts at offset 0.
        assert_eq!(empty.continuation(), ((1u128 << 64) - 1).to_string());
        streams
            .put("s", vec![entry(b"one"), entry(b"two")])
            .await
            .unwrap();
        let batch = subscription.next(Duration::from_secs(5)).await.unwrap();
        assert_eq!(data(&batch), [b"one".as_slice(), b"two"]);
        assert_eq!(batch.continuation(), sequence::encode(0, 1));
        // A record committed while the subscription waits wakes it.
        let writer = streams.clone();
        let put = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            writer.put("s", vec![entry(b"three")]).await.unwrap();
        });
        let started = std::time::Instant::now();
        let batch = subscription.next(Duration::from_secs(10)).await.unwrap();
        assert_eq!(data(&batch), [b"three".as_slice()]);
        assert!(started.elapsed() < Duration::from_secs(5));
        put.await.unwrap();
    }

    #[tokio::test]
    async fn continuation_numbers_resume_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let streams = open(dir.path());
        streams.create("s", 1, &StreamMeta::default()).unwrap();
        let consumer = streams
            .register_consumer("s", "c", &BTreeMap::new())
            .unwrap();
        let shard = "shardId-000000000000";
        let empty = continuation(0, 0);
        streams
            .put("s", vec![entry(b"one"), entry(b"two")])
            .await
            .unwrap();
        let mut from_start = streams
            .subscribe(&consumer, shard, &Start::AfterSequence(empty))
            .unwrap();
        let batch = from_start.next(Duration::ZERO).await.unwrap();
        assert_eq!(data(&batch), [b"one".as_slice(), b"two"]);
        // Within five seconds a second subscription is refused; the lease is the consumer's.
        let refused = streams.subscribe(&consumer, shard, &Start::TrimHorizon);
        assert!(matches!(refused, Err(Error::InUse(_))), "{refused:?}");
        let other = streams
            .register_consumer("s", "d", &BTreeMap::new())
            .unwrap();
        let mut after = streams
            .subscribe(&other, shard, &Start::AfterSequence(sequence::encode(0, 0)))
            .unwrap();
        assert_eq!(
            data(&after.next(Duration::ZERO).await.unwrap()),
            [b"two".as_slice()]
        );
        let wrong_shard = streams.subscribe(
            &streams
                .register_consumer("s", "e", &BTreeMap::new())
                .unwrap(),
            shard,
            &Start::AtSequence(sequence::encode(3, 0)),
        );
        assert!(matches!(wrong_shard, Err(Error::InvalidArgument(_))));
    }

    #[tokio::test]
    async fn a_split_shard_ends_with_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let streams = open(dir.path());
        streams.create("s", 1, &StreamMeta::default()).unwrap();
        let consumer = streams
            .register_consumer("s", "c", &BTreeMap::new())
            .unwrap();
        streams.put("s", vec![entry(b"one")]).await.unwrap();
        let mut subscription = streams
            .subscribe(&consumer, "shardId-000000000000", &Start::TrimHorizon)
            .unwrap();
        assert_eq!(
            subscription
                .next(Duration::ZERO)
                .await
                .unwrap()
                .records
                .len(),
            1
        );
        let splitter = streams.clone();
        let split = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            splitter.log().split_shard("s", 0, 1 << 127).await.unwrap()
        });
        let mut last = subscription.next(Duration::from_secs(10)).await.unwrap();
        while last.children.is_none() {
            last = subscription.next(Duration::from_secs(10)).await.unwrap();
        }
        let children: Vec<u32> = last.children.unwrap().iter().map(|c| c.id).collect();
        assert_eq!(children, split.await.unwrap());
    }

    #[tokio::test]
    async fn deregistering_revokes_and_a_late_subscription_takes_over() {
        let dir = tempfile::tempdir().unwrap();
        let streams = open(dir.path());
        streams.create("s", 1, &StreamMeta::default()).unwrap();
        let consumer = streams
            .register_consumer("s", "c", &BTreeMap::new())
            .unwrap();
        let subscription = streams
            .subscribe(&consumer, "shardId-000000000000", &Start::Latest)
            .unwrap();
        let revocation = subscription.revocation();
        assert_eq!(streams.live_subscriptions(), 1);
        streams.deregister_consumer(&consumer).unwrap();
        assert_eq!(revocation.await, Revoked::ConsumerGone);
        drop(subscription);
        assert_eq!(streams.live_subscriptions(), 0);

        // A takeover after the interval revokes the earlier holder.
        let registry = Registry::default();
        let busy = || Error::InUse(String::new());
        let interval = i64::try_from(RESUBSCRIBE_INTERVAL.as_millis()).unwrap();
        let first = registry.acquire(1_000, "arn", 0, busy).unwrap();
        assert!(
            registry
                .acquire(1_000 + interval - 1, "arn", 0, busy)
                .is_err()
        );
        let second = registry.acquire(1_000 + interval, "arn", 0, busy).unwrap();
        assert_eq!(*first.borrow(), Some(Revoked::TakenOver));
        assert_eq!(*second.borrow(), None);
        assert!(registry.acquire(1_000 + interval, "arn", 0, busy).is_err());
    }
}
