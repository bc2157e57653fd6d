//! The load itself: connections publishing (one message or a batch per request), the one
//! receiver measuring publish-to-receive latency on an unfiltered queue, and the wait for
//! every subscribed queue to hold what it should.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::wire::{self, Publisher};
use crate::report;
use crate::sqs::load::{Counters, Failures, Requests, timed_request};
use crate::sqs::wire::{self as sqs_wire, Api, Connection};
use crate::storage::BoxError;

/// Entries in every PublishBatch (the SNS limit).
pub const BATCH_ENTRIES: usize = 10;
/// `MaxNumberOfMessages` of the latency receiver's ReceiveMessage.
pub const RECEIVE_MESSAGES_MAX: u32 = 10;
/// `WaitTimeSeconds` of the latency receiver's ReceiveMessage.
pub const RECEIVE_WAIT_SECS: u32 = 1;
/// Longest wait, after the last publish, for every queue to hold its deliveries.
pub const DRAIN_WAIT_MAX: Duration = Duration::from_secs(120);
/// The wait also ends when no queue gained a message for this long.
pub const DRAIN_STALL_MAX: Duration = Duration::from_secs(15);
/// Pause between two rounds of queue depth reads.
const DRAIN_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Nanoseconds since `epoch`, the clock of the stamps in message bodies.
pub fn since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// What the publishing connections of one phase saw.
pub struct PublishOutcome {
    /// Publish or PublishBatch requests.
    pub requests: Requests,
    /// Messages accepted of kind `a` and of kind `b`.
    pub published_a: u64,
    pub published_b: u64,
    /// Batch entries answered in `Failed`.
    pub failed_entries: u64,
    pub connects: u64,
    pub first_error: Option<String>,
}

impl PublishOutcome {
    pub fn new() -> Self {
        Self {
            requests: Requests::new(),
            published_a: 0,
            published_b: 0,
            failed_entries: 0,
            connects: 0,
            first_error: None,
        }
    }

    /// Adds `other` into this one.
    pub fn add(&mut self, other: &Self) -> Result<(), BoxError> {
        self.requests.add(&other.requests)?;
        self.published_a += other.published_a;
        self.published_b += other.published_b;
        self.failed_entries += other.failed_entries;
        self.connects += other.connects;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        Ok(())
    }

    fn count(&mut self, index: u64) {
        match wire::kind_of(index) {
            "a" => self.published_a += 1,
            _ => self.published_b += 1,
        }
    }
}

/// One publishing connection's fixed settings.
pub struct PublishWorker {
    pub publisher: Arc<Publisher>,
    /// PublishBatch of [`BATCH_ENTRIES`] instead of Publish.
    pub batch: bool,
    pub seed: u64,
    pub epoch: Instant,
    pub deadline: Instant,
    /// With `--rate`: when the first request starts and the time between two requests'
    /// scheduled starts; `None`: back to back.
    pub pace: Option<(Instant, Duration)>,
}

/// Publishes on `connection` until the deadline, kinds `a` and `b` in turn.
pub async fn publish(
    mut connection: Connection,
    worker: PublishWorker,
    counters: Arc<Counters>,
) -> Result<PublishOutcome, BoxError> {
    let mut outcome = PublishOutcome::new();
    let mut failures = Failures { in_a_row: 0 };
    let mut rng = worker.seed;
    let operation = if worker.batch {
        "PublishBatch"
    } else {
        "Publish"
    };
    let mut sent: u64 = 0;
    // The next request's scheduled start, and the time between two.
    let mut pace = worker.pace;
    while Instant::now() < worker.deadline {
        if let Some((at, every)) = pace.as_mut() {
            if *at >= worker.deadline {
                break;
            }
            tokio::time::sleep_until((*at).into()).await;
            // Behind schedule (the server is slower than the rate): no burst to catch up.
            *at = (*at + *every).max(Instant::now());
        }
        let sent_ns = since(worker.epoch);
        let body = if worker.batch {
            worker
                .publisher
                .publish_batch(BATCH_ENTRIES, sent_ns, &mut rng)
        } else {
            worker
                .publisher
                .publish(wire::kind_of(sent), sent_ns, &mut rng)
        };
        let answer = timed_request(
            &mut connection,
            Api::Sns,
            operation,
            body,
            &mut outcome.requests,
        )
        .await;
        let error = match answer {
            Ok(Ok(reply)) if worker.batch => {
                let result = wire::read_publish_batch(&reply)?;
                let entries = BATCH_ENTRIES as u64;
                if result.successful + result.failed.len() as u64 != entries {
                    return Err(format!(
                        "PublishBatch of {entries} answered for {} entries",
                        result.successful + result.failed.len() as u64
                    )
                    .into());
                }
                for index in 0..entries {
                    if !result.failed.contains(&index.to_string()) {
                        outcome.count(index);
                    }
                }
                outcome.failed_entries += result.failed.len() as u64;
                if outcome.first_error.is_none() {
                    outcome.first_error = result.first_error;
                }
                counters
                    .sent
                    .fetch_add(result.successful, Ordering::Relaxed);
                None
            }
            Ok(Ok(_)) => {
                outcome.count(sent);
                sent += 1;
                counters.sent.fetch_add(1, Ordering::Relaxed);
                None
            }
            Ok(Err(error)) => Some(error.to_string()),
            Err(error) => Some(error.to_string()),
        };
        failures
            .settle(
                operation,
                error,
                &mut outcome.requests,
                &mut outcome.first_error,
            )
            .await?;
    }
    outcome.connects = connection.connects;
    Ok(outcome)
}

