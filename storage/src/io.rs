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
/// Rounds smaller than this are written with `pwrite` by the io_uring writer too. A buffered
/// write that cannot complete without blocking (every one on ext4) is handed to an io_uring
/// worker thread; for a small round that hand-off (two wake-ups) costs more than the copy
/// the commit thread would do itself, and there is little encoding to overlap it with.
const INLINE_ROUND_BYTES: usize = 64 * 1024;

pub(crate) use crate::sys::OwnedWrite;

/// The write path. At most one batch of writes is in flight: [`Writer::start`] submits it and
/// returns at once (io_uring) so the caller can prepare the next batch while the kernel copies
/// this one; [`Writer::finish`] waits for it.
pub(crate) enum Writer {
    Uring {
        ring: Box<IoUring>,
        in_flight: Option<sys::RingBatch>,
        /// The outcome of a small round written inline.
        written: Option<Vec<io::Result<()>>>,
    },
    Pwrite {
        results: Option<Vec<io::Result<()>>>,
    },
}

impl Writer {
    pub(crate) fn new(backend: IoBackend) -> io::Result<Self> {
        let uring = |ring| Self::Uring {
            ring: Box::new(ring),
            in_flight: None,
            written: None,
        };
        match backend {
            IoBackend::Pwrite => Ok(Self::Pwrite { results: None }),
            IoBackend::Uring => Ok(uring(IoUring::new(RING_ENTRIES)?)),
            IoBackend::Auto => match IoUring::new(RING_ENTRIES) {
                Ok(ring) => Ok(uring(ring)),
                Err(error) => {
                    tracing::info!(%error, "io_uring unavailable, using pwrite");
                    Ok(Self::Pwrite { results: None })
                }
            },
        }
    }

    pub(crate) fn kind(&self) -> IoBackend {
        match self {
            Self::Uring { .. } => IoBackend::Uring,
            Self::Pwrite { .. } => IoBackend::Pwrite,
        }
    }

    /// Starts writing every buffer. A batch still in flight is finished first (its outcome
    /// is lost; callers finish every batch before starting the next).
    pub(crate) fn start(&mut self, writes: Vec<OwnedWrite>) {
        let _ = self.finish();
        match self {
            Self::Pwrite { results } => *results = Some(write_each(&writes)),
            Self::Uring { written, .. }
                if writes.iter().map(|w| w.buf.len()).sum::<usize>() < INLINE_ROUND_BYTES =>
            {
                *written = Some(write_each(&writes));
            }
            Self::Uring {
                ring, in_flight, ..
            } => {
                let mut batch = sys::RingBatch::new(writes);
                // A failed submission is retried, and reported per write, by `finish`.
                if let Err(error) = batch.submit(ring) {
                    tracing::debug!(%error, "io_uring submission failed; retried on finish");
                }
                *in_flight = Some(batch);
            }
        }
    }

    /// Waits for the batch in flight, if any; the outcome of each of its writes, in order.
    pub(crate) fn finish(&mut self) -> Vec<io::Result<()>> {
        match self {
            Self::Pwrite { results } => results.take().unwrap_or_default(),
            Self::Uring {
                ring,
                in_flight,
                written,
            } => match in_flight.as_mut() {
                None => written.take().unwrap_or_default(),
                Some(batch) => {
                    let results = batch.finish(ring);
                    *in_flight = None;
                    results
                }
            },
        }
    }

    /// `fdatasync`s every file. With `filesystem` (a descriptor on the filesystem of the data
    /// directory, held since the log opened) and at least [`SYNCFS_FILES_MIN`] files all on
    /// it, one `syncfs` does instead: one writeback of their inodes and one device flush
    /// rather than one of each per file. An error from it (it reports any writeback error of
    /// the filesystem, another program's too) is settled file by file, as without it.
    pub(crate) fn sync_all(
        &mut self,
        files: &[(&std::fs::File, RawFd)],
        filesystem: Option<&Filesystem>,
    ) -> io::Result<()> {
        if let Some(filesystem) = filesystem
            && files.len() >= SYNCFS_FILES_MIN
            && files.iter().all(|(file, _)| filesystem.holds(file))
            && sys::syncfs(&filesystem.dir).is_ok()
        {
            return Ok(());
        }
        match self {
            Self::Pwrite { .. } => {
                for (file, _) in files {
                    file.sync_data()?;
                }
                Ok(())
            }
            Self::Uring { ring, .. } => {
                let fds: Vec<RawFd> = files.iter().map(|(_, fd)| *fd).collect();
                for chunk in fds.chunks(RING_CHUNK) {
                    sys::ring_sync_all(ring, chunk)?;
                }
                Ok(())
            }
        }
    }
}

/// Files synced at once from which one `syncfs` replaces their `fdatasync`s.
pub(crate) const SYNCFS_FILES_MIN: usize = 16;

/// The filesystem of the data directory, for [`Writer::sync_all`].
#[derive(Debug)]
pub(crate) struct Filesystem {
    dir: std::fs::File,
    device: u64,
}

