//! Response bodies, one struct per answer. Byte layouts are in `protocol/README.md`.
#![deny(clippy::indexing_slicing)]

use bytes::{BufMut, Bytes, BytesMut};

use super::auth::{AUTH_VERSION_MIN, NONCE_BYTES};
use super::{
    ERROR_MESSAGE_BYTES_MAX, ErrorCode, FETCHED_KEY_BYTES_MAX, FRAME_HEADER_SIZE, FrameHeader,
    Kind, Op, PEER_NAME_BYTES_MAX, PRODUCE_RECORDS_MAX, STREAM_NAME_BYTES_MAX,
};
use crate::codec::{
    DecodeError, Message, Reader, option_size, put_count, put_option, put_short_bytes,
    short_bytes_size,
};

/// Accepts a connection at the negotiated version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloOk {
    /// The version both sides now speak.
    pub version: u16,
    /// For logs; at most [`PEER_NAME_BYTES_MAX`] bytes.
    pub server_name: String,
    /// The largest frame the server accepts; the client must not send larger.
    pub frame_bytes_max: u32,
    /// From version 2: `Some(nonce)` when the server requires `Authenticate` before any other
    /// request (the nonce is this connection's challenge, see [`super::auth`]). Not encoded
    /// at version 1, where it must be `None`.
    pub auth_nonce: Option<[u8; NONCE_BYTES]>,
}

/// `HelloOk`'s authentication method byte (version 2 on): none required.
const AUTH_NONE: u8 = 0;
/// `HelloOk`'s authentication method byte: HMAC-SHA256 over the nonce that follows.
const AUTH_HMAC_SHA256: u8 = 1;

impl Message for HelloOk {
    const MIN_ENCODED_SIZE: usize = 8;

    fn encoded_size(&self) -> usize {
        let auth = if self.version >= AUTH_VERSION_MIN {
            1 + self.auth_nonce.map_or(0, |nonce| nonce.len())
        } else {
            0
        };
        2 + short_bytes_size(self.server_name.as_bytes()) + 4 + auth
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u16_le(self.version);
        put_short_bytes(out, self.server_name.as_bytes());
        out.put_u32_le(self.frame_bytes_max);
        if self.version >= AUTH_VERSION_MIN {
            match &self.auth_nonce {
                Some(nonce) => {
                    out.put_u8(AUTH_HMAC_SHA256);
                    out.put_slice(nonce);
                }
                None => out.put_u8(AUTH_NONE),
            }
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = reader.u16()?;
        let server_name = reader.string("server_name", 0, PEER_NAME_BYTES_MAX)?;
        let frame_bytes_max = reader.u32()?;
        let auth_nonce = if version >= AUTH_VERSION_MIN {
            let offset = reader.offset();
            match reader.u8()? {
                AUTH_NONE => None,
                AUTH_HMAC_SHA256 => {
                    let mut nonce = [0; NONCE_BYTES];
                    nonce.copy_from_slice(reader.take(NONCE_BYTES)?);
                    Some(nonce)
                }
                tag => {
                    return Err(DecodeError::InvalidTag {
                        offset,
                        field: "auth",
                        tag,
                    });
                }
            }
        } else {
            None
        };
        Ok(Self {
            version,
            server_name,
            frame_bytes_max,
            auth_nonce,
        })
    }
}

/// Every stream's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamList {
    /// Names, in the server's order.
    pub names: Vec<String>,
}

fn read_stream_name(reader: &mut Reader<'_>) -> Result<String, DecodeError> {
    reader.string("name", 1, STREAM_NAME_BYTES_MAX)
}

impl Message for StreamList {
    const MIN_ENCODED_SIZE: usize = 4;

    fn encoded_size(&self) -> usize {
        4 + self
            .names
            .iter()
            .map(|name| short_bytes_size(name.as_bytes()))
            .sum::<usize>()
    }

    fn encode(&self, out: &mut BytesMut) {
        put_count(out, self.names.len());
        for name in &self.names {
            put_short_bytes(out, name.as_bytes());
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            names: reader.vec_with("names", usize::MAX, 3, read_stream_name)?,
        })
    }
}

