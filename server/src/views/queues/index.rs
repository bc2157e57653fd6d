//! The in-memory index of one queue: which unfinished messages are ready, delayed or in
//! flight, and the state keys that say so on disk.
//!
//! It is a function of the queue's state (`w`, `m/`, `d/` keys) and its records from the
//! watermark on, and is rebuilt from them at open (or after a failed change), so it holds
//! nothing that is not durable or derivable. Changes are made here first, under the queue's
//! writer lock, and the state changes they produce are queued in the same order.
//!
//! Per-message state value (`m/<offset u64 BE>`):
//!
//! ```text
//! version u8 1, kind u8:
//!   1 received: visible at i64 ms, receive count u32, generation u32, first receive i64 ms
//!   2 finished (deleted, expired, moved): nothing more
//! ```
#![deny(clippy::indexing_slicing)]

use std::collections::{BTreeSet, HashMap};

use bytes::{BufMut, Bytes, BytesMut};
use storage::StateChange;

use super::codec::{DecodeError, Reader};
use super::live::{Live, OffsetSet};
use super::message::Summary;

/// The state key of the queue's configuration.
pub(crate) const CONFIG_KEY: &[u8] = b"c";
/// The state key of the low watermark: every message below it is finished.
pub(crate) const WATERMARK_KEY: &[u8] = b"w";
/// The prefix of per-message state keys.
pub(crate) const MESSAGE_PREFIX: &[u8] = b"m/";
/// The prefix of deduplication keys.
pub(crate) const DEDUP_PREFIX: &[u8] = b"d/";
/// At most this many keys below the watermark are deleted by one change; the rest by later
/// ones (and found again at open), so a purge of a large queue stays one bounded batch.
const STALE_KEYS_PER_CHANGE: usize = 2048;
/// At most this many expired deduplication keys are dropped by one change.
const DEDUP_PRUNED_PER_CHANGE: usize = 256;

const MARK_VERSION: u8 = 1;
const RECEIVED: u8 = 1;
const FINISHED: u8 = 2;

pub(crate) fn message_key(offset: u64) -> Bytes {
    let mut key = BytesMut::with_capacity(10);
    key.put_slice(MESSAGE_PREFIX);
    key.put_u64(offset);
    key.freeze()
}

pub(crate) fn dedup_key(hash: &[u8; 32]) -> Bytes {
    let mut key = BytesMut::with_capacity(34);
    key.put_slice(DEDUP_PREFIX);
    key.put_slice(hash);
    key.freeze()
}

/// A message's durable state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mark {
    /// Received at least once.
    Received {
        visible_at_ms: i64,
        receive_count: u32,
        generation: u32,
        first_receive_ms: i64,
    },
    /// Deleted, expired or moved.
    Finished,
}

impl Mark {
    pub(crate) fn to_bytes(self) -> Bytes {
        let mut out = BytesMut::with_capacity(30);
        out.put_u8(MARK_VERSION);
        match self {
            Self::Received {
                visible_at_ms,
                receive_count,
                generation,
                first_receive_ms,
            } => {
                out.put_u8(RECEIVED);
                out.put_i64(visible_at_ms);
                out.put_u32(receive_count);
                out.put_u32(generation);
                out.put_i64(first_receive_ms);
            }
            Self::Finished => out.put_u8(FINISHED),
        }
        out.freeze()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new("message state", bytes);
        if r.u8()? != MARK_VERSION {
            return Err(r.error("unknown version"));
        }
        let mark = match r.u8()? {
            RECEIVED => Self::Received {
                visible_at_ms: r.i64()?,
                receive_count: r.u32()?,
                generation: r.u32()?,
                first_receive_ms: r.i64()?,
            },
            FINISHED => Self::Finished,
            _ => return Err(r.error("unknown kind")),
        };
        r.finish()?;
        Ok(mark)
    }
}

/// A remembered deduplication id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dedup {
    /// The original message's offset.
    pub offset: u64,
    /// Its id.
    pub message_id: [u8; 16],
    /// When the id is forgotten.
    pub expires_ms: i64,
}

