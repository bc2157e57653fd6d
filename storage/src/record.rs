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
//!   9  u8   flags              bit 0: uniform time (every record's timestamp is
//!                              first_timestamp_ms; their own fields are 0)
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
//!
//! # Producer-encoded records
//!
//! The records of a batch (everything after the header) are the same bytes a native producer
//! sends in `ProduceBatch`: it encodes them once, with timestamps 0, and the log adopts them
//! ([`EncodedRecords::check`], then [`encode_adopted`]): it writes a header with the
//! uniform-time flag, the offsets and the arrival time, and the records as they came. The
//! batch CRC is the header's CRC combined with the producer's CRC of the records, so adopting
//! never reads the records twice.
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
/// Batch flag: every record's timestamp is the header's `first_timestamp_ms`.
const BATCH_FLAG_UNIFORM_TIME: u8 = 1;

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
        record_len(
            self.key.len(),
            self.hash_key,
            self.attributes.len(),
            self.data.len(),
        )
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
    /// Whether every record's timestamp is `first_timestamp_ms` (producer-encoded records).
    pub uniform_time: bool,
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
    let flags = *header.get(9).ok_or(corrupt)?;
    if flags & !BATCH_FLAG_UNIFORM_TIME != 0 {
        return Err(DecodeError::Corrupt("unknown batch flags"));
    }
    let parsed = BatchHeader {
        batch_len,
        crc: read_u32(header, 4).ok_or(corrupt)?,
        record_count: read_u32(header, 12).ok_or(corrupt)?,
        base_offset: read_u64(header, 16).ok_or(corrupt)?,
        first_timestamp_ms: read_i64(header, 24).ok_or(corrupt)?,
        max_timestamp_ms: read_i64(header, 32).ok_or(corrupt)?,
        uniform_time: flags & BATCH_FLAG_UNIFORM_TIME != 0,
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
    /// The batch's time, when every record has it.
    uniform_time: Option<i64>,
}

impl Records {
    /// Starts iterating `batch`, which begins with `header`.
    pub fn new(header: &BatchHeader, batch: Bytes) -> Self {
        Self {
            batch,
            position: BATCH_HEADER_LEN,
            offset: header.base_offset,
            remaining: header.record_count,
            uniform_time: header.uniform_time.then_some(header.first_timestamp_ms),
        }
    }

    fn decode_one(&mut self) -> Result<Record, DecodeError> {
        let fields = RecordFields::read(&self.batch, self.position)?;
        let record = Record {
            offset: self.offset,
            timestamp_ms: self.uniform_time.unwrap_or(fields.timestamp_ms),
            key: self.batch.slice(fields.key.clone()),
            hash_key: fields.hash_key,
            attributes: self.batch.slice(fields.attributes.clone()),
            data: self.batch.slice(fields.data.clone()),
        };
        self.position = fields.data.end;
        self.offset += 1;
        self.remaining -= 1;
        Ok(record)
    }
}

/// One record's fields, as byte ranges of the slice it was read from.
struct RecordFields {
    timestamp_ms: i64,
    flags: u8,
    hash_key: Option<u128>,
    key: std::ops::Range<usize>,
    attributes: std::ops::Range<usize>,
    /// Ends where the record ends.
    data: std::ops::Range<usize>,
}

