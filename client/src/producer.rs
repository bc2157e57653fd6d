//! [`Producer`]: records queued one at a time, sent in batches.
//!
//! # Design
//!
//! - [`Producer::send`] queues the record before it returns and hands back a future that
//!   resolves with the record's `(shard, offset)` once a `Produce` carrying it is acknowledged.
//! - One background task drains the queue in order into batches. A batch is sent when it
//!   reaches `batch_bytes_max` (or the protocol's 10,000 records), when `linger` has passed
//!   since its first record, or on [`Producer::flush`]. Up to `in_flight_max` batches await
//!   their acknowledgement at once; the task waits for a free slot before sending more, and
//!   records queue up meanwhile, so batches grow under load.
//! - The queue holds at most `queue_records_max` records, counting those in flight: a
//!   `send` future waits for room first, which is the producer's backpressure.
//!
//! # Ordering
//!
//! Batches leave in queue order on one connection, the server commits a connection's produce
//! requests in the order they arrive (however many are in flight), and it appends each
//! batch's records for one shard as one contiguous run in request order. So records with the
//! same partition key land in the order they were queued. A failed batch is retried only
//! with `in_flight_max == 1`: with more in flight, a retry would land after later batches, so
//! its records' futures fail and the caller decides.
//!
//! Records that must wait for room in the queue are queued in the order their `send` futures
//! are first polled. A caller that keeps many records outstanding and needs strict order
//! under backpressure uses [`Producer::queue`], which waits for room and then returns the
//! record's [`Ack`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use protocol::native::{
    PARTITION_KEY_BYTES_MAX, PARTITION_KEY_BYTES_MIN, PRODUCE_RECORDS_MAX, Produce, ProduceRecord,
    ProduceResult, Request, Target,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, mpsc, oneshot};
use tokio::time::Instant;
use tracing::debug;

use crate::connection::{Client, produce_results};
use crate::error::ClientError;

/// How a [`Producer`] batches.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// How long a batch waits for more records after its first one.
    pub linger: Duration,
    /// A batch is sent once its records' keys and data reach this many bytes.
    pub batch_bytes_max: usize,
    /// `Produce` requests awaiting acknowledgement at once (at least 1).
    pub in_flight_max: usize,
    /// Records queued or in flight at once; `send` waits while the queue is full.
    pub queue_records_max: usize,
    /// Retries of a batch that failed retriably; only with `in_flight_max == 1` (see the
    /// module's ordering notes). A retry after a timeout may append the batch twice.
    pub retries: u32,
    /// Wait before the first retry; doubled for each later one.
    pub retry_backoff: Duration,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        Self {
            linger: Duration::from_millis(5),
            batch_bytes_max: 1024 * 1024,
            in_flight_max: 4,
            queue_records_max: 65_536,
            retries: 3,
            retry_backoff: Duration::from_millis(100),
        }
    }
}

/// Counters of what a [`Producer`] sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProducerStats {
    /// `Produce` requests sent, retries included.
    pub requests: u64,
    /// Records in those requests (a retried record counts again).
    pub records: u64,
}

#[derive(Default)]
struct Stats {
    requests: AtomicU64,
    records: AtomicU64,
}

type Acked = Result<ProduceResult, ClientError>;

/// One queued record.
struct Queued {
    record: ProduceRecord,
    size: usize,
    done: oneshot::Sender<Acked>,
    /// Room in the queue, given back when the record resolves.
    _room: OwnedSemaphorePermit,
}

enum Item {
    Record(Queued),
    Flush(oneshot::Sender<()>),
}

/// Sends records to one stream in batches. Cheap to clone: clones share the queue.
///
/// Needs a Tokio runtime: [`Producer::new`] spawns the batching task, which ends once every
/// clone is dropped and everything queued has been sent and answered.
#[derive(Clone)]
pub struct Producer {
    queue: mpsc::UnboundedSender<Item>,
    room: Arc<Semaphore>,
    stats: Arc<Stats>,
    stream: Arc<str>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("stream", &self.stream)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Producer {
    /// A producer for `stream` on `client`'s connection.
    #[must_use]
    pub fn new(client: Client, stream: impl Into<String>, config: ProducerConfig) -> Self {
        let stream: Arc<str> = stream.into().into();
        let (queue, queued) = mpsc::unbounded_channel();
        let room = Arc::new(Semaphore::new(
            config.queue_records_max.clamp(1, Semaphore::MAX_PERMITS),
        ));
        let stats = Arc::new(Stats::default());
        let in_flight_max = config.in_flight_max.clamp(1, Semaphore::MAX_PERMITS);
        let batcher = Batcher {
            client,
            stream: Arc::clone(&stream),
            in_flight: Arc::new(Semaphore::new(in_flight_max)),
            in_flight_max,
            config,
            stats: Arc::clone(&stats),
        };
        tokio::spawn(batcher.run(queued));
        Self {
            queue,
            room,
            stats,
            stream,
        }
    }

    /// The stream records go to.
    #[must_use]
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// What has been sent so far.
    #[must_use]
    pub fn stats(&self) -> ProducerStats {
        ProducerStats {
            requests: self.stats.requests.load(Ordering::Relaxed),
            records: self.stats.records.load(Ordering::Relaxed),
        }
    }

    /// Queues a record routed by partition key (1 to 256 bytes of UTF-8) and returns a future
    /// resolving with where it landed.
    ///
    /// The record is queued before this returns unless the queue is full; then it is queued
    /// when the future is polled and room frees up. The future need not be awaited for the
    /// record to be sent, but dropping it before the record is queued drops the record.
    pub fn send(
        &self,
        key: impl Into<Bytes>,
        data: impl Into<Bytes>,
    ) -> impl Future<Output = Result<ProduceResult, ClientError>> + Send + 'static {
        self.send_record(ProduceRecord {
            target: Target::PartitionKey {
                key: key.into(),
                explicit_hash_key: None,
            },
            data: data.into(),
        })
    }

