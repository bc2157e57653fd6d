//! The views: AWS service semantics built on [`storage::Log`], in domain words. They know
//! nothing of HTTP, JSON or AWS shapes; `crate::api` converts.
//!
//! - [`delivery`]: Firehose delivery streams (buffering, compression, S3 objects under
//!   deterministic keys, durable cursors).
//! - [`streams`]: Kinesis Data Streams (stream states, modes, tags and settings, sequence
//!   numbers, shard iterators, routing by hash key, resharding, enhanced fan-out consumers).

pub mod delivery;
pub mod streams;
