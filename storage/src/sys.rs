//! The only `unsafe` in Strata: memory mappings (and `madvise` hints on them), io_uring
//! submissions, `fallocate`, `syncfs` and the descriptor limit.
//!
//! # Invariants the callers keep
//!
//! - **Mappings.** Segment files are created at their full, fixed size (`set_len`; the writer
//!   allocates the part it is about to write with `fallocate`, a step ahead) before they are
//!   mapped, and are never shrunk while a mapping exists: the one
//!   truncation, of a torn tail during recovery, happens before the segment is mapped, and
//!   restores the full size at once. A sealed segment is mapped only up to its verified end.
//!   Deleting a segment unlinks the file; the pages stay valid until the last mapping is
//!   dropped, and a mapping needs no open descriptor. So every byte of a mapping is backed by the
//!   file for the mapping's whole life, and no byte past a segment's written data is ever read
//!   through a mapping (recovery reads with `pread`), so a hole is never faulted in.
//! - **Concurrent writes.** The writer only writes past a segment's committed length, and
//!   readers only build slices below it (published with release/acquire ordering), so no byte a
//!   reader can see changes while it is seen.
//! - **io_uring buffers.** Every buffer handed to the ring outlives its operation: write buffers
//!   are owned by a [`RingBatch`] that the writer keeps until every completion is reaped (also
//!   when it is dropped), and `ring_sync_all` waits for its completions before returning.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

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

/// Turns off readahead on faults in `mapping` (an active segment's, the whole file): a reader
/// near the written end would otherwise have the kernel read ahead into the unwritten rest
/// of the file, zero-filling pages only for the writer to overwrite them. Reads ask for
/// what they are about to touch with [`will_need`] instead.
pub(crate) fn advise_random(mapping: &Mmap) {
    if let Err(error) = mapping.advise(memmap2::Advice::Random) {
        tracing::debug!(%error, "madvise(MADV_RANDOM) failed; reads keep the kernel's readahead");
    }
}

/// Asks the kernel to read `bytes`, a slice of a mapping, ahead of the faults that will touch
/// them (`MADV_WILLNEED`): pages already cached cost a lookup, missing ones are read
/// asynchronously in large requests.
pub(crate) fn will_need(bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    let page = 4096usize;
    let start = bytes.as_ptr() as usize;
    let aligned = start & !(page - 1);
    let len = bytes.len() + (start - aligned);
    // SAFETY: `MADV_WILLNEED` reads nothing and writes nothing of ours; the range starts at
    // the page holding `bytes`' first byte, which belongs to the same mapping (mappings are
    // page-aligned), and ends at `bytes`' end. A failure only loses the hint.
    let result = unsafe { libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_WILLNEED) };
    if result != 0 {
        tracing::trace!(error = %io::Error::last_os_error(), "madvise(MADV_WILLNEED) failed");
    }
}