    /// Queues any record (to a shard, or with an explicit hash key); as [`Self::send`].
    pub fn send_record(
        &self,
        record: ProduceRecord,
    ) -> impl Future<Output = Result<ProduceResult, ClientError>> + Send + 'static {
        let (done, receiver) = oneshot::channel();
        let acked = Ack { receiver };
        let queue = self.queue.clone();
        let room = Arc::clone(&self.room);
        let state = match validate(&record) {
            Err(error) => Err(error),
            Ok(size) => match Arc::clone(&room).try_acquire_owned() {
                Ok(permit) => {
                    enqueue(&queue, record, size, done, permit);
                    Ok(None)
                }
                Err(TryAcquireError::NoPermits) => Ok(Some((record, size, done))),
                Err(TryAcquireError::Closed) => Err(ClientError::Disconnected),
            },
        };
        async move {
            if let Some((record, size, done)) = state? {
                let permit = room
                    .acquire_owned()
                    .await
                    .map_err(|_| ClientError::Disconnected)?;
                enqueue(&queue, record, size, done, permit);
            }
            acked.await
        }
    }

    /// Waits for room in the queue, queues a record routed by partition key, and returns its
    /// [`Ack`]. Awaiting `queue` calls one after another keeps their order even while the
    /// queue is full.
    ///
    /// # Errors
    /// [`ClientError::InvalidArgument`] for a partition key of the wrong size or not UTF-8.
    pub async fn queue(
        &self,
        key: impl Into<Bytes>,
        data: impl Into<Bytes>,
    ) -> Result<Ack, ClientError> {
        self.queue_record(ProduceRecord {
            target: Target::PartitionKey {
                key: key.into(),
                explicit_hash_key: None,
            },
            data: data.into(),
        })
        .await
    }

    /// Waits for room in the queue and queues any record; as [`Self::queue`].
    ///
    /// # Errors
    /// As [`Self::queue`].
    pub async fn queue_record(&self, record: ProduceRecord) -> Result<Ack, ClientError> {
        let size = validate(&record)?;
        let permit = Arc::clone(&self.room)
            .acquire_owned()
            .await
            .map_err(|_| ClientError::Disconnected)?;
        let (done, receiver) = oneshot::channel();
        enqueue(&self.queue, record, size, done, permit);
        Ok(Ack { receiver })
    }

    /// Sends whatever is queued now without waiting for `linger`, and waits until every
    /// record queued before this call has resolved (successfully or not: each record's own
    /// future reports its outcome).
    ///
    /// # Errors
    /// [`ClientError::Disconnected`] if the batching task is gone.
    pub async fn flush(&self) -> Result<(), ClientError> {
        let (done, flushed) = oneshot::channel();
        self.queue
            .send(Item::Flush(done))
            .map_err(|_| ClientError::Disconnected)?;
        flushed.await.map_err(|_| ClientError::Disconnected)
    }
}

/// A queued record's acknowledgement: resolves with where the record landed, or with the
/// error that failed its batch. Dropping it does not cancel the record.
#[derive(Debug)]
#[must_use = "an Ack reports whether the record was stored"]
pub struct Ack {
    receiver: oneshot::Receiver<Acked>,
}

impl Future for Ack {
    type Output = Result<ProduceResult, ClientError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // The sender is dropped only if the batching task is gone.
        Pin::new(&mut self.receiver)
            .poll(cx)
            .map(|acked| acked.unwrap_or(Err(ClientError::Disconnected)))
    }
}

fn enqueue(
    queue: &mpsc::UnboundedSender<Item>,
    record: ProduceRecord,
    size: usize,
    done: oneshot::Sender<Acked>,
    room: OwnedSemaphorePermit,
) {
    // If the task is gone, `done` is dropped with the item and the future reports
    // `Disconnected`.
    let _ = queue.send(Item::Record(Queued {
        record,
        size,
        done,
        _room: room,
    }));
}

