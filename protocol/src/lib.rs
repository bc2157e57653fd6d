//! Strata's wire formats, with no I/O: bytes in, typed messages out, and back.
//!
//! Everything here is pure and synchronous, so it can be fuzzed and property-tested in
//! isolation; the server and the client own the sockets. Decoders never panic, never index
//! with `[]`, and never allocate what an untrusted length claims before checking that the
//! bytes are there.
//!
//! # Layout
//!
//! - [`codec`]: the [`Message`](codec::Message) trait, the bounds-checked
//!   [`Reader`](codec::Reader) and [`DecodeError`](codec::DecodeError).
//! - [`native`]: the native binary protocol (specified in `protocol/README.md`):
//!   - [`native::frame`]: the length-prefixed frame header and `decode_frame`;
//!   - [`native::requests`] and [`native::responses`]: one body struct per operation;
//!   - [`native::codes`]: the `repr(u32)` error-code table;
//!   - [`native::Request`] and [`native::Response`]: bodies tied to operation codes.
//!
//! # Example
//!
//! A client encodes a `Produce` frame; the server finds the frame in its read buffer and
//! decodes the request.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use protocol::native::{
//!     FRAME_BYTES_MAX, Kind, Produce, ProduceRecord, Request, Target, decode_frame,
//! };
//!
//! let request = Request::Produce(Produce {
//!     stream: "clicks".to_owned(),
//!     records: vec![ProduceRecord {
//!         target: Target::PartitionKey { key: Bytes::from("user-42"), explicit_hash_key: None },
//!         data: Bytes::from_static(b"{\"page\":\"/\"}"),
//!     }],
//! });
//! let mut buf = BytesMut::new();
//! request.encode_frame(7, &mut buf);
//!
//! // Any strict prefix is "not yet": wait for more bytes.
//! assert_eq!(decode_frame(&buf[..5], FRAME_BYTES_MAX)?, None);
//!
//! let (header, frame_size) = decode_frame(&buf, FRAME_BYTES_MAX)?.expect("a whole frame");
//! assert_eq!((header.kind, header.request_id, frame_size), (Kind::Request, 7, buf.len()));
//! let body = buf.get(protocol::native::FRAME_HEADER_SIZE..frame_size).unwrap_or_default();
//! assert_eq!(Request::decode(header.op, body)?, request);
//! # Ok::<(), protocol::native::DecodeError>(())
//! ```
#![deny(unsafe_code)]

pub mod aws;
pub mod codec;
pub mod native;
