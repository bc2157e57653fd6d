//! The load itself: connections sending batches (the send phase) or sending, receiving and
//! deleting in turn (the cycle phase), and the live progress line.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::wire::{self, Api, ApiError, Connection, SendBatch};
use crate::plot::Sampler;
use crate::report::{self, Live, decimal, group};
use crate::storage::BoxError;

/// Failed requests in a row after which a connection gives up.
const FAILURES_IN_A_ROW_MAX: u32 = 10;
/// Pause after an error answer or a failed request before trying again.
const ERROR_PAUSE: Duration = Duration::from_millis(20);
/// `MaxNumberOfMessages` of every ReceiveMessage.
pub const RECEIVE_MESSAGES_MAX: u32 = 10;
/// `WaitTimeSeconds` of every ReceiveMessage (a long poll).
pub const RECEIVE_WAIT_SECS: u32 = 1;

/// Messages sent and deleted so far, for the live progress line.
#[derive(Default)]
pub struct Counters {
    pub(crate) sent: AtomicU64,
    pub(crate) deleted: AtomicU64,
}

impl Counters {
    /// Samples messages sent (or, with `deleted`, deleted) so far and their body bytes, for
    /// `--plot`.
    pub fn sample(self: &Arc<Self>, deleted: bool, message_bytes: u64) -> Sampler {
        let counters = Arc::clone(self);
        Sampler::start(move || {
            let counter = if deleted {
                &counters.deleted
            } else {
                &counters.sent
            };
            let messages = counter.load(Ordering::Relaxed);
            (messages, messages * message_bytes)
        })
    }
}

/// Shows send and delete rates once per second until dropped.
pub struct Ticker(tokio::task::JoinHandle<()>);

