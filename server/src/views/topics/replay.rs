//! Replays: a subscription's `ReplayPolicy` sends it again the messages the topic kept in a
//! time range (SNS has this for FIFO topics with an archive policy; on Strata every topic
//! keeps its messages, so every topic can be replayed).
//!
//! A replay is state (`r/<id>`: the next offset, the end, when it last moved), so a restart
//! resumes it; its queue messages get ids of their own (not the first delivery's), and after
//! a restart the first round skips those already in the queue, as the fan-out does. The
//! subscription's `ReplayStatus` is `In progress` until the end is reached, then
//! `Completed` (`Failed` if the range is gone from the log).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use storage::StateChange;

use super::model::PendingDelivery;
use super::{READ_LIMITS, Routing, Topic, Topics, json, lock, pending_key};
use crate::views::topics::error::{Error, Result};

/// The prefix of replay progress keys.
pub(super) const REPLAY_PREFIX: &[u8] = b"r/";
/// The salt of replayed queue message ids.
const SALT: &str = "/replay";

/// A replay's progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Progress {
    /// The next offset to replay.
    pub next: u64,
    /// One past the last offset to replay.
    pub end: u64,
    /// When `next` last moved.
    pub ms: i64,
}

pub(super) fn replay_key(id: &str) -> Vec<u8> {
    let mut key = REPLAY_PREFIX.to_vec();
    key.extend_from_slice(id.as_bytes());
    key
}

/// A `ReplayPolicy`'s time range in ms: `{"PointType":"Timestamp","StartingPoint":…,
/// "EndingPoint":…}`, points as ISO 8601 times or ms since the epoch; no end is "up to now".
pub fn parse_policy(text: &str) -> Result<(i64, Option<i64>)> {
    let invalid = |reason: &str| Error::InvalidParameter(format!("ReplayPolicy: {reason}"));
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|_| invalid("must be a JSON object"))?;
    let object = value
        .as_object()
        .ok_or_else(|| invalid("must be a JSON object"))?;
    match object.get("PointType").and_then(serde_json::Value::as_str) {
        Some("Timestamp") => {}
        _ => return Err(invalid("PointType must be Timestamp")),
    }
    let point = |name: &str| -> Result<Option<i64>> {
        match object.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::Number(number)) => number
                .as_i64()
                .map(Some)
                .ok_or_else(|| invalid(&format!("{name} must be a time"))),
            Some(serde_json::Value::String(text)) => chrono::DateTime::parse_from_rfc3339(text)
                .map(|time| Some(time.timestamp_millis()))
                .map_err(|_| invalid(&format!("{name} must be an ISO 8601 time"))),
            Some(_) => Err(invalid(&format!("{name} must be a time"))),
        }
    };
    let start =
        point("StartingPoint")?.ok_or_else(|| invalid("StartingPoint must be specified"))?;
    let end = point("EndingPoint")?;
    if end.is_some_and(|end| end < start) {
        return Err(invalid("EndingPoint must not be before StartingPoint"));
    }
    Ok((start, end))
}

impl Topics {
    /// Starts replaying `[start_ms, end_ms)` (to now without an end) to a subscription:
    /// records its progress and marks it `In progress`.
    pub(super) async fn start_replay(
        &self,
        topic: &Arc<Topic>,
        id: &str,
        start_ms: i64,
        end_ms: Option<i64>,
    ) -> Result<()> {
        let log = &self.inner.log;
        let offset_at = |ms: i64| {
            log.offset_for_timestamp(&topic.stream, 0, ms)
                .map_err(|e| super::storage_error(&e))
        };
        let next = offset_at(start_ms)?;
        let end = match end_ms {
            Some(end) => offset_at(end)?,
            None => {
                log.shard_bounds(&topic.stream, 0)
                    .map_err(|e| super::storage_error(&e))?
                    .next
            }
        };
        let progress = Progress {
            next,
            end,
            ms: self.now_ms(),
        };
        {
            let _writer = topic.writer.lock().await;
            topic
                .state
                .change(vec![StateChange::put(replay_key(id), json(&progress))])
                .await
                .map_err(|e| super::storage_error(&e))?;
        }
        self.set_replay_status(topic, id, "In progress").await?;
        tokio::spawn(run(
            self.clone(),
            topic.clone(),
            id.to_owned(),
            progress,
            false,
        ));
        Ok(())
    }

