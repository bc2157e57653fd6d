//! What a stream queue keeps, in domain words, and its hand-written byte layouts.
//!
//! State keys (the queue's engine stream's keyed state):
//!
//! ```text
//! c                                  QueueConfig
//! f/<shard u32 BE>                   frontier: u64 BE, the first offset never yet delivered
//! m/<shard u32 BE><offset u64 BE>    Mark of a delivered, unfinished record
//! ```
//!
//! Mark layout (little-endian):
//!
//! ```text
//! visible_at_ms     i64   when it can be received again
//! receive_count     u32   deliveries without acknowledgement
//! first_receive_ms  i64
//! generation        u32   bumped by every delivery; a receipt names one
//! dead_letter       u8    0 or 1
//! ```
//!
//! Config layout: version u8 = 2, then its fields in declaration order (strings as u32
//! length + UTF-8, options as a u8 flag then the value, tags as a u32 count of pairs).
//! Version 1, written before `updated_ms`, ends at `created_ms` and still decodes (its
//! `updated_ms` is its `created_ms`).
#![deny(clippy::indexing_slicing)]

use std::collections::BTreeMap;

/// The configuration key.
pub const CONFIG_KEY: &[u8] = b"c";
/// Prefix of frontier keys.
pub const FRONTIER_PREFIX: &[u8] = b"f/";
/// Prefix of mark keys.
pub const MARK_PREFIX: &[u8] = b"m/";

/// The key of a shard's frontier.
pub fn frontier_key(shard: u32) -> Vec<u8> {
    let mut key = FRONTIER_PREFIX.to_vec();
    key.extend_from_slice(&shard.to_be_bytes());
    key
}

/// The key of a record's mark.
pub fn mark_key(shard: u32, offset: u64) -> Vec<u8> {
    let mut key = MARK_PREFIX.to_vec();
    key.extend_from_slice(&shard.to_be_bytes());
    key.extend_from_slice(&offset.to_be_bytes());
    key
}

/// The shard of a frontier key.
pub fn parse_frontier_key(key: &[u8]) -> Option<u32> {
    let rest = key.strip_prefix(FRONTIER_PREFIX)?;
    Some(u32::from_be_bytes(<[u8; 4]>::try_from(rest).ok()?))
}

/// The shard and offset of a mark key.
pub fn parse_mark_key(key: &[u8]) -> Option<(u32, u64)> {
    let rest = key.strip_prefix(MARK_PREFIX)?;
    let (shard, offset) = rest.split_first_chunk::<4>()?;
    let offset = <[u8; 8]>::try_from(offset).ok()?;
    Some((u32::from_be_bytes(*shard), u64::from_be_bytes(offset)))
}

/// Where delivery begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// The oldest retained record.
    TrimHorizon,
    /// Records that arrive after the queue is created.
    Latest,
    /// Records that arrived at or after this time (ms).
    AtTimestamp(i64),
}

impl Start {
    /// The AWS name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TrimHorizon => "TRIM_HORIZON",
            Self::Latest => "LATEST",
            Self::AtTimestamp(_) => "AT_TIMESTAMP",
        }
    }
}

/// Dead-letter handling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadLetter {
    /// A record received this many times without acknowledgement becomes a dead-letter
    /// record once its visibility ends.
    BuiltIn {
        /// 1 to 1000.
        receive_count_max: u32,
    },
    /// Redelivered until acknowledged or trimmed.
    None,
}

/// A queue's changeable attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attributes {
    /// Seconds a delivered record stays invisible (0 to 43200).
    pub visibility_timeout_s: u32,
    /// Dead-letter handling.
    pub dead_letter: DeadLetter,
}

impl Default for Attributes {
    fn default() -> Self {
        Self {
            visibility_timeout_s: super::limits::VISIBILITY_TIMEOUT_S_DEFAULT,
            dead_letter: DeadLetter::BuiltIn {
                receive_count_max: super::limits::RECEIVE_COUNT_MAX_DEFAULT,
            },
        }
    }
}

