//! AWS wire formats, with no I/O: request and response shapes per service, the JSON/CBOR body
//! codec, SigV4 verification and the event-stream encoding.
//!
//! Shapes follow botocore's service models field for field (PascalCase names). They are wire
//! types only: the server converts them by hand to and from its views' domain types, so no
//! AWS name reaches the engine.
//!
//! - [`body`]: [`Format`](body::Format) (AWS JSON 1.1 or CBOR 1.1), [`Blob`](body::Blob) and
//!   [`Timestamp`](body::Timestamp), whose encodings differ between the two, and the
//!   `decode`/`encode` entry points.
//! - [`sigv4`]: Signature Version 4 verification (header and presigned forms).
//! - [`eventstream`]: the `application/vnd.amazon.eventstream` message encoding used by
//!   SubscribeToShard.
//! - [`kinesis`]: Kinesis Data Streams (`Kinesis_20131202`) shapes, error codes and limits.
//! - [`firehose`]: Amazon Data Firehose (`Firehose_20150804`) shapes, error codes and limits.

pub mod arn;
pub mod body;
pub mod eventstream;
pub mod firehose;
pub mod kinesis;
pub mod sigv4;
