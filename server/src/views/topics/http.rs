//! Deliveries to HTTP/S endpoints: the confirmation request of a new subscription, and the
//! delivery task of a topic, which makes the attempts of its pending deliveries (`h/…`
//! keys) when they are due, by the engine clock, following the effective delivery policy:
//! only 5xx answers, connection failures and timeouts are retried; a 4xx answer, or the
//! last failed attempt, sends the message to the subscription's dead-letter queue (if it
//! has one). A restart resumes every schedule where it was: the pending deliveries are
//! state.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use protocol::aws::sns::MessageAttributeValue;
use protocol::aws::sns::delivery_policy;
use protocol::aws::sns::envelope::{self, Envelope, Kind};
use storage::{ReadLimits, StateChange};
use tokio::task::JoinSet;

use super::model::{PendingDelivery, PublishedMessage, SubscriptionRecord};
use super::{SignatureVersion, Topic, Topics, json, lock, pending_key};
use crate::views::queues::{AttributeValue, MessageAttribute, NewMessage};

/// Attempts in flight per topic.
const CONCURRENCY: usize = 32;
/// The longest the task sleeps without looking at the clock again.
const IDLE_SLEEP: Duration = Duration::from_secs(60);
/// Attempts at a confirmation request.
const CONFIRMATION_ATTEMPTS: u32 = 3;

/// How an attempt ended.
enum Outcome {
    /// A 2xx answer.
    Delivered,
    /// Worth another attempt (5xx, no connection, timeout).
    Retry(String, String),
    /// Not worth another (4xx): dead-letter it.
    Refused(String, String),
    /// The subscription or the message is gone.
    Gone,
}

/// Runs until the topic is deleted.
pub(super) async fn run(view: Topics, topic: Arc<Topic>) {
    let mut in_flight: JoinSet<((i64, String, u64), PendingDelivery, Outcome)> = JoinSet::new();
    // Attempts started per subscription in the current second of the engine clock, for the
    // delivery policies' `throttlePolicy.maxReceivesPerSecond`.
    let mut started: HashMap<String, (i64, u32)> = HashMap::new();
    loop {
        if topic.is_deleted() {
            in_flight.abort_all();
            return;
        }
        let now = view.now_ms();
        while in_flight.len() < CONCURRENCY {
            let due = {
                let mut pending = lock(&topic.pending);
                match pending.first_key_value() {
                    Some((key, _)) if key.0 <= now => pending.pop_first(),
                    _ => None,
                }
            };
            let Some((key, delivery)) = due else {
                break;
            };
            if let Some(later) = throttled(&topic, &mut started, &key.1, now) {
                // Over the subscription's rate: due again at the next second.
                lock(&topic.pending).insert((later, key.1, key.2), delivery);
                continue;
            }
            let view = view.clone();
            let topic = topic.clone();
            in_flight.spawn(async move {
                let outcome = attempt(&view, &topic, &key.1, key.2).await;
                (key, delivery, outcome)
            });
        }
        let next_due = lock(&topic.pending).first_key_value().map(|(key, _)| key.0);
        let sleep = next_due.map_or(IDLE_SLEEP, |due| {
            Duration::from_millis(u64::try_from(due.saturating_sub(now)).unwrap_or(0))
                .min(IDLE_SLEEP)
        });
        let can_launch = in_flight.len() < CONCURRENCY;
        tokio::select! {
            () = topic.deliveries.notified() => {}
            Some(joined) = in_flight.join_next(), if !in_flight.is_empty() => {
                if let Ok((key, delivery, outcome)) = joined {
                    settle(&view, &topic, key, delivery, outcome).await;
                }
            }
            () = tokio::time::sleep(sleep), if can_launch => {}
        }
    }
}

/// When an attempt for subscription `id` may start if its delivery policy's throttle
/// forbids one now (`None`: now), counting the one that starts.
fn throttled(
    topic: &Topic,
    started: &mut HashMap<String, (i64, u32)>,
    id: &str,
    now: i64,
) -> Option<i64> {
    let subscription = topic.routing().subscriptions.get(id).cloned()?;
    let rate = effective_policy(topic, &subscription).max_receives_per_second?;
    let second = now.div_euclid(1000);
    let entry = started.entry(id.to_owned()).or_insert((second, 0));
    if entry.0 != second {
        *entry = (second, 0);
    }
    if entry.1 >= rate {
        return Some((second + 1) * 1000);
    }
    entry.1 += 1;
    None
}

