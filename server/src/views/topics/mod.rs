//! SNS semantics on the log: topics, subscriptions, publishing and fan-out.
//!
//! # Layout
//!
//! - A topic is an engine stream `sns:<name>` owned by [`OWNER`], with one shard: its
//!   records are the published messages ([`model::PublishedMessage`], one record each; a
//!   batch is one append), so a publish is acknowledged once the message is in the log
//!   under the log's `fsync` setting, and the topic is its own archive.
//! - The stream's keyed state holds, under these keys:
//!   - `c`: the configuration ([`model::TopicConfig`]);
//!   - `s/<id>`: each subscription ([`model::SubscriptionRecord`]);
//!   - `f`: the fan-out cursor ([`model::FanoutCursor`]);
//!   - `h/<id>/<offset u64 BE>`: deliveries to HTTP/S endpoints not yet done
//!     ([`model::PendingDelivery`]: attempts so far, when the next is due).
//! - In memory, per topic: the subscriptions with their filter policies compiled into two
//!   [`crate::filter::Matcher`]s (one per scope), rebuilt on every subscription change, so
//!   a changed policy applies to the next message fanned out; the FIFO deduplication ids of
//!   the last five minutes (rebuilt at open from the records of that window, which carry
//!   them); the pending HTTP deliveries by due time.
//!
//! # Fan-out ([`fanout`])
//!
//! One task per topic reads the records from the cursor, matches each message once against
//! the compiled policies (the cost does not grow with the number of subscriptions that do
//! not match), and hands it to every matching, confirmed subscription:
//! - queue subscriptions: appended to the queue through [`Queues::send`], under a message
//!   id derived from the subscription and the offset;
//! - delivery-stream subscriptions: put into the delivery stream;
//! - HTTP/S subscriptions: a pending delivery `h/…`, written in the same state change that
//!   moves the cursor past the batch; the delivery task ([`http`]) makes the attempts.
//!
//! A crash between a queue append and the cursor's move leaves both the message in the
//! queue and the cursor before it. At open, the first round re-reads the queues' messages
//! since the cursor last moved and skips every message id already there, so a queue gets
//! each message exactly once.
//!
//! # Time
//!
//! Every timestamp and due time reads the engine clock ([`storage::Log::now_ms`]); the
//! delivery task sleeps until the next due time by that clock or until
//! [`Topics::clock_moved`], so tests drive retry schedules with a manual clock.

mod error;
mod fanout;
mod http;
pub mod model;
pub mod platform;
mod replay;
pub mod signing;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use storage::{Log, NewRecord, Owner, ReadLimits, State, StateChange, StreamInfo};
use tokio::sync::Notify;

pub use self::error::{Error, Result};
use self::model::{PendingDelivery, PublishedMessage};
pub use self::model::{Protocol, StoredAttribute, SubscriptionRecord, TopicConfig};
pub use self::signing::{SignatureVersion, SigningKeys};
use crate::filter::{Dialect, Matcher, Policy, Scope};
use crate::views::delivery::DeliveryStreams;
use crate::views::queues::{MessageId, Queues};

/// The owner of the engine streams this view serves.
pub const OWNER: Owner = Owner::from_static("sns");

/// Engine stream names of topics start with this.
const STREAM_PREFIX: &str = "sns:";

/// How long a topic's records are kept when it has no archive policy: long enough for every
/// retry schedule (at most an hour) and for replays of the last days.
const RETENTION_DEFAULT: Duration = Duration::from_secs(7 * 24 * 3600);

/// FIFO deduplication window.
pub const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;

/// How long a confirmation token stays valid (AWS: two days... three in practice).
const TOKEN_VALID_MS: i64 = 3 * 24 * 3600 * 1000;

const CONFIG_KEY: &[u8] = b"c";
const CURSOR_KEY: &[u8] = b"f";
const SUBSCRIPTION_PREFIX: &[u8] = b"s/";
const PENDING_PREFIX: &[u8] = b"h/";
/// `u/<token>`: an HTTP/S subscription unsubscribed less than 3 days ago, restored by
/// ConfirmSubscription with the token of its `UnsubscribeConfirmation`.
const UNSUBSCRIBED_PREFIX: &[u8] = b"u/";

/// An unsubscribed HTTP/S subscription, kept for its `UnsubscribeConfirmation`'s token.
#[derive(serde::Serialize, serde::Deserialize)]
struct Unsubscribed {
    record: SubscriptionRecord,
    unsubscribed_ms: i64,
}

fn unsubscribed_key(token: &str) -> Vec<u8> {
    let mut key = UNSUBSCRIBED_PREFIX.to_vec();
    key.extend_from_slice(token.as_bytes());
    key
}

/// One read of the log while fanning out or rebuilding.
const READ_LIMITS: ReadLimits = ReadLimits {
    records_max: 256,
    bytes_max: 4 << 20,
};

/// Whether an engine stream is a topic's.
#[must_use]
pub fn is_topic(info: &StreamInfo) -> bool {
    info.owner == OWNER
}

/// The view's settings.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Region of the ARNs.
    pub region: String,
    /// Account of the ARNs.
    pub account: String,
    /// The base URL endpoints reach this server at, for `SigningCertURL`, `SubscribeURL`
    /// and `UnsubscribeURL` (`http://127.0.0.1:4566`).
    pub base_url: String,
    /// How long an HTTP delivery attempt may take.
    pub http_timeout: Duration,
}

