//! A shard: an ordered run of segments, a committed watermark, and the writer's tail state.
//!
//! Offsets in a shard are dense and start at the shard's starting offset (children of a split
//! or merge start where their parents ended, so offsets grow along the lineage). The committed
//! watermark is a `tokio::sync::watch`: readers waiting at the tail are woken by the writer's
//! publication, with no polling.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::watch;

use crate::error::{Error, IoContext, Result};
use crate::faults::{Faults, IoPoint};
use crate::files::OpenFiles;
use crate::record::Record;
use crate::segment::{ReadLimits, Segment, data_path, index_path};

/// What a read returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadBatch {
    /// The records, in offset order.
    pub records: Vec<Record>,
    /// Where the next read should start.
    pub next_offset: u64,
}

/// A shard's current extent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardBounds {
    /// Earliest retained offset.
    pub earliest: u64,
    /// Offset the next record will get (one past the last readable record).
    pub next: u64,
    /// For a closed shard, one past its last record.
    pub ending: Option<u64>,
}

/// Where a shard's writer stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TailState {
    pub position: u64,
    pub next_offset: u64,
    pub last_timestamp_ms: i64,
    pub last_indexed: Option<u64>,
    pub last_batch: Option<u64>,
    pub first_timestamp_ms: Option<i64>,
    pub closed: bool,
    /// Base offset of the segment `position` is in.
    pub segment_base: u64,
}

/// The writer's private view of the tail; only the commit thread and recovery touch it.
///
/// `at` (reached through `Deref`) is where the next append goes; it runs ahead of the disk by
/// the rounds being written. `written` is the state after the last round whose writes all
/// succeeded: a round that could not be written (a full disk) puts `at` back there, so the
/// shard stays at its last committed offset and the unwritten bytes are overwritten by the next
/// write. `epoch` counts those roll-backs, so a round prepared before one is not written.
#[derive(Debug)]
pub(crate) struct Tail {
    pub at: TailState,
    pub written: TailState,
    pub epoch: u64,
    /// Why the last roll-back happened, for rounds prepared before it.
    pub rolled_back: Option<Error>,
}

impl std::ops::Deref for Tail {
    type Target = TailState;
    fn deref(&self) -> &TailState {
        &self.at
    }
}

impl std::ops::DerefMut for Tail {
    fn deref_mut(&mut self) -> &mut TailState {
        &mut self.at
    }
}

impl Tail {
    fn new(at: TailState) -> Self {
        Self {
            at,
            written: at,
            epoch: 0,
            rolled_back: None,
        }
    }
}

pub(crate) struct Shard {
    pub stream: String,
    pub id: u32,
    pub dir: PathBuf,
    pub segments: RwLock<Vec<Arc<Segment>>>,
    /// Next committed offset, published after each commit round.
    pub watermark: watch::Sender<u64>,
    /// One past the last record of a closed shard; `u64::MAX` while open.
    ending: AtomicU64,
    poisoned: AtomicBool,
    pub tail: Mutex<Tail>,
    pub file_bytes: u64,
    /// A segment is sealed once it holds this many bytes.
    pub segment_bytes_max: u64,
    pub index_interval_bytes: u64,
    /// The log's cache of open segment files.
    pub files: Arc<OpenFiles>,
    /// Bytes of a segment allocated for real at a time, ahead of the writer (0: sparse).
    pub allocate_step: u64,
    /// The log's injected I/O failures (tests).
    pub faults: Faults,
}

/// Segments one read walks at most.
const SEGMENTS_PER_READ_MAX: usize = 16;

pub(crate) fn shard_dir(root: &Path, stream_id: u64, shard: u32) -> PathBuf {
    root.join("streams")
        .join(stream_id.to_string())
        .join(shard.to_string())
}

pub(crate) fn sync_dir(dir: &Path, faults: &Faults) -> Result<()> {
    let context = || format!("syncing directory {}", dir.display());
    faults
        .check(IoPoint::DirSync)
        .map_err(|source| Error::io(context(), source))?;
    std::fs::File::open(dir)
        .context(|| format!("opening directory {}", dir.display()))?
        .sync_all()
        .map_err(|source| Error::io(context(), source))
}

