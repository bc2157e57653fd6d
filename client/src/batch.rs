//! [`BatchProducer`]: records encoded into per-shard batches in the caller's task, sent as
//! `ProduceBatch` requests with one completion per batch.
//!
//! # Design
//!
//! - The producer holds the stream's shard map (the open shards' hash ranges, from
//!   `DescribeStream`) and routes each record as the server would: by its explicit hash key,
//!   else by the MD5 of its partition key read big endian. It writes the record straight
//!   into that shard's [`BatchBuilder`], in the layout the log stores: one copy of the
//!   record's bytes, no allocation, no future and no channel per record.
//! - A shard's batch that reaches `batch_bytes_max` or `batch_records_max` is finished and
//!   waits for the next [`BatchProducer::send`], which finishes every other non-empty batch
//!   and starts all of their requests before it returns. The returned [`Sent`] resolves once
//!   every one of them is acknowledged.
//! - The server checks each batch's hash keys against its shard's range. After a split or
//!   merge the map is stale: the server answers `WrongShard` (or `ShardClosed`), and
//!   [`Sent::acknowledged`] fetches a fresh map, re-routes that batch's records and sends
//!   them again (at most [`REROUTES_MAX`] times). The fresh map is handed back to the
//!   producer, which routes by it from its next push on.
//!
//! # Ordering
//!
//! Batches for one shard leave in the order they were finished, on one connection, and the
//! server commits a connection's batches in the order they arrive: records with the same
//! partition key land in the order they were pushed. A batch re-routed after a reshard lands
//! after whatever was sent while it was refused (as Kinesis gives no order across a split
//! either, a consumer reads the parent before the children).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use md5::{Digest, Md5};
use protocol::native::{
    BatchBuilder, BatchFrame, ErrorCode, FRAME_HEADER_SIZE, PARTITION_KEY_BYTES_MAX,
    PRODUCE_BATCH_RECORDS_MAX, ProduceBatchOk, Response, frame_request,
};

use crate::connection::{Client, PendingResponse, unexpected};
use crate::error::ClientError;

/// Times one batch is re-routed after a stale shard map before its error is returned.
pub const REROUTES_MAX: usize = 3;

/// How a [`BatchProducer`] sizes its batches.
#[derive(Debug, Clone)]
pub struct BatchProducerConfig {
    /// A shard's batch is finished once its frame holds this many bytes (at most the
    /// server's frame limit).
    pub batch_bytes_max: usize,
    /// ... or this many records (at most 65,536).
    pub batch_records_max: usize,
}

impl Default for BatchProducerConfig {
    fn default() -> Self {
        Self {
            batch_bytes_max: 1024 * 1024,
            batch_records_max: PRODUCE_BATCH_RECORDS_MAX,
        }
    }
}

/// Where one batch landed: `record_count` consecutive offsets of `shard` from `base_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchAck {
    /// The shard that holds the records.
    pub shard: u32,
    /// The first record's offset.
    pub base_offset: u64,
    /// Records in the batch.
    pub record_count: u32,
    /// Their arrival time, in ms since the epoch.
    pub timestamp_ms: i64,
}

/// The 128-bit hash key of a partition key: its MD5 read as a big-endian integer.
#[must_use]
pub fn hash_key(partition_key: &[u8]) -> u128 {
    u128::from_be_bytes(Md5::digest(partition_key).into())
}

/// The open shards of a stream, sorted by the start of their hash ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ShardMap {
    /// `(hash_start, hash_end, id)`.
    ranges: Vec<(u128, u128, u32)>,
}

impl ShardMap {
    async fn describe(client: &Client, stream: &str) -> Result<Self, ClientError> {
        let description = client.describe_stream(stream).await?;
        let mut ranges: Vec<(u128, u128, u32)> = description
            .shards
            .iter()
            .filter(|shard| shard.ending_offset.is_none())
            .map(|shard| (shard.hash_start, shard.hash_end, shard.id))
            .collect();
        ranges.sort_unstable();
        if ranges.is_empty() {
            return Err(ClientError::InvalidArgument(format!(
                "stream {stream} has no open shard"
            )));
        }
        Ok(Self { ranges })
    }

