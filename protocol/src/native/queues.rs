//! Queue operations (ops 13 to 21): the SQS-semantics queues of the server, for the CLI and
//! for programs that want them without HTTP, plus what SQS lacks: a peek that changes
//! nothing and a rewind. Byte layouts are in `protocol/README.md`.
#![deny(clippy::indexing_slicing)]

use bytes::{BufMut, Bytes, BytesMut};

use crate::codec::{
    DecodeError, Message, Reader, long_bytes_size, option_size, put_count, put_long_bytes,
    put_option, put_short_bytes, short_bytes_size,
};

/// Queue names are 1 to 80 bytes (SQS's limit, `.fifo` included).
pub const QUEUE_NAME_BYTES_MAX: usize = 80;
/// Attribute names and values: at most this many bytes each (a redrive policy is JSON).
pub const QUEUE_ATTRIBUTE_BYTES_MAX: usize = 4096;
/// Attributes in one `QueueCreate`.
pub const QUEUE_ATTRIBUTES_MAX: usize = 64;
/// Message group and deduplication ids: 1 to 128 bytes.
pub const QUEUE_ID_BYTES_MAX: usize = 128;
/// A message body: at most 1 MiB (the largest `MaximumMessageSize`).
pub const QUEUE_BODY_BYTES_MAX: usize = 1 << 20;
/// Messages in one `QueueSend`.
pub const QUEUE_SEND_MESSAGES_MAX: usize = 1000;
/// Receipt handles in one `QueueAck`, and messages one `QueueReceive` returns.
pub const QUEUE_HANDLES_MAX: usize = 1000;
/// Receipt handles are at most this many bytes.
pub const RECEIPT_HANDLE_BYTES_MAX: usize = 1024;
/// Messages one `QueuePeek` returns at most.
pub const QUEUE_PEEK_MAX: usize = 1000;
/// Message ids and sequence numbers are at most this many bytes.
pub const QUEUE_MESSAGE_ID_BYTES_MAX: usize = 128;

fn read_queue_name(reader: &mut Reader<'_>) -> Result<String, DecodeError> {
    reader.string("queue", 1, QUEUE_NAME_BYTES_MAX)
}

fn read_id(reader: &mut Reader<'_>, field: &'static str) -> Result<String, DecodeError> {
    reader.string(field, 1, QUEUE_ID_BYTES_MAX)
}

fn opt_string_size(value: Option<&String>) -> usize {
    option_size(value, value.map_or(0, |v| short_bytes_size(v.as_bytes())))
}

fn put_opt_string(out: &mut BytesMut, value: Option<&String>) {
    put_option(out, value, |out, v| put_short_bytes(out, v.as_bytes()));
}

/// Creates a queue, or succeeds if one of that name exists with these attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCreate {
    /// 1 to [`QUEUE_NAME_BYTES_MAX`] bytes; a FIFO queue's ends in `.fifo`.
    pub name: String,
    /// SQS attribute names and values (`FifoQueue`, `VisibilityTimeout`, `RedrivePolicy`…),
    /// checked as SQS checks them.
    pub attributes: Vec<(String, String)>,
}

impl Message for QueueCreate {
    const MIN_ENCODED_SIZE: usize = 2 + 1 + 4;

    fn encoded_size(&self) -> usize {
        short_bytes_size(self.name.as_bytes())
            + 4
            + self
                .attributes
                .iter()
                .map(|(k, v)| short_bytes_size(k.as_bytes()) + short_bytes_size(v.as_bytes()))
                .sum::<usize>()
    }

    fn encode(&self, out: &mut BytesMut) {
        put_short_bytes(out, self.name.as_bytes());
        put_count(out, self.attributes.len());
        for (name, value) in &self.attributes {
            put_short_bytes(out, name.as_bytes());
            put_short_bytes(out, value.as_bytes());
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            name: read_queue_name(reader)?,
            attributes: reader.vec_with("attributes", QUEUE_ATTRIBUTES_MAX, 5, |r| {
                Ok((
                    r.string("attribute", 1, QUEUE_ATTRIBUTE_BYTES_MAX)?,
                    r.string("value", 0, QUEUE_ATTRIBUTE_BYTES_MAX)?,
                ))
            })?,
        })
    }
}

