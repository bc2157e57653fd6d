//! A segment: one file of consecutive batches, its mapping, and its sparse index.
//!
//! # Design constraints
//!
//! - The data file `<base_offset:020>.log` is created at a fixed size (`segment_bytes_max` plus
//!   one maximal batch) and the active segment is mapped once, whole. Appends never change the
//!   file size, so a mapping never covers bytes past the end of the file and `fdatasync` need
//!   not update the size. Unwritten bytes are zeros, and a zero batch length ends the segment.
//! - Disk is allocated for real with `fallocate`, one `segment_allocate_step_bytes` step at a
//!   time ahead of the writer ([`Segment::reserve`], called before a batch is encoded), so a
//!   full disk is an [`Error::StorageFull`] for that append, before anything is written, and
//!   an idle shard holds one step of disk rather than a whole segment's. Where the filesystem
//!   cannot `fallocate`, the file stays sparse, with a warning, and writes find a full disk.
//! - A sealed segment gives the allocated bytes past its data back (a punched hole, at the seal
//!   or, for one sealed just before a crash, at the next open), so retained segments hold
//!   their data's disk, not a step or a whole small segment's file of zeros.
//! - Nothing reads past the written data through a mapping: recovery and the O(1) open of a
//!   sealed segment read with `pread`, and a sealed segment is mapped only up to its verified
//!   end. So a hole (a sparse file on a full tmpfs) is never faulted in, which would `SIGBUS`.
//! - The active segment's mapping has readahead off (`MADV_RANDOM`): a tail reader faulting
//!   near the written end would otherwise make the kernel read ahead into the unwritten rest
//!   of the file and zero-fill pages the writer then overwrites (a sixth of the server's CPU
//!   under a tailing consumer). A read hints the range it is about to touch (`MADV_WILLNEED`)
//!   instead, so data not in the page cache still arrives in large requests.
//! - No segment keeps a descriptor for itself: sealed segments need none, and the active
//!   segment's files come from the log's bounded cache ([`crate::files::OpenFiles`]).
//! - The index `<base_offset:020>.idx` holds an entry per `index_interval_bytes` of data (and
//!   one for the last batch of a sealed segment). Each entry serves both lookups: by offset
//!   (batch base offsets increase) and by time (arrival timestamps never decrease in a shard).
//!   The index is a cache: it is written after the data, never trusted past the data's verified
//!   end, and rebuilt by scanning when missing or damaged.
//! - Readers see bytes below `len` only, and `len` is published after the bytes are written
//!   (and synced, under `fsync = always`). Every batch served has had its CRC checked.
//!
//! # Index entry layout (little endian, 16 bytes)
//!
//! ```text
//!  0  u32  offset - base_offset   the batch's first record
//!  4  u32  position               byte position of the batch in the data file
//!  8  i64  max_timestamp_ms       the batch's largest arrival timestamp
//! ```

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;

use crate::error::{Error, IoContext, Result};
use crate::files::{OpenFiles, SegmentFiles};
use crate::record::{self, DecodeError, Record, Records};
use crate::sys;

pub(crate) const INDEX_ENTRY_LEN: usize = 16;

/// One sparse index entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub offset: u64,
    pub position: u64,
    pub max_timestamp_ms: i64,
}

impl IndexEntry {
    fn encode(&self, base_offset: u64) -> [u8; INDEX_ENTRY_LEN] {
        let mut out = [0u8; INDEX_ENTRY_LEN];
        let relative = u32::try_from(self.offset - base_offset).unwrap_or(u32::MAX);
        let position = u32::try_from(self.position).unwrap_or(u32::MAX);
        out[..4].copy_from_slice(&relative.to_le_bytes());
        out[4..8].copy_from_slice(&position.to_le_bytes());
        out[8..].copy_from_slice(&self.max_timestamp_ms.to_le_bytes());
        out
    }

    fn decode(raw: &[u8], base_offset: u64) -> Option<Self> {
        let relative = u32::from_le_bytes(raw.get(..4)?.try_into().ok()?);
        let position = u32::from_le_bytes(raw.get(4..8)?.try_into().ok()?);
        let max_timestamp_ms = i64::from_le_bytes(raw.get(8..16)?.try_into().ok()?);
        Some(Self {
            offset: base_offset + u64::from(relative),
            position: u64::from(position),
            max_timestamp_ms,
        })
    }
}

/// Limits on one read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadLimits {
    /// At most this many records.
    pub records_max: usize,
    /// At most this many bytes of keys and data (at least one record is returned if any).
    pub bytes_max: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            records_max: 10_000,
            bytes_max: 10 * 1024 * 1024,
        }
    }
}

/// What a scan of a segment found.
#[derive(Debug)]
pub(crate) struct ScanEnd {
    /// Byte position just past the last good batch.
    pub valid_end: u64,
    /// Offset just past the last good batch.
    pub next_offset: u64,
    /// Largest timestamp seen, or `i64::MIN`.
    pub max_timestamp_ms: i64,
    /// Position of the last good batch.
    pub last_batch: Option<u64>,
    /// Why the scan stopped when it was not a clean end.
    pub torn: Option<String>,
    /// The bytes ran out inside a batch (or before an end marker) and they were not the whole
    /// input: the caller reads on and continues from `valid_end`.
    pub short: bool,
}

pub(crate) fn data_path(dir: &Path, base_offset: u64) -> PathBuf {
    dir.join(format!("{base_offset:020}.log"))
}