    /// The index in `ranges` of the shard that owns `hash`.
    fn find(&self, hash: u128) -> Option<usize> {
        let after = self.ranges.partition_point(|&(start, _, _)| start <= hash);
        let index = after.checked_sub(1)?;
        let &(_, end, _) = self.ranges.get(index)?;
        (hash <= end).then_some(index)
    }
}

/// A fresher shard map than the producer's, left by a [`Sent`] that re-routed.
#[derive(Debug, Default)]
struct Fresher {
    /// Set with `map`; read on every push, so it is a flag and not the lock.
    waiting: AtomicBool,
    map: Mutex<Option<ShardMap>>,
}

impl Fresher {
    fn leave(&self, map: ShardMap) {
        *self.map.lock().unwrap_or_else(PoisonError::into_inner) = Some(map);
        self.waiting.store(true, Ordering::Release);
    }

    fn take(&self) -> Option<ShardMap> {
        if !self.waiting.load(Ordering::Acquire) {
            return None;
        }
        self.waiting.store(false, Ordering::Relaxed);
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Per-shard batches of producer-encoded records for one stream, on one connection. See
/// the [module documentation](self).
#[derive(Debug)]
pub struct BatchProducer {
    client: Client,
    stream: Arc<str>,
    config: BatchProducerConfig,
    map: ShardMap,
    fresher: Arc<Fresher>,
    /// One per entry of `map.ranges`.
    builders: Vec<BatchBuilder>,
    /// Finished batches waiting for [`Self::send`].
    ready: Vec<BatchFrame>,
    buffered_records: usize,
    buffered_bytes: usize,
    requests: u64,
}

impl BatchProducer {
    /// A producer for `stream`, with its shard map from `DescribeStream`.
    ///
    /// # Errors
    /// Whatever `DescribeStream` returns, and [`ClientError::InvalidArgument`] for a stream
    /// with no open shard.
    pub async fn new(
        client: Client,
        stream: impl Into<String>,
        mut config: BatchProducerConfig,
    ) -> Result<Self, ClientError> {
        let stream: Arc<str> = stream.into().into();
        let map = ShardMap::describe(&client, &stream).await?;
        let frame_max = client.server().frame_bytes_max as usize;
        config.batch_bytes_max = config.batch_bytes_max.clamp(1, frame_max);
        config.batch_records_max = config.batch_records_max.clamp(1, PRODUCE_BATCH_RECORDS_MAX);
        Ok(Self::with_map(client, stream, config, map))
    }

    fn with_map(
        client: Client,
        stream: Arc<str>,
        config: BatchProducerConfig,
        map: ShardMap,
    ) -> Self {
        let mut producer = Self {
            client,
            stream,
            config,
            map: ShardMap { ranges: Vec::new() },
            fresher: Arc::default(),
            builders: Vec::new(),
            ready: Vec::new(),
            buffered_records: 0,
            buffered_bytes: 0,
            requests: 0,
        };
        producer.adopt(map);
        producer
    }

    /// The stream's name.
    #[must_use]
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Records pushed and not yet sent.
    #[must_use]
    pub fn buffered_records(&self) -> usize {
        self.buffered_records
    }

    /// Bytes of the batches pushed and not yet sent.
    #[must_use]
    pub fn buffered_bytes(&self) -> usize {
        self.buffered_bytes
    }

    /// Bytes at which one shard's batch is finished.
    #[must_use]
    pub fn batch_bytes_max(&self) -> usize {
        self.config.batch_bytes_max
    }

    /// Open shards in the producer's map.
    #[must_use]
    pub fn shards(&self) -> usize {
        self.map.ranges.len()
    }

    /// `ProduceBatch` requests sent so far, re-routed ones not included.
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// Adopts the map a re-routing [`Sent`] left, if it differs from the producer's.
    fn refresh(&mut self) {
        if let Some(map) = self.fresher.take()
            && map != self.map
        {
            self.adopt(map);
        }
    }

    /// Finishes every batch of the current map (into `ready`) and starts over with `map`.
    fn adopt(&mut self, map: ShardMap) {
        for builder in &mut self.builders {
            if !builder.is_empty() {
                self.ready.push(builder.finish());
            }
        }
        self.builders = map
            .ranges
            .iter()
            .map(|&(_, _, id)| BatchBuilder::new(&self.stream, id, true))
            .collect();
        self.map = map;
    }

    /// Adds a record with a partition key (1 to 256 bytes), routed by the key's MD5.
    ///
    /// # Errors
    /// [`ClientError::InvalidArgument`] for a key of the wrong length or a record that
    /// cannot fit one request.
    pub fn push(&mut self, key: &str, data: &[u8]) -> Result<(), ClientError> {
        self.push_routed(key, None, hash_key(key.as_bytes()), data)
    }

    /// Adds a record routed by `explicit_hash_key` instead of its key's MD5.
    ///
    /// # Errors
    /// As [`Self::push`].
    pub fn push_with_hash_key(
        &mut self,
        key: &str,
        explicit_hash_key: u128,
        data: &[u8],
    ) -> Result<(), ClientError> {
        self.push_routed(key, Some(explicit_hash_key), explicit_hash_key, data)
    }

    fn push_routed(
        &mut self,
        key: &str,
        explicit_hash_key: Option<u128>,
        hash: u128,
        data: &[u8],
    ) -> Result<(), ClientError> {
        if key.is_empty() || key.len() > PARTITION_KEY_BYTES_MAX {
            return Err(ClientError::InvalidArgument(format!(
                "a partition key has 1 to {PARTITION_KEY_BYTES_MAX} bytes, not {}",
                key.len()
            )));
        }
        let added = BatchBuilder::record_len(key.as_bytes(), explicit_hash_key, data, true);
        let frame_max = self.client.server().frame_bytes_max as usize;
        // The frame's fixed part: header, stream name, shard, count, CRC, lengths, tag.
        if FRAME_HEADER_SIZE + 2 + self.stream.len() + 17 + added > frame_max {
            return Err(ClientError::InvalidArgument(format!(
                "a record of {} bytes cannot fit the server's {frame_max}-byte frame limit",
                data.len()
            )));
        }
        self.refresh();
        let index = self.map.find(hash).ok_or_else(|| {
            ClientError::InvalidArgument("no open shard of the map holds that hash key".into())
        })?;
        let Some(builder) = self.builders.get_mut(index) else {
            return Err(ClientError::InvalidArgument(
                "the shard map is empty".into(),
            ));
        };
        if !builder.is_empty()
            && (builder.frame_len() + added > self.config.batch_bytes_max
                || builder.len() >= self.config.batch_records_max)
        {
            self.ready.push(builder.finish());
        }
        builder.push(key.as_bytes(), explicit_hash_key, hash, data);
        self.buffered_records += 1;
        self.buffered_bytes += added;
        Ok(())
    }

    /// Finishes every batch and starts their requests, in shard order after the batches
    /// that filled up earlier. The records are on their way when this returns; the
    /// [`Sent`] resolves with one [`BatchAck`] per batch.
    ///
    /// # Errors
    /// [`ClientError::Disconnected`] if the connection is closed (no batch is sent then, and
    /// the records are dropped).
    pub fn send(&mut self) -> Result<Sent, ClientError> {
        self.refresh();
        for builder in &mut self.builders {
            if !builder.is_empty() {
                self.ready.push(builder.finish());
            }
        }
        self.buffered_records = 0;
        self.buffered_bytes = 0;
        let mut batches = Vec::with_capacity(self.ready.len());
        for frame in self.ready.drain(..) {
            self.requests += 1;
            batches.push(self.client.start_batch(frame)?);
        }
        Ok(Sent {
            client: self.client.clone(),
            stream: Arc::clone(&self.stream),
            config: self.config.clone(),
            fresher: Arc::clone(&self.fresher),
            batches,
        })
    }
}

/// Batches on their way; [`Sent::acknowledged`] waits for them.
#[must_use = "a Sent does nothing unless its acknowledgements are awaited"]
pub struct Sent {
    client: Client,
    stream: Arc<str>,
    config: BatchProducerConfig,
    fresher: Arc<Fresher>,
    batches: Vec<(PendingResponse, Bytes)>,
}

impl std::fmt::Debug for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sent")
            .field("stream", &self.stream)
            .field("batches", &self.batches.len())
            .finish_non_exhaustive()
    }
}

