//! [`StreamConsumer`]: reads every shard of a stream, following splits and merges.
//!
//! # Design
//!
//! - One [`ShardConsumer`] per shard being read, and at most one fetch per shard in flight,
//!   all pipelined on the one connection. A fetch's future owns its shard's consumer and hands
//!   it back with the result, so a fetch still waiting when [`StreamConsumer::next_batch`]
//!   returns stays in flight for the next call rather than being sent again.
//! - **Lineage.** A shard closed by a split or merge reports its children once it has been
//!   read to its end. A child is read only after *every* parent of it (one for a split, two
//!   for a merge) has been read to its end and its last records returned: the child holds
//!   records of the same partition keys, appended after its parents' ones, so reading it
//!   earlier could return a key's newer records before its older ones. This is the rule
//!   Kinesis consumers follow, and it keeps each key's order across any lineage.
//! - **Starts.** `TrimHorizon` and `AtTimestamp` start at the lineage's roots (the shards
//!   with no parent left in the stream) and apply the same position to every child;
//!   `Latest` starts, pinned when the consumer is created, at every open shard, and reads
//!   their children from their start. Offsets name a position in one shard, so they are no
//!   start for a stream.
//! - **Cancellation.** Records are taken out of completed fetches and returned in one step,
//!   so dropping a [`StreamConsumer::next_batch`] future (a `select!` or a timeout) loses
//!   nothing: fetches still in flight are awaited by the next call.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use protocol::native::{Fetch, FetchedRecord, StartPosition, StreamDescription};
use tokio::time::Instant;

use crate::connection::Client;
use crate::consumer::{FETCH_BYTES_DEFAULT, FETCH_RECORDS_DEFAULT, ShardConsumer};
use crate::error::ClientError;

/// One record read by a [`StreamConsumer`], with the shard it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    /// The shard that holds it.
    pub shard: u32,
    /// The record; its offset is within `shard`.
    pub record: FetchedRecord,
}

/// What a fetch hands back: its shard's consumer, and the records or the error.
type Fetched = (ShardConsumer, Result<Vec<FetchedRecord>, ClientError>);

/// A fetch on the wire; its future owns its shard's consumer until it completes.
struct InFlight {
    /// When the server answers at the latest (its wait ends), round trip aside.
    answer_by: Instant,
    future: Pin<Box<dyn Future<Output = Fetched> + Send + Sync>>,
}

impl InFlight {
    fn start(mut consumer: ShardConsumer, wait: Duration) -> Self {
        Self {
            answer_by: Instant::now() + wait,
            future: Box::pin(async move {
                let result = consumer.next_batch(wait).await;
                (consumer, result)
            }),
        }
    }
}

/// A reader of a whole stream that follows splits and merges, keeping each partition key's
/// records in order (see the module docs for the lineage rule).
pub struct StreamConsumer {
    client: Client,
    stream: String,
    /// Where a child shard starts.
    child_start: StartPosition,
    max_records: u32,
    max_bytes: u32,
    /// Every known shard's parents.
    parents: BTreeMap<u32, Vec<u32>>,
    /// Shards being read with no fetch in flight.
    idle: Vec<ShardConsumer>,
    /// One fetch per shard being read otherwise.
    in_flight: Vec<InFlight>,
    /// Shards being read (idle or fetching).
    reading: BTreeSet<u32>,
    /// Shards read to their end, or closed before a `Latest` start and never to be read.
    finished: BTreeSet<u32>,
    /// Children reported whose parents are not all finished yet.
    waiting: BTreeSet<u32>,
}

impl std::fmt::Debug for StreamConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamConsumer")
            .field("stream", &self.stream)
            .field("reading", &self.reading)
            .field("finished", &self.finished)
            .field("waiting", &self.waiting)
            .finish_non_exhaustive()
    }
}

