//! Request bodies, one struct per operation. Byte layouts are in `protocol/README.md`.
#![deny(clippy::indexing_slicing)]

use bytes::{BufMut, Bytes, BytesMut};

use super::auth::PROOF_BYTES;
use super::{
    ACCESS_KEY_ID_BYTES_MAX, CURSOR_NAME_BYTES_MAX, PARTITION_KEY_BYTES_MAX,
    PARTITION_KEY_BYTES_MIN, PEER_NAME_BYTES_MAX, PRODUCE_RECORDS_MAX, STREAM_NAME_BYTES_MAX,
};
use crate::codec::{
    DecodeError, Message, Reader, long_bytes_size, option_size, put_long_bytes, put_option,
    put_short_bytes, short_bytes_size,
};

/// Reads a stream name: 1 to [`STREAM_NAME_BYTES_MAX`] bytes of UTF-8.
fn read_stream_name(reader: &mut Reader<'_>) -> Result<String, DecodeError> {
    reader.string("stream", 1, STREAM_NAME_BYTES_MAX)
}

/// Opens a connection: the client's range of protocol versions and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// Oldest version the client speaks.
    pub protocol_version_min: u16,
    /// Newest version the client speaks.
    pub protocol_version_max: u16,
    /// For logs and metrics; at most [`PEER_NAME_BYTES_MAX`] bytes.
    pub client_name: String,
}

impl Hello {
    /// The newest version both sides speak, or `None` (answer `UnsupportedVersion`).
    #[must_use]
    pub fn negotiate(&self, server_version_min: u16, server_version_max: u16) -> Option<u16> {
        let version = self.protocol_version_max.min(server_version_max);
        (version >= self.protocol_version_min && version >= server_version_min).then_some(version)
    }
}

impl Message for Hello {
    const MIN_ENCODED_SIZE: usize = 6;

    fn encoded_size(&self) -> usize {
        4 + short_bytes_size(self.client_name.as_bytes())
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(self.protocol_version_min);
        out.put_u16_le(self.protocol_version_max);
        put_short_bytes(out, self.client_name.as_bytes());
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            protocol_version_min: reader.u16()?,
            protocol_version_max: reader.u16()?,
            client_name: reader.string("client_name", 0, PEER_NAME_BYTES_MAX)?,
        })
    }
}

/// Authenticates the connection: an access key id and the proof over the nonce of this
/// connection's `HelloOk` (see [`super::auth`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Authenticate {
    /// 1 to [`ACCESS_KEY_ID_BYTES_MAX`] bytes of UTF-8.
    pub access_key_id: String,
    /// `auth::proof(secret, nonce, access_key_id)`.
    pub proof: [u8; PROOF_BYTES],
}

impl std::fmt::Debug for Authenticate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The proof is as good as a password for this one connection: never logged.
        f.debug_struct("Authenticate")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Message for Authenticate {
    const MIN_ENCODED_SIZE: usize = 2 + 1 + PROOF_BYTES;

    fn encoded_size(&self) -> usize {
        short_bytes_size(self.access_key_id.as_bytes()) + PROOF_BYTES
    }

    fn encode(&self, out: &mut BytesMut) {
        put_short_bytes(out, self.access_key_id.as_bytes());
        out.put_slice(&self.proof);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let access_key_id = reader.string("access_key_id", 1, ACCESS_KEY_ID_BYTES_MAX)?;
        let mut proof = [0; PROOF_BYTES];
        proof.copy_from_slice(reader.take(PROOF_BYTES)?);
        Ok(Self {
            access_key_id,
            proof,
        })
    }
}

/// Creates a stream with `shard_count` shards splitting the hash space evenly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateStream {
    /// 1 to [`STREAM_NAME_BYTES_MAX`] bytes.
    pub name: String,
    /// How many shards to start with.
    pub shard_count: u32,
    /// How long records are kept.
    pub retention_hours: u32,
}

impl Message for CreateStream {
    const MIN_ENCODED_SIZE: usize = 11;