/// Names one queue (`QueueDelete`, `QueuePurge`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueName {
    /// 1 to [`QUEUE_NAME_BYTES_MAX`] bytes.
    pub name: String,
}

impl Message for QueueName {
    const MIN_ENCODED_SIZE: usize = 3;

    fn encoded_size(&self) -> usize {
        short_bytes_size(self.name.as_bytes())
    }

    fn encode(&self, out: &mut BytesMut) {
        put_short_bytes(out, self.name.as_bytes());
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            name: read_queue_name(reader)?,
        })
    }
}

/// Lists the queues whose names start with `prefix` (empty: all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueList {
    /// 0 to [`QUEUE_NAME_BYTES_MAX`] bytes.
    pub prefix: String,
}

impl Message for QueueList {
    const MIN_ENCODED_SIZE: usize = 2;

    fn encoded_size(&self) -> usize {
        short_bytes_size(self.prefix.as_bytes())
    }

    fn encode(&self, out: &mut BytesMut) {
        put_short_bytes(out, self.prefix.as_bytes());
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            prefix: reader.string("prefix", 0, QUEUE_NAME_BYTES_MAX)?,
        })
    }
}

/// Queue names, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueNames {
    /// The names.
    pub names: Vec<String>,
}

impl Message for QueueNames {
    const MIN_ENCODED_SIZE: usize = 4;

    fn encoded_size(&self) -> usize {
        4 + self
            .names
            .iter()
            .map(|n| short_bytes_size(n.as_bytes()))
            .sum::<usize>()
    }

    fn encode(&self, out: &mut BytesMut) {
        put_count(out, self.names.len());
        for name in &self.names {
            put_short_bytes(out, name.as_bytes());
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            names: reader.vec_with("names", usize::MAX, 3, read_queue_name)?,
        })
    }
}

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueMessage {
    /// The body: 1 byte to [`QUEUE_BODY_BYTES_MAX`], characters as SQS allows them.
    pub body: Bytes,
    /// The message group (required on FIFO queues).
    pub group_id: Option<String>,
    /// The deduplication id (FIFO queues without content-based deduplication).
    pub dedup_id: Option<String>,
    /// Delay in seconds, 0 to 900 (standard queues; `None`: the queue's).
    pub delay_s: Option<u32>,
}

impl Message for QueueMessage {
    const MIN_ENCODED_SIZE: usize = 4 + 1 + 1 + 1;

    fn encoded_size(&self) -> usize {
        long_bytes_size(&self.body)
            + opt_string_size(self.group_id.as_ref())
            + opt_string_size(self.dedup_id.as_ref())
            + option_size(self.delay_s, 4)
    }

    fn encode(&self, out: &mut BytesMut) {
        put_long_bytes(out, &self.body);
        put_opt_string(out, self.group_id.as_ref());
        put_opt_string(out, self.dedup_id.as_ref());
        put_option(out, self.delay_s, |out, d| out.put_u32_le(d));
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let body = reader.long_bytes("body", 1, QUEUE_BODY_BYTES_MAX)?;
        let body = reader.bytes_of(body);
        Ok(Self {
            body,
            group_id: reader.option("group_id", |r| read_id(r, "group_id"))?,
            dedup_id: reader.option("dedup_id", |r| read_id(r, "dedup_id"))?,
            delay_s: reader.option("delay_s", Reader::u32)?,
        })
    }
}

/// Sends messages to a queue: one append, each message's outcome in its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSend {
    /// The queue.
    pub name: String,
    /// 1 to [`QUEUE_SEND_MESSAGES_MAX`] messages.
    pub messages: Vec<QueueMessage>,
}

impl Message for QueueSend {
    const MIN_ENCODED_SIZE: usize = 3 + 4;

    fn encoded_size(&self) -> usize {
        short_bytes_size(self.name.as_bytes())
            + 4
            + self
                .messages
                .iter()
                .map(Message::encoded_size)
                .sum::<usize>()
    }

