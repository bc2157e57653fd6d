//! Group commit: one thread owns every shard's tail and turns many producers' appends into one
//! write per segment; a second thread turns many rounds into one `fdatasync` per file.
//!
//! Producers send [`Command`]s into a bounded queue (the bound is the backpressure) and await a
//! oneshot reply, so the async runtime never blocks on disk I/O. The commit thread takes
//! everything queued (up to `commit_bytes_max`) as one round:
//!
//! 1. assign offsets and timestamps, encode batches into one buffer per segment, roll segments
//!    that are full or old;
//! 2. submit every buffer in one io_uring submission (or `pwrite` each);
//! 3. hand the round to the sync thread and go on with the next round at once, so writing
//!    round N+1 overlaps syncing round N.
//!
//! The sync thread takes every round queued for it, issues one `fdatasync` per file covering
//! all of them (one `syncfs` of the data directory's filesystem instead, when many files are
//! dirty and the kernel reports `syncfs` errors: see [`crate::io::Writer::sync_all`]), then,
//! in round order, publishes (index entries, segment lengths, shard
//! watermarks, waking tail readers) and replies.
//!
//! Under `fsync = always` every append's reply and publication wait for that sync. Under
//! `interval` and `never`, the commit thread publishes and replies right after the write (the
//! data is in the page cache, so it survives the process being killed) and sends syncs to the
//! sync thread in the background: when the interval has passed, when a segment is sealed, and
//! for closes and explicit syncs, whose replies do wait for the sync.
//!
//! A write that fails because the disk (or quota) is full, or whose file cannot be opened, is a
//! condition, not a poison: that shard's whole round is not published, its appends fail with
//! [`Error::StorageFull`] (retriable), and its writer goes back to its last fully written state
//! ([`crate::shard::Tail`]), so the unwritten bytes are overwritten by the next write and
//! appends resume by themselves once space returns. Rounds already prepared for the shard are
//! not written. The other shards of the round are unaffected.
//!
//! Any other failed write, and every failed sync, poisons the shards involved: their tail state
//! is no longer known to match the disk, and retrying an fsync after a failure can silently
//! lose data. Poisoned shards refuse appends, and replies not yet sent for them fail, until the
//! log is reopened and recovery re-derives the tail from disk.

use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;
use crate::config::{Fsync, LogConfig};
use crate::error::{Error, Result, is_storage_full};
use crate::faults::{Fault, Faults, IoPoint};
use crate::io::{IoBackend, OwnedWrite, Writer};
use crate::record::{self, EncodedRecords, NewRecord};
use crate::segment::{IndexEntry, Segment};
use crate::shard::{Shard, TailState, sync_dir};

/// What an append returns: the offsets its records got, first to last, and their timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendAck {
    /// Offset of the first record; the others follow densely.
    pub first_offset: u64,
    /// Number of records appended.
    pub record_count: u32,
    /// Arrival timestamp given to every record of the append.
    pub timestamp_ms: i64,
}

/// Counters of the commit thread, for benchmarks, metrics and tests.
#[derive(Debug, Default)]
pub struct CommitStats {
    rounds: AtomicU64,
    appends: AtomicU64,
    bytes_written: AtomicU64,
    syncs: AtomicU64,
}

/// A snapshot of [`CommitStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitCounters {
    /// Commit rounds executed (each: one write submission, at most one sync per file).
    pub rounds: u64,
    /// Appends acknowledged.
    pub appends: u64,
    /// Bytes written to segment files.
    pub bytes_written: u64,
    /// `fdatasync` rounds issued (one per round that synced, covering every dirty file).
    pub syncs: u64,
}

impl CommitStats {
    pub(crate) fn snapshot(&self) -> CommitCounters {
        CommitCounters {
            rounds: self.rounds.load(Ordering::Relaxed),
            appends: self.appends.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
            syncs: self.syncs.load(Ordering::Relaxed),
        }
    }
}

/// The records of one append: to be encoded, or encoded by the producer and adopted.
pub(crate) enum Payload {
    Records(Vec<NewRecord>),
    Encoded(EncodedRecords),
}