impl Filesystem {
    /// The filesystem holding `dir`, if `syncfs` may stand in for `fdatasync` on this kernel.
    pub(crate) fn of(dir: &std::path::Path) -> Option<Self> {
        use std::os::unix::fs::MetadataExt as _;
        if !sys::syncfs_reports_errors() {
            return None;
        }
        let dir = std::fs::File::open(dir).ok()?;
        let device = dir.metadata().ok()?.dev();
        Some(Self { dir, device })
    }

    fn holds(&self, file: &std::fs::File) -> bool {
        use std::os::unix::fs::MetadataExt as _;
        file.metadata().is_ok_and(|m| m.dev() == self.device)
    }
}

/// Writes each buffer with `pwrite`, each on its own: one failing (a full disk) does not
/// stop the others.
fn write_each(writes: &[OwnedWrite]) -> Vec<io::Result<()>> {
    writes
        .iter()
        .map(|w| (*w.file).as_ref().write_all_at(&w.buf, w.offset))
        .collect()
}

impl Drop for Writer {
    fn drop(&mut self) {
        // The kernel may still read the buffers of a batch in flight: wait for it.
        for error in self.finish().into_iter().filter_map(Result::err) {
            tracing::warn!(%error, "A write in flight at shutdown failed");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::sync::Arc;

    use super::*;

    struct Data(std::fs::File);

    impl AsRef<std::fs::File> for Data {
        fn as_ref(&self) -> &std::fs::File {
            &self.0
        }
    }

    /// Many files are synced by one `syncfs` where the kernel reports its errors, a few (or
    /// files on another filesystem) one by one; either way on both paths.
    #[test]
    fn many_files_sync_at_once_and_few_one_by_one() {
        use std::os::fd::AsRawFd as _;
        let dir = tempfile::tempdir().unwrap();
        let filesystem = Filesystem::of(dir.path());
        assert_eq!(filesystem.is_some(), sys::syncfs_reports_errors());
        let files: Vec<std::fs::File> = (0..SYNCFS_FILES_MIN + 1)
            .map(|i| {
                let path = dir.path().join(format!("f{i}"));
                std::fs::write(&path, b"dirty").unwrap();
                std::fs::File::options().write(true).open(path).unwrap()
            })
            .collect();
        if let Some(filesystem) = &filesystem {
            assert!(files.iter().all(|file| filesystem.holds(file)));
            // A file elsewhere (the process's own /proc entry is not on the data directory's
            // filesystem) is not held, so such a set is synced file by file.
            let elsewhere = std::fs::File::open("/proc/self/status").unwrap();
            assert!(!filesystem.holds(&elsewhere));
        }
        let all: Vec<_> = files.iter().map(|f| (f, f.as_raw_fd())).collect();
        for backend in [IoBackend::Uring, IoBackend::Pwrite] {
            let Ok(mut writer) = Writer::new(backend) else {
                continue;
            };
            writer.sync_all(&all, filesystem.as_ref()).unwrap();
            writer.sync_all(&all[..2], filesystem.as_ref()).unwrap();
            writer.sync_all(&all, None).unwrap();
        }
    }

    /// Rounds on either side of [`INLINE_ROUND_BYTES`], on each write path, land where they
    /// were aimed and report one outcome per write, in order.
    #[test]
    fn small_and_large_rounds_land_on_both_paths() {
        for backend in [IoBackend::Uring, IoBackend::Pwrite] {
            let mut writer = match Writer::new(backend) {
                Ok(writer) => writer,
                // No ring here (a sandbox without io_uring): the pwrite path is still run.
                Err(_) => continue,
            };
            let dir = tempfile::tempdir().unwrap();
            let file: Arc<dyn AsRef<std::fs::File> + Send + Sync> = Arc::new(Data(
                std::fs::File::options()
                    .create(true)
                    .read(true)
                    .write(true)
                    .truncate(true)
                    .open(dir.path().join("data"))
                    .unwrap(),
            ));
            let small = bytes::Bytes::from(vec![1_u8; 100]);
            let large = bytes::Bytes::from(vec![2_u8; INLINE_ROUND_BYTES]);
            let round = |offset: u64, buf: &bytes::Bytes| {
                vec![
                    OwnedWrite {
                        file: file.clone(),
                        offset,
                        buf: buf.clone(),
                    },
                    OwnedWrite {
                        file: file.clone(),
                        offset: offset + buf.len() as u64,
                        buf: buf.clone(),
                    },
                ]
            };
            writer.start(round(0, &small));
            assert_eq!(writer.finish().len(), 2);
            writer.start(round(200, &large));
            // Starting the next round finishes this one first.
            let next = 200 + 2 * large.len() as u64;
            writer.start(round(next, &small));
            let results = writer.finish();
            assert!(results.iter().all(Result::is_ok), "{results:?}");
            assert!(writer.finish().is_empty());
            let data = std::fs::read(dir.path().join("data")).unwrap();
            let end = usize::try_from(next).unwrap();
            assert_eq!(data.len(), end + 200);
            assert!(data[..200].iter().all(|&b| b == 1));
            assert!(data[200..end].iter().all(|&b| b == 2));
            assert!(data[end..].iter().all(|&b| b == 1));
        }
    }
}