impl Sent {
    /// Batches sent (re-routed ones not counted).
    #[must_use]
    pub fn batches(&self) -> usize {
        self.batches.len()
    }

    /// Waits for every batch; a batch refused for a stale shard map is re-routed by a fresh
    /// one and sent again. One [`BatchAck`] per batch that landed, re-routed ones as the
    /// batches they became.
    ///
    /// # Errors
    /// The first batch's error that is not a stale map (or still one after
    /// [`REROUTES_MAX`] re-routes); records of the other batches may have landed.
    pub async fn acknowledged(self) -> Result<Vec<BatchAck>, ClientError> {
        let mut acks = Vec::with_capacity(self.batches.len());
        let mut batches = self.batches;
        for attempt in 0..=REROUTES_MAX {
            let mut stale = Vec::new();
            for (pending, frame) in batches {
                match batch_ack(pending, &frame).await {
                    Ok(ack) => acks.push(ack),
                    Err(error) if is_stale_map(&error) && attempt < REROUTES_MAX => {
                        stale.push(frame);
                    }
                    Err(error) => return Err(error),
                }
            }
            if stale.is_empty() {
                break;
            }
            batches = reroute(
                &self.client,
                &self.stream,
                &self.config,
                &self.fresher,
                &stale,
            )
            .await?;
        }
        Ok(acks)
    }
}