/// A retry's jitter, 0 to 1: a hash of the subscription, the message and the attempt, so
/// messages that failed together retry apart, and a schedule is the same on every run.
fn jitter(subscription_id: &str, offset: u64, attempt: u32) -> f64 {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same value on every run and machine.
    let mut hasher = std::hash::DefaultHasher::new();
    (subscription_id, offset, attempt).hash(&mut hasher);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Records an attempt's outcome: done, due again, or dead-lettered.
async fn settle(
    view: &Topics,
    topic: &Arc<Topic>,
    key: (i64, String, u64),
    delivery: PendingDelivery,
    outcome: Outcome,
) {
    let (_, subscription_id, offset) = key;
    let subscription = topic.routing().subscriptions.get(&subscription_id).cloned();
    let now = view.now_ms();
    let attempts = delivery.attempts + 1;
    let retry = match (&outcome, &subscription) {
        (Outcome::Retry(..), Some(subscription)) => {
            let policy = effective_policy(topic, subscription);
            policy
                .jittered_delay_before_attempt(attempts, jitter(&subscription_id, offset, attempts))
                .map(|delay| i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
                .filter(|delay| now + delay - delivery.first_ms <= 3_600_000)
        }
        _ => None,
    };
    let mut changes = Vec::new();
    match (&outcome, retry) {
        (Outcome::Delivered, _) => {
            crate::metrics::topic_deliveries(&topic.name, &subscription_id, "delivered", 1);
        }
        (Outcome::Retry(..), Some(_)) => {
            crate::metrics::topic_retry(&topic.name, &subscription_id);
        }
        (Outcome::Retry(..) | Outcome::Refused(..), None) => {
            crate::metrics::topic_deliveries(&topic.name, &subscription_id, "failed", 1);
        }
        _ => {}
    }
    match retry {
        Some(delay) => {
            let next = PendingDelivery {
                attempts,
                due_ms: now + delay,
                first_ms: delivery.first_ms,
            };
            changes.push(StateChange::put(
                pending_key(&subscription_id, offset),
                json(&next),
            ));
            lock(&topic.pending).insert((next.due_ms, subscription_id.clone(), offset), next);
        }
        None => {
            if let (Outcome::Retry(code, reason) | Outcome::Refused(code, reason), Some(sub)) =
                (&outcome, &subscription)
            {
                tracing::info!(
                    topic = topic.name,
                    subscription = subscription_id,
                    offset,
                    attempts,
                    code,
                    reason,
                    "HTTP delivery failed for good"
                );
                dead_letter(view, topic, sub, offset, code, reason).await;
            }
            changes.push(StateChange::delete(pending_key(&subscription_id, offset)));
        }
    }
    let _writer = topic.writer.lock().await;
    if topic.is_deleted() {
        return;
    }
    if let Err(error) = topic.state.change(changes).await {
        tracing::warn!(topic = topic.name, %error, "Delivery state not stored");
    }
}

/// The delivery policy in force for a subscription: its own unless the topic's forbids
/// overrides, else the topic's, else SNS's default for HTTP/S.
fn effective_policy(
    topic: &Topic,
    subscription: &SubscriptionRecord,
) -> delivery_policy::EffectivePolicy {
    let topic_policy = lock(&topic.config)
        .attributes
        .get("DeliveryPolicy")
        .and_then(|text| delivery_policy::parse_topic_policy(text).ok());
    let subscription_policy = subscription
        .attributes
        .get("DeliveryPolicy")
        .and_then(|text| delivery_policy::parse_subscription_policy(text).ok());
    delivery_policy::effective(topic_policy.as_ref(), subscription_policy.as_ref())
}

/// One attempt at the message at `offset` for subscription `id`.
async fn attempt(view: &Topics, topic: &Topic, id: &str, offset: u64) -> Outcome {
    let Some(subscription) = topic.routing().subscriptions.get(id).cloned() else {
        return Outcome::Gone;
    };
    let Some(message) = read_message(view, topic, offset) else {
        return Outcome::Gone;
    };
    let body = match delivery_body(
        view,
        topic,
        &subscription,
        (&message, &mut Signatures::default()),
        offset,
    )
    .await
    {
        Ok(body) => body,
        Err(error) => return Outcome::Retry("InternalError".into(), error.to_string()),
    };
    let content_type = effective_policy(topic, &subscription)
        .header_content_type
        .unwrap_or_else(|| "text/plain; charset=UTF-8".to_owned());
    let mut request = view
        .inner
        .http
        .post(&subscription.endpoint)
        .header("x-amz-sns-message-type", "Notification")
        .header("x-amz-sns-message-id", &message.id)
        .header("x-amz-sns-topic-arn", view.topic_arn(&topic.name))
        .header(
            "x-amz-sns-subscription-arn",
            view.subscription_arn(&topic.name, &subscription.id),
        )
        .header("content-type", content_type);
    if subscription.raw() {
        request = request.header("x-amz-sns-rawdelivery", "true");
    }
    match request.body(body).send().await {
        Ok(response) => {
            let status = response.status();
            if status.is_success() {
                Outcome::Delivered
            } else if status.is_server_error() {
                Outcome::Retry(
                    status.as_u16().to_string(),
                    format!("endpoint answered {status}"),
                )
            } else {
                Outcome::Refused(
                    status.as_u16().to_string(),
                    format!("endpoint answered {status}"),
                )
            }
        }
        Err(error) if error.is_timeout() => Outcome::Retry(
            "Timeout".into(),
            "the endpoint did not answer in time".into(),
        ),
        Err(error) => Outcome::Retry("ConnectionFailure".into(), error.to_string()),
    }
}

fn read_message(view: &Topics, topic: &Topic, offset: u64) -> Option<PublishedMessage> {
    let batch = view
        .inner
        .log
        .read(
            &topic.stream,
            0,
            offset,
            ReadLimits {
                records_max: 1,
                bytes_max: 4 << 20,
            },
        )
        .ok()?;
    let record = batch
        .records
        .first()
        .filter(|record| record.offset == offset)?;
    PublishedMessage::decode(&record.data).ok()
}

/// Sends a message that could not be delivered to the subscription's dead-letter queue,
/// with the failure as message attributes.
async fn dead_letter(
    view: &Topics,
    topic: &Topic,
    subscription: &SubscriptionRecord,
    offset: u64,
    code: &str,
    reason: &str,
) {
    let Some(queue) = subscription
        .dead_letter_arn()
        .as_deref()
        .and_then(super::fanout::queue_name)
    else {
        return;
    };
    let Some(message) = read_message(view, topic, offset) else {
        return;
    };
    let body = delivery_body(
        view,
        topic,
        subscription,
        (&message, &mut Signatures::default()),
        offset,
    )
    .await
    .unwrap_or_else(|_| message.text_for(subscription.protocol).to_owned());
    let text = |name: &str, value: &str| MessageAttribute {
        name: name.to_owned(),
        data_type: "String".to_owned(),
        value: AttributeValue::Text(value.to_owned()),
    };
    let new = NewMessage {
        id: Some(super::delivery_id(
            &format!("dlq/{}", subscription.id),
            offset,
        )),
        body: Bytes::from(body),
        attributes: vec![
            text("ErrorCode", code),
            text("ErrorMessage", reason),
            text("RequestID", &message.id),
        ]
        .into(),
        group_id: message.group.clone(),
        dedup_id: queue
            .ends_with(".fifo")
            .then(|| message.dedup.clone().unwrap_or_else(|| message.id.clone())),
        ..NewMessage::default()
    };
    if let Err(error) = view.inner.queues.send(&queue, vec![new]).await {
        tracing::warn!(
            topic = topic.name,
            subscription = subscription.id,
            queue,
            %error,
            "Dead-letter queue refused a message; dropped"
        );
    }
}

/// The signatures made for one message, by the text they signed. Every subscription of a
/// message signs the same fields (its `UnsubscribeURL`, the one that differs, is not signed),
/// so a fan-out signs once per message and protocol text instead of once per subscription.
#[derive(Default)]
pub(super) struct Signatures(Vec<(String, String)>);

impl Signatures {
    /// The signature of `text`, made by `sign` the first time it is asked for.
    fn of(&mut self, text: String, sign: impl FnOnce(&str) -> String) -> String {
        if let Some((_, signature)) = self.0.iter().find(|(signed, _)| *signed == text) {
            return signature.clone();
        }
        let signature = sign(&text);
        self.0.push((text, signature.clone()));
        signature
    }
}

/// What `subscription` is sent of the message at `offset`: the message alone with raw
/// delivery, else its envelope (signed with the message's memo of `signatures`).
pub(super) async fn delivery_body(
    view: &Topics,
    topic: &Topic,
    subscription: &SubscriptionRecord,
    (message, signatures): (&PublishedMessage, &mut Signatures),
    offset: u64,
) -> super::Result<String> {
    if subscription.raw() {
        return Ok(message.text_for(subscription.protocol).to_owned());
    }
    let fifo = lock(&topic.config).fifo();
    let sequence = fifo.then(|| super::sequence_number(offset));
    notification_json(
        view,
        &topic.name,
        subscription,
        message,
        sequence.as_deref(),
        signatures,
    )
    .await
}

/// The notification envelope of `message` for `subscription`, signed unless the topic is
/// FIFO (SNS does not sign FIFO notifications).
pub(super) async fn notification_json(
    view: &Topics,
    topic_name: &str,
    subscription: &SubscriptionRecord,
    message: &PublishedMessage,
    sequence: Option<&str>,
    signatures: &mut Signatures,
) -> super::Result<String> {
    let base = &view.settings().base_url;
    // ARNs go into the URLs as they are (their `:` need no escape in a query), as in SNS.
    let subscription_arn = view.subscription_arn(topic_name, &subscription.id);
    let message_attributes = message
        .attributes
        .iter()
        .map(|attribute| {
            (
                attribute.name.clone(),
                MessageAttributeValue {
                    data_type: attribute.data_type.clone(),
                    string_value: Some(attribute.envelope_value().to_owned()),
                    binary_value: None,
                },
            )
        })
        .collect();
    let mut notification = Envelope {
        kind: Kind::Notification,
        message_id: message.id.clone(),
        token: None,
        topic_arn: view.topic_arn(topic_name),
        subject: message.subject.clone(),
        message: message.text_for(subscription.protocol).to_owned(),
        subscribe_url: None,
        timestamp_ms: message.ms,
        sequence_number: sequence.map(str::to_owned),
        signature_version: None,
        signing_cert_url: None,
        unsubscribe_url: Some(format!(
            "{base}/?Action=Unsubscribe&SubscriptionArn={subscription_arn}"
        )),
        message_attributes,
    };
    if sequence.is_some() {
        return Ok(notification.to_json(None));
    }
    signed(view, topic_name, &mut notification, signatures).await
}

/// Signs an envelope with the topic's signature version and writes it.
async fn signed(
    view: &Topics,
    topic_name: &str,
    envelope: &mut Envelope,
    signatures: &mut Signatures,
) -> super::Result<String> {
    let version = topic_signature_version(view, topic_name);
    let signer = view.inner.keys.get().await?;
    envelope.signature_version = Some(version.as_str().to_owned());
    envelope.signing_cert_url = Some(format!(
        "{}/_strata/sns/{}",
        view.settings().base_url,
        signer.certificate_file()
    ));
    let signature = signatures.of(envelope::string_to_sign(envelope), |text| {
        signer.sign(version, text)
    });
    Ok(envelope.to_json(Some(&signature)))
}

fn topic_signature_version(view: &Topics, topic_name: &str) -> SignatureVersion {
    view.topic(topic_name)
        .map_or(SignatureVersion::V1, |topic| {
            SignatureVersion::from_attribute(
                lock(&topic.config)
                    .attributes
                    .get("SignatureVersion")
                    .map(String::as_str),
            )
        })
}

/// Sends a new HTTP/S subscription's confirmation request (a few attempts; the endpoint
/// may also confirm later with the token of a new Subscribe call).
pub(super) async fn confirm(view: Topics, topic_name: String, record: SubscriptionRecord) {
    let Some(token) = record.token.clone() else {
        return;
    };
    let message_id = super::uuid();
    let body = match confirmation_json(&view, &topic_name, &token, &message_id).await {
        Ok(body) => body,
        Err(error) => {
            tracing::warn!(topic = topic_name, %error, "Confirmation request not made");
            return;
        }
    };
    for attempt in 0..CONFIRMATION_ATTEMPTS {
        let request = view
            .inner
            .http
            .post(&record.endpoint)
            .header("x-amz-sns-message-type", "SubscriptionConfirmation")
            .header("x-amz-sns-message-id", &message_id)
            .header("x-amz-sns-topic-arn", view.topic_arn(&topic_name))
            .header("content-type", "text/plain; charset=UTF-8")
            .body(body.clone());
        match request.send().await {
            Ok(response) if response.status().is_success() => return,
            Ok(response) if response.status().is_client_error() => return,
            Ok(_) | Err(_) => {
                tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
            }
        }
    }
}

/// Sends an unsubscribed HTTP/S subscription's `UnsubscribeConfirmation` (a few attempts):
/// its SubscribeURL, with a new token, restores the subscription.
pub(super) async fn unsubscribed(
    view: Topics,
    topic_name: String,
    record: SubscriptionRecord,
    token: String,
) {
    let message_id = super::uuid();
    let subscription_arn = view.subscription_arn(&topic_name, &record.id);
    let topic_arn = view.topic_arn(&topic_name);
    let base = &view.settings().base_url;
    let mut farewell = Envelope {
        kind: Kind::UnsubscribeConfirmation,
        message_id: message_id.clone(),
        token: Some(token.clone()),
        message: format!(
            "You have chosen to deactivate subscription {subscription_arn}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message."
        ),
        subscribe_url: Some(format!(
            "{base}/?Action=ConfirmSubscription&TopicArn={topic_arn}&Token={token}"
        )),
        topic_arn: topic_arn.clone(),
        subject: None,
        timestamp_ms: view.now_ms(),
        sequence_number: None,
        signature_version: None,
        signing_cert_url: None,
        unsubscribe_url: None,
        message_attributes: Default::default(),
    };
    let body = match signed(
        &view,
        &topic_name,
        &mut farewell,
        &mut Signatures::default(),
    )
    .await
    {
        Ok(body) => body,
        Err(error) => {
            tracing::warn!(topic = topic_name, %error, "UnsubscribeConfirmation not made");
            return;
        }
    };
    for attempt in 0..CONFIRMATION_ATTEMPTS {
        let request = view
            .inner
            .http
            .post(&record.endpoint)
            .header("x-amz-sns-message-type", "UnsubscribeConfirmation")
            .header("x-amz-sns-message-id", &message_id)
            .header("x-amz-sns-topic-arn", &topic_arn)
            .header("x-amz-sns-subscription-arn", &subscription_arn)
            .header("content-type", "text/plain; charset=UTF-8")
            .body(body.clone());
        match request.send().await {
            Ok(response) if response.status().is_success() => return,
            Ok(response) if response.status().is_client_error() => return,
            Ok(_) | Err(_) => {
                tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
            }
        }
    }
}

async fn confirmation_json(
    view: &Topics,
    topic_name: &str,
    token: &str,
    message_id: &str,
) -> super::Result<String> {
    let topic_arn = view.topic_arn(topic_name);
    let base = &view.settings().base_url;
    let mut confirmation = Envelope {
        kind: Kind::SubscriptionConfirmation,
        message_id: message_id.to_owned(),
        token: Some(token.to_owned()),
        message: format!(
            "You have chosen to subscribe to the topic {topic_arn}.\nTo confirm the subscription, visit the SubscribeURL included in this message."
        ),
        subscribe_url: Some(format!(
            "{base}/?Action=ConfirmSubscription&TopicArn={topic_arn}&Token={token}"
        )),
        topic_arn,
        subject: None,
        timestamp_ms: view.now_ms(),
        sequence_number: None,
        signature_version: None,
        signing_cert_url: None,
        unsubscribe_url: None,
        message_attributes: Default::default(),
    };
    signed(
        view,
        topic_name,
        &mut confirmation,
        &mut Signatures::default(),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::Signatures;

    #[test]
    fn a_message_is_signed_once_per_text() {
        let mut signatures = Signatures::default();
        let mut made = 0;
        let mut sign = |text: &str| {
            made += 1;
            format!("signed {text}")
        };
        assert_eq!(signatures.of("a".into(), &mut sign), "signed a");
        assert_eq!(signatures.of("b".into(), &mut sign), "signed b");
        assert_eq!(signatures.of("a".into(), &mut sign), "signed a");
        assert_eq!(made, 2);
    }
}
