//! A message as it is stored: the data of one record of the queue's stream.
//!
//! Design constraints: the record's offset is the message's identity inside the queue (the
//! receipt handle and per-message state name it), so nothing here repeats it; the message id
//! is kept as 16 raw bytes and shown as a UUID; the sequence number of a FIFO message is
//! derived from its offset, so it is not stored either. Decoding never panics (it is fed
//! whatever the log holds) and slices the record's bytes rather than copying the body.
//!
//! ```text
//! version        u8     2 (1: written before the body's digest was kept; no digest field)
//! message id     16     UUID v4 bytes
//! sent           i64    ms since the epoch (kept when moved to a dead-letter queue)
//! visible from   i64    ms since the epoch: sent + delay (0 delay: equal to sent)
//! body MD5       16     the body's MD5 (version 2 only): receives answer with it
//! group id       u8 flag, u16 length, UTF-8
//! dedup id       u8 flag, u16 length, UTF-8
//! trace header   u8 flag, u32 length, UTF-8
//! moved from     u8 flag, u16 length, UTF-8 (the source queue's name, in a DLQ)
//! attributes     u16 count, then per attribute:
//!                  name u16 length + UTF-8, data type u16 length + UTF-8,
//!                  kind u8 (1 text, 2 binary), value u32 length + bytes
//! body           u32 length + bytes
//!                (version 3: u64 offset + u32 length of the record in the shared body
//!                stream holding it)
//! ```
//!
//! Version 3 is version 2 with the body kept once for many queues: a topic's raw deliveries
//! of one message to every queue it goes to (see [`super::Queues::share_bodies`]).
#![deny(clippy::indexing_slicing)]

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

use super::codec::{
    DecodeError, Reader, put_long, put_optional_long, put_optional_short, put_short,
};

/// Records without the body's digest, as written before version 2.
const VERSION_UNDIGESTED: u8 = 1;
const VERSION: u8 = 2;
/// Version 2 with the body in the shared body stream.
const VERSION_SHARED: u8 = 3;
const TEXT: u8 = 1;
const BINARY: u8 = 2;

/// A message id: 16 random bytes with the UUID v4 version and variant bits, shown as a
/// hyphenated lowercase UUID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub [u8; 16]);

impl MessageId {
    /// A fresh random (version 4) id.
    #[must_use]
    pub fn random() -> Self {
        let mut bytes: [u8; 16] = rand::random();
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Self(bytes)
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write as _;
        // One character at a time rather than a formatter per byte: every sent and received
        // message needs its id's text.
        let digit = |nibble: u8| char::from_digit(u32::from(nibble), 16).unwrap_or('0');
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_char('-')?;
            }
            f.write_char(digit(byte >> 4))?;
            f.write_char(digit(byte & 0x0f))?;
        }
        Ok(())
    }
}

/// Where a body shared by several queues' messages is: a record of the shared body stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharedBody {
    /// The record's offset.
    pub offset: u64,
    /// The body's length (a check on the record read back).
    pub len: u32,
}

/// The value of a message attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttributeValue {
    /// A `String` or `Number` attribute (custom suffixes included): its text.
    Text(String),
    /// A `Binary` attribute: its bytes.
    Binary(Bytes),
}

/// One message attribute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageAttribute {
    /// Its name.
    pub name: String,
    /// Its data type as given (`String`, `Number.float`, `Binary.png`, ...).
    pub data_type: String,
    /// Its value.
    pub value: AttributeValue,
}

impl MessageAttribute {
    /// Bytes it counts toward the message size limit: name, data type and value.
    #[must_use]
    pub fn size(&self) -> usize {
        let value = match &self.value {
            AttributeValue::Text(text) => text.len(),
            AttributeValue::Binary(bytes) => bytes.len(),
        };
        self.name.len() + self.data_type.len() + value
    }
}

/// A message as its record holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    /// Its id.
    pub id: MessageId,
    /// When it was first sent (ms since the epoch).
    pub sent_ms: i64,
    /// When it may first be received (ms since the epoch).
    pub visible_from_ms: i64,
    /// The MD5 of the body, computed once when it is sent (`None` in records written before
    /// it was kept).
    pub body_md5: Option<[u8; 16]>,
    /// Its message group (FIFO queues, and fair standard queues).
    pub group_id: Option<String>,
    /// Its deduplication id (FIFO queues; the content hash when content-based).
    pub dedup_id: Option<String>,
    /// The tracing header system attribute.
    pub trace_header: Option<String>,
    /// The queue a redrive moved it from, in a dead-letter queue.
    pub moved_from: Option<String>,
    /// Its attributes, in the order given (shared: a topic's deliveries of one message
    /// hold the same list).
    pub attributes: Arc<[MessageAttribute]>,
    /// Its body (empty in a decoded message whose body is shared, until it is read).
    pub body: Bytes,
    /// Where its body is kept, if in the shared body stream rather than in its record.
    pub shared_body: Option<SharedBody>,
}