/// What the latency receiver saw.
pub struct ReceiveOutcome {
    pub receive: Requests,
    pub delete: Requests,
    /// Publish-to-receive latency of every stamped message received.
    pub latency: Histogram<u64>,
    pub received: u64,
    /// Messages deleted: gone from the queue, so counted as delivered there.
    pub deleted: u64,
    pub first_error: Option<String>,
}

impl ReceiveOutcome {
    /// Adds another receiver's outcome into this one.
    pub fn add(&mut self, other: &Self) -> Result<(), BoxError> {
        self.receive.add(&other.receive)?;
        self.delete.add(&other.delete)?;
        self.latency.add(&other.latency)?;
        self.received += other.received;
        self.deleted += other.deleted;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        Ok(())
    }
}

/// Long-polls the queue at `queue_url` until `deadline`, deleting what it gets and
/// recording now − sent for every message.
pub async fn receive(
    mut connection: Connection,
    queue_url: String,
    epoch: Instant,
    deadline: Instant,
    counters: Arc<Counters>,
) -> Result<ReceiveOutcome, BoxError> {
    let mut outcome = ReceiveOutcome {
        receive: Requests::new(),
        delete: Requests::new(),
        latency: report::latency_histogram(),
        received: 0,
        deleted: 0,
        first_error: None,
    };
    let mut failures = Failures { in_a_row: 0 };
    while Instant::now() < deadline {
        // The last polls do not wait, so the receiver ends with the publishers.
        let left = deadline.saturating_duration_since(Instant::now());
        let wait_secs = if left >= Duration::from_secs(u64::from(RECEIVE_WAIT_SECS)) {
            RECEIVE_WAIT_SECS
        } else {
            0
        };
        let body = sqs_wire::receive_body(&queue_url, RECEIVE_MESSAGES_MAX, wait_secs)?;
        let answer = timed_request(
            &mut connection,
            Api::Sqs,
            "ReceiveMessage",
            body,
            &mut outcome.receive,
        )
        .await;
        let reply = match answer {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(error)) => Err(error.to_string()),
            Err(error) => Err(error.to_string()),
        };
        let messages = match reply {
            Ok(reply) => {
                let now = since(epoch);
                sqs_wire::read_receive_with(&reply, |text| {
                    wire::read_stamp(text).map(|sent| now.saturating_sub(sent))
                })?
            }
            Err(error) => {
                failures
                    .record(
                        "ReceiveMessage",
                        error,
                        &mut outcome.receive,
                        &mut outcome.first_error,
                    )
                    .await?;
                continue;
            }
        };
        failures.in_a_row = 0;
        if messages.is_empty() {
            continue;
        }
        outcome.received += messages.len() as u64;
        for nanos in messages.iter().filter_map(|(_, nanos)| *nanos) {
            report::record_latency(&mut outcome.latency, Duration::from_nanos(nanos));
        }
        let received: Vec<_> = messages.into_iter().map(|(m, _)| m).collect();
        let body = sqs_wire::delete_batch_body(&queue_url, &received)?;
        let answer = timed_request(
            &mut connection,
            Api::Sqs,
            "DeleteMessageBatch",
            body,
            &mut outcome.delete,
        )
        .await;
        let error = match answer {
            Ok(Ok(reply)) => {
                let result = sqs_wire::read_batch(&reply)?;
                outcome.deleted += result.successful;
                counters
                    .deleted
                    .fetch_add(result.successful, Ordering::Relaxed);
                None
            }
            Ok(Err(error)) => Some(error.to_string()),
            Err(error) => Some(error.to_string()),
        };
        failures
            .settle(
                "DeleteMessageBatch",
                error,
                &mut outcome.delete,
                &mut outcome.first_error,
            )
            .await?;
    }
    Ok(outcome)
}

/// One subscribed queue to watch while deliveries arrive.
pub struct Watched {
    pub queue_url: String,
    /// Deliveries it should get.
    pub expected: u64,
    /// Messages already taken out of it (by the latency receiver).
    pub taken: u64,
}

/// How the wait for deliveries ended.
pub struct Drain {
    /// Deliveries found in the queues (taken ones included).
    pub arrived: u64,
    /// When the last queue was found full, or, if the wait gave up, when the last delivery
    /// was found.
    pub finished: Instant,
    /// Every queue held what it should.
    pub complete: bool,
    /// The first round of depth reads: how finely `finished` is known.
    pub first_round: Duration,
}

/// Reads the depth of every queue until each holds what it should, no queue gained a
/// message for [`DRAIN_STALL_MAX`], or [`DRAIN_WAIT_MAX`] passed.
pub async fn drain(connection: &mut Connection, queues: &[Watched]) -> Result<Drain, BoxError> {
    let started = Instant::now();
    let mut arrived: Vec<u64> = queues.iter().map(|q| q.taken).collect();
    let mut progressed = started;
    let mut first_round = None;
    loop {
        let mut gained = false;
        for (queue, seen) in queues.iter().zip(arrived.iter_mut()) {
            if *seen >= queue.expected {
                continue;
            }
            let now = queue.taken + wire::queue_depth(connection, &queue.queue_url).await?;
            if now > *seen {
                gained = true;
                *seen = now;
            }
        }
        let first_round = *first_round.get_or_insert_with(|| started.elapsed());
        let complete = queues.iter().zip(&arrived).all(|(q, a)| *a >= q.expected);
        if gained || complete {
            progressed = Instant::now();
        }
        if complete
            || started.elapsed() >= DRAIN_WAIT_MAX
            || progressed.elapsed() >= DRAIN_STALL_MAX
        {
            return Ok(Drain {
                arrived: arrived.iter().sum(),
                finished: progressed,
                complete,
                first_round,
            });
        }
        tokio::time::sleep(DRAIN_POLL_INTERVAL).await;
    }
}
