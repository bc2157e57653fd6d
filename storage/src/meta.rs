//! Durable metadata: the stream and shard catalog (with lineage), named cursors, and small
//! properties the views keep (tags, settings).
//!
//! # Design constraints
//!
//! - Every change is one journal entry, written and `fdatasync`ed before the change is visible
//!   or acknowledged. A change that touches several things (a split closes one shard and adds
//!   two) is one entry, so it applies entirely or not at all.
//! - Entries are framed and checksummed like batches; a torn last entry is cut off on open.
//! - The journal is compacted into a snapshot, itself a list of the same entries. A generation
//!   number ties a snapshot to the journal that continues it, so a crash at any point of a
//!   compaction leaves either the old snapshot + old journal or the new snapshot + new journal.
//!
//! # Layout
//!
//! ```text
//! meta/snapshot          u32 magic "SMS1", u64 generation, then entries
//! meta/journal.<gen>     entries
//! entry                  u32 payload_len, u32 crc32(payload), payload = u32 op count, ops
//! ```
//!
//! A stream is written as op 11 (`PutStream` with its owner, a string after the shards). Op 1,
//! the same without an owner, is what catalogs written before owners existed hold; it is still
//! read, its owner derived from the name ([`Owner::derived_from_name`]).
#![deny(clippy::indexing_slicing)]

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, IoContext, Result};
use crate::faults::{Fault, Faults, IoPoint};
use crate::shard::sync_dir;

const SNAPSHOT_MAGIC: u32 = 0x534d_5331;
const ENTRY_BYTES_MAX: u32 = 64 * 1024 * 1024;
/// A stream without an owner: written before owners were, read only.
const OP_PUT_STREAM: u8 = 1;
/// A stream with its owner.
const OP_PUT_STREAM_OWNED: u8 = 11;

/// Which view a stream belongs to: an opaque tag to the engine (1 to 32 bytes of `a-z`, `0-9`,
/// `-` and `.`), recorded with the stream so that each view lists and resolves only its own.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Owner(Cow<'static, str>);

/// Longest owner tag, in bytes.
const OWNER_BYTES_MAX: usize = 32;

const fn is_owner_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    if bytes.is_empty() || bytes.len() > OWNER_BYTES_MAX {
        return false;
    }
    let mut rest = bytes;
    while let [b, tail @ ..] = rest {
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'.') {
            return false;
        }
        rest = tail;
    }
    true
}

impl Owner {
    /// Kinesis streams (and the native protocol's streams, which are the same streams).
    pub const KINESIS: Self = Self::from_static("kinesis");
    /// The engine streams of Firehose delivery streams.
    pub const FIREHOSE: Self = Self::from_static("firehose");

    /// An owner from a tag known at compile time.
    ///
    /// # Panics
    /// When `tag` is not a valid tag (at compile time in a `const`).
    #[must_use]
    pub const fn from_static(tag: &'static str) -> Self {
        assert!(
            is_owner_tag(tag),
            "an owner tag is 1 to 32 bytes of a-z, 0-9, '-' and '.'"
        );
        Self(Cow::Borrowed(tag))
    }

    /// An owner from a tag.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the tag is empty, longer than 32 bytes, or holds other
    /// bytes than `a-z`, `0-9`, `-` and `.`.
    pub fn new(tag: &str) -> Result<Self> {
        if is_owner_tag(tag) {
            Ok(Self(Cow::Owned(tag.to_owned())))
        } else {
            Err(Error::InvalidArgument(format!(
                "invalid stream owner {tag:?}: 1 to 32 bytes of a-z, 0-9, '-' and '.'"
            )))
        }
    }

    /// The owner of a stream recorded before owners were: `firehose` for the delivery streams'
    /// own streams (named `firehose:<name>`), `kinesis` for every other.
    #[must_use]
    pub fn derived_from_name(name: &str) -> Self {
        if name.starts_with("firehose:") {
            Self::FIREHOSE
        } else {
            Self::KINESIS
        }
    }