/// A message to publish.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewPublish {
    /// The message (with `MessageStructure=json`, its `default`).
    pub message: String,
    /// `MessageStructure=json`: the text per protocol.
    pub per_protocol: BTreeMap<String, String>,
    /// Subject.
    pub subject: Option<String>,
    /// Message attributes (checked by the API layer).
    pub attributes: Vec<StoredAttribute>,
    /// Message group.
    pub group: Option<String>,
    /// FIFO deduplication id.
    pub dedup: Option<String>,
}

/// What a publish stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The message id (a duplicate's is the original's).
    pub message_id: String,
    /// FIFO topics: the sequence number.
    pub sequence_number: Option<String>,
}

/// A topic as GetTopicAttributes describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicInfo {
    /// Its name.
    pub name: String,
    /// Its configuration.
    pub config: TopicConfig,
    /// Confirmed subscriptions.
    pub confirmed: usize,
    /// Subscriptions waiting for confirmation.
    pub pending: usize,
    /// Subscriptions deleted (always 0: a deleted subscription is gone at once).
    pub deleted: usize,
    /// The time of its oldest retained message, ms (its archive's beginning).
    pub oldest_ms: Option<i64>,
}

/// A subscription with the topic it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionInfo {
    /// The topic's name.
    pub topic: String,
    /// The subscription.
    pub record: SubscriptionRecord,
}

/// The topics view.
#[derive(Clone)]
pub struct Topics {
    inner: Arc<Inner>,
}

struct Inner {
    log: Log,
    settings: Settings,
    queues: Queues,
    delivery: DeliveryStreams,
    keys: SigningKeys,
    http: reqwest::Client,
    /// Every topic, by name.
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    /// Creates and deletes one at a time.
    lifecycle: tokio::sync::Mutex<()>,
}

/// One topic.
struct Topic {
    name: String,
    stream: String,
    state: State,
    config: Mutex<TopicConfig>,
    routing: RwLock<Arc<Routing>>,
    /// Serializes the topic's state changes (configuration, subscriptions, cursor).
    writer: tokio::sync::Mutex<()>,
    /// FIFO: publishes one at a time (order and deduplication).
    publishing: tokio::sync::Mutex<()>,
    dedup: Mutex<HashMap<[u8; 32], Dedup>>,
    /// Pending HTTP deliveries by (due, subscription, offset).
    pending: Mutex<BTreeMap<(i64, String, u64), PendingDelivery>>,
    /// Wakes the delivery task (a new pending delivery, a moved clock).
    deliveries: Notify,
    /// Wakes the fan-out task (a new subscription, a moved clock, a deletion).
    fanout: Notify,
    deleted: AtomicBool,
}

#[derive(Clone, Debug)]
struct Dedup {
    message_id: String,
    offset: u64,
    expires_ms: i64,
}

/// The subscriptions of a topic as the fan-out sees them.
#[derive(Default)]
struct Routing {
    subscriptions: BTreeMap<String, Arc<SubscriptionRecord>>,
    /// The confirmed subscriptions in id order; the matchers and `unfiltered` name them by
    /// position, so matching a message compares no ids.
    confirmed: Vec<Arc<SubscriptionRecord>>,
    attributes: Matcher<usize>,
    body: Matcher<usize>,
    /// Positions of the confirmed subscriptions without a filter policy, ascending.
    unfiltered: Vec<usize>,
}

impl Routing {
    fn new(subscriptions: BTreeMap<String, Arc<SubscriptionRecord>>) -> Self {
        let mut routing = Self {
            subscriptions: BTreeMap::new(),
            confirmed: Vec::new(),
            attributes: Matcher::new(),
            body: Matcher::new(),
            unfiltered: Vec::new(),
        };
        for (id, subscription) in &subscriptions {
            if subscription.pending {
                continue;
            }
            let position = routing.confirmed.len();
            match filter_policy(subscription) {
                Ok(None) => routing.unfiltered.push(position),
                Ok(Some(policy)) => match policy.scope() {
                    Scope::MessageAttributes => routing.attributes.insert(position, &policy),
                    Scope::MessageBody => routing.body.insert(position, &policy),
                },
                Err(error) => {
                    tracing::warn!(subscription = id, %error, "Stored filter policy does not parse; nothing matches it");
                }
            }
            routing.confirmed.push(subscription.clone());
        }
        routing.subscriptions = subscriptions;
        routing
    }

    /// How many confirmed subscriptions there are.
    fn confirmed_count(&self) -> usize {
        self.confirmed.len()
    }

    /// The confirmed subscriptions a message goes to, in id order.
    fn matching(&self, message: &PublishedMessage) -> Vec<Arc<SubscriptionRecord>> {
        let mut positions = self.unfiltered.clone();
        if !self.attributes.is_empty() {
            // Filter policies ignore Binary attributes, as SNS's do: such a key is absent.
            let fields = crate::filter::Fields::from_attributes(
                message
                    .attributes
                    .iter()
                    .filter(|attribute| !attribute.data_type.starts_with("Binary"))
                    .map(|attribute| {
                        (
                            attribute.name.as_str(),
                            attribute.data_type.as_str(),
                            attribute.text.as_deref().unwrap_or_default(),
                        )
                    }),
            );
            positions.extend(self.attributes.matches(&fields));
        }
        if !self.body.is_empty()
            && let Some(fields) = crate::filter::Fields::from_json_body(&message.message)
        {
            positions.extend(self.body.matches(&fields));
        }
        positions.sort_unstable();
        positions.dedup();
        positions
            .into_iter()
            .filter_map(|position| self.confirmed.get(position).cloned())
            .collect()
    }
}

