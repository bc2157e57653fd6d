//! Channels: Kinesis's built-in S3 sink for a stream, as delivery pipelines.
//!
//! A channel is an ordinary delivery stream whose source is the Kinesis stream, so it gets
//! every rule of `docs/specs/delivery.md` (plan before put, cursor after put, retries) from
//! the same task. Its definition is stored under the name `channel:<name>` (the colon cannot
//! occur in a delivery stream's name, so the Firehose API never sees or clashes with it), and
//! what only a channel has (its id, record format, bucket owners, storage class, dead-letter
//! bucket, encryption, logging, tags) is one more property, namespace `kinesis.channels`, in
//! the definition's `key<TAB>value` text form.
//!
//! Order of writes: create records the channel before its delivery stream and delete removes
//! the delivery stream first, so a crash in between leaves at most a channel record without a
//! delivery stream, which [`DeliveryStreams::channels`] does not list and create replaces.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::definition::{decode_lines, encode_lines};
use super::{Definition, DeliveryStreams, Described, Error, Result, lock};

/// The property namespace of channel records.
const CHANNELS: &str = "kinesis.channels";

/// Serializes channel creates, updates and deletes, so that a channel's record and its
/// delivery stream change together (the view's own lock covers each delivery-stream change
/// alone and is taken inside).
static CHANNEL_CHANGES: Mutex<()> = Mutex::new(());

/// The prefix of a channel's delivery-stream name.
pub const DELIVERY_PREFIX: &str = "channel:";

/// The delivery stream behind channel `name`.
pub fn delivery_name(name: &str) -> String {
    format!("{DELIVERY_PREFIX}{name}")
}

/// Whether a delivery stream is a channel's.
pub fn is_channel(delivery_stream: &str) -> bool {
    delivery_stream.starts_with(DELIVERY_PREFIX)
}

/// What a channel has beyond its delivery stream's definition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Channel {
    /// The channel's name.
    pub name: String,
    /// A unique id.
    pub id: String,
    /// `GSR_JSON`, `JSON`, `STRING` or `BYTE_ARRAY`, recorded (records are delivered as
    /// their bytes whatever the format).
    pub record_format: String,
    /// A Glue schema, recorded.
    pub schema_arn: Option<String>,
    /// The bucket's expected owner, recorded.
    pub bucket_owner: String,
    /// The objects' storage class, recorded.
    pub storage_class: Option<String>,
    /// The dead-letter bucket.
    pub dead_letter_bucket_arn: String,
    /// Its expected owner, recorded.
    pub dead_letter_owner: String,
    /// Encryption type and key, recorded.
    pub encryption: Option<(String, String)>,
    /// CloudWatch logging, recorded.
    pub logging_enabled: bool,
    /// Its log group.
    pub log_group: Option<String>,
    /// Its log stream.
    pub log_stream: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl Channel {
    /// The property value.
    pub fn encode(&self) -> Vec<u8> {
        let mut lines: Vec<(String, String)> = vec![
            ("id".into(), self.id.clone()),
            ("record_format".into(), self.record_format.clone()),
            ("bucket_owner".into(), self.bucket_owner.clone()),
            ("dlq.bucket_arn".into(), self.dead_letter_bucket_arn.clone()),
            ("dlq.owner".into(), self.dead_letter_owner.clone()),
            (
                "logging_enabled".into(),
                if self.logging_enabled {
                    "true"
                } else {
                    "false"
                }
                .into(),
            ),
        ];
        let optional = [
            ("schema_arn", &self.schema_arn),
            ("storage_class", &self.storage_class),
            ("log_group", &self.log_group),
            ("log_stream", &self.log_stream),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                lines.push((key.into(), value.clone()));
            }
        }
        if let Some((kind, key)) = &self.encryption {
            lines.push(("encryption.type".into(), kind.clone()));
            lines.push(("encryption.key".into(), key.clone()));
        }
        for (key, value) in &self.tags {
            lines.push((format!("tag:{key}"), value.clone()));
        }
        encode_lines(lines)
    }

    /// Decodes a property value; `None` if it is not one this server can use.
    pub fn decode(name: &str, bytes: &[u8]) -> Option<Self> {
        let mut values: BTreeMap<String, String> = BTreeMap::new();
        let mut tags = BTreeMap::new();
        for (key, value) in decode_lines(bytes)? {
            if let Some(tag) = key.strip_prefix("tag:") {
                tags.insert(tag.to_owned(), value);
            } else {
                values.insert(key, value);
            }
        }
        let text_of = |key: &str| values.get(key).cloned();
        let encryption = match (text_of("encryption.type"), text_of("encryption.key")) {
            (Some(kind), Some(key)) => Some((kind, key)),
            _ => None,
        };
        Some(Self {
            name: name.to_owned(),
            id: text_of("id")?,
            record_format: text_of("record_format")?,
            schema_arn: text_of("schema_arn"),
            bucket_owner: text_of("bucket_owner").unwrap_or_default(),
            storage_class: text_of("storage_class"),
            dead_letter_bucket_arn: text_of("dlq.bucket_arn").unwrap_or_default(),
            dead_letter_owner: text_of("dlq.owner").unwrap_or_default(),
            encryption,
            logging_enabled: values.get("logging_enabled").is_some_and(|v| v == "true"),
            log_group: text_of("log_group"),
            log_stream: text_of("log_stream"),
            tags,
        })
    }
}