pub(crate) fn index_path(dir: &Path, base_offset: u64) -> PathBuf {
    dir.join(format!("{base_offset:020}.idx"))
}

/// Where a scan looks: `bytes` holds the segment's bytes from file position `base` on, and
/// `complete` says whether they run to the end of the file (else a batch cut off by the end of
/// `bytes` is reported as [`ScanEnd::short`], not as a torn tail).
#[derive(Clone, Copy)]
pub(crate) struct Window<'a> {
    pub bytes: &'a [u8],
    pub base: u64,
    pub complete: bool,
}

impl<'a> Window<'a> {
    /// All of a segment's bytes, from position 0.
    pub(crate) fn whole(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            base: 0,
            complete: true,
        }
    }

    fn from(&self, position: u64) -> &'a [u8] {
        position
            .checked_sub(self.base)
            .and_then(|at| self.bytes.get(at as usize..))
            .unwrap_or_default()
    }
}

/// Walks the batches of `window` from `position`, verifying each CRC, and appends an index entry
/// every `interval` bytes. A batch that fails its CRC but is followed by a good batch with the
/// offsets it claims is damage in the middle: it is skipped (reads of it fail) and the scan goes
/// on. Anything else that is not a good batch ends the scan.
pub(crate) fn scan(
    window: Window<'_>,
    mut position: u64,
    mut next_offset: u64,
    interval: u64,
    entries: &mut Vec<IndexEntry>,
) -> ScanEnd {
    let mut end = ScanEnd {
        valid_end: position,
        next_offset,
        max_timestamp_ms: i64::MIN,
        last_batch: None,
        torn: None,
        short: false,
    };
    let mut last_indexed = entries.last().map(|entry| entry.position);
    loop {
        let rest = window.from(position);
        let header = match record::decode_batch(rest) {
            Ok(header) if header.base_offset == next_offset => header,
            Ok(header) => {
                end.torn = Some(format!(
                    "batch at byte {position} starts at offset {} instead of {next_offset}",
                    header.base_offset
                ));
                return end;
            }
            Err(DecodeError::End) => return end,
            Err(DecodeError::Incomplete { .. }) if !window.complete => {
                end.short = true;
                return end;
            }
            Err(DecodeError::Incomplete { have: 0, .. }) => return end,
            Err(error) => match resync(rest, next_offset) {
                Some(skip) => {
                    tracing::error!(
                        position,
                        damaged_bytes = skip,
                        first_offset = next_offset,
                        %error,
                        "Damaged bytes inside a segment; their records will not be served"
                    );
                    // The good batch after the damage starts a new indexed run.
                    position += skip;
                    last_indexed = None;
                    let rest = window.from(position);
                    match record::decode_batch(rest) {
                        Ok(header) => header,
                        Err(_) => return end,
                    }
                }
                None => {
                    end.torn = Some(format!("{error} at byte {position}"));
                    return end;
                }
            },
        };
        if last_indexed.is_none_or(|at| position - at >= interval) {
            entries.push(IndexEntry {
                offset: header.base_offset,
                position,
                max_timestamp_ms: header.max_timestamp_ms,
            });
            last_indexed = Some(position);
        }
        end.last_batch = Some(position);
        position += u64::from(header.batch_len);
        next_offset = header.next_offset();
        end.valid_end = position;
        end.next_offset = next_offset;
        end.max_timestamp_ms = end.max_timestamp_ms.max(header.max_timestamp_ms);
    }
}

/// After bytes at the start of `rest` that are not a good batch (and not the zero end marker),
/// finds the next good batch: one whose CRC checks and whose base offset is past
/// `next_offset`. Its distance from the start of `rest` is returned; `None` means nothing good
/// follows, which is a torn tail. Recovery zeroes everything past a segment's verified end, so
/// a good batch found here is genuine later data, not a leftover of an earlier torn write.
///
/// The damaged batch's own header usually says where its successor is; when that header is the
/// damaged part, every later position is tried (cheap: a version byte and a length are checked
/// before any CRC), which only happens for real damage.
fn resync(rest: &[u8], next_offset: u64) -> Option<u64> {
    let good_after = |at: usize| {
        let candidate = rest.get(at..)?;
        let header = record::decode_batch(candidate).ok()?;
        (header.base_offset > next_offset).then_some(at as u64)
    };
    if let Ok(header) = record::decode_header(rest)
        && let Some(found) = good_after(header.batch_len as usize)
    {
        return Some(found);
    }
    // The version byte sits 8 bytes into a header: look for it first.
    let version_at = 8;
    (1..rest.len().saturating_sub(record::BATCH_HEADER_LEN))
        .filter(|at| rest.get(at + version_at) == Some(&record::BATCH_VERSION))
        .find_map(good_after)
}

/// Bytes a recovery scan reads at a time: the tail after the last index entry is usually
/// smaller, so one `pread` covers it.
const SCAN_WINDOW_BYTES: u64 = 256 * 1024;

fn read_at(file: &File, position: u64, len: u64, path: &Path) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
    file.read_exact_at(&mut buf, position)
        .context(|| format!("reading {}", path.display()))?;
    Ok(buf)
}