impl Ticker {
    pub fn start(label: String, counters: Arc<Counters>, message_bytes: u64) -> Self {
        Self(tokio::spawn(async move {
            let live = Live::new(label);
            let started = Instant::now();
            let mut interval = tokio::time::interval(Duration::from_secs(1));
            interval.tick().await;
            let mut last = (0, 0);
            loop {
                interval.tick().await;
                let now = (
                    counters.sent.load(Ordering::Relaxed),
                    counters.deleted.load(Ordering::Relaxed),
                );
                let sent = now.0 - last.0;
                let deleted = now.1 - last.1;
                live.show(&format!(
                    "{:>5.1}s: sent {} msg/s ({} MB/s); deleted {} msg/s",
                    started.elapsed().as_secs_f64(),
                    group(sent),
                    decimal((sent * message_bytes) as f64 / report::MB),
                    group(deleted),
                ));
                last = now;
            }
        }))
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Latency and counts of one request type on one or more connections.
pub struct Requests {
    /// Per answered request (error answers included).
    pub histogram: Histogram<u64>,
    pub requests: u64,
    /// Requests answered with an error status or not answered.
    pub failed: u64,
}

impl Requests {
    pub(crate) fn new() -> Self {
        Self {
            histogram: report::latency_histogram(),
            requests: 0,
            failed: 0,
        }
    }

    /// Adds `other` into this one.
    pub fn add(&mut self, other: &Self) -> Result<(), BoxError> {
        self.histogram.add(&other.histogram)?;
        self.requests += other.requests;
        self.failed += other.failed;
        Ok(())
    }
}

/// What the connections of one phase saw.
pub struct Outcome {
    pub send: Requests,
    pub receive: Requests,
    pub delete: Requests,
    /// Messages the server accepted, and their body bytes.
    pub sent: u64,
    pub sent_bytes: u64,
    /// Messages received, and ReceiveMessage answers with none.
    pub received: u64,
    pub empty_receives: u64,
    /// Messages deleted, and their body bytes.
    pub deleted: u64,
    pub deleted_bytes: u64,
    /// Batch entries reported in `Failed` (sends and deletes).
    pub failed_entries: u64,
    /// TCP connections opened (moto's server closes one after every answer).
    pub connects: u64,
    pub first_error: Option<String>,
}

impl Outcome {
    pub fn new() -> Self {
        Self {
            send: Requests::new(),
            receive: Requests::new(),
            delete: Requests::new(),
            sent: 0,
            sent_bytes: 0,
            received: 0,
            empty_receives: 0,
            deleted: 0,
            deleted_bytes: 0,
            failed_entries: 0,
            connects: 0,
            first_error: None,
        }
    }

    /// Adds `other` into this one.
    pub fn add(&mut self, other: &Self) -> Result<(), BoxError> {
        self.send.add(&other.send)?;
        self.receive.add(&other.receive)?;
        self.delete.add(&other.delete)?;
        self.sent += other.sent;
        self.sent_bytes += other.sent_bytes;
        self.received += other.received;
        self.empty_receives += other.empty_receives;
        self.deleted += other.deleted;
        self.deleted_bytes += other.deleted_bytes;
        self.failed_entries += other.failed_entries;
        self.connects += other.connects;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        Ok(())
    }
}

/// One connection's fixed settings.
pub struct Worker {
    pub queue_url: String,
    pub batch: Arc<SendBatch>,
    pub message_bytes: u64,
    /// Also receive and delete after every send (the cycle phase).
    pub cycle: bool,
    pub seed: u64,
    pub deadline: Instant,
}

/// Tracks failures in a row, so a dead server ends the run instead of spinning.
pub(crate) struct Failures {
    pub(crate) in_a_row: u32,
}

impl Failures {
    /// Counts one failure of `operation` in `requests` and `outcome`; pauses, or gives up
    /// after too many in a row.
    pub(crate) async fn record(
        &mut self,
        operation: &str,
        error: String,
        requests: &mut Requests,
        first_error: &mut Option<String>,
    ) -> Result<(), BoxError> {
        requests.failed += 1;
        first_error.get_or_insert_with(|| format!("{operation}: {error}"));
        self.in_a_row += 1;
        if self.in_a_row >= FAILURES_IN_A_ROW_MAX {
            return Err(format!(
                "{operation} failed {} times in a row: {error}",
                self.in_a_row
            )
            .into());
        }
        tokio::time::sleep(ERROR_PAUSE).await;
        Ok(())
    }

    /// Counts `error` as [`Failures::record`] does or, if the request went well, ends a run
    /// of failures.
    pub(crate) async fn settle(
        &mut self,
        operation: &str,
        error: Option<String>,
        requests: &mut Requests,
        first_error: &mut Option<String>,
    ) -> Result<(), BoxError> {
        match error {
            Some(error) => self.record(operation, error, requests, first_error).await,
            None => {
                self.in_a_row = 0;
                Ok(())
            }
        }
    }
}

/// The answer of one timed SQS request: its body if it came back 200.
async fn timed(
    connection: &mut Connection,
    operation: &str,
    body: bytes::Bytes,
    requests: &mut Requests,
) -> Result<Result<bytes::Bytes, ApiError>, BoxError> {
    timed_request(connection, Api::Sqs, operation, body, requests).await
}

/// The answer of one timed request to `api`: its body if it came back 200.
pub(crate) async fn timed_request(
    connection: &mut Connection,
    api: Api,
    operation: &str,
    body: bytes::Bytes,
    requests: &mut Requests,
) -> Result<Result<bytes::Bytes, ApiError>, BoxError> {
    let sent = Instant::now();
    let answer = connection.request(api, operation, body).await;
    requests.requests += 1;
    if answer.is_ok() {
        report::record_latency(&mut requests.histogram, sent.elapsed());
    }
    answer
}

/// Loops on `connection` until the deadline: SendMessageBatch, then (when cycling)
/// ReceiveMessage and DeleteMessageBatch of what came back.
pub async fn run(
    mut connection: Connection,
    worker: Worker,
    counters: Arc<Counters>,
) -> Result<Outcome, BoxError> {
    let mut outcome = Outcome::new();
    let mut failures = Failures { in_a_row: 0 };
    let mut rng = worker.seed;
    let entries = worker.batch.entries() as u64;
    while Instant::now() < worker.deadline {
        let body = worker.batch.build(&mut rng);
        let answer = timed(&mut connection, "SendMessageBatch", body, &mut outcome.send).await;
        let error = match answer {
            Ok(Ok(reply)) => {
                let result = wire::read_batch(&reply)?;
                let failed = result.failed.len() as u64;
                outcome.sent += result.successful;
                outcome.sent_bytes += result.successful * worker.message_bytes;
                outcome.failed_entries += failed;
                if outcome.first_error.is_none() {
                    outcome.first_error = result.first_error;
                }
                if result.successful + failed != entries {
                    return Err(format!(
                        "SendMessageBatch of {entries} answered for {} entries",
                        result.successful + failed
                    )
                    .into());
                }
                counters
                    .sent
                    .fetch_add(result.successful, Ordering::Relaxed);
                None
            }
            Ok(Err(error)) => Some(error.to_string()),
            Err(error) => Some(error.to_string()),
        };
        if let Some(error) = error {
            failures
                .record(
                    "SendMessageBatch",
                    error,
                    &mut outcome.send,
                    &mut outcome.first_error,
                )
                .await?;
            continue;
        }
        failures.in_a_row = 0;
        if !worker.cycle {
            continue;
        }

        let body = wire::receive_body(&worker.queue_url, RECEIVE_MESSAGES_MAX, RECEIVE_WAIT_SECS)?;
        let answer = timed(
            &mut connection,
            "ReceiveMessage",
            body,
            &mut outcome.receive,
        )
        .await;
        let received = match answer {
            Ok(Ok(reply)) => wire::read_receive(&reply)?,
            Ok(Err(error)) => {
                let error = error.to_string();
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
            Err(error) => {
                let error = error.to_string();
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
        if received.is_empty() {
            outcome.empty_receives += 1;
            continue;
        }
        outcome.received += received.len() as u64;

        let body = wire::delete_batch_body(&worker.queue_url, &received)?;
        let error = match timed(
            &mut connection,
            "DeleteMessageBatch",
            body,
            &mut outcome.delete,
        )
        .await
        {
            Ok(Ok(reply)) => {
                let result = wire::read_batch(&reply)?;
                let failed_bytes: u64 = result
                    .failed
                    .iter()
                    .filter_map(|id| id.parse::<usize>().ok())
                    .filter_map(|index| received.get(index))
                    .map(|m| m.body_bytes)
                    .sum();
                let all_bytes: u64 = received.iter().map(|m| m.body_bytes).sum();
                outcome.deleted += result.successful;
                outcome.deleted_bytes += all_bytes.saturating_sub(failed_bytes);
                outcome.failed_entries += result.failed.len() as u64;
                if outcome.first_error.is_none() {
                    outcome.first_error = result.first_error;
                }
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
    outcome.connects = connection.connects;
    Ok(outcome)
}
