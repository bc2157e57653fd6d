//! The frame: a length-prefixed header shared by every request and response.
//!
//! # Design constraints
//!
//! - A reader must learn a frame's full size from its first four bytes, so it can reject an
//!   oversized frame before buffering it and wait for exactly the bytes it needs.
//! - A partial frame is an outcome (`Ok(None)`), not an error: TCP delivers bytes, not
//!   frames.
//! - Responses carry their request's id, so a client may pipeline many requests on one
//!   connection and match answers as they arrive.
//!
//! ```text
//! 0         4      5       7            11
//! +---------+------+-------+------------+------------------------+
//! |frame_len| kind |  op   | request_id | body (frame_len - 7)   |
//! |  u32    |  u8  |  u16  |    u32     |                        |
//! +---------+------+-------+------------+------------------------+
//! all integers little endian; frame_len counts the bytes after itself
//! ```
#![deny(clippy::indexing_slicing)]

use bytes::{BufMut, Bytes, BytesMut};

use crate::codec::{DecodeError, Reader};

/// Bytes before the body: `frame_len`, `kind`, `op`, `request_id`.
pub const FRAME_HEADER_SIZE: usize = 11;

/// The smallest valid `frame_len`: a header with an empty body.
const FRAME_LEN_MIN: u32 = 7;

const _: () = assert!(FRAME_HEADER_SIZE == 4 + FRAME_LEN_MIN as usize);

/// Default limit on a whole frame's size (header included): 64 MiB.
pub const FRAME_BYTES_MAX: u32 = 64 * 1024 * 1024;

/// Whether a frame is a request or a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// Client to server.
    Request = 0,
    /// Server to client, carrying the request's id.
    Response = 1,
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// Request or response.
    pub kind: Kind,
    /// The operation code, raw: an unknown one is reported when the body is decoded, so a
    /// server can still answer with the request's id.
    pub op: u16,
    /// Chosen by the client; echoed by the response.
    pub request_id: u32,
    /// Bytes of body after the header.
    pub body_len: u32,
}

impl FrameHeader {
    /// Appends the 11-byte header.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u32_le(self.body_len.saturating_add(FRAME_LEN_MIN));
        out.put_u8(self.kind as u8);
        out.put_u16_le(self.op);
        out.put_u32_le(self.request_id);
    }

    /// The whole frame's size, header included.
    #[must_use]
    pub fn frame_size(&self) -> usize {
        FRAME_HEADER_SIZE + self.body_len as usize
    }
}

/// Looks for one whole frame at the start of `buf`.
///
/// Returns `Ok(None)` when more bytes are needed, and `Ok(Some((header, frame_size)))` when
/// `buf[..frame_size]` is a whole frame whose body is `buf[FRAME_HEADER_SIZE..frame_size]`.
/// The size check happens as soon as the length field is readable, before the frame's
/// bytes arrive, so an oversized frame is refused without buffering it.
///
/// # Errors
/// [`DecodeError::FrameTooLarge`] if the frame exceeds `frame_bytes_max`,
/// [`DecodeError::FrameTooShort`] if it cannot hold a header, and
/// [`DecodeError::UnknownKind`]. All of them mean the stream is out of sync: close it.
pub fn decode_frame(
    buf: &[u8],
    frame_bytes_max: u32,
) -> Result<Option<(FrameHeader, usize)>, DecodeError> {
    let mut reader = Reader::new(buf);
    let Ok(frame_len) = reader.u32() else {
        return Ok(None);
    };
    let frame_bytes = u64::from(frame_len) + 4;
    if frame_bytes > u64::from(frame_bytes_max) {
        return Err(DecodeError::FrameTooLarge {
            frame_bytes,
            frame_bytes_max,
        });
    }
    if frame_len < FRAME_LEN_MIN {
        return Err(DecodeError::FrameTooShort {
            frame_len,
            header_len: FRAME_LEN_MIN,
        });
    }
    let frame_size = usize::try_from(frame_bytes).unwrap_or(usize::MAX);
    if buf.len() < frame_size {
        return Ok(None);
    }
    let kind_offset = reader.offset();
    let kind = match reader.u8()? {
        0 => Kind::Request,
        1 => Kind::Response,
        kind => {
            return Err(DecodeError::UnknownKind {
                offset: kind_offset,
                kind,
            });
        }
    };
    let op = reader.u16()?;
    let request_id = reader.u32()?;
    let header = FrameHeader {
        kind,
        op,
        request_id,
        body_len: frame_len - FRAME_LEN_MIN,
    };
    Ok(Some((header, frame_size)))
}

