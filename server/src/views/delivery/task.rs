//! The delivery task of one delivery stream: source → buffer per shard → encoder → sink →
//! cursor.
//!
//! For each source shard the task reads from its position, adds records to the shard's
//! buffer, and flushes the buffer once [`buffer::Fill::should_flush`] says so. A flush:
//!
//! 1. records the plan (`firehose.plan/<name>`, key `<stream>/<stream id>/<shard>`: the
//!    buffer's end offset and object key), unless the buffer is the one a plan already names;
//! 2. encodes the records and puts the object under that key, retrying with exponential
//!    backoff (`retry_backoff_min` doubling up to `retry_backoff_max`) for as long as it
//!    fails, reporting the failure to Describe meanwhile;
//! 3. commits the shard's cursor past the buffer's last record.
//!
//! After a restart a shard with a plan beyond its cursor rebuilds exactly the planned buffer
//! (same records, same key), so a crash between 2 and 3 replaces the object rather than
//! duplicating its records in a second one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use storage::{Log, ReadLimits, Record};
use tracing::{debug, info, warn};

use super::buffer::{Fill, Hints};
use super::keys::{BufferId, Prefix, UtcTime, object_name};
use super::sink::Sink;
use super::{Definition, Entry, Settings, Source, backing_stream, cursor_name, plan_namespace};

/// What a task needs besides its entry.
pub struct Context {
    /// The log.
    pub log: Log,
    /// The object store client.
    pub sink: Sink,
    /// The view's settings.
    pub settings: Settings,
}

/// Records read per shard per round.
const READ_RECORDS_MAX: usize = 1_000;
/// Bytes read per shard per round.
const READ_BYTES_MAX: usize = 4 * 1024 * 1024;

/// A planned buffer: where it ends, its key, and whether it goes to the error output prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Plan {
    end: u64,
    key: String,
    /// The buffer could not be stored within the retry duration; `key` is under the error
    /// output prefix and the object holds Firehose's error documents.
    failed: bool,
}

/// Marks a plan whose buffer goes to the error output prefix: `<end>/failed\t<key>`. A plain
/// end is a number, so the two forms cannot be confused.
const FAILED_MARK: &str = "/failed";

impl Plan {
    fn encode(&self) -> Vec<u8> {
        let mark = if self.failed { FAILED_MARK } else { "" };
        format!("{}{mark}\t{}", self.end, self.key).into_bytes()
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(bytes).ok()?;
        let (end, key) = text.split_once('\t')?;
        let (end, failed) = match end.strip_suffix(FAILED_MARK) {
            Some(end) => (end, true),
            None => (end, false),
        };
        Some(Self {
            end: end.parse().ok()?,
            key: key.to_owned(),
            failed,
        })
    }
}

/// One source shard's state.
struct ShardState {
    /// Next offset to read.
    next: u64,
    /// Read, not yet delivered.
    records: Vec<Record>,
    fill: Fill,
    /// The buffer that must be delivered next, from before a restart.
    plan: Option<Plan>,
}