/// One shard of a stream: its hash range and its place in the split/merge lineage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardDescription {
    /// The shard's id, unique within the stream.
    pub id: u32,
    /// First hash key the shard owns.
    pub hash_start: u128,
    /// Last hash key the shard owns (inclusive).
    pub hash_end: u128,
    /// The shard this one was split or merged from.
    pub parent: Option<u32>,
    /// The other shard of a merge.
    pub adjacent_parent: Option<u32>,
    /// The shard's first offset.
    pub starting_offset: u64,
    /// The shard's last offset, once it is closed by a split or merge.
    pub ending_offset: Option<u64>,
}

impl Message for ShardDescription {
    const MIN_ENCODED_SIZE: usize = 4 + 16 + 16 + 1 + 1 + 8 + 1;

    fn encoded_size(&self) -> usize {
        4 + 16
            + 16
            + option_size(self.parent, 4)
            + option_size(self.adjacent_parent, 4)
            + 8
            + option_size(self.ending_offset, 8)
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u32_le(self.id);
        out.put_u128_le(self.hash_start);
        out.put_u128_le(self.hash_end);
        put_option(out, self.parent, BytesMut::put_u32_le);
        put_option(out, self.adjacent_parent, BytesMut::put_u32_le);
        out.put_u64_le(self.starting_offset);
        put_option(out, self.ending_offset, BytesMut::put_u64_le);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            id: reader.u32()?,
            hash_start: reader.u128()?,
            hash_end: reader.u128()?,
            parent: reader.option("parent", Reader::u32)?,
            adjacent_parent: reader.option("adjacent_parent", Reader::u32)?,
            starting_offset: reader.u64()?,
            ending_offset: reader.option("ending_offset", Reader::u64)?,
        })
    }
}

/// A stream's settings and shards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamDescription {
    /// The stream's name.
    pub name: String,
    /// How long records are kept.
    pub retention_hours: u32,
    /// Every shard, open and closed.
    pub shards: Vec<ShardDescription>,
}

impl Message for StreamDescription {
    const MIN_ENCODED_SIZE: usize = 3 + 4 + 4;

    fn encoded_size(&self) -> usize {
        short_bytes_size(self.name.as_bytes())
            + 4
            + 4
            + self.shards.iter().map(Message::encoded_size).sum::<usize>()
    }

    fn encode(&self, out: &mut BytesMut) {
        put_short_bytes(out, self.name.as_bytes());
        out.put_u32_le(self.retention_hours);
        put_count(out, self.shards.len());
        for shard in &self.shards {
            shard.encode(out);
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            name: read_stream_name(reader)?,
            retention_hours: reader.u32()?,
            shards: reader.vec("shards", usize::MAX)?,
        })
    }
}

/// Where one produced record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProduceResult {
    /// The shard that holds it.
    pub shard: u32,
    /// Its offset in that shard.
    pub offset: u64,
}

impl Message for ProduceResult {
    const MIN_ENCODED_SIZE: usize = 12;

    fn encoded_size(&self) -> usize {
        12
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u32_le(self.shard);
        out.put_u64_le(self.offset);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            shard: reader.u32()?,
            offset: reader.u64()?,
        })
    }
}

/// One result per produced record, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceOk {
    /// At most [`PRODUCE_RECORDS_MAX`].
    pub results: Vec<ProduceResult>,
}

impl Message for ProduceOk {
    const MIN_ENCODED_SIZE: usize = 4;

    fn encoded_size(&self) -> usize {
        4 + 12 * self.results.len()
    }

    fn encode(&self, out: &mut BytesMut) {
        put_count(out, self.results.len());
        for result in &self.results {
            result.encode(out);
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            results: reader.vec("results", PRODUCE_RECORDS_MAX)?,
        })
    }
}

/// One record returned by a fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedRecord {
    /// Its offset in the shard.
    pub offset: u64,
    /// When the server appended it, in ms since the epoch.
    pub timestamp_ms: i64,
    /// Its partition key; empty when produced straight to a shard.
    pub key: Bytes,
    /// Its payload.
    pub data: Bytes,
}