impl RecordFields {
    /// Reads the record starting at `at`, checking that its fields add up to its length and
    /// fit in `bytes`.
    fn read(bytes: &[u8], at: usize) -> Result<Self, DecodeError> {
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
        if Some(data_end) != (at + 4).checked_add(record_len) || data_end > bytes.len() {
            return Err(DecodeError::Corrupt(
                "record length disagrees with its fields",
            ));
        }
        Ok(Self {
            timestamp_ms,
            flags,
            hash_key,
            key: cursor..key_end,
            attributes: key_end..attributes_end,
            data: attributes_end..data_end,
        })
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

/// Appends a batch header whose CRC field is 0, to be filled in by [`put_crc`].
fn put_header(out: &mut BytesMut, len: usize, flags: u8, count: usize, base: u64, time: i64) {
    out.put_u32_le(u32::try_from(len).unwrap_or(u32::MAX));
    out.put_u32_le(0);
    out.put_u8(BATCH_VERSION);
    out.put_u8(flags);
    out.put_u16_le(0);
    out.put_u32_le(u32::try_from(count).unwrap_or(u32::MAX));
    out.put_u64_le(base);
    out.put_i64_le(time);
    out.put_i64_le(time);
}

/// Writes `crc` into the CRC field of the batch starting at `start`.
fn put_crc(out: &mut BytesMut, start: usize, crc: u32) {
    if let Some(field) = out.get_mut(start + 4..start + 8) {
        field.copy_from_slice(&crc.to_le_bytes());
    }
}

/// Bytes a record of these field sizes takes inside a batch.
fn record_len(key: usize, hash_key: Option<u128>, attributes: usize, data: usize) -> usize {
    4 + RECORD_FIXED_LEN + if hash_key.is_some() { 16 } else { 0 } + key + attributes + data
}

/// Appends a record's fields up to its key: length, timestamp, key length, flags and hash
/// key, attribute and data lengths.
fn put_record_head(
    out: &mut BytesMut,
    timestamp_ms: i64,
    key: usize,
    hash_key: Option<u128>,
    attributes: usize,
    data: usize,
) {
    let body = record_len(key, hash_key, attributes, data) - 4;
    out.put_u32_le(u32::try_from(body).unwrap_or(u32::MAX));
    out.put_i64_le(timestamp_ms);
    out.put_u16_le(u16::try_from(key).unwrap_or(u16::MAX));
    match hash_key {
        Some(hash) => {
            out.put_u8(FLAG_HASH_KEY);
            out.put_slice(&hash.to_be_bytes());
        }
        None => out.put_u8(0),
    }
    out.put_u32_le(u32::try_from(attributes).unwrap_or(u32::MAX));
    out.put_u32_le(u32::try_from(data).unwrap_or(u32::MAX));
}

/// Appends `records`, each stamped `timestamp_ms`, in the batch's record layout.
fn put_records(out: &mut BytesMut, timestamp_ms: i64, records: &[NewRecord]) {
    for record in records {
        put_record_head(
            out,
            timestamp_ms,
            record.key.len(),
            record.hash_key,
            record.attributes.len(),
            record.data.len(),
        );
        out.put_slice(&record.key);
        out.put_slice(&record.attributes);
        out.put_slice(&record.data);
    }
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
    put_header(out, len, 0, records.len(), base_offset, timestamp_ms);
    put_records(out, timestamp_ms, records);
    let crc = crc32fast::hash(out.get(start + 8..).unwrap_or_default());
    put_crc(out, start, crc);
}

/// Records a producer encoded, in the layout of a batch's records with every timestamp 0,
/// checked by [`EncodedRecords::check`] and ready for [`encode_adopted`].
#[derive(Clone, Debug)]
pub struct EncodedRecords {
    bytes: Bytes,
    count: u32,
    crc: u32,
}

impl EncodedRecords {
    /// Checks `bytes` as `count` records whose CRC32 (IEEE) is `crc`: the checksum, then each
    /// record's framing (fields that add up to its length, timestamp 0, no unknown flags, a
    /// key of at most [`PARTITION_KEY_BYTES_MAX`] bytes that `record_ok` accepts with the
    /// record's explicit hash key, data of at most `data_bytes_max` bytes), and no bytes after
    /// the last record. One pass over the record headers; the data is read only by the
    /// checksum.
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] naming the first bad record, or
    /// [`crate::Error::RecordTooLarge`].
    pub fn check(
        bytes: Bytes,
        count: u32,
        crc: u32,
        data_bytes_max: usize,
        mut record_ok: impl FnMut(&[u8], Option<u128>) -> bool,
    ) -> Result<Self, crate::Error> {
        let invalid = |why: String| crate::Error::InvalidArgument(why);
        if count == 0 {
            return Err(invalid("a batch needs at least one record".into()));
        }
        if crc32fast::hash(&bytes) != crc {
            return Err(invalid("the records' CRC32 does not match them".into()));
        }
        let mut at = 0;
        for index in 0..count {
            let fields = RecordFields::read(&bytes, at)
                .map_err(|error| invalid(format!("record {index}: {error}")))?;
            if fields.timestamp_ms != 0 {
                return Err(invalid(format!("record {index}: its timestamp must be 0")));
            }
            if fields.flags & !FLAG_HASH_KEY != 0 {
                return Err(invalid(format!("record {index}: unknown record flags")));
            }
            if fields.key.len() > PARTITION_KEY_BYTES_MAX
                || !record_ok(
                    bytes.get(fields.key.clone()).unwrap_or_default(),
                    fields.hash_key,
                )
            {
                return Err(invalid(format!(
                    "record {index}: invalid partition key or hash key"
                )));
            }
            if fields.data.len() > data_bytes_max {
                return Err(crate::Error::RecordTooLarge {
                    size: fields.data.len(),
                    max: data_bytes_max,
                });
            }
            at = fields.data.end;
        }
        if at != bytes.len() {
            return Err(invalid(format!(
                "{} bytes after the last of {count} records",
                bytes.len() - at
            )));
        }
        Ok(Self { bytes, count, crc })
    }

    /// `records` encoded as a producer would (timestamps 0), for in-process producers and
    /// tests; the caller keeps within the limits [`Self::check`] enforces.
    pub fn from_records(records: &[NewRecord]) -> Self {
        let mut out = BytesMut::with_capacity(batch_len(records) - BATCH_HEADER_LEN);
        put_records(&mut out, 0, records);
        let bytes = out.freeze();
        Self {
            crc: crc32fast::hash(&bytes),
            count: u32::try_from(records.len()).unwrap_or(u32::MAX),
            bytes,
        }
    }

    /// A builder of records encoded as a producer would, for in-process producers that write
    /// each record's data straight into the batch (decoding it from a request, say).
    #[must_use]
    pub fn builder(capacity: usize, data_bytes_max: usize) -> EncodedRecordsBuilder {
        EncodedRecordsBuilder {
            out: BytesMut::with_capacity(capacity),
            count: 0,
            crc: crc32fast::Hasher::new(),
            data_bytes_max,
        }
    }

    /// The encoded records.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Their CRC32 (IEEE).
    pub fn crc(&self) -> u32 {
        self.crc
    }

    /// How many records.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The size of the batch that adopts them, header included.
    pub fn batch_len(&self) -> usize {
        BATCH_HEADER_LEN + self.bytes.len()
    }
}

/// Encodes records one at a time, in the layout [`EncodedRecords::check`] accepts (timestamps 0,
/// no attributes), checksumming each as it is written while it is still in cache.
#[derive(Debug)]
pub struct EncodedRecordsBuilder {
    out: BytesMut,
    count: u32,
    crc: crc32fast::Hasher,
    data_bytes_max: usize,
}

impl EncodedRecordsBuilder {
    /// Bytes a record with a key of `key` bytes, `hash_key` and `data` bytes adds.
    #[must_use]
    pub fn record_len(key: usize, hash_key: Option<u128>, data: usize) -> usize {
        record_len(key, hash_key, 0, data)
    }