    fn encode(&self, out: &mut BytesMut) {
        put_short_bytes(out, self.name.as_bytes());
        put_count(out, self.messages.len());
        for message in &self.messages {
            message.encode(out);
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let name = read_queue_name(reader)?;
        let messages = reader.vec("messages", QUEUE_SEND_MESSAGES_MAX)?;
        Ok(Self { name, messages })
    }
}

/// One entry's outcome in a batch: success, or an error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryOutcome<T> {
    /// The entry succeeded.
    Ok(T),
    /// The entry failed alone.
    Failed {
        /// An [`super::ErrorCode`] number.
        code: u32,
        /// For humans.
        message: String,
    },
}

fn outcome_size<T>(outcome: &EntryOutcome<T>, size: impl FnOnce(&T) -> usize) -> usize {
    1 + match outcome {
        EntryOutcome::Ok(value) => size(value),
        EntryOutcome::Failed { message, .. } => 4 + short_bytes_size(message.as_bytes()),
    }
}

fn put_outcome<T>(
    out: &mut BytesMut,
    outcome: &EntryOutcome<T>,
    put: impl FnOnce(&mut BytesMut, &T),
) {
    match outcome {
        EntryOutcome::Ok(value) => {
            out.put_u8(0);
            put(out, value);
        }
        EntryOutcome::Failed { code, message } => {
            out.put_u8(1);
            out.put_u32_le(*code);
            put_short_bytes(out, message.as_bytes());
        }
    }
}

fn read_outcome<'a, T>(
    reader: &mut Reader<'a>,
    read: impl FnOnce(&mut Reader<'a>) -> Result<T, DecodeError>,
) -> Result<EntryOutcome<T>, DecodeError> {
    let offset = reader.offset();
    match reader.u8()? {
        0 => read(reader).map(EntryOutcome::Ok),
        1 => Ok(EntryOutcome::Failed {
            code: reader.u32()?,
            message: reader.string("message", 0, super::ERROR_MESSAGE_BYTES_MAX)?,
        }),
        tag => Err(DecodeError::InvalidTag {
            offset,
            field: "outcome",
            tag,
        }),
    }
}

/// What a sent message became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSent {
    /// Its message id (a FIFO duplicate's is the original's).
    pub message_id: String,
    /// FIFO queues: its sequence number.
    pub sequence_number: Option<String>,
}

/// The outcome of each message of a `QueueSend`, in its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSendOk {
    /// One per message.
    pub results: Vec<EntryOutcome<QueueSent>>,
}

impl Message for QueueSendOk {
    const MIN_ENCODED_SIZE: usize = 4;

    fn encoded_size(&self) -> usize {
        4 + self
            .results
            .iter()
            .map(|r| {
                outcome_size(r, |sent| {
                    short_bytes_size(sent.message_id.as_bytes())
                        + opt_string_size(sent.sequence_number.as_ref())
                })
            })
            .sum::<usize>()
    }

    fn encode(&self, out: &mut BytesMut) {
        put_count(out, self.results.len());
        for result in &self.results {
            put_outcome(out, result, |out, sent| {
                put_short_bytes(out, sent.message_id.as_bytes());
                put_opt_string(out, sent.sequence_number.as_ref());
            });
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            results: reader.vec_with("results", QUEUE_SEND_MESSAGES_MAX, 3, |r| {
                read_outcome(r, |r| {
                    Ok(QueueSent {
                        message_id: r.string("message_id", 1, QUEUE_MESSAGE_ID_BYTES_MAX)?,
                        sequence_number: r.option("sequence_number", |r| {
                            r.string("sequence_number", 1, QUEUE_MESSAGE_ID_BYTES_MAX)
                        })?,
                    })
                })
            })?,
        })
    }
}

/// Receives up to `max_messages` messages, waiting up to `wait_s` for the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueReceive {
    /// The queue.
    pub name: String,
    /// 1 to 10.
    pub max_messages: u32,
    /// Seconds to wait for a message, 0 to 20.
    pub wait_s: u32,
    /// Visibility timeout in seconds for these messages, 0 to 43,200 (`None`: the queue's).
    pub visibility_timeout_s: Option<u32>,
}

