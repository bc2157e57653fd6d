//! The delivery task of one delivery stream: source → buffer per shard and partition →
//! encoder → sink → cursor.
//!
//! For each source shard the task reads from its position and adds each record to the
//! buffer of its partition: the values of the dynamic-partitioning keys (one buffer without
//! dynamic partitioning), or a failure partition for records that cannot be partitioned or
//! converted. A buffer is flushed once [`buffer::Fill::should_flush`] says so. A flush:
//!
//! 1. records the plan (`firehose.plan/<name>`, key `<stream>/<stream id>/<shard>`: every plan
//!    ending past the cursor, each with its partition, first and end offset and key), unless
//!    the buffer is one a plan already names;
//! 2. encodes the records (or, for a failure partition, Firehose's error documents) and puts
//!    the object under that key, retrying with exponential backoff (`retry_backoff_min`
//!    doubling up to `retry_backoff_max`) for the retry duration, reporting the failure to
//!    Describe meanwhile; after it, the plan is rewritten to an error key and the buffer goes
//!    to the error output prefix;
//! 3. commits the shard's cursor to the first offset not in a stored object.
//!
//! Step 2 runs as an upload job beside the task ([`Uploads`], up to
//! `Settings::objects_in_flight` at once, so compression uses every core) while the task reads
//! on and fills the next buffers; a plan counts as stored only when its job reports back, so
//! the cursor never passes a buffer still in flight, whatever order the jobs finish in.
//!
//! After a restart every plan past the cursor rebuilds exactly its buffer (same partition,
//! same records, same key), so a crash between 2 and 3 replaces objects rather than
//! duplicating their records in others.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use storage::{Log, ReadLimits, Record};
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

use super::buffer::{Fill, Hints};
use super::keys::{BufferId, Prefix, UtcTime, object_name, zoned_time};
use super::partition::partition_id;
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

/// The upload jobs of one task: each encodes a buffer and stores it under its plan's key,
/// retrying within the retry duration, and hands the buffer back with the outcome.
struct Uploads {
    jobs: JoinSet<Upload>,
    /// At most this many jobs run at once.
    limit: usize,
    /// Jobs that finished, not yet applied to their shard.
    finished: Vec<Upload>,
    /// A job died (a bug): its buffer is gone, so the task starts over from the durable
    /// cursor and plans, as after a restart.
    died: bool,
}

/// A finished upload job.
struct Upload {
    /// The source stream's id the buffer was read from.
    source_id: u64,
    shard: u32,
    partition: String,
    plan: Plan,
    buffer: Buffer,
    /// The stored object's size, or the last error once the retry duration was over (or
    /// the buffer could not be encoded).
    outcome: Result<usize, String>,
}

impl Uploads {
    fn new(limit: usize) -> Self {
        Self {
            jobs: JoinSet::new(),
            limit: limit.max(1),
            finished: Vec::new(),
            died: false,
        }
    }

    /// Waits for a job to finish and collects it. False if none is running.
    async fn next(&mut self) -> bool {
        match self.jobs.join_next().await {
            Some(joined) => {
                self.take(joined);
                true
            }
            None => false,
        }
    }

    /// Collects the jobs that are done, without waiting.
    fn collect(&mut self) {
        while let Some(joined) = self.jobs.try_join_next() {
            self.take(joined);
        }
    }

    fn take(&mut self, joined: Result<Upload, tokio::task::JoinError>) {
        match joined {
            Ok(upload) => self.finished.push(upload),
            Err(failure) => {
                error!(%failure, "A delivery upload job died; delivering again from the cursor");
                self.died = true;
            }
        }
    }

    /// Stops every job (dropping a set aborts its tasks) and forgets what they did.
    fn reset(&mut self) {
        self.jobs = JoinSet::new();
        self.finished.clear();
        self.died = false;
    }
}

/// Records read per shard per round.
const READ_RECORDS_MAX: usize = 1_000;
/// Bytes read per shard per round.
const READ_BYTES_MAX: usize = 4 * 1024 * 1024;

/// A planned buffer: the records of `partition` from `first` up to `end` (exclusive), its
/// key, and whether it goes to the error output prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Plan {
    /// The partition id ([`partition_id`]); empty without dynamic partitioning,
    /// [`UNPARTITIONED`] for records that could not be partitioned.
    partition: String,
    first: u64,
    end: u64,
    key: String,
    /// `key` is under the error output prefix and the object holds Firehose's error
    /// documents.
    failed: bool,
}