/// `offset u64 | timestamp_ms i64 | key_len u16 | data_len u32`, then key and data.
const FETCHED_RECORD_HEADER_SIZE: usize = 8 + 8 + 2 + 4;

impl FetchedRecord {
    /// The key as sent: a key longer than its `u16` length field can describe is cut, and
    /// the peer then rejects it for exceeding [`FETCHED_KEY_BYTES_MAX`].
    fn wire_key(&self) -> Bytes {
        self.key.slice(..self.key.len().min(usize::from(u16::MAX)))
    }

    fn encode_header(&self, out: &mut BytesMut) {
        out.put_u64_le(self.offset);
        out.put_i64_le(self.timestamp_ms);
        out.put_u16_le(u16::try_from(self.wire_key().len()).unwrap_or(u16::MAX));
        out.put_u32_le(u32::try_from(self.data.len()).unwrap_or(u32::MAX));
    }
}

impl Message for FetchedRecord {
    const MIN_ENCODED_SIZE: usize = FETCHED_RECORD_HEADER_SIZE;

    fn encoded_size(&self) -> usize {
        FETCHED_RECORD_HEADER_SIZE + self.wire_key().len() + self.data.len()
    }

    fn encode(&self, out: &mut BytesMut) {
        self.encode_header(out);
        out.put_slice(&self.wire_key());
        out.put_slice(&self.data);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = reader.u64()?;
        let timestamp_ms = reader.i64()?;
        let key_offset = reader.offset();
        let key_len = usize::from(reader.u16()?);
        if key_len > FETCHED_KEY_BYTES_MAX {
            return Err(DecodeError::LengthOutOfRange {
                offset: key_offset,
                field: "key",
                len: key_len,
                min: 0,
                max: FETCHED_KEY_BYTES_MAX,
            });
        }
        let data_len = usize::try_from(reader.u32()?).unwrap_or(usize::MAX);
        let key = reader.take(key_len)?;
        let key = reader.bytes_of(key);
        let data = reader.take(data_len)?;
        let data = reader.bytes_of(data);
        Ok(Self {
            offset,
            timestamp_ms,
            key,
            data,
        })
    }
}

/// Records from one shard, and where to continue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOk {
    /// The offset to fetch from next (`AtOffset`).
    pub next_offset: u64,
    /// The shard's last offset if it is closed; once `next_offset` passes it, continue with
    /// `child_shards`.
    pub shard_ending: Option<u64>,
    /// The shards a closed shard was split or merged into.
    pub child_shards: Vec<u32>,
    /// The records, in offset order.
    pub records: Vec<FetchedRecord>,
}

impl FetchOk {
    fn encode_fixed(&self, out: &mut BytesMut) {
        out.put_u64_le(self.next_offset);
        put_option(out, self.shard_ending, BytesMut::put_u64_le);
        put_count(out, self.child_shards.len());
        for child in &self.child_shards {
            out.put_u32_le(*child);
        }
        put_count(out, self.records.len());
    }

    fn fixed_size(&self) -> usize {
        8 + option_size(self.shard_ending, 8) + 4 + 4 * self.child_shards.len() + 4
    }

    /// Encodes a whole response frame as chunks for a vectored write, without copying any
    /// record's key or data: those chunks are clones of the records' own `Bytes` (for a
    /// server, views of the memory-mapped segment). Frame header, fixed fields and record
    /// headers go into small chunks that share one allocation. Empty keys and data add no
    /// chunk. Concatenated, the chunks equal [`Response::encode_frame`](super::Response)'s
    /// contiguous bytes.
    pub fn encode_vectored(&self, request_id: u32, out: &mut Vec<Bytes>) {
        let body_len = self.encoded_size();
        let headers_size =
            FRAME_HEADER_SIZE + self.fixed_size() + FETCHED_RECORD_HEADER_SIZE * self.records.len();
        let mut scratch = BytesMut::with_capacity(headers_size);
        FrameHeader {
            kind: Kind::Response,
            op: Op::Fetch as u16,
            request_id,
            body_len: u32::try_from(body_len).unwrap_or(u32::MAX),
        }
        .encode(&mut scratch);
        self.encode_fixed(&mut scratch);
        out.reserve(1 + 2 * self.records.len());
        for record in &self.records {
            record.encode_header(&mut scratch);
            for shared in [record.wire_key(), record.data.clone()] {
                if !shared.is_empty() {
                    if !scratch.is_empty() {
                        out.push(scratch.split().freeze());
                    }
                    out.push(shared);
                }
            }
        }
        if !scratch.is_empty() {
            out.push(scratch.freeze());
        }
    }
}