impl Message for QueueReceive {
    const MIN_ENCODED_SIZE: usize = 3 + 8 + 1;

    fn encoded_size(&self) -> usize {
        short_bytes_size(self.name.as_bytes()) + 8 + option_size(self.visibility_timeout_s, 4)
    }

    fn encode(&self, out: &mut BytesMut) {
        put_short_bytes(out, self.name.as_bytes());
        out.put_u32_le(self.max_messages);
        out.put_u32_le(self.wait_s);
        put_option(out, self.visibility_timeout_s, |out, v| out.put_u32_le(v));
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            name: read_queue_name(reader)?,
            max_messages: reader.u32()?,
            wait_s: reader.u32()?,
            visibility_timeout_s: reader.option("visibility_timeout_s", Reader::u32)?,
        })
    }
}

/// Where a message stands, as a peek shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum QueueMessageState {
    /// Receivable now.
    Ready = 0,
    /// Waiting for its delay to end.
    Delayed = 1,
    /// Received, not yet deleted or visible again.
    InFlight = 2,
    /// Deleted, expired or moved; its record is still kept.
    Finished = 3,
}

/// A message as a receive or a peek returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRecord {
    /// Its offset in the queue's log.
    pub offset: u64,
    /// Its message id.
    pub message_id: String,
    /// A receive's handle for `QueueAck`; empty in a peek.
    pub receipt_handle: String,
    /// Where it stands (a received message is `InFlight`).
    pub state: QueueMessageState,
    /// Receives so far (this one included, for a receive).
    pub receive_count: u32,
    /// When it was sent, ms since the epoch.
    pub sent_ms: i64,
    /// Its message group, if any.
    pub group_id: Option<String>,
    /// The body.
    pub body: Bytes,
}

impl Message for QueueRecord {
    const MIN_ENCODED_SIZE: usize = 8 + 3 + 2 + 1 + 4 + 8 + 1 + 4;

    fn encoded_size(&self) -> usize {
        8 + short_bytes_size(self.message_id.as_bytes())
            + short_bytes_size(self.receipt_handle.as_bytes())
            + 1
            + 4
            + 8
            + opt_string_size(self.group_id.as_ref())
            + long_bytes_size(&self.body)
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u64_le(self.offset);
        put_short_bytes(out, self.message_id.as_bytes());
        put_short_bytes(out, self.receipt_handle.as_bytes());
        out.put_u8(self.state as u8);
        out.put_u32_le(self.receive_count);
        out.put_i64_le(self.sent_ms);
        put_opt_string(out, self.group_id.as_ref());
        put_long_bytes(out, &self.body);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let offset = reader.u64()?;
        let message_id = reader.string("message_id", 1, QUEUE_MESSAGE_ID_BYTES_MAX)?;
        let receipt_handle = reader.string("receipt_handle", 0, RECEIPT_HANDLE_BYTES_MAX)?;
        let tag_offset = reader.offset();
        let state = match reader.u8()? {
            0 => QueueMessageState::Ready,
            1 => QueueMessageState::Delayed,
            2 => QueueMessageState::InFlight,
            3 => QueueMessageState::Finished,
            tag => {
                return Err(DecodeError::InvalidTag {
                    offset: tag_offset,
                    field: "state",
                    tag,
                });
            }
        };
        let receive_count = reader.u32()?;
        let sent_ms = reader.i64()?;
        let group_id = reader.option("group_id", |r| read_id(r, "group_id"))?;
        let body = reader.long_bytes("body", 0, QUEUE_BODY_BYTES_MAX)?;
        let body = reader.bytes_of(body);
        Ok(Self {
            offset,
            message_id,
            receipt_handle,
            state,
            receive_count,
            sent_ms,
            group_id,
            body,
        })
    }
}

