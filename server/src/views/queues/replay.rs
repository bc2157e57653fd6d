//! Beyond SQS: a non-destructive peek at a queue's messages, and a rewind that makes every
//! message from an offset or a time on receivable again (a consumer that lost work replays it
//! from the log, which still holds every message for the queue's retention period).
//!
//! A rewind is one state change: it deletes the per-message state of every message from the
//! rewind point on (tombstones and receives alike), lowers the watermark to that point, and
//! records the time of the rewind (state key `r`). Receipt handles issued at or before that
//! time are stale from then on (a message's receive generation starts again, so the time, not
//! the generation, tells an old handle from a new one). The index is then rebuilt from the
//! durable state, as at open.

use std::sync::Arc;

use bytes::Bytes;
use storage::{ReadLimits, StateChange};

use super::index::{self, Status};
use super::{Error, INDEX_READ_LIMITS, Queue, Queues, Result, StoredMessage, lock, storage_error};

/// The state key of the time of the queue's last rewind (i64 ms, big-endian).
pub(crate) const REWOUND_KEY: &[u8] = b"r";

/// Most messages one peek returns.
pub const PEEK_MESSAGES_MAX: usize = 1000;

/// Where a rewind goes back to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RewindTo {
    /// The message at this offset and every later one.
    Offset(u64),
    /// The first message sent at or after this time (ms since the epoch), and every later one.
    Timestamp(i64),
}

/// What a rewind did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rewound {
    /// The offset the queue was rewound to (clamped to the oldest message still kept).
    pub offset: u64,
    /// Messages receivable, delayed or in flight after the rewind.
    pub unfinished: u64,
}

/// Where a peeked message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeekState {
    /// Receivable now.
    Ready,
    /// Not receivable before its delay ends.
    Delayed,
    /// Received and not yet deleted or visible again.
    InFlight,
    /// Deleted, expired or moved (only with `include_finished`).
    Finished,
}

/// A message as a peek shows it: nothing about it changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peeked {
    /// Its offset in the queue.
    pub offset: u64,
    /// Where it stands.
    pub state: PeekState,
    /// Receives so far.
    pub receive_count: u32,
    /// The message as stored.
    pub message: StoredMessage,
}

/// A page of peeked messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeekPage {
    /// The messages, by offset.
    pub messages: Vec<Peeked>,
    /// Where the next page starts.
    pub next_offset: u64,
}

impl Queues {
    /// Up to `max` (1 to [`PEEK_MESSAGES_MAX`]) messages from offset `from` on (`None`: the
    /// oldest kept), without receiving them: no receive count, visibility or receipt
    /// changes. Finished messages whose records are still kept are included only with
    /// `include_finished`.
    pub fn peek(
        &self,
        name: &str,
        from: Option<u64>,
        max: usize,
        include_finished: bool,
    ) -> Result<PeekPage> {
        if !(1..=PEEK_MESSAGES_MAX).contains(&max) {
            return Err(Error::InvalidValue(format!(
                "a peek returns 1 to {PEEK_MESSAGES_MAX} messages, not {max}"
            )));
        }
        let queue = self.queue(name)?;
        self.catch_up(&queue)?;
        let bounds = self
            .inner
            .log
            .shard_bounds(&queue.stream, 0)
            .map_err(|e| storage_error(name, &e))?;
        let now = self.now_ms();
        let start = from.unwrap_or(0).max(bounds.earliest);
        if include_finished {
            return self.peek_all(&queue, start, bounds.next, max, now);
        }
        let wanted: Vec<(u64, PeekState, u32)> = {
            let mut index = lock(&queue.index);
            index.promote(now);
            index
                .live
                .range_from(start)
                .filter_map(|(offset, entry)| {
                    Some((offset, peek_state(entry.status)?, entry.receive_count))
                })
                .take(max)
                .collect()
        };
        let next_offset = wanted
            .last()
            .map_or(bounds.next.max(start), |(offset, _, _)| offset + 1);
        let offsets: Vec<u64> = wanted.iter().map(|(offset, _, _)| *offset).collect();
        let messages = wanted
            .into_iter()
            .zip(self.read_messages(&queue, &offsets))
            .filter_map(|((offset, state, receive_count), message)| {
                Some(Peeked {
                    offset,
                    state,
                    receive_count,
                    message: message?,
                })
            })
            .collect();
        Ok(PeekPage {
            messages,
            next_offset,
        })
    }

