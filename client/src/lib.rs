//! An async client for strata's native protocol (`protocol/README.md`).
//!
//! A [`Client`] is one TCP connection on which requests from any number of tasks are
//! pipelined. On top of it, a [`Producer`] batches records queued one at a time, a
//! [`BatchProducer`] encodes records into per-shard batches the server stores as they come, a
//! [`ShardConsumer`] reads one shard in order with long polling and durable cursors, and a
//! [`StreamConsumer`] reads a whole stream across splits and merges
//! ([`Client::split_shard`], [`Client::merge_shards`]), keeping each partition key's order.
//!
//! # Layout
//!
//! - `connection.rs`: [`Client`]: connect and handshake, request ids, the writer and reader
//!   tasks, timeouts, and one method per operation.
//! - `producer.rs`: [`Producer`]: the record queue, the batching task, in-flight limits and
//!   ordering rules.
//! - `batch.rs`: [`BatchProducer`]: the shard map, routing by MD5, per-shard batch builders,
//!   one completion per batch and re-routing after a reshard.
//! - `consumer.rs`: [`ShardConsumer`]: positions, long polling, shard lineage and cursors.
//! - `stream.rs`: [`StreamConsumer`]: every shard of a stream, a child only after all its
//!   parents are read to their end.
//! - `queue.rs`: the queue operations ([`Client::create_queue`], [`Client::send_messages`],
//!   [`Client::receive_messages`], [`Client::peek_queue`], [`Client::rewind_queue`], …).
//! - `error.rs`: [`ClientError`].
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use client::{Client, Producer, ProducerConfig, ShardConsumer, StartPosition};
//!
//! # async fn example() -> Result<(), client::ClientError> {
//! let client = Client::connect("127.0.0.1:4567").await?;
//! client.create_stream("clicks", 4, 24).await?;
//!
//! let producer = Producer::new(client.clone(), "clicks", ProducerConfig::default());
//! let acked = producer.send("user-1", "page=/home");
//! producer.flush().await?;
//! let landed = acked.await?;
//!
//! let mut consumer = ShardConsumer::new(client, "clicks", landed.shard, StartPosition::TrimHorizon);
//! for record in consumer.next_batch(Duration::from_secs(1)).await? {
//!     println!("{} {:?}", record.offset, record.data);
//! }
//! consumer.commit("dashboard").await?;
//! # Ok(())
//! # }
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

mod batch;
mod connection;
mod consumer;
mod error;
mod producer;
mod queue;
mod stream;
mod tls;

pub use batch::{BatchAck, BatchProducer, BatchProducerConfig, REROUTES_MAX, Sent, hash_key};
pub use connection::{Client, ClientConfig, Credentials};
pub use consumer::{FETCH_BYTES_DEFAULT, FETCH_RECORDS_DEFAULT, ShardConsumer};
pub use error::ClientError;
pub use producer::{Ack, Producer, ProducerConfig, ProducerStats};
pub use protocol::native::queues::{
    EntryOutcome, QueueMessage, QueueMessageState, QueueRecord, QueueRecords, QueueRewindOk,
    QueueSent, RewindPoint,
};
pub use protocol::native::{
    ErrorCode, Fetch, FetchOk, FetchedRecord, HelloOk, ProduceRecord, ProduceResult,
    ShardDescription, StartPosition, StreamDescription, Target,
};
pub use stream::{StreamConsumer, StreamRecord};
pub use tls::ClientTls;
