//! The fan-out task of a topic: from the cursor to the tail, each message matched once and
//! handed to every subscription it matches (see the module doc of [`super`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use md5::{Digest as _, Md5};

use super::http::{Signatures, delivery_body};
use super::model::{FanoutCursor, PendingDelivery, Protocol, PublishedMessage, SubscriptionRecord};
use super::{CURSOR_KEY, READ_LIMITS, Topic, Topics, json, pending_key, salted_delivery_id};
use crate::views::queues::{MessageId, NewMessage};
use storage::StateChange;

/// How long a failed round waits before it is tried again.
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// A crash may leave queue messages up to this long before the cursor's recorded time
/// (the cursor's time is taken after the appends it covers).
const RECOVERY_MARGIN_MS: i64 = 5_000;

/// Runs until the topic is deleted or the log closes.
pub(super) async fn run(view: Topics, topic: Arc<Topic>, recovering: bool) {
    let mut cursor = match topic.state.get(CURSOR_KEY) {
        Ok(Some(bytes)) => serde_json::from_slice::<FanoutCursor>(&bytes).unwrap_or_default(),
        Ok(None) => FanoutCursor::default(),
        Err(error) => {
            tracing::error!(topic = topic.name, %error, "Fan-out cursor unreadable; the topic does not deliver");
            return;
        }
    };
    // After a restart, messages below this offset may have reached some queues already.
    let mut recover_until = if recovering {
        view.inner
            .log
            .shard_bounds(&topic.stream, 0)
            .map_or(0, |bounds| bounds.next)
    } else {
        0
    };
    loop {
        if topic.is_deleted() {
            return;
        }
        let log = &view.inner.log;
        let bounds = match log.shard_bounds(&topic.stream, 0) {
            Ok(bounds) => bounds,
            Err(_) => return,
        };
        if cursor.next < bounds.earliest {
            cursor.next = bounds.earliest;
        }
        if cursor.next >= bounds.next {
            tokio::select! {
                result = log.wait_for(&topic.stream, 0, cursor.next, Duration::from_secs(30)) => {
                    if result.is_err() {
                        return;
                    }
                }
                () = topic.fanout.notified() => {}
            }
            continue;
        }
        match round(&view, &topic, &mut cursor, &mut recover_until).await {
            Ok(()) => {}
            Err(error) => {
                if topic.is_deleted() {
                    return;
                }
                tracing::warn!(topic = topic.name, %error, "Fan-out round failed; retrying");
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
}

/// One batch from the cursor: delivered, then the cursor moved past it.
async fn round(
    view: &Topics,
    topic: &Arc<Topic>,
    cursor: &mut FanoutCursor,
    recover_until: &mut u64,
) -> super::Result<()> {
    let log = &view.inner.log;
    let routing = topic.routing();
    let batch = match log.read(&topic.stream, 0, cursor.next, round_limits(&routing)) {
        Ok(batch) => batch,
        Err(storage::Error::Trimmed { .. }) => {
            cursor.next = log
                .shard_bounds(&topic.stream, 0)
                .map_err(|e| super::storage_error(&e))?
                .earliest;
            return Ok(());
        }
        Err(error) => return Err(super::storage_error(&error)),
    };
    let targets = |message: &PublishedMessage| routing.matching(message);
    let plan = plan(view, topic, &batch.records, &targets, "").await?;
    let recovering = (cursor.next < *recover_until).then_some(cursor.ms);
    let pending = deliver(view, topic, plan, recovering).await?;
    let now = view.now_ms();
    let (mut changes, entries) = new_pending(pending, now);
    let next = FanoutCursor {
        next: batch.next_offset,
        ms: now,
    };
    changes.push(StateChange::put(CURSOR_KEY.to_vec(), json(&next)));
    {
        let _writer = topic.writer.lock().await;
        if topic.is_deleted() {
            return Ok(());
        }
        topic
            .state
            .change(changes)
            .await
            .map_err(|e| super::storage_error(&e))?;
    }
    topic.add_pending(entries);
    *cursor = next;
    if cursor.next >= *recover_until {
        *recover_until = 0;
    }
    Ok(())
}

/// Deliveries one round plans at most (its messages times the subscriptions), so a round's
/// plan stays within some megabytes however many subscriptions a topic has.
const ROUND_DELIVERIES_MAX: usize = 100_000;
/// Messages of one round at most.
const ROUND_MESSAGES_MAX: usize = 1024;

/// How much one round reads: as many messages as keep its deliveries within
/// [`ROUND_DELIVERIES_MAX`] (at least 16, at most [`ROUND_MESSAGES_MAX`]). Bigger rounds
/// spread each queue's append, write and sync over more deliveries.
fn round_limits(routing: &super::Routing) -> storage::ReadLimits {
    let subscriptions = routing.confirmed_count().max(1);
    storage::ReadLimits {
        records_max: (ROUND_DELIVERIES_MAX / subscriptions).clamp(16, ROUND_MESSAGES_MAX),
        ..READ_LIMITS
    }
}

/// The state changes that record new pending HTTP/S deliveries, due now, with the entries
/// they give the delivery task.
pub(super) fn new_pending(
    pending: Vec<(String, u64)>,
    now: i64,
) -> (Vec<StateChange>, Vec<PendingEntry>) {
    let mut changes = Vec::with_capacity(pending.len() + 1);
    let mut entries = Vec::with_capacity(pending.len());
    for (subscription, offset) in pending {
        let delivery = PendingDelivery {
            attempts: 0,
            due_ms: now,
            first_ms: now,
        };
        changes.push(StateChange::put(
            pending_key(&subscription, offset),
            json(&delivery),
        ));
        entries.push(((now, subscription, offset), delivery));
    }
    (changes, entries)
}

/// A pending delivery by (due, subscription, offset).
pub(super) type PendingEntry = ((i64, String, u64), PendingDelivery);

/// Raw bodies at least this long are kept once for all the queues they go to
/// ([`crate::views::queues::Queues::share_bodies`]); shorter ones are no bigger than the
/// record naming them would be.
const SHARED_BODY_BYTES_MIN: usize = 64;

/// What a batch of records gives each subscription it goes to.
#[derive(Default)]
pub(super) struct Plan {
    /// Per queue subscription: its queue and its deliveries.
    to_queues: Vec<QueueDeliveries>,
    /// Each queue subscription's place in `to_queues`, by the address of its record (held
    /// there, so no other record takes that address while the plan lives): a message's
    /// deliveries find their lists without comparing ids.
    queue_slots: HashMap<usize, usize>,
    /// The messages queues get, each once however many queues get it: a raw message's, one
    /// per kind of queue (standard, FIFO); an envelope, one per subscription.
    messages: Vec<NewMessage>,
    /// Per entry of `messages`: its body's place in `shared`, if it is shared.
    shared_of: Vec<Option<usize>>,
    /// Raw bodies to keep once for every queue they go to.
    shared: Vec<Bytes>,
    /// Per delivery stream: its records, each keyed by its delivery id.
    to_streams: BTreeMap<String, Vec<(Bytes, Bytes)>>,
    /// HTTP/S deliveries to record: (subscription, offset).
    pending: Vec<(String, u64)>,
}

impl Plan {
    /// Adds a message queues get; answers its place.
    fn add_message(&mut self, message: NewMessage, shared: Option<usize>) -> usize {
        self.messages.push(message);
        self.shared_of.push(shared);
        self.messages.len() - 1
    }
}

/// A queue subscription's part of a plan.
struct QueueDeliveries {
    subscription: Arc<SubscriptionRecord>,
    queue: String,
    dead_letter: Option<String>,
    /// Per delivery: its message id and its message's place in [`Plan::messages`].
    deliveries: Vec<(MessageId, usize)>,
}

/// Plans the deliveries of `records` to the subscriptions `targets` picks for each message.
/// `salt` makes the queue message ids of a replay differ from the first delivery's.
pub(super) async fn plan(
    view: &Topics,
    topic: &Topic,
    records: &[storage::Record],
    targets: &(dyn Fn(&PublishedMessage) -> Vec<Arc<SubscriptionRecord>> + Sync),
    salt: &str,
) -> super::Result<Plan> {
    let mut plan = Plan::default();
    for record in records {
        let message = match PublishedMessage::decode(&record.data) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(topic = topic.name, offset = record.offset, %error, "Undecodable message skipped");
                continue;
            }
        };
        // What raw queue deliveries of this message share: one body and one attribute list
        // (the body's bytes are shared, not copied, by every queue's message).
        let mut raw_body: Option<(Bytes, [u8; 16], Option<usize>)> = None;
        let mut raw_attributes: Option<Arc<[crate::views::queues::MessageAttribute]>> = None;
        // Its raw message for standard queues and for FIFO queues, once made.
        let mut raw_messages: [Option<usize>; 2] = [None, None];
        // Its envelopes share one signature per protocol text.
        let mut signatures = Signatures::default();
        for subscription in targets(&message) {
            let signed = (&message, &mut signatures);
            let body = || delivery_body(view, topic, &subscription, signed, record.offset);
            match subscription.protocol {
                Protocol::Sqs => {
                    // A subscription's queue is named once per plan, not per message.
                    let address = Arc::as_ptr(&subscription) as usize;
                    let slot = match plan.queue_slots.get(&address) {
                        Some(&slot) => slot,
                        None => {
                            let Some(queue) = queue_name(&subscription.endpoint) else {
                                continue;
                            };
                            // Room for every message of the batch, so the lists never
                            // grow (each round would otherwise reallocate them per queue).
                            plan.to_queues.push(QueueDeliveries {
                                subscription: subscription.clone(),
                                queue,
                                dead_letter: subscription.dead_letter_arn(),
                                deliveries: Vec::with_capacity(records.len()),
                            });
                            let slot = plan.to_queues.len() - 1;
                            plan.queue_slots.insert(address, slot);
                            slot
                        }
                    };
                    let Some(fifo_queue) = plan
                        .to_queues
                        .get(slot)
                        .map(|deliveries| deliveries.queue.ends_with(".fifo"))
                    else {
                        continue;
                    };
                    let dedup_id = || {
                        fifo_queue
                            .then(|| message.dedup.clone().unwrap_or_else(|| message.id.clone()))
                    };
                    let raw_message = &mut raw_messages[usize::from(fifo_queue)];
                    let message_slot = match (subscription.raw(), *raw_message) {
                        (true, Some(made)) => made,
                        (true, None) => {
                            // A raw body is the same for every queue: so is its digest, and
                            // it is kept once for all of them.
                            let (body, md5, shared) = match &raw_body {
                                Some(raw) => raw.clone(),
                                None => {
                                    let text = message.text_for(Protocol::Sqs).as_bytes();
                                    let body = Bytes::copy_from_slice(text);
                                    let shared = (body.len() >= SHARED_BODY_BYTES_MIN).then(|| {
                                        plan.shared.push(body.clone());
                                        plan.shared.len() - 1
                                    });
                                    raw_body
                                        .insert((body, Md5::digest(text).into(), shared))
                                        .clone()
                                }
                            };
                            let attributes = raw_attributes
                                .get_or_insert_with(|| {
                                    message
                                        .attributes
                                        .iter()
                                        .map(super::model::StoredAttribute::to_queue_attribute)
                                        .collect()
                                })
                                .clone();
                            let new = NewMessage {
                                body,
                                body_md5: Some(md5),
                                attributes,
                                group_id: message.group.clone(),
                                dedup_id: dedup_id(),
                                ..NewMessage::default()
                            };
                            let made = plan.add_message(new, shared);
                            *raw_message = Some(made);
                            made
                        }
                        (false, _) => {
                            let new = NewMessage {
                                body: Bytes::from(body().await?),
                                group_id: message.group.clone(),
                                dedup_id: dedup_id(),
                                ..NewMessage::default()
                            };
                            plan.add_message(new, None)
                        }
                    };
                    let id = salted_delivery_id(&subscription.id, salt, record.offset);
                    if let Some(deliveries) = plan.to_queues.get_mut(slot) {
                        deliveries.deliveries.push((id, message_slot));
                    }
                }
                Protocol::Firehose => {
                    let Some(stream) = delivery_stream_name(&subscription.endpoint) else {
                        continue;
                    };
                    let id = salted_delivery_id(&subscription.id, salt, record.offset);
                    plan.to_streams.entry(stream).or_default().push((
                        Bytes::copy_from_slice(&id.0),
                        Bytes::from(body().await? + "\n"),
                    ));
                }
                Protocol::Http | Protocol::Https => {
                    plan.pending.push((subscription.id.clone(), record.offset));
                }
                Protocol::Lambda
                | Protocol::Email
                | Protocol::EmailJson
                | Protocol::Sms
                | Protocol::Application => {}
            }
        }
    }
    Ok(plan)
}

/// Makes a plan's queue and delivery-stream deliveries; returns its HTTP/S deliveries, to
/// be recorded. `recovering_since`: after a restart, the time the cursor last moved; queue
/// messages already there since then are not sent again.
pub(super) async fn deliver(
    view: &Topics,
    topic: &Topic,
    plan: Plan,
    recovering_since: Option<i64>,
) -> super::Result<Vec<(String, u64)>> {
    let shared =
        view.inner
            .queues
            .share_bodies(&plan.shared)
            .await
            .map_err(|error| match error {
                crate::views::queues::Error::StorageFull => super::Error::StorageFull,
                error => super::Error::Internal(error.to_string()),
            })?;
    let mut messages = plan.messages;
    for (message, slot) in messages.iter_mut().zip(&plan.shared_of) {
        message.shared_body = slot.and_then(|slot| shared.get(slot).copied());
    }
    // Every queue's append of the round is in the commit queue at once, so they share one
    // commit round (and fsync) instead of waiting for one another.
    let mut sends = Vec::with_capacity(plan.to_queues.len());
    for deliveries in plan.to_queues {
        let QueueDeliveries {
            subscription,
            queue,
            dead_letter,
            deliveries,
        } = deliveries;
        let mut copies: Vec<(Option<MessageId>, &NewMessage)> = deliveries
            .iter()
            .filter_map(|&(id, slot)| Some((Some(id), messages.get(slot)?)))
            .collect();
        if let Some(since) = recovering_since {
            let ids: HashSet<MessageId> = copies.iter().filter_map(|(id, _)| *id).collect();
            let present = view
                .inner
                .queues
                .present_ids(&queue, since - RECOVERY_MARGIN_MS, &ids)
                .unwrap_or_default();
            copies.retain(|(id, _)| id.is_none_or(|id| !present.contains(&id)));
        }
        if copies.is_empty() {
            continue;
        }
        sends.push(async move {
            deliver_to_queue(
                view,
                &topic.name,
                &subscription.id,
                &queue,
                dead_letter,
                &copies,
            )
            .await
        });
    }
    for outcome in futures::future::join_all(sends).await {
        outcome?;
    }
    for (stream, mut records) in plan.to_streams {
        if let Some(since) = recovering_since {
            let keys: HashSet<Bytes> = records.iter().map(|(key, _)| key.clone()).collect();
            let present = view
                .inner
                .delivery
                .present_keys(&stream, since - RECOVERY_MARGIN_MS, &keys)
                .unwrap_or_default();
            records.retain(|(key, _)| !present.contains(key));
        }
        if records.is_empty() {
            continue;
        }
        if let Err(error) = view.inner.delivery.put_keyed(&stream, records).await {
            tracing::warn!(topic = topic.name, delivery_stream = stream, %error, "Delivery to a delivery stream failed; dropped");
        }
    }
    Ok(plan.pending)
}

/// Appends a subscription's messages to its queue; entries the queue refuses (it is gone,
/// or a message breaks its limits) go to the subscription's dead-letter queue, if it has
/// one, else are dropped with a warning.
async fn deliver_to_queue(
    view: &Topics,
    topic: &str,
    subscription: &str,
    queue: &str,
    dead_letter: Option<String>,
    copies: &[(Option<MessageId>, &NewMessage)],
) -> super::Result<()> {
    let total = copies.len();
    let outcomes = match view.inner.queues.send_copies(queue, copies).await {
        Ok(outcomes) => outcomes,
        Err(crate::views::queues::Error::QueueNotFound(_)) => (0..total)
            .map(|_| Err(crate::views::queues::Error::QueueNotFound(queue.to_owned())))
            .collect(),
        Err(crate::views::queues::Error::StorageFull) => return Err(super::Error::StorageFull),
        Err(error) => return Err(super::Error::Internal(error.to_string())),
    };
    let mut failed_positions = Vec::new();
    for (position, outcome) in outcomes.into_iter().enumerate() {
        if let Err(error) = outcome {
            tracing::warn!(
                topic,
                subscription,
                queue,
                %error,
                "A queue refused a notification"
            );
            failed_positions.push(position);
        }
    }
    crate::metrics::topic_deliveries(
        topic,
        subscription,
        "delivered",
        total - failed_positions.len(),
    );
    crate::metrics::topic_deliveries(topic, subscription, "failed", failed_positions.len());
    if failed_positions.is_empty() {
        return Ok(());
    }
    let Some(dead_letter) = dead_letter.as_deref().and_then(queue_name) else {
        return Ok(());
    };
    // In send order, each under its delivery id.
    let failed: Vec<NewMessage> = failed_positions
        .into_iter()
        .filter_map(|position| copies.get(position))
        .map(|&(id, message)| NewMessage {
            id,
            dedup_id: dead_letter
                .ends_with(".fifo")
                .then(|| message.dedup_id.clone())
                .flatten(),
            ..message.clone()
        })
        .collect();
    if let Err(error) = view.inner.queues.send(&dead_letter, failed).await {
        tracing::warn!(topic, subscription, dead_letter, %error, "Dead-letter queue refused notifications; dropped");
    }
    Ok(())
}

/// The queue an SQS ARN names: its last `:`-separated part.
pub(super) fn queue_name(arn: &str) -> Option<String> {
    let mut parts = arn.split(':');
    match (parts.next(), parts.nth(1)) {
        (Some("arn"), Some("sqs")) => arn.rsplit(':').next().map(str::to_owned),
        _ => None,
    }
}

/// The delivery stream a Firehose ARN names (`…:deliverystream/<name>`).
pub(super) fn delivery_stream_name(arn: &str) -> Option<String> {
    arn.rsplit_once(":deliverystream/")
        .map(|(_, name)| name.to_owned())
}