/// The fields of a message's record, borrowed: what [`StoredMessage`] encodes, and what a
/// send encodes straight into the batch of its append without building one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Encoding<'a> {
    pub id: MessageId,
    pub sent_ms: i64,
    pub visible_from_ms: i64,
    pub body_md5: Option<[u8; 16]>,
    pub group_id: Option<&'a str>,
    pub dedup_id: Option<&'a str>,
    pub trace_header: Option<&'a str>,
    pub moved_from: Option<&'a str>,
    pub attributes: &'a [MessageAttribute],
    pub body: &'a [u8],
    /// Written instead of `body` when set (the record needs the digest then).
    pub shared_body: Option<SharedBody>,
}

impl Encoding<'_> {
    /// Bytes [`Self::write`] writes: exactly, for every message within the queue limits (a
    /// field longer than its length prefix can say would be cut short, and write less).
    pub(crate) fn len(&self) -> usize {
        let short = |value: Option<&str>| 1 + value.map_or(0, |v| 2 + v.len());
        let long = |value: Option<&str>| 1 + value.map_or(0, |v| 4 + v.len());
        1 + 16
            + 8
            + 8
            + self.body_md5.map_or(0, |md5| md5.len())
            + short(self.group_id)
            + short(self.dedup_id)
            + long(self.trace_header)
            + short(self.moved_from)
            + 2
            + self
                .attributes
                .iter()
                .map(|a| 2 + 2 + 1 + 4 + a.size())
                .sum::<usize>()
            + match self.shared() {
                Some(_) => 8 + 4,
                None => 4 + self.body.len(),
            }
    }

    /// The shared body this record names, if it names one (it has a digest, as version 3).
    fn shared(&self) -> Option<SharedBody> {
        self.shared_body.filter(|_| self.body_md5.is_some())
    }

    /// Writes the record's data to `out`.
    pub(crate) fn write(&self, out: &mut impl BufMut) {
        out.put_u8(match (self.body_md5, self.shared()) {
            (Some(_), Some(_)) => VERSION_SHARED,
            (Some(_), None) => VERSION,
            (None, _) => VERSION_UNDIGESTED,
        });
        out.put_slice(&self.id.0);
        out.put_i64(self.sent_ms);
        out.put_i64(self.visible_from_ms);
        if let Some(md5) = &self.body_md5 {
            out.put_slice(md5);
        }
        put_optional_short(out, self.group_id);
        put_optional_short(out, self.dedup_id);
        put_optional_long(out, self.trace_header);
        put_optional_short(out, self.moved_from);
        out.put_u16(u16::try_from(self.attributes.len()).unwrap_or(u16::MAX));
        for attribute in self.attributes.iter().take(usize::from(u16::MAX)) {
            put_short(out, attribute.name.as_bytes());
            put_short(out, attribute.data_type.as_bytes());
            match &attribute.value {
                AttributeValue::Text(text) => {
                    out.put_u8(TEXT);
                    put_long(out, text.as_bytes());
                }
                AttributeValue::Binary(bytes) => {
                    out.put_u8(BINARY);
                    put_long(out, bytes);
                }
            }
        }
        match self.shared() {
            Some(shared) => {
                out.put_u64(shared.offset);
                out.put_u32(shared.len);
            }
            None => put_long(out, self.body),
        }
    }
}