/// Messages of a receive or a peek, and (for a peek) where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRecords {
    /// The messages, oldest first.
    pub messages: Vec<QueueRecord>,
    /// A peek's next page starts here; a receive's is 0.
    pub next_offset: u64,
}

impl Message for QueueRecords {
    const MIN_ENCODED_SIZE: usize = 4 + 8;

    fn encoded_size(&self) -> usize {
        4 + self
            .messages
            .iter()
            .map(Message::encoded_size)
            .sum::<usize>()
            + 8
    }

    fn encode(&self, out: &mut BytesMut) {
        put_count(out, self.messages.len());
        for message in &self.messages {
            message.encode(out);
        }
        out.put_u64_le(self.next_offset);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let messages = reader.vec("messages", QUEUE_PEEK_MAX)?;
        Ok(Self {
            messages,
            next_offset: reader.u64()?,
        })
    }
}

/// Deletes received messages by receipt handle (SQS's DeleteMessage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueAck {
    /// The queue.
    pub name: String,
    /// 1 to [`QUEUE_HANDLES_MAX`] handles.
    pub receipt_handles: Vec<String>,
}

impl Message for QueueAck {
    const MIN_ENCODED_SIZE: usize = 3 + 4;

    fn encoded_size(&self) -> usize {
        short_bytes_size(self.name.as_bytes())
            + 4
            + self
                .receipt_handles
                .iter()
                .map(|h| short_bytes_size(h.as_bytes()))
                .sum::<usize>()
    }

    fn encode(&self, out: &mut BytesMut) {
        put_short_bytes(out, self.name.as_bytes());
        put_count(out, self.receipt_handles.len());
        for handle in &self.receipt_handles {
            put_short_bytes(out, handle.as_bytes());
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            name: read_queue_name(reader)?,
            receipt_handles: reader.vec_with("receipt_handles", QUEUE_HANDLES_MAX, 3, |r| {
                r.string("receipt_handle", 1, RECEIPT_HANDLE_BYTES_MAX)
            })?,
        })
    }
}

/// The outcome of each handle of a `QueueAck`, in its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueAckOk {
    /// One per handle.
    pub results: Vec<EntryOutcome<()>>,
}

impl Message for QueueAckOk {
    const MIN_ENCODED_SIZE: usize = 4;

    fn encoded_size(&self) -> usize {
        4 + self
            .results
            .iter()
            .map(|r| outcome_size(r, |()| 0))
            .sum::<usize>()
    }

    fn encode(&self, out: &mut BytesMut) {
        put_count(out, self.results.len());
        for result in &self.results {
            put_outcome(out, result, |_, ()| {});
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            results: reader.vec_with("results", QUEUE_HANDLES_MAX, 1, |r| {
                read_outcome(r, |_| Ok(()))
            })?,
        })
    }
}

/// Reads a queue's messages without receiving them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePeek {
    /// The queue.
    pub name: String,
    /// The first offset to show (`None`: the oldest kept).
    pub from_offset: Option<u64>,
    /// 1 to [`QUEUE_PEEK_MAX`].
    pub max_messages: u32,
    /// Show deleted, expired and moved messages whose records are still kept.
    pub include_finished: bool,
}

impl Message for QueuePeek {
    const MIN_ENCODED_SIZE: usize = 3 + 1 + 4 + 1;

    fn encoded_size(&self) -> usize {
        short_bytes_size(self.name.as_bytes()) + option_size(self.from_offset, 8) + 5
    }

    fn encode(&self, out: &mut BytesMut) {
        put_short_bytes(out, self.name.as_bytes());
        put_option(out, self.from_offset, |out, o| out.put_u64_le(o));
        out.put_u32_le(self.max_messages);
        out.put_u8(u8::from(self.include_finished));
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let name = read_queue_name(reader)?;
        let from_offset = reader.option("from_offset", Reader::u64)?;
        let max_messages = reader.u32()?;
        let offset = reader.offset();
        let include_finished = match reader.u8()? {
            0 => false,
            1 => true,
            tag => {
                return Err(DecodeError::InvalidTag {
                    offset,
                    field: "include_finished",
                    tag,
                });
            }
        };
        Ok(Self {
            name,
            from_offset,
            max_messages,
            include_finished,
        })
    }
}