    async fn set_replay_status(&self, topic: &Arc<Topic>, id: &str, status: &str) -> Result<()> {
        let Some(record) = topic.routing().subscriptions.get(id).cloned() else {
            return Ok(());
        };
        let mut record = (*record).clone();
        record
            .attributes
            .insert("ReplayStatus".to_owned(), status.to_owned());
        self.store_subscription(topic, record).await
    }

    /// Resumes the replays a restart interrupted.
    pub(super) fn resume_replays(&self, topic: &Arc<Topic>) {
        let Ok(entries) = topic.state.scan(REPLAY_PREFIX) else {
            return;
        };
        for (key, value) in entries {
            let (Some(id), Ok(progress)) = (
                key.get(REPLAY_PREFIX.len()..)
                    .and_then(|id| std::str::from_utf8(id).ok()),
                serde_json::from_slice::<Progress>(&value),
            ) else {
                continue;
            };
            tokio::spawn(run(
                self.clone(),
                topic.clone(),
                id.to_owned(),
                progress,
                true,
            ));
        }
    }
}

/// Replays until the end, the subscription's deletion or the topic's.
async fn run(
    view: Topics,
    topic: Arc<Topic>,
    id: String,
    mut progress: Progress,
    recovering: bool,
) {
    let mut recovering = recovering;
    loop {
        if topic.is_deleted() {
            return;
        }
        let Some(subscription) = topic.routing().subscriptions.get(&id).cloned() else {
            return;
        };
        if progress.next >= progress.end {
            let done = {
                let _writer = topic.writer.lock().await;
                topic
                    .state
                    .change(vec![StateChange::delete(replay_key(&id))])
                    .await
            };
            if done.is_ok() {
                let _ = view.set_replay_status(&topic, &id, "Completed").await;
            }
            return;
        }
        match round(&view, &topic, &subscription, &mut progress, recovering).await {
            Ok(()) => recovering = false,
            Err(Error::Internal(error)) if error.contains("trimmed") => {
                let _ = view.set_replay_status(&topic, &id, "Failed").await;
                return;
            }
            Err(error) => {
                tracing::warn!(topic = topic.name, subscription = id, %error, "Replay round failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

async fn round(
    view: &Topics,
    topic: &Arc<Topic>,
    subscription: &Arc<super::SubscriptionRecord>,
    progress: &mut Progress,
    recovering: bool,
) -> Result<()> {
    let log = &view.inner.log;
    let batch = match log.read(&topic.stream, 0, progress.next, READ_LIMITS) {
        Ok(batch) => batch,
        Err(storage::Error::Trimmed { .. }) => {
            return Err(Error::Internal("the range was trimmed".into()));
        }
        Err(error) => return Err(super::storage_error(&error)),
    };
    let records: Vec<storage::Record> = batch
        .records
        .into_iter()
        .filter(|record| record.offset < progress.end)
        .collect();
    let next = records
        .last()
        .map_or(progress.end, |record| record.offset + 1)
        .max(progress.next);
    let routing = Routing::new([(subscription.id.clone(), subscription.clone())].into());
    let targets = |message: &super::model::PublishedMessage| routing.matching(message);
    let plan = super::fanout::plan(view, topic, &records, &targets, SALT).await?;
    let pending =
        super::fanout::deliver(view, topic, plan, recovering.then_some(progress.ms)).await?;
    let now = view.now_ms();
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
    let moved = Progress {
        next: if records.is_empty() {
            progress.end
        } else {
            next
        },
        end: progress.end,
        ms: now,
    };
    changes.push(StateChange::put(replay_key(&subscription.id), json(&moved)));
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
    if !entries.is_empty() {
        lock(&topic.pending).extend(entries);
        topic.deliveries.notify_one();
    }
    *progress = moved;
    Ok(())
}