    /// Appends a record whose `data_len` bytes of data `write` fills in; `write` answers
    /// whether it could (a decoder refusing its input, say). A record that `write` refuses
    /// is taken back out, leaving the builder as it was.
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] for a key over [`PARTITION_KEY_BYTES_MAX`],
    /// [`crate::Error::RecordTooLarge`] for data over the builder's limit, and
    /// [`crate::Error::InvalidArgument`] when `write` refuses.
    pub fn push_with(
        &mut self,
        key: &[u8],
        hash_key: Option<u128>,
        data_len: usize,
        write: impl FnOnce(&mut [u8]) -> bool,
    ) -> Result<(), crate::Error> {
        self.push_appending(key, hash_key, data_len, |out| {
            let data_start = out.len();
            out.resize(data_start + data_len, 0);
            out.get_mut(data_start..).is_some_and(write)
        })
    }

    /// [`Self::push_with`] for a `write` that appends the record's data to the buffer it is
    /// given (nothing is zeroed first); the record is kept only if `write` answers `true`
    /// having appended exactly `data_len` bytes.
    ///
    /// # Errors
    /// As [`Self::push_with`].
    pub fn push_appending(
        &mut self,
        key: &[u8],
        hash_key: Option<u128>,
        data_len: usize,
        write: impl FnOnce(&mut BytesMut) -> bool,
    ) -> Result<(), crate::Error> {
        if key.len() > PARTITION_KEY_BYTES_MAX {
            return Err(crate::Error::InvalidArgument(format!(
                "partition key of {} bytes; at most {PARTITION_KEY_BYTES_MAX}",
                key.len()
            )));
        }
        if data_len > self.data_bytes_max || self.count == u32::MAX {
            return Err(crate::Error::RecordTooLarge {
                size: data_len,
                max: self.data_bytes_max,
            });
        }
        let start = self.out.len();
        put_record_head(&mut self.out, 0, key.len(), hash_key, 0, data_len);
        self.out.put_slice(key);
        let data_start = self.out.len();
        self.out.reserve(data_len);
        let written = write(&mut self.out) && self.out.len() == data_start + data_len;
        if !written {
            self.out.truncate(start);
            return Err(crate::Error::InvalidArgument(
                "the record's data could not be written".into(),
            ));
        }
        self.crc.update(self.out.get(start..).unwrap_or_default());
        self.count += 1;
        Ok(())
    }

