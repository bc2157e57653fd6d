//! A queue's unfinished messages by offset, laid out for offsets that arrive in order.
//!
//! Messages are indexed at the frontier, so offsets only ever grow; most are finished (deleted)
//! in about the order they came. A map such as a B-tree keeps its nodes about half full when
//! filled in order, and spends an allocation and a search on every insert. `Live` keeps the
//! recent messages in fixed chunks of [`CHUNK`] slots, one slot per offset, so an insert is a
//! store into the last chunk and a lookup is an index. The few messages that outlive the ones
//! around them (a message in flight for hours while thousands after it are deleted) move to a
//! B-tree of stragglers, so the chunks stay dense: they never hold more than twice as many
//! slots as live messages, plus two chunks. [`OffsetSet`] keeps the ready ones as bits.
#![deny(clippy::indexing_slicing)]

use std::collections::{BTreeMap, VecDeque};

use super::index::Entry;

/// Slots per chunk.
const CHUNK: usize = 256;
const CHUNK_U64: u64 = CHUNK as u64;
/// An insert this many chunks past the last one moves every chunked message to the
/// stragglers first, so a jump in offsets allocates no run of empty chunks.
const GAP_CHUNKS_MAX: u64 = 64;

type Slots = Box<[Option<Entry>]>;

#[derive(Debug)]
struct Chunk {
    slots: Slots,
    /// Occupied slots.
    live: usize,
}

/// The unfinished messages of one queue, by offset.
#[derive(Debug, Default)]
pub(crate) struct Live {
    /// Messages below the first chunk's offsets, which outlived their neighbours.
    stragglers: BTreeMap<u64, Entry>,
    /// Chunk `i` holds offsets from `(first_chunk + i) * CHUNK`; `None` is a chunk with no
    /// message (a gap).
    chunks: VecDeque<Option<Chunk>>,
    first_chunk: u64,
    /// One past the highest offset inserted.
    end: u64,
    /// Messages in `chunks`.
    chunked: usize,
    /// Allocated chunks in `chunks`.
    allocated: usize,
    /// A freed chunk kept for the next one needed.
    spare: Option<Slots>,
}

