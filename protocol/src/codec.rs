//! The primitives every native body is built from: a bounds-checked [`Reader`], the
//! [`Message`] trait, and [`DecodeError`].
//!
//! # Design constraints
//!
//! - Decoding never panics and never indexes with `[]`: every read goes through
//!   [`Reader::take`], which returns [`DecodeError::UnexpectedEof`] instead.
//! - Decoding never allocates what a length or count field *claims*: a `Vec` is reserved only
//!   after `count * minimum element size` is known to fit in the bytes that remain, so a
//!   forged count of four billion costs nothing.
//! - Encoding is infallible and does not enforce limits; the decoder does, so a peer never
//!   has to trust them.
#![deny(clippy::indexing_slicing)]

use bytes::{BufMut, Bytes, BytesMut};

/// Why bytes could not be decoded. Offsets count from the start of the slice handed to the
/// decoder (the frame for [`crate::native::decode_frame`], the body for a body decoder).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The body ended inside a field.
    #[error("unexpected end of body at offset {offset}: need {need} bytes, have {have}")]
    UnexpectedEof {
        /// Where the field starts.
        offset: usize,
        /// Bytes the field needs.
        need: usize,
        /// Bytes that remain.
        have: usize,
    },
    /// The frame length exceeds the decoder's limit; the connection must be closed.
    #[error("frame of {frame_bytes} bytes exceeds the limit of {frame_bytes_max} bytes")]
    FrameTooLarge {
        /// The whole frame's size as its length field claims it.
        frame_bytes: u64,
        /// The decoder's limit.
        frame_bytes_max: u32,
    },
    /// The frame length is too small to hold the frame header.
    #[error("frame length {frame_len} is shorter than the {header_len}-byte header")]
    FrameTooShort {
        /// The length field's value.
        frame_len: u32,
        /// The minimum.
        header_len: u32,
    },
    /// The frame kind is neither request (0) nor response (1).
    #[error("unknown frame kind {kind} at offset {offset}")]
    UnknownKind {
        /// Where the kind byte is.
        offset: usize,
        /// Its value.
        kind: u8,
    },
    /// The operation code is not one this version knows.
    #[error("unknown operation {op}")]
    UnknownOperation {
        /// The operation code from the frame header.
        op: u16,
    },
    /// A tag byte (an `Option`, a `Target`, a `StartPosition`) has no meaning.
    #[error("invalid {field} tag {tag} at offset {offset}")]
    InvalidTag {
        /// Where the tag is.
        offset: usize,
        /// Which field.
        field: &'static str,
        /// Its value.
        tag: u8,
    },
    /// A string is not UTF-8.
    #[error("{field} at offset {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// Where the string's bytes start.
        offset: usize,
        /// Which field.
        field: &'static str,
    },
    /// A length is outside the field's documented bounds.
    #[error("{field} at offset {offset} is {len} bytes, allowed {min}..={max}")]
    LengthOutOfRange {
        /// Where the length field is.
        offset: usize,
        /// Which field.
        field: &'static str,
        /// The length it claims.
        len: usize,
        /// Smallest allowed.
        min: usize,
        /// Largest allowed.
        max: usize,
    },
    /// A count exceeds its limit, or cannot fit in the bytes that remain.
    #[error("{field} at offset {offset} claims {count} elements, allowed at most {max}")]
    TooManyElements {
        /// Where the count field is.
        offset: usize,
        /// Which field.
        field: &'static str,
        /// The count it claims.
        count: usize,
        /// The most the limit and the remaining bytes allow.
        max: usize,
    },
    /// Bytes remain after the body's last field.
    #[error("{count} trailing bytes after the body at offset {offset}")]
    TrailingBytes {
        /// Where the extra bytes start.
        offset: usize,
        /// How many there are.
        count: usize,
    },
}

impl DecodeError {
    /// The native error code a server answers with when a request fails to decode.
    #[must_use]
    pub fn code(&self) -> crate::native::ErrorCode {
        use crate::native::ErrorCode;
        match self {
            Self::FrameTooLarge { .. } => ErrorCode::FrameTooLarge,
            Self::UnknownOperation { .. } => ErrorCode::UnknownOperation,
            _ => ErrorCode::MalformedFrame,
        }
    }
}

/// A message body (or a part of one) with a canonical binary encoding.
///
/// The encoding is canonical: `decode` accepts exactly the bytes `encode` produces for
/// some value, so re-encoding a decoded value reproduces the input byte for byte (the
/// fuzz target `native_roundtrip` checks this).
pub trait Message: Sized {
    /// The fewest bytes one encoded value takes; used to reject forged counts before
    /// reserving memory for them.
    const MIN_ENCODED_SIZE: usize;

