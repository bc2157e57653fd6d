//! The little binary reader and writer every queue encoding uses (messages, queue
//! configuration, per-message state, deduplication entries).
//!
//! Design constraints: integers are big-endian and fixed width; variable fields carry their
//! length first (u16 for names and ids, u32 for bodies, values and policies); a decoder never
//! indexes, never panics and never allocates more than the bytes it was given can hold.
#![deny(clippy::indexing_slicing)]

use bytes::{BufMut, Bytes};

/// Why bytes did not decode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("undecodable {what} at byte {offset}: {reason}")]
pub struct DecodeError {
    /// What was being decoded.
    pub what: &'static str,
    /// Where in the input.
    pub offset: usize,
    /// What was wrong.
    pub reason: &'static str,
}

/// Reads fields off a byte slice, front to back.
pub(crate) struct Reader<'a> {
    what: &'static str,
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(what: &'static str, bytes: &'a [u8]) -> Self {
        Self {
            what,
            bytes,
            position: 0,
        }
    }

    pub(crate) fn error(&self, reason: &'static str) -> DecodeError {
        DecodeError {
            what: self.what,
            offset: self.position,
            reason,
        }
    }

    /// Bytes read so far.
    pub(crate) fn position(&self) -> usize {
        self.position
    }

    pub(crate) fn take(&mut self, count: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .position
            .checked_add(count)
            .ok_or_else(|| self.error("length overflows"))?;
        let taken = self
            .bytes
            .get(self.position..end)
            .ok_or_else(|| self.error("truncated"))?;
        self.position = end;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(N)?;
        <[u8; N]>::try_from(bytes).map_err(|_| self.error("truncated"))
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_be_bytes(self.array()?))
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    pub(crate) fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.error("a flag is neither 0 nor 1")),
        }
    }

    pub(crate) fn fixed<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        self.array()
    }

    /// A u16-length-prefixed byte string.
    pub(crate) fn short_bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let length = self.u16()?;
        self.take(usize::from(length))
    }

    /// A u32-length-prefixed byte string.
    pub(crate) fn long_bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let length = usize::try_from(self.u32()?).map_err(|_| self.error("length overflows"))?;
        self.take(length)
    }

    fn utf8(&self, bytes: &'a [u8]) -> Result<String, DecodeError> {
        std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|_| self.error("text is not UTF-8"))
    }

    /// A u16-length-prefixed UTF-8 string, borrowed.
    pub(crate) fn short_text(&mut self) -> Result<&'a str, DecodeError> {
        let bytes = self.short_bytes()?;
        std::str::from_utf8(bytes).map_err(|_| self.error("text is not UTF-8"))
    }

    /// A u32-length-prefixed UTF-8 string, borrowed.
    pub(crate) fn long_text(&mut self) -> Result<&'a str, DecodeError> {
        let bytes = self.long_bytes()?;
        std::str::from_utf8(bytes).map_err(|_| self.error("text is not UTF-8"))
    }

    /// A u16-length-prefixed UTF-8 string.
    pub(crate) fn short_str(&mut self) -> Result<String, DecodeError> {
        let bytes = self.short_bytes()?;
        self.utf8(bytes)
    }

    /// A u32-length-prefixed UTF-8 string.
    pub(crate) fn long_str(&mut self) -> Result<String, DecodeError> {
        let bytes = self.long_bytes()?;
        self.utf8(bytes)
    }

    /// A presence flag and, when present, a u16-prefixed string.
    pub(crate) fn optional_short_str(&mut self) -> Result<Option<String>, DecodeError> {
        if self.bool()? {
            self.short_str().map(Some)
        } else {
            Ok(None)
        }
    }

    /// A presence flag and, when present, a u32-prefixed string.
    pub(crate) fn optional_long_str(&mut self) -> Result<Option<String>, DecodeError> {
        if self.bool()? {
            self.long_str().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Fails unless every byte was read (a decoder of a whole value calls it last).
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.position == self.bytes.len() {
            Ok(())
        } else {
            Err(self.error("trailing bytes"))
        }
    }

    /// A sub-slice of `source` (the `Bytes` this reader reads) for the bytes just taken,
    /// without copying.
    pub(crate) fn slice_of(source: &Bytes, taken: &[u8]) -> Bytes {
        source.slice_ref(taken)
    }
}

/// Length of a field as its u16 prefix; the encoders' callers bound every such field far
/// below 64 KiB, so saturating never happens in practice and a decoder would refuse it.
pub(crate) fn put_short(out: &mut impl BufMut, bytes: &[u8]) {
    let length = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    out.put_u16(length);
    out.put_slice(bytes.get(..usize::from(length)).unwrap_or(bytes));
}

/// A u32-prefixed field (bodies, values, policies: bounded by the record size).
pub(crate) fn put_long(out: &mut impl BufMut, bytes: &[u8]) {
    let length = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.put_u32(length);
    out.put_slice(bytes);
}

pub(crate) fn put_optional_short(out: &mut impl BufMut, value: Option<&str>) {
    match value {
        Some(value) => {
            out.put_u8(1);
            put_short(out, value.as_bytes());
        }
        None => out.put_u8(0),
    }
}

pub(crate) fn put_optional_long(out: &mut impl BufMut, value: Option<&str>) {
    match value {
        Some(value) => {
            out.put_u8(1);
            put_long(out, value.as_bytes());
        }
        None => out.put_u8(0),
    }
}