    fn encoded_size(&self) -> usize {
        short_bytes_size(self.name.as_bytes()) + 8
    }

    fn encode(&self, out: &mut BytesMut) {
        put_short_bytes(out, self.name.as_bytes());
        out.put_u32_le(self.shard_count);
        out.put_u32_le(self.retention_hours);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            name: read_stream_name(reader)?,
            shard_count: reader.u32()?,
            retention_hours: reader.u32()?,
        })
    }
}

/// A request whose whole body is one stream name.
macro_rules! name_only {
    ($(#[$doc:meta])* $type:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $type {
            /// 1 to [`STREAM_NAME_BYTES_MAX`] bytes.
            pub name: String,
        }

        impl Message for $type {
            const MIN_ENCODED_SIZE: usize = 3;

            fn encoded_size(&self) -> usize {
                short_bytes_size(self.name.as_bytes())
            }

            fn encode(&self, out: &mut BytesMut) {
                put_short_bytes(out, self.name.as_bytes());
            }

            fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(Self { name: read_stream_name(reader)? })
            }
        }
    };
}

name_only!(
    /// Deletes a stream and all its records.
    DeleteStream
);
name_only!(
    /// Asks for a stream's shards and settings.
    DescribeStream
);

/// Asks for every stream's name. The body is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListStreams {}

impl Message for ListStreams {
    const MIN_ENCODED_SIZE: usize = 0;

    fn encoded_size(&self) -> usize {
        0
    }

    fn encode(&self, _out: &mut BytesMut) {}

    fn read(_reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {})
    }
}

/// Where a produced record goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Hashed to a shard: by `explicit_hash_key` if present, else by the key's hash.
    PartitionKey {
        /// 1 to 256 bytes of UTF-8; stored with the record.
        key: Bytes,
        /// Overrides the key's hash when choosing the shard.
        explicit_hash_key: Option<u128>,
    },
    /// Straight to one shard.
    Shard(u32),
}

/// One record of a [`Produce`] request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceRecord {
    /// Which shard receives it.
    pub target: Target,
    /// The payload; its size limit is the server's, not the protocol's.
    pub data: Bytes,
}

impl Message for ProduceRecord {
    /// A shard target (tag + u32) and empty data (u32 length).
    const MIN_ENCODED_SIZE: usize = 9;

    fn encoded_size(&self) -> usize {
        let target = match &self.target {
            Target::PartitionKey {
                key,
                explicit_hash_key,
            } => short_bytes_size(key) + option_size(*explicit_hash_key, 16),
            Target::Shard(_) => 4,
        };
        1 + target + long_bytes_size(&self.data)
    }

    fn encode(&self, out: &mut BytesMut) {
        match &self.target {
            Target::PartitionKey {
                key,
                explicit_hash_key,
            } => {
                out.put_u8(0);
                put_short_bytes(out, key);
                put_option(out, *explicit_hash_key, BytesMut::put_u128_le);
            }
            Target::Shard(shard) => {
                out.put_u8(1);
                out.put_u32_le(*shard);
            }
        }
        put_long_bytes(out, &self.data);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = reader.offset();
        let target = match reader.u8()? {
            0 => {
                let key_offset = reader.offset() + 2;
                let key = reader.short_bytes(
                    "partition_key",
                    PARTITION_KEY_BYTES_MIN,
                    PARTITION_KEY_BYTES_MAX,
                )?;
                if std::str::from_utf8(key).is_err() {
                    return Err(DecodeError::InvalidUtf8 {
                        offset: key_offset,
                        field: "partition_key",
                    });
                }
                Target::PartitionKey {
                    key: reader.bytes_of(key),
                    explicit_hash_key: reader.option("explicit_hash_key", Reader::u128)?,
                }
            }
            1 => Target::Shard(reader.u32()?),
            tag => {
                return Err(DecodeError::InvalidTag {
                    offset,
                    field: "target",
                    tag,
                });
            }
        };
        let data = reader.long_bytes("data", 0, usize::MAX)?;
        Ok(Self {
            target,
            data: reader.bytes_of(data),
        })
    }
}

