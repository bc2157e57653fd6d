//! The AWS event-stream message encoding (`application/vnd.amazon.eventstream`).
//!
//! AWS uses this binary framing for streaming responses. Strata needs it for Kinesis
//! `SubscribeToShard`. The normative text is the Smithy "Amazon Event Stream Specification"
//! (<https://smithy.io/2.0/aws/amazon-eventstream.html>). AWS service guides restate it with
//! byte offsets under "Event stream encoding" (Amazon Transcribe, Lex V2). The clients that
//! read it are botocore (`botocore/eventstream.py`), the Rust SDK (`aws-smithy-eventstream`)
//! and the Java SDK v2 (`software.amazon.eventstream`). The tests below use the test vectors
//! shared by botocore and `aws-c-event-stream`.
//!
//! # Wire format
//!
//! ```text
//! 0           4             8             12                                total-4     total
//! +-----------+-------------+-------------+---------+-------------------+-------------+
//! | total_len | headers_len | prelude_crc | headers | payload           | message_crc |
//! |    u32    |     u32     |     u32     |         |                   |     u32     |
//! +-----------+-------------+-------------+---------+-------------------+-------------+
//! Integers are big endian. total_len counts the whole message, including itself and
//! message_crc. prelude_crc covers bytes 0..8. message_crc covers bytes 0..total-4, which
//! includes prelude_crc. Both checksums are CRC-32 (IEEE 802.3, the gzip/zlib polynomial).
//!
//! header = name_len: u8 (1..=255) | name: UTF-8 | value_type: u8 | value
//!
//!   value_type  value
//!   0           boolean true: no value bytes
//!   1           boolean false: no value bytes
//!   2           byte: i8
//!   3           short: i16
//!   4           integer: i32
//!   5           long: i64
//!   6           byte array: u16 length, then that many bytes
//!   7           string: u16 length, then that many bytes of UTF-8
//!   8           timestamp: i64 milliseconds (not seconds) since the Unix epoch
//!   9           uuid: 16 bytes
//! ```
//!
//! A message costs [`MESSAGE_OVERHEAD`] (16) bytes beyond its headers and payload. Header
//! order has no meaning. The encoder writes headers in the order given and the decoder keeps
//! the order it reads, so a decoded message re-encodes to the same bytes.
//!
//! # Design constraints
//!
//! - A partial message is an outcome (`Ok(None)`), not an error. The decoder first waits for
//!   the 12-byte prelude and checks its CRC before trusting either length. It then rejects a
//!   length that is impossible or too large straight away, so a forged `total_len` of 4 GiB
//!   never makes a caller buffer 4 GiB. Only after that does it wait for the rest.
//! - The decoder checks the message CRC before it parses any header, as botocore does.
//! - Decoding never panics and never indexes with `[]` (`#![deny(clippy::indexing_slicing)]`).
//!   It copies a header value or the payload only once the bytes are known to be present.
//! - Limits, which the spec says services MUST validate:
//!   - The header section is at most [`MAX_HEADERS_LEN`] (128 KiB).
//!   - A whole message is at most [`MAX_MESSAGE_LEN`] (16 MiB). This is Strata's own
//!     choice. It is above the 10 MiB that a single `GetRecords` call may return, and below
//!     the spec's 24 MiB payload limit, which botocore enforces. So botocore accepts every
//!     message Strata sends.
//!   - A header name is 1..=255 bytes, and no name appears twice. botocore rejects a
//!     duplicate with `DuplicateHeader`.
//! - Encoding can fail, unlike the native codec. [`Message`]'s fields are public, and some
//!   messages have no valid encoding, such as one with a 300-byte header name or a repeated
//!   name. [`Message::encode`] checks everything the decoder checks and writes nothing when a
//!   check fails. So `decode` gives back exactly the message for every message that `encode`
//!   accepts, and `encode` accepts every message that `decode` returns.
//!
//! # `SubscribeToShard` over this encoding
//!
//! - **Request.** An ordinary AWS JSON 1.1 `POST` with
//!   `X-Amz-Target: Kinesis_20131202.SubscribeToShard`. The service model sets
//!   `protocolSettings.h2 = "eventstream"`. The Java SDK v2 calls the operation only over
//!   HTTP/2, but boto3 calls it over HTTP/1.1, so the server must answer on both. The body
//!   bytes are the same on both. Message boundaries need not line up with HTTP/2 DATA frames
//!   or HTTP/1.1 chunks.
//! - **Errors found before the stream starts** (`ResourceNotFoundException`,
//!   `ResourceInUseException`, `LimitExceededException`, `InvalidArgumentException`,
//!   `AccessDeniedException`) are plain JSON error responses with a 4xx status. They are not
//!   event-stream messages.
//! - **Success.** The response is `200` with `Content-Type: application/vnd.amazon.eventstream`
//!   ([`CONTENT_TYPE`]) and `x-amzn-RequestId`. The body is a sequence of messages.
//! - **The first message must be the initial response:** `:message-type` = `event`,
//!   `:event-type` = `initial-response`, `:content-type`, and the payload `{}`
//!   ([`Message::initial_response`]). In the RPC protocols, AWS JSON 1.1 among them, every
//!   output member except the event stream goes into this payload. `SubscribeToShardOutput`
//!   has no member besides `EventStream`, so the payload is an empty JSON object.
//!   - botocore's JSON parser calls `EventStream.get_initial_response()`, which takes the first
//!     message. If that message's `:event-type` is anything else, the call fails with
//!     "First event was not of type initial-response", and boto3's `subscribe_to_shard` raises
//!     before the caller sees a single record.
//!   - botocore then parses the payload as the operation's JSON output. An empty payload and
//!     `{}` both parse.
//!   - The Java SDK v2 reads the same message; its tests send it without `:content-type`.
//! - **Records.** Each batch is an event ([`Message::event`]) with `:event-type` =
//!   `SubscribeToShardEvent`. Its JSON payload has `Records`, `ContinuationSequenceNumber`,
//!   `MillisBehindLatest` and, at the end of a shard, `ChildShards`. A subscription lasts up
//!   to 5 minutes, and then the server ends the response.
//! - **Errors during the stream** are modeled exceptions ([`Message::exception`]):
//!   - `:message-type` = `exception`, and `:exception-type` is a member of
//!     `SubscribeToShardEventStream`: `ResourceNotFoundException`, `ResourceInUseException`,
//!     `KMSDisabledException`, `KMSInvalidStateException`, `KMSAccessDeniedException`,
//!     `KMSNotFoundException`, `KMSOptInRequired`, `KMSThrottlingException` or
//!     `InternalFailureException`.
//!   - The payload is JSON, such as `{"message":"..."}`. botocore reads `Message` or `message`
//!     from it.
//!   - botocore raises `EventStreamError` with `:exception-type` as the error code. For an
//!     exception type it does not know, it falls back to the `:error-code` and
//!     `:error-message` headers of an unmodeled error ([`Message::error`]).
//! - **What botocore checks:**
//!   - both CRCs;
//!   - the header section is at most 128 KiB and the payload at most 24 MiB;
//!   - no header name appears twice;
//!   - `:event-type` names a member of the union; botocore drops an event of any other type
//!     without a word;
//!   - `:message-type`: only `exception` and `error` change how a message is handled, and a
//!     message without the header counts as an event.
//!
//!   botocore ignores `:content-type`. The Smithy spec's AWS JSON 1.1 Kinesis example uses
//!   `application/json`, and this module leaves the choice to its caller.
#![deny(clippy::indexing_slicing)]

use std::collections::HashSet;

use bytes::{BufMut, Bytes, BytesMut};

/// The HTTP `Content-Type` of a response body made of event-stream messages.
pub const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// Bytes of prelude: `total_len`, `headers_len` and `prelude_crc`.
pub const PRELUDE_LEN: usize = 12;

/// Bytes of the trailing message CRC.
pub const MESSAGE_CRC_LEN: usize = 4;

/// Bytes a message costs beyond its headers and payload. An empty message is this long.
pub const MESSAGE_OVERHEAD: usize = PRELUDE_LEN + MESSAGE_CRC_LEN;