/// Checks what the server would refuse for the whole batch; returns the record's batch size.
fn validate(record: &ProduceRecord) -> Result<usize, ClientError> {
    let key_len = match &record.target {
        Target::PartitionKey { key, .. } => {
            if !(PARTITION_KEY_BYTES_MIN..=PARTITION_KEY_BYTES_MAX).contains(&key.len()) {
                return Err(ClientError::InvalidArgument(format!(
                    "a partition key is {PARTITION_KEY_BYTES_MIN} to {PARTITION_KEY_BYTES_MAX} \
                     bytes, not {}",
                    key.len()
                )));
            }
            if std::str::from_utf8(key).is_err() {
                return Err(ClientError::InvalidArgument(
                    "a partition key must be UTF-8".into(),
                ));
            }
            key.len()
        }
        Target::Shard(_) => 0,
    };
    // Per-record framing: target tag, lengths, optional hash key.
    Ok(key_len + record.data.len() + 24)
}

/// The background task behind a [`Producer`].
struct Batcher {
    client: Client,
    stream: Arc<str>,
    in_flight: Arc<Semaphore>,
    in_flight_max: usize,
    config: ProducerConfig,
    stats: Arc<Stats>,
}

impl Batcher {
    async fn run(self, mut queued: mpsc::UnboundedReceiver<Item>) {
        let mut batch: Vec<Queued> = Vec::new();
        let mut batch_bytes = 0;
        let mut send_at = Instant::now();
        loop {
            let item = if batch.is_empty() {
                queued.recv().await
            } else {
                match tokio::time::timeout_at(send_at, queued.recv()).await {
                    Ok(item) => item,
                    Err(_) => {
                        self.dispatch(std::mem::take(&mut batch)).await;
                        batch_bytes = 0;
                        continue;
                    }
                }
            };
            match item {
                Some(Item::Record(record)) => {
                    if !batch.is_empty() && batch_bytes + record.size > self.config.batch_bytes_max
                    {
                        self.dispatch(std::mem::take(&mut batch)).await;
                        batch_bytes = 0;
                    }
                    if batch.is_empty() {
                        send_at = Instant::now() + self.config.linger;
                    }
                    batch_bytes += record.size;
                    batch.push(record);
                    if batch_bytes >= self.config.batch_bytes_max
                        || batch.len() >= PRODUCE_RECORDS_MAX
                    {
                        self.dispatch(std::mem::take(&mut batch)).await;
                        batch_bytes = 0;
                    }
                }
                Some(Item::Flush(done)) => {
                    self.dispatch(std::mem::take(&mut batch)).await;
                    batch_bytes = 0;
                    self.drain().await;
                    let _ = done.send(());
                }
                None => {
                    self.dispatch(batch).await;
                    self.drain().await;
                    debug!(stream = %self.stream, "Producer finished");
                    return;
                }
            }
        }
    }

    /// Waits until no batch is in flight.
    async fn drain(&self) {
        let all = u32::try_from(self.in_flight_max).unwrap_or(u32::MAX);
        // The semaphore is never closed.
        drop(self.in_flight.acquire_many(all).await);
    }

    /// Starts a `Produce` for `batch` (after waiting for an in-flight slot) and spawns the
    /// wait for its answer, which resolves every record.
    async fn dispatch(&self, batch: Vec<Queued>) {
        if batch.is_empty() {
            return;
        }
        let Ok(slot) = Arc::clone(&self.in_flight).acquire_owned().await else {
            return;
        };
        let count = batch.len();
        let request = Request::Produce(Produce {
            stream: self.stream.to_string(),
            records: batch.iter().map(|queued| queued.record.clone()).collect(),
        });
        self.count(count);
        // Started here, in queue order, so batches reach the socket in order.
        let started = self.client.start(&request, Duration::ZERO);
        let client = self.client.clone();
        let stats = Arc::clone(&self.stats);
        let retries = if self.in_flight_max == 1 {
            self.config.retries
        } else {
            0
        };
        let backoff = self.config.retry_backoff;
        tokio::spawn(async move {
            let mut result = match started {
                Ok(pending) => produce_results(pending, count).await,
                Err(error) => Err(error),
            };
            let mut attempt = 0;
            while let Err(error) = &result {
                // A disconnected client never recovers: retrying it is pointless.
                if attempt >= retries
                    || !error.is_retriable()
                    || matches!(error, ClientError::Disconnected)
                {
                    break;
                }
                debug!(%error, attempt, "Retrying a produce batch");
                tokio::time::sleep(backoff.saturating_mul(1 << attempt.min(16))).await;
                attempt += 1;
                stats.requests.fetch_add(1, Ordering::Relaxed);
                stats.records.fetch_add(count as u64, Ordering::Relaxed);
                result = match client.start(&request, Duration::ZERO) {
                    Ok(pending) => produce_results(pending, count).await,
                    Err(error) => Err(error),
                };
            }
            match result {
                Ok(results) => {
                    for (queued, result) in batch.into_iter().zip(results) {
                        let _ = queued.done.send(Ok(result));
                    }
                }
                Err(error) => {
                    for queued in batch {
                        let _ = queued.done.send(Err(error.clone()));
                    }
                }
            }
            drop(slot);
        });
    }

    fn count(&self, records: usize) {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        self.stats
            .records
            .fetch_add(records as u64, Ordering::Relaxed);
    }
}