/// Appends records to a stream. The response has one result per record, in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Produce {
    /// The stream's name.
    pub stream: String,
    /// At most [`PRODUCE_RECORDS_MAX`].
    pub records: Vec<ProduceRecord>,
}

impl Message for Produce {
    const MIN_ENCODED_SIZE: usize = 7;

    fn encoded_size(&self) -> usize {
        short_bytes_size(self.stream.as_bytes())
            + 4
            + self
                .records
                .iter()
                .map(Message::encoded_size)
                .sum::<usize>()
    }

    fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_size());
        put_short_bytes(out, self.stream.as_bytes());
        crate::codec::put_count(out, self.records.len());
        for record in &self.records {
            record.encode(out);
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            stream: read_stream_name(reader)?,
            records: reader.vec("records", PRODUCE_RECORDS_MAX)?,
        })
    }
}

/// Where a fetch starts reading a shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartPosition {
    /// At this offset.
    AtOffset(u64),
    /// At the offset after this one.
    AfterOffset(u64),
    /// At the first record whose timestamp is at or after this many ms since the epoch.
    AtTimestamp(i64),
    /// At the oldest record retention has kept.
    TrimHorizon,
    /// After the newest record: only records produced from now on.
    Latest,
}

/// Reads records from one shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    /// The stream's name.
    pub stream: String,
    /// The shard's id.
    pub shard: u32,
    /// Where to start.
    pub start: StartPosition,
    /// Upper bound on records returned.
    pub max_records: u32,
    /// Upper bound on record bytes returned (at least one record is returned if any).
    pub max_bytes: u32,
    /// How long the server may wait for a first record before answering with none.
    pub max_wait_ms: u32,
}

impl Message for Fetch {
    const MIN_ENCODED_SIZE: usize = 3 + 4 + 1 + 12;

    fn encoded_size(&self) -> usize {
        let start = match self.start {
            StartPosition::AtOffset(_)
            | StartPosition::AfterOffset(_)
            | StartPosition::AtTimestamp(_) => 8,
            StartPosition::TrimHorizon | StartPosition::Latest => 0,
        };
        short_bytes_size(self.stream.as_bytes()) + 4 + 1 + start + 12
    }

    fn encode(&self, out: &mut BytesMut) {
        put_short_bytes(out, self.stream.as_bytes());
        out.put_u32_le(self.shard);
        match self.start {
            StartPosition::AtOffset(offset) => {
                out.put_u8(0);
                out.put_u64_le(offset);
            }
            StartPosition::AfterOffset(offset) => {
                out.put_u8(1);
                out.put_u64_le(offset);
            }
            StartPosition::AtTimestamp(timestamp_ms) => {
                out.put_u8(2);
                out.put_i64_le(timestamp_ms);
            }
            StartPosition::TrimHorizon => out.put_u8(3),
            StartPosition::Latest => out.put_u8(4),
        }
        out.put_u32_le(self.max_records);
        out.put_u32_le(self.max_bytes);
        out.put_u32_le(self.max_wait_ms);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let stream = read_stream_name(reader)?;
        let shard = reader.u32()?;
        let offset = reader.offset();
        let start = match reader.u8()? {
            0 => StartPosition::AtOffset(reader.u64()?),
            1 => StartPosition::AfterOffset(reader.u64()?),
            2 => StartPosition::AtTimestamp(reader.i64()?),
            3 => StartPosition::TrimHorizon,
            4 => StartPosition::Latest,
            tag => {
                return Err(DecodeError::InvalidTag {
                    offset,
                    field: "start_position",
                    tag,
                });
            }
        };
        Ok(Self {
            stream,
            shard,
            start,
            max_records: reader.u32()?,
            max_bytes: reader.u32()?,
            max_wait_ms: reader.u32()?,
        })
    }
}