/// Runs until aborted.
pub async fn run(context: Context, entry: Arc<Entry>) {
    let mut shards: BTreeMap<u32, ShardState> = BTreeMap::new();
    let mut source_id: Option<u64> = None;
    let poll = context.settings.poll_interval;
    loop {
        let definition = entry.definition();
        let stream = match &definition.source {
            Source::DirectPut => backing_stream(&definition.name),
            Source::KinesisStream { stream, .. } => stream.clone(),
        };
        let info = match context.log.stream(&stream) {
            Ok(info) => {
                entry.clear_source_failure();
                info
            }
            Err(error) => {
                entry.set_failure(
                    format!("Cannot read source stream {stream}: {error}"),
                    context.log.now_ms(),
                    true,
                );
                wait(&entry, poll).await;
                continue;
            }
        };
        // A source stream deleted and created again under its name starts from scratch.
        if source_id != Some(info.id) {
            shards.clear();
            source_id = Some(info.id);
        }
        let hints = Hints {
            bytes_max: u64::from(definition.destination.buffer_mib) * 1024 * 1024,
            interval_ms: i64::from(definition.destination.buffer_seconds) * 1000,
        };
        let mut progressed = false;
        let mut next_due_ms: Option<i64> = None;
        for shard in &info.shards {
            // Kinesis's rule: a child shard is read only once its parents are delivered to
            // their end, so records of one key stay in order across a split or merge.
            if !parents_delivered(shard, &info, &shards) {
                continue;
            }
            let state = match shards.entry(shard.id) {
                std::collections::btree_map::Entry::Occupied(state) => state.into_mut(),
                std::collections::btree_map::Entry::Vacant(vacant) => {
                    vacant.insert(initial_state(&context.log, &definition, &info, shard))
                }
            };
            progressed |=
                read_shard(&context, &entry, &definition, &info, shard.id, state, hints).await;
            let now_ms = context.log.now_ms();
            if state.fill.should_flush(hints, now_ms) {
                // A planned buffer still missing records is not progress: wait for them.
                progressed |= flush(&context, &entry, &definition, &info, shard.id, state).await;
            } else if let Some(due) = state.fill.due_in_ms(hints, now_ms) {
                next_due_ms = Some(next_due_ms.map_or(due, |d| d.min(due)));
            }
        }
        let oldest = shards
            .values()
            .filter_map(|state| state.fill.first_arrival_ms)
            .min()
            .unwrap_or(i64::MAX);
        entry
            .metrics
            .oldest_pending_ms
            .store(oldest, Ordering::Relaxed);
        if !progressed {
            let due = next_due_ms
                .map(|ms| Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
                .unwrap_or(poll);
            wait(&entry, due.min(poll)).await;
        }
    }
}

/// Whether every parent of `shard` is closed and delivered to its end (or gone from the
/// catalog). Parents have smaller ids, so in a round they are visited before their children.
fn parents_delivered(
    shard: &storage::ShardInfo,
    info: &storage::StreamInfo,
    states: &BTreeMap<u32, ShardState>,
) -> bool {
    [shard.parent, shard.adjacent_parent]
        .into_iter()
        .flatten()
        .all(|parent| match info.shard(parent) {
            None => true,
            Some(parent_info) => match parent_info.ending_offset {
                None => false,
                Some(end) => states
                    .get(&parent)
                    .is_some_and(|state| state.next >= end && state.records.is_empty()),
            },
        })
}

async fn wait(entry: &Entry, timeout: Duration) {
    let _ = tokio::time::timeout(timeout, entry.wake.notified()).await;
}

/// The plan property's key of a source shard: the stream's id is part of it, so a plan of a
/// deleted stream never applies to a new stream of the same name.
fn plan_key(source: &storage::StreamInfo, shard: u32) -> String {
    format!("{}/{}/{shard}", source.name, source.id)
}

fn initial_state(
    log: &Log,
    definition: &Definition,
    source: &storage::StreamInfo,
    shard: &storage::ShardInfo,
) -> ShardState {
    let name = &definition.name;
    let stream = source.name.as_str();
    let earliest = log
        .shard_bounds(stream, shard.id)
        .map_or(shard.starting_offset, |bounds| bounds.earliest);
    let next = log
        .cursor(&cursor_name(name), stream, shard.id)
        .unwrap_or(shard.starting_offset)
        .max(earliest);
    let plan = log
        .property(&plan_namespace(name), &plan_key(source, shard.id))
        .and_then(|bytes| Plan::decode(&bytes))
        .filter(|plan| plan.end > next);
    if let Some(plan) = &plan {
        info!(delivery_stream = %name, shard = shard.id, from = next, end = plan.end, key = %plan.key, "Delivering the buffer planned before the restart again");
    }
    ShardState {
        next,
        records: Vec::new(),
        fill: Fill::default(),
        plan,
    }
}

/// Reads one round of records into the shard's buffer, flushing whenever the buffer is full
/// or reaches its planned end. True if anything was read.
async fn read_shard(
    context: &Context,
    entry: &Entry,
    definition: &Definition,
    source: &storage::StreamInfo,
    shard: u32,
    state: &mut ShardState,
    hints: Hints,
) -> bool {
    let stream = source.name.as_str();
    let limits = ReadLimits {
        records_max: READ_RECORDS_MAX,
        bytes_max: READ_BYTES_MAX,
    };
    let batch = match context.log.read(stream, shard, state.next, limits) {
        Ok(batch) => batch,
        Err(storage::Error::OffsetBeyondEnd { .. }) => return false,
        Err(storage::Error::Trimmed { .. }) => {
            let earliest = context
                .log
                .shard_bounds(stream, shard)
                .map_or(state.next, |bounds| bounds.earliest);
            warn!(delivery_stream = %definition.name, shard, from = state.next, to = earliest, "Records expired before delivery; skipping them");
            state.next = earliest;
            // A plan whose records expired can no longer be delivered whole.
            if state.plan.as_ref().is_some_and(|plan| plan.end <= earliest) {
                state.plan = None;
            }
            return true;
        }
        Err(error) => {
            debug!(delivery_stream = %definition.name, shard, %error, "Source read failed");
            return false;
        }
    };
    if batch.records.is_empty() {
        return false;
    }
    let source_is_kinesis = matches!(definition.source, Source::KinesisStream { .. });
    for record in batch.records {
        if record.offset < state.next {
            continue;
        }
        state.next = record.offset + 1;
        if source_is_kinesis {
            entry.metrics.records_in.fetch_add(1, Ordering::Relaxed);
            entry.metrics.bytes_in.fetch_add(
                u64::try_from(record.data.len()).unwrap_or(u64::MAX),
                Ordering::Relaxed,
            );
        }
        state.fill.push(record.data.len(), record.timestamp_ms);
        state.records.push(record);
        let planned_end_reached = state.plan.as_ref().is_some_and(|p| p.end == state.next);
        if planned_end_reached || (state.plan.is_none() && state.fill.full(hints)) {
            flush(context, entry, definition, source, shard, state).await;
        }
    }
    true
}

/// Delivers the shard's buffer (plan, put with retries, cursor), then empties it. False if
/// nothing was delivered (empty, or a planned buffer still missing records).
async fn flush(
    context: &Context,
    entry: &Entry,
    definition: &Definition,
    source: &storage::StreamInfo,
    shard: u32,
    state: &mut ShardState,
) -> bool {
    let stream = source.name.as_str();
    let (Some(first), Some(last)) = (state.records.first(), state.records.last()) else {
        return false;
    };
    // A planned buffer is delivered only whole: wait for its remaining records.
    if let Some(plan) = &state.plan
        && plan.end != last.offset + 1
    {
        return false;
    }
    let name = &definition.name;
    let end = last.offset + 1;
    let mut plan = match state.plan.take() {
        Some(plan) => plan,
        None => {
            let plan = Plan {
                end,
                key: object_key(definition, source, shard, first, last),
                failed: false,
            };
            record_plan(context, entry, name, source, shard, &plan).await;
            plan
        }
    };
    let body_len = if plan.failed {
        deliver_failed(context, entry, &plan, &state.records, RESTARTED_FAILED).await
    } else {
        let Some(body) = encode_buffer(definition, &plan, &state.records).await else {
            return false;
        };
        let body_len = body.len();
        let deadline = tokio::time::Instant::now() + context.settings.retry_duration;
        let stored = retry_until(context, entry, "put the object", Some(deadline), || {
            let sink = context.sink.clone();
            // The bucket is the current one: an UpdateDestination can redirect a failing
            // buffer.
            let bucket = entry.definition().destination.bucket().to_owned();
            let key = plan.key.clone();
            let body = body.clone();
            async move { sink.put(&bucket, &key, body).await }
        })
        .await;
        match stored {
            Ok(()) => body_len,
            Err(last_error) => {
                // The retry duration is over: the buffer goes to the error output prefix,
                // under a key recorded first so a crash cannot put it in both places.
                plan = Plan {
                    end,
                    key: error_object_key(definition, source, shard, first, last, S3_FAILED),
                    failed: true,
                };
                warn!(delivery_stream = %name, shard, key = %plan.key, error = %last_error, "Retry duration exceeded; writing the buffer under the error output prefix");
                record_plan(context, entry, name, source, shard, &plan).await;
                deliver_failed(context, entry, &plan, &state.records, &last_error).await
            }
        }
    };
    retry(context, entry, "advance the delivery cursor", || {
        let log = context.log.clone();
        let cursor = cursor_name(name);
        let stream = stream.to_owned();
        async move { blocking(move || log.commit_cursor(&cursor, &stream, shard, end)).await }
    })
    .await;
    entry.clear_failure();
    let metrics = &entry.metrics;
    metrics.objects_delivered.fetch_add(1, Ordering::Relaxed);
    metrics
        .records_delivered
        .fetch_add(state.fill.records, Ordering::Relaxed);
    metrics.bytes_delivered.fetch_add(
        u64::try_from(body_len).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    debug!(delivery_stream = %name, shard, first = first.offset, last = last.offset, key = %plan.key, bytes = body_len, "Object delivered");
    state.records.clear();
    state.fill = Fill::default();
    true
}

/// `!{firehose:error-output-type}` of a buffer that could not be stored within the retry
/// duration. Firehose drops such S3 buffers; Strata keeps them under the error output prefix.
pub const S3_FAILED: &str = "s3-failed";

/// The error message of a failed buffer planned before a restart (its last error is gone).
const RESTARTED_FAILED: &str =
    "The object could not be stored within the retry duration (before a restart).";

/// Records the plan durably (retried until it succeeds).
async fn record_plan(
    context: &Context,
    entry: &Entry,
    name: &str,
    source: &storage::StreamInfo,
    shard: u32,
    plan: &Plan,
) {
    retry(context, entry, "record the delivery plan", || {
        let log = context.log.clone();
        let namespace = plan_namespace(name);
        let key = plan_key(source, shard);
        let value = plan.encode();
        async move { blocking(move || log.put_property(&namespace, &key, value)).await }
    })
    .await;
}

/// Encodes the buffer as the destination asks (delimiter, compression). None only on a bug.
async fn encode_buffer(definition: &Definition, plan: &Plan, records: &[Record]) -> Option<Bytes> {
    let name = &definition.name;
    let destination = &definition.destination;
    let data: Vec<Bytes> = records.iter().map(|r| r.data.clone()).collect();
    let (delimiter, compression) = (destination.delimiter, destination.compression);
    // Inside a ZIP archive the records are one file named after the object.
    let entry_name = plan
        .key
        .rsplit('/')
        .next()
        .map(|name| name.strip_suffix(destination.extension()).unwrap_or(name))
        .unwrap_or_default()
        .to_owned();
    match tokio::task::spawn_blocking(move || {
        super::encode::encode(
            data.iter().map(|r| r.as_ref()),
            delimiter,
            compression,
            &entry_name,
        )
    })
    .await
    {
        Ok(Ok(body)) => Some(Bytes::from(body)),
        Ok(Err(error)) => {
            // Compressing into memory does not fail short of a bug; keep the buffer.
            warn!(delivery_stream = %name, %error, "Encoding failed");
            None
        }
        Err(error) => {
            warn!(delivery_stream = %name, %error, "Encoding task failed");
            None
        }
    }
}

/// Puts a failed buffer's error documents under its (error) key, retrying for as long as it
/// fails, as Firehose does for its error output. Returns the object's size.
async fn deliver_failed(
    context: &Context,
    entry: &Entry,
    plan: &Plan,
    records: &[Record],
    reason: &str,
) -> usize {
    let now_ms = context.log.now_ms();
    let failures: Vec<super::errors::FailedRecord<'_>> = records
        .iter()
        .map(|record| super::errors::FailedRecord {
            data: &record.data,
            arrival_ms: record.timestamp_ms,
            code: "S3.PutObjectFailed",
            message: reason,
        })
        .collect();
    let body = Bytes::from(super::errors::encode(&failures, 1, now_ms));
    let body_len = body.len();
    retry(context, entry, "put the error object", || {
        let sink = context.sink.clone();
        let bucket = entry.definition().destination.bucket().to_owned();
        let key = plan.key.clone();
        let body = body.clone();
        async move { sink.put(&bucket, &key, body).await }
    })
    .await;
    body_len
}

/// The key of a buffer (or part of one) under the error output prefix, for `error_type`.
fn error_object_key(
    definition: &Definition,
    source: &storage::StreamInfo,
    shard: u32,
    first: &Record,
    last: &Record,
    error_type: &str,
) -> String {
    let id = BufferId {
        delivery_stream: &definition.name,
        created_ms: definition.created_ms,
        source: &source.name,
        source_id: source.id,
        shard,
        first_offset: first.offset,
        last_offset: last.offset,
        partition: "",
    };
    let seed = id.seed();
    let time = UtcTime::from_epoch_ms(first.timestamp_ms);
    let prefix = super::errors::error_prefix(definition.destination.error_prefix.as_deref())
        .render(&time, &seed, error_type);
    format!(
        "{prefix}{}",
        object_name(&definition.name, definition.version, &time, &seed, "")
    )
}

/// The key of a new buffer: prefix (rendered at the first record's arrival time) + name.
fn object_key(
    definition: &Definition,
    source: &storage::StreamInfo,
    shard: u32,
    first: &Record,
    last: &Record,
) -> String {
    let id = BufferId {
        delivery_stream: &definition.name,
        created_ms: definition.created_ms,
        source: &source.name,
        source_id: source.id,
        shard,
        first_offset: first.offset,
        last_offset: last.offset,
        partition: "",
    };
    let seed = id.seed();
    let time = UtcTime::from_epoch_ms(first.timestamp_ms);
    let destination = &definition.destination;
    // The prefix was checked when it was set; a stored one that no longer parses falls back
    // to the default time prefix rather than stopping delivery.
    let prefix = Prefix::parse(destination.prefix.as_deref(), false)
        .or_else(|_| Prefix::parse(None, false))
        .map(|prefix| prefix.render(&time, &seed, ""))
        .unwrap_or_default();
    format!(
        "{prefix}{}",
        object_name(
            &definition.name,
            definition.version,
            &time,
            &seed,
            destination.extension()
        )
    )
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> storage::Result<T> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    }
}

/// Runs `attempt` until it succeeds, with exponential backoff; every failure is counted and
/// reported through the entry.
async fn retry<F, Fut>(context: &Context, entry: &Entry, what: &str, attempt: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    // Without a deadline the loop only ends in success.
    let _ = retry_until(context, entry, what, None, attempt).await;
}

/// Runs `attempt` until it succeeds or, after a failure, `deadline` has passed (then the
/// last error is returned), with exponential backoff; every failure is counted and reported
/// through the entry.
async fn retry_until<F, Fut>(
    context: &Context,
    entry: &Entry,
    what: &str,
    deadline: Option<tokio::time::Instant>,
    mut attempt: F,
) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let mut backoff = context.settings.retry_backoff_min;
    let mut failures: u64 = 0;
    loop {
        match attempt().await {
            Ok(()) => {
                if failures > 0 {
                    info!(delivery_stream = %entry.definition().name, failures, "Delivery resumed: could {what} again");
                }
                return Ok(());
            }
            Err(error) => {
                failures += 1;
                entry.metrics.failures.fetch_add(1, Ordering::Relaxed);
                let details = format!("Could not {what}: {error}");
                if failures == 1 {
                    warn!(delivery_stream = %entry.definition().name, %error, "Could not {what}; retrying with backoff");
                }
                entry.set_failure(details, context.log.now_ms(), false);
                let now = tokio::time::Instant::now();
                let wait = match deadline {
                    Some(deadline) if now >= deadline => return Err(error),
                    Some(deadline) => backoff.min(deadline - now),
                    None => backoff,
                };
                tokio::time::sleep(wait).await;
                backoff = (backoff * 2).min(context.settings.retry_backoff_max);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: u32, parents: [Option<u32>; 2], ending: Option<u64>) -> storage::ShardInfo {
        storage::ShardInfo {
            id,
            hash_start: 0,
            hash_end: u128::MAX,
            parent: parents[0],
            adjacent_parent: parents[1],
            starting_offset: 0,
            ending_offset: ending,
            created_ms: 0,
        }
    }

    fn state(next: u64, buffered: bool) -> ShardState {
        let mut state = ShardState {
            next,
            records: Vec::new(),
            fill: Fill::default(),
            plan: None,
        };
        if buffered {
            state.records.push(Record {
                offset: next - 1,
                timestamp_ms: 0,
                key: Bytes::new(),
                hash_key: None,
                attributes: Bytes::new(),
                data: Bytes::new(),
            });
        }
        state
    }

    #[test]
    fn children_wait_until_their_parents_are_delivered_to_the_end() {
        let info = storage::StreamInfo {
            name: "s".into(),
            id: 0,
            retention: Duration::from_secs(86_400),
            created_ms: 0,
            shards: vec![
                shard(0, [None, None], Some(10)),
                shard(1, [None, None], Some(5)),
                shard(2, [Some(0), Some(1)], None),
                shard(3, [Some(7), None], None),
            ],
            next_shard_id: 4,
        };
        let merged = &info.shards[2];
        let mut states = BTreeMap::new();
        assert!(
            !parents_delivered(merged, &info, &states),
            "parents not started"
        );
        states.insert(0, state(10, false));
        states.insert(1, state(5, true));
        assert!(
            !parents_delivered(merged, &info, &states),
            "a parent's buffer is pending"
        );
        states.insert(1, state(5, false));
        assert!(parents_delivered(merged, &info, &states));
        states.insert(0, state(9, false));
        assert!(
            !parents_delivered(merged, &info, &states),
            "a parent is not read to its end"
        );
        assert!(
            parents_delivered(&info.shards[0], &info, &states),
            "no parents"
        );
        assert!(
            parents_delivered(&info.shards[3], &info, &states),
            "parent expired"
        );
    }

    #[test]
    fn plans_round_trip() {
        let plan = Plan {
            end: 42,
            key: "2024/01/01/00/s-1-2024-01-01-00-00-00-x".into(),
            failed: false,
        };
        assert_eq!(Plan::decode(&plan.encode()), Some(plan.clone()));
        let failed = Plan {
            failed: true,
            ..plan
        };
        assert_eq!(Plan::decode(&failed.encode()), Some(failed));
        assert_eq!(Plan::decode(b"42\tk").map(|p| p.failed), Some(false));
        assert_eq!(Plan::decode(b"x\ty"), None);
        assert_eq!(Plan::decode(b"\xff"), None);
    }
}