impl Payload {
    fn batch_len(&self) -> usize {
        match self {
            Self::Records(records) => record::batch_len(records),
            Self::Encoded(encoded) => encoded.batch_len(),
        }
    }

    fn count(&self) -> u32 {
        match self {
            Self::Records(records) => u32::try_from(records.len()).unwrap_or(u32::MAX),
            Self::Encoded(encoded) => encoded.count(),
        }
    }

    fn encode(&self, out: &mut BytesMut, base_offset: u64, timestamp_ms: i64) {
        match self {
            Self::Records(records) => record::encode_batch(out, base_offset, timestamp_ms, records),
            Self::Encoded(encoded) => {
                record::encode_adopted(out, base_offset, timestamp_ms, encoded)
            }
        }
    }
}

pub(crate) enum Command {
    Append {
        shard: Arc<Shard>,
        records: Payload,
        reply: oneshot::Sender<Result<AppendAck>>,
    },
    Close {
        shard: Arc<Shard>,
        reply: oneshot::Sender<Result<u64>>,
    },
    Sync {
        reply: oneshot::Sender<Result<()>>,
    },
}

impl Command {
    fn weight(&self) -> usize {
        match self {
            Self::Append { records, .. } => records.batch_len(),
            _ => 0,
        }
    }
}

/// A round between its preparation and its completion.
struct Round {
    writes: Vec<SegmentWrite>,
    replies: Vec<Reply>,
    /// For each write handed to the writer, its index in `writes`.
    io: Vec<usize>,
    /// Every shard the round writes, with its tail after the round.
    shards: Vec<ShardRound>,
}

/// A shard's part in a round: its tail once the round is written, and the epoch it was
/// prepared in.
struct ShardRound {
    shard: Arc<Shard>,
    epoch: u64,
    after: TailState,
}

/// Why a write of a round did not happen.
enum Failure {
    /// Nothing of it may be published, and the shard can go on (a full disk, a file that could
    /// not be opened): the shard rolls back.
    Unwritten(Error),
    /// The file's state is unknown: the shard is poisoned.
    Poison(Error),
}

impl Failure {
    fn of_write(source: std::io::Error) -> Self {
        let context = "writing a commit round".to_string();
        if is_storage_full(&source) {
            Self::Unwritten(Error::StorageFull { context })
        } else {
            Self::Poison(Error::io(context, source))
        }
    }
}

/// One contiguous write into one segment during a round.
struct SegmentWrite {
    shard: Arc<Shard>,
    segment: Arc<Segment>,
    start: u64,
    buf: BytesMut,
    /// Bytes written, once the buffer has gone to the writer.
    len: u64,
    entries: Vec<IndexEntry>,
    next_offset: u64,
    max_timestamp_ms: i64,
    last_batch: Option<u64>,
    seal: bool,
    failure: Option<Failure>,
}

enum Reply {
    Append(
        Arc<Shard>,
        oneshot::Sender<Result<AppendAck>>,
        Result<AppendAck>,
    ),
    Close(Arc<Shard>, oneshot::Sender<Result<u64>>, u64),
    Sync(oneshot::Sender<Result<()>>),
}

impl Reply {
    fn shard(&self) -> Option<&Arc<Shard>> {
        match self {
            Self::Append(shard, ..) | Self::Close(shard, ..) => Some(shard),
            Self::Sync(_) => None,
        }
    }

    /// Fails the reply with `error`, at once.
    fn fail(self, error: &Error) {
        match self {
            Self::Append(_, reply, _) => {
                let _ = reply.send(Err(error.clone_for_reply()));
            }
            Self::Close(_, reply, _) => {
                let _ = reply.send(Err(error.clone_for_reply()));
            }
            Self::Sync(reply) => {
                let _ = reply.send(Err(error.clone_for_reply()));
            }
        }
    }