/// A change of attributes: `None` keeps the current value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttributeChanges {
    /// A new visibility timeout.
    pub visibility_timeout_s: Option<u32>,
    /// New dead-letter handling.
    pub dead_letter: Option<DeadLetter>,
}

impl Attributes {
    /// These attributes with `changes` applied.
    #[must_use]
    pub fn with(self, changes: AttributeChanges) -> Self {
        Self {
            visibility_timeout_s: changes
                .visibility_timeout_s
                .unwrap_or(self.visibility_timeout_s),
            dead_letter: changes.dead_letter.unwrap_or(self.dead_letter),
        }
    }
}

/// A queue's durable configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// Its name, unique in the account.
    pub name: String,
    /// Its generated id (the ARN's resource part after `queue/`).
    pub id: String,
    /// The Kinesis stream it delivers from.
    pub stream: String,
    /// That stream's engine id (a recreated stream has another).
    pub stream_id: u64,
    /// That stream's creation time (ms).
    pub stream_created_ms: i64,
    /// Where delivery began.
    pub start: Start,
    /// The effective starting time (ms): the creation time for LATEST, the earliest readable
    /// time for TRIM_HORIZON, the later of the two for AT_TIMESTAMP.
    pub effective_start_ms: i64,
    /// Its attributes.
    pub attributes: Attributes,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// When it was created (ms).
    pub created_ms: i64,
    /// When UpdateQueue last changed its attributes (ms; its creation time if never).
    /// Tag changes leave it alone.
    pub updated_ms: i64,
}

const CONFIG_VERSION: u8 = 2;
/// The layout without `updated_ms`.
const CONFIG_VERSION_1: u8 = 1;

fn put_str(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&u32::try_from(text.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

impl QueueConfig {
    /// The stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![CONFIG_VERSION];
        put_str(&mut out, &self.name);
        put_str(&mut out, &self.id);
        put_str(&mut out, &self.stream);
        out.extend_from_slice(&self.stream_id.to_le_bytes());
        out.extend_from_slice(&self.stream_created_ms.to_le_bytes());
        match self.start {
            Start::TrimHorizon => out.push(0),
            Start::Latest => out.push(1),
            Start::AtTimestamp(ms) => {
                out.push(2);
                out.extend_from_slice(&ms.to_le_bytes());
            }
        }
        out.extend_from_slice(&self.effective_start_ms.to_le_bytes());
        out.extend_from_slice(&self.attributes.visibility_timeout_s.to_le_bytes());
        match self.attributes.dead_letter {
            DeadLetter::BuiltIn { receive_count_max } => {
                out.push(1);
                out.extend_from_slice(&receive_count_max.to_le_bytes());
            }
            DeadLetter::None => out.push(0),
        }
        out.extend_from_slice(&u32::try_from(self.tags.len()).unwrap_or(0).to_le_bytes());
        for (key, value) in &self.tags {
            put_str(&mut out, key);
            put_str(&mut out, value);
        }
        out.extend_from_slice(&self.created_ms.to_le_bytes());
        out.extend_from_slice(&self.updated_ms.to_le_bytes());
        out
    }

    /// Decodes stored bytes; `None` when they are not a configuration of this layout.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let version = r.u8()?;
        if version != CONFIG_VERSION && version != CONFIG_VERSION_1 {
            return None;
        }
        let name = r.string()?;
        let id = r.string()?;
        let stream = r.string()?;
        let stream_id = r.u64()?;
        let stream_created_ms = r.i64()?;
        let start = match r.u8()? {
            0 => Start::TrimHorizon,
            1 => Start::Latest,
            2 => Start::AtTimestamp(r.i64()?),
            _ => return None,
        };
        let effective_start_ms = r.i64()?;
        let visibility_timeout_s = r.u32()?;
        let dead_letter = match r.u8()? {
            1 => DeadLetter::BuiltIn {
                receive_count_max: r.u32()?,
            },
            0 => DeadLetter::None,
            _ => return None,
        };
        let count = r.u32()?;
        let mut tags = BTreeMap::new();
        for _ in 0..count {
            let key = r.string()?;
            tags.insert(key, r.string()?);
        }
        let created_ms = r.i64()?;
        let updated_ms = if version == CONFIG_VERSION_1 {
            created_ms
        } else {
            r.i64()?
        };
        r.0.is_empty().then_some(Self {
            name,
            id,
            stream,
            stream_id,
            stream_created_ms,
            start,
            effective_start_ms,
            attributes: Attributes {
                visibility_timeout_s,
                dead_letter,
            },
            tags,
            created_ms,
            updated_ms,
        })
    }
}

