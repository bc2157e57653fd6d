//! The record batch: the unit Strata writes, checksums and recovers.
//!
//! # Design constraints
//!
//! - A batch is self-describing and self-checking: its length and a CRC32 over everything after
//!   the CRC field, so recovery can tell a torn or flipped batch from a good one without any
//!   other file.
//! - A length of zero marks the clean end of a segment. Segment files are preallocated with
//!   zeros, so the first unwritten byte reads as an empty length.
//! - Decoding is pure and never panics: it works on `&[u8]` with checked accesses only
//!   (`clippy::indexing_slicing` is denied here) and reports short input as `Incomplete`.
//! - Records carry what every view needs: a partition key (up to 1,024 bytes: 256 characters of UTF-8), an optional 128-bit
//!   explicit hash key, an arrival timestamp, opaque attributes (SQS/SNS message attributes) and
//!   the data, so new views need no format change.
//!
//! # Layout (little endian)
//!
//! ```text
//! batch header, 40 bytes
//!   0  u32  batch_len          header + records, in bytes; 0 = end of segment
//!   4  u32  crc                CRC32 (IEEE) of bytes [8, batch_len)
//!   8  u8   version            1
//!   9  u8   flags              0
//!  10  u16  reserved           0
//!  12  u32  record_count       >= 1
//!  16  u64  base_offset        offset of the first record
//!  24  i64  first_timestamp_ms
//!  32  i64  max_timestamp_ms
//! record, repeated record_count times
//!   0  u32  record_len         bytes after this field
//!   4  i64  timestamp_ms       arrival time
//!  12  u16  key_len            0..=1024
//!  14  u8   flags              bit 0: explicit hash key present
//!  15  [16] hash_key           big-endian u128, only when flag bit 0 is set
//!   .  u32  attributes_len
//!   .  u32  data_len
//!   .  key, attributes, data
//! ```
#![deny(clippy::indexing_slicing)]

use bytes::{BufMut, Bytes, BytesMut};

/// Size of the fixed batch header.
pub const BATCH_HEADER_LEN: usize = 40;
/// Largest partition key: up to 256 Unicode characters of a Kinesis partition key, 4 UTF-8 bytes each at most.
pub const PARTITION_KEY_BYTES_MAX: usize = 1024;
/// The only batch format version this build writes and reads.
pub const BATCH_VERSION: u8 = 1;
/// A batch never claims more than this; anything larger is corruption, not a record.
pub const BATCH_BYTES_LIMIT: u32 = 1 << 30;

const RECORD_FIXED_LEN: usize = 8 + 2 + 1 + 4 + 4;
const FLAG_HASH_KEY: u8 = 1;

const _: () = assert!(BATCH_HEADER_LEN == 4 + 4 + 1 + 1 + 2 + 4 + 8 + 8 + 8);

/// A record as a producer hands it to the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRecord {
    /// Partition key, up to 1,024 bytes.
    pub key: Bytes,
    /// Explicit 128-bit hash key, if the producer chose the shard itself.
    pub hash_key: Option<u128>,
    /// Opaque attributes for views that need them (message attributes); usually empty.
    pub attributes: Bytes,
    /// The payload.
    pub data: Bytes,
}

impl NewRecord {
    /// A record with a key and data, no hash key and no attributes.
    pub fn new(key: impl Into<Bytes>, data: impl Into<Bytes>) -> Self {
        Self {
            key: key.into(),
            hash_key: None,
            attributes: Bytes::new(),
            data: data.into(),
        }
    }

    /// Bytes this record takes inside a batch.
    pub fn encoded_len(&self) -> usize {
        4 + RECORD_FIXED_LEN
            + if self.hash_key.is_some() { 16 } else { 0 }
            + self.key.len()
            + self.attributes.len()
            + self.data.len()
    }
}

/// A record read back from the log. Its byte fields are slices of the segment mapping: reading
/// copies no record data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Position of the record in its shard.
    pub offset: u64,
    /// Arrival time, milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// Partition key.
    pub key: Bytes,
    /// Explicit hash key, if one was given.
    pub hash_key: Option<u128>,
    /// Opaque attributes.
    pub attributes: Bytes,
    /// The payload.
    pub data: Bytes,
}

