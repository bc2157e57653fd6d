//! Enhanced fan-out consumers: registered per stream, kept as properties in the log, and named
//! by ARNs of the form `<stream ARN>/consumer/<name>:<creation seconds>`.
//!
//! | namespace | key | value |
//! |---|---|---|
//! | `kinesis.consumers/<stream>` | the consumer's name | its creation time, decimal ms |
//! | `kinesis.consumer.tags/<stream>/<name>` | a tag key | the tag's value |
//! | `kinesis.queues/<stream>` | a queue's id | the stream's engine id, decimal |
//!
//! A queue ([`crate::views::stream_queues`]) counts as a registered consumer of its stream:
//! its registration (written by that view) counts toward [`CONSUMERS_MAX`], and a stream
//! with queues can be neither deleted nor switched to PROVISIONED. A registration naming
//! another engine id belongs to an earlier stream of that name and is not counted.
//!
//! A consumer is CREATING (then ACTIVE) or DELETING for the configured state-change time
//! after a change, like a stream; with no state-change time it is ACTIVE at once. A consumer
//! stored before its stream's creation time belongs to an earlier stream of that name whose
//! deletion was interrupted, and is not listed.

use std::collections::BTreeMap;

use super::error::{Error, Result};
#[cfg(test)]
use super::lock;
use super::{Status, Streams};

/// Registered consumers a stream may have (AWS: 20 for provisioned streams).
pub const CONSUMERS_MAX: usize = protocol::aws::kinesis::limits::CONSUMERS_MAX;

/// Consumers of one stream that may be CREATING at once (AWS: "only 5 consumers can be
/// created simultaneously"; RegisterStreamConsumer in the API reference).
pub const CREATING_MAX: usize = 5;

/// A registered consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consumer {
    /// Its name, unique within the stream.
    pub name: String,
    /// The stream it reads.
    pub stream: String,
    /// Its ARN.
    pub arn: String,
    /// When it was registered, ms since the epoch.
    pub created_ms: i64,
    /// CREATING, ACTIVE or DELETING.
    pub status: Status,
}

fn namespace(stream: &str) -> String {
    format!("kinesis.consumers/{stream}")
}

/// The namespace of the queues registered on `stream`.
pub fn queues_namespace(stream: &str) -> String {
    format!("kinesis.queues/{stream}")
}

/// How many queues are registered on `stream` (none if it does not exist): the native
/// protocol's DeleteStream asks too.
pub fn registered_queues(log: &storage::Log, stream: &str) -> usize {
    let Ok(info) = log.stream(stream) else {
        return 0;
    };
    let id = info.id.to_string();
    log.properties(&queues_namespace(stream))
        .into_iter()
        .filter(|(_, stream_id)| stream_id.as_slice() == id.as_bytes())
        .count()
}

fn tags_namespace(stream: &str, consumer: &str) -> String {
    format!("kinesis.consumer.tags/{stream}/{consumer}")
}

impl Streams {
    fn consumer(&self, stream: &str, name: &str, created_ms: i64) -> Consumer {
        let arn = format!(
            "{}/consumer/{name}:{}",
            self.arn(stream),
            created_ms.div_euclid(1000)
        );
        let status = self.transition(&arn).unwrap_or(Status::Active);
        Consumer {
            name: name.to_owned(),
            stream: stream.to_owned(),
            arn,
            created_ms,
            status,
        }
    }

    /// The consumers registered on a stream, by name (none if the stream does not exist).
    pub fn consumers(&self, stream: &str) -> Vec<Consumer> {
        let Ok(info) = self.log().stream(stream) else {
            return Vec::new();
        };
        let mut consumers: Vec<Consumer> = self
            .log()
            .properties(&namespace(stream))
            .into_iter()
            .filter_map(|(name, created)| {
                let created_ms: i64 = String::from_utf8_lossy(&created).parse().ok()?;
                (created_ms >= info.created_ms).then(|| self.consumer(stream, &name, created_ms))
            })
            .collect();
        consumers.sort_by(|a, b| a.name.cmp(&b.name));
        consumers
    }

    /// How many consumers a stream has.
    pub fn consumer_count(&self, stream: &str) -> usize {
        self.consumers(stream).len()
    }

    /// How many queues are registered on a stream (none if it does not exist).
    pub fn queue_count(&self, stream: &str) -> usize {
        registered_queues(self.log(), stream)
    }

