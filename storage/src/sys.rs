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
//! - **io_uring buffers.** Every buffer handed to the ring outlives the submission: the submitting
//!   function waits for every completion before it returns.
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

/// One write for the ring: `buf` at `offset` of `fd`.
pub(crate) struct RingWrite<'a> {
    pub fd: RawFd,
    pub offset: u64,
    pub buf: &'a [u8],
}

/// Submits every write in `writes` (resubmitting short writes) and waits for all of them.
pub(crate) fn ring_write_all(ring: &mut IoUring, writes: &[RingWrite<'_>]) -> io::Result<()> {
    let mut done: Vec<usize> = vec![0; writes.len()];
    loop {
        let mut pending = 0usize;
        for (index, write) in writes.iter().enumerate() {
            let written = done.get(index).copied().unwrap_or(0);
            if written >= write.buf.len() {
                continue;
            }
            let rest = write.buf.get(written..).unwrap_or_default();
            let len = u32::try_from(rest.len()).unwrap_or(u32::MAX);
            let entry = opcode::Write::new(types::Fd(write.fd), rest.as_ptr(), len)
                .offset(write.offset + written as u64)
                .build()
                .user_data(index as u64);
            push(ring, &entry)?;
            pending += 1;
        }
        if pending == 0 {
            return Ok(());
        }
        ring.submit_and_wait(pending)?;
        let mut first_error = None;
        for completion in ring.completion() {
            let index = usize::try_from(completion.user_data()).unwrap_or(usize::MAX);
            let result = completion.result();
            if result < 0 {
                first_error.get_or_insert(io::Error::from_raw_os_error(-result));
            } else if result == 0 {
                first_error.get_or_insert(io::Error::new(io::ErrorKind::WriteZero, "ring write"));
            } else if let Some(slot) = done.get_mut(index) {
                *slot += result as usize;
            }
        }
        if let Some(error) = first_error {
            return Err(error);
        }
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