    /// Exactly the number of bytes [`Message::encode`] appends.
    fn encoded_size(&self) -> usize;

    /// Appends the encoding to `out`.
    fn encode(&self, out: &mut BytesMut);

    /// Reads one value from `reader`, leaving it after the value.
    ///
    /// # Errors
    /// Any [`DecodeError`] other than the frame-level ones.
    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes a whole body: one value and nothing after it.
    ///
    /// # Errors
    /// As [`Message::read`], and [`DecodeError::TrailingBytes`].
    fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(body);
        let value = Self::read(&mut reader)?;
        reader.finish()?;
        Ok(value)
    }

    /// As [`Message::decode`], but byte fields ([`Reader::bytes_of`]) become slices of
    /// `body`'s buffer instead of copies: a produce's record data stays in the frame it
    /// arrived in.
    ///
    /// # Errors
    /// As [`Message::decode`].
    fn decode_shared(body: &Bytes) -> Result<Self, DecodeError> {
        let mut reader = Reader::shared(body);
        let value = Self::read(&mut reader)?;
        reader.finish()?;
        Ok(value)
    }
}

/// A cursor over a body that turns every out-of-bounds read into a [`DecodeError`].
#[derive(Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
    offset: usize,
    /// The buffer `rest` lies in, when the caller has one to share.
    source: Option<&'a Bytes>,
}

impl<'a> Reader<'a> {
    /// Starts at the first byte of `buf`.
    #[must_use]
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            rest: buf,
            offset: 0,
            source: None,
        }
    }

    /// Starts at the first byte of `buf`; [`Reader::bytes_of`] then shares `buf` instead of
    /// copying out of it.
    #[must_use]
    pub fn shared(buf: &'a Bytes) -> Self {
        Self {
            rest: buf,
            offset: 0,
            source: Some(buf),
        }
    }

    /// An owned [`Bytes`] of `taken`, a slice this reader returned: a reference-counted
    /// slice of the shared buffer when there is one, else a copy.
    #[must_use]
    pub fn bytes_of(&self, taken: &[u8]) -> Bytes {
        match self.source {
            // `taken` came from `rest`, which lies inside `source` (or is empty, which
            // `slice_ref` accepts anywhere).
            Some(source) if is_within(source, taken) => source.slice_ref(taken),
            _ => Bytes::copy_from_slice(taken),
        }
    }

    /// Offset of the next byte from the start of the original buffer.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Bytes not yet read.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Takes the next `n` bytes.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`] if fewer remain.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let Some((taken, rest)) = self.rest.split_at_checked(n) else {
            return Err(DecodeError::UnexpectedEof {
                offset: self.offset,
                need: n,
                have: self.rest.len(),
            });
        };
        self.rest = rest;
        self.offset += n;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let offset = self.offset;
        let taken = self.take(N)?;
        <[u8; N]>::try_from(taken).map_err(|_| DecodeError::UnexpectedEof {
            offset,
            need: N,
            have: taken.len(),
        })
    }

    /// Reads a `u8`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`].
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `u16`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`].
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `u32`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`].
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `u64`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`].
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `i64`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`].
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `u128`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`].
    pub fn u128(&mut self) -> Result<u128, DecodeError> {
        Ok(u128::from_le_bytes(self.array()?))
    }

    /// Reads an option tag: 0 is `None`, 1 is `Some`, anything else is an error.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`], [`DecodeError::InvalidTag`].
    pub fn option<T>(
        &mut self,
        field: &'static str,
        read: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        let offset = self.offset;
        match self.u8()? {
            0 => Ok(None),
            1 => read(self).map(Some),
            tag => Err(DecodeError::InvalidTag { offset, field, tag }),
        }
    }

    /// Reads a `u16` length and that many bytes, checking `min..=max` first.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`], [`DecodeError::LengthOutOfRange`].
    pub fn short_bytes(
        &mut self,
        field: &'static str,
        min: usize,
        max: usize,
    ) -> Result<&'a [u8], DecodeError> {
        let offset = self.offset;
        let len = usize::from(self.u16()?);
        check_len(offset, field, len, min, max)?;
        self.take(len)
    }

    /// Reads a `u32` length and that many bytes, checking `min..=max` first.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEof`], [`DecodeError::LengthOutOfRange`].
    pub fn long_bytes(
        &mut self,
        field: &'static str,
        min: usize,
        max: usize,
    ) -> Result<&'a [u8], DecodeError> {
        let offset = self.offset;
        let len = usize::try_from(self.u32()?).unwrap_or(usize::MAX);
        check_len(offset, field, len, min, max)?;
        self.take(len)
    }

    /// Reads a `u16`-length UTF-8 string of `min..=max` bytes.
    ///
    /// # Errors
    /// As [`Reader::short_bytes`], and [`DecodeError::InvalidUtf8`].
    pub fn string(
        &mut self,
        field: &'static str,
        min: usize,
        max: usize,
    ) -> Result<String, DecodeError> {
        let bytes = self.short_bytes(field, min, max)?;
        let offset = self.offset - bytes.len();
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| DecodeError::InvalidUtf8 { offset, field })
    }

    /// Reads a `u32` count of at most `max` values of `T`, then the values.
    ///
    /// The `Vec` is reserved only after the count is known to fit both `max` and the bytes
    /// that remain (at `T::MIN_ENCODED_SIZE` each), so a forged count allocates nothing.
    ///
    /// # Errors
    /// [`DecodeError::TooManyElements`], and whatever `T::read` returns.
    pub fn vec<T: Message>(
        &mut self,
        field: &'static str,
        max: usize,
    ) -> Result<Vec<T>, DecodeError> {
        self.vec_with(field, max, T::MIN_ENCODED_SIZE, T::read)
    }

    /// As [`Reader::vec`], for elements that are not a [`Message`].
    ///
    /// # Errors
    /// [`DecodeError::TooManyElements`], and whatever `read` returns.
    pub fn vec_with<T>(
        &mut self,
        field: &'static str,
        max: usize,
        element_size_min: usize,
        mut read: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let offset = self.offset;
        let count = usize::try_from(self.u32()?).unwrap_or(usize::MAX);
        let fits = self.remaining() / element_size_min.max(1);
        let allowed = max.min(fits);
        if count > allowed {
            return Err(DecodeError::TooManyElements {
                offset,
                field,
                count,
                max: allowed,
            });
        }
        let mut values = Vec::with_capacity(count);
        for _ in 0..count {
            values.push(read(self)?);
        }
        Ok(values)
    }

    /// Succeeds only if every byte has been read.
    ///
    /// # Errors
    /// [`DecodeError::TrailingBytes`].
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                offset: self.offset,
                count: self.rest.len(),
            })
        }
    }
}