impl StoredMessage {
    /// Its fields as [`Encoding`] borrows them.
    pub(crate) fn encoding(&self) -> Encoding<'_> {
        Encoding {
            id: self.id,
            sent_ms: self.sent_ms,
            visible_from_ms: self.visible_from_ms,
            body_md5: self.body_md5,
            group_id: self.group_id.as_deref(),
            dedup_id: self.dedup_id.as_deref(),
            trace_header: self.trace_header.as_deref(),
            moved_from: self.moved_from.as_deref(),
            attributes: &self.attributes,
            body: &self.body,
            shared_body: self.shared_body,
        }
    }

    /// Bytes [`StoredMessage::encode`] writes.
    #[must_use]
    pub fn encoded_size(&self) -> usize {
        self.encoding().len()
    }

    /// Appends the encoding to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        let encoding = self.encoding();
        out.reserve(encoding.len());
        encoding.write(out);
    }

    /// The encoding as one buffer.
    #[must_use]
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_size());
        self.encode(&mut out);
        out.freeze()
    }

    /// Decodes a record's data; the body and binary values are slices of `data`. Returns the
    /// message and the bytes read (all of them: trailing bytes are an error).
    pub fn decode(data: &Bytes) -> Result<(Self, usize), DecodeError> {
        let mut reader = Reader::new("queue message", data);
        let Head {
            shared,
            id,
            sent_ms,
            visible_from_ms,
            body_md5,
            group_id,
            dedup_id,
        } = Head::read(&mut reader)?;
        let trace_header = reader.optional_long_str()?;
        let moved_from = reader.optional_short_str()?;
        let count = reader.u16()?;
        let mut attributes = Vec::new();
        for _ in 0..count {
            let name = reader.short_str()?;
            let data_type = reader.short_str()?;
            let value = match reader.u8()? {
                TEXT => AttributeValue::Text(reader.long_str()?),
                BINARY => AttributeValue::Binary(Reader::slice_of(data, reader.long_bytes()?)),
                _ => return Err(reader.error("unknown attribute kind")),
            };
            attributes.push(MessageAttribute {
                name,
                data_type,
                value,
            });
        }
        let (body, shared_body) = if shared {
            let offset = reader.u64()?;
            let len = reader.u32()?;
            (Bytes::new(), Some(SharedBody { offset, len }))
        } else {
            (Reader::slice_of(data, reader.long_bytes()?), None)
        };
        reader.finish()?;
        Ok((
            Self {
                id,
                sent_ms,
                visible_from_ms,
                body_md5,
                group_id,
                dedup_id,
                trace_header,
                moved_from,
                attributes: attributes.into(),
                body,
                shared_body,
            },
            reader.position(),
        ))
    }
}

/// The fields every record version opens with, up to the trace header.
struct Head {
    /// Whether the body is in the shared body stream (version 3).
    shared: bool,
    id: MessageId,
    sent_ms: i64,
    visible_from_ms: i64,
    body_md5: Option<[u8; 16]>,
    group_id: Option<String>,
    dedup_id: Option<String>,
}

impl Head {
    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let (digested, shared) = match reader.u8()? {
            VERSION_SHARED => (true, true),
            VERSION => (true, false),
            VERSION_UNDIGESTED => (false, false),
            _ => return Err(reader.error("unknown version")),
        };
        let id = MessageId(reader.fixed()?);
        let sent_ms = reader.i64()?;
        let visible_from_ms = reader.i64()?;
        let body_md5 = if digested {
            Some(reader.fixed()?)
        } else {
            None
        };
        Ok(Self {
            shared,
            id,
            sent_ms,
            visible_from_ms,
            body_md5,
            group_id: reader.optional_short_str()?,
            dedup_id: reader.optional_short_str()?,
        })
    }
}

/// What the in-memory index keeps of a message: its record decoded without the body or
/// attributes being kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Summary {
    pub id: MessageId,
    pub sent_ms: i64,
    pub visible_from_ms: i64,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
}

impl Summary {
    /// What the index keeps of `message`: what [`Self::decode`] reads from its record.
    #[cfg(test)]
    pub(crate) fn of(message: &StoredMessage) -> Self {
        Self {
            id: message.id,
            sent_ms: message.sent_ms,
            visible_from_ms: message.visible_from_ms,
            group_id: message.group_id.clone(),
            dedup_id: message.dedup_id.clone(),
        }
    }

    /// Reads what the index keeps and checks the rest of the record as
    /// [`StoredMessage::decode`] would, without copying or allocating for attributes or body
    /// (an index rebuilt at open reads every unfinished message's record).
    pub(crate) fn decode(data: &Bytes) -> Result<Self, DecodeError> {
        let mut reader = Reader::new("queue message", data);
        let head = Head::read(&mut reader)?;
        if reader.bool()? {
            reader.long_text()?;
        }
        if reader.bool()? {
            reader.short_text()?;
        }
        for _ in 0..reader.u16()? {
            reader.short_text()?;
            reader.short_text()?;
            match reader.u8()? {
                TEXT => {
                    reader.long_text()?;
                }
                BINARY => {
                    reader.long_bytes()?;
                }
                _ => return Err(reader.error("unknown attribute kind")),
            }
        }
        if head.shared {
            reader.u64()?;
            reader.u32()?;
        } else {
            reader.long_bytes()?;
        }
        reader.finish()?;
        Ok(Self {
            id: head.id,
            sent_ms: head.sent_ms,
            visible_from_ms: head.visible_from_ms,
            group_id: head.group_id,
            dedup_id: head.dedup_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::MessageId;

    #[test]
    fn message_ids_read_as_hyphenated_lowercase_uuids() {
        let id = MessageId([
            0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0x4d, 0xef, 0x80, 0x11, 0x22, 0x33, 0x44, 0x55,
            0x66, 0xff,
        ]);
        assert_eq!(id.to_string(), "01234567-89ab-4def-8011-2233445566ff");
        let random = MessageId::random().to_string();
        assert_eq!(random.len(), 36);
        assert_eq!(random.as_bytes().get(14), Some(&b'4'));
    }
}
