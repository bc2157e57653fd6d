//! `ProduceBatch`: records the producer encoded once, in the layout the log stores them, for
//! one shard.
//!
//! The records region is a storage batch's records (see `protocol/README.md`, "Record
//! batches"): each record is `record_len u32 | timestamp_ms i64 (0) | key_len u16 | flags u8 |
//! [explicit hash key, 16 bytes big endian, when flag bit 0] | attributes_len u32 (0) |
//! data_len u32 | key | data`. The server checks the region (CRC, framing, limits, the hash
//! keys against the shard's range), puts a header with offsets and the arrival time in
//! front of it and writes it as it came.
//!
//! [`BatchBuilder`] writes a whole request frame while records are pushed, so producing costs
//! one copy of each record's bytes and no allocation per record.

use bytes::{BufMut, Bytes, BytesMut};

use super::{FRAME_HEADER_SIZE, FrameHeader, Kind, Op, STREAM_NAME_BYTES_MAX};
use crate::codec::{
    DecodeError, Message, Reader, long_bytes_size, put_long_bytes, put_short_bytes,
    short_bytes_size,
};

/// Records in one `ProduceBatch`.
pub const PRODUCE_BATCH_RECORDS_MAX: usize = 65_536;

/// Bytes of a record before its key: `record_len`, `timestamp_ms`, `key_len`, `flags`,
/// `attributes_len`, `data_len` (plus 16 when it has an explicit hash key).
pub const BATCH_RECORD_OVERHEAD: usize = 4 + 8 + 2 + 1 + 4 + 4;

/// Record flag bit 0: an explicit hash key follows the flags.
const FLAG_EXPLICIT_HASH_KEY: u8 = 1;

/// Appends producer-encoded records to one shard of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceBatch {
    /// The stream's name.
    pub stream: String,
    /// The shard the producer routed every record to.
    pub shard: u32,
    /// Records in `records`: 1 to [`PRODUCE_BATCH_RECORDS_MAX`].
    pub record_count: u32,
    /// CRC32 (IEEE) of `records`.
    pub records_crc: u32,
    /// The encoded records.
    pub records: Bytes,
    /// `None`: the records were sent straight to the shard (their keys are empty). Else
    /// `16 × record_count` bytes: each record's hash key (u128 little endian, the MD5 of its
    /// partition key read big endian, or its explicit hash key), which must lie in the
    /// shard's hash range.
    pub hash_keys: Option<Bytes>,
}

impl ProduceBatch {
    /// Each record's hash key, when the batch has them.
    pub fn hash_keys(&self) -> impl Iterator<Item = u128> + '_ {
        self.hash_keys
            .as_deref()
            .unwrap_or_default()
            .chunks_exact(16)
            .map(|chunk| u128::from_le_bytes(chunk.try_into().unwrap_or_default()))
    }
}

fn record_count(reader: &mut Reader<'_>) -> Result<u32, DecodeError> {
    let offset = reader.offset();
    let count = reader.u32()?;
    let len = count as usize;
    if (1..=PRODUCE_BATCH_RECORDS_MAX).contains(&len) {
        Ok(count)
    } else {
        Err(DecodeError::LengthOutOfRange {
            offset,
            field: "record_count",
            len,
            min: 1,
            max: PRODUCE_BATCH_RECORDS_MAX,
        })
    }
}

impl Message for ProduceBatch {
    /// A 1-byte stream name, shard, count, CRC, empty records and the hash-key tag.
    const MIN_ENCODED_SIZE: usize = 3 + 4 + 4 + 4 + 4 + 1;

    fn encoded_size(&self) -> usize {
        short_bytes_size(self.stream.as_bytes())
            + 12
            + long_bytes_size(&self.records)
            + 1
            + self.hash_keys.as_ref().map_or(0, Bytes::len)
    }

    fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_size());
        put_short_bytes(out, self.stream.as_bytes());
        out.put_u32_le(self.shard);
        out.put_u32_le(self.record_count);
        out.put_u32_le(self.records_crc);
        put_long_bytes(out, &self.records);
        match &self.hash_keys {
            None => out.put_u8(0),
            Some(keys) => {
                out.put_u8(1);
                out.put_slice(keys);
            }
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let stream = reader.string("stream", 1, STREAM_NAME_BYTES_MAX)?;
        let shard = reader.u32()?;
        let record_count = record_count(reader)?;
        let records_crc = reader.u32()?;
        let records = reader.long_bytes("records", 0, usize::MAX)?;
        let records = reader.bytes_of(records);
        let hash_keys = reader.option("hash_keys", |reader| {
            let keys = reader.take(16 * record_count as usize)?;
            Ok(reader.bytes_of(keys))
        })?;
        Ok(Self {
            stream,
            shard,
            record_count,
            records_crc,
            records,
            hash_keys,
        })
    }
}

