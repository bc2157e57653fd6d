//! The views: AWS service semantics built on [`storage::Log`], in domain words. They know
//! nothing of HTTP, JSON or AWS shapes; `crate::api` converts.
//!
//! - [`delivery`]: Firehose delivery streams (buffering, compression, S3 objects under
//!   deterministic keys, durable cursors).
//! - [`queues`]: SQS queues (standard and FIFO; visibility, delays, long polling,
//!   dead-letter queues and move tasks, deduplication, receipt handles, durable per-message
//!   state).
//! - [`topics`]: SNS topics (subscriptions with compiled filter policies, fan-out to
//!   queues, delivery streams and HTTP/S endpoints with retry schedules, signed envelopes,
//!   FIFO topics with deduplication).
//! - [`stream_queues`]: Kinesis queues over a stream's own records (visibility, receipt
//!   handles, built-in dead-letter handling, durable per-delivery state only).
//! - [`streams`]: Kinesis Data Streams (stream states, modes, tags and settings, sequence
//!   numbers, shard iterators, routing by hash key, resharding, enhanced fan-out consumers).

pub mod delivery;
pub mod queues;

pub mod stream_queues;
pub mod streams;
pub mod topics;

/// A 32-byte signing key (receipt handles, shard iterators) kept in the log's properties
/// under `namespace`/`name`, made on first use, so what it signed stays valid across
/// restarts.
pub(crate) fn signing_key(
    log: &storage::Log,
    namespace: &str,
    name: &str,
) -> storage::Result<[u8; 32]> {
    if let Some(key) = log
        .property(namespace, name)
        .and_then(|key| <[u8; 32]>::try_from(key.as_slice()).ok())
    {
        return Ok(key);
    }
    let key: [u8; 32] = rand::random();
    log.put_property(namespace, name, key.to_vec())?;
    Ok(key)
}