/// Segment base offsets found in `dir`, ascending.
fn list_segments(dir: &Path) -> Result<Vec<u64>> {
    let mut bases = Vec::new();
    let entries = std::fs::read_dir(dir).context(|| format!("listing {}", dir.display()))?;
    for entry in entries {
        let entry = entry.context(|| format!("listing {}", dir.display()))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(base) = name
            .strip_suffix(".log")
            .and_then(|b| b.parse::<u64>().ok())
        {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    Ok(bases)
}

/// Whether the segment at `base` holds no batch at all (its first length field is zero).
fn segment_is_empty(dir: &Path, base: u64) -> Result<bool> {
    use std::os::unix::fs::FileExt;
    let path = data_path(dir, base);
    let file = std::fs::File::open(&path).context(|| format!("opening {}", path.display()))?;
    let mut first = [0u8; 4];
    match file.read_exact_at(&mut first, 0) {
        Ok(()) => Ok(first == [0; 4]),
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => Ok(true),
        Err(source) => Err(Error::Io {
            context: format!("reading {}", path.display()),
            source,
        }),
    }
}

pub(crate) struct ShardLayout {
    pub stream: String,
    pub id: u32,
    pub dir: PathBuf,
    pub starting_offset: u64,
    pub ending_offset: Option<u64>,
    pub file_bytes: u64,
    pub segment_bytes_max: u64,
    pub index_interval_bytes: u64,
    pub files: Arc<OpenFiles>,
    pub allocate_step: u64,
    pub faults: Faults,
}

impl Shard {
    /// Opens (recovering) or creates the shard in `layout.dir`.
    pub(crate) fn open(layout: ShardLayout) -> Result<Arc<Self>> {
        let ShardLayout {
            stream,
            id,
            dir,
            starting_offset,
            ending_offset,
            file_bytes,
            segment_bytes_max,
            index_interval_bytes,
            files,
            allocate_step,
            faults,
        } = layout;
        std::fs::create_dir_all(&dir).context(|| format!("creating {}", dir.display()))?;
        let mut bases = list_segments(&dir)?;
        let mut segments = Vec::with_capacity(bases.len().max(1));
        let tail;
        match bases.pop() {
            None => {
                let segment = Segment::create(
                    &dir,
                    starting_offset,
                    file_bytes,
                    index_interval_bytes,
                    &files,
                    allocate_step,
                )?;
                sync_dir(&dir, &faults)?;
                tail = Tail::new(TailState {
                    position: 0,
                    next_offset: starting_offset,
                    last_timestamp_ms: i64::MIN,
                    last_indexed: None,
                    last_batch: None,
                    first_timestamp_ms: None,
                    closed: ending_offset.is_some(),
                    segment_base: starting_offset,
                });
                segments.push(Arc::new(segment));
            }
            Some(mut last) => {
                // A crash just after a roll can leave the new segment empty while the rounds
                // that were to fill its predecessor never reached the disk: its base offset
                // would open a gap. An empty last segment with a predecessor is dropped and the
                // predecessor continues as the active segment.
                while let Some(&previous) = bases.last()
                    && segment_is_empty(&dir, last)?
                {
                    tracing::warn!(
                        stream,
                        shard = id,
                        segment = last,
                        "Removing empty segment left by an interrupted roll"
                    );
                    for path in [data_path(&dir, last), index_path(&dir, last)] {
                        match std::fs::remove_file(&path) {
                            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                                return Err(Error::Io {
                                    context: format!("removing {}", path.display()),
                                    source: error,
                                });
                            }
                            _ => {}
                        }
                    }
                    sync_dir(&dir, &faults)?;
                    bases.pop();
                    last = previous;
                }
                for base in bases {
                    segments.push(Arc::new(Segment::open_sealed(
                        &dir,
                        base,
                        index_interval_bytes,
                        &files,
                    )?));
                }
                let (segment, recovery) =
                    Segment::recover_active(&dir, last, file_bytes, index_interval_bytes, &files)?;
                if let Some(cut) = &recovery.cut {
                    tracing::warn!(
                        stream,
                        shard = id,
                        segment = last,
                        cut,
                        "Recovered shard tail"
                    );
                }
                if let Some(previous) = segments.last()
                    && previous.next_offset() != last
                {
                    tracing::error!(
                        stream,
                        shard = id,
                        expected = previous.next_offset(),
                        found = last,
                        "Segments are not contiguous; offsets in the gap are not served"
                    );
                }
                tail = Tail::new(TailState {
                    position: segment.len(),
                    next_offset: segment.next_offset(),
                    last_timestamp_ms: segments
                        .iter()
                        .map(|s| s.max_timestamp_ms())
                        .chain([segment.max_timestamp_ms()])
                        .max()
                        .unwrap_or(i64::MIN),
                    last_indexed: segment.last_index_position(),
                    last_batch: recovery.last_batch,
                    first_timestamp_ms: recovery.first_timestamp_ms,
                    closed: ending_offset.is_some(),
                    segment_base: last,
                });
                segments.push(Arc::new(segment));
            }
        }
        let next = tail.next_offset;
        if let Some(ending) = ending_offset
            && ending != next
        {
            tracing::error!(
                stream,
                shard = id,
                ending,
                next,
                "Closed shard's data ends elsewhere than its catalog says"
            );
        }
        Ok(Arc::new(Self {
            stream,
            id,
            dir,
            segments: RwLock::new(segments),
            watermark: watch::Sender::new(next),
            ending: AtomicU64::new(ending_offset.unwrap_or(u64::MAX)),
            poisoned: AtomicBool::new(false),
            tail: Mutex::new(tail),
            file_bytes,
            segment_bytes_max,
            index_interval_bytes,
            files,
            allocate_step,
            faults,
        }))
    }

    /// Takes a shard closed in memory back to open: a split or merge that closed it could not
    /// create its children. Only while the catalog still has it open.
    pub(crate) fn reopen(&self) {
        let mut tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        tail.at.closed = false;
        tail.written.closed = false;
        self.ending.store(u64::MAX, Ordering::Release);
        if let Some(active) = self
            .segments
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .last()
        {
            active.unseal();
        }
    }

    /// Puts the writer back at its last fully written state after a round for this shard
    /// could not be written: segments created since are removed (they hold nothing written),
    /// and rounds prepared before now are not written ([`Tail::epoch`]).
    pub(crate) fn roll_back(&self, tail: &mut Tail, why: &Error) {
        tail.at = tail.written;
        tail.epoch += 1;
        let first = tail.rolled_back.is_none();
        tail.rolled_back = Some(why.clone_for_reply());
        let mut segments = self.segments.write().unwrap_or_else(|e| e.into_inner());
        while segments.len() > 1
            && segments
                .last()
                .is_some_and(|s| s.base_offset != tail.written.segment_base)
        {
            if let Some(segment) = segments.pop() {
                for path in [&segment.data_path, &segment.index_path] {
                    if let Err(error) = std::fs::remove_file(path) {
                        tracing::warn!(path = %path.display(), %error, "Could not remove an unwritten segment; removed on next open");
                    }
                }
            }
        }
        if first {
            tracing::warn!(stream = %self.stream, shard = self.id, next_offset = tail.at.next_offset, %why, "Round not written; the shard stays at its last committed offset");
        } else {
            tracing::debug!(stream = %self.stream, shard = self.id, %why, "Round not written again");
        }
    }

    /// The earliest retained offset, and the segments from the first one `starts_here` does not
    /// reject (a `partition_point` predicate), at most `count` of them: a read clones only the
    /// handles it can use, not the whole (possibly long) list.
    fn segments_from(
        &self,
        starts_here: impl Fn(&Segment) -> bool,
        count: usize,
    ) -> (Option<u64>, Vec<Arc<Segment>>) {
        let segments = self.segments.read().unwrap_or_else(|e| e.into_inner());
        let earliest = segments.first().map(|segment| segment.base_offset);
        let start = segments.partition_point(|segment| starts_here(segment));
        (
            earliest,
            segments.iter().skip(start).take(count).cloned().collect(),
        )
    }

    /// Deletes the sealed segments whose every record is before `offset` (never the active
    /// one); returns how many. Segments leave the list before their files are unlinked, and a
    /// mapping still in use stays valid, as with retention.
    pub(crate) fn delete_segments_before(&self, offset: u64) -> usize {
        let gone: Vec<Arc<Segment>> = {
            let mut segments = self.segments.write().unwrap_or_else(|e| e.into_inner());
            let mut count = 0;
            while count + 1 < segments.len()
                && segments
                    .get(count)
                    .is_some_and(|s| s.is_sealed() && s.next_offset() <= offset)
            {
                count += 1;
            }
            segments.drain(..count).collect()
        };
        for segment in &gone {
            for path in [&segment.data_path, &segment.index_path] {
                if let Err(error) = std::fs::remove_file(path)
                    && error.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!(path = %path.display(), %error, "Could not delete a compacted segment file");
                }
            }
        }
        gone.len()
    }

    pub(crate) fn committed(&self) -> u64 {
        *self.watermark.borrow()
    }

    pub(crate) fn ending(&self) -> Option<u64> {
        let ending = self.ending.load(Ordering::Acquire);
        (ending != u64::MAX).then_some(ending)
    }

    pub(crate) fn set_ending(&self, ending: u64) {
        self.ending.store(ending, Ordering::Release);
        // Wake tail readers so they see the shard closed.
        self.watermark.send_modify(|_| {});
    }

    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }

    pub(crate) fn poison(&self) {
        if !self.poisoned.swap(true, Ordering::AcqRel) {
            tracing::error!(stream = %self.stream, shard = self.id, "Shard poisoned by an I/O failure; appends refused until reopen");
        }
    }

    pub(crate) fn bounds(&self) -> ShardBounds {
        let next = self.committed();
        let earliest = self
            .segments
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .first()
            .map_or(next, |segment| segment.base_offset);
        ShardBounds {
            earliest,
            next,
            ending: self.ending(),
        }
    }

    pub(crate) fn read(&self, from: u64, limits: ReadLimits) -> Result<ReadBatch> {
        let next = self.committed();
        // The segment holding `from` and the ones after it; a read that needs more than this
        // many segments returns what they hold and the caller continues from `next_offset`.
        let (earliest, segments) = self.segments_from(
            |segment| segment.next_offset() <= from,
            SEGMENTS_PER_READ_MAX,
        );
        let earliest = earliest.unwrap_or(next);
        if from < earliest {
            return Err(Error::Trimmed {
                requested: from,
                earliest,
            });
        }
        if from > next {
            return Err(Error::OffsetBeyondEnd {
                requested: from,
                next,
            });
        }
        let mut out = Vec::new();
        let mut bytes_read = 0usize;
        for segment in &segments {
            let wanted = out.last().map_or(from, |r: &Record| r.offset + 1);
            if wanted >= next {
                break;
            }
            if wanted < segment.base_offset {
                // The previous segment ends before this one starts: its end was damaged.
                if !out.is_empty() {
                    break;
                }
                return Err(Error::Corrupt {
                    path: segment.data_path.clone(),
                    position: 0,
                    reason: format!(
                        "offsets {wanted}..{} are missing before this segment",
                        segment.base_offset
                    ),
                });
            }
            let from_here = wanted;
            if !segment.read_into(from_here, limits, &mut out, &mut bytes_read)? {
                break;
            }
        }
        out.retain(|record| record.offset < next);
        let next_offset = out.last().map_or(from, |record| record.offset + 1);
        Ok(ReadBatch {
            records: out,
            next_offset,
        })
    }

    pub(crate) fn offset_for_timestamp(&self, timestamp_ms: i64) -> Result<u64> {
        let next = self.committed();
        let (_, segments) = self.segments_from(
            |segment| segment.max_timestamp_ms() < timestamp_ms,
            usize::MAX,
        );
        for segment in &segments {
            if let Some(offset) = segment.offset_for_timestamp(timestamp_ms)? {
                return Ok(offset.min(next));
            }
        }
        Ok(next)
    }

    /// Waits until a record at or after `offset` is readable, the shard closes, or `timeout`
    /// passes. Returns true if data (or the shard's end) is there.
    pub(crate) async fn wait_for(&self, offset: u64, timeout: Duration) -> bool {
        let mut receiver = self.watermark.subscribe();
        let ready = |next: u64| next > offset || self.ending().is_some_and(|e| offset >= e);
        if ready(*receiver.borrow_and_update()) {
            return true;
        }
        let wait = async {
            while receiver.changed().await.is_ok() {
                if ready(*receiver.borrow_and_update()) {
                    return true;
                }
            }
            false
        };
        tokio::time::timeout(timeout, wait).await.unwrap_or(false)
    }
}