/// The delivery state of a received, unfinished record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    /// When it can be received again (ms).
    pub visible_at_ms: i64,
    /// Deliveries without acknowledgement (a restore sets it to 0).
    pub receive_count: u32,
    /// The first delivery's time (ms).
    pub first_receive_ms: i64,
    /// Bumped by every delivery; only the newest receipt handle acts on the record.
    pub generation: u32,
    /// A dead-letter record: only the dead-letter operations see it.
    pub dead_letter: bool,
}

const MARK_BYTES: usize = 8 + 4 + 8 + 4 + 1;

impl Mark {
    /// The stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MARK_BYTES);
        out.extend_from_slice(&self.visible_at_ms.to_le_bytes());
        out.extend_from_slice(&self.receive_count.to_le_bytes());
        out.extend_from_slice(&self.first_receive_ms.to_le_bytes());
        out.extend_from_slice(&self.generation.to_le_bytes());
        out.push(u8::from(self.dead_letter));
        out
    }

    /// Decodes stored bytes.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader(bytes);
        let mark = Self {
            visible_at_ms: r.i64()?,
            receive_count: r.u32()?,
            first_receive_ms: r.i64()?,
            generation: r.u32()?,
            dead_letter: match r.u8()? {
                0 => false,
                1 => true,
                _ => return None,
            },
        };
        r.0.is_empty().then_some(mark)
    }
}

/// A bounds-checked reader of stored bytes.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }

    fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_le_bytes)
    }

    fn string(&mut self) -> Option<String> {
        let length = usize::try_from(self.u32()?).ok()?;
        if length > self.0.len() {
            return None;
        }
        let (text, rest) = self.0.split_at(length);
        self.0 = rest;
        String::from_utf8(text.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use super::*;

    #[test]
    fn config_and_marks_round_trip_and_truncations_are_refused() {
        let config = QueueConfig {
            name: "q".into(),
            id: "abc".into(),
            stream: "s".into(),
            stream_id: 4,
            stream_created_ms: 5,
            start: Start::AtTimestamp(6),
            effective_start_ms: 7,
            attributes: Attributes {
                visibility_timeout_s: 8,
                dead_letter: DeadLetter::BuiltIn {
                    receive_count_max: 9,
                },
            },
            tags: BTreeMap::from([("k".into(), "v".into())]),
            created_ms: 10,
            updated_ms: 11,
        };
        let bytes = config.encode();
        assert_eq!(QueueConfig::decode(&bytes), Some(config.clone()));
        for cut in 0..bytes.len() {
            assert_eq!(QueueConfig::decode(bytes.get(..cut).unwrap()), None);
        }
        // Version 1 ends at `created_ms`; its update time is its creation time.
        let mut v1 = bytes[..bytes.len() - 8].to_vec();
        v1[0] = CONFIG_VERSION_1;
        assert_eq!(
            QueueConfig::decode(&v1),
            Some(QueueConfig {
                updated_ms: 10,
                ..config
            })
        );
        let mut unknown = bytes.clone();
        unknown[0] = 3;
        assert_eq!(QueueConfig::decode(&unknown), None);
        let mark = Mark {
            visible_at_ms: -1,
            receive_count: 2,
            first_receive_ms: 3,
            generation: 4,
            dead_letter: true,
        };
        assert_eq!(Mark::decode(&mark.encode()), Some(mark));
        assert_eq!(Mark::decode(&mark.encode()[1..]), None);
        assert_eq!(parse_mark_key(&mark_key(3, 99)), Some((3, 99)));
        assert_eq!(parse_frontier_key(&frontier_key(3)), Some(3));
    }
}