    /// Sends the reply, failing it if the round's I/O failed or its shard was poisoned since.
    fn deliver(self, outcome: &Result<()>, stats: &CommitStats) {
        let failure = |shard: &Shard| match outcome {
            Err(error) => Some(error.clone_for_reply()),
            Ok(()) if shard.is_poisoned() => Some(Error::Poisoned {
                stream: shard.stream.clone(),
                shard: shard.id,
            }),
            Ok(()) => None,
        };
        match self {
            Self::Append(shard, reply, result) => {
                let result = match (result, failure(&shard)) {
                    (Ok(_), Some(error)) => Err(error),
                    (result, _) => result,
                };
                if result.is_ok() {
                    stats.appends.fetch_add(1, Ordering::Relaxed);
                }
                let _ = reply.send(result);
            }
            Self::Close(shard, reply, ending) => {
                let result = match failure(&shard) {
                    Some(error) => Err(error),
                    None => {
                        shard.set_ending(ending);
                        Ok(ending)
                    }
                };
                let _ = reply.send(result);
            }
            Self::Sync(reply) => {
                let _ = reply.send(outcome.as_ref().copied().map_err(Error::clone_for_reply));
            }
        }
    }
}

/// Written bytes to make visible.
struct Publication {
    shard: Arc<Shard>,
    segment: Arc<Segment>,
    end: u64,
    next_offset: u64,
    max_timestamp_ms: i64,
    entries: Vec<IndexEntry>,
}

impl Publication {
    fn publish(self) {
        self.segment.publish(
            self.end,
            self.next_offset,
            self.max_timestamp_ms,
            &self.entries,
        );
        let next = self.next_offset;
        self.shard.watermark.send_if_modified(|current| {
            let advanced = next > *current;
            *current = (*current).max(next);
            advanced
        });
    }
}

/// Work for the sync thread: sync these files, then publish, seal and reply, in order.
#[derive(Default)]
struct SyncJob {
    segments: Vec<Arc<Segment>>,
    publications: Vec<Publication>,
    seals: Vec<(Arc<Segment>, Option<u64>)>,
    replies: Vec<Reply>,
    shards: Vec<Arc<Shard>>,
    /// Directories that gained a segment file: synced with the data, before any reply.
    dirs: Vec<std::path::PathBuf>,
    /// Also sync the index files (at shutdown).
    indexes: bool,
}

/// Rounds waiting for the sync thread before the commit thread waits too.
const SYNC_QUEUE_DEPTH_MAX: usize = 64;

pub(crate) struct CommitThread {
    config: LogConfig,
    clock: Arc<dyn Clock>,
    writer: Writer,
    /// Segments written since they were last handed to the sync thread, by address.
    dirty: HashMap<usize, Arc<Segment>>,
    dirty_since: Option<Instant>,
    stats: Arc<CommitStats>,
    jobs: std::sync::mpsc::SyncSender<SyncJob>,
    /// Shard directories with a new segment, not yet handed to the sync thread.
    new_dirs: Vec<std::path::PathBuf>,
}

struct SyncThread {
    writer: Writer,
    /// The data directory's filesystem, when `syncfs` may sync many files at once.
    filesystem: Option<crate::io::Filesystem>,
    stats: Arc<CommitStats>,
    faults: Faults,
    /// Appends acknowledged when the last segment sync was done (for appends per sync).
    appends_at_last_sync: u64,
}

pub(crate) fn start(
    config: LogConfig,
    clock: Arc<dyn Clock>,
    stats: Arc<CommitStats>,
) -> Result<(
    mpsc::Sender<Command>,
    std::thread::JoinHandle<()>,
    IoBackend,
)> {
    let writer = Writer::new(config.io).map_err(|source| Error::Io {
        context: format!("starting the {} write path", config.io),
        source,
    })?;
    let kind = writer.kind();
    let syncer = Writer::new(kind).map_err(|source| Error::Io {
        context: format!("starting the {kind} sync path"),
        source,
    })?;
    let (jobs, pending) = std::sync::mpsc::sync_channel(SYNC_QUEUE_DEPTH_MAX);
    let mut sync_thread = SyncThread {
        writer: syncer,
        filesystem: crate::io::Filesystem::of(&config.dir),
        stats: stats.clone(),
        faults: config.faults.clone(),
        appends_at_last_sync: 0,
    };
    let sync_handle = std::thread::Builder::new()
        .name("strata-sync".into())
        .spawn(move || sync_thread.run(pending))
        .map_err(|source| Error::Io {
            context: "spawning the sync thread".into(),
            source,
        })?;
    let (sender, receiver) = mpsc::channel(config.commit_queue_depth_max);
    let mut thread = CommitThread {
        config,
        clock,
        writer,
        dirty: HashMap::new(),
        dirty_since: None,
        stats,
        jobs,
        new_dirs: Vec::new(),
    };
    let handle = std::thread::Builder::new()
        .name("strata-commit".into())
        .spawn(move || {
            thread.run(receiver);
            // Dropping the thread closes the job queue; the sync thread drains it and stops.
            drop(thread);
            if sync_handle.join().is_err() {
                tracing::error!("Sync thread panicked");
            }
        })
        .map_err(|source| Error::Io {
            context: "spawning the commit thread".into(),
            source,
        })?;
    Ok((sender, handle, kind))
}

