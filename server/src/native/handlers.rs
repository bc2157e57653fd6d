//! One function per native operation: protocol request in, one engine call, protocol response
//! out. Catalog changes (which fsync the metadata journal) run on the blocking pool.
//!
//! Produce routes through the engine's router ([`storage::Route`]), which a split or merge
//! holds exclusively from before the parent closes until the children are open: a produce is
//! either queued ahead of the parent's close (and appended to the parent) or routed to the
//! children; none meets a shard closing under it, and the records of one key on one
//! connection keep their order across the lineage.

use std::collections::BTreeMap;
use std::time::Duration;

use protocol::native::{
    CommitCursor, CreateStream, CursorPosition, DeleteStream, DescribeStream, ErrorCode,
    ErrorResponse, Fetch, FetchCursor, FetchOk, FetchedRecord, MergeShards, MergeShardsOk,
    PARTITION_KEY_BYTES_MAX, PARTITION_KEY_BYTES_MIN, Produce, ProduceBatch, ProduceBatchOk,
    ProduceOk, ProduceResult, Response, ShardDescription, SplitShard, SplitShardOk, StartPosition,
    StreamDescription, StreamList, Target,
};
use storage::{EncodedRecords, Log, NewRecord, PendingAppend, ReadLimits};

use crate::views::streams;

use super::error::from_storage;
use crate::views::streams::budget::ShardBudget;

/// Records one fetch returns at most.
pub const FETCH_RECORDS_MAX: u32 = 10_000;
/// Key and data bytes one fetch returns at most.
pub const FETCH_BYTES_MAX: u32 = 10 * 1024 * 1024;
/// Longest a fetch waits for data.
pub const FETCH_WAIT_MAX: Duration = Duration::from_secs(30);

type Outcome = Result<Response, ErrorResponse>;

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> storage::Result<T> + Send + 'static,
) -> Result<T, ErrorResponse> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(|error| from_storage(&error)),
        Err(error) => Err(ErrorResponse::new(ErrorCode::Internal, error.to_string())),
    }
}

