//! Group commit: one thread owns every shard's tail and turns many producers' appends into one
//! write per segment and one `fdatasync` per file.
//!
//! Producers send [`Command`]s into a bounded queue (the bound is the backpressure) and await a
//! oneshot reply, so the async runtime never blocks on disk I/O. The thread takes everything
//! queued (up to `commit_bytes_max`) as one round:
//!
//! 1. assign offsets and timestamps, encode batches into one buffer per segment, roll segments
//!    that are full or old;
//! 2. submit every buffer in one io_uring submission (or `pwrite` each);
//! 3. `fdatasync` what the durability setting asks for (every written file under
//!    `fsync = always`; sealed segments always);
//! 4. publish: index entries, segment lengths, shard watermarks (waking tail readers);
//! 5. reply to every producer.
//!
//! A failed write or sync poisons the shards involved: their tail state is no longer known to
//! match the disk, and retrying an fsync after a failure can silently lose data. Poisoned
//! shards refuse appends until the log is reopened and recovery re-derives the tail from disk.

use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;
use crate::config::{Fsync, LogConfig};
use crate::error::{Error, Result};
use crate::io::{IoBackend, Write, Writer};
use crate::record::{self, NewRecord};
use crate::segment::{IndexEntry, Segment};
use crate::shard::{Shard, sync_dir};

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

pub(crate) enum Command {
    Append {
        shard: Arc<Shard>,
        records: Vec<NewRecord>,
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
            Self::Append { records, .. } => record::batch_len(records),
            _ => 0,
        }
    }
}

/// One contiguous write into one segment during a round.
struct SegmentWrite {
    shard: Arc<Shard>,
    segment: Arc<Segment>,
    start: u64,
    buf: BytesMut,
    entries: Vec<IndexEntry>,
    next_offset: u64,
    max_timestamp_ms: i64,
    last_batch: Option<u64>,
    seal: bool,
}

enum Reply {
    Append(oneshot::Sender<Result<AppendAck>>, Result<AppendAck>),
    Close(Arc<Shard>, oneshot::Sender<Result<u64>>, u64),
    Sync(oneshot::Sender<Result<()>>),
}

