//! The bounded set of open segment files.
//!
//! A shard's sealed segments hold no descriptor (their mappings outlive the file handles, and
//! they are deleted by path). Its active segment's data and index files are opened on demand
//! and kept in a least-recently-used cache of at most `open_files_max` files, so a log of many
//! idle shards fits in a small `RLIMIT_NOFILE`. A file evicted while a write or sync still uses
//! it stays open until that operation drops its handle.
//!
//! Syncing a file through a descriptor opened after the write is sound on Linux since 4.16: a
//! writeback error not yet reported to anyone is reported to a descriptor opened later.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::error::{IoContext, Result};

/// The open files of one segment.
pub(crate) struct SegmentFiles {
    pub data: File,
    pub index: File,
}

impl AsRef<File> for SegmentFiles {
    fn as_ref(&self) -> &File {
        &self.data
    }
}

/// Open segment files, least recently used evicted first.
pub(crate) struct OpenFiles {
    /// Segments whose files stay open at most (two files each).
    segments_max: usize,
    state: Mutex<Lru>,
}

#[derive(Default)]
struct Lru {
    tick: u64,
    /// Segment id → (last use, files).
    by_id: HashMap<u64, (u64, Arc<SegmentFiles>)>,
    /// Last use → segment id.
    by_use: BTreeMap<u64, u64>,
}

impl Lru {
    fn touch(&mut self, id: u64) -> Option<Arc<SegmentFiles>> {
        self.tick += 1;
        let tick = self.tick;
        let (used, files) = self.by_id.get_mut(&id)?;
        self.by_use.remove(used);
        *used = tick;
        self.by_use.insert(tick, id);
        Some(files.clone())
    }

    fn insert(&mut self, id: u64, files: Arc<SegmentFiles>, segments_max: usize) {
        while self.by_id.len() >= segments_max {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.by_id.remove(&oldest);
        }
        self.tick += 1;
        self.by_use.insert(self.tick, id);
        self.by_id.insert(id, (self.tick, files));
    }
}

fn open(path: &Path, create: bool) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(false)
        .open(path)
        .context(|| format!("opening {}", path.display()))
}

impl OpenFiles {
    /// A cache of at most `files_max` open files.
    pub(crate) fn new(files_max: usize) -> Self {
        Self {
            segments_max: (files_max / 2).max(1),
            state: Mutex::new(Lru::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The files of segment `id`, opened (the index created if missing) unless cached.
    pub(crate) fn get(&self, id: u64, data: &Path, index: &Path) -> Result<Arc<SegmentFiles>> {
        let mut lru = self.lock();
        if let Some(files) = lru.touch(id) {
            return Ok(files);
        }
        let files = Arc::new(SegmentFiles {
            data: open(data, false)?,
            index: open(index, true)?,
        });
        lru.insert(id, files.clone(), self.segments_max);
        Ok(files)
    }

    /// Caches files just created for segment `id`.
    pub(crate) fn insert(&self, id: u64, files: SegmentFiles) {
        let segments_max = self.segments_max;
        self.lock().insert(id, Arc::new(files), segments_max);
    }

    /// Closes segment `id`'s files (once no operation uses them).
    pub(crate) fn forget(&self, id: u64) {
        let mut lru = self.lock();
        if let Some((used, _)) = lru.by_id.remove(&id) {
            lru.by_use.remove(&used);
        }
    }

    /// Files open now (two per cached segment).
    pub(crate) fn open_count(&self) -> usize {
        self.lock().by_id.len() * 2
    }
}