/// Where a `ProduceBatch`'s records landed: consecutive offsets from `base_offset`, all with
/// the same arrival time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProduceBatchOk {
    /// The first record's offset in the shard.
    pub base_offset: u64,
    /// How many records were appended (the request's count).
    pub record_count: u32,
    /// Their arrival time, in ms since the epoch.
    pub timestamp_ms: i64,
}

impl Message for ProduceBatchOk {
    const MIN_ENCODED_SIZE: usize = 20;

    fn encoded_size(&self) -> usize {
        Self::MIN_ENCODED_SIZE
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u64_le(self.base_offset);
        out.put_u32_le(self.record_count);
        out.put_i64_le(self.timestamp_ms);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            base_offset: reader.u64()?,
            record_count: record_count(reader)?,
            timestamp_ms: reader.i64()?,
        })
    }
}

/// Writes a `ProduceBatch` request frame as records are pushed: the frame header and fixed
/// fields first, each record in place, then the count, CRC and lengths patched in by
/// [`BatchBuilder::finish`]. Reusable: `finish` leaves it empty, its buffers' capacity kept.
#[derive(Debug)]
pub struct BatchBuilder {
    out: BytesMut,
    /// Where the records begin in `out`.
    records_start: usize,
    count: u32,
    crc: crc32fast::Hasher,
    /// Little-endian hash keys, when the records are keyed.
    hash_keys: BytesMut,
    keyed: bool,
    stream: Bytes,
    shard: u32,
}

impl BatchBuilder {
    /// A builder for records routed to `shard` of `stream`. `keyed` batches carry partition
    /// keys and hash keys; unkeyed ones go straight to the shard with empty keys.
    #[must_use]
    pub fn new(stream: &str, shard: u32, keyed: bool) -> Self {
        let mut builder = Self {
            out: BytesMut::new(),
            records_start: 0,
            count: 0,
            crc: crc32fast::Hasher::new(),
            hash_keys: BytesMut::new(),
            keyed,
            stream: Bytes::copy_from_slice(stream.as_bytes()),
            shard,
        };
        builder.begin();
        builder
    }

    fn begin(&mut self) {
        self.out.clear();
        self.out.put_bytes(0, FRAME_HEADER_SIZE);
        put_short_bytes(&mut self.out, &self.stream);
        self.out.put_u32_le(self.shard);
        // record_count, records_crc and the records' length, patched by `finish`.
        self.out.put_bytes(0, 12);
        self.records_start = self.out.len();
        self.count = 0;
        self.crc = crc32fast::Hasher::new();
        self.hash_keys.clear();
    }

    /// The shard its records go to.
    #[must_use]
    pub fn shard(&self) -> u32 {
        self.shard
    }

    /// Records pushed since the last [`BatchBuilder::finish`].
    #[must_use]
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether no record was pushed since the last [`BatchBuilder::finish`].
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes the finished frame would take.
    #[must_use]
    pub fn frame_len(&self) -> usize {
        self.out.len() + 1 + self.hash_keys.len()
    }

    /// Bytes a record adds to the frame.
    #[must_use]
    pub fn record_len(
        key: &[u8],
        explicit_hash_key: Option<u128>,
        data: &[u8],
        keyed: bool,
    ) -> usize {
        BATCH_RECORD_OVERHEAD
            + explicit_hash_key.map_or(0, |_| 16)
            + key.len()
            + data.len()
            + if keyed { 16 } else { 0 }
    }

    /// Appends one record. `hash_key` is the key the producer routed it by (its explicit
    /// hash key, or the MD5 of `key`); it is sent only in keyed batches. The caller keeps
    /// within the limits (key length, count, frame size); the server rejects what does not.
    pub fn push(
        &mut self,
        key: &[u8],
        explicit_hash_key: Option<u128>,
        hash_key: u128,
        data: &[u8],
    ) {
        let start = self.out.len();
        let hash_len = explicit_hash_key.map_or(0, |_| 16);
        let body = 8 + 2 + 1 + hash_len + 4 + 4 + key.len() + data.len();
        self.out.reserve(4 + body);
        self.out.put_u32_le(u32::try_from(body).unwrap_or(u32::MAX));
        self.out.put_i64_le(0);
        self.out
            .put_u16_le(u16::try_from(key.len()).unwrap_or(u16::MAX));
        match explicit_hash_key {
            Some(hash) => {
                self.out.put_u8(FLAG_EXPLICIT_HASH_KEY);
                self.out.put_slice(&hash.to_be_bytes());
            }
            None => self.out.put_u8(0),
        }
        self.out.put_u32_le(0);
        self.out
            .put_u32_le(u32::try_from(data.len()).unwrap_or(u32::MAX));
        self.out.put_slice(key);
        self.out.put_slice(data);
        self.crc.update(self.out.get(start..).unwrap_or_default());
        if self.keyed {
            self.hash_keys.put_u128_le(hash_key);
        }
        self.count += 1;
    }