/// The largest whole message that [`decode`] accepts and [`Message::encode`] produces:
/// 16 MiB, below botocore's 24 MiB payload limit.
pub const MAX_MESSAGE_LEN: usize = 16 * 1024 * 1024;

/// The largest encoded header section: 128 KiB, the spec's limit.
pub const MAX_HEADERS_LEN: usize = 128 * 1024;

/// The longest header name in bytes. Its length is a `u8`.
pub const MAX_HEADER_NAME_LEN: usize = u8::MAX as usize;

/// The longest byte-array or string header value in bytes. Its length is a `u16`.
pub const MAX_HEADER_VALUE_LEN: usize = u16::MAX as usize;

const _: () = assert!(MESSAGE_OVERHEAD == 16);
const _: () = assert!(MAX_MESSAGE_LEN <= u32::MAX as usize);
const _: () = assert!(MESSAGE_OVERHEAD + MAX_HEADERS_LEN <= MAX_MESSAGE_LEN);

/// Names of the headers that AWS protocols give a meaning to, and their fixed values.
pub mod header_names {
    /// `:message-type`: [`EVENT`], [`EXCEPTION`] or [`ERROR`].
    pub const MESSAGE_TYPE: &str = ":message-type";
    /// `:event-type`: for an event, the event-stream union member it carries, or
    /// [`INITIAL_RESPONSE`].
    pub const EVENT_TYPE: &str = ":event-type";
    /// `:exception-type`: for a modeled exception, the union member it carries.
    pub const EXCEPTION_TYPE: &str = ":exception-type";
    /// `:content-type`: the payload's media type, such as `application/json`.
    pub const CONTENT_TYPE: &str = ":content-type";
    /// `:error-code`: for an unmodeled error, its code.
    pub const ERROR_CODE: &str = ":error-code";
    /// `:error-message`: for an unmodeled error, a human-readable message.
    pub const ERROR_MESSAGE: &str = ":error-message";

    /// `:message-type` of a data event, the initial response included.
    pub const EVENT: &str = "event";
    /// `:message-type` of a modeled error event.
    pub const EXCEPTION: &str = "exception";
    /// `:message-type` of an unmodeled error event.
    pub const ERROR: &str = "error";
    /// `:event-type` of the first message of an RPC-protocol response stream.
    pub const INITIAL_RESPONSE: &str = "initial-response";
}

const TYPE_TRUE: u8 = 0;
const TYPE_FALSE: u8 = 1;
const TYPE_BYTE: u8 = 2;
const TYPE_SHORT: u8 = 3;
const TYPE_INT: u8 = 4;
const TYPE_LONG: u8 = 5;
const TYPE_BYTES: u8 = 6;
const TYPE_STRING: u8 = 7;
const TYPE_TIMESTAMP: u8 = 8;
const TYPE_UUID: u8 = 9;

/// Up to this many headers, duplicate names are found by comparing every pair. Above it, a
/// hash set is used, so a header section of 65,536 one-letter headers costs linear time.
const PAIRWISE_DUPLICATE_CHECK_MAX: usize = 16;

/// A header value. The wire has ten types, and the two booleans share [`HeaderValue::Bool`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HeaderValue {
    /// Types 0 (`true`) and 1 (`false`). They have no value bytes.
    Bool(bool),
    /// Type 2: a signed byte.
    Byte(i8),
    /// Type 3: a 16-bit signed integer.
    Short(i16),
    /// Type 4: a 32-bit signed integer.
    Int(i32),
    /// Type 5: a 64-bit signed integer.
    Long(i64),
    /// Type 6: at most [`MAX_HEADER_VALUE_LEN`] bytes.
    Bytes(Bytes),
    /// Type 7: at most [`MAX_HEADER_VALUE_LEN`] bytes of UTF-8.
    String(String),
    /// Type 8: milliseconds (not seconds) since the Unix epoch.
    Timestamp(i64),
    /// Type 9: an RFC 9562 UUID in its 16-byte binary form.
    Uuid([u8; 16]),
}

impl HeaderValue {
    /// The value-type byte that precedes this value on the wire.
    #[must_use]
    pub fn type_code(&self) -> u8 {
        match self {
            Self::Bool(true) => TYPE_TRUE,
            Self::Bool(false) => TYPE_FALSE,
            Self::Byte(_) => TYPE_BYTE,
            Self::Short(_) => TYPE_SHORT,
            Self::Int(_) => TYPE_INT,
            Self::Long(_) => TYPE_LONG,
            Self::Bytes(_) => TYPE_BYTES,
            Self::String(_) => TYPE_STRING,
            Self::Timestamp(_) => TYPE_TIMESTAMP,
            Self::Uuid(_) => TYPE_UUID,
        }
    }

    /// The string, when this is a [`HeaderValue::String`].
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(value) => Some(value),
            _ => None,
        }
    }

    /// The length of a variable-length value (byte array or string), which must fit a `u16`.
    fn variable_len(&self) -> Option<usize> {
        match self {
            Self::Bytes(value) => Some(value.len()),
            Self::String(value) => Some(value.len()),
            _ => None,
        }
    }

    /// Bytes on the wire: the type byte plus the value.
    fn encoded_len(&self) -> usize {
        1 + match self {
            Self::Bool(_) => 0,
            Self::Byte(_) => 1,
            Self::Short(_) => 2,
            Self::Int(_) => 4,
            Self::Long(_) | Self::Timestamp(_) => 8,
            Self::Bytes(value) => 2 + value.len(),
            Self::String(value) => 2 + value.len(),
            Self::Uuid(_) => 16,
        }
    }

    fn write(&self, out: &mut CrcWriter<'_>) {
        out.put(&[self.type_code()]);
        match self {
            Self::Bool(_) => {}
            Self::Byte(value) => out.put(&value.to_be_bytes()),
            Self::Short(value) => out.put(&value.to_be_bytes()),
            Self::Int(value) => out.put(&value.to_be_bytes()),
            Self::Long(value) | Self::Timestamp(value) => out.put(&value.to_be_bytes()),
            Self::Bytes(value) => out.put_u16_prefixed(value),
            Self::String(value) => out.put_u16_prefixed(value.as_bytes()),
            Self::Uuid(value) => out.put(value),
        }
    }
}

/// One header: a name of 1..=255 bytes of UTF-8, and a typed value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// The name, unique within its message.
    pub name: String,
    /// The value.
    pub value: HeaderValue,
}

impl Header {
    /// A header with any value.
    #[must_use]
    pub fn new(name: impl Into<String>, value: HeaderValue) -> Self {
        Self {
            name: name.into(),
            value,
        }
    }

    /// A string header (type 7), the type of every header that AWS protocols define.
    #[must_use]
    pub fn string(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(name, HeaderValue::String(value.into()))
    }

    /// Bytes on the wire: the name-length byte, the name, the type byte and the value.
    fn encoded_len(&self) -> usize {
        1 + self.name.len() + self.value.encoded_len()
    }

    /// Writes the header. [`Message::check`] has already bounded both lengths.
    fn write(&self, out: &mut CrcWriter<'_>) {
        out.put(&[u8::try_from(self.name.len()).unwrap_or(u8::MAX)]);
        out.put(self.name.as_bytes());
        self.value.write(out);
    }
}

/// One event-stream message: headers and an opaque payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// The headers, in wire order. No two share a name.
    pub headers: Vec<Header>,
    /// The payload. For AWS JSON 1.1 it is a JSON document.
    pub payload: Bytes,
}

impl Message {
    /// A message with the given headers and payload.
    #[must_use]
    pub fn new(headers: Vec<Header>, payload: impl Into<Bytes>) -> Self {
        Self {
            headers,
            payload: payload.into(),
        }
    }

    /// A data event, such as a `SubscribeToShardEvent`. It has three headers:
    /// `:message-type` = `event`, `:event-type` = `event_type` and
    /// `:content-type` = `content_type`.
    #[must_use]
    pub fn event(event_type: &str, content_type: &str, payload: impl Into<Bytes>) -> Self {
        Self::new(
            vec![
                Header::string(header_names::MESSAGE_TYPE, header_names::EVENT),
                Header::string(header_names::EVENT_TYPE, event_type),
                Header::string(header_names::CONTENT_TYPE, content_type),
            ],
            payload,
        )
    }