/// Whether `name` is a name Kinesis would take: 1 to 128 of `[a-zA-Z0-9_.-]`. Streams made
/// through the native protocol are Kinesis streams too, so they follow its rules.
fn is_stream_name(name: &str) -> bool {
    (1..=protocol::aws::kinesis::limits::STREAM_NAME_MAX).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn over_budget(over: &crate::views::streams::budget::OverBudget) -> ErrorResponse {
    ErrorResponse::new(
        ErrorCode::LimitExceeded,
        format!(
            "the server's open shard limit is {}; {} are open and the change would add {} \
             (kinesis.shards_max)",
            over.shards_max, over.open, over.additional
        ),
    )
}

pub async fn create_stream(log: &Log, budget: &ShardBudget, request: CreateStream) -> Outcome {
    if !is_stream_name(&request.name) {
        return Err(ErrorResponse::new(
            ErrorCode::InvalidArgument,
            "a stream name is 1 to 128 characters of a-z, A-Z, 0-9, '_', '.' and '-'",
        ));
    }
    // Native streams are Kinesis streams, with Kinesis's retention bounds.
    let retention = streams::retention_from_hours(i64::from(request.retention_hours))
        .map_err(|error| ErrorResponse::new(ErrorCode::InvalidArgument, error.to_string()))?;
    let log = log.clone();
    let budget = budget.clone();
    blocking(move || {
        let _reservation = match budget.reserve_blocking(&log, u64::from(request.shard_count)) {
            Ok(reservation) => reservation,
            Err(over) => return Ok(Err(over_budget(&over))),
        };
        log.create_stream(
            &request.name,
            request.shard_count,
            retention,
            streams::OWNER,
        )
        .map(Ok)
    })
    .await??;
    Ok(Response::CreateStreamOk)
}

/// The native protocol reads every engine stream (a delivery stream's or a queue's records
/// can be tailed by name), but changes only Kinesis streams: another view's stream is, to a
/// write, a reshard or a delete, no stream at all, so no native client can change it under
/// its view.
fn require_native(log: &Log, stream: &str) -> Result<(), ErrorResponse> {
    match log.identity(stream) {
        Ok(identity) if identity.owner == streams::OWNER => Ok(()),
        Ok(_) => Err(from_storage(&storage::Error::StreamNotFound(
            stream.to_owned(),
        ))),
        Err(error) => Err(from_storage(&error)),
    }
}

pub async fn delete_stream(log: &Log, request: DeleteStream) -> Outcome {
    require_native(log, &request.name)?;
    // A Kinesis queue reads this stream: DeleteStream refuses it over every API.
    let queues = streams::consumers::registered_queues(log, &request.name);
    if queues > 0 {
        return Err(ErrorResponse::new(
            ErrorCode::InvalidArgument,
            format!(
                "stream {} has {queues} Kinesis queue(s); delete them before the stream",
                request.name
            ),
        ));
    }
    let log = log.clone();
    blocking(move || log.delete_stream(&request.name)).await?;
    Ok(Response::DeleteStreamOk)
}

pub fn list_streams(log: &Log) -> Outcome {
    let names = log
        .list_streams()
        .into_iter()
        .map(|stream| stream.name)
        .collect();
    Ok(Response::StreamList(StreamList { names }))
}

pub fn describe_stream(log: &Log, request: &DescribeStream) -> Outcome {
    let info = log
        .stream(&request.name)
        .map_err(|error| from_storage(&error))?;
    let shards = info
        .shards
        .iter()
        .map(|shard| ShardDescription {
            id: shard.id,
            hash_start: shard.hash_start,
            hash_end: shard.hash_end,
            parent: shard.parent,
            adjacent_parent: shard.adjacent_parent,
            starting_offset: shard.starting_offset,
            ending_offset: shard.ending_offset,
        })
        .collect();
    let retention_hours = u32::try_from(info.retention.as_secs() / 3600).unwrap_or(u32::MAX);
    Ok(Response::StreamDescription(StreamDescription {
        name: info.name,
        retention_hours,
        shards,
    }))
}

use crate::views::streams::hash_key;

/// The router of a stream of the streams view (a queue's or topic's stream is not found).
async fn stream_route(log: &Log, stream: &str) -> Result<storage::Route, ErrorResponse> {
    let route = log
        .route(stream)
        .await
        .map_err(|error| from_storage(&error))?;
    if *route.owner() != streams::OWNER {
        return Err(from_storage(&storage::Error::StreamNotFound(
            stream.to_owned(),
        )));
    }
    Ok(route)
}

/// A produce of either kind in the commit queue.
pub enum Queued {
    Records(PendingProduce),
    Batch(PendingBatch),
}

impl Queued {
    /// Waits for the commit and answers.
    pub async fn acknowledged(self) -> Outcome {
        match self {
            Self::Records(pending) => pending.acknowledged().await,
            Self::Batch(pending) => pending.acknowledged().await,
        }
    }
}

/// A produce whose appends are in the commit queue.
pub struct PendingProduce {
    count: usize,
    appends: Vec<(u32, Vec<usize>, PendingAppend)>,
}

/// Routes every record to its shard (by hash key, as Kinesis does, or as addressed) and queues
/// each shard's records as one append. Called in request order by a connection's reader, so
/// the produces of one connection are committed in the order they were sent.
pub async fn enqueue_produce(log: &Log, request: Produce) -> Result<PendingProduce, ErrorResponse> {
    // Held until every append is queued: a reshard waits for them, or they for it.
    let route = stream_route(log, &request.stream).await?;
    let count = request.records.len();
    let mut by_shard: BTreeMap<u32, (Vec<usize>, Vec<NewRecord>)> = BTreeMap::new();
    for (index, record) in request.records.into_iter().enumerate() {
        let (shard, key, hash) = match record.target {
            Target::PartitionKey {
                key,
                explicit_hash_key,
            } => {
                let hash = explicit_hash_key.unwrap_or_else(|| hash_key(&key));
                let shard = route.shard_for_hash(hash).ok_or_else(|| {
                    ErrorResponse::new(ErrorCode::Unavailable, "no open shard holds that hash key")
                })?;
                (shard, key, explicit_hash_key)
            }
            Target::Shard(shard) => (shard, bytes::Bytes::new(), None),
        };
        let entry = by_shard.entry(shard).or_default();
        entry.0.push(index);
        entry.1.push(NewRecord {
            key,
            hash_key: hash,
            attributes: bytes::Bytes::new(),
            data: record.data,
        });
    }
    let mut appends = Vec::with_capacity(by_shard.len());
    for (shard, (indexes, records)) in by_shard {
        let pending = route
            .enqueue(shard, records)
            .await
            .map_err(|error| from_storage(&error))?;
        appends.push((shard, indexes, pending));
    }
    drop(route);
    Ok(PendingProduce { count, appends })
}

impl PendingProduce {
    /// Waits for every append and answers per record, in request order.
    pub async fn acknowledged(self) -> Outcome {
        let mut results = vec![
            ProduceResult {
                shard: 0,
                offset: 0
            };
            self.count
        ];
        for (shard, indexes, pending) in self.appends {
            let ack = pending
                .acknowledged()
                .await
                .map_err(|error| from_storage(&error))?;
            for (position, index) in indexes.into_iter().enumerate() {
                if let Some(slot) = results.get_mut(index) {
                    *slot = ProduceResult {
                        shard,
                        offset: ack.first_offset + position as u64,
                    };
                }
            }
        }
        Ok(Response::ProduceOk(ProduceOk { results }))
    }
}

/// A producer-encoded batch whose append is in the commit queue.
pub struct PendingBatch {
    count: u32,
    append: PendingAppend,
}

/// Checks a `ProduceBatch` and queues it, as it came, as one append to its shard. The records
/// are read once, by the CRC and a walk over their headers; none is decoded or copied here.
/// Hash keys the producer computed must lie in the shard's range (else
/// [`ErrorCode::WrongShard`]: its shard map is stale); the server trusts that they are the
/// MD5 of the keys, as it trusts an explicit hash key. Called in request order, as
/// [`enqueue_produce`] is.
pub async fn enqueue_produce_batch(
    log: &Log,
    request: ProduceBatch,
) -> Result<PendingBatch, ErrorResponse> {
    let route = stream_route(log, &request.stream).await?;
    let keyed = request.hash_keys.is_some();
    // A shard that is not open is refused by the enqueue below (closed or unknown).
    if keyed
        && let Some((start, end)) = route.open_range(request.shard)
        && let Some(index) = request
            .hash_keys()
            .position(|hash| hash < start || hash > end)
    {
        return Err(ErrorResponse::new(
            ErrorCode::WrongShard,
            format!(
                "record {index}'s hash key is outside shard {}'s range: refresh the shard map",
                request.shard
            ),
        ));
    }
    let mut hashes = request.hash_keys();
    let record_ok = |key: &[u8], explicit: Option<u128>| {
        if keyed {
            let hash = hashes.next();
            (PARTITION_KEY_BYTES_MIN..=PARTITION_KEY_BYTES_MAX).contains(&key.len())
                && std::str::from_utf8(key).is_ok()
                && explicit.is_none_or(|explicit| Some(explicit) == hash)
        } else {
            key.is_empty() && explicit.is_none()
        }
    };
    let records = EncodedRecords::check(
        request.records.clone(),
        request.record_count,
        request.records_crc,
        log.config().record_bytes_max,
        record_ok,
    )
    .map_err(|error| from_storage(&error))?;
    let count = records.count();
    let append = route
        .enqueue_encoded(request.shard, records)
        .await
        .map_err(|error| from_storage(&error))?;
    Ok(PendingBatch { count, append })
}

impl PendingBatch {
    /// Waits for the append and answers with its first offset and arrival time.
    pub async fn acknowledged(self) -> Outcome {
        let ack = self
            .append
            .acknowledged()
            .await
            .map_err(|error| from_storage(&error))?;
        Ok(Response::ProduceBatchOk(ProduceBatchOk {
            base_offset: ack.first_offset,
            record_count: self.count,
            timestamp_ms: ack.timestamp_ms,
        }))
    }
}

/// Reads from the requested position; with nothing there yet and a wait, waits for a commit
/// (woken by it, not by polling) and reads again.
///
/// The shard's ending and children come from the catalog, read after any reshard of the stream
/// in progress has finished once the shard is closed ([`Log::routes_settled`]):
/// `shard_ending` is never reported without the children, nor children that cannot be read
/// yet.
pub async fn fetch(log: &Log, request: Fetch) -> Result<FetchOk, ErrorResponse> {
    let Fetch {
        stream,
        shard,
        start,
        max_records,
        max_bytes,
        max_wait_ms,
    } = request;
    let failed = |error: storage::Error| from_storage(&error);
    let bounds = log.shard_bounds(&stream, shard).map_err(failed)?;
    let from = match start {
        StartPosition::AtOffset(offset) => offset,
        StartPosition::AfterOffset(offset) => offset.saturating_add(1),
        StartPosition::AtTimestamp(ms) => log
            .offset_for_timestamp(&stream, shard, ms)
            .map_err(failed)?,
        StartPosition::TrimHorizon => bounds.earliest,
        StartPosition::Latest => bounds.next,
    };
    let limits = ReadLimits {
        records_max: max_records.clamp(1, FETCH_RECORDS_MAX) as usize,
        bytes_max: max_bytes.clamp(1, FETCH_BYTES_MAX) as usize,
    };
    let mut batch = log.read(&stream, shard, from, limits).map_err(failed)?;
    if batch.records.is_empty() && max_wait_ms > 0 {
        let wait = Duration::from_millis(u64::from(max_wait_ms)).min(FETCH_WAIT_MAX);
        if log
            .wait_for(&stream, shard, from, wait)
            .await
            .map_err(failed)?
        {
            batch = log.read(&stream, shard, from, limits).map_err(failed)?;
        }
    }
    if log
        .shard_bounds(&stream, shard)
        .map_err(failed)?
        .ending
        .is_some()
    {
        // Closed: the reshard that closed it may still be recording the children in the
        // catalog and opening them; wait for it to finish before naming them.
        log.routes_settled(&stream).await;
    }
    let info = log.stream(&stream).map_err(failed)?;
    let ending = info.shard(shard).and_then(|s| s.ending_offset);
    let child_shards = match ending {
        Some(end) if batch.next_offset >= end => info
            .shards
            .iter()
            .filter(|s| s.parent == Some(shard) || s.adjacent_parent == Some(shard))
            .map(|s| s.id)
            .collect(),
        _ => Vec::new(),
    };
    let records = batch
        .records
        .into_iter()
        .map(|record| FetchedRecord {
            offset: record.offset,
            timestamp_ms: record.timestamp_ms,
            key: record.key,
            data: record.data,
        })
        .collect();
    Ok(FetchOk {
        next_offset: batch.next_offset,
        shard_ending: ending,
        child_shards,
        records,
    })
}

/// Splits a shard; the engine call (which holds the stream's router, closes the parent, then
/// fsyncs the catalog) runs on the blocking pool.
pub async fn split_shard(log: &Log, budget: &ShardBudget, request: SplitShard) -> Outcome {
    require_native(log, &request.stream)?;
    // A split opens two shards and closes one.
    let _reservation = budget
        .reserve(log, 1)
        .await
        .map_err(|over| over_budget(&over))?;
    let log = log.clone();
    let runtime = tokio::runtime::Handle::current();
    let children = blocking(move || {
        runtime.block_on(log.split_shard(
            &request.stream,
            request.shard,
            request.new_starting_hash_key,
        ))
    })
    .await?;
    Ok(Response::SplitShardOk(SplitShardOk { children }))
}

/// Merges two adjacent shards; as [`split_shard`].
pub async fn merge_shards(log: &Log, request: MergeShards) -> Outcome {
    require_native(log, &request.stream)?;
    let log = log.clone();
    let runtime = tokio::runtime::Handle::current();
    let child = blocking(move || {
        runtime.block_on(log.merge_shards(&request.stream, request.shard, request.adjacent_shard))
    })
    .await?;
    Ok(Response::MergeShardsOk(MergeShardsOk { child }))
}

pub async fn commit_cursor(log: &Log, request: CommitCursor) -> Outcome {
    let log = log.clone();
    blocking(move || {
        log.commit_cursor(
            &request.name,
            &request.stream,
            request.shard,
            request.offset,
        )
    })
    .await?;
    Ok(Response::CommitCursorOk)
}

pub fn fetch_cursor(log: &Log, request: &FetchCursor) -> Outcome {
    let offset = log.cursor(&request.name, &request.stream, request.shard);
    Ok(Response::CursorPosition(CursorPosition { offset }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_keys_are_md5_read_big_endian() {
        // MD5("") = d41d8cd98f00b204e9800998ecf8427e
        assert_eq!(hash_key(b""), 0xd41d_8cd9_8f00_b204_e980_0998_ecf8_427e);
        // MD5("a") = 0cc175b9c0f1b6a831c399e269772661
        assert_eq!(hash_key(b"a"), 0x0cc1_75b9_c0f1_b6a8_31c3_99e2_6977_2661);
    }
}