impl Dedup {
    pub(crate) fn to_bytes(self) -> Bytes {
        let mut out = BytesMut::with_capacity(33);
        out.put_u8(MARK_VERSION);
        out.put_u64(self.offset);
        out.put_slice(&self.message_id);
        out.put_i64(self.expires_ms);
        out.freeze()
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new("deduplication entry", bytes);
        if r.u8()? != MARK_VERSION {
            return Err(r.error("unknown version"));
        }
        let dedup = Self {
            offset: r.u64()?,
            message_id: r.fixed()?,
            expires_ms: r.i64()?,
        };
        r.finish()?;
        Ok(dedup)
    }
}

/// Where an unfinished message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// Receivable.
    Ready,
    /// Not receivable before this time (a delay).
    Delayed(i64),
    /// Received; receivable again from this time.
    InFlight(i64),
    /// Being moved to a dead-letter queue or by a move task: nobody else takes it.
    Moving,
}

/// An unfinished message.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub sent_ms: i64,
    /// FIFO queues: its group's number in [`Index::group_ids`].
    pub group: Option<u32>,
    pub receive_count: u32,
    pub generation: u32,
    /// 0 until the first receive.
    pub first_receive_ms: i64,
    pub status: Status,
    /// Whether an `m/` key exists for it.
    pub has_key: bool,
}

#[derive(Debug, Default)]
struct Group {
    name: String,
    ready: BTreeSet<u64>,
    in_flight: u32,
    /// Its entry in `heads`.
    head: Option<u64>,
    /// Unfinished messages of the group (to forget empty groups).
    live: u32,
}

/// Message counts for the queue's approximate-number attributes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Receivable now.
    pub visible: u64,
    /// Received and not yet deleted or visible again.
    pub in_flight: u64,
    /// Not receivable yet because of a delay.
    pub delayed: u64,
}

/// One queue's index.
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub fifo: bool,
    /// The first offset not indexed yet (records are indexed in offset order).
    pub frontier: u64,
    /// The watermark as the last queued change set it.
    pub watermark: u64,
    pub live: Live,
    /// Ready messages (FIFO: also kept per group).
    ready: OffsetSet,
    /// Delayed and in-flight messages by the time they become ready.
    timers: BTreeSet<(i64, u64)>,
    /// Offsets whose `m/` key exists though the message is finished (a tombstone, or a key
    /// the watermark passed and no change deleted yet).
    dead_keys: BTreeSet<u64>,
    in_flight: usize,
    delayed: usize,
    /// FIFO: group names to numbers, and the groups.
    group_ids: HashMap<String, u32>,
    groups: HashMap<u32, Group>,
    next_group: u32,
    /// FIFO: the first ready offset of every unblocked group with a ready message.
    heads: BTreeSet<(u64, u32)>,
    /// Remembered deduplication ids, and their expiry order.
    pub dedup: HashMap<[u8; 32], Dedup>,
    dedup_expiry: BTreeSet<(i64, [u8; 32])>,
    /// Deduplication ids known from their messages' records but not (known to be) in the
    /// state: a send whose record was acknowledged but whose id change was not (a crash, or a
    /// caller gone, in between). The next change of the queue carries them, so no change can
    /// move the watermark past such a message while its id is only in memory.
    pub unpersisted_dedups: Vec<([u8; 32], Dedup)>,
    /// Messages finished since the last change was sealed.
    finished: Vec<u64>,
}

impl Index {
    pub(crate) fn new(fifo: bool, watermark: u64) -> Self {
        Self {
            fifo,
            frontier: watermark,
            watermark,
            ..Self::default()
        }
    }