/// Whether `part` lies inside `whole` (what [`Bytes::slice_ref`] requires).
fn is_within(whole: &[u8], part: &[u8]) -> bool {
    let start = whole.as_ptr() as usize;
    let part_start = part.as_ptr() as usize;
    part.is_empty() || (part_start >= start && part_start + part.len() <= start + whole.len())
}

fn check_len(
    offset: usize,
    field: &'static str,
    len: usize,
    min: usize,
    max: usize,
) -> Result<(), DecodeError> {
    if (min..=max).contains(&len) {
        Ok(())
    } else {
        Err(DecodeError::LengthOutOfRange {
            offset,
            field,
            len,
            min,
            max,
        })
    }
}

/// Appends a `u16` length and the bytes. Longer input is cut to `u16::MAX` bytes; every
/// field written this way has a far smaller documented maximum, so the peer rejects it.
pub fn put_short_bytes(out: &mut BytesMut, bytes: &[u8]) {
    let len = bytes.len().min(usize::from(u16::MAX));
    out.put_u16_le(u16::try_from(len).unwrap_or(u16::MAX));
    out.put_slice(bytes.get(..len).unwrap_or_default());
}

/// Appends a `u32` length and the bytes (a frame cannot exceed 4 GiB, so neither can they).
pub fn put_long_bytes(out: &mut BytesMut, bytes: &[u8]) {
    let len = bytes.len().min(u32::MAX as usize);
    out.put_u32_le(u32::try_from(len).unwrap_or(u32::MAX));
    out.put_slice(bytes.get(..len).unwrap_or_default());
}

/// Appends an option tag, then the value if there is one.
pub fn put_option<T>(out: &mut BytesMut, value: Option<T>, put: impl FnOnce(&mut BytesMut, T)) {
    match value {
        None => out.put_u8(0),
        Some(value) => {
            out.put_u8(1);
            put(out, value);
        }
    }
}

/// Appends a `u32` element count.
pub fn put_count(out: &mut BytesMut, count: usize) {
    out.put_u32_le(u32::try_from(count).unwrap_or(u32::MAX));
}

/// Encoded size of a `u16`-length byte string.
#[must_use]
pub fn short_bytes_size(bytes: &[u8]) -> usize {
    2 + bytes.len().min(usize::from(u16::MAX))
}

/// Encoded size of a `u32`-length byte string.
#[must_use]
pub fn long_bytes_size(bytes: &[u8]) -> usize {
    4 + bytes.len()
}

/// Encoded size of an option whose value takes `size` bytes.
#[must_use]
pub fn option_size<T>(value: Option<T>, size: usize) -> usize {
    1 + if value.is_some() { size } else { 0 }
}
