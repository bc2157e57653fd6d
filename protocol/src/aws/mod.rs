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
//! - [`query`]: the AWS query protocol's requests: [`parse_form`] and a serde deserializer
//!   over the form's key tree ([`Form::decode`]), for SQS's older SDKs and SNS.
//! - [`xml`]: the AWS query protocol's XML responses: [`encode_response`] and
//!   [`encode_error`], laid out per service by an [`XmlStyle`].
//! - [`json_scan`]: reading JSON in place ([`json_scan::Cursor`]), for the large bodies
//!   not worth a full decode, with serde as the fallback.
//! - [`kinesis`]: Kinesis Data Streams (`Kinesis_20131202`) shapes, error codes and limits.
//! - [`firehose`]: Amazon Data Firehose (`Firehose_20150804`) shapes, error codes and limits.
//! - [`sqs`]: Amazon SQS (`AmazonSQS`, JSON 1.0 and query/XML) shapes, the error table, limits,
//!   queue attributes, MD5 digests and message validation.
//! - [`sns`]: Amazon SNS (query/XML only) shapes of all 42 operations and the error table.

pub mod arn;
pub mod body;
pub mod eventstream;
pub mod firehose;
pub mod json_scan;
pub mod kinesis;
pub mod query;
pub mod sigv4;
pub mod sns;
pub mod sqs;
pub mod xml;

pub use query::{Form, QueryError, from_form, parse_form};
pub use xml::{Fault, ListStyle, MapStyle, XmlError, XmlStyle, encode_error, encode_response};
