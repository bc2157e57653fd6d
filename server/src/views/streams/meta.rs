//! A stream's Kinesis settings, kept as properties in the log (namespace
//! `kinesis.stream/<name>`), one key per setting, hand-encoded as UTF-8 text.
//!
//! | key | value |
//! |---|---|
//! | `mode` | `PROVISIONED` or `ON_DEMAND` |
//! | `max_record_kib` | decimal |
//! | `encryption_key` | the KMS key id while encryption is on |
//! | `metrics` | enabled shard-level metric names, comma-separated |
//! | `warm_throughput_mibps` | decimal |
//! | `policy` | the resource policy document |
//! | `tag:<key>` | the tag's value |

use std::collections::{BTreeMap, BTreeSet};

use storage::Log;

use super::error::{Error, Result};

/// Capacity mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Shards are managed by the user.
    #[default]
    Provisioned,
    /// Capacity is managed by the server.
    OnDemand,
}

impl Mode {
    /// The AWS name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisioned => "PROVISIONED",
            Self::OnDemand => "ON_DEMAND",
        }
    }

    /// Parses the AWS name.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "PROVISIONED" => Some(Self::Provisioned),
            "ON_DEMAND" => Some(Self::OnDemand),
            _ => None,
        }
    }
}

/// A stream's settings beyond what the engine's catalog holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamMeta {
    /// Capacity mode.
    pub mode: Mode,
    /// Largest record (partition key + data), KiB.
    pub max_record_kib: u32,
    /// The KMS key id while server-side encryption is on.
    pub encryption_key: Option<String>,
    /// Enabled shard-level metrics.
    pub metrics: BTreeSet<String>,
    /// Recorded warm throughput, MiB/s.
    pub warm_throughput_mibps: Option<u32>,
    /// The resource policy document.
    pub policy: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl Default for StreamMeta {
    fn default() -> Self {
        Self {
            mode: Mode::Provisioned,
            max_record_kib: protocol::aws::kinesis::limits::RECORD_KIB_DEFAULT,
            encryption_key: None,
            metrics: BTreeSet::new(),
            warm_throughput_mibps: None,
            policy: None,
            tags: BTreeMap::new(),
        }
    }
}

/// The property namespace of a stream's settings.
pub fn namespace(stream: &str) -> String {
    format!("kinesis.stream/{stream}")
}

fn text(value: &[u8]) -> String {
    String::from_utf8_lossy(value).into_owned()
}

impl StreamMeta {
    /// Loads a stream's settings (defaults for any key not stored).
    pub fn load(log: &Log, stream: &str) -> Self {
        let mut meta = Self::default();
        for (key, value) in log.properties(&namespace(stream)) {
            let value = text(&value);
            match key.as_str() {
                "mode" => meta.mode = Mode::parse(&value).unwrap_or_default(),
                "max_record_kib" => {
                    meta.max_record_kib = value.parse().unwrap_or(meta.max_record_kib);
                }
                "encryption_key" => meta.encryption_key = Some(value),
                "metrics" => {
                    meta.metrics = value
                        .split(',')
                        .filter(|name| !name.is_empty())
                        .map(str::to_owned)
                        .collect();
                }
                "warm_throughput_mibps" => meta.warm_throughput_mibps = value.parse().ok(),
                "policy" => meta.policy = Some(value),
                other => {
                    if let Some(tag) = other.strip_prefix("tag:") {
                        meta.tags.insert(tag.to_owned(), value);
                    }
                }
            }
        }
        meta
    }

    /// The stored form of every setting that differs from the default, as (key, value).
    fn entries(&self) -> Vec<(String, Option<String>)> {
        let mut entries = vec![
            ("mode".to_owned(), Some(self.mode.as_str().to_owned())),
            (
                "max_record_kib".to_owned(),
                Some(self.max_record_kib.to_string()),
            ),
            ("encryption_key".to_owned(), self.encryption_key.clone()),
            (
                "metrics".to_owned(),
                (!self.metrics.is_empty())
                    .then(|| self.metrics.iter().cloned().collect::<Vec<_>>().join(",")),
            ),
            (
                "warm_throughput_mibps".to_owned(),
                self.warm_throughput_mibps.map(|v| v.to_string()),
            ),
            ("policy".to_owned(), self.policy.clone()),
        ];
        entries.extend(
            self.tags
                .iter()
                .map(|(key, value)| (format!("tag:{key}"), Some(value.clone()))),
        );
        entries
    }

    /// Stores what changed from `before` to `self` (blocking: each change is a journal entry).
    pub fn save(&self, log: &Log, stream: &str, before: &Self) -> Result<()> {
        let namespace = namespace(stream);
        let old: BTreeMap<String, Option<String>> = before.entries().into_iter().collect();
        let new: BTreeMap<String, Option<String>> = self.entries().into_iter().collect();
        for (key, value) in &new {
            if old.get(key) != Some(value) {
                match value {
                    Some(value) => log.put_property(&namespace, key, value.clone().into_bytes()),
                    None => log.delete_property(&namespace, key),
                }
                .map_err(|error| Error::internal(&error))?;
            }
        }
        for key in old.keys().filter(|key| !new.contains_key(*key)) {
            log.delete_property(&namespace, key)
                .map_err(|error| Error::internal(&error))?;
        }
        Ok(())
    }

    /// Deletes every stored setting of a stream.
    pub fn delete_all(log: &Log, stream: &str) -> Result<()> {
        let namespace = namespace(stream);
        for (key, _) in log.properties(&namespace) {
            log.delete_property(&namespace, &key)
                .map_err(|error| Error::internal(&error))?;
        }
        Ok(())
    }
}