/// A subscription's filter policy, parsed (`None`: it has none).
fn filter_policy(subscription: &SubscriptionRecord) -> Result<Option<Policy>, String> {
    let Some(text) = subscription.attributes.get("FilterPolicy") else {
        return Ok(None);
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let scope = match subscription
        .attributes
        .get("FilterPolicyScope")
        .map(String::as_str)
    {
        Some("MessageBody") => Scope::MessageBody,
        _ => Scope::MessageAttributes,
    };
    Policy::parse(text, scope, Dialect::Sns)
        .map(Some)
        .map_err(|error| policy_error_text(&error))
}

/// The text after "Invalid parameter: " of a policy SNS refuses.
fn policy_error_text(error: &crate::filter::PolicyError) -> String {
    if error.names_filter_policy() {
        format!("FilterPolicy: {error}")
    } else {
        error.to_string()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn storage_error(error: &storage::Error) -> Error {
    Error::internal(error)
}

fn subscription_key(id: &str) -> Vec<u8> {
    let mut key = SUBSCRIPTION_PREFIX.to_vec();
    key.extend_from_slice(id.as_bytes());
    key
}

fn pending_key(id: &str, offset: u64) -> Vec<u8> {
    let mut key = PENDING_PREFIX.to_vec();
    key.extend_from_slice(id.as_bytes());
    key.push(b'/');
    key.extend_from_slice(&offset.to_be_bytes());
    key
}

fn pending_prefix(id: &str) -> Vec<u8> {
    let mut key = PENDING_PREFIX.to_vec();
    key.extend_from_slice(id.as_bytes());
    key.push(b'/');
    key
}

fn json<T: serde::Serialize>(value: &T) -> Bytes {
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

/// A fresh random id in UUID form.
fn uuid() -> String {
    MessageId::random().to_string()
}

/// The deduplication key of id `id` of a message of `group`.
fn dedup_hash(per_group: bool, group: &str, id: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    if per_group {
        hasher.update(b"g\0");
        hasher.update(group.as_bytes());
        hasher.update(b"\0");
    } else {
        hasher.update(b"t\0");
    }
    hasher.update(id.as_bytes());
    hasher.finalize().into()
}

/// A FIFO message's sequence number: the offset plus 10^19, in decimal.
#[must_use]
pub fn sequence_number(offset: u64) -> String {
    crate::views::queues::sequence_number(offset)
}

impl Topics {
    /// Opens the view on `log`: loads every topic (blocking: it reads the log) and starts
    /// each topic's fan-out and delivery tasks on the current runtime.
    pub fn open(
        log: Log,
        settings: Settings,
        queues: Queues,
        delivery: DeliveryStreams,
    ) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(settings.http_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Amazon Simple Notification Service Agent")
            .build()
            .map_err(|error| Error::Internal(format!("HTTP client: {error}")))?;
        let view = Self {
            inner: Arc::new(Inner {
                keys: SigningKeys::new(log.clone()),
                log,
                settings,
                queues,
                delivery,
                http,
                topics: RwLock::new(BTreeMap::new()),
                lifecycle: tokio::sync::Mutex::new(()),
            }),
        };
        for info in view.inner.log.list_streams() {
            if !is_topic(&info) {
                continue;
            }
            let Some(name) = info.name.strip_prefix(STREAM_PREFIX).map(str::to_string) else {
                continue;
            };
            match view.load(&name, &info) {
                Ok(Some(topic)) => {
                    view.inner
                        .topics
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(name, topic.clone());
                    view.start(&topic, true);
                }
                Ok(None) => {
                    tracing::warn!(
                        topic = name,
                        "Topic without a configuration (an interrupted create); deleted"
                    );
                    if let Err(error) = view.inner.log.delete_stream(&info.name) {
                        tracing::warn!(topic = name, %error, "Could not delete a half-made topic");
                    }
                }
                Err(error) => {
                    tracing::error!(topic = name, %error, "Topic not loaded; it is not served");
                }
            }
        }
        Ok(view)
    }

    fn load(&self, name: &str, info: &StreamInfo) -> Result<Option<Arc<Topic>>> {
        let log = &self.inner.log;
        let state = log
            .create_state(&info.name)
            .map_err(|e| storage_error(&e))?;
        let Some(bytes) = state.get(CONFIG_KEY).map_err(|e| storage_error(&e))? else {
            return Ok(None);
        };
        let config: TopicConfig = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Internal(format!("topic {name}: configuration: {e}")))?;
        let mut subscriptions = BTreeMap::new();
        for (_, value) in state
            .scan(SUBSCRIPTION_PREFIX)
            .map_err(|e| storage_error(&e))?
        {
            let record: SubscriptionRecord = serde_json::from_slice(&value)
                .map_err(|e| Error::Internal(format!("topic {name}: subscription: {e}")))?;
            subscriptions.insert(record.id.clone(), Arc::new(record));
        }
        let mut pending = BTreeMap::new();
        for (key, value) in state.scan(PENDING_PREFIX).map_err(|e| storage_error(&e))? {
            let Some(rest) = key.get(PENDING_PREFIX.len()..) else {
                continue;
            };
            let Some(split) = rest.len().checked_sub(9) else {
                continue;
            };
            let (id, offset) = rest.split_at(split);
            let (Ok(id), Some(offset)) = (
                std::str::from_utf8(id),
                offset
                    .get(1..)
                    .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok()),
            ) else {
                continue;
            };
            let Ok(delivery) = serde_json::from_slice::<PendingDelivery>(&value) else {
                continue;
            };
            pending.insert(
                (delivery.due_ms, id.to_owned(), u64::from_be_bytes(offset)),
                delivery,
            );
        }
        let topic = Arc::new(Topic {
            name: name.to_owned(),
            stream: info.name.clone(),
            state,
            routing: RwLock::new(Arc::new(Routing::new(subscriptions))),
            config: Mutex::new(config),
            writer: tokio::sync::Mutex::new(()),
            publishing: tokio::sync::Mutex::new(()),
            dedup: Mutex::new(HashMap::new()),
            pending: Mutex::new(pending),
            deliveries: Notify::new(),
            fanout: Notify::new(),
            deleted: AtomicBool::new(false),
        });
        if lock(&topic.config).fifo() {
            self.rebuild_dedup(&topic)?;
        }
        Ok(Some(topic))
    }

    /// Reads the deduplication ids of the last window from the records.
    fn rebuild_dedup(&self, topic: &Topic) -> Result<()> {
        let log = &self.inner.log;
        let now = log.now_ms();
        let per_group = lock(&topic.config).dedup_per_group();
        let mut from = log
            .offset_for_timestamp(&topic.stream, 0, now - DEDUP_WINDOW_MS)
            .map_err(|e| storage_error(&e))?;
        let end = log
            .shard_bounds(&topic.stream, 0)
            .map_err(|e| storage_error(&e))?
            .next;
        let mut dedup = lock(&topic.dedup);
        while from < end {
            let batch = match log.read(&topic.stream, 0, from, READ_LIMITS) {
                Ok(batch) => batch,
                Err(storage::Error::Trimmed { .. }) => {
                    from = log
                        .shard_bounds(&topic.stream, 0)
                        .map_err(|e| storage_error(&e))?
                        .earliest;
                    continue;
                }
                Err(error) => return Err(storage_error(&error)),
            };
            if batch.records.is_empty() {
                break;
            }
            for record in &batch.records {
                let Ok(message) = PublishedMessage::decode(&record.data) else {
                    continue;
                };
                if let Some(id) = &message.dedup {
                    let group = message.group.as_deref().unwrap_or_default();
                    dedup.insert(
                        dedup_hash(per_group, group, id),
                        Dedup {
                            message_id: message.id.clone(),
                            offset: record.offset,
                            expires_ms: message.ms + DEDUP_WINDOW_MS,
                        },
                    );
                }
            }
            from = batch.next_offset;
        }
        Ok(())
    }

    /// Starts a topic's fan-out and delivery tasks (`recovering`: after a restart, the
    /// first fan-out round checks the queues for messages already delivered).
    fn start(&self, topic: &Arc<Topic>, recovering: bool) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                topic = topic.name,
                "No runtime: the topic's deliveries do not run"
            );
            return;
        };
        runtime.spawn(fanout::run(self.clone(), topic.clone(), recovering));
        runtime.spawn(http::run(self.clone(), topic.clone()));
        if recovering {
            let _entered = runtime.enter();
            self.resume_replays(topic);
        }
    }

    /// The engine clock moved (a manual test clock): due deliveries run now.
    pub fn clock_moved(&self) {
        for topic in self.topics_snapshot() {
            topic.deliveries.notify_one();
            topic.fanout.notify_one();
        }
    }

    fn topics_snapshot(&self) -> Vec<Arc<Topic>> {
        self.inner
            .topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// The view's settings.
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The signing keys (for the certificate route).
    #[must_use]
    pub fn signing_keys(&self) -> &SigningKeys {
        &self.inner.keys
    }

    /// The ARN of topic `name`.
    #[must_use]
    pub fn topic_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:sns:{}:{}:{name}",
            self.inner.settings.region, self.inner.settings.account
        )
    }

    /// The ARN of subscription `id` of topic `name`.
    #[must_use]
    pub fn subscription_arn(&self, topic: &str, id: &str) -> String {
        format!("{}:{id}", self.topic_arn(topic))
    }

    /// The engine clock.
    #[must_use]
    pub fn now_ms(&self) -> i64 {
        self.inner.log.now_ms()
    }

    fn topic(&self, name: &str) -> Result<Arc<Topic>> {
        self.inner
            .topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| Error::TopicNotFound(name.to_owned()))
    }

    /// Creates a topic; idempotent when it exists with the same attributes (`attributes`
    /// are validated by the caller, `tags` are added to an existing topic's).
    pub async fn create(
        &self,
        name: &str,
        attributes: BTreeMap<String, String>,
        tags: BTreeMap<String, String>,
    ) -> Result<()> {
        let _lifecycle = self.inner.lifecycle.lock().await;
        if let Ok(topic) = self.topic(name) {
            let same = {
                let config = lock(&topic.config);
                attributes
                    .iter()
                    .all(|(key, value)| config.attributes.get(key) == Some(value))
            };
            if !same {
                return Err(Error::InvalidParameter(
                    "Attributes Reason: Topic already exists with different attributes".into(),
                ));
            }
            if !tags.is_empty() {
                self.tag(name, tags).await?;
            }
            return Ok(());
        }
        let config = TopicConfig {
            attributes,
            tags,
            created_ms: self.now_ms(),
        };
        let stream = format!("{STREAM_PREFIX}{name}");
        let retention = retention_of(&config);
        let log = self.inner.log.clone();
        let info = {
            let stream = stream.clone();
            tokio::task::spawn_blocking(move || {
                let info = log.create_stream(&stream, 1, retention, OWNER)?;
                log.create_state(&stream).map(|state| (info, state))
            })
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .map_err(|e| storage_error(&e))?
        };
        let (info, state) = info;
        state
            .change(vec![StateChange::put(CONFIG_KEY.to_vec(), json(&config))])
            .await
            .map_err(|e| storage_error(&e))?;
        let topic = Arc::new(Topic {
            name: name.to_owned(),
            stream: info.name.clone(),
            state,
            routing: RwLock::new(Arc::new(Routing::default())),
            config: Mutex::new(config),
            writer: tokio::sync::Mutex::new(()),
            publishing: tokio::sync::Mutex::new(()),
            dedup: Mutex::new(HashMap::new()),
            pending: Mutex::new(BTreeMap::new()),
            deliveries: Notify::new(),
            fanout: Notify::new(),
            deleted: AtomicBool::new(false),
        });
        self.inner
            .topics
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_owned(), topic.clone());
        self.start(&topic, false);
        Ok(())
    }

    /// Deletes a topic with its subscriptions and messages (a topic that does not exist is
    /// no error, as in SNS).
    pub async fn delete_topic(&self, name: &str) -> Result<()> {
        let _lifecycle = self.inner.lifecycle.lock().await;
        let Some(topic) = self
            .inner
            .topics
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name)
        else {
            return Ok(());
        };
        topic.deleted.store(true, Ordering::SeqCst);
        topic.fanout.notify_one();
        topic.deliveries.notify_one();
        let log = self.inner.log.clone();
        let stream = topic.stream.clone();
        tokio::task::spawn_blocking(move || log.delete_stream(&stream))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .map_err(|e| storage_error(&e))
    }

    /// Every topic's name, sorted.
    #[must_use]
    pub fn list(&self) -> Vec<String> {
        self.inner
            .topics
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    /// A topic's configuration and counts.
    pub fn info(&self, name: &str) -> Result<TopicInfo> {
        let topic = self.topic(name)?;
        let config = lock(&topic.config).clone();
        let routing = topic.routing();
        let pending = routing
            .subscriptions
            .values()
            .filter(|subscription| subscription.pending)
            .count();
        let oldest_ms = self
            .inner
            .log
            .read(
                &topic.stream,
                0,
                self.earliest(&topic),
                ReadLimits {
                    records_max: 1,
                    bytes_max: 1 << 20,
                },
            )
            .ok()
            .and_then(|batch| batch.records.first().map(|record| record.timestamp_ms));
        Ok(TopicInfo {
            name: topic.name.clone(),
            config,
            confirmed: routing.subscriptions.len() - pending,
            pending,
            deleted: 0,
            oldest_ms,
        })
    }

    fn earliest(&self, topic: &Topic) -> u64 {
        self.inner
            .log
            .shard_bounds(&topic.stream, 0)
            .map_or(0, |bounds| bounds.earliest)
    }

    /// Sets topic attributes (validated by the caller; an empty value removes one).
    pub async fn set_attributes(
        &self,
        name: &str,
        changes: BTreeMap<String, String>,
    ) -> Result<()> {
        let topic = self.topic(name)?;
        self.change_config(&topic, |config| {
            for (key, value) in changes {
                if value.is_empty() && key != "DisplayName" {
                    config.attributes.remove(&key);
                } else {
                    config.attributes.insert(key, value);
                }
            }
        })
        .await?;
        let retention = retention_of(&lock(&topic.config));
        if let Err(error) = self.inner.log.set_retention(&topic.stream, retention) {
            tracing::warn!(topic = name, %error, "Topic retention not changed");
        }
        Ok(())
    }

    /// A topic's tags.
    pub fn tags(&self, name: &str) -> Result<BTreeMap<String, String>> {
        Ok(lock(&self.topic(name)?.config).tags.clone())
    }

    /// Adds or replaces tags.
    pub async fn tag(&self, name: &str, tags: BTreeMap<String, String>) -> Result<()> {
        let topic = self.topic(name)?;
        self.change_config(&topic, |config| config.tags.extend(tags))
            .await
    }

    /// Removes tags.
    pub async fn untag(&self, name: &str, keys: &[String]) -> Result<()> {
        let topic = self.topic(name)?;
        self.change_config(&topic, |config| {
            for key in keys {
                config.tags.remove(key);
            }
        })
        .await
    }

    async fn change_config(
        &self,
        topic: &Topic,
        edit: impl FnOnce(&mut TopicConfig),
    ) -> Result<()> {
        let _writer = topic.writer.lock().await;
        let mut config = lock(&topic.config).clone();
        edit(&mut config);
        topic
            .state
            .change(vec![StateChange::put(CONFIG_KEY.to_vec(), json(&config))])
            .await
            .map_err(|e| storage_error(&e))?;
        *lock(&topic.config) = config;
        Ok(())
    }

    // ---- subscriptions ----------------------------------------------------------------

    /// Subscribes `endpoint` with `protocol`; an identical subscription (same protocol,
    /// endpoint and attributes) is returned as it is. Queue and delivery-stream
    /// subscriptions are confirmed at once; HTTP/S ones are sent a confirmation request.
    pub async fn subscribe(
        &self,
        topic_name: &str,
        protocol: Protocol,
        endpoint: &str,
        attributes: BTreeMap<String, String>,
    ) -> Result<SubscriptionRecord> {
        let topic = self.topic(topic_name)?;
        if let Some(policy) = attributes.get("FilterPolicy") {
            let scope = match attributes.get("FilterPolicyScope").map(String::as_str) {
                Some("MessageBody") => Scope::MessageBody,
                _ => Scope::MessageAttributes,
            };
            Policy::parse(policy, scope, Dialect::Sns)
                .map_err(|error| Error::InvalidParameter(policy_error_text(&error)))?;
        }
        let existing = topic
            .routing()
            .subscriptions
            .values()
            .find(|subscription| {
                subscription.protocol == protocol && subscription.endpoint == endpoint
            })
            .cloned();
        if let Some(existing) = existing {
            if attributes
                .iter()
                .all(|(key, value)| existing.attributes.get(key) == Some(value))
            {
                return Ok((*existing).clone());
            }
            return Err(Error::InvalidParameter(
                "Attributes Reason: Subscription already exists with different attributes".into(),
            ));
        }
        let replay = attributes
            .get("ReplayPolicy")
            .filter(|policy| !policy.is_empty())
            .map(|policy| replay::parse_policy(policy))
            .transpose()?;
        let pending = protocol.needs_confirmation();
        let record = SubscriptionRecord {
            id: uuid(),
            protocol,
            endpoint: endpoint.to_owned(),
            attributes,
            pending,
            token: pending.then(confirmation_token),
            authenticated: false,
            created_ms: self.now_ms(),
        };
        self.store_subscription(&topic, record.clone()).await?;
        if let Some((start, end)) = replay {
            self.start_replay(&topic, &record.id, start, end).await?;
        }
        if matches!(protocol, Protocol::Http | Protocol::Https) {
            tokio::spawn(http::confirm(
                self.clone(),
                topic.name.clone(),
                record.clone(),
            ));
        }
        Ok(record)
    }

    async fn store_subscription(&self, topic: &Topic, record: SubscriptionRecord) -> Result<()> {
        let _writer = topic.writer.lock().await;
        topic
            .state
            .change(vec![StateChange::put(
                subscription_key(&record.id),
                json(&record),
            )])
            .await
            .map_err(|e| storage_error(&e))?;
        let mut subscriptions = topic.routing().subscriptions.clone();
        subscriptions.insert(record.id.clone(), Arc::new(record));
        topic.set_routing(Routing::new(subscriptions));
        topic.fanout.notify_one();
        Ok(())
    }

    /// Confirms a pending subscription by its token; an already confirmed subscription's
    /// token confirms it again.
    pub async fn confirm(
        &self,
        topic_name: &str,
        token: &str,
        authenticate_on_unsubscribe: bool,
    ) -> Result<SubscriptionRecord> {
        let topic = self.topic(topic_name)?;
        let found = topic
            .routing()
            .subscriptions
            .values()
            .find(|subscription| subscription.token.as_deref() == Some(token))
            .cloned();
        let Some(found) = found else {
            return self.restore(&topic, token).await;
        };
        if found.pending && self.now_ms() > found.created_ms + TOKEN_VALID_MS {
            return Err(Error::InvalidToken);
        }
        let mut record = (*found).clone();
        record.pending = false;
        record.authenticated |= authenticate_on_unsubscribe;
        if record != *found {
            self.store_subscription(&topic, record.clone()).await?;
        }
        Ok(record)
    }

    /// Restores an HTTP/S subscription unsubscribed less than 3 days ago, by the token of
    /// its `UnsubscribeConfirmation`.
    async fn restore(&self, topic: &Topic, token: &str) -> Result<SubscriptionRecord> {
        let key = unsubscribed_key(token);
        let kept = topic
            .state
            .get(&key)
            .map_err(|e| storage_error(&e))?
            .and_then(|bytes| serde_json::from_slice::<Unsubscribed>(&bytes).ok())
            .filter(|kept| self.now_ms() <= kept.unsubscribed_ms + TOKEN_VALID_MS)
            .ok_or(Error::InvalidToken)?;
        let mut record = kept.record;
        record.pending = false;
        record.token = Some(token.to_owned());
        let _writer = topic.writer.lock().await;
        topic
            .state
            .change(vec![
                StateChange::put(subscription_key(&record.id), json(&record)),
                StateChange::delete(key),
            ])
            .await
            .map_err(|e| storage_error(&e))?;
        let mut subscriptions = topic.routing().subscriptions.clone();
        subscriptions.insert(record.id.clone(), Arc::new(record.clone()));
        topic.set_routing(Routing::new(subscriptions));
        topic.fanout.notify_one();
        Ok(record)
    }

    /// Deletes a subscription and its pending deliveries. A confirmed HTTP/S subscription's
    /// endpoint is sent an `UnsubscribeConfirmation` whose SubscribeURL restores it (for 3
    /// days).
    pub async fn unsubscribe(&self, topic_name: &str, id: &str) -> Result<()> {
        let topic = self.topic(topic_name)?;
        let _writer = topic.writer.lock().await;
        let mut subscriptions = topic.routing().subscriptions.clone();
        let Some(removed) = subscriptions.remove(id) else {
            return Err(Error::SubscriptionNotFound(id.to_owned()));
        };
        let mut changes = vec![
            StateChange::delete(subscription_key(id)),
            StateChange::delete(replay::replay_key(id)),
        ];
        let now = self.now_ms();
        let farewell = (matches!(removed.protocol, Protocol::Http | Protocol::Https)
            && !removed.pending)
            .then(confirmation_token);
        if let Some(token) = &farewell {
            let kept = Unsubscribed {
                record: (*removed).clone(),
                unsubscribed_ms: now,
            };
            changes.push(StateChange::put(unsubscribed_key(token), json(&kept)));
            // Tokens past their 3 days go with the next unsubscribe.
            for (key, value) in topic
                .state
                .scan(UNSUBSCRIBED_PREFIX)
                .map_err(|e| storage_error(&e))?
            {
                let expired = serde_json::from_slice::<Unsubscribed>(&value)
                    .map_or(true, |kept| now > kept.unsubscribed_ms + TOKEN_VALID_MS);
                if expired {
                    changes.push(StateChange::delete(key));
                }
            }
        }
        for (key, _) in topic
            .state
            .scan(&pending_prefix(id))
            .map_err(|e| storage_error(&e))?
        {
            changes.push(StateChange::delete(key));
        }
        topic
            .state
            .change(changes)
            .await
            .map_err(|e| storage_error(&e))?;
        lock(&topic.pending).retain(|(_, sub, _), _| sub != id);
        topic.set_routing(Routing::new(subscriptions));
        if let Some(token) = farewell {
            tokio::spawn(http::unsubscribed(
                self.clone(),
                topic.name.clone(),
                (*removed).clone(),
                token,
            ));
        }
        Ok(())
    }

    /// One subscription.
    pub fn subscription(&self, topic_name: &str, id: &str) -> Result<SubscriptionRecord> {
        let topic = self.topic(topic_name)?;
        topic
            .routing()
            .subscriptions
            .get(id)
            .map(|record| (**record).clone())
            .ok_or_else(|| Error::SubscriptionNotFound(id.to_owned()))
    }

    /// Sets one subscription attribute (validated by the caller, except the filter policy,
    /// parsed here; an empty value removes it).
    pub async fn set_subscription_attribute(
        &self,
        topic_name: &str,
        id: &str,
        name: &str,
        value: &str,
    ) -> Result<()> {
        let topic = self.topic(topic_name)?;
        let mut record = self.subscription(topic_name, id)?;
        if value.is_empty() {
            record.attributes.remove(name);
        } else {
            record.attributes.insert(name.to_owned(), value.to_owned());
        }
        if name == "FilterPolicy" || name == "FilterPolicyScope" {
            filter_policy(&record).map_err(Error::InvalidParameter)?;
        }
        let replay = (name == "ReplayPolicy" && !value.is_empty())
            .then(|| replay::parse_policy(value))
            .transpose()?;
        self.store_subscription(&topic, record).await?;
        if let Some((start, end)) = replay {
            self.start_replay(&topic, id, start, end).await?;
        }
        Ok(())
    }

    /// The subscriptions of a topic, by id.
    pub fn subscriptions(&self, topic_name: &str) -> Result<Vec<SubscriptionRecord>> {
        let topic = self.topic(topic_name)?;
        Ok(topic
            .routing()
            .subscriptions
            .values()
            .map(|record| (**record).clone())
            .collect())
    }

    /// Every subscription of every topic, by topic name then id.
    #[must_use]
    pub fn all_subscriptions(&self) -> Vec<SubscriptionInfo> {
        let mut all = Vec::new();
        for topic in self.topics_snapshot() {
            for record in topic.routing().subscriptions.values() {
                all.push(SubscriptionInfo {
                    topic: topic.name.clone(),
                    record: (**record).clone(),
                });
            }
        }
        all
    }

    // ---- publishing -------------------------------------------------------------------

    /// Publishes messages as one append; each entry's outcome in order (a FIFO duplicate
    /// within the window answers the original's id and sequence number and stores
    /// nothing).
    pub async fn publish(
        &self,
        topic_name: &str,
        messages: Vec<NewPublish>,
    ) -> Result<Vec<Result<Published>>> {
        let topic = self.topic(topic_name)?;
        let (fifo, content_dedup, per_group) = {
            let config = lock(&topic.config);
            (
                config.fifo(),
                config.content_based_dedup(),
                config.dedup_per_group(),
            )
        };
        let _publishing = if fifo {
            Some(topic.publishing.lock().await)
        } else {
            None
        };
        let now = self.now_ms();
        let mut outcomes: Vec<Option<Result<Published>>> = Vec::with_capacity(messages.len());
        let mut stored: Vec<(usize, PublishedMessage, Option<[u8; 32]>)> = Vec::new();
        for message in messages {
            let mut record = PublishedMessage {
                id: uuid(),
                ms: now,
                message: message.message,
                per_protocol: message.per_protocol,
                subject: message.subject,
                attributes: message.attributes,
                group: message.group,
                dedup: None,
            };
            let mut hash = None;
            if fifo {
                let Some(group) = record.group.clone() else {
                    outcomes.push(Some(Err(Error::InvalidParameter(
                        "The MessageGroupId parameter is required for FIFO topics".into(),
                    ))));
                    continue;
                };
                let id = match (message.dedup, content_dedup) {
                    (Some(id), _) => id,
                    (None, true) => hex(&Sha256::digest(record.message.as_bytes())),
                    (None, false) => {
                        outcomes.push(Some(Err(Error::InvalidParameter(
                            "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly".into(),
                        ))));
                        continue;
                    }
                };
                let key = dedup_hash(per_group, &group, &id);
                let earlier = {
                    let mut dedup = lock(&topic.dedup);
                    dedup.retain(|_, entry| entry.expires_ms > now);
                    dedup.get(&key).cloned()
                };
                if let Some(earlier) = earlier {
                    outcomes.push(Some(Ok(Published {
                        message_id: earlier.message_id,
                        sequence_number: Some(sequence_number(earlier.offset)),
                    })));
                    continue;
                }
                if let Some((_, first, _)) = stored.iter().find(|(_, _, h)| *h == Some(key)) {
                    // A duplicate within the batch: the first entry's id (its sequence
                    // number is filled in below).
                    outcomes.push(Some(Ok(Published {
                        message_id: first.id.clone(),
                        sequence_number: None,
                    })));
                    continue;
                }
                record.dedup = Some(id);
                hash = Some(key);
            } else if message.dedup.is_some() {
                outcomes.push(Some(Err(Error::InvalidParameter(
                    "The request includes MessageDeduplicationId parameter that is not valid for this topic type".into(),
                ))));
                continue;
            }
            stored.push((outcomes.len(), record, hash));
            outcomes.push(None);
        }
        if !stored.is_empty() {
            let records = stored
                .iter()
                .map(|(_, record, _)| NewRecord {
                    key: Bytes::new(),
                    hash_key: None,
                    attributes: Bytes::new(),
                    data: record.to_bytes(),
                })
                .collect();
            let ack = self
                .inner
                .log
                .append(&topic.stream, 0, records)
                .await
                .map_err(|e| storage_error(&e))?;
            let mut dedup = lock(&topic.dedup);
            for (i, (position, record, hash)) in stored.iter().enumerate() {
                let offset = ack.first_offset + i as u64;
                if let Some(hash) = hash {
                    dedup.insert(
                        *hash,
                        Dedup {
                            message_id: record.id.clone(),
                            offset,
                            expires_ms: now + DEDUP_WINDOW_MS,
                        },
                    );
                }
                if let Some(slot) = outcomes.get_mut(*position) {
                    *slot = Some(Ok(Published {
                        message_id: record.id.clone(),
                        sequence_number: fifo.then(|| sequence_number(offset)),
                    }));
                }
            }
            // In-batch duplicates answer their first entry's sequence number.
            for outcome in outcomes.iter_mut().flatten() {
                if let Ok(published) = outcome
                    && fifo
                    && published.sequence_number.is_none()
                    && let Some(position) = stored
                        .iter()
                        .position(|(_, record, _)| record.id == published.message_id)
                {
                    published.sequence_number =
                        Some(sequence_number(ack.first_offset + position as u64));
                }
            }
        }
        Ok(outcomes
            .into_iter()
            .map(|outcome| outcome.unwrap_or_else(|| Err(Error::Internal("entry lost".into()))))
            .collect())
    }

    /// A topic's configuration (without the counts [`Topics::info`] adds).
    pub fn config(&self, name: &str) -> Result<TopicConfig> {
        Ok(lock(&self.topic(name)?.config).clone())
    }

    /// Whether topic `name` is FIFO.
    pub fn is_fifo(&self, name: &str) -> Result<bool> {
        Ok(lock(&self.topic(name)?.config).fifo())
    }
}