impl Live {
    /// Messages held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.stragglers.len() + self.chunked
    }

    /// Adds the message at `offset`, which must be past every offset inserted before.
    /// Returns false (and changes nothing) if it is not.
    pub(crate) fn insert(&mut self, offset: u64, entry: Entry) -> bool {
        if offset < self.end {
            return false;
        }
        self.end = offset + 1;
        let chunk = offset / CHUNK_U64;
        if self.chunked == 0 {
            // Nothing chunked: start afresh at this offset's chunk.
            self.release_all_chunks();
            self.first_chunk = chunk;
        } else if chunk >= self.first_chunk + self.chunks.len() as u64 + GAP_CHUNKS_MAX {
            self.move_all_to_stragglers();
            self.first_chunk = chunk;
        }
        let index = usize::try_from(chunk - self.first_chunk).unwrap_or(usize::MAX);
        while self.chunks.len() <= index {
            self.chunks.push_back(None);
        }
        let Some(place) = self.chunks.get_mut(index) else {
            return false;
        };
        let chunk = match place {
            Some(chunk) => chunk,
            None => {
                let slots = self
                    .spare
                    .take()
                    .unwrap_or_else(|| vec![None; CHUNK].into_boxed_slice());
                self.allocated += 1;
                place.insert(Chunk { slots, live: 0 })
            }
        };
        let Some(slot) = chunk.slots.get_mut(slot_of(offset)) else {
            return false;
        };
        *slot = Some(entry);
        chunk.live += 1;
        self.chunked += 1;
        self.compact();
        true
    }

    pub(crate) fn get(&self, offset: u64) -> Option<&Entry> {
        match self.chunk_index(offset) {
            Some(index) => self
                .chunks
                .get(index)?
                .as_ref()?
                .slots
                .get(slot_of(offset))?
                .as_ref(),
            None => self.stragglers.get(&offset),
        }
    }

    pub(crate) fn get_mut(&mut self, offset: u64) -> Option<&mut Entry> {
        match self.chunk_index(offset) {
            Some(index) => self
                .chunks
                .get_mut(index)?
                .as_mut()?
                .slots
                .get_mut(slot_of(offset))?
                .as_mut(),
            None => self.stragglers.get_mut(&offset),
        }
    }

    pub(crate) fn remove(&mut self, offset: u64) -> Option<Entry> {
        let Some(index) = self.chunk_index(offset) else {
            return self.stragglers.remove(&offset);
        };
        let chunk = self.chunks.get_mut(index)?.as_mut()?;
        let entry = chunk.slots.get_mut(slot_of(offset))?.take()?;
        chunk.live -= 1;
        self.chunked -= 1;
        if chunk.live == 0 {
            self.free_chunk(index);
        }
        self.trim_front();
        self.compact();
        Some(entry)
    }

    /// The message with the lowest offset.
    pub(crate) fn first(&self) -> Option<(u64, &Entry)> {
        if let Some((offset, entry)) = self.stragglers.first_key_value() {
            return Some((*offset, entry));
        }
        self.range_from(0).next()
    }

    /// The messages from `start` on, in offset order.
    pub(crate) fn range_from(&self, start: u64) -> impl Iterator<Item = (u64, &Entry)> {
        let first_chunk = self.first_chunk;
        let skip = usize::try_from(start.saturating_sub(first_chunk * CHUNK_U64) / CHUNK_U64)
            .unwrap_or(usize::MAX);
        let chunked = self
            .chunks
            .iter()
            .enumerate()
            .skip(skip)
            .filter_map(|(i, chunk)| Some((i, chunk.as_ref()?)))
            .flat_map(move |(i, chunk)| {
                let base = (first_chunk + i as u64) * CHUNK_U64;
                chunk
                    .slots
                    .iter()
                    .enumerate()
                    .filter_map(move |(j, slot)| Some((base + j as u64, slot.as_ref()?)))
            })
            .filter(move |(offset, _)| *offset >= start);
        self.stragglers
            .range(start..)
            .map(|(offset, entry)| (*offset, entry))
            .chain(chunked)
    }

    /// The offsets of the messages below `end`, in order.
    pub(crate) fn offsets_below(&self, end: u64) -> Vec<u64> {
        self.range_from(0)
            .map(|(offset, _)| offset)
            .take_while(|offset| *offset < end)
            .collect()
    }

    /// Where `offset`'s chunk is in `chunks`, if it is at or past the first chunk.
    fn chunk_index(&self, offset: u64) -> Option<usize> {
        let chunk = offset / CHUNK_U64;
        if chunk < self.first_chunk || self.chunks.is_empty() {
            return None;
        }
        usize::try_from(chunk - self.first_chunk).ok()
    }

    fn free_chunk(&mut self, index: usize) {
        if let Some(place) = self.chunks.get_mut(index)
            && let Some(chunk) = place.take()
        {
            self.allocated -= 1;
            if self.spare.is_none() {
                self.spare = Some(chunk.slots);
            }
        }
    }

    /// Drops empty chunks at the front, but keeps the one inserts go to.
    fn trim_front(&mut self) {
        while self.chunks.len() > 1 && matches!(self.chunks.front(), Some(None)) {
            self.chunks.pop_front();
            self.first_chunk += 1;
        }
    }

    /// Moves the front chunk's messages to the stragglers while the chunks hold more than
    /// twice as many slots as messages (plus two chunks).
    fn compact(&mut self) {
        while self.allocated * CHUNK > 2 * self.chunked + 2 * CHUNK && self.chunks.len() > 1 {
            let base = self.first_chunk * CHUNK_U64;
            if let Some(Some(chunk)) = self.chunks.pop_front() {
                self.allocated -= 1;
                self.chunked -= chunk.live;
                for (j, slot) in chunk.slots.into_vec().into_iter().enumerate() {
                    if let Some(entry) = slot {
                        self.stragglers.insert(base + j as u64, entry);
                    }
                }
            }
            self.first_chunk += 1;
            self.trim_front();
        }
    }

    fn move_all_to_stragglers(&mut self) {
        let base = self.first_chunk * CHUNK_U64;
        for (i, place) in std::mem::take(&mut self.chunks).into_iter().enumerate() {
            let Some(chunk) = place else { continue };
            let chunk_base = base + (i as u64) * CHUNK_U64;
            for (j, slot) in chunk.slots.into_vec().into_iter().enumerate() {
                if let Some(entry) = slot {
                    self.stragglers.insert(chunk_base + j as u64, entry);
                }
            }
        }
        self.chunked = 0;
        self.allocated = 0;
    }

    fn release_all_chunks(&mut self) {
        for place in std::mem::take(&mut self.chunks) {
            if let Some(chunk) = place
                && self.spare.is_none()
            {
                self.spare = Some(chunk.slots);
            }
        }
        self.allocated = 0;
    }
}