    /// Appends a record with `data`; see [`Self::push_with`].
    ///
    /// # Errors
    /// As [`Self::push_with`].
    pub fn push(
        &mut self,
        key: &[u8],
        hash_key: Option<u128>,
        data: &[u8],
    ) -> Result<(), crate::Error> {
        self.push_with(key, hash_key, data.len(), |room| {
            room.copy_from_slice(data);
            true
        })
    }

    /// How many records are in.
    #[must_use]
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The records, with their CRC; `None` if there are none (an append needs one).
    #[must_use]
    pub fn finish(self) -> Option<EncodedRecords> {
        (self.count > 0).then(|| EncodedRecords {
            bytes: self.out.freeze(),
            count: self.count,
            crc: self.crc.finalize(),
        })
    }
}

/// Appends one batch of producer-encoded `records`, as they came, behind a header with the
/// uniform-time flag, `base_offset` and `timestamp_ms`. The batch CRC combines the header's
/// with the records' own, so the records are copied once and not read again.
pub fn encode_adopted(
    out: &mut BytesMut,
    base_offset: u64,
    timestamp_ms: i64,
    records: &EncodedRecords,
) {
    let start = out.len();
    let len = records.batch_len();
    out.reserve(len);
    put_header(
        out,
        len,
        BATCH_FLAG_UNIFORM_TIME,
        records.count as usize,
        base_offset,
        timestamp_ms,
    );
    let mut crc = crc32fast::Hasher::new();
    crc.update(out.get(start + 8..).unwrap_or_default());
    crc.combine(&crc32fast::Hasher::new_with_initial_len(
        records.crc,
        records.bytes.len() as u64,
    ));
    put_crc(out, start, crc.finalize());
    out.put_slice(&records.bytes);
}

#[cfg(test)]
mod tests;