/// The partition id of records whose partition keys could not be extracted. Real ids are
/// empty or hold `name=value`, so this one cannot clash.
const UNPARTITIONED: &str = "!";

/// The partition id of records that do not fit the format-conversion schema.
const UNCONVERTIBLE: &str = "~";

/// The error-output type and errorCode of a failed partition, if `partition` is one.
fn failure_kind(partition: &str) -> Option<(&'static str, &'static str)> {
    match partition {
        UNPARTITIONED => Some((
            PARTITIONING_FAILED,
            "DynamicPartitioning.MetadataExtractionFailed",
        )),
        UNCONVERTIBLE => Some((
            FORMAT_CONVERSION_FAILED,
            "DataFormatConversion.MalformedData",
        )),
        _ => None,
    }
}

/// Marks the current plan format: one plan per line,
/// `v2 <first> <end> <failed 0|1> <partition hex> <key hex>`. The first format (one plan,
/// `<end>\t<key>`, no partitions) is still read.
const PLANS_V2: &str = "v2 ";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

impl Plan {
    fn encode_all(plans: &[Plan]) -> Vec<u8> {
        plans
            .iter()
            .map(|plan| {
                format!(
                    "{PLANS_V2}{} {} {} {} {}",
                    plan.first,
                    plan.end,
                    u8::from(plan.failed),
                    hex(plan.partition.as_bytes()),
                    hex(plan.key.as_bytes())
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes()
    }

    fn decode_all(bytes: &[u8]) -> Option<Vec<Self>> {
        let text = std::str::from_utf8(bytes).ok()?;
        if !text.starts_with(PLANS_V2) {
            // The first format: one unpartitioned plan from the cursor to `end`.
            let (end, key) = text.split_once('\t')?;
            let (end, failed) = match end.strip_suffix("/failed") {
                Some(end) => (end, true),
                None => (end, false),
            };
            return Some(vec![Self {
                partition: String::new(),
                first: 0,
                end: end.parse().ok()?,
                key: key.to_owned(),
                failed,
            }]);
        }
        text.lines()
            .map(|line| {
                let mut fields = line.strip_prefix(PLANS_V2)?.split(' ');
                let plan = Self {
                    first: fields.next()?.parse().ok()?,
                    end: fields.next()?.parse().ok()?,
                    failed: fields.next()? == "1",
                    partition: unhex(fields.next()?)?,
                    key: unhex(fields.next()?)?,
                };
                fields.next().is_none().then_some(plan)
            })
            .collect()
    }

    /// Whether the record at `offset` of `partition` belongs to this plan.
    fn holds(&self, partition: &str, offset: u64) -> bool {
        self.partition == partition && self.first <= offset && offset < self.end
    }
}

/// The records of one partition of a shard, read and not yet delivered.
#[derive(Default)]
struct Buffer {
    records: Vec<Record>,
    fill: Fill,
    /// The partition keys' values (empty without dynamic partitioning).
    values: Vec<(String, String)>,
    /// Why each record could not be partitioned (the [`UNPARTITIONED`] buffer only).
    reasons: Vec<String>,
    /// The plan this buffer must be delivered under, from before a restart.
    plan: Option<Plan>,
}

/// One source shard's state.
struct ShardState {
    /// Next offset to read.
    next: u64,
    /// The committed cursor: every record before it is in a stored object.
    cursor: u64,
    /// Buffers by partition id.
    buffers: BTreeMap<String, Buffer>,
    /// Every plan ending past the cursor, with how far its object got (in this run). They
    /// are recorded together, so after a crash each is rebuilt and stored again under its
    /// key, and records beyond the cursor that a stored object holds are not delivered a
    /// second time in another object.
    plans: Vec<(Plan, Progress)>,
}

/// How far a plan's object got in this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Progress {
    /// Recorded (before a restart, or its buffer is still filling): the buffer is read again
    /// and flushed under this plan.
    Planned,
    /// Its buffer is with an upload job.
    Uploading,
    /// The object is stored.
    Stored,
}

impl ShardState {
    fn is_drained(&self) -> bool {
        self.buffers.values().all(|b| b.records.is_empty())
            && self
                .plans
                .iter()
                .all(|(_, progress)| *progress == Progress::Stored)
    }

    /// Where the cursor may go: before the first record that is not in a stored object.
    fn deliverable_up_to(&self) -> u64 {
        let buffered = self
            .buffers
            .values()
            .filter_map(|b| b.records.first().map(|r| r.offset));
        let planned = self
            .plans
            .iter()
            .filter(|(_, progress)| *progress != Progress::Stored)
            .map(|(plan, _)| plan.first.max(self.cursor));
        buffered.chain(planned).fold(self.next, u64::min)
    }
}

/// Runs until aborted.
pub async fn run(context: Context, entry: Arc<Entry>) {
    let context = Arc::new(context);
    let mut shards: BTreeMap<u32, ShardState> = BTreeMap::new();
    let mut source_id: Option<u64> = None;
    let mut uploads = Uploads::new(context.settings.objects_in_flight);
    let poll = context.settings.poll_interval;
    loop {
        let definition = entry.definition();
        let stream = match &definition.source {
            Source::DirectPut => backing_stream(&definition.name),
            Source::KinesisStream { stream, .. } => stream.clone(),
        };
        let info = match super::find_source(&context.log, &definition.source, &definition.name) {
            Some(info) => {
                entry.clear_source_failure();
                info
            }
            None => {
                entry.set_failure(
                    format!("Cannot read source stream {stream}: stream {stream} not found"),
                    context.log.now_ms(),
                    true,
                );
                wait(&entry, poll).await;
                continue;
            }
        };
        // A source stream deleted and created again under its name starts from scratch; after
        // a lost upload job the task starts over from what is durable.
        if source_id != Some(info.id) || uploads.died {
            shards.clear();
            uploads.reset();
            source_id = Some(info.id);
        }
        let hints = Hints {
            bytes_max: u64::from(definition.destination.buffer_mib) * 1024 * 1024,
            interval_ms: i64::from(definition.destination.buffer_seconds) * 1000,
        };
        let mut progressed = settle_finished(
            &context,
            &entry,
            &definition,
            &info,
            &mut shards,
            &mut uploads,
        )
        .await;
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
            progressed |= read_shard(
                &context,
                &entry,
                &definition,
                &info,
                (shard.id, state),
                hints,
                &mut uploads,
            )
            .await;
            let now_ms = context.log.now_ms();
            let due: Vec<String> = state
                .buffers
                .iter()
                .filter(|(_, b)| b.plan.is_none() && b.fill.should_flush(hints, now_ms))
                .map(|(partition, _)| partition.clone())
                .collect();
            for partition in due {
                progressed |= flush(
                    &context,
                    &entry,
                    &definition,
                    &info,
                    shard.id,
                    state,
                    &partition,
                    &mut uploads,
                )
                .await;
            }
            for buffer in state.buffers.values() {
                if buffer.plan.is_none()
                    && let Some(due) = buffer.fill.due_in_ms(hints, now_ms)
                {
                    next_due_ms = Some(next_due_ms.map_or(due, |d| d.min(due)));
                }
            }
            progressed |= settle_finished(
                &context,
                &entry,
                &definition,
                &info,
                &mut shards,
                &mut uploads,
            )
            .await;
        }
        let oldest = shards
            .values()
            .flat_map(|state| state.buffers.values())
            .filter_map(|buffer| buffer.fill.first_arrival_ms)
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
            // A finished upload wakes the task too: its cursor may move.
            tokio::select! {
                () = wait(&entry, due.min(poll)) => {}
                _ = uploads.next(), if !uploads.jobs.is_empty() => {}
            }
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
                    .is_some_and(|state| state.next >= end && state.is_drained()),
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
    let plans: Vec<(Plan, Progress)> = log
        .property(&plan_namespace(name), &plan_key(source, shard.id))
        .and_then(|bytes| Plan::decode_all(&bytes))
        .unwrap_or_default()
        .into_iter()
        .filter(|plan| plan.end > next)
        .map(|plan| (plan, Progress::Planned))
        .collect();
    for (plan, _) in &plans {
        info!(delivery_stream = %name, shard = shard.id, from = plan.first.max(next), end = plan.end, key = %plan.key, "Delivering a buffer planned before the restart again");
    }
    ShardState {
        next,
        cursor: next,
        buffers: BTreeMap::new(),
        plans,
    }
}

/// Reads one round of records into the shard's buffer, flushing whenever the buffer is full
/// or reaches its planned end. True if anything was read.
async fn read_shard(
    context: &Arc<Context>,
    entry: &Arc<Entry>,
    definition: &Definition,
    source: &storage::StreamInfo,
    (shard, state): (u32, &mut ShardState),
    hints: Hints,
    uploads: &mut Uploads,
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
            // Plans whose records expired can no longer be delivered whole.
            state.plans.retain(|(plan, _)| plan.end > earliest);
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
    let query = definition.destination.partitioning();
    let conversion = definition
        .destination
        .conversion
        .as_ref()
        .map(|conversion| {
            (
                context.settings.schemas.get(&conversion.table),
                conversion.table.as_str(),
            )
        });
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
        let (mut partition, mut values, mut reason) = match &query {
            None => (String::new(), Vec::new(), None),
            Some(query) => match query.extract(&record.data) {
                Ok(values) => (partition_id(&values), values, None),
                Err(reason) => (UNPARTITIONED.to_owned(), Vec::new(), Some(reason)),
            },
        };
        if reason.is_none()
            && let Some((schema, table)) = conversion
        {
            let fits = match schema {
                Some(schema) => schema.check(&record.data),
                None => Err(format!("The server has no schema for table {table}.")),
            };
            if let Err(why) = fits {
                (partition, values, reason) = (UNCONVERTIBLE.to_owned(), Vec::new(), Some(why));
            }
        }
        let offset = record.offset;
        let planned = state
            .plans
            .iter()
            .find(|(plan, progress)| {
                *progress == Progress::Planned && plan.holds(&partition, offset)
            })
            .map(|(plan, _)| plan.clone());
        let buffer = state.buffers.entry(partition.clone()).or_default();
        if buffer.records.is_empty() {
            buffer.values = values;
            buffer.plan = planned;
        }
        buffer.fill.push(record.data.len(), record.timestamp_ms);
        buffer.records.push(record);
        if let Some(reason) = reason {
            buffer.reasons.push(reason);
        }
        let planned_end_reached = buffer.plan.as_ref().is_some_and(|p| p.end == offset + 1);
        if planned_end_reached || (buffer.plan.is_none() && buffer.fill.full(hints)) {
            flush(
                context, entry, definition, source, shard, state, &partition, uploads,
            )
            .await;
        }
    }
    // A planned buffer whose range is read but whose last record did not come back in its
    // partition (the query changed) is delivered as it is, under its key.
    let overdue: Vec<String> = state
        .buffers
        .iter()
        .filter(|(_, b)| b.plan.as_ref().is_some_and(|plan| plan.end <= state.next))
        .map(|(partition, _)| partition.clone())
        .collect();
    for partition in overdue {
        flush(
            context, entry, definition, source, shard, state, &partition, uploads,
        )
        .await;
    }
    // Plans none of whose records came back are done with.
    let next = state.next;
    let buffers = &state.buffers;
    state.plans.retain(|(plan, progress)| {
        *progress != Progress::Planned
            || plan.end > next
            || buffers.values().any(|b| b.plan.as_ref() == Some(plan))
    });
    advance_cursor(context, entry, definition, source, shard, state).await;
    true
}

/// Commits the shard's cursor as far as stored objects allow, and forgets the plans it passed.
async fn advance_cursor(
    context: &Context,
    entry: &Entry,
    definition: &Definition,
    source: &storage::StreamInfo,
    shard: u32,
    state: &mut ShardState,
) {
    let target = state.deliverable_up_to();
    if target <= state.cursor {
        return;
    }
    let stream = source.name.as_str();
    let name = &definition.name;
    retry(context, entry, "advance the delivery cursor", || {
        let log = context.log.clone();
        let cursor = cursor_name(name);
        let stream = stream.to_owned();
        async move { blocking(move || log.commit_cursor(&cursor, &stream, shard, target)).await }
    })
    .await;
    state.cursor = target;
    state.plans.retain(|(plan, _)| plan.end > target);
}

/// Hands one partition's buffer to an upload job under its plan (recorded first), waiting
/// for room among the jobs; a failure partition's error documents are stored at once. False
/// if nothing was flushed (empty, or a planned buffer still missing records).
#[allow(clippy::too_many_arguments, reason = "the task's parts, passed down")]
async fn flush(
    context: &Arc<Context>,
    entry: &Arc<Entry>,
    definition: &Definition,
    source: &storage::StreamInfo,
    shard: u32,
    state: &mut ShardState,
    partition: &str,
    uploads: &mut Uploads,
) -> bool {
    let Some(buffer) = state.buffers.get_mut(partition) else {
        return false;
    };
    let (Some(first), Some(last)) = (buffer.records.first(), buffer.records.last()) else {
        return false;
    };
    // A planned buffer is delivered only whole: wait for its remaining records.
    if let Some(plan) = &buffer.plan
        && plan.end != last.offset + 1
        && plan.end > state.next
    {
        return false;
    }
    let (first_offset, last_offset) = (first.offset, last.offset);
    let plan = match buffer.plan.take() {
        Some(plan) => {
            for (known, progress) in &mut state.plans {
                if *known == plan {
                    *progress = Progress::Uploading;
                }
            }
            plan
        }
        None => {
            let failure = failure_kind(partition);
            let key = match failure {
                Some((error_type, _)) => {
                    error_object_key(definition, source, shard, buffer, partition, error_type)
                }
                None => object_key(definition, source, shard, buffer, partition),
            };
            let plan = Plan {
                partition: partition.to_owned(),
                first: first_offset,
                end: last_offset + 1,
                key,
                failed: failure.is_some(),
            };
            state.plans.push((plan.clone(), Progress::Uploading));
            record_plans(
                context,
                entry,
                &definition.name,
                source,
                shard,
                &state.plans,
            )
            .await;
            plan
        }
    };
    let Some(buffer) = state.buffers.remove(partition) else {
        return false;
    };
    if plan.failed {
        let body_len = deliver_failed(context, entry, &plan, &buffer).await;
        stored(
            context, entry, definition, source, shard, state, &plan, &buffer, body_len,
        )
        .await;
        return true;
    }
    while uploads.jobs.len() >= uploads.limit && uploads.next().await {}
    let job = upload(
        context.clone(),
        entry.clone(),
        definition.clone(),
        (source.id, shard, partition.to_owned()),
        plan,
        buffer,
    );
    uploads.jobs.spawn(job);
    true
}

/// An upload job: encodes the buffer and puts it under the plan's key, retrying until the
/// retry duration is over.
async fn upload(
    context: Arc<Context>,
    entry: Arc<Entry>,
    definition: Definition,
    (source_id, shard, partition): (u64, u32, String),
    plan: Plan,
    buffer: Buffer,
) -> Upload {
    let outcome = match encode_buffer(&context, &definition, &plan, &buffer.records).await {
        Err(error) => Err(error),
        Ok(body) => {
            let body_len = body.len();
            let retry_duration = definition
                .destination
                .retry_seconds
                .map_or(context.settings.retry_duration, |seconds| {
                    Duration::from_secs(u64::from(seconds))
                });
            let deadline = context
                .log
                .now_ms()
                .saturating_add(i64::try_from(retry_duration.as_millis()).unwrap_or(i64::MAX));
            let name = &definition.name;
            retry_until(&context, &entry, "put the object", Some(deadline), || {
                let sink = context.sink.clone();
                // The bucket is the current one: an UpdateDestination can redirect a failing
                // buffer.
                let bucket = entry.definition().destination.bucket().to_owned();
                let key = plan.key.clone();
                let body = body.clone();
                let name = name.to_string();
                async move {
                    let started = std::time::Instant::now();
                    let stored = sink.put(&bucket, &key, body).await;
                    metrics::histogram!("strata_delivery_object_put_seconds", "delivery_stream" => name)
                        .record(started.elapsed().as_secs_f64());
                    stored
                }
            })
            .await
            .map(|()| body_len)
        }
    };
    Upload {
        source_id,
        shard,
        partition,
        plan,
        buffer,
        outcome,
    }
}

/// Collects the finished uploads and applies them to their shards (those of another source
/// are dropped). True if there were any.
async fn settle_finished(
    context: &Context,
    entry: &Entry,
    definition: &Definition,
    source: &storage::StreamInfo,
    shards: &mut BTreeMap<u32, ShardState>,
    uploads: &mut Uploads,
) -> bool {
    uploads.collect();
    let finished = std::mem::take(&mut uploads.finished);
    let any = !finished.is_empty();
    for upload in finished {
        if upload.source_id != source.id {
            continue;
        }
        if let Some(state) = shards.get_mut(&upload.shard) {
            settle(context, entry, definition, source, state, upload).await;
        }
    }
    any
}

/// A finished upload: stored, or, once the retry duration is over, the buffer goes to the
/// error output prefix under a key recorded first, so a crash cannot put it in both places.
async fn settle(
    context: &Context,
    entry: &Entry,
    definition: &Definition,
    source: &storage::StreamInfo,
    state: &mut ShardState,
    upload: Upload,
) {
    let Upload {
        shard,
        partition,
        mut plan,
        mut buffer,
        outcome,
        ..
    } = upload;
    let body_len = match outcome {
        Ok(body_len) => body_len,
        Err(last_error) => {
            let name = &definition.name;
            let failed = Plan {
                key: error_object_key(definition, source, shard, &buffer, &partition, S3_FAILED),
                failed: true,
                ..plan.clone()
            };
            warn!(delivery_stream = %name, shard, key = %failed.key, error = %last_error, "Retry duration exceeded; writing the buffer under the error output prefix");
            for (known, _) in &mut state.plans {
                if *known == plan {
                    *known = failed.clone();
                }
            }
            plan = failed;
            record_plans(context, entry, name, source, shard, &state.plans).await;
            buffer.reasons = vec![last_error; buffer.records.len()];
            deliver_failed(context, entry, &plan, &buffer).await
        }
    };
    stored(
        context, entry, definition, source, shard, state, &plan, &buffer, body_len,
    )
    .await;
}

/// Marks the plan's object stored, counts it and advances the cursor as far as it may go.
#[allow(clippy::too_many_arguments, reason = "the task's parts, passed down")]
async fn stored(
    context: &Context,
    entry: &Entry,
    definition: &Definition,
    source: &storage::StreamInfo,
    shard: u32,
    state: &mut ShardState,
    plan: &Plan,
    buffer: &Buffer,
    body_len: usize,
) {
    for (known, progress) in &mut state.plans {
        if known == plan {
            *progress = Progress::Stored;
        }
    }
    // Counted before the cursor moves: whoever sees the cursor past an object also sees it
    // counted.
    let metrics = &entry.metrics;
    metrics.objects_delivered.fetch_add(1, Ordering::Relaxed);
    metrics
        .records_delivered
        .fetch_add(buffer.fill.records, Ordering::Relaxed);
    metrics.bytes_delivered.fetch_add(
        u64::try_from(body_len).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
    advance_cursor(context, entry, definition, source, shard, state).await;
    if state.is_drained() {
        entry.clear_failure();
    }
    let (first, last) = (plan.first, plan.end.saturating_sub(1));
    debug!(delivery_stream = %definition.name, shard, first, last, key = %plan.key, bytes = body_len, "Object delivered");
}

/// `!{firehose:error-output-type}` of a buffer that could not be stored within the retry
/// duration. Firehose drops such S3 buffers; Strata keeps them under the error output prefix.
pub const S3_FAILED: &str = "s3-failed";

/// `!{firehose:error-output-type}` of records whose partition keys could not be extracted.
pub const PARTITIONING_FAILED: &str = "partitioning-failed";

/// `!{firehose:error-output-type}` of records that do not fit the conversion schema.
pub const FORMAT_CONVERSION_FAILED: &str = "format-conversion-failed";

/// The error message of a failed buffer planned before a restart (its last error is gone).
const RESTARTED_FAILED: &str =
    "The object could not be stored within the retry duration (before a restart).";

/// Records the shard's plans durably (retried until it succeeds).
async fn record_plans(
    context: &Context,
    entry: &Entry,
    name: &str,
    source: &storage::StreamInfo,
    shard: u32,
    plans: &[(Plan, Progress)],
) {
    let plans: Vec<Plan> = plans.iter().map(|(plan, _)| plan.clone()).collect();
    retry(context, entry, "record the delivery plan", || {
        let log = context.log.clone();
        let namespace = plan_namespace(name);
        let key = plan_key(source, shard);
        let value = Plan::encode_all(&plans);
        async move { blocking(move || log.put_property(&namespace, &key, value)).await }
    })
    .await;
}

/// Encodes the buffer as the destination asks (Parquet, or delimiter and compression). An
/// error only on a bug (every record of a converted buffer was checked against the schema);
/// the buffer then goes to the error output prefix with it.
async fn encode_buffer(
    context: &Context,
    definition: &Definition,
    plan: &Plan,
    records: &[Record],
) -> Result<Bytes, String> {
    let name = &definition.name;
    let destination = &definition.destination;
    let data: Vec<Bytes> = records.iter().map(|r| r.data.clone()).collect();
    let (delimiter, compression) = (destination.delimiter, destination.compression);
    let conversion = destination.conversion.as_ref().and_then(|conversion| {
        context
            .settings
            .schemas
            .get(&conversion.table)
            .map(|schema| (schema.clone(), conversion.compression))
    });
    // Inside a ZIP archive the records are one file named after the object.
    let entry_name = plan
        .key
        .rsplit('/')
        .next()
        .map(|name| name.strip_suffix(destination.extension()).unwrap_or(name))
        .unwrap_or_default()
        .to_owned();
    match tokio::task::spawn_blocking(move || match conversion {
        Some((schema, compression)) => schema
            .to_parquet(data.iter().map(|r| r.as_ref()), compression)
            .map_err(std::io::Error::other),
        None => super::encode::encode(
            data.iter().map(|r| r.as_ref()),
            delimiter,
            compression,
            &entry_name,
        ),
    })
    .await
    {
        Ok(Ok(body)) => Ok(Bytes::from(body)),
        Ok(Err(error)) => {
            // Encoding into memory does not fail short of a bug.
            warn!(delivery_stream = %name, %error, "Encoding failed");
            Err(format!("The buffer could not be encoded: {error}"))
        }
        Err(error) => {
            warn!(delivery_stream = %name, %error, "Encoding task failed");
            Err(format!("The buffer could not be encoded: {error}"))
        }
    }
}

/// Puts a failed buffer's error documents under its (error) key, retrying for as long as it
/// fails, as Firehose does for its error output. Returns the object's size.
async fn deliver_failed(context: &Context, entry: &Entry, plan: &Plan, buffer: &Buffer) -> usize {
    let now_ms = context.log.now_ms();
    let code = failure_kind(&plan.partition).map_or("S3.PutObjectFailed", |(_, code)| code);
    let failures: Vec<super::errors::FailedRecord<'_>> = buffer
        .records
        .iter()
        .enumerate()
        .map(|(i, record)| super::errors::FailedRecord {
            data: &record.data,
            arrival_ms: record.timestamp_ms,
            code,
            message: buffer
                .reasons
                .get(i)
                .map_or(RESTARTED_FAILED, String::as_str),
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

/// The identity of a buffer of `partition`, the seed of its key.
fn buffer_seed(
    definition: &Definition,
    source: &storage::StreamInfo,
    shard: u32,
    buffer: &Buffer,
    partition: &str,
) -> ([u8; 32], UtcTime) {
    let (first, last) = match (buffer.records.first(), buffer.records.last()) {
        (Some(first), Some(last)) => (first, last),
        _ => return ([0; 32], UtcTime::from_epoch_ms(0)),
    };
    let id = BufferId {
        delivery_stream: &definition.name,
        created_ms: definition.created_ms,
        source: &source.name,
        source_id: source.id,
        shard,
        first_offset: first.offset,
        last_offset: last.offset,
        partition,
    };
    (id.seed(), UtcTime::from_epoch_ms(first.timestamp_ms))
}

/// The time prefixes are rendered at: the first record's arrival, in the destination's
/// CustomTimeZone (object names stay in UTC).
fn prefix_time(definition: &Definition, buffer: &Buffer) -> UtcTime {
    let arrival_ms = buffer.records.first().map_or(0, |r| r.timestamp_ms);
    zoned_time(
        arrival_ms,
        definition.destination.custom_time_zone.as_deref(),
    )
}

/// The key of a buffer under the error output prefix, for `error_type`.
fn error_object_key(
    definition: &Definition,
    source: &storage::StreamInfo,
    shard: u32,
    buffer: &Buffer,
    partition: &str,
    error_type: &str,
) -> String {
    let (seed, time) = buffer_seed(definition, source, shard, buffer, partition);
    let prefix_time = prefix_time(definition, buffer);
    let prefix = super::errors::error_prefix(definition.destination.error_prefix.as_deref())
        .render(&prefix_time, &seed, error_type);
    format!(
        "{prefix}{}",
        object_name(&definition.name, definition.version, &time, &seed, "")
    )
}

/// The key of a new buffer: prefix (rendered at the first record's arrival time, with the
/// buffer's partition keys) + name.
fn object_key(
    definition: &Definition,
    source: &storage::StreamInfo,
    shard: u32,
    buffer: &Buffer,
    partition: &str,
) -> String {
    let (seed, time) = buffer_seed(definition, source, shard, buffer, partition);
    let destination = &definition.destination;
    // The prefix was checked when it was set; a stored one that no longer parses falls back
    // to the default time prefix rather than stopping delivery.
    let prefix = Prefix::parse(destination.prefix.as_deref(), false)
        .or_else(|_| Prefix::parse(None, false))
        .map(|prefix| {
            prefix.render_partition(&prefix_time(definition, buffer), &seed, "", &buffer.values)
        })
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
    deadline_ms: Option<i64>,
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
                // The deadline is read on the engine's clock, so tests move it by hand; the
                // wait itself is a timer.
                let now_ms = context.log.now_ms();
                let wait = match deadline_ms {
                    Some(deadline) if now_ms >= deadline => return Err(error),
                    Some(deadline) => backoff.min(Duration::from_millis(
                        u64::try_from(deadline - now_ms).unwrap_or(0),
                    )),
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
    #![allow(clippy::unwrap_used, reason = "tests")]

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
            cursor: next,
            buffers: BTreeMap::new(),
            plans: Vec::new(),
        };
        if buffered {
            let buffer = state.buffers.entry(String::new()).or_default();
            buffer.records.push(Record {
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
            owner: storage::Owner::KINESIS,
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
        let plans = vec![
            Plan {
                partition: String::new(),
                first: 3,
                end: 42,
                key: "2024/01/01/00/s-1-2024-01-01-00-00-00-x".into(),
                failed: false,
            },
            Plan {
                partition: "customer_id=7\0region=eu west".into(),
                first: 4,
                end: 9,
                key: "err/\tkey with space\n".into(),
                failed: true,
            },
        ];
        assert_eq!(Plan::decode_all(&Plan::encode_all(&plans)), Some(plans));
        // The first format: one plan, from the cursor.
        let old = Plan::decode_all(b"42\tk").unwrap();
        assert_eq!((old[0].first, old[0].end, old[0].failed), (0, 42, false));
        assert_eq!(old[0].key, "k");
        assert!(Plan::decode_all(b"42/failed\tk").unwrap()[0].failed);
        assert_eq!(Plan::decode_all(b"x\ty"), None);
        assert_eq!(Plan::decode_all(b"\xff"), None);
        assert_eq!(Plan::decode_all(b"v2 1 2 0 zz 00"), None);
    }

    #[test]
    fn the_cursor_stops_before_the_first_record_not_in_a_stored_object() {
        let mut shard = state(10, false);
        shard.cursor = 0;
        let plan = |partition: &str, first, end| Plan {
            partition: partition.into(),
            first,
            end,
            key: String::new(),
            failed: false,
        };
        // Partition a's 0..=5 is stored; b's from 2 is still buffered.
        shard.plans.push((plan("a", 0, 6), Progress::Stored));
        let b = shard.buffers.entry("b".into()).or_default();
        b.records.push(Record {
            offset: 2,
            timestamp_ms: 0,
            key: Bytes::new(),
            hash_key: None,
            attributes: Bytes::new(),
            data: Bytes::new(),
        });
        assert_eq!(shard.deliverable_up_to(), 2);
        shard.buffers.clear();
        assert_eq!(shard.deliverable_up_to(), 10);
        // A plan from before a restart not yet stored holds the cursor at its first record.
        shard.plans.push((plan("c", 4, 8), Progress::Planned));
        assert_eq!(shard.deliverable_up_to(), 4);
        assert!(!shard.is_drained());
    }

    #[tokio::test]
    async fn the_retry_deadline_is_read_on_the_engine_clock() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(storage::ManualClock::new(1_700_000_000_000));
        let log = Log::open_with_clock(storage::LogConfig::new(dir.path()), clock.clone()).unwrap();
        let context = Context {
            log: log.clone(),
            sink: Sink::new(super::super::sink::SinkSettings::default()),
            settings: Settings {
                retry_backoff_min: Duration::from_millis(1),
                retry_backoff_max: Duration::from_millis(5),
                ..Settings::default()
            },
        };
        let entry = Entry::new(super::super::tests::definition("d", 60));
        let deadline = log.now_ms() + 60_000;
        let mut attempts = 0u32;
        // Each failed attempt moves the engine clock 10 s: the 60 s deadline passes after a
        // handful of attempts and a few milliseconds of real time.
        let outcome = tokio::time::timeout(
            Duration::from_secs(10),
            retry_until(&context, &entry, "put", Some(deadline), || {
                attempts += 1;
                clock.advance_ms(10_000);
                async { Err::<(), _>("refused".to_string()) }
            }),
        )
        .await
        .expect("the deadline ends the retries without waiting for real time");
        assert_eq!(outcome, Err("refused".to_string()));
        assert_eq!(attempts, 6);
        assert_eq!(entry.metrics.failures.load(Ordering::Relaxed), 6);
        log.close().unwrap();
    }
}