impl SyncThread {
    fn run(&mut self, pending: std::sync::mpsc::Receiver<SyncJob>) {
        while let Ok(first) = pending.recv() {
            let mut jobs = vec![first];
            jobs.extend(pending.try_iter());
            let mut segments: Vec<&Arc<Segment>> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for segment in jobs.iter().flat_map(|job| &job.segments) {
                if seen.insert(Arc::as_ptr(segment)) {
                    segments.push(segment);
                }
            }
            let mut outcome = Ok(());
            let mut synced = false;
            for dir in jobs.iter().flat_map(|job| &job.dirs) {
                if outcome.is_ok() {
                    outcome = sync_dir(dir, &self.faults);
                }
            }
            if !segments.is_empty() && outcome.is_ok() {
                // Files evicted from the cache since they were written are reopened: a
                // writeback error not yet reported reaches a descriptor opened later too.
                let open = segments.iter().filter_map(|segment| match segment.files() {
                    // Deleted since it was written (its stream was deleted): nothing to sync.
                    Err(Error::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::NotFound =>
                    {
                        None
                    }
                    other => Some(other),
                });
                match open.collect::<Result<Vec<_>>>() {
                    Ok(open) => {
                        let files: Vec<_> =
                            open.iter().map(|f| (&f.data, f.data.as_raw_fd())).collect();
                        self.stats.syncs.fetch_add(1, Ordering::Relaxed);
                        let started = Instant::now();
                        outcome = self
                            .faults
                            .check(IoPoint::SegmentSync)
                            .and_then(|()| self.writer.sync_all(&files, self.filesystem.as_ref()))
                            .map_err(|source| Error::io("syncing segments", source));
                        metrics::histogram!("strata_log_fsync_seconds")
                            .record(started.elapsed().as_secs_f64());
                        synced = true;
                    }
                    Err(error) => outcome = Err(error),
                }
            }
            if jobs.iter().any(|job| job.indexes) {
                for segment in &segments {
                    if let Err(error) = segment.sync_index() {
                        tracing::warn!(%error, "Index sync failed; it is rebuilt if needed");
                    }
                }
            }
            if outcome.is_err() {
                jobs.iter()
                    .flat_map(|job| &job.shards)
                    .for_each(|shard| shard.poison());
            }
            for job in jobs {
                if outcome.is_ok() {
                    job.publications.into_iter().for_each(Publication::publish);
                    for (segment, last_batch) in job.seals {
                        if let Err(error) = segment.seal(last_batch) {
                            tracing::warn!(%error, "Sealing index failed; it will be rebuilt on open");
                        }
                    }
                }
                for reply in job.replies {
                    reply.deliver(&outcome, &self.stats);
                }
            }
            if synced {
                // The appends acknowledged since the last sync: those it made durable (with
                // `fsync = always`, the ones it has just acknowledged).
                let appends = self.stats.appends.load(Ordering::Relaxed);
                let covered = appends.saturating_sub(self.appends_at_last_sync);
                self.appends_at_last_sync = appends;
                metrics::histogram!("strata_log_appends_per_sync").record(covered as f64);
            }
        }
    }
}

impl CommitThread {
    fn run(&mut self, mut receiver: mpsc::Receiver<Command>) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                tracing::error!(%error, "Commit thread could not start its timer");
                return;
            }
        };
        runtime.block_on(async {
            // One round in the kernel while the next is prepared.
            let mut in_flight: Option<Round> = None;
            loop {
                let mut commands = Vec::new();
                let mut weight = 0;
                if in_flight.is_none() {
                    let first = match self.sync_deadline() {
                        Some(deadline) => {
                            match tokio::time::timeout(deadline, receiver.recv()).await {
                                Ok(Some(command)) => command,
                                Ok(None) => break,
                                Err(_) => {
                                    self.send(SyncJob::default());
                                    continue;
                                }
                            }
                        }
                        None => match receiver.recv().await {
                            Some(command) => command,
                            None => break,
                        },
                    };
                    weight += first.weight();
                    commands.push(first);
                }
                while weight < self.config.commit_bytes_max {
                    match receiver.try_recv() {
                        Ok(command) => {
                            weight += command.weight();
                            commands.push(command);
                        }
                        Err(_) => break,
                    }
                }
                if commands.is_empty() {
                    // Nothing new while a round is in flight: finish it, then wait for more.
                    if let Some(round) = in_flight.take() {
                        self.complete(round);
                    }
                    continue;
                }
                let round = self.prepare(commands);
                if let Some(previous) = in_flight.take() {
                    self.complete(previous);
                }
                in_flight = Some(self.start(round));
            }
            if let Some(round) = in_flight.take() {
                self.complete(round);
            }
        });
        // Shutdown: everything written is synced, indexes too.
        self.send(SyncJob {
            indexes: true,
            ..SyncJob::default()
        });
    }

    /// Under `interval`, how long until dirty data must be synced.
    fn sync_deadline(&self) -> Option<Duration> {
        let Fsync::Interval(every) = self.config.fsync else {
            return None;
        };
        let since = self.dirty_since?;
        Some(every.saturating_sub(since.elapsed()))
    }

    /// Hands `job` to the sync thread, with every dirty segment to sync.
    fn send(&mut self, mut job: SyncJob) {
        job.segments
            .extend(self.dirty.drain().map(|(_, segment)| segment));
        job.dirs.append(&mut self.new_dirs);
        self.dirty_since = None;
        if let Err(std::sync::mpsc::SendError(job)) = self.jobs.send(job) {
            // Only if the sync thread died: fail what waits rather than hang it.
            let error = Err(Error::Io {
                context: "syncing segments".into(),
                source: std::io::Error::other("the sync thread stopped"),
            });
            job.shards.iter().for_each(|shard| shard.poison());
            for reply in job.replies {
                reply.deliver(&error, &self.stats);
            }
        }
    }

    /// Assigns offsets to a round's appends and encodes them.
    fn prepare(&mut self, commands: Vec<Command>) -> Round {
        let mut writes: Vec<SegmentWrite> = Vec::new();
        let mut replies: Vec<Reply> = Vec::with_capacity(commands.len());
        for command in commands {
            match command {
                Command::Append {
                    shard,
                    records,
                    reply,
                } => {
                    let result = self.assign(&shard, &records, &mut writes);
                    replies.push(Reply::Append(shard, reply, result));
                }
                Command::Close { shard, reply } => match self.close(&shard, &mut writes) {
                    Ok(ending) => replies.push(Reply::Close(shard, reply, ending)),
                    Err(error) => {
                        let _ = reply.send(Err(error));
                    }
                },
                Command::Sync { reply } => replies.push(Reply::Sync(reply)),
            }
        }
        let mut shards: Vec<ShardRound> = Vec::new();
        for write in &writes {
            if shards.iter().any(|s| Arc::ptr_eq(&s.shard, &write.shard)) {
                continue;
            }
            let tail = write.shard.tail.lock().unwrap_or_else(|e| e.into_inner());
            shards.push(ShardRound {
                shard: write.shard.clone(),
                epoch: tail.epoch,
                after: tail.at,
            });
        }
        Round {
            writes,
            replies,
            io: Vec::new(),
            shards,
        }
    }

    /// Submits a prepared round's writes; the round completes in [`Self::complete`]. Writes of
    /// a shard rolled back since the round was prepared are not submitted, nor are writes whose
    /// file cannot be opened.
    fn start(&mut self, mut round: Round) -> Round {
        let mut io = Vec::new();
        for (index, write) in round.writes.iter_mut().enumerate() {
            write.len = write.buf.len() as u64;
            let prepared_in = round
                .shards
                .iter()
                .find(|s| Arc::ptr_eq(&s.shard, &write.shard))
                .map(|s| s.epoch);
            {
                let tail = write.shard.tail.lock().unwrap_or_else(|e| e.into_inner());
                if prepared_in != Some(tail.epoch) {
                    let why = tail.rolled_back.as_ref().map_or_else(
                        || Error::StorageFull {
                            context: "writing a commit round".into(),
                        },
                        Error::clone_for_reply,
                    );
                    write.failure = Some(Failure::Unwritten(why));
                    continue;
                }
            }
            if write.len == 0 {
                continue;
            }
            match self.config.faults.inject(IoPoint::SegmentWrite) {
                None => {}
                Some(Fault::Short(errno)) => {
                    // Torn: the first half reaches the file, then the write fails.
                    if let Ok(files) = write.segment.files() {
                        let half = write.buf.get(..write.buf.len() / 2).unwrap_or_default();
                        let _ = std::os::unix::fs::FileExt::write_all_at(
                            &files.data,
                            half,
                            write.start,
                        );
                    }
                    write.failure =
                        Some(Failure::of_write(std::io::Error::from_raw_os_error(errno)));
                    continue;
                }
                Some(fault) => {
                    write.failure = Some(Failure::of_write(fault.error()));
                    continue;
                }
            }
            match write.segment.files() {
                Ok(files) => {
                    round.io.push(index);
                    io.push(OwnedWrite {
                        file: files,
                        offset: write.start,
                        buf: write.buf.split().freeze(),
                    });
                }
                Err(error) => write.failure = Some(Failure::Unwritten(error)),
            }
        }
        self.writer.start(io);
        round
    }

    /// Settles each shard of a completed round: rolls back or poisons the shards whose writes
    /// failed (failing their replies at once) and records the new written state of the others.
    /// Returns the failed shards.
    fn settle(&mut self, round: &mut Round) -> Vec<Arc<Shard>> {
        let results = self.writer.finish();
        for (index, result) in round.io.iter().zip(results) {
            if let (Err(source), Some(write)) = (result, round.writes.get_mut(*index)) {
                write.failure = Some(Failure::of_write(source));
            }
        }
        let mut failed = Vec::new();
        for part in &round.shards {
            let mut unwritten = None;
            let mut poison = None;
            for write in round
                .writes
                .iter()
                .filter(|w| Arc::ptr_eq(&w.shard, &part.shard))
            {
                match &write.failure {
                    Some(Failure::Poison(error)) => {
                        poison.get_or_insert(error);
                    }
                    Some(Failure::Unwritten(error)) => {
                        unwritten.get_or_insert(error);
                    }
                    None => {}
                }
            }
            let error = match (poison, unwritten) {
                (Some(error), _) => {
                    part.shard.poison();
                    error
                }
                (None, Some(error)) => {
                    let mut tail = part.shard.tail.lock().unwrap_or_else(|e| e.into_inner());
                    if tail.epoch == part.epoch {
                        part.shard.roll_back(&mut tail, error);
                    }
                    error
                }
                (None, None) => {
                    let mut tail = part.shard.tail.lock().unwrap_or_else(|e| e.into_inner());
                    if tail.epoch == part.epoch {
                        tail.written = part.after;
                        if tail.rolled_back.take().is_some() {
                            tracing::info!(stream = %part.shard.stream, shard = part.shard.id, "Shard written again after a round could not be");
                        }
                    }
                    continue;
                }
            };
            let error = error.clone_for_reply();
            let replies = std::mem::take(&mut round.replies);
            let (theirs, others): (Vec<Reply>, Vec<Reply>) = replies
                .into_iter()
                .partition(|r| r.shard().is_some_and(|s| Arc::ptr_eq(s, &part.shard)));
            round.replies = others;
            theirs.into_iter().for_each(|reply| reply.fail(&error));
            failed.push(part.shard.clone());
        }
        failed
    }

    /// Waits for a started round's writes, then syncs (through the sync thread), publishes and
    /// replies as the durability setting says.
    fn complete(&mut self, mut round: Round) {
        let failed = self.settle(&mut round);
        let Round {
            writes, replies, ..
        } = round;
        let written: u64 = writes
            .iter()
            .filter(|w| !failed.iter().any(|shard| Arc::ptr_eq(shard, &w.shard)))
            .map(|w| w.len)
            .sum();
        self.stats.rounds.fetch_add(1, Ordering::Relaxed);
        self.stats
            .bytes_written
            .fetch_add(written, Ordering::Relaxed);
        let mut shards: Vec<Arc<Shard>> = Vec::new();
        let mut publications = Vec::new();
        let mut seals = Vec::new();
        for write in writes {
            if failed.iter().any(|shard| Arc::ptr_eq(shard, &write.shard)) {
                continue;
            }
            self.dirty
                .insert(Arc::as_ptr(&write.segment) as usize, write.segment.clone());
            if !shards.iter().any(|s| Arc::ptr_eq(s, &write.shard)) {
                shards.push(write.shard.clone());
            }
            if write.seal {
                seals.push((write.segment.clone(), write.last_batch));
            }
            if write.len > 0 {
                publications.push(Publication {
                    end: write.start + write.len,
                    next_offset: write.next_offset,
                    max_timestamp_ms: write.max_timestamp_ms,
                    entries: write.entries,
                    shard: write.shard,
                    segment: write.segment,
                });
            }
        }
        if matches!(self.config.fsync, Fsync::Always) {
            self.send(SyncJob {
                publications,
                seals,
                replies,
                shards,
                ..SyncJob::default()
            });
            return;
        }
        // `interval` and `never`: visible and acknowledged once written.
        publications.into_iter().for_each(Publication::publish);
        let (now, later): (Vec<Reply>, Vec<Reply>) = replies
            .into_iter()
            .partition(|reply| matches!(reply, Reply::Append(..)));
        for reply in now {
            reply.deliver(&Ok(()), &self.stats);
        }
        let interval_due = self.sync_deadline().is_some_and(|left| left.is_zero());
        if !seals.is_empty() || !later.is_empty() || interval_due {
            self.send(SyncJob {
                seals,
                replies: later,
                shards,
                ..SyncJob::default()
            });
        } else if !self.dirty.is_empty() && self.dirty_since.is_none() {
            self.dirty_since = Some(Instant::now());
        }
    }

    /// Gives `records` their offsets and encodes them into this round's buffer for the shard's
    /// active segment, rolling the segment first if it is full or old.
    fn assign(
        &mut self,
        shard: &Arc<Shard>,
        records: &Payload,
        writes: &mut Vec<SegmentWrite>,
    ) -> Result<AppendAck> {
        let mut tail = writable_tail(shard)?;
        let len = records.batch_len() as u64;
        let now = self.clock.now_ms();
        let too_old = tail.first_timestamp_ms.is_some_and(|first| {
            now.saturating_sub(first)
                >= i64::try_from(self.config.segment_age_max.as_millis()).unwrap_or(i64::MAX)
        });
        if tail.position > 0 && (tail.position + len > shard.segment_bytes_max || too_old) {
            let active = active_segment(shard)?;
            self.config
                .faults
                .check(IoPoint::SegmentAllocate)
                .map_err(|source| Error::from_io("creating a segment".into(), source))?;
            // Nothing changes before the new segment exists: a full disk here fails this append
            // alone (retriable), and the half-made file is gone.
            let segment = Arc::new(Segment::create(
                &shard.dir,
                tail.next_offset,
                shard.file_bytes,
                shard.index_interval_bytes,
                &shard.files,
                shard.allocate_step,
            )?);
            let write = pending_write(writes, shard, &active, tail.position, tail.next_offset);
            write.seal = true;
            write.last_batch = tail.last_batch;
            // The directory entry is made durable by the sync thread, off this thread: on
            // ext4 a directory sync waits for all dirty data, which would stall every producer.
            if !self.new_dirs.contains(&shard.dir) {
                self.new_dirs.push(shard.dir.clone());
            }
            shard
                .segments
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .push(segment);
            tail.segment_base = tail.next_offset;
            tail.position = 0;
            tail.last_indexed = None;
            tail.last_batch = None;
            tail.first_timestamp_ms = None;
        }
        let active = active_segment(shard)?;
        // Disk for this batch first: a full disk fails this append alone, before it has an
        // offset or a byte in the round.
        if tail.position + len > active.allocated_bytes() {
            self.config
                .faults
                .check(IoPoint::SegmentAllocate)
                .map_err(|source| Error::from_io("allocating a segment".into(), source))?;
        }
        active.reserve(tail.position + len, shard.allocate_step)?;
        let timestamp_ms = now.max(tail.last_timestamp_ms);
        let first_offset = tail.next_offset;
        let position = tail.position;
        let write = pending_write(writes, shard, &active, position, first_offset);
        records.encode(&mut write.buf, first_offset, timestamp_ms);
        let count = u64::from(records.count());
        if tail
            .last_indexed
            .is_none_or(|at| position - at >= self.config.index_interval_bytes)
        {
            write.entries.push(IndexEntry {
                offset: first_offset,
                position,
                max_timestamp_ms: timestamp_ms,
            });
            tail.last_indexed = Some(position);
        }
        write.next_offset = first_offset + count;
        write.max_timestamp_ms = timestamp_ms;
        write.last_batch = Some(position);
        tail.position = position + len;
        tail.next_offset = first_offset + count;
        tail.last_timestamp_ms = timestamp_ms;
        tail.last_batch = Some(position);
        tail.first_timestamp_ms.get_or_insert(timestamp_ms);
        Ok(AppendAck {
            first_offset,
            record_count: records.count(),
            timestamp_ms,
        })
    }

    fn close(&mut self, shard: &Arc<Shard>, writes: &mut Vec<SegmentWrite>) -> Result<u64> {
        let mut tail = writable_tail(shard)?;
        let active = active_segment(shard)?;
        let write = pending_write(writes, shard, &active, tail.position, tail.next_offset);
        write.seal = true;
        write.last_batch = tail.last_batch;
        tail.closed = true;
        Ok(tail.next_offset)
    }
}