/// Where a rewind goes back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RewindPoint {
    /// This offset.
    Offset(u64),
    /// The first message sent at or after this time, ms since the epoch.
    Timestamp(i64),
}

/// Makes every message from a point on receivable again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRewind {
    /// The queue.
    pub name: String,
    /// Where to.
    pub to: RewindPoint,
}

impl Message for QueueRewind {
    const MIN_ENCODED_SIZE: usize = 3 + 1 + 8;

    fn encoded_size(&self) -> usize {
        short_bytes_size(self.name.as_bytes()) + 9
    }

    fn encode(&self, out: &mut BytesMut) {
        put_short_bytes(out, self.name.as_bytes());
        match self.to {
            RewindPoint::Offset(offset) => {
                out.put_u8(0);
                out.put_u64_le(offset);
            }
            RewindPoint::Timestamp(ms) => {
                out.put_u8(1);
                out.put_i64_le(ms);
            }
        }
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let name = read_queue_name(reader)?;
        let offset = reader.offset();
        let to = match reader.u8()? {
            0 => RewindPoint::Offset(reader.u64()?),
            1 => RewindPoint::Timestamp(reader.i64()?),
            tag => {
                return Err(DecodeError::InvalidTag {
                    offset,
                    field: "to",
                    tag,
                });
            }
        };
        Ok(Self { name, to })
    }
}

/// What a rewind did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueRewindOk {
    /// The offset the queue went back to (clamped to the oldest kept message).
    pub offset: u64,
    /// Messages unfinished (receivable, delayed or in flight) after it.
    pub unfinished: u64,
}

impl Message for QueueRewindOk {
    const MIN_ENCODED_SIZE: usize = 16;

    fn encoded_size(&self) -> usize {
        16
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u64_le(self.offset);
        out.put_u64_le(self.unfinished);
    }

    fn read(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            offset: reader.u64()?,
            unfinished: reader.u64()?,
        })
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, reason = "tests")]
mod tests {
    use bytes::{Bytes, BytesMut};
    use proptest::prelude::*;

    use super::*;
    use crate::native::{Request, Response};