/// Allocates the bytes `offset..offset + len` of `file` for real (`fallocate` mode 0, which
/// grows the file if they end past it): afterwards no write there and no page fault on a
/// mapping of them needs a new block, so a full disk is found here, not by a `SIGBUS`.
/// Filesystems without `fallocate` answer `EOPNOTSUPP`.
pub(crate) fn allocate(file: &File, offset: u64, len: u64) -> io::Result<()> {
    let too_large = || io::Error::other("file too large to allocate");
    let offset = libc::off_t::try_from(offset).map_err(|_| too_large())?;
    let len = libc::off_t::try_from(len).map_err(|_| too_large())?;
    loop {
        // SAFETY: `fallocate` takes a descriptor and three integers and touches no memory of
        // ours; the descriptor is valid while `file` is borrowed.
        let result = unsafe { libc::fallocate(file.as_raw_fd(), 0, offset, len) };
        if result == 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// Gives the blocks of `offset..offset + len` of `file` back to the filesystem, keeping the
/// file's size (`fallocate` with `FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE`): the range
/// reads as zeros afterwards. Filesystems without hole punching answer `EOPNOTSUPP`.
pub(crate) fn release(file: &File, offset: u64, len: u64) -> io::Result<()> {
    let too_large = || io::Error::other("file too large to release");
    let offset = libc::off_t::try_from(offset).map_err(|_| too_large())?;
    let len = libc::off_t::try_from(len).map_err(|_| too_large())?;
    let mode = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
    loop {
        // SAFETY: as in `allocate`: three integers and a descriptor valid while `file` is
        // borrowed; no memory of ours is touched.
        let result = unsafe { libc::fallocate(file.as_raw_fd(), mode, offset, len) };
        if result == 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// The process's `RLIMIT_NOFILE`: (soft, hard).
pub(crate) fn open_files_limit() -> io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` into the valid, exclusively borrowed `limit`.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((limit.rlim_cur, limit.rlim_max))
}

/// Raises the process's soft limit on open descriptors (`RLIMIT_NOFILE`) to its hard limit and
/// returns the limits now in force, (soft, hard). A server holding many shards calls it once at
/// start; the log itself keeps a bounded number of segment files open
/// ([`crate::LogConfig::open_files_max`]), derived from the soft limit when it opens.
pub fn raise_open_files_limit() -> io::Result<(u64, u64)> {
    let (soft, hard) = open_files_limit()?;
    if soft < hard {
        let limit = libc::rlimit {
            rlim_cur: hard,
            rlim_max: hard,
        };
        // SAFETY: `setrlimit` reads one valid `rlimit` from a borrowed local.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    open_files_limit()
}

/// A batch of writes owned by the ring until every one has completed.
pub(crate) struct RingBatch {
    writes: Vec<OwnedWrite>,
    done: Vec<usize>,
    queued: Vec<bool>,
    /// The first error of each write; a failed write is not resubmitted, the others go on.
    failed: Vec<Option<io::Error>>,
    in_kernel: usize,
}

/// One write: `buf` at `offset` of `file`, both owned until the write completes.
pub(crate) struct OwnedWrite {
    pub file: std::sync::Arc<dyn AsRef<File> + Send + Sync>,
    pub offset: u64,
    pub buf: bytes::Bytes,
}

fn copy_error(error: &io::Error) -> io::Error {
    match error.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(error.kind(), error.to_string()),
    }
}

impl RingBatch {
    pub(crate) fn new(writes: Vec<OwnedWrite>) -> Self {
        let count = writes.len();
        Self {
            writes,
            done: vec![0; count],
            queued: vec![false; count],
            failed: (0..count).map(|_| None).collect(),
            in_kernel: 0,
        }
    }

    fn wants_more(&self, index: usize) -> bool {
        let len = self.writes.get(index).map_or(0, |w| w.buf.len());
        !self.queued.get(index).copied().unwrap_or(true)
            && self.failed.get(index).is_some_and(Option::is_none)
            && self.done.get(index).copied().unwrap_or(usize::MAX) < len
    }

    /// Queues every write (or remainder of a short write) not in the kernel and not failed, as
    /// far as the submission queue has room, and submits them without waiting.
    pub(crate) fn submit(&mut self, ring: &mut IoUring) -> io::Result<()> {
        for index in 0..self.writes.len() {
            if !self.wants_more(index) {
                continue;
            }
            let Some(write) = self.writes.get(index) else {
                continue;
            };
            let done = self.done.get(index).copied().unwrap_or(0);
            let rest = write.buf.get(done..).unwrap_or_default();
            let len = u32::try_from(rest.len()).unwrap_or(u32::MAX);
            let fd = std::os::fd::AsRawFd::as_raw_fd((*write.file).as_ref());
            let entry = opcode::Write::new(types::Fd(fd), rest.as_ptr(), len)
                .offset(write.offset + done as u64)
                .build()
                .user_data(index as u64);
            // SAFETY: `rest` points into `write.buf`, owned by this batch, which is kept alive
            // (by `Writer`, whose drop waits for the ring) until its completion is reaped; if
            // the ring fails with writes still in the kernel, `finish` leaks the buffers rather
            // than free them.
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

    /// Waits until every write has completed or failed, resubmitting short writes; returns
    /// each write's outcome, in order. A write that fails (a full disk, say) does not stop the
    /// others.
    pub(crate) fn finish(&mut self, ring: &mut IoUring) -> Vec<io::Result<()>> {
        let mut fatal: Option<io::Error> = None;
        loop {
            if self.in_kernel == 0 {
                if !(0..self.writes.len()).any(|index| self.wants_more(index)) {
                    break;
                }
                let submitted = self.submit(ring);
                if self.in_kernel == 0 {
                    fatal = Some(
                        submitted
                            .err()
                            .unwrap_or_else(|| io::Error::other("io_uring accepted no write")),
                    );
                    break;
                }
            }
            match ring.submit_and_wait(1) {
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    // The kernel may still read the buffers in flight: never free them.
                    std::mem::forget(std::mem::take(&mut self.writes));
                    fatal = Some(error);
                    break;
                }
            }
            for completion in ring.completion() {
                let index = usize::try_from(completion.user_data()).unwrap_or(usize::MAX);
                self.in_kernel = self.in_kernel.saturating_sub(1);
                if let Some(slot) = self.queued.get_mut(index) {
                    *slot = false;
                }
                let result = completion.result();
                let failure = if result < 0 {
                    Some(io::Error::from_raw_os_error(-result))
                } else if result == 0 {
                    Some(io::Error::new(io::ErrorKind::WriteZero, "ring write"))
                } else {
                    if let Some(done) = self.done.get_mut(index) {
                        *done += result as usize;
                    }
                    None
                };
                if let (Some(error), Some(slot)) = (failure, self.failed.get_mut(index)) {
                    slot.get_or_insert(error);
                }
            }
        }
        let count = self.done.len();
        (0..count)
            .map(|index| {
                if let Some(error) = self.failed.get_mut(index).and_then(Option::take) {
                    return Err(error);
                }
                let len = self.writes.get(index).map(|w| w.buf.len());
                let done = self.done.get(index).copied().unwrap_or(0);
                match (&fatal, len) {
                    (None, Some(len)) if done >= len => Ok(()),
                    (Some(error), _) => Err(copy_error(error)),
                    _ => Err(io::Error::other("ring write did not complete")),
                }
            })
            .collect()
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

/// Whether `syncfs` reports writeback errors (Linux 5.8 and later: it reports those of the
/// filesystem since the descriptor was opened, once each). On older kernels it answers 0
/// whatever happened, so it must not stand in for `fdatasync`.
pub(crate) fn syncfs_reports_errors() -> bool {
    let release = match std::fs::read_to_string("/proc/sys/kernel/osrelease") {
        Ok(release) => release,
        Err(_) => return false,
    };
    let mut numbers = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|part| part.parse::<u32>().ok());
    match (numbers.next().flatten(), numbers.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (5, 8),
        _ => false,
    }
}

/// Writes back every dirty page and inode of the filesystem holding `file`, and flushes the
/// device once (`syncfs`).
pub(crate) fn syncfs(file: &File) -> io::Result<()> {
    // SAFETY: `syncfs` reads no memory of ours; the descriptor is valid while `file` lives.
    let result = unsafe { libc::syncfs(file.as_raw_fd()) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
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
