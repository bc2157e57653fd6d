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
//! ```
#![deny(clippy::indexing_slicing)]

use bytes::{BufMut, Bytes, BytesMut};

use super::codec::{
    DecodeError, Reader, put_long, put_optional_long, put_optional_short, put_short,
};

/// Records without the body's digest, as written before version 2.
const VERSION_UNDIGESTED: u8 = 1;
const VERSION: u8 = 2;
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
    /// Its attributes, in the order given.
    pub attributes: Vec<MessageAttribute>,
    /// Its body.
    pub body: Bytes,
}

impl StoredMessage {
    /// Bytes [`StoredMessage::encode`] writes.
    #[must_use]
    pub fn encoded_size(&self) -> usize {
        let short = |value: &Option<String>| 1 + value.as_ref().map_or(0, |v| 2 + v.len());
        let long = |value: &Option<String>| 1 + value.as_ref().map_or(0, |v| 4 + v.len());
        1 + 16
            + 8
            + 8
            + self.body_md5.map_or(0, |md5| md5.len())
            + short(&self.group_id)
            + short(&self.dedup_id)
            + long(&self.trace_header)
            + short(&self.moved_from)
            + 2
            + self
                .attributes
                .iter()
                .map(|a| 2 + 2 + 1 + 4 + a.size())
                .sum::<usize>()
            + 4
            + self.body.len()
    }

    /// Appends the encoding to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_size());
        out.put_u8(if self.body_md5.is_some() {
            VERSION
        } else {
            VERSION_UNDIGESTED
        });
        out.put_slice(&self.id.0);
        out.put_i64(self.sent_ms);
        out.put_i64(self.visible_from_ms);
        if let Some(md5) = &self.body_md5 {
            out.put_slice(md5);
        }
        put_optional_short(out, self.group_id.as_deref());
        put_optional_short(out, self.dedup_id.as_deref());
        put_optional_long(out, self.trace_header.as_deref());
        put_optional_short(out, self.moved_from.as_deref());
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
        put_long(out, &self.body);
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
        let digested = match reader.u8()? {
            VERSION => true,
            VERSION_UNDIGESTED => false,
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
        let group_id = reader.optional_short_str()?;
        let dedup_id = reader.optional_short_str()?;
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
        let body = Reader::slice_of(data, reader.long_bytes()?);
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
                attributes,
                body,
            },
            reader.position(),
        ))
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
    pub(crate) fn decode(data: &Bytes) -> Result<Self, DecodeError> {
        let (message, _) = StoredMessage::decode(data)?;
        Ok(Self {
            id: message.id,
            sent_ms: message.sent_ms,
            visible_from_ms: message.visible_from_ms,
            group_id: message.group_id,
            dedup_id: message.dedup_id,
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