/// [`scan`] over a file read with `pread`, window by window, from `position` up to `file_len`:
/// never through a mapping, so holes past the written data are never faulted in. Only what the
/// scan needs is read: the tail from the last index entry, or, past damage, the rest of the file
/// (the scan looks for good batches after it).
pub(crate) fn scan_file(
    file: &File,
    path: &Path,
    file_len: u64,
    position: u64,
    next_offset: u64,
    interval: u64,
    entries: &mut Vec<IndexEntry>,
) -> Result<ScanEnd> {
    let mut total = ScanEnd {
        valid_end: position,
        next_offset,
        max_timestamp_ms: i64::MIN,
        last_batch: None,
        torn: None,
        short: false,
    };
    let mut want = SCAN_WINDOW_BYTES.max(interval.saturating_mul(2));
    loop {
        let start = total.valid_end;
        let end = file_len.min(start.saturating_add(want));
        let buf = read_at(file, start, end.saturating_sub(start), path)?;
        let window = Window {
            bytes: &buf,
            base: start,
            complete: end >= file_len,
        };
        let found = scan(window, start, total.next_offset, interval, entries);
        total.valid_end = found.valid_end;
        total.next_offset = found.next_offset;
        total.max_timestamp_ms = total.max_timestamp_ms.max(found.max_timestamp_ms);
        total.last_batch = found.last_batch.or(total.last_batch);
        total.torn = found.torn;
        if window.complete || (!found.short && total.torn.is_none()) {
            return Ok(total);
        }
        want = if total.torn.is_some() {
            // Damage: whether good batches follow it depends on the rest of the file.
            file_len - total.valid_end
        } else {
            // A batch runs past the window: read it whole, and the next header with it.
            let needed = record::decode_header(window.from(total.valid_end))
                .map_or(0, |header| u64::from(header.batch_len));
            SCAN_WINDOW_BYTES.max(needed + record::BATCH_HEADER_LEN as u64)
        };
        total.torn = None;
    }
}

/// What recovering the active segment found.
pub(crate) struct Recovery {
    /// A description of the torn tail that was cut off, if any.
    pub cut: Option<String>,
    /// Position of the last good batch.
    pub last_batch: Option<u64>,
    /// Arrival time of the segment's first record.
    pub first_timestamp_ms: Option<i64>,
}

/// How many leading `entries` point at a batch header with their offset and timestamp.
fn matching_prefix(data: &[u8], entries: &[IndexEntry]) -> usize {
    entries
        .iter()
        .take_while(|entry| {
            let at = data.get(entry.position as usize..).unwrap_or_default();
            record::decode_header(at).is_ok_and(|h| {
                h.base_offset == entry.offset && h.max_timestamp_ms == entry.max_timestamp_ms
            })
        })
        .count()
}

/// Gives every segment of the process an identity for the open-files cache.
static SEGMENT_IDS: AtomicU64 = AtomicU64::new(0);

/// Warns once per process that segment files cannot be preallocated.
static SPARSE_WARNED: AtomicBool = AtomicBool::new(false);

/// One segment of a shard.
pub(crate) struct Segment {
    /// Key of this segment's files in `files`.
    id: u64,
    pub base_offset: u64,
    pub data_path: PathBuf,
    pub index_path: PathBuf,
    /// The log's cache of open segment files.
    files: Arc<OpenFiles>,
    /// The mapping (the whole file while active, the verified data once sealed), shared by
    /// every record read from it.
    data: Bytes,
    /// Committed bytes: readers never look past this.
    len: AtomicU64,
    /// Bytes from the start allocated for real (only the commit thread grows it).
    allocated: AtomicU64,
    /// Offset just past the last committed record.
    next_offset: AtomicU64,
    max_timestamp_ms: AtomicI64,
    /// `None` until a sealed segment's index is first needed.
    index: RwLock<Option<Vec<IndexEntry>>>,
    sealed: AtomicBool,
    index_interval_bytes: u64,
}

struct MapOwner(memmap2::Mmap);

impl AsRef<[u8]> for MapOwner {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// How to open a segment's file.
#[derive(Clone, Copy)]
enum Open {
    /// It must exist.
    Existing,
    /// Create it, or empty it.
    Fresh,
}

fn open_file(path: &Path, how: Open) -> Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true);
    match how {
        Open::Existing => {}
        Open::Fresh => {
            options.create(true).truncate(true);
        }
    }
    options
        .open(path)
        .context(|| format!("opening {}", path.display()))
}

/// Where a segment's committed data ends.
#[derive(Clone, Copy)]
struct Extent {
    len: u64,
    next_offset: u64,
    max_timestamp_ms: i64,
}

/// Maps `len` bytes of `file`; an `active` segment's mapping (the whole file, mostly not yet
/// written) reads without readahead ([`sys::advise_random`]).
fn map(file: &File, len: u64, path: &Path, active: bool) -> Result<Bytes> {
    if len == 0 {
        return Ok(Bytes::new());
    }
    let mapping = sys::map_file(file, len).context(|| format!("mapping {}", path.display()))?;
    if active {
        sys::advise_random(&mapping);
    }
    Ok(Bytes::from_owner(MapOwner(mapping)))
}

fn read_index_file(path: &Path, base_offset: u64) -> Vec<IndexEntry> {
    let Ok(raw) = std::fs::read(path) else {
        return Vec::new();
    };
    raw.chunks_exact(INDEX_ENTRY_LEN)
        .map_while(|chunk| IndexEntry::decode(chunk, base_offset))
        .collect()
}