/// A whole frame with its body as shared bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Request or response.
    pub kind: Kind,
    /// The raw operation code.
    pub op: u16,
    /// The request's id.
    pub request_id: u32,
    /// The body, undecoded.
    pub body: Bytes,
}

impl Frame {
    /// Appends the header and the body.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_size());
        self.header().encode(out);
        out.put_slice(&self.body);
    }

    /// Header plus body.
    #[must_use]
    pub fn encoded_size(&self) -> usize {
        FRAME_HEADER_SIZE + self.body.len()
    }

    /// The frame's header.
    #[must_use]
    pub fn header(&self) -> FrameHeader {
        FrameHeader {
            kind: self.kind,
            op: self.op,
            request_id: self.request_id,
            body_len: u32::try_from(self.body.len()).unwrap_or(u32::MAX),
        }
    }

    /// Splits one whole frame off the front of a connection's read buffer without copying
    /// the body; `Ok(None)` leaves `buf` untouched until more bytes arrive.
    ///
    /// # Errors
    /// As [`decode_frame`].
    pub fn split_from(
        buf: &mut BytesMut,
        frame_bytes_max: u32,
    ) -> Result<Option<Self>, DecodeError> {
        let Some((header, frame_size)) = decode_frame(buf, frame_bytes_max)? else {
            return Ok(None);
        };
        let mut frame = buf.split_to(frame_size).freeze();
        let body = frame.split_off(FRAME_HEADER_SIZE);
        Ok(Some(Self {
            kind: header.kind,
            op: header.op,
            request_id: header.request_id,
            body,
        }))
    }
}

#[cfg(test)]
#[expect(
    clippy::indexing_slicing,
    reason = "tests slice buffers they just built"
)]
mod tests {
    use super::*;

    fn sample() -> Frame {
        Frame {
            kind: Kind::Response,
            op: 7,
            request_id: 0xDEAD_BEEF,
            body: Bytes::from_static(b"hello"),
        }
    }

    #[test]
    fn header_layout_is_little_endian_and_eleven_bytes() {
        let mut out = BytesMut::new();
        sample().encode(&mut out);
        assert_eq!(
            &out[..],
            &[
                12, 0, 0, 0, 1, 7, 0, 0xEF, 0xBE, 0xAD, 0xDE, b'h', b'e', b'l', b'l', b'o'
            ]
        );
    }

    #[test]
    fn every_prefix_of_a_frame_is_incomplete() {
        let mut out = BytesMut::new();
        sample().encode(&mut out);
        for cut in 0..out.len() {
            assert_eq!(
                decode_frame(&out[..cut], FRAME_BYTES_MAX),
                Ok(None),
                "cut {cut}"
            );
        }
        let (header, size) = decode_frame(&out, FRAME_BYTES_MAX).unwrap().unwrap();
        assert_eq!(size, out.len());
        assert_eq!(header, sample().header());
    }

    #[test]
    fn oversized_length_is_refused_from_the_length_field_alone() {
        let buf = u32::MAX.to_le_bytes();
        assert_eq!(
            decode_frame(&buf, FRAME_BYTES_MAX),
            Err(DecodeError::FrameTooLarge {
                frame_bytes: u64::from(u32::MAX) + 4,
                frame_bytes_max: FRAME_BYTES_MAX
            })
        );
        // The limit is the decoder's: a 16-byte frame is too large for a 15-byte limit.
        let mut out = BytesMut::new();
        sample().encode(&mut out);
        assert!(matches!(
            decode_frame(&out, 15),
            Err(DecodeError::FrameTooLarge { .. })
        ));
        assert!(decode_frame(&out, 16).unwrap().is_some());
    }

    #[test]
    fn short_length_and_unknown_kind_are_errors() {
        let buf = [6, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            decode_frame(&buf, FRAME_BYTES_MAX),
            Err(DecodeError::FrameTooShort { .. })
        ));
        let buf = [7, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            decode_frame(&buf, FRAME_BYTES_MAX),
            Err(DecodeError::UnknownKind { offset: 4, kind: 2 })
        );
    }

    #[test]
    fn split_from_shares_the_body_and_leaves_the_next_frame() {
        let mut buf = BytesMut::new();
        sample().encode(&mut buf);
        sample().encode(&mut buf);
        buf.extend_from_slice(&[1, 2]);
        assert_eq!(
            Frame::split_from(&mut buf, FRAME_BYTES_MAX).unwrap(),
            Some(sample())
        );
        assert_eq!(
            Frame::split_from(&mut buf, FRAME_BYTES_MAX).unwrap(),
            Some(sample())
        );
        assert_eq!(Frame::split_from(&mut buf, FRAME_BYTES_MAX).unwrap(), None);
        assert_eq!(&buf[..], &[1, 2]);
    }
}