/// The fixed header of a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchHeader {
    /// Total length of the batch, header included.
    pub batch_len: u32,
    /// CRC32 of bytes `[8, batch_len)`.
    pub crc: u32,
    /// Number of records, at least one.
    pub record_count: u32,
    /// Offset of the first record.
    pub base_offset: u64,
    /// Timestamp of the first record.
    pub first_timestamp_ms: i64,
    /// Largest timestamp in the batch.
    pub max_timestamp_ms: i64,
}

impl BatchHeader {
    /// Offset just past the batch's last record.
    pub fn next_offset(&self) -> u64 {
        self.base_offset + u64::from(self.record_count)
    }
}

/// Why bytes are not a valid batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ends before the batch does: a torn write when it is the end of the file.
    #[error("incomplete batch: need {need} bytes, have {have}")]
    Incomplete {
        /// Bytes the batch claims.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A length of zero: the clean end of a segment.
    #[error("end of segment")]
    End,
    /// The batch is damaged or not a batch at all.
    #[error("corrupt batch: {0}")]
    Corrupt(&'static str),
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    bytes
        .get(at..at + 2)
        .and_then(|s| s.try_into().ok())
        .map(u16::from_le_bytes)
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    bytes
        .get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    bytes
        .get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_le_bytes)
}

fn read_i64(bytes: &[u8], at: usize) -> Option<i64> {
    bytes
        .get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map(i64::from_le_bytes)
}

/// Decodes and validates the header at the start of `bytes` without checking the CRC.
pub fn decode_header(bytes: &[u8]) -> Result<BatchHeader, DecodeError> {
    let batch_len = read_u32(bytes, 0).ok_or(DecodeError::Incomplete {
        need: 4,
        have: bytes.len(),
    })?;
    if batch_len == 0 {
        return Err(DecodeError::End);
    }
    if (batch_len as usize) < BATCH_HEADER_LEN || batch_len > BATCH_BYTES_LIMIT {
        return Err(DecodeError::Corrupt("batch length out of range"));
    }
    let header = bytes
        .get(..BATCH_HEADER_LEN)
        .ok_or(DecodeError::Incomplete {
            need: BATCH_HEADER_LEN,
            have: bytes.len(),
        })?;
    let corrupt = DecodeError::Corrupt("short header");
    let version = *header.get(8).ok_or(corrupt)?;
    if version != BATCH_VERSION {
        return Err(DecodeError::Corrupt("unknown batch version"));
    }
    let parsed = BatchHeader {
        batch_len,
        crc: read_u32(header, 4).ok_or(corrupt)?,
        record_count: read_u32(header, 12).ok_or(corrupt)?,
        base_offset: read_u64(header, 16).ok_or(corrupt)?,
        first_timestamp_ms: read_i64(header, 24).ok_or(corrupt)?,
        max_timestamp_ms: read_i64(header, 32).ok_or(corrupt)?,
    };
    if parsed.record_count == 0 {
        return Err(DecodeError::Corrupt("batch with no records"));
    }
    if parsed
        .base_offset
        .checked_add(u64::from(parsed.record_count))
        .is_none()
    {
        return Err(DecodeError::Corrupt("offset overflow"));
    }
    Ok(parsed)
}

/// Decodes the batch at the start of `bytes` and verifies its CRC. Returns the header; the
/// batch occupies `header.batch_len` bytes.
pub fn decode_batch(bytes: &[u8]) -> Result<BatchHeader, DecodeError> {
    let header = decode_header(bytes)?;
    let len = header.batch_len as usize;
    let body = bytes.get(8..len).ok_or(DecodeError::Incomplete {
        need: len,
        have: bytes.len(),
    })?;
    if crc32fast::hash(body) != header.crc {
        return Err(DecodeError::Corrupt("checksum mismatch"));
    }
    Ok(header)
}

/// Iterates over the records of a batch whose CRC was verified by [`decode_batch`].
/// `batch` must be exactly the batch's bytes (a slice of the mapping, so records share it).
pub struct Records {
    batch: Bytes,
    position: usize,
    offset: u64,
    remaining: u32,
}

impl Records {
    /// Starts iterating `batch`, which begins with `header`.
    pub fn new(header: &BatchHeader, batch: Bytes) -> Self {
        Self {
            batch,
            position: BATCH_HEADER_LEN,
            offset: header.base_offset,
            remaining: header.record_count,
        }
    }