impl StreamConsumer {
    /// A consumer of every shard of `stream` from `start`: `TrimHorizon`, `Latest` (records
    /// produced after this returns) or `AtTimestamp`.
    ///
    /// # Errors
    /// [`ClientError::InvalidArgument`] for an offset start; otherwise as
    /// [`Client::describe_stream`] and, for `Latest`, [`Client::fetch`].
    pub async fn new(
        client: Client,
        stream: impl Into<String>,
        start: StartPosition,
    ) -> Result<Self, ClientError> {
        let stream = stream.into();
        let child_start = match start {
            StartPosition::TrimHorizon | StartPosition::Latest => StartPosition::TrimHorizon,
            StartPosition::AtTimestamp(ms) => StartPosition::AtTimestamp(ms),
            StartPosition::AtOffset(_) | StartPosition::AfterOffset(_) => {
                return Err(ClientError::InvalidArgument(
                    "an offset is a position in one shard; start a stream at TrimHorizon, \
                     Latest or AtTimestamp"
                        .into(),
                ));
            }
        };
        let description = client.describe_stream(&stream).await?;
        let mut consumer = Self {
            client,
            stream,
            child_start,
            max_records: FETCH_RECORDS_DEFAULT,
            max_bytes: FETCH_BYTES_DEFAULT,
            parents: BTreeMap::new(),
            idle: Vec::new(),
            in_flight: Vec::new(),
            reading: BTreeSet::new(),
            finished: BTreeSet::new(),
            waiting: BTreeSet::new(),
        };
        consumer.learn(&description);
        let known: BTreeSet<u32> = description.shards.iter().map(|shard| shard.id).collect();
        for shard in &description.shards {
            if start == StartPosition::Latest {
                if shard.ending_offset.is_some() {
                    consumer.finished.insert(shard.id);
                } else {
                    let from = consumer.latest_offset(shard.id).await?;
                    consumer.read(shard.id, StartPosition::AtOffset(from));
                }
            } else if consumer
                .parents_of(shard.id)
                .iter()
                .all(|parent| !known.contains(parent))
            {
                consumer.read(shard.id, start);
            }
        }
        Ok(consumer)
    }

    /// Limits each fetch to `max_records` records and `max_bytes` record bytes, as
    /// [`ShardConsumer::with_limits`].
    #[must_use]
    pub fn with_limits(mut self, max_records: u32, max_bytes: u32) -> Self {
        self.max_records = max_records;
        self.max_bytes = max_bytes;
        self.idle = std::mem::take(&mut self.idle)
            .into_iter()
            .map(|consumer| consumer.with_limits(max_records, max_bytes))
            .collect();
        self
    }

    /// The stream read.
    #[must_use]
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The shards being read now.
    #[must_use]
    pub fn reading(&self) -> &BTreeSet<u32> {
        &self.reading
    }

    /// The shards read to their end (and, after a `Latest` start, those closed before it).
    #[must_use]
    pub fn finished(&self) -> &BTreeSet<u32> {
        &self.finished
    }

    /// Child shards known but not read yet, because a parent of theirs is still being read.
    #[must_use]
    pub fn waiting(&self) -> &BTreeSet<u32> {
        &self.waiting
    }

    /// The next records from any shard being read, waiting up to `max_wait` on the server
    /// while there are none (an empty result means none arrived in time). Each shard's
    /// records are in offset order, and a child's records come only after every parent's
    /// last ones, in a later call. Records of different shards are in no particular order.
    ///
    /// The call also waits for the answers to the fetches it sends, so with a zero
    /// `max_wait` it returns what the shards hold now. Cancel-safe: a dropped call loses no
    /// records.
    ///
    /// # Errors
    /// As [`Client::fetch`] and [`Client::describe_stream`], when no shard returned records;
    /// positions are unchanged, so calling again retries.
    pub async fn next_batch(
        &mut self,
        max_wait: Duration,
    ) -> Result<Vec<StreamRecord>, ClientError> {
        let deadline = Instant::now() + max_wait;
        let mut first = true;
        loop {
            self.start_children().await?;
            let now = Instant::now();
            if first || now < deadline {
                let wait = deadline.saturating_duration_since(now);
                for consumer in std::mem::take(&mut self.idle) {
                    self.in_flight.push(InFlight::start(consumer, wait));
                }
            }
            first = false;
            if self.in_flight.is_empty() {
                // Out of time, or nothing left to read (every shard ended without children).
                return Ok(Vec::new());
            }
            // A fetch whose wait ends within this call's is awaited to its answer (bounded by
            // the request timeout); longer ones from earlier calls only until the deadline.
            let expected = self.in_flight.iter().any(|f| f.answer_by <= deadline);
            let completed = if expected {
                completions(&mut self.in_flight).await
            } else {
                match tokio::time::timeout_at(deadline, completions(&mut self.in_flight)).await {
                    Ok(completed) => completed,
                    Err(_) => return Ok(Vec::new()),
                }
            };
            let mut records = Vec::new();
            let mut failure = None;
            for (consumer, result) in completed {
                let shard = consumer.shard();
                match result {
                    Ok(batch) => {
                        records.extend(
                            batch
                                .into_iter()
                                .map(|record| StreamRecord { shard, record }),
                        );
                        if consumer.is_ended() {
                            self.end(shard, consumer.children());
                        } else {
                            self.idle.push(consumer);
                        }
                    }
                    Err(error) => {
                        failure.get_or_insert(error);
                        self.idle.push(consumer);
                    }
                }
            }
            // Returned at once: awaiting anything now could drop these records on cancel.
            if !records.is_empty() {
                return Ok(records);
            }
            if let Some(error) = failure {
                return Err(error);
            }
        }
    }