/// Whether the server refused a batch because the producer's shard map is out of date.
fn is_stale_map(error: &ClientError) -> bool {
    matches!(
        error.code(),
        Some(ErrorCode::WrongShard | ErrorCode::ShardClosed | ErrorCode::ShardNotFound)
    )
}

async fn batch_ack(pending: PendingResponse, frame: &Bytes) -> Result<BatchAck, ClientError> {
    let shard = frame_request(frame).map(|request| request.shard)?;
    match pending.wait().await? {
        Response::ProduceBatchOk(ProduceBatchOk {
            base_offset,
            record_count,
            timestamp_ms,
        }) => Ok(BatchAck {
            shard,
            base_offset,
            record_count,
            timestamp_ms,
        }),
        other => Err(unexpected("ProduceBatchOk", &other)),
    }
}

/// Sends the records of `frames` again, routed by a fresh shard map, which is left for the
/// producer in `fresher`.
async fn reroute(
    client: &Client,
    stream: &str,
    config: &BatchProducerConfig,
    fresher: &Fresher,
    frames: &[Bytes],
) -> Result<Vec<(PendingResponse, Bytes)>, ClientError> {
    let map = ShardMap::describe(client, stream).await?;
    let mut producer =
        BatchProducer::with_map(client.clone(), stream.into(), config.clone(), map.clone());
    for frame in frames {
        for record in frame_request(frame)?.records()? {
            let key = std::str::from_utf8(&record.key)
                .map_err(|_| ClientError::InvalidArgument("a key is not UTF-8".into()))?;
            match record.explicit_hash_key {
                Some(hash) => producer.push_with_hash_key(key, hash, &record.data)?,
                None => producer.push(key, &record.data)?,
            }
        }
    }
    fresher.leave(map);
    Ok(producer.send()?.batches)
}

#[cfg(test)]
mod tests {
    use super::{ShardMap, hash_key};

    #[test]
    fn hash_keys_are_md5_read_big_endian() {
        // MD5("a") = 0cc175b9c0f1b6a831c399e269772661.
        assert_eq!(hash_key(b"a"), 0x0cc1_75b9_c0f1_b6a8_31c3_99e2_6977_2661);
    }

    #[test]
    fn the_map_finds_the_shard_whose_range_holds_a_hash() {
        let map = ShardMap {
            ranges: vec![(0, 99, 4), (100, 199, 5), (300, u128::MAX, 7)],
        };
        assert_eq!(map.find(0), Some(0));
        assert_eq!(map.find(99), Some(0));
        assert_eq!(map.find(100), Some(1));
        assert_eq!(map.find(250), None);
        assert_eq!(map.find(u128::MAX), Some(2));
    }
}