    /// The finished frame (its request id is set by [`BatchFrame::into_frame`]); the builder
    /// starts over for the next batch.
    pub fn finish(&mut self) -> BatchFrame {
        let crc = std::mem::replace(&mut self.crc, crc32fast::Hasher::new()).finalize();
        let records_len = self.out.len() - self.records_start;
        if self.keyed {
            self.out.reserve(1 + self.hash_keys.len());
            self.out.put_u8(1);
            self.out.put_slice(&self.hash_keys);
        } else {
            self.out.put_u8(0);
        }
        let body_len = self.out.len() - FRAME_HEADER_SIZE;
        let mut header = BytesMut::with_capacity(FRAME_HEADER_SIZE);
        FrameHeader {
            kind: Kind::Request,
            op: Op::ProduceBatch as u16,
            request_id: 0,
            body_len: u32::try_from(body_len).unwrap_or(u32::MAX),
        }
        .encode(&mut header);
        let fields = self.records_start - 12;
        let patches: [(usize, &[u8]); 4] = [
            (0, &header),
            (fields, &self.count.to_le_bytes()),
            (fields + 4, &crc.to_le_bytes()),
            (
                fields + 8,
                &u32::try_from(records_len).unwrap_or(u32::MAX).to_le_bytes(),
            ),
        ];
        for (at, bytes) in patches {
            if let Some(field) = self.out.get_mut(at..at + bytes.len()) {
                field.copy_from_slice(bytes);
            }
        }
        let count = self.count;
        // The frame leaves with its own allocation, so setting its request id and freezing
        // it copy nothing; the next batch starts in one of the same size.
        let capacity = self.out.len();
        let frame = std::mem::replace(&mut self.out, BytesMut::with_capacity(capacity));
        self.begin();
        BatchFrame { frame, count }
    }
}

/// A whole `ProduceBatch` request frame from [`BatchBuilder::finish`], still without its
/// request id.
#[derive(Debug)]
pub struct BatchFrame {
    frame: BytesMut,
    count: u32,
}

impl BatchFrame {
    /// Records in the batch.
    #[must_use]
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Bytes of the frame.
    #[must_use]
    pub fn len(&self) -> usize {
        self.frame.len()
    }

    /// Whether the frame is empty (never, for a finished one).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.frame.is_empty()
    }

    /// The frame with `request_id` in its header, ready for the socket.
    #[must_use]
    pub fn into_frame(mut self, request_id: u32) -> Bytes {
        if let Some(field) = self.frame.get_mut(7..FRAME_HEADER_SIZE) {
            field.copy_from_slice(&request_id.to_le_bytes());
        }
        self.frame.freeze()
    }
}

/// The request a whole `ProduceBatch` frame carries, its byte fields sharing `frame`.
///
/// # Errors
/// Any [`DecodeError`] (never, for a frame a builder finished).
pub fn frame_request(frame: &Bytes) -> Result<ProduceBatch, DecodeError> {
    let body = frame.slice(FRAME_HEADER_SIZE.min(frame.len())..);
    ProduceBatch::decode_shared(&body)
}

impl ProduceBatch {
    /// The records' keys, explicit hash keys and data, in order, sharing `records`: how a
    /// client re-routes a batch the server refused for a stale shard map.
    ///
    /// # Errors
    /// [`DecodeError`] if `records` does not hold `record_count` records.
    pub fn records(&self) -> Result<Vec<BatchRecord>, DecodeError> {
        let mut reader = Reader::shared(&self.records);
        let mut records = Vec::with_capacity(self.record_count as usize);
        for _ in 0..self.record_count {
            let _len = reader.u32()?;
            let _timestamp = reader.i64()?;
            let key_len = usize::from(reader.u16()?);
            let explicit_hash_key = match reader.u8()? {
                0 => None,
                _ => Some(u128::from_be_bytes(
                    reader.take(16)?.try_into().unwrap_or_default(),
                )),
            };
            let _attributes = reader.u32()?;
            let data_len = reader.u32()? as usize;
            let key = reader.take(key_len)?;
            let key = reader.bytes_of(key);
            let data = reader.take(data_len)?;
            records.push(BatchRecord {
                key,
                explicit_hash_key,
                data: reader.bytes_of(data),
            });
        }
        reader.finish()?;
        Ok(records)
    }
}

/// One record of a `ProduceBatch`, as [`ProduceBatch::records`] reads it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchRecord {
    /// The partition key; empty in an unkeyed batch.
    pub key: Bytes,
    /// The explicit hash key it was routed by, if any.
    pub explicit_hash_key: Option<u128>,
    /// The payload.
    pub data: Bytes,
}

#[cfg(test)]
mod tests;
