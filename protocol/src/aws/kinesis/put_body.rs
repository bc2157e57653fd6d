//! A PutRecords JSON body read in place: the stream, and each record's partition key, hash key
//! and base64 data as slices of the body, so the data can be decoded straight into the log's
//! batch with no string or buffer per record.
//!
//! [`PutRecordsBody::parse`] reads only the shape the AWS SDKs send: the model's members, each
//! once, strings without escapes. Anything else (an escape, a `null`, an unknown or repeated
//! member, a number where a string belongs, data whose base64 length is wrong) answers
//! `None`, and the caller decodes the body with serde as every other operation does, which
//! accepts or refuses it with the exact error. So a body this reader accepts means what
//! serde would make of it; a property test and a fuzz target hold it to that.
#![deny(clippy::indexing_slicing)]

use super::StreamRef;
use crate::aws::json_scan::Cursor;

/// A PutRecords body in the SDKs' shape, borrowed from the request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PutRecordsBody<'a> {
    /// `StreamName`.
    pub stream_name: Option<&'a str>,
    /// `StreamARN`.
    pub stream_arn: Option<&'a str>,
    /// `StreamId` (accepted and ignored, as [`StreamRef`] does).
    pub stream_id: Option<&'a str>,
    /// `Records`, in request order.
    pub records: Vec<PutRecordsBodyEntry<'a>>,
}

/// One `PutRecordsRequestEntry`, borrowed from the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutRecordsBodyEntry<'a> {
    /// `Data` as sent: standard base64 with padding.
    pub data: &'a [u8],
    /// The size of the data once decoded (exact for valid base64).
    pub data_len: usize,
    /// `PartitionKey`.
    pub partition_key: &'a str,
    /// `ExplicitHashKey`.
    pub explicit_hash_key: Option<&'a str>,
}

impl PutRecordsBodyEntry<'_> {
    /// Decodes the data into `out`, which must be exactly [`Self::data_len`] bytes; false if
    /// the data is not base64 as serde's decoding of a `Blob` would accept it.
    #[must_use]
    pub fn decode_data(&self, out: &mut [u8]) -> bool {
        // The decoder panics on room too small for the data, so any other size is refused.
        out.len() == self.data_len
            && base64_simd::STANDARD
                .decode(self.data, base64_simd::Out::from_slice(out))
                .is_ok_and(|decoded| decoded.len() == self.data_len)
    }
}

impl<'a> PutRecordsBody<'a> {
    /// Reads `body` if it has the SDKs' shape; `None` means "decode it with serde".
    #[must_use]
    pub fn parse(body: &'a [u8]) -> Option<Self> {
        let mut cursor = Cursor::new(body);
        let mut parsed = Self::default();
        let mut records = None;
        cursor.object(|cursor, key| {
            let slot = match key {
                b"StreamName" => &mut parsed.stream_name,
                b"StreamARN" => &mut parsed.stream_arn,
                b"StreamId" => &mut parsed.stream_id,
                b"Records" if records.is_none() => {
                    let mut entries = Vec::new();
                    cursor.array(|cursor| {
                        entries.push(entry(cursor)?);
                        Some(())
                    })?;
                    records = Some(entries);
                    return Some(());
                }
                _ => return None,
            };
            if slot.is_some() {
                return None;
            }
            *slot = Some(cursor.text()?);
            Some(())
        })?;
        if !cursor.at_end() {
            return None;
        }
        parsed.records = records?;
        Some(parsed)
    }

    /// The stream the body names, as serde would read it.
    #[must_use]
    pub fn stream(&self) -> StreamRef {
        StreamRef {
            stream_name: self.stream_name.map(str::to_owned),
            stream_arn: self.stream_arn.map(str::to_owned),
            stream_id: self.stream_id.map(str::to_owned),
        }
    }
}

/// One record. Its data is taken as it came up to the next quote: base64 has no backslash,
/// so an escape there makes [`PutRecordsBodyEntry::decode_data`] refuse it.
fn entry<'a>(cursor: &mut Cursor<'a>) -> Option<PutRecordsBodyEntry<'a>> {
    let (mut data, mut partition_key, mut explicit_hash_key) = (None, None, None);
    cursor.object(|cursor, key| match key {
        b"Data" if data.is_none() => {
            data = Some(cursor.raw_string()?);
            Some(())
        }
        b"PartitionKey" if partition_key.is_none() => {
            partition_key = Some(cursor.text()?);
            Some(())
        }
        b"ExplicitHashKey" if explicit_hash_key.is_none() => {
            explicit_hash_key = Some(cursor.text()?);
            Some(())
        }
        _ => None,
    })?;
    let data = data?;
    Some(PutRecordsBodyEntry {
        data,
        data_len: base64_simd::STANDARD.decoded_length(data).ok()?,
        partition_key: partition_key?,
        explicit_hash_key,
    })
}

#[cfg(test)]
mod tests;
