//! [`ShardConsumer`]: reads one shard from a position, in order, with long polling.
//!
//! A consumer keeps the next offset to read. Each [`ShardConsumer::next_batch`] fetches from
//! there, waiting up to `max_wait` on the server for a first record, and moves the position
//! to the response's `next_offset`. Once the shard was closed by a split or merge and every
//! record has been read, [`ShardConsumer::is_ended`] is true and [`ShardConsumer::children`]
//! names the shards to read next.
//!
//! Cursors store the next offset to read, so [`ShardConsumer::resume`] starts exactly after
//! the last record whose position was committed.

use std::time::Duration;

use protocol::native::{Fetch, FetchedRecord, StartPosition};

use crate::connection::Client;
use crate::error::ClientError;

/// Records one fetch asks for by default (the server's own limit).
pub const FETCH_RECORDS_DEFAULT: u32 = 10_000;
/// Record bytes one fetch asks for by default (the server's own limit).
pub const FETCH_BYTES_DEFAULT: u32 = 10 * 1024 * 1024;

/// A reader of one shard.
#[derive(Debug, Clone)]
pub struct ShardConsumer {
    client: Client,
    stream: String,
    shard: u32,
    position: StartPosition,
    ended: bool,
    children: Vec<u32>,
    max_records: u32,
    max_bytes: u32,
}

impl ShardConsumer {
    /// A consumer of `shard` starting at `start`.
    #[must_use]
    pub fn new(
        client: Client,
        stream: impl Into<String>,
        shard: u32,
        start: StartPosition,
    ) -> Self {
        Self {
            client,
            stream: stream.into(),
            shard,
            position: start,
            ended: false,
            children: Vec::new(),
            max_records: FETCH_RECORDS_DEFAULT,
            max_bytes: FETCH_BYTES_DEFAULT,
        }
    }

    /// A consumer starting where cursor `cursor_name` was committed, or at `fallback_start`
    /// if it never was.
    ///
    /// # Errors
    /// As [`Client::fetch_cursor`].
    pub async fn resume(
        client: Client,
        stream: impl Into<String>,
        shard: u32,
        cursor_name: &str,
        fallback_start: StartPosition,
    ) -> Result<Self, ClientError> {
        let stream = stream.into();
        let start = match client.fetch_cursor(cursor_name, &stream, shard).await? {
            Some(offset) => StartPosition::AtOffset(offset),
            None => fallback_start,
        };
        Ok(Self::new(client, stream, shard, start))
    }

    /// Limits each fetch to `max_records` records and `max_bytes` record bytes (the server
    /// returns at least one record if any, and caps both at its own limits).
    #[must_use]
    pub fn with_limits(mut self, max_records: u32, max_bytes: u32) -> Self {
        self.max_records = max_records;
        self.max_bytes = max_bytes;
        self
    }

    /// The stream read.
    #[must_use]
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The shard read.
    #[must_use]
    pub fn shard(&self) -> u32 {
        self.shard
    }

    /// The next offset to read, once known: from the start (an offset), or after the first
    /// fetch for the symbolic starts (`TrimHorizon`, `Latest`, `AtTimestamp`).
    #[must_use]
    pub fn position(&self) -> Option<u64> {
        match self.position {
            StartPosition::AtOffset(offset) => Some(offset),
            StartPosition::AfterOffset(offset) => offset.checked_add(1),
            _ => None,
        }
    }

    /// Whether the shard is closed and fully read: no fetch will return more.
    #[must_use]
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// The shards that continue this one once it [ended](Self::is_ended); empty before.
    #[must_use]
    pub fn children(&self) -> &[u32] {
        &self.children
    }

    /// The next records, in offset order, waiting up to `max_wait` on the server while there
    /// are none (an empty result means none arrived in time). Returns empty at once once the
    /// shard has [ended](Self::is_ended).
    ///
    /// # Errors
    /// As [`Client::fetch`]; the position is unchanged on error, so calling again retries.
    pub async fn next_batch(
        &mut self,
        max_wait: Duration,
    ) -> Result<Vec<FetchedRecord>, ClientError> {
        if self.ended {
            return Ok(Vec::new());
        }
        let fetch = Fetch {
            stream: self.stream.clone(),
            shard: self.shard,
            start: self.position,
            max_records: self.max_records,
            max_bytes: self.max_bytes,
            max_wait_ms: u32::try_from(max_wait.as_millis()).unwrap_or(u32::MAX),
        };
        let ok = self.client.fetch(fetch).await?;
        self.position = StartPosition::AtOffset(ok.next_offset);
        if let Some(ending) = ok.shard_ending
            && ok.next_offset >= ending
        {
            self.ended = true;
            self.children = ok.child_shards;
        }
        Ok(ok.records)
    }

    /// Saves the position (the next offset to read) under `cursor_name`.
    ///
    /// # Errors
    /// [`ClientError::InvalidArgument`] before the position is known (a symbolic start not
    /// fetched yet), else as [`Client::commit_cursor`].
    pub async fn commit(&self, cursor_name: &str) -> Result<(), ClientError> {
        let offset = self.position().ok_or_else(|| {
            ClientError::InvalidArgument("no position to commit before the first fetch".into())
        })?;
        self.client
            .commit_cursor(cursor_name, &self.stream, self.shard, offset)
            .await
    }
}