    /// The first message of an RPC-protocol response stream: an event whose `:event-type`
    /// is `initial-response`. Its payload holds the output's members other than the event
    /// stream. For `SubscribeToShard` that is `{}`.
    #[must_use]
    pub fn initial_response(content_type: &str, payload: impl Into<Bytes>) -> Self {
        Self::event(header_names::INITIAL_RESPONSE, content_type, payload)
    }

    /// A modeled error event. It has three headers: `:message-type` = `exception`,
    /// `:exception-type` = `exception_type` (an error member of the event-stream union, such
    /// as `ResourceInUseException`) and `:content-type` = `content_type`. The payload is
    /// the error's body, such as `{"message":"..."}`.
    #[must_use]
    pub fn exception(exception_type: &str, content_type: &str, payload: impl Into<Bytes>) -> Self {
        Self::new(
            vec![
                Header::string(header_names::MESSAGE_TYPE, header_names::EXCEPTION),
                Header::string(header_names::EXCEPTION_TYPE, exception_type),
                Header::string(header_names::CONTENT_TYPE, content_type),
            ],
            payload,
        )
    }

    /// An unmodeled error event with an empty payload. It has three headers:
    /// `:message-type` = `error`, `:error-code` = `code` and `:error-message` = `message`.
    /// Use it for an error that the event-stream union does not list.
    #[must_use]
    pub fn error(code: &str, message: &str) -> Self {
        Self::new(
            vec![
                Header::string(header_names::MESSAGE_TYPE, header_names::ERROR),
                Header::string(header_names::ERROR_CODE, code),
                Header::string(header_names::ERROR_MESSAGE, message),
            ],
            Bytes::new(),
        )
    }

    /// The value of the header named `name`, if there is one.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&HeaderValue> {
        self.headers
            .iter()
            .find(|header| header.name == name)
            .map(|header| &header.value)
    }

    /// The value of the header named `name`, if it is present and a string.
    #[must_use]
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(HeaderValue::as_str)
    }

    /// The bytes [`Message::encode`] writes when it succeeds.
    #[must_use]
    pub fn encoded_size(&self) -> usize {
        MESSAGE_OVERHEAD + self.headers_len() + self.payload.len()
    }

    /// Appends the encoded message to `out`.
    ///
    /// # Errors
    ///
    /// Returns an [`EncodeError`] and leaves `out` untouched if the message has no valid
    /// encoding. That happens when a header name is empty or longer than 255 bytes, a value
    /// is longer than 65,535 bytes, a name appears twice, the header section is larger than
    /// [`MAX_HEADERS_LEN`], or the whole message is larger than [`MAX_MESSAGE_LEN`].
    pub fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        let (total_len, headers_len) = self.check()?;
        let start = out.len();
        out.reserve(total_len as usize);

        let mut writer = CrcWriter {
            out,
            crc: crc32fast::Hasher::new(),
        };
        writer.put(&total_len.to_be_bytes());
        writer.put(&headers_len.to_be_bytes());
        let prelude_crc = writer.crc.clone().finalize();
        writer.put(&prelude_crc.to_be_bytes());
        for header in &self.headers {
            header.write(&mut writer);
        }
        writer.put(&self.payload);
        let message_crc = writer.crc.finalize();
        out.put_u32(message_crc);

        debug_assert_eq!(out.len() - start, total_len as usize);
        Ok(())
    }

    /// Encoded length of the header section.
    fn headers_len(&self) -> usize {
        self.headers.iter().map(Header::encoded_len).sum()
    }

    /// Checks that the message has a valid encoding, and returns its `total_len` and
    /// `headers_len`.
    fn check(&self) -> Result<(u32, u32), EncodeError> {
        let mut headers_len = 0usize;
        for (index, header) in self.headers.iter().enumerate() {
            let name_len = header.name.len();
            if name_len == 0 || name_len > MAX_HEADER_NAME_LEN {
                return Err(EncodeError::HeaderNameLength {
                    index,
                    len: name_len,
                });
            }
            if let Some(len) = header.value.variable_len()
                && len > MAX_HEADER_VALUE_LEN
            {
                return Err(EncodeError::HeaderValueTooLong {
                    name: header.name.clone(),
                    len,
                    max: MAX_HEADER_VALUE_LEN,
                });
            }
            headers_len = headers_len.saturating_add(header.encoded_len());
        }
        if headers_len > MAX_HEADERS_LEN {
            return Err(EncodeError::HeadersTooLarge {
                len: headers_len,
                max: MAX_HEADERS_LEN,
            });
        }
        if let Some(name) = duplicate_name(&self.headers) {
            return Err(EncodeError::DuplicateHeader {
                name: name.to_owned(),
            });
        }
        let total_len = MESSAGE_OVERHEAD
            .saturating_add(headers_len)
            .saturating_add(self.payload.len());
        let too_large = EncodeError::MessageTooLarge {
            len: total_len,
            max: MAX_MESSAGE_LEN,
        };
        if total_len > MAX_MESSAGE_LEN {
            return Err(too_large);
        }
        // Both conversions succeed: the limits checked above are below `u32::MAX`.
        let total_len = u32::try_from(total_len).map_err(|_| too_large.clone())?;
        let headers_len = u32::try_from(headers_len).map_err(|_| too_large)?;
        Ok((total_len, headers_len))
    }
}

/// Writes into a `BytesMut` and keeps a running CRC-32 of everything written.
struct CrcWriter<'a> {
    out: &'a mut BytesMut,
    crc: crc32fast::Hasher,
}

impl CrcWriter<'_> {
    fn put(&mut self, bytes: &[u8]) {
        self.out.put_slice(bytes);
        self.crc.update(bytes);
    }

    /// Writes a `u16` length and then the bytes. [`Message::check`] has already bounded the
    /// length.
    fn put_u16_prefixed(&mut self, bytes: &[u8]) {
        self.put(&u16::try_from(bytes.len()).unwrap_or(u16::MAX).to_be_bytes());
        self.put(bytes);
    }
}

/// The first name that appears twice, if any.
fn duplicate_name(headers: &[Header]) -> Option<&str> {
    if headers.len() <= PAIRWISE_DUPLICATE_CHECK_MAX {
        headers.iter().enumerate().find_map(|(index, header)| {
            headers
                .iter()
                .take(index)
                .any(|earlier| earlier.name == header.name)
                .then_some(header.name.as_str())
        })
    } else {
        let mut seen = HashSet::with_capacity(headers.len());
        headers
            .iter()
            .find(|header| !seen.insert(header.name.as_str()))
            .map(|header| header.name.as_str())
    }
}

/// Why a [`Message`] could not be encoded. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A header name is empty or longer than [`MAX_HEADER_NAME_LEN`] bytes.
    #[error("header {index} has a name of {len} bytes; names are 1..=255 bytes")]
    HeaderNameLength {
        /// The header's position in [`Message::headers`].
        index: usize,
        /// The name's length in bytes.
        len: usize,
    },
    /// A byte-array or string value is longer than its `u16` length prefix allows.
    #[error("header {name:?} has a value of {len} bytes, more than the limit of {max}")]
    HeaderValueTooLong {
        /// The header's name.
        name: String,
        /// The value's length in bytes.
        len: usize,
        /// [`MAX_HEADER_VALUE_LEN`].
        max: usize,
    },
    /// Two headers share a name.
    #[error("header {name:?} appears more than once")]
    DuplicateHeader {
        /// The repeated name.
        name: String,
    },
    /// The encoded header section is larger than [`MAX_HEADERS_LEN`].
    #[error("headers encode to {len} bytes, more than the limit of {max}")]
    HeadersTooLarge {
        /// The header section's encoded length.
        len: usize,
        /// [`MAX_HEADERS_LEN`].
        max: usize,
    },
    /// The whole message is larger than [`MAX_MESSAGE_LEN`]. Split the payload.
    #[error("message encodes to {len} bytes, more than the limit of {max}")]
    MessageTooLarge {
        /// The whole message's encoded length.
        len: usize,
        /// [`MAX_MESSAGE_LEN`].
        max: usize,
    },
}

