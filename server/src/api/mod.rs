//! The AWS API adapters: one module per service, one file per operation. Each operation
//! decodes its shape (`protocol::aws`), checks the shape's constraints, makes one call into
//! its view and encodes the answer; failures are mapped to AWS exceptions in each service's
//! `error.rs`, and nowhere else.

pub mod firehose;
pub mod kinesis;

use bytes::Bytes;
use tokio::sync::mpsc;

/// What an operation answers.
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: ReplyBody,
}

/// A reply body: whole, or streamed (event streams).
pub enum ReplyBody {
    /// The whole body.
    Full(Bytes),
    /// Chunks sent as they come; the stream ends when the sender is dropped.
    Stream(mpsc::Receiver<Bytes>),
}