    /// The tag.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A shard as the catalog knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardInfo {
    /// Id, unique within the stream and never reused.
    pub id: u32,
    /// First hash key of the shard's range.
    pub hash_start: u128,
    /// Last hash key of the shard's range (inclusive).
    pub hash_end: u128,
    /// The shard this one was split from or merged into.
    pub parent: Option<u32>,
    /// The other parent of a merge.
    pub adjacent_parent: Option<u32>,
    /// Offset of the shard's first record.
    pub starting_offset: u64,
    /// For a closed shard, one past its last record.
    pub ending_offset: Option<u64>,
    /// When the shard was created, in ms since the epoch.
    pub created_ms: i64,
}

impl ShardInfo {
    /// Whether the shard still takes appends.
    pub fn is_open(&self) -> bool {
        self.ending_offset.is_none()
    }
}

/// A stream as the catalog knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    /// Name, unique among live streams.
    pub name: String,
    /// Internal id, never reused; names the stream's directory.
    pub id: u64,
    /// The view the stream belongs to.
    pub owner: Owner,
    /// How long records are kept.
    pub retention: Duration,
    /// When the stream was created, in ms since the epoch.
    pub created_ms: i64,
    /// Every shard, open and closed, by id.
    pub shards: Vec<ShardInfo>,
    /// The id the next new shard gets.
    pub next_shard_id: u32,
}

impl StreamInfo {
    /// The shard with this id.
    pub fn shard(&self, id: u32) -> Option<&ShardInfo> {
        self.shards.iter().find(|shard| shard.id == id)
    }

    /// The open shard whose hash range holds `hash`.
    pub fn shard_for_hash(&self, hash: u128) -> Option<&ShardInfo> {
        self.shards
            .iter()
            .find(|shard| shard.is_open() && shard.hash_start <= hash && hash <= shard.hash_end)
    }
}

/// Where a named cursor points in one shard.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CursorKey {
    /// The consumer's name.
    pub name: String,
    /// The stream.
    pub stream: String,
    /// The shard.
    pub shard: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    PutStream(StreamInfo),
    DeleteStream(String),
    SetRetention {
        stream: String,
        retention_ms: u64,
    },
    CloseShard {
        stream: String,
        shard: u32,
        ending_offset: u64,
    },
    AddShard {
        stream: String,
        shard: ShardInfo,
    },
    NextStreamId(u64),
    PutCursor {
        key: CursorKey,
        offset: u64,
    },
    DeleteCursors(String),
    PutProperty {
        namespace: String,
        key: String,
        value: Vec<u8>,
    },
    DeleteProperty {
        namespace: String,
        key: String,
    },
}

/// The metadata in memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Catalog {
    pub next_stream_id: u64,
    pub streams: BTreeMap<String, StreamInfo>,
    pub cursors: BTreeMap<CursorKey, u64>,
    pub properties: BTreeMap<(String, String), Vec<u8>>,
}

impl Catalog {
    pub(crate) fn apply(&mut self, op: &Op) {
        match op {
            Op::PutStream(stream) => {
                self.next_stream_id = self.next_stream_id.max(stream.id + 1);
                self.streams.insert(stream.name.clone(), stream.clone());
            }
            Op::DeleteStream(name) => {
                self.streams.remove(name);
                self.cursors.retain(|key, _| &key.stream != name);
            }
            Op::SetRetention {
                stream,
                retention_ms,
            } => {
                if let Some(info) = self.streams.get_mut(stream) {
                    info.retention = Duration::from_millis(*retention_ms);
                }
            }
            Op::CloseShard {
                stream,
                shard,
                ending_offset,
            } => {
                if let Some(info) = self.streams.get_mut(stream)
                    && let Some(shard) = info.shards.iter_mut().find(|s| s.id == *shard)
                {
                    shard.ending_offset = Some(*ending_offset);
                }
            }
            Op::AddShard { stream, shard } => {
                if let Some(info) = self.streams.get_mut(stream) {
                    info.next_shard_id = info.next_shard_id.max(shard.id + 1);
                    info.shards.retain(|s| s.id != shard.id);
                    info.shards.push(shard.clone());
                    info.shards.sort_by_key(|s| s.id);
                }
            }
            Op::NextStreamId(id) => self.next_stream_id = self.next_stream_id.max(*id),
            Op::PutCursor { key, offset } => {
                self.cursors.insert(key.clone(), *offset);
            }
            Op::DeleteCursors(name) => self.cursors.retain(|key, _| &key.name != name),
            Op::PutProperty {
                namespace,
                key,
                value,
            } => {
                self.properties
                    .insert((namespace.clone(), key.clone()), value.clone());
            }
            Op::DeleteProperty { namespace, key } => {
                self.properties.remove(&(namespace.clone(), key.clone()));
            }
        }
    }

