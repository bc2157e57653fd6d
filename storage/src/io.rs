//! The write paths: io_uring (preferred) and plain `pwrite` (the fallback).
//!
//! Both take a whole group-commit round at once: every shard's contiguous buffer in one
//! submission, then one `fdatasync` per touched file. [`IoBackend::Auto`] picks io_uring when
//! the kernel (or sandbox) allows a ring, and `pwrite` otherwise. Both paths run the same test
//! suite (`STRATA_TEST_IO=uring|pwrite`).

use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::os::unix::fs::FileExt;
use std::str::FromStr;

use io_uring::IoUring;

use crate::sys;

/// Which write path to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoBackend {
    /// io_uring when available, else `pwrite`.
    Auto,
    /// io_uring; opening fails if the kernel refuses a ring.
    Uring,
    /// Plain positional writes and `fdatasync`, one system call each.
    Pwrite,
}

impl fmt::Display for IoBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Uring => "uring",
            Self::Pwrite => "pwrite",
        })
    }
}

impl FromStr for IoBackend {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(Self::Auto),
            "uring" | "io_uring" => Ok(Self::Uring),
            "pwrite" => Ok(Self::Pwrite),
            other => Err(format!(
                "unknown io backend {other:?}: expected auto, uring or pwrite"
            )),
        }
    }
}

/// Submission queue size; a round with more writes is submitted in several chunks.
const RING_ENTRIES: u32 = 256;
const RING_CHUNK: usize = 128;

/// One write of a commit round.
pub(crate) struct Write<'a> {
    pub fd: RawFd,
    pub file: &'a std::fs::File,
    pub offset: u64,
    pub buf: &'a [u8],
}

pub(crate) enum Writer {
    Uring(Box<IoUring>),
    Pwrite,
}

impl Writer {
    pub(crate) fn new(backend: IoBackend) -> io::Result<Self> {
        match backend {
            IoBackend::Pwrite => Ok(Self::Pwrite),
            IoBackend::Uring => Ok(Self::Uring(Box::new(IoUring::new(RING_ENTRIES)?))),
            IoBackend::Auto => match IoUring::new(RING_ENTRIES) {
                Ok(ring) => Ok(Self::Uring(Box::new(ring))),
                Err(error) => {
                    tracing::info!(%error, "io_uring unavailable, using pwrite");
                    Ok(Self::Pwrite)
                }
            },
        }
    }

    pub(crate) fn kind(&self) -> IoBackend {
        match self {
            Self::Uring(_) => IoBackend::Uring,
            Self::Pwrite => IoBackend::Pwrite,
        }
    }

    /// Writes every buffer completely, or fails.
    pub(crate) fn write_all(&mut self, writes: &[Write<'_>]) -> io::Result<()> {
        match self {
            Self::Pwrite => {
                for write in writes {
                    write.file.write_all_at(write.buf, write.offset)?;
                }
                Ok(())
            }
            Self::Uring(ring) => {
                for chunk in writes.chunks(RING_CHUNK) {
                    let ring_writes: Vec<sys::RingWrite<'_>> = chunk
                        .iter()
                        .map(|w| sys::RingWrite {
                            fd: w.fd,
                            offset: w.offset,
                            buf: w.buf,
                        })
                        .collect();
                    sys::ring_write_all(ring, &ring_writes)?;
                }
                Ok(())
            }
        }
    }

    /// `fdatasync`s every file.
    pub(crate) fn sync_all(&mut self, files: &[(&std::fs::File, RawFd)]) -> io::Result<()> {
        match self {
            Self::Pwrite => {
                for (file, _) in files {
                    file.sync_data()?;
                }
                Ok(())
            }
            Self::Uring(ring) => {
                let fds: Vec<RawFd> = files.iter().map(|(_, fd)| *fd).collect();
                for chunk in fds.chunks(RING_CHUNK) {
                    sys::ring_sync_all(ring, chunk)?;
                }
                Ok(())
            }
        }
    }
}