    fn decode_one(&mut self) -> Result<Record, DecodeError> {
        let bytes: &[u8] = &self.batch;
        let at = self.position;
        let corrupt = DecodeError::Corrupt("record extends past its batch");
        let record_len = read_u32(bytes, at).ok_or(corrupt)? as usize;
        let timestamp_ms = read_i64(bytes, at + 4).ok_or(corrupt)?;
        let key_len = usize::from(read_u16(bytes, at + 12).ok_or(corrupt)?);
        let flags = *bytes.get(at + 14).ok_or(corrupt)?;
        let mut cursor = at + 15;
        let hash_key = if flags & FLAG_HASH_KEY != 0 {
            let raw: [u8; 16] = bytes
                .get(cursor..cursor + 16)
                .and_then(|s| s.try_into().ok())
                .ok_or(corrupt)?;
            cursor += 16;
            Some(u128::from_be_bytes(raw))
        } else {
            None
        };
        let attributes_len = read_u32(bytes, cursor).ok_or(corrupt)? as usize;
        let data_len = read_u32(bytes, cursor + 4).ok_or(corrupt)? as usize;
        cursor += 8;
        let key_end = cursor + key_len;
        let attributes_end = key_end + attributes_len;
        let data_end = attributes_end.checked_add(data_len).ok_or(corrupt)?;
        if data_end != at + 4 + record_len || data_end > bytes.len() {
            return Err(DecodeError::Corrupt(
                "record length disagrees with its fields",
            ));
        }
        let record = Record {
            offset: self.offset,
            timestamp_ms,
            key: self.batch.slice(cursor..key_end),
            hash_key,
            attributes: self.batch.slice(key_end..attributes_end),
            data: self.batch.slice(attributes_end..data_end),
        };
        self.position = data_end;
        self.offset += 1;
        self.remaining -= 1;
        Ok(record)
    }
}

impl Iterator for Records {
    type Item = Result<Record, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let result = self.decode_one();
        if result.is_err() {
            self.remaining = 0;
        }
        Some(result)
    }
}

/// Size of the batch that would hold `records`.
pub fn batch_len(records: &[NewRecord]) -> usize {
    BATCH_HEADER_LEN + records.iter().map(NewRecord::encoded_len).sum::<usize>()
}

/// Appends one batch holding `records` to `out`. Every record gets `timestamp_ms`, the arrival
/// time the log assigned. The caller has validated the records (non-empty, key sizes, limits).
pub fn encode_batch(
    out: &mut BytesMut,
    base_offset: u64,
    timestamp_ms: i64,
    records: &[NewRecord],
) {
    let start = out.len();
    let len = batch_len(records);
    out.reserve(len);
    out.put_u32_le(u32::try_from(len).unwrap_or(u32::MAX));
    out.put_u32_le(0); // CRC, filled in below
    out.put_u8(BATCH_VERSION);
    out.put_u8(0);
    out.put_u16_le(0);
    out.put_u32_le(u32::try_from(records.len()).unwrap_or(u32::MAX));
    out.put_u64_le(base_offset);
    out.put_i64_le(timestamp_ms);
    out.put_i64_le(timestamp_ms);
    for record in records {
        let body = record.encoded_len() - 4;
        out.put_u32_le(u32::try_from(body).unwrap_or(u32::MAX));
        out.put_i64_le(timestamp_ms);
        out.put_u16_le(u16::try_from(record.key.len()).unwrap_or(u16::MAX));
        match record.hash_key {
            Some(hash) => {
                out.put_u8(FLAG_HASH_KEY);
                out.put_slice(&hash.to_be_bytes());
            }
            None => out.put_u8(0),
        }
        out.put_u32_le(u32::try_from(record.attributes.len()).unwrap_or(u32::MAX));
        out.put_u32_le(u32::try_from(record.data.len()).unwrap_or(u32::MAX));
        out.put_slice(&record.key);
        out.put_slice(&record.attributes);
        out.put_slice(&record.data);
    }
    let written = out.get_mut(start..).unwrap_or_default();
    let crc = crc32fast::hash(written.get(8..).unwrap_or_default());
    if let Some(field) = written.get_mut(4..8) {
        field.copy_from_slice(&crc.to_le_bytes());
    }
}

#[cfg(test)]
mod tests;