    /// The ops that rebuild this catalog from nothing.
    fn to_ops(&self) -> Vec<Op> {
        let mut ops = vec![Op::NextStreamId(self.next_stream_id)];
        ops.extend(self.streams.values().cloned().map(Op::PutStream));
        ops.extend(self.cursors.iter().map(|(key, offset)| Op::PutCursor {
            key: key.clone(),
            offset: *offset,
        }));
        ops.extend(
            self.properties
                .iter()
                .map(|((namespace, key), value)| Op::PutProperty {
                    namespace: namespace.clone(),
                    key: key.clone(),
                    value: value.clone(),
                }),
        );
        ops
    }
}

// ---- encoding ------------------------------------------------------------------------------

struct Encoder(Vec<u8>);

impl Encoder {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u128(&mut self, v: u128) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
        self.0.extend_from_slice(v);
    }
    fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
    fn opt_u32(&mut self, v: Option<u32>) {
        match v {
            Some(v) => {
                self.u8(1);
                self.u32(v);
            }
            None => self.u8(0),
        }
    }
    fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            Some(v) => {
                self.u8(1);
                self.u64(v);
            }
            None => self.u8(0),
        }
    }
    fn shard(&mut self, s: &ShardInfo) {
        self.u32(s.id);
        self.u128(s.hash_start);
        self.u128(s.hash_end);
        self.opt_u32(s.parent);
        self.opt_u32(s.adjacent_parent);
        self.u64(s.starting_offset);
        self.opt_u64(s.ending_offset);
        self.i64(s.created_ms);
    }
    /// A stream as op 1 had it (everything but the owner).
    fn stream_body(&mut self, s: &StreamInfo) {
        self.str(&s.name);
        self.u64(s.id);
        self.u64(u64::try_from(s.retention.as_millis()).unwrap_or(u64::MAX));
        self.i64(s.created_ms);
        self.u32(s.next_shard_id);
        self.u32(u32::try_from(s.shards.len()).unwrap_or(u32::MAX));
        s.shards.iter().for_each(|shard| self.shard(shard));
    }
    fn op(&mut self, op: &Op) {
        match op {
            Op::PutStream(s) => {
                self.u8(OP_PUT_STREAM_OWNED);
                self.stream_body(s);
                self.str(s.owner.as_str());
            }
            Op::DeleteStream(name) => {
                self.u8(2);
                self.str(name);
            }
            Op::SetRetention {
                stream,
                retention_ms,
            } => {
                self.u8(3);
                self.str(stream);
                self.u64(*retention_ms);
            }
            Op::CloseShard {
                stream,
                shard,
                ending_offset,
            } => {
                self.u8(4);
                self.str(stream);
                self.u32(*shard);
                self.u64(*ending_offset);
            }
            Op::AddShard { stream, shard } => {
                self.u8(5);
                self.str(stream);
                self.shard(shard);
            }
            Op::NextStreamId(id) => {
                self.u8(6);
                self.u64(*id);
            }
            Op::PutCursor { key, offset } => {
                self.u8(7);
                self.str(&key.name);
                self.str(&key.stream);
                self.u32(key.shard);
                self.u64(*offset);
            }
            Op::DeleteCursors(name) => {
                self.u8(8);
                self.str(name);
            }
            Op::PutProperty {
                namespace,
                key,
                value,
            } => {
                self.u8(9);
                self.str(namespace);
                self.str(key);
                self.bytes(value);
            }
            Op::DeleteProperty { namespace, key } => {
                self.u8(10);
                self.str(namespace);
                self.str(key);
            }
        }
    }
}

struct Decoder<'a> {
    bytes: &'a [u8],
    at: usize,
}