pub(crate) struct CommitThread {
    config: LogConfig,
    clock: Arc<dyn Clock>,
    writer: Writer,
    /// Segments written since their last sync, by address.
    dirty: HashMap<usize, Arc<Segment>>,
    dirty_since: Option<Instant>,
    stats: Arc<CommitStats>,
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
    let (sender, receiver) = mpsc::channel(config.commit_queue_depth_max);
    let mut thread = CommitThread {
        config,
        clock,
        writer,
        dirty: HashMap::new(),
        dirty_since: None,
        stats,
    };
    let handle = std::thread::Builder::new()
        .name("strata-commit".into())
        .spawn(move || thread.run(receiver))
        .map_err(|source| Error::Io {
            context: "spawning the commit thread".into(),
            source,
        })?;
    Ok((sender, handle, kind))
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
            loop {
                let first = match self.sync_deadline() {
                    Some(deadline) => match tokio::time::timeout(deadline, receiver.recv()).await {
                        Ok(Some(command)) => command,
                        Ok(None) => break,
                        Err(_) => {
                            let _ = self.sync_dirty();
                            continue;
                        }
                    },
                    None => match receiver.recv().await {
                        Some(command) => command,
                        None => break,
                    },
                };
                let mut weight = first.weight();
                let mut round = vec![first];
                while weight < self.config.commit_bytes_max {
                    match receiver.try_recv() {
                        Ok(command) => {
                            weight += command.weight();
                            round.push(command);
                        }
                        Err(_) => break,
                    }
                }
                self.round(round);
            }
        });
        if let Err(error) = self.sync_dirty() {
            tracing::error!(%error, "Final sync failed");
        }
    }

    /// Under `interval`, how long until dirty data must be synced.
    fn sync_deadline(&self) -> Option<Duration> {
        let Fsync::Interval(every) = self.config.fsync else {
            return None;
        };
        let since = self.dirty_since?;
        Some(every.saturating_sub(since.elapsed()))
    }

    fn sync_dirty(&mut self) -> Result<()> {
        if self.dirty.is_empty() {
            self.dirty_since = None;
            return Ok(());
        }
        let segments: Vec<Arc<Segment>> = self.dirty.drain().map(|(_, s)| s).collect();
        self.dirty_since = None;
        let files: Vec<_> = segments
            .iter()
            .map(|s| (&s.file, s.file.as_raw_fd()))
            .collect();
        let result = self.writer.sync_all(&files);
        self.stats.syncs.fetch_add(1, Ordering::Relaxed);
        for segment in &segments {
            let _ = segment.sync_index();
        }
        result.map_err(|source| Error::Io {
            context: "syncing segments".into(),
            source,
        })
    }

    fn round(&mut self, round: Vec<Command>) {
        let mut writes: Vec<SegmentWrite> = Vec::new();
        let mut replies: Vec<Reply> = Vec::with_capacity(round.len());
        for command in round {
            match command {
                Command::Append {
                    shard,
                    records,
                    reply,
                } => {
                    let result = self.assign(&shard, &records, &mut writes);
                    replies.push(Reply::Append(reply, result));
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
        let outcome = self.execute(
            &mut writes,
            replies.iter().any(|r| matches!(r, Reply::Sync(_))),
        );
        for reply in replies {
            match reply {
                Reply::Append(reply, result) => {
                    let result = match (&outcome, result) {
                        (Err(error), Ok(_)) => Err(error.clone_for_reply()),
                        (_, result) => result,
                    };
                    if result.is_ok() {
                        self.stats.appends.fetch_add(1, Ordering::Relaxed);
                    }
                    let _ = reply.send(result);
                }
                Reply::Close(shard, reply, ending) => {
                    let result = outcome
                        .as_ref()
                        .map(|()| ending)
                        .map_err(Error::clone_for_reply);
                    if result.is_ok() {
                        shard.set_ending(ending);
                    }
                    let _ = reply.send(result);
                }
                Reply::Sync(reply) => {
                    let _ =
                        reply.send(outcome.as_ref().map(|_| ()).map_err(Error::clone_for_reply));
                }
            }
        }
    }

    /// Gives `records` their offsets and encodes them into this round's buffer for the shard's
    /// active segment, rolling the segment first if it is full or old.
    fn assign(
        &mut self,
        shard: &Arc<Shard>,
        records: &[NewRecord],
        writes: &mut Vec<SegmentWrite>,
    ) -> Result<AppendAck> {
        if shard.is_poisoned() {
            return Err(Error::Poisoned {
                stream: shard.stream.clone(),
                shard: shard.id,
            });
        }
        let mut tail = shard.tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.closed {
            return Err(Error::ShardClosed {
                stream: shard.stream.clone(),
                shard: shard.id,
                ending_offset: tail.next_offset,
            });
        }
        let len = record::batch_len(records) as u64;
        let now = self.clock.now_ms();
        let too_old = tail.first_timestamp_ms.is_some_and(|first| {
            now.saturating_sub(first)
                >= i64::try_from(self.config.segment_age_max.as_millis()).unwrap_or(i64::MAX)
        });
        if tail.position > 0 && (tail.position + len > self.config.segment_bytes_max || too_old) {
            let active = active_segment(shard)?;
            let write = pending_write(writes, shard, &active, tail.position, tail.next_offset);
            write.seal = true;
            write.last_batch = tail.last_batch;
            let segment = match Segment::create(
                &shard.dir,
                tail.next_offset,
                shard.file_bytes,
                shard.index_interval_bytes,
            )
            .and_then(|segment| sync_dir(&shard.dir).map(|()| segment))
            {
                Ok(segment) => Arc::new(segment),
                Err(error) => {
                    shard.poison();
                    return Err(error);
                }
            };
            shard
                .segments
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .push(segment);
            tail.position = 0;
            tail.last_indexed = None;
            tail.last_batch = None;
            tail.first_timestamp_ms = None;
        }
        let active = active_segment(shard)?;
        let timestamp_ms = now.max(tail.last_timestamp_ms);
        let first_offset = tail.next_offset;
        let position = tail.position;
        let write = pending_write(writes, shard, &active, position, first_offset);
        record::encode_batch(&mut write.buf, first_offset, timestamp_ms, records);
        let count = records.len() as u64;
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
            record_count: u32::try_from(records.len()).unwrap_or(u32::MAX),
            timestamp_ms,
        })
    }

    fn close(&mut self, shard: &Arc<Shard>, writes: &mut Vec<SegmentWrite>) -> Result<u64> {
        if shard.is_poisoned() {
            return Err(Error::Poisoned {
                stream: shard.stream.clone(),
                shard: shard.id,
            });
        }
        let mut tail = shard.tail.lock().unwrap_or_else(|e| e.into_inner());
        if tail.closed {
            return Err(Error::ShardClosed {
                stream: shard.stream.clone(),
                shard: shard.id,
                ending_offset: tail.next_offset,
            });
        }
        let active = active_segment(shard)?;
        let write = pending_write(writes, shard, &active, tail.position, tail.next_offset);
        write.seal = true;
        write.last_batch = tail.last_batch;
        tail.closed = true;
        Ok(tail.next_offset)
    }

    /// Writes, syncs and publishes a round. On failure, poisons every shard involved.
    fn execute(&mut self, writes: &mut [SegmentWrite], sync_everything: bool) -> Result<()> {
        let io: Vec<Write<'_>> = writes
            .iter()
            .filter(|w| !w.buf.is_empty())
            .map(|w| Write {
                fd: w.segment.file.as_raw_fd(),
                file: &w.segment.file,
                offset: w.start,
                buf: &w.buf,
            })
            .collect();
        if let Err(source) = self.writer.write_all(&io) {
            drop(io);
            writes.iter().for_each(|w| w.shard.poison());
            return Err(Error::Io {
                context: "writing a commit round".into(),
                source,
            });
        }
        let written: usize = io.iter().map(|w| w.buf.len()).sum();
        drop(io);
        self.stats.rounds.fetch_add(1, Ordering::Relaxed);
        self.stats
            .bytes_written
            .fetch_add(written as u64, Ordering::Relaxed);
        for write in writes.iter() {
            if !write.buf.is_empty() || write.seal {
                self.dirty
                    .insert(Arc::as_ptr(&write.segment) as usize, write.segment.clone());
            }
        }
        // Under `interval`, a busy queue never lets the idle timer fire, so a round that finds
        // the interval elapsed syncs before it replies.
        let interval_due = self.sync_deadline().is_some_and(|left| left.is_zero());
        let must_sync = sync_everything
            || interval_due
            || matches!(self.config.fsync, Fsync::Always)
            || writes.iter().any(|w| w.seal);
        if must_sync {
            if let Err(error) = self.sync_dirty() {
                writes.iter().for_each(|w| w.shard.poison());
                return Err(error);
            }
        } else if !self.dirty.is_empty() && self.dirty_since.is_none() {
            self.dirty_since = Some(Instant::now());
        }
        for write in writes.iter() {
            let end = write.start + write.buf.len() as u64;
            if !write.buf.is_empty() {
                write.segment.publish(
                    end,
                    write.next_offset,
                    write.max_timestamp_ms,
                    &write.entries,
                );
            }
            if write.seal
                && let Err(error) = write.segment.seal(write.last_batch)
            {
                tracing::warn!(%error, "Sealing index failed; it will be rebuilt on open");
            }
        }
        // Every offset assigned this round is now written (and synced where required), so each
        // shard's tail is exactly its committed end.
        for write in writes.iter() {
            let next = write
                .shard
                .tail
                .lock()
                .map_or(write.next_offset, |t| t.next_offset);
            write.shard.watermark.send_if_modified(|current| {
                let advanced = next > *current;
                *current = (*current).max(next);
                advanced
            });
        }
        Ok(())
    }
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
                entries: Vec::new(),
                next_offset,
                max_timestamp_ms: i64::MIN,
                last_batch: None,
                seal: false,
            });
            writes.len() - 1
        }
    };
    &mut writes[index]
}