impl Message for FetchOk {
    const MIN_ENCODED_SIZE: usize = 8 + 1 + 4 + 4;

    fn encoded_size(&self) -> usize {
        self.fixed_size()
            + self
                .records
                .iter()
                .map(Message::encoded_size)
                .sum::<usize>()
    }

    fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_size());
        self.encode_fixed(out);
        for record in &self.records {
            record.encode(out);
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            next_offset: reader.u64()?,
            shard_ending: reader.option("shard_ending", Reader::u64)?,
            child_shards: reader.vec_with("child_shards", usize::MAX, 4, Reader::u32)?,
            records: reader.vec("records", usize::MAX)?,
        })
    }
}

/// A cursor's committed offset, or `None` if it never committed in this shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorPosition {
    /// The committed offset.
    pub offset: Option<u64>,
}

impl Message for CursorPosition {
    const MIN_ENCODED_SIZE: usize = 1;

    fn encoded_size(&self) -> usize {
        option_size(self.offset, 8)
    }

    fn encode(&self, out: &mut BytesMut) {
        put_option(out, self.offset, BytesMut::put_u64_le);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            offset: reader.option("offset", Reader::u64)?,
        })
    }
}

/// The answer to any request that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    /// An [`ErrorCode`] number, kept raw so a newer peer's code survives decoding.
    pub code: u32,
    /// For humans; cut to [`ERROR_MESSAGE_BYTES_MAX`] bytes when encoded.
    pub message: String,
}

impl ErrorResponse {
    /// An error response with a known code.
    #[must_use]
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code: code.as_u32(),
            message: message.into(),
        }
    }

    /// The code, if this version knows it.
    #[must_use]
    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::from_u32(self.code)
    }

    /// The message as sent: cut at a character boundary to fit the limit.
    fn wire_message(&self) -> &str {
        let mut end = self.message.len().min(ERROR_MESSAGE_BYTES_MAX);
        while !self.message.is_char_boundary(end) {
            end -= 1;
        }
        self.message.get(..end).unwrap_or_default()
    }
}

impl Message for ErrorResponse {
    const MIN_ENCODED_SIZE: usize = 6;

    fn encoded_size(&self) -> usize {
        4 + short_bytes_size(self.wire_message().as_bytes())
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u32_le(self.code);
        put_short_bytes(out, self.wire_message().as_bytes());
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            code: reader.u32()?,
            message: reader.string("message", 0, ERROR_MESSAGE_BYTES_MAX)?,
        })
    }
}

/// A split's two children: the lower hash range first, then the upper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitShardOk {
    /// `[lower, upper]` shard ids.
    pub children: [u32; 2],
}

impl Message for SplitShardOk {
    const MIN_ENCODED_SIZE: usize = 8;

    fn encoded_size(&self) -> usize {
        8
    }

    fn encode(&self, out: &mut BytesMut) {
        for child in self.children {
            out.put_u32_le(child);
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            children: [reader.u32()?, reader.u32()?],
        })
    }
}

/// A merge's child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeShardsOk {
    /// The new shard's id.
    pub child: u32,
}

impl Message for MergeShardsOk {
    const MIN_ENCODED_SIZE: usize = 4;

    fn encoded_size(&self) -> usize {
        4
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u32_le(self.child);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            child: reader.u32()?,
        })
    }
}
