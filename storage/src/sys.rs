//! The only `unsafe` in Strata: memory mappings and io_uring submissions.
//!
//! # Invariants the callers keep
//!
//! - **Mappings.** Segment files are created at their full, fixed size (`set_len`, sparse) before
//!   they are mapped, and are never shrunk while a mapping exists: the one truncation, of a torn
//!   tail during recovery, happens before the segment is mapped, and restores the full size at
//!   once. Deleting a segment unlinks the file; the pages stay valid until the last mapping is
//!   dropped. So every byte of a mapping is backed by the file for the mapping's whole life.
//! - **Concurrent writes.** The writer only writes past a segment's committed length, and
//!   readers only build slices below it (published with release/acquire ordering), so no byte a
//!   reader can see changes while it is seen.
//! - **io_uring buffers.** Every buffer handed to the ring outlives its operation: write buffers
//!   are owned by a [`RingBatch`] that the writer keeps until every completion is reaped (also
//!   when it is dropped), and `ring_sync_all` waits for its completions before returning.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::RawFd;

use io_uring::{IoUring, opcode, types};
use memmap2::{Mmap, MmapOptions};

/// Maps `len` bytes of `file` read-only. The file must be at least `len` bytes long and must
/// not shrink while the mapping lives (see the module invariants).
pub(crate) fn map_file(file: &File, len: u64) -> io::Result<Mmap> {
    let len = usize::try_from(len).map_err(|_| io::Error::other("segment too large to map"))?;
    // SAFETY: the segment file is created at its full size before it is mapped and is never
    // truncated while mapped (module invariants); bytes are only read below the committed
    // length, which the writer no longer modifies.
    unsafe { MmapOptions::new().len(len).map(file) }
}

/// A batch of writes owned by the ring until every one has completed.
pub(crate) struct RingBatch {
    writes: Vec<OwnedWrite>,
    done: Vec<usize>,
    queued: Vec<bool>,
    in_kernel: usize,
}

/// One write: `buf` at `offset` of `file`, both owned until the write completes.
pub(crate) struct OwnedWrite {
    pub file: std::sync::Arc<dyn AsRef<File> + Send + Sync>,
    pub offset: u64,
    pub buf: bytes::Bytes,
}

impl RingBatch {
    pub(crate) fn new(writes: Vec<OwnedWrite>) -> Self {
        let count = writes.len();
        Self {
            writes,
            done: vec![0; count],
            queued: vec![false; count],
            in_kernel: 0,
        }
    }

    /// Queues every write (or remainder of a short write) not in the kernel, as far as the
    /// submission queue has room, and submits them without waiting.
    pub(crate) fn submit(&mut self, ring: &mut IoUring) -> io::Result<()> {
        for (index, write) in self.writes.iter().enumerate() {
            let done = self.done.get(index).copied().unwrap_or(usize::MAX);
            let queued = self.queued.get(index).copied().unwrap_or(true);
            if queued || done >= write.buf.len() {
                continue;
            }
            let rest = write.buf.get(done..).unwrap_or_default();
            let len = u32::try_from(rest.len()).unwrap_or(u32::MAX);
            let fd = std::os::fd::AsRawFd::as_raw_fd((*write.file).as_ref());
            let entry = opcode::Write::new(types::Fd(fd), rest.as_ptr(), len)
                .offset(write.offset + done as u64)
                .build()
                .user_data(index as u64);
            // SAFETY: `rest` points into `write.buf`, owned by this batch, which is kept alive
            // (by `Writer`, whose drop waits for the ring) until its completion is reaped.
            if unsafe { ring.submission().push(&entry) }.is_err() {
                break; // Queue full: the rest goes in once completions make room.
            }
            if let Some(slot) = self.queued.get_mut(index) {
                *slot = true;
            }
            self.in_kernel += 1;
        }
        ring.submit()?;
        Ok(())
    }

    /// Waits until every write has completed, resubmitting short writes. On an error it still
    /// waits for every write in the kernel before returning it.
    pub(crate) fn finish(&mut self, ring: &mut IoUring) -> io::Result<()> {
        let mut first_error: Option<io::Error> = None;
        loop {
            if self.in_kernel == 0 {
                let complete = self
                    .writes
                    .iter()
                    .zip(&self.done)
                    .all(|(w, d)| *d >= w.buf.len());
                if complete || first_error.is_some() {
                    break;
                }
                self.submit(ring)?;
                if self.in_kernel == 0 {
                    return Err(io::Error::other("io_uring accepted no write"));
                }
            }
            ring.submit_and_wait(1)?;
            for completion in ring.completion() {
                let index = usize::try_from(completion.user_data()).unwrap_or(usize::MAX);
                self.in_kernel = self.in_kernel.saturating_sub(1);
                if let Some(slot) = self.queued.get_mut(index) {
                    *slot = false;
                }
                let result = completion.result();
                if result < 0 {
                    first_error.get_or_insert(io::Error::from_raw_os_error(-result));
                } else if result == 0 {
                    first_error
                        .get_or_insert(io::Error::new(io::ErrorKind::WriteZero, "ring write"));
                } else if let Some(done) = self.done.get_mut(index) {
                    *done += result as usize;
                }
            }
            if first_error.is_none() && self.in_kernel == 0 {
                self.submit(ring)?;
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Issues `fdatasync` for every descriptor in one submission and waits for all of them.
pub(crate) fn ring_sync_all(ring: &mut IoUring, fds: &[RawFd]) -> io::Result<()> {
    for (index, fd) in fds.iter().enumerate() {
        let entry = opcode::Fsync::new(types::Fd(*fd))
            .flags(types::FsyncFlags::DATASYNC)
            .build()
            .user_data(index as u64);
        push(ring, &entry)?;
    }
    if fds.is_empty() {
        return Ok(());
    }
    ring.submit_and_wait(fds.len())?;
    let mut first_error = None;
    for completion in ring.completion() {
        if completion.result() < 0 {
            first_error.get_or_insert(io::Error::from_raw_os_error(-completion.result()));
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn push(ring: &mut IoUring, entry: &io_uring::squeue::Entry) -> io::Result<()> {
    // The queue is sized for a full round; if it is full anyway, flush it to the kernel first.
    for _ in 0..2 {
        // SAFETY: the buffers an entry points at are borrowed by the caller for the whole
        // call, and the caller waits for every completion before returning (module invariants).
        if unsafe { ring.submission().push(entry) }.is_ok() {
            return Ok(());
        }
        ring.submit()?;
    }
    Err(io::Error::other("io_uring submission queue full"))
}