/// Keeps the longest prefix of `entries` that is strictly increasing and inside `len`.
fn valid_prefix(entries: &mut Vec<IndexEntry>, base_offset: u64, len: u64) {
    let mut keep = 0;
    let mut previous: Option<IndexEntry> = None;
    for entry in entries.iter() {
        let ordered = previous.is_none_or(|p| {
            entry.offset > p.offset
                && entry.position > p.position
                && entry.max_timestamp_ms >= p.max_timestamp_ms
        });
        if !ordered || entry.offset < base_offset || entry.position >= len {
            break;
        }
        previous = Some(*entry);
        keep += 1;
    }
    entries.truncate(keep);
}

/// The extent of a sealed segment from its index's last entry, read with `pread`: that entry
/// must point at a good batch followed by the zero end marker (or the end of the file).
fn adopt_index_tail(
    file: &File,
    path: &Path,
    file_len: u64,
    index_path: &Path,
    base_offset: u64,
) -> Option<Extent> {
    let index = File::open(index_path).ok()?;
    let count = index.metadata().ok()?.len() / INDEX_ENTRY_LEN as u64;
    let mut raw = [0u8; INDEX_ENTRY_LEN];
    index
        .read_exact_at(&mut raw, count.checked_sub(1)? * INDEX_ENTRY_LEN as u64)
        .ok()?;
    let last = IndexEntry::decode(&raw, base_offset)?;
    let header_len = record::BATCH_HEADER_LEN as u64;
    if last.position.checked_add(header_len)? > file_len {
        return None;
    }
    let head = read_at(file, last.position, header_len, path).ok()?;
    let batch_len = u64::from(record::decode_header(&head).ok()?.batch_len);
    let end = last.position.checked_add(batch_len)?;
    if end > file_len {
        return None;
    }
    // The batch and the 4-byte length after it (the end marker), if the file has them.
    let marker = 4.min(file_len - end);
    let bytes = read_at(file, last.position, batch_len + marker, path).ok()?;
    let header = record::decode_batch(&bytes).ok()?;
    let after = bytes.get(batch_len as usize..).unwrap_or_default();
    let clean_end =
        after.is_empty() || matches!(record::decode_header(after), Err(DecodeError::End));
    (header.base_offset == last.offset && clean_end).then(|| Extent {
        len: end,
        next_offset: header.next_offset(),
        max_timestamp_ms: header.max_timestamp_ms,
    })
}

/// Indexes a sealed segment by scanning it (with `pread`), the last batch always indexed.
fn rebuild_index(
    file: &File,
    path: &Path,
    file_len: u64,
    base_offset: u64,
    index_interval_bytes: u64,
) -> Result<(Extent, Vec<IndexEntry>)> {
    let mut entries = Vec::new();
    let end = scan_file(
        file,
        path,
        file_len,
        0,
        base_offset,
        index_interval_bytes,
        &mut entries,
    )?;
    if let Some(reason) = &end.torn {
        tracing::error!(
            segment = %path.display(),
            valid_bytes = end.valid_end,
            reason,
            "Sealed segment ends early; records past the damage are not served"
        );
    }
    if let Some(last) = end.last_batch
        && entries.last().is_none_or(|entry| entry.position != last)
    {
        let head = read_at(file, last, record::BATCH_HEADER_LEN as u64, path)?;
        if let Ok(header) = record::decode_header(&head) {
            entries.push(IndexEntry {
                offset: header.base_offset,
                position: last,
                max_timestamp_ms: header.max_timestamp_ms,
            });
        }
    }
    let extent = Extent {
        len: end.valid_end,
        next_offset: end.next_offset,
        max_timestamp_ms: end.max_timestamp_ms,
    };
    Ok((extent, entries))
}

/// Replaces the index file's contents with `entries`.
fn rewrite_index_file(path: &Path, base_offset: u64, entries: &[IndexEntry]) -> Result<()> {
    let mut raw = Vec::with_capacity(entries.len() * INDEX_ENTRY_LEN);
    for entry in entries {
        raw.extend_from_slice(&entry.encode(base_offset));
    }
    let file = open_file(path, Open::Fresh)?;
    file.write_all_at(&raw, 0)
        .context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Empty segment state.
fn empty_extent(base_offset: u64) -> Extent {
    Extent {
        len: 0,
        next_offset: base_offset,
        max_timestamp_ms: i64::MIN,
    }
}

/// Allocates `offset..end` of `file` (already sized) for real where the filesystem can.
/// Returns whether it could; a filesystem without `fallocate` keeps the file sparse.
fn allocate(file: &File, offset: u64, end: u64, path: &Path) -> Result<bool> {
    match sys::allocate(file, offset, end.saturating_sub(offset)) {
        Ok(()) => Ok(true),
        Err(error) if error.raw_os_error() == Some(libc::EOPNOTSUPP) => {
            if !SPARSE_WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    segment = %path.display(),
                    "The filesystem cannot preallocate (fallocate); segment files are sparse, \
                     so a full disk is found by writes"
                );
            }
            Ok(false)
        }
        Err(error) => Err(Error::from_io(
            format!("allocating {}", path.display()),
            error,
        )),
    }
}

/// The unit in which the tail of a sealed segment is given back.
const PAGE_BYTES: u64 = 4096;

/// Gives `from..end` of a segment file back to the filesystem (a hole, read as zeros); returns
/// whether it did. A filesystem that cannot punch holes keeps the blocks, and any other
/// failure only costs the space.
fn release(file: &File, from: u64, end: u64, path: &Path) -> bool {
    match sys::release(file, from, end.saturating_sub(from)) {
        Ok(()) => true,
        Err(error) if error.raw_os_error() == Some(libc::EOPNOTSUPP) => false,
        Err(error) => {
            tracing::warn!(
                segment = %path.display(),
                %error,
                "Could not release the unused tail of a sealed segment"
            );
            false
        }
    }
}