/// A set of offsets as words of 64 bits, for sets filled in about offset order (the ready
/// messages): a member costs a bit, not a B-tree entry of its own.
#[derive(Debug, Default)]
pub(crate) struct OffsetSet {
    /// Word `offset / 64` → its bits; no word is zero.
    words: BTreeMap<u64, u64>,
    len: usize,
}

impl OffsetSet {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// True if `offset` was not in the set.
    pub(crate) fn insert(&mut self, offset: u64) -> bool {
        let word = self.words.entry(offset / 64).or_insert(0);
        let bit = 1 << (offset % 64);
        if *word & bit != 0 {
            return false;
        }
        *word |= bit;
        self.len += 1;
        true
    }

    /// True if `offset` was in the set.
    pub(crate) fn remove(&mut self, offset: u64) -> bool {
        let key = offset / 64;
        let bit = 1 << (offset % 64);
        let Some(word) = self.words.get_mut(&key) else {
            return false;
        };
        if *word & bit == 0 {
            return false;
        }
        *word &= !bit;
        if *word == 0 {
            self.words.remove(&key);
        }
        self.len -= 1;
        true
    }

    pub(crate) fn first(&self) -> Option<u64> {
        let (key, word) = self.words.first_key_value()?;
        Some(key * 64 + u64::from(word.trailing_zeros()))
    }

    /// The members below `end`, in order.
    pub(crate) fn below(&self, end: u64) -> impl Iterator<Item = u64> {
        self.words
            .range(..=end / 64)
            .flat_map(|(key, word)| {
                let (key, mut word) = (*key, *word);
                std::iter::from_fn(move || {
                    if word == 0 {
                        return None;
                    }
                    let bit = word.trailing_zeros();
                    word &= word - 1;
                    Some(key * 64 + u64::from(bit))
                })
            })
            .take_while(move |offset| *offset < end)
    }
}