    /// A peek that reads every kept record from `start`, finished messages included.
    fn peek_all(
        &self,
        queue: &Arc<Queue>,
        start: u64,
        end: u64,
        max: usize,
        now: i64,
    ) -> Result<PeekPage> {
        let mut messages = Vec::new();
        let mut from = start;
        while from < end && messages.len() < max {
            let limits = ReadLimits {
                records_max: (max - messages.len()).min(INDEX_READ_LIMITS.records_max),
                bytes_max: INDEX_READ_LIMITS.bytes_max,
            };
            let batch = match self.inner.log.read(&queue.stream, 0, from, limits) {
                Ok(batch) => batch,
                Err(storage::Error::Trimmed { earliest, .. }) => {
                    from = earliest;
                    continue;
                }
                Err(storage::Error::OffsetBeyondEnd { .. }) => break,
                Err(error) => return Err(storage_error(&queue.name, &error)),
            };
            if batch.records.is_empty() {
                break;
            }
            // Bodies are read before the index is locked: the lock is never held over I/O.
            let decoded = batch
                .records
                .iter()
                .map(|record| Some(StoredMessage::decode(&record.data).ok()?.0))
                .collect();
            let decoded = self.with_bodies(&queue.name, decoded);
            let mut index = lock(&queue.index);
            index.promote(now);
            for (record, message) in batch.records.iter().zip(decoded) {
                let Some(message) = message else {
                    continue;
                };
                let (state, receive_count) = match index.live.get(record.offset) {
                    Some(entry) => (
                        peek_state(entry.status).unwrap_or(PeekState::InFlight),
                        entry.receive_count,
                    ),
                    None => (PeekState::Finished, 0),
                };
                messages.push(Peeked {
                    offset: record.offset,
                    state,
                    receive_count,
                    message,
                });
            }
            from = batch.next_offset;
        }
        Ok(PeekPage {
            messages,
            next_offset: from,
        })
    }

    /// Makes every message from `to` on receivable again, whether it was deleted, expired
    /// by a visibility timeout, in flight or moved: its receive count starts again at zero,
    /// and every receipt handle issued before the rewind is stale. Messages the queue's
    /// retention period has ended stay gone; a point before the oldest kept message is that
    /// message. Messages before the point are untouched. Answers once the change is durable.
    pub async fn rewind(&self, name: &str, to: RewindTo) -> Result<Rewound> {
        let queue = self.queue(name)?;
        self.catch_up(&queue)?;
        let log = &self.inner.log;
        let bounds = log
            .shard_bounds(&queue.stream, 0)
            .map_err(|e| storage_error(name, &e))?;
        let offset = match to {
            RewindTo::Offset(offset) => offset,
            RewindTo::Timestamp(ms) => log
                .offset_for_timestamp(&queue.stream, 0, ms)
                .map_err(|e| storage_error(name, &e))?,
        }
        .clamp(bounds.earliest, bounds.next);
        let writer = queue.writer.clone().lock_owned().await;
        let now = self.now_ms();
        let rewound_ms = now.max(lock(&queue.rewound_ms).saturating_add(1));
        let mut changes = vec![StateChange::put(
            REWOUND_KEY,
            Bytes::copy_from_slice(&rewound_ms.to_be_bytes()),
        )];
        let watermark = lock(&queue.index).watermark;
        if offset < watermark {
            changes.push(StateChange::put(
                index::WATERMARK_KEY,
                Bytes::copy_from_slice(&offset.to_be_bytes()),
            ));
        }
        // Remembered receive attempts name receives the rewind undoes.
        for (key, _) in queue
            .state
            .scan(super::ATTEMPT_PREFIX)
            .map_err(|e| storage_error(name, &e))?
        {
            changes.push(StateChange::delete(key));
        }
        for (key, _) in queue
            .state
            .scan(index::MESSAGE_PREFIX)
            .map_err(|e| storage_error(name, &e))?
        {
            let at = key
                .get(index::MESSAGE_PREFIX.len()..)
                .and_then(|rest| <[u8; 8]>::try_from(rest).ok())
                .map(u64::from_be_bytes);
            if at.is_some_and(|at| at >= offset) {
                changes.push(StateChange::delete(key));
            }
        }
        // The writer stays held until the index is rebuilt (an admin operation may wait for
        // its fsync): no receive can issue a handle between the change and the new index.
        let acknowledged = match queue.state.enqueue_change(changes).await {
            Ok(pending) => pending.acknowledged().await.map(|_| ()),
            Err(error) => Err(error),
        };
        if acknowledged.is_ok() {
            *lock(&queue.rewound_ms) = rewound_ms;
        }
        // Whether or not the change held, the index is rebuilt from what is durable.
        let rebuilt = self.rebuild(&queue);
        drop(writer);
        acknowledged.map_err(|e| storage_error(name, &e))?;
        rebuilt?;
        lock(&queue.attempts).clear();
        queue.arrived.notify_waiters();
        let counts = lock(&queue.index).counts();
        Ok(Rewound {
            offset,
            unfinished: counts.visible + counts.delayed + counts.in_flight,
        })
    }
}

/// How a live message's status shows in a peek (`None`: being moved, not shown).
fn peek_state(status: Status) -> Option<PeekState> {
    match status {
        Status::Ready => Some(PeekState::Ready),
        Status::Delayed(_) => Some(PeekState::Delayed),
        Status::InFlight(_) => Some(PeekState::InFlight),
        Status::Moving => None,
    }
}