fn remove_quietly(path: &Path) {
    if let Err(error) = std::fs::remove_file(path)
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), %error, "Could not remove a half-made segment file");
    }
}

impl Segment {
    /// Creates an empty segment file at its full size, with an empty index. With an
    /// `allocate_step`, its first `allocate_step` bytes are allocated for real, and
    /// [`Self::reserve`] allocates further steps ahead of the writer as it fills; zero leaves it
    /// sparse. On any failure (a full disk is [`Error::StorageFull`]) both files are removed
    /// again.
    pub(crate) fn create(
        dir: &Path,
        base_offset: u64,
        file_bytes: u64,
        index_interval_bytes: u64,
        files: &Arc<OpenFiles>,
        allocate_step: u64,
    ) -> Result<Self> {
        let path = data_path(dir, base_offset);
        let index_path = index_path(dir, base_offset);
        let made = (|| {
            let file = open_file(&path, Open::Fresh)?;
            file.set_len(file_bytes)
                .context(|| format!("sizing {}", path.display()))?;
            let allocated = if allocate_step == 0 {
                file_bytes
            } else {
                let end = allocate_step.min(file_bytes);
                if allocate(&file, 0, end, &path)? {
                    end
                } else {
                    file_bytes
                }
            };
            let index = open_file(&index_path, Open::Fresh)?;
            let data = map(&file, file_bytes, &path, true)?;
            Ok((file, index, data, allocated))
        })();
        let (file, index, data, allocated) = match made {
            Ok(made) => made,
            Err(error) => {
                remove_quietly(&path);
                remove_quietly(&index_path);
                return Err(error);
            }
        };
        let segment = Self::assemble(
            dir,
            base_offset,
            data,
            (empty_extent(base_offset), Some(Vec::new()), false),
            index_interval_bytes,
            files,
        );
        segment.allocated.store(allocated, Ordering::Relaxed);
        files.insert(segment.id, SegmentFiles { data: file, index });
        Ok(segment)
    }

    /// Makes sure the bytes below `end` are allocated, allocating whole steps of
    /// `allocate_step` bytes ahead (at most up to the file's size). Called by the commit thread
    /// before it encodes a batch for this segment, so a full disk fails that append alone, as
    /// [`Error::StorageFull`], before anything is written. Step by step rather than whole
    /// segments, so an idle shard holds one step of disk, not a segment's worth.
    /// Bytes of the data file allocated for real so far.
    pub(crate) fn allocated_bytes(&self) -> u64 {
        self.allocated.load(Ordering::Relaxed)
    }

    pub(crate) fn reserve(&self, end: u64, allocate_step: u64) -> Result<()> {
        let allocated = self.allocated.load(Ordering::Relaxed);
        if end <= allocated || allocate_step == 0 {
            return Ok(());
        }
        let file_bytes = self.data.len() as u64;
        let target = end
            .div_ceil(allocate_step)
            .saturating_mul(allocate_step)
            .min(file_bytes)
            .max(end.min(file_bytes));
        let files = self.files()?;
        let done = if allocate(&files.data, allocated, target, &self.data_path)? {
            target
        } else {
            file_bytes
        };
        self.allocated.store(done, Ordering::Relaxed);
        Ok(())
    }

    fn assemble(
        dir: &Path,
        base_offset: u64,
        data: Bytes,
        (extent, index, sealed): (Extent, Option<Vec<IndexEntry>>, bool),
        index_interval_bytes: u64,
        files: &Arc<OpenFiles>,
    ) -> Self {
        Self {
            id: SEGMENT_IDS.fetch_add(1, Ordering::Relaxed),
            base_offset,
            data_path: data_path(dir, base_offset),
            index_path: index_path(dir, base_offset),
            files: files.clone(),
            data,
            len: AtomicU64::new(extent.len),
            // Written bytes are allocated; the writer reserves what lies beyond.
            allocated: AtomicU64::new(extent.len),
            next_offset: AtomicU64::new(extent.next_offset),
            max_timestamp_ms: AtomicI64::new(extent.max_timestamp_ms),
            index: RwLock::new(index),
            sealed: AtomicBool::new(sealed),
            index_interval_bytes,
        }
    }

    /// This segment's open files, from the cache (reopened if they were evicted).
    pub(crate) fn files(&self) -> Result<Arc<SegmentFiles>> {
        self.files.get(self.id, &self.data_path, &self.index_path)
    }