/// Why bytes could not be decoded as a message. Offsets count from the message's first byte,
/// which is the first byte of the slice passed to [`decode`]. Every variant means that the
/// stream is corrupt or hostile and must be ended. The spec says the stream MUST be ended
/// when either CRC fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventStreamError {
    /// The prelude CRC does not match its first 8 bytes, so neither length can be trusted.
    #[error("prelude CRC mismatch: message says {expected:#010x}, bytes give {computed:#010x}")]
    PreludeCrcMismatch {
        /// The CRC stored in the message.
        expected: u32,
        /// The CRC of the bytes received.
        computed: u32,
    },
    /// The message CRC does not match the bytes before it.
    #[error("message CRC mismatch: message says {expected:#010x}, bytes give {computed:#010x}")]
    MessageCrcMismatch {
        /// The CRC stored in the message.
        expected: u32,
        /// The CRC of the bytes received.
        computed: u32,
    },
    /// `total_len` is too small to hold the prelude and the message CRC.
    #[error("message length {total_len} is shorter than the 16-byte minimum")]
    MessageTooShort {
        /// The `total_len` field.
        total_len: u32,
    },
    /// `total_len` is larger than the decoder accepts.
    #[error("message length {total_len} exceeds the limit of {max} bytes")]
    MessageTooLarge {
        /// The `total_len` field.
        total_len: u32,
        /// [`MAX_MESSAGE_LEN`].
        max: usize,
    },
    /// `headers_len` is larger than the space between the prelude and the message CRC.
    #[error("headers length {headers_len} does not fit in a message of {total_len} bytes")]
    HeadersLengthOutOfBounds {
        /// The `headers_len` field.
        headers_len: u32,
        /// The `total_len` field.
        total_len: u32,
    },
    /// `headers_len` is larger than [`MAX_HEADERS_LEN`].
    #[error("headers length {headers_len} exceeds the limit of {max} bytes")]
    HeadersTooLarge {
        /// The `headers_len` field.
        headers_len: u32,
        /// [`MAX_HEADERS_LEN`].
        max: usize,
    },
    /// A header field runs past the end of the header section.
    #[error("header field at offset {offset} needs {need} bytes, the header section has {have}")]
    TruncatedHeader {
        /// Where the field starts.
        offset: usize,
        /// Bytes the field needs.
        need: usize,
        /// Bytes left in the header section.
        have: usize,
    },
    /// A header name has length 0.
    #[error("empty header name at offset {offset}")]
    EmptyHeaderName {
        /// Where the name-length byte is.
        offset: usize,
    },
    /// A header name or string value is not UTF-8.
    #[error("{field} at offset {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// Where the bytes start.
        offset: usize,
        /// `"header name"` or `"header value"`.
        field: &'static str,
    },
    /// A value-type byte is not one of 0..=9.
    #[error("unknown header value type {value_type} at offset {offset}")]
    UnknownHeaderType {
        /// Where the type byte is.
        offset: usize,
        /// Its value.
        value_type: u8,
    },
    /// Two headers share a name.
    #[error("header {name:?} appears more than once")]
    DuplicateHeader {
        /// The repeated name.
        name: String,
    },
}

/// Looks for one whole message at the start of `src`.
///
/// Returns `Ok(None)` when more bytes are needed. Returns `Ok(Some((message, len)))` when
/// `src[..len]` is one whole, valid message, and the next message, if any, starts at
/// `src[len..]`. Bytes after the first message are never read.
///
/// # Errors
///
/// Returns an [`EventStreamError`] for a bad CRC, an impossible or oversized length, or a
/// malformed header. The caller should end the stream. The length checks need only the
/// 12-byte prelude, so an oversized message is reported before its bytes arrive.
pub fn decode(src: &[u8]) -> Result<Option<(Message, usize)>, EventStreamError> {
    let Some(prelude) = src.first_chunk::<PRELUDE_LEN>() else {
        return Ok(None);
    };
    let [t0, t1, t2, t3, h0, h1, h2, h3, c0, c1, c2, c3] = *prelude;
    let total_len = u32::from_be_bytes([t0, t1, t2, t3]);
    let headers_len = u32::from_be_bytes([h0, h1, h2, h3]);
    let expected = u32::from_be_bytes([c0, c1, c2, c3]);
    let computed = crc32fast::hash(&[t0, t1, t2, t3, h0, h1, h2, h3]);
    if computed != expected {
        return Err(EventStreamError::PreludeCrcMismatch { expected, computed });
    }

    let total = total_len as usize;
    let headers = headers_len as usize;
    if total < MESSAGE_OVERHEAD {
        return Err(EventStreamError::MessageTooShort { total_len });
    }
    if total > MAX_MESSAGE_LEN {
        return Err(EventStreamError::MessageTooLarge {
            total_len,
            max: MAX_MESSAGE_LEN,
        });
    }
    let out_of_bounds = EventStreamError::HeadersLengthOutOfBounds {
        headers_len,
        total_len,
    };
    if headers > total - MESSAGE_OVERHEAD {
        return Err(out_of_bounds);
    }
    if headers > MAX_HEADERS_LEN {
        return Err(EventStreamError::HeadersTooLarge {
            headers_len,
            max: MAX_HEADERS_LEN,
        });
    }

    let Some(message) = src.get(..total) else {
        return Ok(None);
    };
    // `total >= MESSAGE_OVERHEAD` and `headers <= total - MESSAGE_OVERHEAD`, so the splits
    // below cannot fail; the errors only keep them from panicking.
    let (body, crc) = message
        .split_last_chunk::<MESSAGE_CRC_LEN>()
        .ok_or(EventStreamError::MessageTooShort { total_len })?;
    let expected = u32::from_be_bytes(*crc);
    let computed = crc32fast::hash(body);
    if computed != expected {
        return Err(EventStreamError::MessageCrcMismatch { expected, computed });
    }
    let (header_bytes, payload) = body
        .get(PRELUDE_LEN..)
        .and_then(|rest| rest.split_at_checked(headers))
        .ok_or(out_of_bounds)?;

    let headers = decode_headers(header_bytes)?;
    let message = Message {
        headers,
        payload: Bytes::copy_from_slice(payload),
    };
    Ok(Some((message, total)))
}

/// Parses a whole header section, which starts at offset [`PRELUDE_LEN`] of its message.
fn decode_headers(bytes: &[u8]) -> Result<Vec<Header>, EventStreamError> {
    let mut reader = Reader {
        rest: bytes,
        offset: PRELUDE_LEN,
    };
    let mut headers = Vec::new();
    while !reader.rest.is_empty() {
        let name_offset = reader.offset;
        let [name_len] = reader.array()?;
        if name_len == 0 {
            return Err(EventStreamError::EmptyHeaderName {
                offset: name_offset,
            });
        }
        let name = reader.string(usize::from(name_len), "header name")?;
        let type_offset = reader.offset;
        let [value_type] = reader.array()?;
        let value = match value_type {
            TYPE_TRUE => HeaderValue::Bool(true),
            TYPE_FALSE => HeaderValue::Bool(false),
            TYPE_BYTE => HeaderValue::Byte(i8::from_be_bytes(reader.array()?)),
            TYPE_SHORT => HeaderValue::Short(i16::from_be_bytes(reader.array()?)),
            TYPE_INT => HeaderValue::Int(i32::from_be_bytes(reader.array()?)),
            TYPE_LONG => HeaderValue::Long(i64::from_be_bytes(reader.array()?)),
            TYPE_BYTES => {
                let len = u16::from_be_bytes(reader.array()?);
                HeaderValue::Bytes(Bytes::copy_from_slice(reader.take(usize::from(len))?))
            }
            TYPE_STRING => {
                let len = u16::from_be_bytes(reader.array()?);
                HeaderValue::String(reader.string(usize::from(len), "header value")?)
            }
            TYPE_TIMESTAMP => HeaderValue::Timestamp(i64::from_be_bytes(reader.array()?)),
            TYPE_UUID => HeaderValue::Uuid(reader.array()?),
            value_type => {
                return Err(EventStreamError::UnknownHeaderType {
                    offset: type_offset,
                    value_type,
                });
            }
        };
        headers.push(Header { name, value });
    }
    if let Some(name) = duplicate_name(&headers) {
        return Err(EventStreamError::DuplicateHeader {
            name: name.to_owned(),
        });
    }
    Ok(headers)
}