/// The shard's tail, if the shard takes appends.
fn writable_tail(shard: &Shard) -> Result<std::sync::MutexGuard<'_, crate::shard::Tail>> {
    if shard.is_poisoned() {
        return Err(Error::Poisoned {
            stream: shard.stream.clone(),
            shard: shard.id,
        });
    }
    let tail = shard.tail.lock().unwrap_or_else(|e| e.into_inner());
    if tail.closed {
        return Err(Error::ShardClosed {
            stream: shard.stream.clone(),
            shard: shard.id,
            ending_offset: tail.next_offset,
        });
    }
    Ok(tail)
}

fn active_segment(shard: &Shard) -> Result<Arc<Segment>> {
    shard
        .segments
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .last()
        .cloned()
        .ok_or_else(|| Error::ShardNotFound {
            stream: shard.stream.clone(),
            shard: shard.id,
        })
}

/// This round's write for `segment`, created on first use.
fn pending_write<'a>(
    writes: &'a mut Vec<SegmentWrite>,
    shard: &Arc<Shard>,
    segment: &Arc<Segment>,
    position: u64,
    next_offset: u64,
) -> &'a mut SegmentWrite {
    let found = writes.iter().position(|w| Arc::ptr_eq(&w.segment, segment));
    let index = match found {
        Some(index) => index,
        None => {
            writes.push(SegmentWrite {
                shard: shard.clone(),
                segment: segment.clone(),
                start: position,
                buf: BytesMut::new(),
                len: 0,
                entries: Vec::new(),
                next_offset,
                max_timestamp_ms: i64::MIN,
                last_batch: None,
                seal: false,
                failure: None,
            });
            writes.len() - 1
        }
    };
    &mut writes[index]
}