    /// Opens a sealed segment in O(1): its length comes from the last index entry, which must
    /// point at a good batch followed by the zero end marker (read with `pread`). Otherwise the
    /// index is rebuilt. Only the verified data is mapped, and no descriptor is kept.
    pub(crate) fn open_sealed(
        dir: &Path,
        base_offset: u64,
        index_interval_bytes: u64,
        files: &Arc<OpenFiles>,
    ) -> Result<Self> {
        let path = data_path(dir, base_offset);
        let file = open_file(&path, Open::Existing)?;
        let file_len = file
            .metadata()
            .context(|| format!("stat {}", path.display()))?
            .len();
        let index_path = index_path(dir, base_offset);
        let (extent, entries) =
            match adopt_index_tail(&file, &path, file_len, &index_path, base_offset) {
                Some(extent) => (extent, None),
                None => {
                    tracing::warn!(segment = %path.display(), "Rebuilding segment index");
                    let (extent, entries) =
                        rebuild_index(&file, &path, file_len, base_offset, index_interval_bytes)?;
                    rewrite_index_file(&index_path, base_offset, &entries)?;
                    (extent, Some(entries))
                }
            };
        // A segment sealed in the moments before a crash may still hold its allocated tail.
        let from = extent.len.div_ceil(PAGE_BYTES) * PAGE_BYTES;
        let held = file
            .metadata()
            .map_or(0, |metadata| metadata.blocks().saturating_mul(512));
        if held > from + PAGE_BYTES {
            release(&file, from, file_len, &path);
        }
        let data = map(&file, extent.len, &path, false)?;
        Ok(Self::assemble(
            dir,
            base_offset,
            data,
            (extent, entries, true),
            index_interval_bytes,
            files,
        ))
    }

    /// Recovers the active (last) segment of a shard: reads the tail with `pread` from the last
    /// trustworthy index entry, cuts a torn tail off (restoring the zeros past it), and returns
    /// the segment with the description of what was cut. Reads nothing before the last index
    /// entry, writes the index only if it changed, and keeps no descriptor open.
    pub(crate) fn recover_active(
        dir: &Path,
        base_offset: u64,
        file_bytes: u64,
        index_interval_bytes: u64,
        files: &Arc<OpenFiles>,
    ) -> Result<(Self, Recovery)> {
        let data_path = data_path(dir, base_offset);
        let index_path = index_path(dir, base_offset);
        let file = open_file(&data_path, Open::Existing)?;
        let file_len = file
            .metadata()
            .context(|| format!("stat {}", data_path.display()))?
            .len();
        let mapped_len = file_len.max(file_bytes);
        if file_len < mapped_len {
            file.set_len(mapped_len)
                .context(|| format!("sizing {}", data_path.display()))?;
        }
        let original = read_index_file(&index_path, base_offset);
        let mut entries = original.clone();
        valid_prefix(&mut entries, base_offset, mapped_len);
        let scan_end = loop {
            let (start, next) = match entries.last() {
                None => (0, base_offset),
                Some(entry) => (entry.position, entry.offset),
            };
            let from_entry = entries.pop();
            let mut scanned = Vec::new();
            let end = scan_file(
                &file,
                &data_path,
                mapped_len,
                start,
                next,
                index_interval_bytes,
                &mut scanned,
            )?;
            let anchored = from_entry.is_none()
                || end.last_batch.is_some()
                    && scanned
                        .first()
                        .is_some_and(|first| Some(*first) == from_entry);
            if anchored {
                entries.extend(scanned);
                break end;
            }
            // The entry pointed at no good batch (or at one of another time): distrust it and
            // try the one before.
        };
        let mut cut = None;
        if let Some(reason) = &scan_end.torn {
            let dropped = scan_end.valid_end;
            cut = Some(format!("truncated torn tail at byte {dropped}: {reason}"));
            file.set_len(scan_end.valid_end)
                .context(|| format!("truncating {}", data_path.display()))?;
            // Back to its full size, sparse past the cut: the writer allocates steps ahead of
            // itself again (`reserve`) before it writes there.
            file.set_len(mapped_len)
                .context(|| format!("sizing {}", data_path.display()))?;
            file.sync_all()
                .map_err(|source| Error::io(format!("syncing {}", data_path.display()), source))?;
        }
        if entries != original {
            rewrite_index_file(&index_path, base_offset, &entries)?;
        }
        let first_timestamp_ms = if scan_end.valid_end > 0 {
            let header = read_at(&file, 0, record::BATCH_HEADER_LEN as u64, &data_path)?;
            record::decode_header(&header)
                .ok()
                .map(|header| header.first_timestamp_ms)
        } else {
            None
        };
        let extent = Extent {
            len: scan_end.valid_end,
            next_offset: scan_end.next_offset,
            max_timestamp_ms: scan_end.max_timestamp_ms,
        };
        let data = map(&file, mapped_len, &data_path, true)?;
        let segment = Self::assemble(
            dir,
            base_offset,
            data,
            (extent, Some(entries), false),
            index_interval_bytes,
            files,
        );
        Ok((
            segment,
            Recovery {
                cut,
                last_batch: scan_end.last_batch,
                first_timestamp_ms,
            },
        ))
    }

    pub(crate) fn len(&self) -> u64 {
        self.len.load(Ordering::Acquire)
    }

    pub(crate) fn next_offset(&self) -> u64 {
        self.next_offset.load(Ordering::Acquire)
    }

    pub(crate) fn max_timestamp_ms(&self) -> i64 {
        self.max_timestamp_ms.load(Ordering::Acquire)
    }

    pub(crate) fn is_sealed(&self) -> bool {
        self.sealed.load(Ordering::Acquire)
    }

    /// Position of the last index entry, if any (the writer continues from it).
    pub(crate) fn last_index_position(&self) -> Option<u64> {
        self.with_index(|entries| entries.last().map(|entry| entry.position))
    }

    fn with_index<T>(&self, f: impl FnOnce(&[IndexEntry]) -> T) -> T {
        {
            let guard = self.index.read().unwrap_or_else(|e| e.into_inner());
            if let Some(entries) = guard.as_ref() {
                return f(entries);
            }
        }
        let mut guard = self.index.write().unwrap_or_else(|e| e.into_inner());
        let entries = guard.get_or_insert_with(|| self.load_index());
        f(entries)
    }

