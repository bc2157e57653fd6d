//! Enhanced fan-out consumers: registered per stream, kept as properties in the log
//! (namespace `kinesis.consumers/<stream>`, key the consumer name, value its creation time in
//! ms), and named by ARNs of the form `<stream ARN>/consumer/<name>:<creation seconds>`.

use super::error::{Error, Result};
use super::{Status, Streams};

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

impl Streams {
    fn consumer(&self, stream: &str, name: &str, created_ms: i64) -> Consumer {
        let arn = format!("{}/consumer/{name}:{}", self.arn(stream), created_ms / 1000);
        let status = self
            .transition(&arn)
            .unwrap_or(Status::Active);
        Consumer {
            name: name.to_owned(),
            stream: stream.to_owned(),
            arn,
            created_ms,
            status,
        }
    }

    /// The consumers registered on a stream, by name.
    pub fn consumers(&self, stream: &str) -> Vec<Consumer> {
        let mut consumers: Vec<Consumer> = self
            .log()
            .properties(&namespace(stream))
            .into_iter()
            .map(|(name, created)| {
                let created_ms = String::from_utf8_lossy(&created).parse().unwrap_or(0);
                self.consumer(stream, &name, created_ms)
            })
            .collect();
        consumers.sort_by(|a, b| a.name.cmp(&b.name));
        consumers
    }

    /// How many consumers a stream has.
    pub fn consumer_count(&self, stream: &str) -> usize {
        self.log().properties(&namespace(stream)).len()
    }

    /// Registers a consumer (blocking).
    pub fn register_consumer(&self, stream: &str, name: &str) -> Result<Consumer> {
        self.active(stream)?;
        if self.log().property(&namespace(stream), name).is_some() {
            return Err(Error::InUse(format!(
                "Consumer {name} under stream {stream} already exists for account {}.",
                self.settings().account
            )));
        }
        if self.consumer_count(stream) >= protocol::aws::kinesis::limits::CONSUMERS_MAX {
            return Err(Error::LimitExceeded(format!(
                "Stream {stream} already has {} registered consumers.",
                protocol::aws::kinesis::limits::CONSUMERS_MAX
            )));
        }
        let created_ms = self.log().now_ms();
        self.log()
            .put_property(&namespace(stream), name, created_ms.to_string().into_bytes())
            .map_err(|error| Error::internal(&error))?;
        let consumer = self.consumer(stream, name, created_ms);
        self.begin_transition(&consumer.arn, Status::Creating);
        Ok(self.consumer(stream, name, created_ms))
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
                let (stream_part, consumer_part) = arn
                    .split_once("/consumer/")
                    .ok_or_else(|| Error::InvalidArgument(format!("Invalid ConsumerARN {arn}.")))?;
                let stream = self.resolve(None, Some(stream_part))?;
                let name = consumer_part.rsplit_once(':').map_or(consumer_part, |(n, _)| n);
                self.consumers(&stream)
                    .into_iter()
                    .find(|consumer| consumer.name == name && consumer.arn == arn)
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

    /// Deregisters a consumer (blocking).
    pub fn deregister_consumer(&self, consumer: &Consumer) -> Result<()> {
        self.log()
            .delete_property(&namespace(&consumer.stream), &consumer.name)
            .map_err(|error| Error::internal(&error))?;
        self.begin_transition(&consumer.arn, Status::Deleting);
        Ok(())
    }

    /// Deletes a stream, refusing while consumers are registered unless `enforce` (then they
    /// are deregistered first), as DeleteStream's EnforceConsumerDeletion (blocking).
    pub fn delete_checked(&self, stream: &str, enforce: bool) -> Result<()> {
        self.describe(stream)?;
        let consumers = self.consumers(stream);
        if !consumers.is_empty() && !enforce {
            return Err(Error::InUse(format!(
                "Stream {stream} under account {} has registered consumers; set EnforceConsumerDeletion to delete it with them.",
                self.settings().account
            )));
        }
        for consumer in &consumers {
            self.log()
                .delete_property(&namespace(stream), &consumer.name)
                .map_err(|error| Error::internal(&error))?;
        }
        self.delete(stream)
    }
}