/// A channel with its delivery stream.
#[derive(Clone, Debug)]
pub struct ChannelState {
    /// The channel's own settings.
    pub channel: Channel,
    /// Its delivery stream (source, destination, failure).
    pub delivery: Described,
}

impl DeliveryStreams {
    /// A channel's ARN: `arn:aws:kinesis:<region>:<account>:channel/<name>`.
    pub fn channel_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:kinesis:{}:{}:channel/{name}",
            self.inner.settings.region, self.inner.settings.account
        )
    }

    fn channel_not_found(&self, name: &str) -> Error {
        Error::NotFound {
            name: delivery_name(name),
            account: self.inner.settings.account.clone(),
        }
    }

    /// Creates a channel: its record, then its delivery stream (named by
    /// [`delivery_name`]), which starts delivering at once (blocking: writes the catalog).
    pub fn create_channel(&self, channel: &Channel, definition: Definition) -> Result<()> {
        let _changes = lock(&CHANNEL_CHANGES);
        let name = channel.name.clone();
        if lock(&self.inner.entries).contains_key(&delivery_name(&name)) {
            return Err(Error::Exists {
                name: delivery_name(&name),
                account: self.inner.settings.account.clone(),
            });
        }
        let log = &self.inner.log;
        log.put_property(CHANNELS, &name, channel.encode())?;
        if let Err(error) = self.create(definition) {
            // Nothing delivers under this record: take it back.
            log.delete_property(CHANNELS, &name)?;
            return Err(error);
        }
        Ok(())
    }

    /// A channel and its delivery stream.
    pub fn channel(&self, name: &str) -> Result<ChannelState> {
        let delivery = self
            .describe(&delivery_name(name))
            .map_err(|_| self.channel_not_found(name))?;
        let value = self
            .inner
            .log
            .property(CHANNELS, name)
            .ok_or_else(|| self.channel_not_found(name))?;
        let channel = Channel::decode(name, &value).ok_or_else(|| {
            Error::Internal(format!("The record of channel {name} is unreadable."))
        })?;
        Ok(ChannelState { channel, delivery })
    }

    /// Every channel, by name.
    pub fn channels(&self) -> Vec<ChannelState> {
        self.list()
            .into_iter()
            .filter_map(|definition| {
                let name = definition.name.strip_prefix(DELIVERY_PREFIX)?;
                self.channel(name).ok()
            })
            .collect()
    }

    /// Changes a channel's record and its delivery stream's definition (blocking: writes the
    /// catalog).
    pub fn update_channel(
        &self,
        name: &str,
        change_channel: impl FnOnce(&mut Channel),
        change_definition: impl FnOnce(&mut Definition) -> Result<()>,
    ) -> Result<()> {
        let _changes = lock(&CHANNEL_CHANGES);
        let mut state = self.channel(name)?;
        self.update(&delivery_name(name), None, change_definition)?;
        change_channel(&mut state.channel);
        self.inner
            .log
            .put_property(CHANNELS, name, state.channel.encode())?;
        Ok(())
    }

    /// Deletes a channel: its delivery stream, then its record (blocking: writes the
    /// catalog). Objects already delivered stay.
    pub fn delete_channel(&self, name: &str) -> Result<()> {
        let _changes = lock(&CHANNEL_CHANGES);
        self.delete(&delivery_name(name))?;
        self.inner.log.delete_property(CHANNELS, name)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_records_round_trip_through_their_property() {
        let channel = Channel {
            name: "c".into(),
            id: "0123".into(),
            record_format: "BYTE_ARRAY".into(),
            schema_arn: None,
            bucket_owner: "000000000000".into(),
            storage_class: Some("STANDARD".into()),
            dead_letter_bucket_arn: "arn:aws:s3:::dlq".into(),
            dead_letter_owner: "000000000000".into(),
            encryption: Some(("KMS".into(), "key\twith tab".into())),
            logging_enabled: true,
            log_group: Some("g".into()),
            log_stream: None,
            tags: [("team".to_owned(), "a\nb".to_owned())]
                .into_iter()
                .collect(),
        };
        assert_eq!(Channel::decode("c", &channel.encode()), Some(channel));
    }

    #[test]
    fn damaged_channel_records_are_refused_not_panicked_on() {
        assert_eq!(Channel::decode("c", b"\xff"), None);
        assert_eq!(Channel::decode("c", b"no tab\n"), None);
        assert_eq!(Channel::decode("c", b"id\tx\n"), None);
    }

    #[test]
    fn channel_delivery_streams_cannot_be_named_through_firehose() {
        assert!(is_channel(&delivery_name("c")));
        assert!(!is_channel("c"));
    }
}