    /// Reads the index file, keeps the entries that agree with the data, and indexes the rest
    /// of the segment by scanning from the last good entry.
    fn load_index(&self) -> Vec<IndexEntry> {
        let len = self.len();
        let data = self.data.get(..len as usize).unwrap_or_default();
        let mut entries = read_index_file(&self.index_path, self.base_offset);
        let found = entries.len();
        valid_prefix(&mut entries, self.base_offset, len);
        entries.truncate(matching_prefix(data, &entries));
        let complete = entries.len() == found
            && entries.last().is_some_and(|last| {
                record::decode_header(data.get(last.position as usize..).unwrap_or_default())
                    .is_ok_and(|h| last.position + u64::from(h.batch_len) == len)
            });
        if !complete {
            let (start, next) = entries
                .pop()
                .map_or((0, self.base_offset), |e| (e.position, e.offset));
            scan(
                Window::whole(data),
                start,
                next,
                self.index_interval_bytes,
                &mut entries,
            );
            tracing::warn!(segment = %self.index_path.display(), "Rebuilt segment index");
            if let Err(error) = rewrite_index_file(&self.index_path, self.base_offset, &entries) {
                tracing::warn!(%error, "Could not rewrite the index; it is rebuilt again next time");
            }
        }
        entries
    }

    /// Makes written bytes visible: records the index entries, then publishes the new length.
    pub(crate) fn publish(
        &self,
        len: u64,
        next_offset: u64,
        max_timestamp_ms: i64,
        entries: &[IndexEntry],
    ) {
        if !entries.is_empty() {
            let mut guard = self.index.write().unwrap_or_else(|e| e.into_inner());
            // An index dropped as untrustworthy is reloaded (and verified) first, so the new
            // entries land after the good ones in the file too.
            let index = guard.get_or_insert_with(|| self.load_index());
            let mut raw = Vec::with_capacity(entries.len() * INDEX_ENTRY_LEN);
            for entry in entries {
                raw.extend_from_slice(&entry.encode(self.base_offset));
            }
            let at = (index.len() * INDEX_ENTRY_LEN) as u64;
            // The index is a cache of the data: a failed write only costs a rebuild later.
            let written = self.files().and_then(|files| {
                files
                    .index
                    .write_all_at(&raw, at)
                    .context(|| format!("writing {}", self.index_path.display()))
            });
            if let Err(error) = written {
                tracing::warn!(segment = %self.index_path.display(), %error, "Index write failed");
            }
            index.extend_from_slice(entries);
        }
        self.max_timestamp_ms
            .fetch_max(max_timestamp_ms, Ordering::AcqRel);
        self.next_offset.store(next_offset, Ordering::Release);
        self.len.store(len, Ordering::Release);
    }

    /// Marks the segment sealed: indexes its last batch and syncs the index.
    pub(crate) fn seal(&self, last_batch: Option<u64>) -> Result<()> {
        if let Some(position) = last_batch
            && self.last_index_position() != Some(position)
        {
            let header =
                record::decode_header(self.data.get(position as usize..).unwrap_or_default());
            if let Ok(header) = header {
                let entry = IndexEntry {
                    offset: header.base_offset,
                    position,
                    max_timestamp_ms: header.max_timestamp_ms,
                };
                self.publish(
                    self.len(),
                    self.next_offset(),
                    header.max_timestamp_ms,
                    &[entry],
                );
            }
        }
        self.sync_index()?;
        self.release_tail();
        self.sealed.store(true, Ordering::Release);
        // A sealed segment needs no descriptor: reads use the mapping, deletion the path.
        self.files.forget(self.id);
        Ok(())
    }

    /// Gives the disk allocated past the written bytes back: a segment file is made with room
    /// for a whole segment plus one maximal batch and allocated a step ahead of the writer, so
    /// a sealed one would otherwise hold up to a step (or, with small segments, most of its
    /// file) of zeros for as long as it is retained. Nothing is ever read there.
    fn release_tail(&self) {
        let from = self.len().div_ceil(PAGE_BYTES) * PAGE_BYTES;
        let allocated = self.allocated.load(Ordering::Relaxed);
        if allocated <= from {
            return;
        }
        match self.files() {
            // An unsealed segment allocates what it writes past `from` again (`reserve`).
            Ok(files) => {
                if release(&files.data, from, allocated, &self.data_path) {
                    self.allocated.store(from, Ordering::Relaxed);
                }
            }
            Err(error) => tracing::warn!(
                segment = %self.data_path.display(),
                %error,
                "Could not release the unused tail of a sealed segment"
            ),
        }
    }

    /// Takes a sealed segment back as the active one (a split or merge that could not finish
    /// reopens its parents).
    pub(crate) fn unseal(&self) {
        self.sealed.store(false, Ordering::Release);
    }

    pub(crate) fn sync_index(&self) -> Result<()> {
        self.files()?
            .index
            .sync_data()
            .map_err(|source| Error::io(format!("syncing {}", self.index_path.display()), source))
    }

    fn corrupt(&self, position: u64, reason: impl Into<String>) -> Error {
        Error::Corrupt {
            path: self.data_path.clone(),
            position,
            reason: reason.into(),
        }
    }