/// A cursor over the header section that reports a short read as
/// [`EventStreamError::TruncatedHeader`].
struct Reader<'a> {
    rest: &'a [u8],
    /// Offset of `rest[0]` within the message.
    offset: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], EventStreamError> {
        let (taken, rest) =
            self.rest
                .split_at_checked(len)
                .ok_or(EventStreamError::TruncatedHeader {
                    offset: self.offset,
                    need: len,
                    have: self.rest.len(),
                })?;
        self.rest = rest;
        self.offset += len;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], EventStreamError> {
        let (taken, rest) =
            self.rest
                .split_first_chunk::<N>()
                .ok_or(EventStreamError::TruncatedHeader {
                    offset: self.offset,
                    need: N,
                    have: self.rest.len(),
                })?;
        self.rest = rest;
        self.offset += N;
        Ok(*taken)
    }

    fn string(&mut self, len: usize, field: &'static str) -> Result<String, EventStreamError> {
        let offset = self.offset;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| EventStreamError::InvalidUtf8 { offset, field })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode(message: &Message) -> Vec<u8> {
        let mut out = BytesMut::new();
        message.encode(&mut out).unwrap();
        assert_eq!(out.len(), message.encoded_size());
        out.to_vec()
    }

    fn decode_one(bytes: &[u8]) -> Message {
        let (message, len) = decode(bytes).unwrap().unwrap();
        assert_eq!(len, bytes.len());
        message
    }

    fn round_trip(message: &Message) {
        let bytes = encode(message);
        assert_eq!(&decode_one(&bytes), message);
    }

    /// Frames raw header bytes and a payload with correct lengths and CRCs, so tests can feed
    /// the header parser bytes the encoder would never produce.
    fn frame(headers: &[u8], payload: &[u8]) -> Vec<u8> {
        let total = u32::try_from(MESSAGE_OVERHEAD + headers.len() + payload.len()).unwrap();
        let headers_len = u32::try_from(headers.len()).unwrap();
        prelude_then(total, headers_len, &[headers, payload].concat())
    }

    /// A prelude with a correct CRC, then `rest`, then a correct message CRC.
    fn prelude_then(total_len: u32, headers_len: u32, rest: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&total_len.to_be_bytes());
        bytes.extend_from_slice(&headers_len.to_be_bytes());
        let prelude_crc = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&prelude_crc.to_be_bytes());
        bytes.extend_from_slice(rest);
        let message_crc = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&message_crc.to_be_bytes());
        bytes
    }

    fn every_type() -> Message {
        Message::new(
            vec![
                Header::new("true", HeaderValue::Bool(true)),
                Header::new("false", HeaderValue::Bool(false)),
                Header::new("byte", HeaderValue::Byte(i8::MIN)),
                Header::new("short", HeaderValue::Short(i16::MIN)),
                Header::new("int", HeaderValue::Int(i32::MIN)),
                Header::new("long", HeaderValue::Long(i64::MIN)),
                Header::new("bytes", HeaderValue::Bytes(Bytes::from_static(b"\0\xff"))),
                Header::string("string", "h\u{e9}llo \u{1f980}"),
                Header::new("timestamp", HeaderValue::Timestamp(1_700_000_000_123)),
                Header::new("uuid", HeaderValue::Uuid(*b"0123456789abcdef")),
            ],
            Bytes::from_static(b"{\"a\":1}"),
        )
    }

    // ---- Fixtures from botocore's tests/unit/test_eventstream.py (the same vectors as
    // aws-c-event-stream's and aws-sdk-js-v3's). Decoding them checks the decoder against
    // AWS's bytes, and re-encoding them checks the encoder byte for byte.

    const EMPTY_MESSAGE: &[u8] = b"\x00\x00\x00\x10\x00\x00\x00\x00\x05\xc2H\xeb}\x98\xc8\xff";
    const INT8_HEADER: &[u8] =
        b"\x00\x00\x00\x17\x00\x00\x00\x07)\x86\x01X\x04byte\x02\xff\xc2\xf8i\xdc";
    const INT16_HEADER: &[u8] =
        b"\x00\x00\x00\x19\x00\x00\x00\x09q\x0e\x92>\x05short\x03\xff\xff\xb2|\xb6\xcc";
    const INT32_HEADER: &[u8] = b"\x00\x00\x00\x1d\x00\x00\x00\x0d\x83\xe3\xf0\xe7\x07integer\
        \x04\xff\xff\xff\xff\x8b\x8e\x12\xeb";
    const INT64_HEADER: &[u8] = b"\x00\x00\x00\x1e\x00\x00\x00\x0e]J\xdb\x8d\x04long\
        \x05\xff\xff\xff\xff\xff\xff\xff\xffK\xc22\xda";
    const PAYLOAD_NO_HEADERS: &[u8] =
        b"\x00\x00\x00\x1d\x00\x00\x00\x00\xfdR\x8cZ{'foo':'bar'}\xc3e96";
    const PAYLOAD_ONE_STR_HEADER: &[u8] = b"\x00\x00\x00=\x00\x00\x00 \x07\xfd\x83\x96\
        \x0ccontent-type\x07\x00\x10application/json{'foo':'bar'}\x8d\x9c\x08\xb1";
    const ALL_HEADERS_TYPES: &[u8] = b"\x00\x00\x00b\x00\x00\x00R\x03\xb5\xcb\x9c\
        \x010\x00\x011\x01\x012\x02\x02\x013\x03\x00\x03\x014\x04\x00\x00\x00\x04\
        \x015\x05\x00\x00\x00\x00\x00\x00\x00\x05\x016\x06\x00\x05bytes\x017\x07\x00\x04utf8\
        \x018\x08\x00\x00\x00\x00\x00\x00\x00\x08\x019\x090123456789abcdefc56q";
    const ERROR_EVENT_MESSAGE: &[u8] = b"\x00\x00\x00R\x00\x00\x00B\xbf#c~\
        \x0d:message-type\x07\x00\x05error\x0b:error-code\x07\x00\x04code\
        \x0e:error-message\x07\x00\x07messagekl\xea=";
    const INITIAL_RESPONSE: &[u8] = b"\x00\x00\x00~\x00\x00\x00O\xc5\xa3\xdd\xc6\
        \x0d:message-type\x07\x00\x05event\x0b:event-type\x07\x00\x10initial-response\
        \x0d:content-type\x07\x00\x09text/json{\"InitialResponse\": \"sometext\"}\xf6\x98$\x83";
    const EVENT_ID_INT32: &[u8] = b"\x00\x00\x00+\x00\x00\x00\x0e4\x8b\xec{\
        \x08event-id\x04\x00\x00\xa0\x0c{'foo':'bar'}\xd3\x89\x02\x85";

    #[test]
    fn botocore_vectors_decode_and_reencode_byte_for_byte() {
        let foo_bar = Bytes::from_static(b"{'foo':'bar'}");
        let cases: Vec<(&[u8], Message)> = vec![
            (EMPTY_MESSAGE, Message::default()),
            (
                INT8_HEADER,
                Message::new(
                    vec![Header::new("byte", HeaderValue::Byte(-1))],
                    Bytes::new(),
                ),
            ),
            (
                INT16_HEADER,
                Message::new(
                    vec![Header::new("short", HeaderValue::Short(-1))],
                    Bytes::new(),
                ),
            ),
            (
                INT32_HEADER,
                Message::new(
                    vec![Header::new("integer", HeaderValue::Int(-1))],
                    Bytes::new(),
                ),
            ),
            (
                INT64_HEADER,
                Message::new(
                    vec![Header::new("long", HeaderValue::Long(-1))],
                    Bytes::new(),
                ),
            ),
            (PAYLOAD_NO_HEADERS, Message::new(vec![], foo_bar.clone())),
            (
                PAYLOAD_ONE_STR_HEADER,
                Message::new(
                    vec![Header::string("content-type", "application/json")],
                    foo_bar.clone(),
                ),
            ),
            (
                ALL_HEADERS_TYPES,
                Message::new(
                    vec![
                        Header::new("0", HeaderValue::Bool(true)),
                        Header::new("1", HeaderValue::Bool(false)),
                        Header::new("2", HeaderValue::Byte(2)),
                        Header::new("3", HeaderValue::Short(3)),
                        Header::new("4", HeaderValue::Int(4)),
                        Header::new("5", HeaderValue::Long(5)),
                        Header::new("6", HeaderValue::Bytes(Bytes::from_static(b"bytes"))),
                        Header::string("7", "utf8"),
                        Header::new("8", HeaderValue::Timestamp(8)),
                        Header::new("9", HeaderValue::Uuid(*b"0123456789abcdef")),
                    ],
                    Bytes::new(),
                ),
            ),
            (ERROR_EVENT_MESSAGE, Message::error("code", "message")),
            (
                INITIAL_RESPONSE,
                Message::initial_response(
                    "text/json",
                    Bytes::from_static(b"{\"InitialResponse\": \"sometext\"}"),
                ),
            ),
            (
                EVENT_ID_INT32,
                Message::new(
                    vec![Header::new("event-id", HeaderValue::Int(0xa00c))],
                    foo_bar,
                ),
            ),
        ];
        for (bytes, expected) in &cases {
            assert_eq!(&decode_one(bytes), expected, "decoding {bytes:?}");
            assert_eq!(encode(expected), *bytes, "encoding {expected:?}");
        }

        // All of them back to back, as botocore's test_all_positive_cases feeds them.
        let stream: Vec<u8> = cases
            .iter()
            .flat_map(|(bytes, _)| bytes.iter().copied())
            .collect();
        let mut rest = stream.as_slice();
        for (_, expected) in &cases {
            let (message, len) = decode(rest).unwrap().unwrap();
            assert_eq!(&message, expected);
            rest = rest.get(len..).unwrap();
        }
        assert!(rest.is_empty());
    }

    #[test]
    fn botocore_negative_vectors_are_rejected() {
        // headers_len altered: caught by the prelude CRC.
        let corrupted_header_length = b"\x00\x00\x00=\xff\x00\x01\x02\x07\xfd\x83\x96\
            \x0ccontent-type\x07\x00\x10application/json{'foo':'bar'}\x8d\x9c\x08\xb1";
        assert!(matches!(
            decode(corrupted_header_length),
            Err(EventStreamError::PreludeCrcMismatch { .. })
        ));
        // A header name altered: caught by the message CRC.
        let corrupted_headers = b"\x00\x00\x00=\x00\x00\x00 \x07\xfd\x83\x96\
            \x0ccontent+type\x07\x00\x10application/json{'foo':'bar'}\x8d\x9c\x08\xb1";
        assert_eq!(
            decode(corrupted_headers),
            Err(EventStreamError::MessageCrcMismatch {
                expected: 0x8d9c_08b1,
                computed: 0x395e_7671,
            })
        );
        // total_len altered to 16 MiB + 29: caught by the prelude CRC.
        let corrupted_length = b"\x01\x00\x00\x1d\x00\x00\x00\x00\xfdR\x8cZ{'foo':'bar'}\xc3e96";
        assert_eq!(
            decode(corrupted_length),
            Err(EventStreamError::PreludeCrcMismatch {
                expected: 0xfd52_8c5a,
                computed: 0x31f8_8cc4,
            })
        );
        // Payload altered: caught by the message CRC.
        let corrupted_payload =
            b"\x00\x00\x00\x1d\x00\x00\x00\x00\xfdR\x8cZ{'foo':'bar'\x8d\xc3e96";
        assert!(matches!(
            decode(corrupted_payload),
            Err(EventStreamError::MessageCrcMismatch { .. })
        ));
        // Two `test` headers, both integers: valid CRCs, rejected like botocore does.
        let duplicate_header = b"\x00\x00\x00$\x00\x00\x00\x14K\xb9\x82\xd0\
            \x04test\x04asdf\x04test\x04asdf\xf3\xf4uc";
        assert_eq!(
            decode(duplicate_header),
            Err(EventStreamError::DuplicateHeader {
                name: "test".to_owned()
            })
        );
    }

    /// A `SubscribeToShard` response body as Strata writes it: the initial response, one
    /// event and one modeled exception. botocore has no encoder of its own, so this encoder
    /// produced the bytes. They were then checked once in two ways:
    ///
    /// - A separate 20-line Python encoder (`struct` + `zlib.crc32`) produced the same bytes.
    /// - botocore 1.43.11 parsed them, fed in 7-byte chunks, through
    ///   `create_parser('json').parse(response, kinesis.SubscribeToShard.output_shape)`. It
    ///   accepted the initial response and yielded
    ///   `{'SubscribeToShardEvent': {'Records': [{'SequenceNumber': '1', 'Data': b'hi',
    ///   'PartitionKey': 'k', 'ApproximateArrivalTimestamp': datetime(2023, 11, 14, ...)}],
    ///   'ContinuationSequenceNumber': '1', 'MillisBehindLatest': 0}}`. Then it raised
    ///   `EventStreamError: An error occurred (ResourceInUseException) when calling the
    ///   SubscribeToShard operation: taken over`.
    ///
    /// Without the first message, the same call fails with `ResponseParserError: First event
    /// was not of type initial-response`.
    const SUBSCRIBE_TO_SHARD_STREAM: &[u8] = b"\
        \x00\x00\x00h\x00\x00\x00VNh\x17$\
        \x0d:message-type\x07\x00\x05event\
        \x0b:event-type\x07\x00\x10initial-response\
        \x0d:content-type\x07\x00\x10application/json\
        {}\xfe\x94,\x1d\
        \x00\x00\x01\x15\x00\x00\x00[\xfa\xc7\x9cB\
        \x0d:message-type\x07\x00\x05event\
        \x0b:event-type\x07\x00\x15SubscribeToShardEvent\
        \x0d:content-type\x07\x00\x10application/json\
        {\"Records\":[{\"SequenceNumber\":\"1\",\"ApproximateArrivalTimestamp\":1700000000.123,\
        \"Data\":\"aGk=\",\"PartitionKey\":\"k\"}],\"ContinuationSequenceNumber\":\"1\",\
        \"MillisBehindLatest\":0}1\xe8\x8e\xe1\
        \x00\x00\x00\x8c\x00\x00\x00d[\xeb'\xbb\
        \x0d:message-type\x07\x00\x09exception\
        \x0f:exception-type\x07\x00\x16ResourceInUseException\
        \x0d:content-type\x07\x00\x10application/json\
        {\"message\":\"taken over\"}\"\x8e\x0c\xc2";

    fn subscribe_to_shard_messages() -> [Message; 3] {
        [
            Message::initial_response("application/json", Bytes::from_static(b"{}")),
            Message::event(
                "SubscribeToShardEvent",
                "application/json",
                Bytes::from_static(
                    b"{\"Records\":[{\"SequenceNumber\":\"1\",\
                    \"ApproximateArrivalTimestamp\":1700000000.123,\"Data\":\"aGk=\",\
                    \"PartitionKey\":\"k\"}],\"ContinuationSequenceNumber\":\"1\",\
                    \"MillisBehindLatest\":0}",
                ),
            ),
            Message::exception(
                "ResourceInUseException",
                "application/json",
                Bytes::from_static(b"{\"message\":\"taken over\"}"),
            ),
        ]
    }

    #[test]
    fn subscribe_to_shard_stream_matches_the_botocore_checked_fixture() {
        let mut out = BytesMut::new();
        for message in subscribe_to_shard_messages() {
            message.encode(&mut out).unwrap();
        }
        assert_eq!(&out[..], SUBSCRIBE_TO_SHARD_STREAM);

        let mut rest = SUBSCRIBE_TO_SHARD_STREAM;
        for expected in subscribe_to_shard_messages() {
            let (message, len) = decode(rest).unwrap().unwrap();
            assert_eq!(message, expected);
            rest = rest.get(len..).unwrap();
        }
        assert!(rest.is_empty());
    }

    #[test]
    fn constructors_set_the_headers_clients_dispatch_on() {
        let initial = Message::initial_response("application/json", Bytes::from_static(b"{}"));
        assert_eq!(initial.header_str(":message-type"), Some("event"));
        assert_eq!(initial.header_str(":event-type"), Some("initial-response"));
        assert_eq!(
            initial.header_str(":content-type"),
            Some("application/json")
        );
        assert_eq!(initial.payload, Bytes::from_static(b"{}"));

        let event = Message::event("SubscribeToShardEvent", "application/json", Bytes::new());
        assert_eq!(event.header_str(":message-type"), Some("event"));
        assert_eq!(
            event.header_str(":event-type"),
            Some("SubscribeToShardEvent")
        );

        let exception = Message::exception("ResourceNotFoundException", "application/json", "{}");
        assert_eq!(exception.header_str(":message-type"), Some("exception"));
        assert_eq!(
            exception.header_str(":exception-type"),
            Some("ResourceNotFoundException")
        );
        assert_eq!(exception.header(":event-type"), None);

        let error = Message::error("InternalFailure", "boom");
        assert_eq!(error.header_str(":message-type"), Some("error"));
        assert_eq!(error.header_str(":error-code"), Some("InternalFailure"));
        assert_eq!(error.header_str(":error-message"), Some("boom"));
        assert!(error.payload.is_empty());
    }

    #[test]
    fn every_header_type_round_trips() {
        round_trip(&every_type());
        let extremes = [
            HeaderValue::Bool(true),
            HeaderValue::Bool(false),
            HeaderValue::Byte(i8::MIN),
            HeaderValue::Byte(i8::MAX),
            HeaderValue::Short(i16::MIN),
            HeaderValue::Short(i16::MAX),
            HeaderValue::Int(i32::MIN),
            HeaderValue::Int(i32::MAX),
            HeaderValue::Long(i64::MIN),
            HeaderValue::Long(i64::MAX),
            HeaderValue::Bytes(Bytes::new()),
            HeaderValue::Bytes(Bytes::from(vec![0xab; MAX_HEADER_VALUE_LEN])),
            HeaderValue::String(String::new()),
            HeaderValue::String("x".repeat(MAX_HEADER_VALUE_LEN)),
            HeaderValue::Timestamp(i64::MIN),
            HeaderValue::Timestamp(-1),
            HeaderValue::Timestamp(i64::MAX),
            HeaderValue::Uuid([0; 16]),
            HeaderValue::Uuid([0xff; 16]),
        ];
        for value in extremes {
            let message = Message::new(vec![Header::new("h", value)], Bytes::new());
            round_trip(&message);
        }
        // The longest name.
        let message = Message::new(
            vec![Header::new(
                "n".repeat(MAX_HEADER_NAME_LEN),
                HeaderValue::Bool(true),
            )],
            Bytes::from_static(b"p"),
        );
        round_trip(&message);
    }

    #[test]
    fn type_codes_follow_the_spec_table() {
        let codes: Vec<u8> = every_type()
            .headers
            .iter()
            .map(|header| header.value.type_code())
            .collect();
        assert_eq!(codes, (0..=9).collect::<Vec<u8>>());
    }

    #[test]
    fn every_truncation_is_incomplete() {
        for bytes in [encode(&every_type()), ALL_HEADERS_TYPES.to_vec()] {
            for cut in 0..bytes.len() {
                assert_eq!(decode(bytes.get(..cut).unwrap()), Ok(None), "cut at {cut}");
            }
        }
    }

    #[test]
    fn every_claimed_length_is_handled_without_panic() {
        // A correct prelude CRC over a total_len or headers_len that disagrees with the bytes:
        // only the message CRC, a length check or the header parser can catch it.
        let bytes = encode(&every_type());
        let body = bytes
            .get(PRELUDE_LEN..bytes.len() - MESSAGE_CRC_LEN)
            .unwrap();
        let headers_len = u32::try_from(every_type().headers_len()).unwrap();
        let len = u32::try_from(bytes.len()).unwrap();
        for total_len in 0..len + 40 {
            let mut forged = bytes.clone();
            forged.splice(
                ..8,
                [total_len.to_be_bytes(), headers_len.to_be_bytes()].concat(),
            );
            let crc = crc32fast::hash(forged.get(..8).unwrap());
            forged.splice(8..12, crc.to_be_bytes());
            let result = decode(&forged);
            if total_len == len {
                assert!(result.unwrap().is_some());
            } else {
                assert!(
                    !matches!(result, Ok(Some(_))),
                    "total_len {total_len}: {result:?}"
                );
            }
        }
        // Correct CRCs everywhere, with every headers_len: the header parser must cope. A cut
        // on a header boundary is a valid message whose last headers became payload; anything
        // decoded must re-encode to the same bytes.
        for claimed in 0..=u32::try_from(body.len()).unwrap() {
            let forged = prelude_then(len, claimed, body);
            match decode(&forged) {
                Ok(Some((message, decoded_len))) => {
                    assert_eq!(decoded_len, forged.len());
                    assert_eq!(encode(&message), forged, "headers_len {claimed}");
                }
                Ok(None) => panic!("headers_len {claimed}: the whole message is present"),
                Err(_) => assert_ne!(claimed, headers_len),
            }
        }
    }

    #[test]
    fn every_flipped_bit_is_detected() {
        for bytes in [
            encode(&every_type()),
            SUBSCRIBE_TO_SHARD_STREAM.get(..104).unwrap().to_vec(),
        ] {
            for bit in 0..bytes.len() * 8 {
                let mut flipped = bytes.clone();
                if let Some(byte) = flipped.get_mut(bit / 8) {
                    *byte ^= 1 << (bit % 8);
                }
                let result = decode(&flipped);
                if bit / 8 < PRELUDE_LEN {
                    assert!(
                        matches!(result, Err(EventStreamError::PreludeCrcMismatch { .. })),
                        "bit {bit}: {result:?}"
                    );
                } else {
                    assert!(
                        matches!(result, Err(EventStreamError::MessageCrcMismatch { .. })),
                        "bit {bit}: {result:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn oversized_lengths_are_rejected_from_the_prelude_alone() {
        let prelude = |total_len: u32, headers_len: u32| {
            prelude_then(total_len, headers_len, &[])
                .get(..PRELUDE_LEN)
                .unwrap()
                .to_vec()
        };
        let too_large = u32::try_from(MAX_MESSAGE_LEN + 1).unwrap();
        for total_len in [too_large, u32::MAX] {
            assert_eq!(
                decode(&prelude(total_len, 0)),
                Err(EventStreamError::MessageTooLarge {
                    total_len,
                    max: MAX_MESSAGE_LEN
                })
            );
        }
        let max = u32::try_from(MAX_MESSAGE_LEN).unwrap();
        assert_eq!(decode(&prelude(max, 0)), Ok(None));

        let headers_too_large = u32::try_from(MAX_HEADERS_LEN + 1).unwrap();
        assert_eq!(
            decode(&prelude(max, headers_too_large)),
            Err(EventStreamError::HeadersTooLarge {
                headers_len: headers_too_large,
                max: MAX_HEADERS_LEN
            })
        );
        assert_eq!(
            decode(&prelude(15, 0)),
            Err(EventStreamError::MessageTooShort { total_len: 15 })
        );
        assert_eq!(
            decode(&prelude(20, 5)),
            Err(EventStreamError::HeadersLengthOutOfBounds {
                headers_len: 5,
                total_len: 20
            })
        );
        assert_eq!(decode(&prelude(20, 4)), Ok(None));
    }

    #[test]
    fn malformed_headers_are_errors() {
        // Name length 0.
        assert_eq!(
            decode(&frame(b"\x00\x00", b"")),
            Err(EventStreamError::EmptyHeaderName { offset: 12 })
        );
        // Value type 10.
        assert_eq!(
            decode(&frame(b"\x01a\x0a", b"")),
            Err(EventStreamError::UnknownHeaderType {
                offset: 14,
                value_type: 10
            })
        );
        // Name runs past the header section, into the payload.
        assert_eq!(
            decode(&frame(b"\x05ab", b"cdef")),
            Err(EventStreamError::TruncatedHeader {
                offset: 13,
                need: 5,
                have: 2
            })
        );
        // A type byte is missing.
        assert_eq!(
            decode(&frame(b"\x01a", b"")),
            Err(EventStreamError::TruncatedHeader {
                offset: 14,
                need: 1,
                have: 0
            })
        );
        // A string claims more bytes than remain.
        assert_eq!(
            decode(&frame(b"\x01a\x07\x00\x05abc", b"de")),
            Err(EventStreamError::TruncatedHeader {
                offset: 17,
                need: 5,
                have: 3
            })
        );
        // Each fixed-size type, one byte short.
        for (value_type, size) in [(2u8, 1usize), (3, 2), (4, 4), (5, 8), (8, 8), (9, 16)] {
            let mut headers = vec![1, b'a', value_type];
            headers.extend(std::iter::repeat_n(0, size - 1));
            assert_eq!(
                decode(&frame(&headers, b"")),
                Err(EventStreamError::TruncatedHeader {
                    offset: 15,
                    need: size,
                    have: size - 1
                }),
                "type {value_type}"
            );
        }
        // Names and string values must be UTF-8; byte arrays need not be.
        assert_eq!(
            decode(&frame(b"\x01\xff\x00", b"")),
            Err(EventStreamError::InvalidUtf8 {
                offset: 13,
                field: "header name"
            })
        );
        assert_eq!(
            decode(&frame(b"\x01a\x07\x00\x02\xc3\x28", b"")),
            Err(EventStreamError::InvalidUtf8 {
                offset: 17,
                field: "header value"
            })
        );
        assert_eq!(
            decode_one(&frame(b"\x01a\x06\x00\x02\xc3\x28", b"")).header("a"),
            Some(&HeaderValue::Bytes(Bytes::from_static(b"\xc3\x28")))
        );
        // Duplicates are found past the pairwise limit too.
        let mut many = Vec::new();
        for index in 0..40u8 {
            many.extend_from_slice(&[2, b'h', index, 0]);
        }
        many.extend_from_slice(&[2, b'h', 7, 1]);
        assert_eq!(
            decode(&frame(&many, b"")),
            Err(EventStreamError::DuplicateHeader {
                name: "h\u{7}".to_owned()
            })
        );
    }

    #[test]
    fn invalid_messages_are_not_encoded() {
        let cases = [
            (
                Message::new(vec![Header::new("", HeaderValue::Bool(true))], Bytes::new()),
                EncodeError::HeaderNameLength { index: 0, len: 0 },
            ),
            (
                Message::new(
                    vec![
                        Header::new("ok", HeaderValue::Bool(true)),
                        Header::new("n".repeat(256), HeaderValue::Bool(true)),
                    ],
                    Bytes::new(),
                ),
                EncodeError::HeaderNameLength { index: 1, len: 256 },
            ),
            (
                Message::new(
                    vec![Header::string("s", "x".repeat(MAX_HEADER_VALUE_LEN + 1))],
                    Bytes::new(),
                ),
                EncodeError::HeaderValueTooLong {
                    name: "s".to_owned(),
                    len: MAX_HEADER_VALUE_LEN + 1,
                    max: MAX_HEADER_VALUE_LEN,
                },
            ),
            (
                Message::new(
                    vec![Header::new(
                        "b",
                        HeaderValue::Bytes(Bytes::from(vec![0; MAX_HEADER_VALUE_LEN + 1])),
                    )],
                    Bytes::new(),
                ),
                EncodeError::HeaderValueTooLong {
                    name: "b".to_owned(),
                    len: MAX_HEADER_VALUE_LEN + 1,
                    max: MAX_HEADER_VALUE_LEN,
                },
            ),
            (
                Message::new(
                    vec![
                        Header::string("a", "1"),
                        Header::new("a", HeaderValue::Int(1)),
                    ],
                    Bytes::new(),
                ),
                EncodeError::DuplicateHeader {
                    name: "a".to_owned(),
                },
            ),
            (
                // Three maximal strings: 3 * (1 + 1 + 1 + 2 + 65,535) bytes > 128 KiB.
                Message::new(
                    (0..3)
                        .map(|i| Header::string(i.to_string(), "x".repeat(MAX_HEADER_VALUE_LEN)))
                        .collect(),
                    Bytes::new(),
                ),
                EncodeError::HeadersTooLarge {
                    len: 3 * (5 + MAX_HEADER_VALUE_LEN),
                    max: MAX_HEADERS_LEN,
                },
            ),
            (
                Message::new(vec![], Bytes::from(vec![0; MAX_MESSAGE_LEN])),
                EncodeError::MessageTooLarge {
                    len: MAX_MESSAGE_LEN + MESSAGE_OVERHEAD,
                    max: MAX_MESSAGE_LEN,
                },
            ),
        ];
        for (message, expected) in cases {
            let mut out = BytesMut::from(&b"keep"[..]);
            assert_eq!(message.encode(&mut out), Err(expected));
            assert_eq!(&out[..], b"keep", "nothing is written on error");
        }

        // The largest message is accepted, and decodes.
        let largest = Message::new(
            vec![],
            Bytes::from(vec![7; MAX_MESSAGE_LEN - MESSAGE_OVERHEAD]),
        );
        round_trip(&largest);
    }

    #[test]
    fn encode_appends_after_existing_bytes() {
        let mut out = BytesMut::from(&b"prefix"[..]);
        every_type().encode(&mut out).unwrap();
        let (message, len) = decode(out.get(6..).unwrap()).unwrap().unwrap();
        assert_eq!(message, every_type());
        assert_eq!(len + 6, out.len());
    }

    fn arb_header_value() -> impl Strategy<Value = HeaderValue> {
        prop_oneof![
            any::<bool>().prop_map(HeaderValue::Bool),
            any::<i8>().prop_map(HeaderValue::Byte),
            any::<i16>().prop_map(HeaderValue::Short),
            any::<i32>().prop_map(HeaderValue::Int),
            any::<i64>().prop_map(HeaderValue::Long),
            proptest::collection::vec(any::<u8>(), 0..64)
                .prop_map(|bytes| HeaderValue::Bytes(bytes.into())),
            "\\PC{0,24}".prop_map(HeaderValue::String),
            any::<i64>().prop_map(HeaderValue::Timestamp),
            any::<[u8; 16]>().prop_map(HeaderValue::Uuid),
        ]
    }

    fn arb_message() -> impl Strategy<Value = Message> {
        (
            proptest::collection::hash_map("[:a-z-]{1,16}|\\PC{1,8}", arb_header_value(), 0..12),
            proptest::collection::vec(any::<u8>(), 0..512),
        )
            .prop_map(|(headers, payload)| {
                Message::new(
                    headers
                        .into_iter()
                        .map(|(name, value)| Header { name, value })
                        .collect(),
                    payload,
                )
            })
    }

    proptest! {
        #[test]
        fn arbitrary_messages_round_trip(message in arb_message()) {
            let bytes = encode(&message);
            prop_assert_eq!(decode(&bytes), Ok(Some((message, bytes.len()))));
        }

        #[test]
        fn arbitrary_prefixes_are_incomplete(message in arb_message(), cut in any::<prop::sample::Index>()) {
            let bytes = encode(&message);
            let cut = cut.index(bytes.len());
            prop_assert_eq!(decode(bytes.get(..cut).unwrap()), Ok(None));
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_decoded_messages_reencode(
            bytes in proptest::collection::vec(any::<u8>(), 0..256),
            fix_crcs in any::<bool>(),
        ) {
            // With fixed CRCs the bytes reach the header parser instead of stopping at a CRC.
            let bytes = if fix_crcs && bytes.len() >= MESSAGE_OVERHEAD {
                let headers_len = bytes
                    .get(4..8)
                    .map_or(0, |b| u32::from_be_bytes(b.try_into().unwrap()))
                    % u32::try_from(bytes.len() - MESSAGE_OVERHEAD + 1).unwrap();
                let total = u32::try_from(bytes.len()).unwrap();
                prelude_then(total, headers_len, bytes.get(PRELUDE_LEN..bytes.len() - 4).unwrap())
            } else {
                bytes
            };
            if let Ok(Some((message, len))) = decode(&bytes) {
                let reencoded = encode(&message);
                prop_assert_eq!(reencoded.as_slice(), bytes.get(..len).unwrap());
            }
        }
    }
}