fn slot_of(offset: u64) -> usize {
    (offset % CHUNK_U64) as usize
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::super::index::{Entry, Status};
    use super::*;

    fn entry(sent_ms: i64) -> Entry {
        Entry {
            sent_ms,
            group: None,
            receive_count: 0,
            generation: 0,
            first_receive_ms: 0,
            status: Status::Ready,
            has_key: false,
        }
    }

    fn check(live: &Live, model: &BTreeMap<u64, i64>) {
        assert_eq!(live.len(), model.len());
        let all: Vec<(u64, i64)> = live.range_from(0).map(|(o, e)| (o, e.sent_ms)).collect();
        let expected: Vec<(u64, i64)> = model.iter().map(|(o, s)| (*o, *s)).collect();
        assert_eq!(all, expected);
        assert_eq!(
            live.first().map(|(o, e)| (o, e.sent_ms)),
            expected.first().copied()
        );
        // Chunks stay dense: at most twice the slots of their messages, plus two chunks.
        assert!(live.allocated * CHUNK <= 2 * live.chunked + 2 * CHUNK);
        assert_eq!(live.allocated, live.chunks.iter().flatten().count());
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// Insert after a gap of this many offsets.
        Insert(u64),
        /// Remove the n-th live message (modulo their number).
        Remove(usize),
        /// Look up, and change, the n-th live message.
        Touch(usize),
        /// Read from the n-th live message's offset on.
        RangeFrom(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => prop_oneof![9 => Just(0u64), 1 => 0u64..2_000, 1 => Just(40_000u64)].prop_map(Op::Insert),
            4 => any::<usize>().prop_map(Op::Remove),
            1 => any::<usize>().prop_map(Op::Touch),
            1 => any::<usize>().prop_map(Op::RangeFrom),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn live_matches_a_map(ops in proptest::collection::vec(op(), 1..2_000)) {
            let mut live = Live::default();
            let mut model: BTreeMap<u64, i64> = BTreeMap::new();
            let mut next = 0u64;
            for (i, op) in ops.into_iter().enumerate() {
                let i = i as i64;
                match op {
                    Op::Insert(gap) => {
                        let offset = next + gap;
                        prop_assert!(live.insert(offset, entry(i)));
                        model.insert(offset, i);
                        next = offset + 1;
                        // Offsets only grow.
                        prop_assert!(!live.insert(offset, entry(i)));
                    }
                    Op::Remove(n) if !model.is_empty() => {
                        let offset = *model.keys().nth(n % model.len()).unwrap();
                        prop_assert_eq!(live.remove(offset).map(|e| e.sent_ms), model.remove(&offset));
                        prop_assert!(live.remove(offset).is_none());
                    }
                    Op::Touch(n) if !model.is_empty() => {
                        let offset = *model.keys().nth(n % model.len()).unwrap();
                        prop_assert_eq!(live.get(offset).map(|e| e.sent_ms), model.get(&offset).copied());
                        live.get_mut(offset).unwrap().sent_ms = -i;
                        model.insert(offset, -i);
                        prop_assert!(live.get(next + 7).is_none());
                    }
                    Op::RangeFrom(n) if !model.is_empty() => {
                        let start = *model.keys().nth(n % model.len()).unwrap();
                        let got: Vec<u64> = live.range_from(start).map(|(o, _)| o).collect();
                        let want: Vec<u64> = model.range(start..).map(|(o, _)| *o).collect();
                        prop_assert_eq!(got, want);
                        let below: Vec<u64> = model.range(..start).map(|(o, _)| *o).collect();
                        prop_assert_eq!(live.offsets_below(start), below);
                    }
                    _ => {}
                }
                check(&live, &model);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn offset_sets_match_a_set(
            ops in proptest::collection::vec((any::<bool>(), 0u64..400, 0u64..3), 1..1_000)
        ) {
            let mut set = OffsetSet::default();
            let mut model = std::collections::BTreeSet::new();
            for (add, offset, scale) in ops {
                // Offsets near each other, and far apart.
                let offset = offset * 1000u64.pow(scale as u32);
                if add {
                    prop_assert_eq!(set.insert(offset), model.insert(offset));
                } else {
                    prop_assert_eq!(set.remove(offset), model.remove(&offset));
                }
                prop_assert_eq!(set.len(), model.len());
                prop_assert_eq!(set.first(), model.first().copied());
                let end = offset + 1;
                prop_assert_eq!(
                    set.below(end).collect::<Vec<_>>(),
                    model.range(..end).copied().collect::<Vec<_>>()
                );
            }
            prop_assert_eq!(
                set.below(u64::MAX).collect::<Vec<_>>(),
                model.iter().copied().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn a_slot_costs_no_more_than_its_entry() {
        // `None` takes a spare value of the entry's own fields: a slot is 56 bytes.
        assert_eq!(size_of::<Option<Entry>>(), size_of::<Entry>());
        assert!(size_of::<Entry>() <= 56, "{}", size_of::<Entry>());
    }

    #[test]
    fn a_long_lived_message_does_not_hold_the_chunks_after_it() {
        let mut live = Live::default();
        live.insert(0, entry(0));
        for offset in 1..100_000 {
            live.insert(offset, entry(0));
            if offset > 1 {
                live.remove(offset - 1);
            }
        }
        // Offset 0 and the last one are live; everything between was deleted.
        assert_eq!(live.len(), 2);
        assert!(live.allocated <= 2, "{} chunks", live.allocated);
        assert_eq!(live.offsets_below(u64::MAX), [0, 99_999]);
    }
}