    fn name() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9_-]{1,75}(\\.fifo)?"
    }

    fn id() -> impl Strategy<Value = Option<String>> {
        proptest::option::of("[a-zA-Z0-9é]{1,40}")
    }

    fn request() -> impl Strategy<Value = Request> {
        let message = (
            proptest::collection::vec(any::<u8>(), 1..64),
            id(),
            id(),
            proptest::option::of(any::<u32>()),
        )
            .prop_map(|(body, group_id, dedup_id, delay_s)| QueueMessage {
                body: Bytes::from(body),
                group_id,
                dedup_id,
                delay_s,
            });
        prop_oneof![
            (
                name(),
                proptest::collection::vec(("[A-Za-z]{1,20}", "[0-9a-z{}\":]{0,30}"), 0..4)
            )
                .prop_map(|(name, attributes)| Request::QueueCreate(QueueCreate {
                    name,
                    attributes
                })),
            name().prop_map(|name| Request::QueuePurge(QueueName { name })),
            (name(), proptest::collection::vec(message, 0..4))
                .prop_map(|(name, messages)| Request::QueueSend(QueueSend { name, messages })),
            (
                name(),
                any::<u32>(),
                any::<u32>(),
                proptest::option::of(any::<u32>())
            )
                .prop_map(|(name, max_messages, wait_s, visibility_timeout_s)| {
                    Request::QueueReceive(QueueReceive {
                        name,
                        max_messages,
                        wait_s,
                        visibility_timeout_s,
                    })
                }),
            (
                name(),
                proptest::collection::vec("[A-Za-z0-9_-]{1,60}", 0..4)
            )
                .prop_map(|(name, receipt_handles)| Request::QueueAck(QueueAck {
                    name,
                    receipt_handles
                })),
            (
                name(),
                proptest::option::of(any::<u64>()),
                any::<u32>(),
                any::<bool>()
            )
                .prop_map(|(name, from_offset, max_messages, include_finished)| {
                    Request::QueuePeek(QueuePeek {
                        name,
                        from_offset,
                        max_messages,
                        include_finished,
                    })
                }),
            (name(), any::<bool>(), any::<i64>()).prop_map(|(name, by_time, at)| {
                let to = if by_time {
                    RewindPoint::Timestamp(at)
                } else {
                    RewindPoint::Offset(at.unsigned_abs())
                };
                Request::QueueRewind(QueueRewind { name, to })
            }),
        ]
    }

    fn response() -> impl Strategy<Value = Response> {
        let record = (
            any::<u64>(),
            "[a-f0-9-]{36}",
            "[A-Za-z0-9_-]{0,60}",
            0u8..4,
            any::<u32>(),
            any::<i64>(),
            id(),
            proptest::collection::vec(any::<u8>(), 0..64),
        )
            .prop_map(
                |(
                    offset,
                    message_id,
                    receipt_handle,
                    state,
                    receive_count,
                    sent_ms,
                    group_id,
                    body,
                )| {
                    QueueRecord {
                        offset,
                        message_id,
                        receipt_handle,
                        state: [
                            QueueMessageState::Ready,
                            QueueMessageState::Delayed,
                            QueueMessageState::InFlight,
                            QueueMessageState::Finished,
                        ][usize::from(state)],
                        receive_count,
                        sent_ms,
                        group_id,
                        body: Bytes::from(body),
                    }
                },
            );
        let outcome = prop_oneof![
            ("[a-f0-9-]{36}", proptest::option::of("[0-9]{20}")).prop_map(
                |(message_id, sequence_number)| EntryOutcome::Ok(QueueSent {
                    message_id,
                    sequence_number
                })
            ),
            (any::<u32>(), "[ -~]{0,40}")
                .prop_map(|(code, message)| EntryOutcome::Failed { code, message }),
        ];
        prop_oneof![
            (proptest::collection::vec(record, 0..4), any::<u64>()).prop_map(
                |(messages, next_offset)| Response::QueuePeeked(QueueRecords {
                    messages,
                    next_offset
                })
            ),
            proptest::collection::vec(outcome, 0..4)
                .prop_map(|results| Response::QueueSendOk(QueueSendOk { results })),
            proptest::collection::vec(proptest::option::of((any::<u32>(), "[ -~]{0,20}")), 0..4)
                .prop_map(|results| Response::QueueAckOk(QueueAckOk {
                    results: results
                        .into_iter()
                        .map(|r| match r {
                            None => EntryOutcome::Ok(()),
                            Some((code, message)) => EntryOutcome::Failed { code, message },
                        })
                        .collect()
                })),
            proptest::collection::vec(name(), 0..4)
                .prop_map(|names| Response::QueueNames(QueueNames { names })),
            (any::<u64>(), any::<u64>()).prop_map(|(offset, unfinished)| {
                Response::QueueRewindOk(QueueRewindOk { offset, unfinished })
            }),
        ]
    }

    proptest! {
        #[test]
        fn queue_requests_round_trip_and_reject_truncation(request in request()) {
            let mut body = BytesMut::new();
            request.encode(&mut body);
            prop_assert_eq!(body.len(), request.encoded_size());
            prop_assert_eq!(Request::decode(request.op() as u16, &body)?, request.clone());
            for cut in 0..body.len() {
                prop_assert!(Request::decode(request.op() as u16, body.get(..cut).unwrap_or_default()).is_err());
            }
        }

        #[test]
        fn queue_responses_round_trip_and_reject_truncation(response in response()) {
            let mut body = BytesMut::new();
            response.encode(&mut body);
            prop_assert_eq!(body.len(), response.encoded_size());
            prop_assert_eq!(Response::decode(response.op() as u16, &body)?, response.clone());
            for cut in 0..body.len() {
                prop_assert!(Response::decode(response.op() as u16, body.get(..cut).unwrap_or_default()).is_err());
            }
        }
    }
}