    pub(crate) fn counts(&self) -> Counts {
        Counts {
            visible: self.ready.len() as u64,
            in_flight: self.in_flight as u64,
            delayed: self.delayed as u64,
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// When the next delayed or in-flight message becomes ready.
    pub(crate) fn next_timer_ms(&self) -> Option<i64> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// Remembers a key the state holds for a message that is not live (found at open).
    pub(crate) fn add_dead_key(&mut self, offset: u64) {
        self.dead_keys.insert(offset);
    }

    pub(crate) fn remember_dedup(&mut self, hash: [u8; 32], dedup: Dedup) {
        if let Some(old) = self.dedup.insert(hash, dedup) {
            self.dedup_expiry.remove(&(old.expires_ms, hash));
        }
        self.dedup_expiry.insert((dedup.expires_ms, hash));
    }

    /// Remembers the deduplication id of a record found in the log, unless the state already
    /// has it or it has expired; one remembered here waits in `unpersisted_dedups`.
    pub(crate) fn recover_dedup(&mut self, hash: [u8; 32], dedup: Dedup, now_ms: i64) {
        if dedup.expires_ms <= now_ms || self.dedup_of(&hash, now_ms).is_some() {
            return;
        }
        self.remember_dedup(hash, dedup);
        self.unpersisted_dedups.push((hash, dedup));
    }

    /// The live deduplication entry for `hash`.
    pub(crate) fn dedup_of(&self, hash: &[u8; 32], now_ms: i64) -> Option<Dedup> {
        self.dedup
            .get(hash)
            .copied()
            .filter(|dedup| dedup.expires_ms > now_ms)
    }

    /// Drops expired deduplication ids, deleting their keys in `out`.
    pub(crate) fn prune_dedup(&mut self, now_ms: i64, out: &mut Vec<StateChange>) {
        for _ in 0..DEDUP_PRUNED_PER_CHANGE {
            let Some(&(expires, hash)) = self.dedup_expiry.first() else {
                break;
            };
            if expires > now_ms {
                break;
            }
            self.dedup_expiry.remove(&(expires, hash));
            self.dedup.remove(&hash);
            out.push(StateChange::delete(dedup_key(&hash)));
        }
    }

    fn group_number(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.group_ids.get(name) {
            return id;
        }
        let id = self.next_group;
        self.next_group = self.next_group.wrapping_add(1);
        self.group_ids.insert(name.to_string(), id);
        self.groups.insert(
            id,
            Group {
                name: name.to_string(),
                ..Group::default()
            },
        );
        id
    }

    /// Indexes the record at `offset` (the frontier). `mark` is its durable state, if any;
    /// an expired message (sent + retention <= now) is not indexed.
    pub(crate) fn insert(
        &mut self,
        offset: u64,
        summary: &Summary,
        mark: Option<Mark>,
        now_ms: i64,
        retention_ms: i64,
    ) {
        debug_assert_eq!(offset, self.frontier);
        self.frontier = offset + 1;
        let expired = summary.sent_ms.saturating_add(retention_ms) <= now_ms;
        let (status, receive_count, generation, first_receive_ms) = match mark {
            Some(Mark::Finished) => {
                self.dead_keys.insert(offset);
                return;
            }
            Some(Mark::Received {
                visible_at_ms,
                receive_count,
                generation,
                first_receive_ms,
            }) => (
                if visible_at_ms > now_ms {
                    Status::InFlight(visible_at_ms)
                } else {
                    Status::Ready
                },
                receive_count,
                generation,
                first_receive_ms,
            ),
            None if summary.visible_from_ms > now_ms => {
                (Status::Delayed(summary.visible_from_ms), 0, 0, 0)
            }
            None => (Status::Ready, 0, 0, 0),
        };
        if expired {
            if mark.is_some() {
                self.dead_keys.insert(offset);
            }
            return;
        }
        let group = match (&summary.group_id, self.fifo) {
            (Some(name), true) => Some(self.group_number(name)),
            _ => None,
        };
        let entry = Entry {
            sent_ms: summary.sent_ms,
            group,
            receive_count,
            generation,
            first_receive_ms,
            status: Status::Moving,
            has_key: mark.is_some(),
        };
        // Offsets are indexed in order, so this is past every live one.
        if !self.live.insert(offset, entry) {
            return;
        }
        if let Some(state) = group.and_then(|g| self.groups.get_mut(&g)) {
            state.live += 1;
        }
        self.set_status(offset, status);
    }

    /// Skips an undecodable record (never indexed, so the watermark passes it).
    pub(crate) fn skip(&mut self, offset: u64) {
        debug_assert_eq!(offset, self.frontier);
        self.frontier = offset + 1;
    }

    /// Moves the frontier past records retention deleted.
    pub(crate) fn skip_to(&mut self, offset: u64) {
        self.frontier = self.frontier.max(offset);
    }

    fn leave(&mut self, offset: u64, status: Status, group: Option<u32>) {
        match status {
            Status::Ready => {
                self.ready.remove(offset);
                if let Some(group) = group.and_then(|g| self.groups.get_mut(&g)) {
                    group.ready.remove(&offset);
                }
            }
            Status::Delayed(at) => {
                self.timers.remove(&(at, offset));
                self.delayed -= 1;
            }
            Status::InFlight(at) => {
                self.timers.remove(&(at, offset));
                self.in_flight -= 1;
                if let Some(group) = group.and_then(|g| self.groups.get_mut(&g)) {
                    group.in_flight -= 1;
                }
            }
            Status::Moving => {}
        }
    }

    fn enter(&mut self, offset: u64, status: Status, group: Option<u32>) {
        match status {
            Status::Ready => {
                self.ready.insert(offset);
                if let Some(group) = group.and_then(|g| self.groups.get_mut(&g)) {
                    group.ready.insert(offset);
                }
            }
            Status::Delayed(at) => {
                self.timers.insert((at, offset));
                self.delayed += 1;
            }
            Status::InFlight(at) => {
                self.timers.insert((at, offset));
                self.in_flight += 1;
                if let Some(group) = group.and_then(|g| self.groups.get_mut(&g)) {
                    group.in_flight += 1;
                }
            }
            Status::Moving => {}
        }
    }

    fn refresh_head(&mut self, group: Option<u32>) {
        let Some(id) = group else { return };
        let Some(state) = self.groups.get_mut(&id) else {
            return;
        };
        let head = if state.in_flight == 0 {
            state.ready.first().copied()
        } else {
            None
        };
        if state.head != head {
            if let Some(old) = state.head {
                self.heads.remove(&(old, id));
            }
            if let Some(new) = head {
                self.heads.insert((new, id));
            }
            state.head = head;
        }
        if state.live == 0
            && let Some(gone) = self.groups.remove(&id)
        {
            self.group_ids.remove(&gone.name);
        }
    }

    /// Changes a live message's status, keeping every derived set in step.
    pub(crate) fn set_status(&mut self, offset: u64, status: Status) {
        let Some(entry) = self.live.get_mut(offset) else {
            return;
        };
        let old = std::mem::replace(&mut entry.status, status);
        let group = entry.group;
        self.leave(offset, old, group);
        self.enter(offset, status, group);
        self.refresh_head(group);
    }

    /// Makes every delayed or in-flight message whose time came ready.
    pub(crate) fn promote(&mut self, now_ms: i64) {
        while let Some(&(at, offset)) = self.timers.first() {
            if at > now_ms {
                break;
            }
            self.set_status(offset, Status::Ready);
        }
    }

    /// Finishes a live message (deleted, expired, moved); [`Index::seal`] writes it.
    pub(crate) fn finish(&mut self, offset: u64) {
        let Some(entry) = self.live.get(offset) else {
            return;
        };
        let group = entry.group;
        let has_key = entry.has_key;
        self.set_status(offset, Status::Moving);
        self.live.remove(offset);
        if let Some(state) = group.and_then(|g| self.groups.get_mut(&g)) {
            state.live -= 1;
        }
        self.refresh_head(group);
        if has_key {
            self.dead_keys.insert(offset);
        }
        self.finished.push(offset);
    }

    /// The next message a receive may take, in order: a standard queue's oldest ready one; a
    /// FIFO queue's next of `current` group if it has one ready (a run of one group), else
    /// the oldest head of an unblocked group. Returns the offset.
    pub(crate) fn next_ready(&self, current: Option<u32>) -> Option<u64> {
        if !self.fifo {
            return self.ready.first();
        }
        if let Some(next) = current
            .and_then(|g| self.groups.get(&g))
            .and_then(|group| group.ready.first().copied())
        {
            return Some(next);
        }
        self.heads.first().map(|(offset, _)| *offset)
    }

    /// The durable change for a message just received.
    pub(crate) fn mark_received(
        &mut self,
        offset: u64,
        now_ms: i64,
        visible_at_ms: i64,
        out: &mut Vec<StateChange>,
    ) -> Option<(u32, u32, i64)> {
        let entry = self.live.get_mut(offset)?;
        entry.receive_count = entry.receive_count.saturating_add(1);
        entry.generation = entry.generation.wrapping_add(1);
        if entry.first_receive_ms == 0 {
            entry.first_receive_ms = now_ms;
        }
        entry.has_key = true;
        let mark = Mark::Received {
            visible_at_ms,
            receive_count: entry.receive_count,
            generation: entry.generation,
            first_receive_ms: entry.first_receive_ms,
        };
        let result = (
            entry.receive_count,
            entry.generation,
            entry.first_receive_ms,
        );
        out.push(StateChange::put(message_key(offset), mark.to_bytes()));
        self.set_status(offset, Status::InFlight(visible_at_ms));
        Some(result)
    }

    /// The durable change for a visibility change of an in-flight message.
    pub(crate) fn mark_visible_at(
        &mut self,
        offset: u64,
        visible_at_ms: i64,
        now_ms: i64,
        out: &mut Vec<StateChange>,
    ) {
        let Some(entry) = self.live.get_mut(offset) else {
            return;
        };
        entry.has_key = true;
        let mark = Mark::Received {
            visible_at_ms,
            receive_count: entry.receive_count,
            generation: entry.generation,
            first_receive_ms: entry.first_receive_ms,
        };
        out.push(StateChange::put(message_key(offset), mark.to_bytes()));
        let status = if visible_at_ms > now_ms {
            Status::InFlight(visible_at_ms)
        } else {
            Status::Ready
        };
        self.set_status(offset, status);
    }

    /// Drops every unfinished message below `end` (a purge): the watermark moves to `end`.
    pub(crate) fn purge(&mut self, end: u64) {
        let offsets = self.live.offsets_below(end);
        for offset in offsets {
            self.finish(offset);
        }
    }

    /// Finishes the change being built: tombstones for finished messages above the new
    /// watermark, the watermark itself if it moved, and deletes of keys below it.
    pub(crate) fn seal(&mut self, out: &mut Vec<StateChange>) {
        let watermark = self
            .live
            .first()
            .map_or(self.frontier, |(offset, _)| offset)
            .max(self.watermark);
        for offset in std::mem::take(&mut self.finished) {
            if offset >= watermark {
                out.push(StateChange::put(
                    message_key(offset),
                    Mark::Finished.to_bytes(),
                ));
                self.dead_keys.insert(offset);
            }
        }
        if watermark != self.watermark {
            self.watermark = watermark;
            out.push(StateChange::put(
                WATERMARK_KEY,
                Bytes::copy_from_slice(&watermark.to_be_bytes()),
            ));
        }
        let stale: Vec<u64> = self
            .dead_keys
            .range(..watermark)
            .take(STALE_KEYS_PER_CHANGE)
            .copied()
            .collect();
        for offset in stale {
            self.dead_keys.remove(&offset);
            out.push(StateChange::delete(message_key(offset)));
        }
    }
}

impl Index {
    /// Up to `max` ready messages below `end`, oldest first (move tasks).
    pub(crate) fn ready_before(&self, end: u64, max: usize) -> Vec<u64> {
        self.ready.below(end).take(max).collect()
    }
}
