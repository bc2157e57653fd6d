//! Kinesis Data Streams (`X-Amz-Target: Kinesis_20131202.<Operation>`): request and response
//! shapes as botocore's `kinesis/2013-12-02/service-2.json` defines them, the exception
//! names, and the documented limits.
//!
//! Shapes are grouped by area; every one is re-exported here.
//!
//! - [`streams`]: create, delete, describe, list streams and shards.
//! - [`records`]: put and get records, shard iterators; [`put_body`] reads a PutRecords
//!   body in place.
//! - [`admin`]: retention, resharding, tags, encryption, monitoring, stream and account
//!   settings, resource policies, limits.
//! - [`consumers`]: enhanced fan-out consumers and SubscribeToShard.
//! - [`channels`]: channels, a stream's built-in sink to S3.
//! - [`queues`]: queues over a stream, their records and dead-letter records.

pub mod admin;
pub mod channels;
pub mod consumers;
pub mod errors;
pub mod limits;
pub mod put_body;
pub mod queues;
pub mod records;
pub mod streams;

pub use admin::*;
pub use channels::*;
pub use consumers::*;
pub use put_body::{PutRecordsBody, PutRecordsBodyEntry};
pub use queues::*;
pub use records::*;
pub use streams::*;

/// The `X-Amz-Target` prefix of every Kinesis operation.
pub const TARGET_PREFIX: &str = "Kinesis_20131202.";