    /// Records each shard's parents.
    fn learn(&mut self, description: &StreamDescription) {
        for shard in &description.shards {
            let parents = shard.parent.into_iter().chain(shard.adjacent_parent);
            self.parents.insert(shard.id, parents.collect());
        }
    }

    fn parents_of(&self, shard: u32) -> &[u32] {
        self.parents.get(&shard).map_or(&[], Vec::as_slice)
    }

    /// The offset a `Latest` read of `shard` starts at, pinned now: the next offset, or the
    /// first record that arrived while asking.
    async fn latest_offset(&self, shard: u32) -> Result<u64, ClientError> {
        let fetch = Fetch {
            stream: self.stream.clone(),
            shard,
            start: StartPosition::Latest,
            max_records: 1,
            max_bytes: 1,
            max_wait_ms: 0,
        };
        let ok = self.client.fetch(fetch).await?;
        Ok(ok
            .records
            .first()
            .map_or(ok.next_offset, |record| record.offset))
    }

    /// Starts reading `shard` from `start`.
    fn read(&mut self, shard: u32, start: StartPosition) {
        if self.reading.insert(shard) {
            let consumer =
                ShardConsumer::new(self.client.clone(), self.stream.clone(), shard, start)
                    .with_limits(self.max_records, self.max_bytes);
            self.idle.push(consumer);
        }
    }

    /// `shard` was read to its end; its children wait for their other parents, if any.
    fn end(&mut self, shard: u32, children: &[u32]) {
        self.reading.remove(&shard);
        self.finished.insert(shard);
        for child in children {
            if !self.reading.contains(child) && !self.finished.contains(child) {
                self.waiting.insert(*child);
            }
        }
    }

    /// Starts every waiting child whose parents are all finished, first learning the parents
    /// of children not described yet.
    async fn start_children(&mut self) -> Result<(), ClientError> {
        if self.waiting.is_empty() {
            return Ok(());
        }
        if self
            .waiting
            .iter()
            .any(|child| !self.parents.contains_key(child))
        {
            let description = self.client.describe_stream(&self.stream).await?;
            self.learn(&description);
        }
        let ready: Vec<u32> = self
            .waiting
            .iter()
            .copied()
            .filter(|child| {
                self.parents_of(*child).iter().all(|parent| {
                    self.finished.contains(parent) || !self.parents.contains_key(parent)
                })
            })
            .collect();
        for child in ready {
            self.waiting.remove(&child);
            self.read(child, self.child_start);
        }
        Ok(())
    }
}

/// Waits until at least one fetch completes; returns every completed one and keeps the rest.
async fn completions(in_flight: &mut Vec<InFlight>) -> Vec<Fetched> {
    std::future::poll_fn(|context| {
        let mut completed = Vec::new();
        let mut index = 0;
        while let Some(fetch) = in_flight.get_mut(index) {
            if let Poll::Ready(fetched) = fetch.future.as_mut().poll(context) {
                completed.push(fetched);
                drop(in_flight.swap_remove(index));
            } else {
                index += 1;
            }
        }
        if completed.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(completed)
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::StreamConsumer;

    /// A consumer can move between tasks and be borrowed across awaits in spawned tasks.
    #[test]
    fn a_stream_consumer_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<StreamConsumer>();
    }
}