    /// Where to start scanning for `offset`.
    fn position_for_offset(&self, offset: u64) -> (u64, u64) {
        self.with_index(|entries| {
            let at = entries.partition_point(|entry| entry.offset <= offset);
            at.checked_sub(1)
                .and_then(|i| entries.get(i))
                .map_or((0, self.base_offset), |entry| {
                    (entry.position, entry.offset)
                })
        })
    }

    /// Appends records from `from` on to `out`, within `limits` (counting what `out` holds).
    /// Returns true when the segment's committed end was reached.
    pub(crate) fn read_into(
        &self,
        from: u64,
        limits: ReadLimits,
        out: &mut Vec<Record>,
        bytes_read: &mut usize,
    ) -> Result<bool> {
        let len = self.len();
        let (mut position, mut expected) = self.position_for_offset(from);
        let data = self.data.slice(..(len as usize).min(self.data.len()));
        // What this read will touch, at most: the pages are read ahead (if not cached) in one
        // request rather than faulted in one by one.
        let ahead = limits
            .bytes_max
            .saturating_add(2 * record::BATCH_HEADER_LEN);
        sys::will_need(
            data.get(position as usize..)
                .map(|rest| rest.get(..ahead.min(rest.len())).unwrap_or(rest))
                .unwrap_or_default(),
        );
        // A position taken from the index is checked before it is relied on.
        let mut trusted = position == 0;
        while position < len {
            let rest = data.get(position as usize..).unwrap_or_default();
            let header = record::decode_header(rest);
            let consistent = matches!(&header, Ok(h) if h.base_offset == expected);
            if !consistent && !trusted {
                tracing::warn!(segment = %self.data_path.display(), "Index disagrees with data; rescanning");
                // Reloading the index verifies every entry against the data and rebuilds it.
                *self.index.write().unwrap_or_else(|e| e.into_inner()) = None;
                position = 0;
                expected = self.base_offset;
                trusted = true;
                continue;
            }
            trusted = true;
            let header = match header {
                Ok(header) if header.base_offset == expected => header,
                // Damage after some good records: hand those out; the next read reports it.
                _ if !out.is_empty() => return Ok(false),
                Ok(_) => return Err(self.corrupt(position, "offset discontinuity")),
                Err(error) => return Err(self.corrupt(position, error.to_string())),
            };
            let batch_end = position + u64::from(header.batch_len);
            if batch_end > len {
                if !out.is_empty() {
                    return Ok(false);
                }
                return Err(self.corrupt(position, "batch extends past the committed end"));
            }
            if header.next_offset() > from {
                if out.len() >= limits.records_max || *bytes_read >= limits.bytes_max {
                    return Ok(false);
                }
                if let Err(error) = record::decode_batch(rest) {
                    if out.is_empty() {
                        return Err(self.corrupt(position, error.to_string()));
                    }
                    return Ok(false);
                }
                let batch = data.slice(position as usize..batch_end as usize);
                for record in Records::new(&header, batch) {
                    let record = record.map_err(|e| self.corrupt(position, e.to_string()))?;
                    if record.offset < from {
                        continue;
                    }
                    let size = record.data.len() + record.key.len();
                    if !out.is_empty()
                        && (out.len() >= limits.records_max
                            || *bytes_read + size > limits.bytes_max)
                    {
                        return Ok(false);
                    }
                    *bytes_read += size;
                    out.push(record);
                }
            }
            position = batch_end;
            expected = header.next_offset();
        }
        Ok(true)
    }

    /// The offset of the first record at or after `timestamp_ms`, if this segment has one.
    pub(crate) fn offset_for_timestamp(&self, timestamp_ms: i64) -> Result<Option<u64>> {
        match self.offset_for_timestamp_from_index(timestamp_ms) {
            // Recovery verifies only the active segment's last index entry (so opening stays
            // flat in the data retained): an earlier one that disagrees with the data gets the
            // index reloaded, which verifies every entry, and the lookup is tried once more.
            Err(Error::Corrupt { .. }) => {
                tracing::warn!(segment = %self.data_path.display(), "Index disagrees with data; rescanning");
                *self.index.write().unwrap_or_else(|e| e.into_inner()) = None;
                self.offset_for_timestamp_from_index(timestamp_ms)
            }
            other => other,
        }
    }

    fn offset_for_timestamp_from_index(&self, timestamp_ms: i64) -> Result<Option<u64>> {
        let len = self.len();
        let mut position = self.with_index(|entries| {
            let at = entries.partition_point(|entry| entry.max_timestamp_ms < timestamp_ms);
            at.checked_sub(1)
                .and_then(|i| entries.get(i))
                .map_or(0, |entry| entry.position)
        });
        let data = self.data.slice(..(len as usize).min(self.data.len()));
        while position < len {
            let rest = data.get(position as usize..).unwrap_or_default();
            let header =
                record::decode_batch(rest).map_err(|e| self.corrupt(position, e.to_string()))?;
            if header.max_timestamp_ms >= timestamp_ms {
                let batch_end = position as usize + header.batch_len as usize;
                let batch = data.slice(position as usize..batch_end);
                for record in Records::new(&header, batch) {
                    let record = record.map_err(|e| self.corrupt(position, e.to_string()))?;
                    if record.timestamp_ms >= timestamp_ms {
                        return Ok(Some(record.offset));
                    }
                }
            }
            position += u64::from(header.batch_len);
        }
        Ok(None)
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        // Deleted (retention, a deleted stream) or closed with the log: its files close.
        self.files.forget(self.id);
    }
}