    /// Registers a consumer with its tags (blocking: each change is a journal entry).
    pub fn register_consumer(
        &self,
        stream: &str,
        name: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<Consumer> {
        let info = self.active(stream)?;
        let account = &self.settings().account;
        let consumers = self.consumers(stream);
        if consumers.iter().any(|consumer| consumer.name == name) {
            return Err(Error::InUse(format!(
                "Consumer {name} under stream {stream} already exists for account {account}."
            )));
        }
        if consumers.len() + self.queue_count(stream) >= CONSUMERS_MAX {
            return Err(Error::LimitExceeded(format!(
                "Stream {stream} under account {account} already has {CONSUMERS_MAX} registered consumers (queues included)."
            )));
        }
        let creating = consumers
            .iter()
            .filter(|consumer| consumer.status == Status::Creating)
            .count();
        if creating >= CREATING_MAX {
            return Err(Error::LimitExceeded(format!(
                "Stream {stream} under account {account} already has {CREATING_MAX} consumers in CREATING status."
            )));
        }
        // The ARN carries the creation second, so a consumer registered again under the same
        // name gets a new ARN unless it lands in the same second; never before the stream.
        let created_ms = self.log().now_ms().max(info.created_ms);
        let tags_namespace = tags_namespace(stream, name);
        for (key, _) in self.log().properties(&tags_namespace) {
            self.log()
                .delete_property(&tags_namespace, &key)
                .map_err(|error| Error::internal(&error))?;
        }
        for (key, value) in tags {
            self.log()
                .put_property(&tags_namespace, key, value.clone().into_bytes())
                .map_err(|error| Error::internal(&error))?;
        }
        self.log()
            .put_property(
                &namespace(stream),
                name,
                created_ms.to_string().into_bytes(),
            )
            .map_err(|error| Error::internal(&error))?;
        let consumer = self.consumer(stream, name, created_ms);
        self.begin_transition(&consumer.arn, Status::Creating);
        Ok(self.consumer(stream, name, created_ms))
    }

    /// A consumer's tags (read by tests; tagging operations on consumer ARNs read the same
    /// namespace).
    #[cfg(test)]
    pub fn consumer_tags(&self, consumer: &Consumer) -> BTreeMap<String, String> {
        self.log()
            .properties(&tags_namespace(&consumer.stream, &consumer.name))
            .into_iter()
            .map(|(key, value)| (key, String::from_utf8_lossy(&value).into_owned()))
            .collect()
    }

    /// Finds a consumer by ARN, or by stream ARN and name.
    pub fn find_consumer(
        &self,
        consumer_arn: Option<&str>,
        stream_arn: Option<&str>,
        name: Option<&str>,
    ) -> Result<Consumer> {
        let not_found = |what: &str| Error::NotFound(format!("Consumer {what} not found."));
        match (consumer_arn, stream_arn, name) {
            (Some(arn), _, _) => {
                let (stream_part, _) = arn
                    .split_once("/consumer/")
                    .ok_or_else(|| Error::InvalidArgument(format!("Invalid ConsumerARN {arn}.")))?;
                let stream = self.resolve(None, Some(stream_part))?;
                self.consumers(&stream)
                    .into_iter()
                    .find(|consumer| consumer.arn == arn)
                    .ok_or_else(|| not_found(arn))
            }
            (None, Some(stream_arn), Some(name)) => {
                let stream = self.resolve(None, Some(stream_arn))?;
                self.consumers(&stream)
                    .into_iter()
                    .find(|consumer| consumer.name == name)
                    .ok_or_else(|| not_found(name))
            }
            _ => Err(Error::InvalidArgument(
                "Either ConsumerARN or both StreamARN and ConsumerName must be provided.".into(),
            )),
        }
    }

    /// Removes a consumer's stored state and ends its subscriptions (blocking).
    fn forget_consumer(&self, consumer: &Consumer) -> Result<()> {
        let tags_namespace = tags_namespace(&consumer.stream, &consumer.name);
        for (key, _) in self.log().properties(&tags_namespace) {
            self.log()
                .delete_property(&tags_namespace, &key)
                .map_err(|error| Error::internal(&error))?;
        }
        self.log()
            .delete_property(&namespace(&consumer.stream), &consumer.name)
            .map_err(|error| Error::internal(&error))?;
        self.inner.subscriptions.revoke_consumer(&consumer.arn);
        Ok(())
    }

    /// Deregisters a consumer, ending its subscriptions (blocking).
    pub fn deregister_consumer(&self, consumer: &Consumer) -> Result<()> {
        self.forget_consumer(consumer)?;
        self.begin_transition(&consumer.arn, Status::Deleting);
        Ok(())
    }

    /// Deletes a stream, refusing while consumers are registered unless `enforce` (then they
    /// are deregistered first), as DeleteStream's EnforceConsumerDeletion (blocking).
    /// A stream with queues is refused whatever `enforce` says: its queues must be deleted
    /// first, as on AWS.
    pub fn delete_checked(&self, stream: &str, enforce: bool) -> Result<()> {
        self.describe(stream)?;
        let queues = self.queue_count(stream);
        if queues > 0 {
            return Err(Error::InUse(format!(
                "Stream {stream} under account {} has {queues} queue(s); delete them before deleting the stream.",
                self.settings().account
            )));
        }
        // Registrations of queues of an earlier stream of this name go.
        for (id, _) in self.log().properties(&queues_namespace(stream)) {
            self.log()
                .delete_property(&queues_namespace(stream), &id)
                .map_err(|error| Error::internal(&error))?;
        }
        let consumers = self.consumers(stream);
        if !consumers.is_empty() && !enforce {
            return Err(Error::InUse(format!(
                "Stream {stream} under account {} has registered consumers; set EnforceConsumerDeletion to delete it with them.",
                self.settings().account
            )));
        }
        // Consumers of an earlier stream of this name (not listed) go too.
        for (name, _) in self.log().properties(&namespace(stream)) {
            let stale = consumers.iter().all(|consumer| consumer.name != name);
            if stale {
                self.log()
                    .delete_property(&namespace(stream), &name)
                    .map_err(|error| Error::internal(&error))?;
            }
        }
        for consumer in &consumers {
            self.forget_consumer(consumer)?;
        }
        self.delete(stream)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::time::Duration;

    use storage::{Log, LogConfig};

    use super::*;
    use crate::views::streams::{Settings, StreamMeta};

    fn open(dir: &std::path::Path, state_change: Duration) -> Streams {
        let log = Log::open(LogConfig::new(dir)).unwrap();
        let settings = Settings {
            state_change,
            ..Settings::default()
        };
        Streams::open(log, settings).unwrap()
    }

    #[test]
    fn names_are_unique_and_counts_are_limited() {
        let dir = tempfile::tempdir().unwrap();
        let streams = open(dir.path(), Duration::ZERO);
        streams.create("s", 1, &StreamMeta::default()).unwrap();
        let tags = BTreeMap::from([("team".to_owned(), "data".to_owned())]);
        let first = streams.register_consumer("s", "c00", &tags).unwrap();
        assert_eq!(first.status, Status::Active);
        assert!(
            first
                .arn
                .starts_with("arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c00:")
        );
        assert_eq!(streams.consumer_tags(&first), tags);
        assert!(matches!(
            streams.register_consumer("s", "c00", &BTreeMap::new()),
            Err(Error::InUse(_))
        ));
        for index in 1..CONSUMERS_MAX {
            streams
                .register_consumer("s", &format!("c{index:02}"), &BTreeMap::new())
                .unwrap();
        }
        assert!(matches!(
            streams.register_consumer("s", "one-too-many", &BTreeMap::new()),
            Err(Error::LimitExceeded(_))
        ));
        assert_eq!(streams.consumer_count("s"), CONSUMERS_MAX);
        assert!(matches!(
            streams.register_consumer("missing", "c", &BTreeMap::new()),
            Err(Error::StreamNotFound { .. })
        ));
        let found = streams.find_consumer(Some(&first.arn), None, None).unwrap();
        assert_eq!(found, first);
        let by_name = streams
            .find_consumer(None, Some(&streams.arn("s")), Some("c00"))
            .unwrap();
        assert_eq!(by_name, first);
        streams.deregister_consumer(&first).unwrap();
        assert!(streams.consumer_tags(&first).is_empty());
        assert!(matches!(
            streams.find_consumer(Some(&first.arn), None, None),
            Err(Error::NotFound(_))
        ));
    }

    #[test]
    fn only_five_may_be_creating_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let streams = open(dir.path(), Duration::from_secs(60));
        streams.create("s", 1, &StreamMeta::default()).unwrap();
        // The stream itself is CREATING for a minute; end that without waiting.
        lock(&streams.inner.transitions).remove("s");
        for index in 0..CREATING_MAX {
            let consumer = streams
                .register_consumer("s", &format!("c{index}"), &BTreeMap::new())
                .unwrap();
            assert_eq!(consumer.status, Status::Creating);
        }
        assert!(matches!(
            streams.register_consumer("s", "sixth", &BTreeMap::new()),
            Err(Error::LimitExceeded(_))
        ));
    }

    #[test]
    fn deleting_a_stream_needs_enforce_and_takes_its_consumers() {
        let dir = tempfile::tempdir().unwrap();
        let streams = open(dir.path(), Duration::ZERO);
        streams.create("s", 1, &StreamMeta::default()).unwrap();
        streams
            .register_consumer("s", "c", &BTreeMap::new())
            .unwrap();
        assert!(matches!(
            streams.delete_checked("s", false),
            Err(Error::InUse(_))
        ));
        streams.delete_checked("s", true).unwrap();
        streams.create("s", 1, &StreamMeta::default()).unwrap();
        assert!(streams.consumers("s").is_empty());
        // A consumer left behind by an interrupted deletion is not the new stream's.
        streams
            .log()
            .put_property(&namespace("s"), "stale", b"1".to_vec())
            .unwrap();
        assert!(streams.consumers("s").is_empty());
        streams.delete_checked("s", false).unwrap();
        assert!(streams.log().properties(&namespace("s")).is_empty());
    }
}