type Decoded<T> = std::result::Result<T, &'static str>;

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Decoded<&'a [u8]> {
        let end = self.at.checked_add(n).ok_or("length overflow")?;
        let out = self.bytes.get(self.at..end).ok_or("entry ends early")?;
        self.at = end;
        Ok(out)
    }
    fn array<const N: usize>(&mut self) -> Decoded<[u8; N]> {
        self.take(N)?.try_into().map_err(|_| "entry ends early")
    }
    fn u8(&mut self) -> Decoded<u8> {
        Ok(u8::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Decoded<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Decoded<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn i64(&mut self) -> Decoded<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    fn u128(&mut self) -> Decoded<u128> {
        Ok(u128::from_le_bytes(self.array()?))
    }
    fn bytes(&mut self) -> Decoded<Vec<u8>> {
        let len = self.u32()? as usize;
        Ok(self.take(len)?.to_vec())
    }
    fn str(&mut self) -> Decoded<String> {
        String::from_utf8(self.bytes()?).map_err(|_| "name is not UTF-8")
    }
    fn opt_u32(&mut self) -> Decoded<Option<u32>> {
        Ok(if self.u8()? == 1 {
            Some(self.u32()?)
        } else {
            None
        })
    }
    fn opt_u64(&mut self) -> Decoded<Option<u64>> {
        Ok(if self.u8()? == 1 {
            Some(self.u64()?)
        } else {
            None
        })
    }
    fn shard(&mut self) -> Decoded<ShardInfo> {
        Ok(ShardInfo {
            id: self.u32()?,
            hash_start: self.u128()?,
            hash_end: self.u128()?,
            parent: self.opt_u32()?,
            adjacent_parent: self.opt_u32()?,
            starting_offset: self.u64()?,
            ending_offset: self.opt_u64()?,
            created_ms: self.i64()?,
        })
    }
    /// A stream as op 1 had it; the owner is derived from the name, op 11 overwrites it.
    fn stream_body(&mut self) -> Decoded<StreamInfo> {
        let name = self.str()?;
        let id = self.u64()?;
        let retention = Duration::from_millis(self.u64()?);
        let created_ms = self.i64()?;
        let next_shard_id = self.u32()?;
        let count = self.u32()?;
        let mut shards = Vec::new();
        for _ in 0..count {
            shards.push(self.shard()?);
        }
        Ok(StreamInfo {
            owner: Owner::derived_from_name(&name),
            name,
            id,
            retention,
            created_ms,
            shards,
            next_shard_id,
        })
    }
    fn op(&mut self) -> Decoded<Op> {
        Ok(match self.u8()? {
            OP_PUT_STREAM => Op::PutStream(self.stream_body()?),
            OP_PUT_STREAM_OWNED => {
                let mut stream = self.stream_body()?;
                stream.owner = Owner::new(&self.str()?).map_err(|_| "invalid stream owner")?;
                Op::PutStream(stream)
            }
            2 => Op::DeleteStream(self.str()?),
            3 => Op::SetRetention {
                stream: self.str()?,
                retention_ms: self.u64()?,
            },
            4 => Op::CloseShard {
                stream: self.str()?,
                shard: self.u32()?,
                ending_offset: self.u64()?,
            },
            5 => Op::AddShard {
                stream: self.str()?,
                shard: self.shard()?,
            },
            6 => Op::NextStreamId(self.u64()?),
            7 => Op::PutCursor {
                key: CursorKey {
                    name: self.str()?,
                    stream: self.str()?,
                    shard: self.u32()?,
                },
                offset: self.u64()?,
            },
            8 => Op::DeleteCursors(self.str()?),
            9 => Op::PutProperty {
                namespace: self.str()?,
                key: self.str()?,
                value: self.bytes()?,
            },
            10 => Op::DeleteProperty {
                namespace: self.str()?,
                key: self.str()?,
            },
            _ => return Err("unknown metadata op"),
        })
    }
}

fn encode_entry(ops: &[Op]) -> Vec<u8> {
    let mut payload = Encoder(Vec::new());
    payload.u32(u32::try_from(ops.len()).unwrap_or(u32::MAX));
    ops.iter().for_each(|op| payload.op(op));
    let mut out = Vec::with_capacity(payload.0.len() + 8);
    out.extend_from_slice(
        &u32::try_from(payload.0.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(&crc32fast::hash(&payload.0).to_le_bytes());
    out.extend_from_slice(&payload.0);
    out
}

/// Decodes consecutive entries; returns them and the byte length of the good prefix, plus why
/// decoding stopped early (if it did).
pub(crate) fn decode_entries(bytes: &[u8]) -> (Vec<Vec<Op>>, usize, Option<&'static str>) {
    let mut entries = Vec::new();
    let mut at = 0usize;
    loop {
        let Some(rest) = bytes.get(at..) else {
            return (entries, at, Some("bad position"));
        };
        if rest.is_empty() {
            return (entries, at, None);
        }
        let mut header = Decoder { bytes: rest, at: 0 };
        let (Ok(len), Ok(crc)) = (header.u32(), header.u32()) else {
            return (entries, at, Some("torn entry header"));
        };
        if len > ENTRY_BYTES_MAX {
            return (entries, at, Some("entry length out of range"));
        }
        let Some(payload) = rest.get(8..8 + len as usize) else {
            return (entries, at, Some("torn entry"));
        };
        if crc32fast::hash(payload) != crc {
            return (entries, at, Some("entry checksum mismatch"));
        }
        let mut decoder = Decoder {
            bytes: payload,
            at: 0,
        };
        let ops: Decoded<Vec<Op>> = (|| {
            let count = decoder.u32()?;
            let mut ops = Vec::new();
            for _ in 0..count {
                ops.push(decoder.op()?);
            }
            Ok(ops)
        })();
        match ops {
            Ok(ops) => entries.push(ops),
            Err(reason) => return (entries, at, Some(reason)),
        }
        at += 8 + len as usize;
    }
}

// ---- the store -----------------------------------------------------------------------------

pub(crate) struct MetaStore {
    dir: PathBuf,
    pub catalog: Catalog,
    generation: u64,
    journal: File,
    journal_len: u64,
    journal_bytes_max: u64,
    /// Injected I/O failures (tests); set by the log after opening.
    pub faults: Faults,
}

fn journal_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("journal.{generation}"))
}

impl MetaStore {
    pub(crate) fn open(dir: PathBuf, journal_bytes_max: u64) -> Result<Self> {
        std::fs::create_dir_all(&dir).context(|| format!("creating {}", dir.display()))?;
        let mut catalog = Catalog::default();
        let snapshot_path = dir.join("snapshot");
        let generation = match std::fs::read(&snapshot_path) {
            Ok(raw) => {
                let corrupt = |reason: &str| Error::Corrupt {
                    path: snapshot_path.clone(),
                    position: 0,
                    reason: reason.to_string(),
                };
                let magic = raw
                    .get(..4)
                    .and_then(|m| m.try_into().ok())
                    .map(u32::from_le_bytes);
                if magic != Some(SNAPSHOT_MAGIC) {
                    return Err(corrupt("bad magic"));
                }
                let generation = raw
                    .get(4..12)
                    .and_then(|g| g.try_into().ok())
                    .map(u64::from_le_bytes)
                    .ok_or_else(|| corrupt("short header"))?;
                let body = raw.get(12..).unwrap_or_default();
                let (entries, _, stopped) = decode_entries(body);
                if let Some(reason) = stopped {
                    // A snapshot is renamed into place only once complete and synced.
                    return Err(corrupt(reason));
                }
                entries.iter().flatten().for_each(|op| catalog.apply(op));
                generation
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => 0,
            Err(source) => {
                return Err(Error::Io {
                    context: format!("reading {}", snapshot_path.display()),
                    source,
                });
            }
        };
        let path = journal_path(&dir, generation);
        let journal = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .context(|| format!("opening {}", path.display()))?;
        let raw = std::fs::read(&path).context(|| format!("reading {}", path.display()))?;
        let (entries, good, stopped) = decode_entries(&raw);
        entries.iter().flatten().for_each(|op| catalog.apply(op));
        if let Some(reason) = stopped {
            tracing::warn!(journal = %path.display(), at = good, dropped = raw.len() - good, reason, "Truncating torn metadata journal tail");
            journal
                .set_len(good as u64)
                .context(|| format!("truncating {}", path.display()))?;
            journal
                .sync_all()
                .context(|| format!("syncing {}", path.display()))?;
        }
        // Journals of other generations are leftovers of an interrupted compaction.
        if let Ok(listing) = std::fs::read_dir(&dir) {
            for entry in listing.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let stale = name
                    .strip_prefix("journal.")
                    .and_then(|g| g.parse::<u64>().ok())
                    .is_some_and(|g| g != generation);
                if stale || name == "snapshot.tmp" {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        let faults = Faults::default();
        sync_dir(&dir, &faults)?;
        Ok(Self {
            dir,
            catalog,
            generation,
            journal,
            journal_len: good as u64,
            journal_bytes_max,
            faults,
        })
    }

    /// Makes `ops` durable, then applies them.
    pub(crate) fn commit(&mut self, ops: Vec<Op>) -> Result<()> {
        let entry = encode_entry(&ops);
        let path = journal_path(&self.dir, self.generation);
        // A full disk is `StorageFull`: the entry is not written (bytes of a partial write lie
        // past `journal_len` and are cut, or overwritten by the next entry), nothing changes.
        let written = match self.faults.inject(IoPoint::MetaWrite) {
            Some(Fault::Short(errno)) => {
                let half = entry.get(..entry.len() / 2).unwrap_or_default();
                let _ = self.journal.write_all_at(half, self.journal_len);
                Err(std::io::Error::from_raw_os_error(errno))
            }
            Some(fault) => Err(fault.error()),
            None => self.journal.write_all_at(&entry, self.journal_len),
        };
        if let Err(source) = written {
            self.forget_failed_entry(&path);
            return Err(Error::from_io(
                format!("writing {}", path.display()),
                source,
            ));
        }
        let synced = self
            .faults
            .check(IoPoint::MetaSync)
            .and_then(|()| self.journal.sync_data());
        if let Err(source) = synced {
            // The entry is complete in the page cache and may still reach the disk: it must
            // not come back at the next open as a change that was refused.
            self.forget_failed_entry(&path);
            return Err(Error::io(format!("syncing {}", path.display()), source));
        }
        self.journal_len += entry.len() as u64;
        ops.iter().for_each(|op| self.catalog.apply(op));
        if self.journal_len > self.journal_bytes_max
            && let Err(error) = self.compact()
        {
            // The change is durable in the journal; compaction is tried again next time.
            tracing::warn!(%error, "Metadata compaction failed; the journal keeps growing");
        }
        Ok(())
    }

    /// Cuts what a failed commit may have left past the last good entry, so it cannot be
    /// read back as a change at the next open. If even that fails, the next commit's entry
    /// overwrites those bytes, and an open before then would find a refused change: logged.
    fn forget_failed_entry(&self, path: &Path) {
        let cut = self
            .journal
            .set_len(self.journal_len)
            .and_then(|()| self.journal.sync_all());
        if let Err(error) = cut {
            tracing::error!(journal = %path.display(), %error, "Could not cut a failed metadata entry; it is overwritten by the next change");
        }
    }

    /// Writes the catalog as a snapshot of the next generation and starts its empty journal.
    pub(crate) fn compact(&mut self) -> Result<()> {
        let next = self.generation + 1;
        let journal_path_next = journal_path(&self.dir, next);
        let journal = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&journal_path_next)
            .context(|| format!("creating {}", journal_path_next.display()))?;
        let mut raw = Vec::new();
        raw.extend_from_slice(&SNAPSHOT_MAGIC.to_le_bytes());
        raw.extend_from_slice(&next.to_le_bytes());
        for op in self.catalog.to_ops() {
            raw.extend_from_slice(&encode_entry(std::slice::from_ref(&op)));
        }
        let tmp = self.dir.join("snapshot.tmp");
        let mut file = File::create(&tmp).context(|| format!("creating {}", tmp.display()))?;
        file.write_all(&raw)
            .and_then(|()| file.sync_all())
            .context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, self.dir.join("snapshot"))
            .context(|| "installing the metadata snapshot".to_string())?;
        sync_dir(&self.dir, &self.faults)?;
        let _ = std::fs::remove_file(journal_path(&self.dir, self.generation));
        self.generation = next;
        self.journal = journal;
        self.journal_len = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