/// Durably records a named consumer's position in one shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitCursor {
    /// The cursor's (consumer's) name, 1 to [`CURSOR_NAME_BYTES_MAX`] bytes.
    pub name: String,
    /// The stream's name.
    pub stream: String,
    /// The shard's id.
    pub shard: u32,
    /// The next offset the consumer will read.
    pub offset: u64,
}

impl Message for CommitCursor {
    const MIN_ENCODED_SIZE: usize = 3 + 3 + 12;

    fn encoded_size(&self) -> usize {
        short_bytes_size(self.name.as_bytes()) + short_bytes_size(self.stream.as_bytes()) + 12
    }

    fn encode(&self, out: &mut BytesMut) {
        put_short_bytes(out, self.name.as_bytes());
        put_short_bytes(out, self.stream.as_bytes());
        out.put_u32_le(self.shard);
        out.put_u64_le(self.offset);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            name: reader.string("cursor_name", 1, CURSOR_NAME_BYTES_MAX)?,
            stream: read_stream_name(reader)?,
            shard: reader.u32()?,
            offset: reader.u64()?,
        })
    }
}

/// Reads a named consumer's committed position in one shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchCursor {
    /// The cursor's name.
    pub name: String,
    /// The stream's name.
    pub stream: String,
    /// The shard's id.
    pub shard: u32,
}

impl Message for FetchCursor {
    const MIN_ENCODED_SIZE: usize = 3 + 3 + 4;

    fn encoded_size(&self) -> usize {
        short_bytes_size(self.name.as_bytes()) + short_bytes_size(self.stream.as_bytes()) + 4
    }

    fn encode(&self, out: &mut BytesMut) {
        put_short_bytes(out, self.name.as_bytes());
        put_short_bytes(out, self.stream.as_bytes());
        out.put_u32_le(self.shard);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            name: reader.string("cursor_name", 1, CURSOR_NAME_BYTES_MAX)?,
            stream: read_stream_name(reader)?,
            shard: reader.u32()?,
        })
    }
}

/// Splits an open shard in two at a hash key: the shard closes, and two children take its
/// hash range, the lower one `hash_start..new_starting_hash_key` and the upper one
/// `new_starting_hash_key..=hash_end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitShard {
    /// The stream's name.
    pub stream: String,
    /// The open shard to split.
    pub shard: u32,
    /// The upper child's first hash key: above the shard's first hash key and at most its
    /// last (the server answers `InvalidArgument` otherwise).
    pub new_starting_hash_key: u128,
}

impl Message for SplitShard {
    const MIN_ENCODED_SIZE: usize = 3 + 4 + 16;

    fn encoded_size(&self) -> usize {
        short_bytes_size(self.stream.as_bytes()) + 4 + 16
    }

    fn encode(&self, out: &mut BytesMut) {
        put_short_bytes(out, self.stream.as_bytes());
        out.put_u32_le(self.shard);
        out.put_u128_le(self.new_starting_hash_key);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            stream: read_stream_name(reader)?,
            shard: reader.u32()?,
            new_starting_hash_key: reader.u128()?,
        })
    }
}

/// Merges two open shards whose hash ranges are adjacent into one child: both close, and
/// the child takes their joint range. `shard` becomes the child's parent and
/// `adjacent_shard` its adjacent parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeShards {
    /// The stream's name.
    pub stream: String,
    /// One open shard.
    pub shard: u32,
    /// An open shard whose range starts right after `shard`'s ends, or ends right before it
    /// starts.
    pub adjacent_shard: u32,
}

impl Message for MergeShards {
    const MIN_ENCODED_SIZE: usize = 3 + 4 + 4;

    fn encoded_size(&self) -> usize {
        short_bytes_size(self.stream.as_bytes()) + 4 + 4
    }

    fn encode(&self, out: &mut BytesMut) {
        put_short_bytes(out, self.stream.as_bytes());
        out.put_u32_le(self.shard);
        out.put_u32_le(self.adjacent_shard);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            stream: read_stream_name(reader)?,
            shard: reader.u32()?,
            adjacent_shard: reader.u32()?,
        })
    }
}