impl Topic {
    fn routing(&self) -> Arc<Routing> {
        self.routing
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_routing(&self, routing: Routing) {
        *self.routing.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(routing);
    }

    /// Hands recorded pending deliveries to the delivery task.
    fn add_pending(&self, entries: Vec<fanout::PendingEntry>) {
        if !entries.is_empty() {
            lock(&self.pending).extend(entries);
            self.deliveries.notify_one();
        }
    }

    fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::SeqCst)
    }
}

/// The engine retention of a topic: its archive policy's days, else the default.
fn retention_of(config: &TopicConfig) -> Duration {
    config
        .attributes
        .get("ArchivePolicy")
        .and_then(|policy| serde_json::from_str::<serde_json::Value>(policy).ok())
        .and_then(|policy| {
            let days = policy.get("MessageRetentionPeriod")?;
            days.as_u64()
                .or_else(|| days.as_str().and_then(|text| text.parse().ok()))
        })
        .filter(|days| *days > 0)
        .map_or(RETENTION_DEFAULT, |days| {
            Duration::from_secs(
                days.saturating_mul(24 * 3600)
                    .max(RETENTION_DEFAULT.as_secs()),
            )
        })
}

/// A confirmation token: 128 hex digits, as long as SNS's.
fn confirmation_token() -> String {
    let bytes: [u8; 32] = rand::random();
    let more: [u8; 32] = rand::random();
    hex(&bytes) + &hex(&more)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The message id a queue gets for the message at `offset` delivered by subscription `id`:
/// the same on every attempt, so a redelivery after a crash is recognised.
fn delivery_id(subscription: &str, offset: u64) -> MessageId {
    salted_delivery_id(subscription, "", offset)
}

/// [`delivery_id`] of the subscription id followed by `salt` (a replay's), without joining
/// them: the digest of the parts fed in turn is the digest of their concatenation.
fn salted_delivery_id(subscription: &str, salt: &str, offset: u64) -> MessageId {
    let digest = Sha256::new()
        .chain_update(subscription.as_bytes())
        .chain_update(salt.as_bytes())
        .chain_update(offset.to_be_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    MessageId(bytes)
}
