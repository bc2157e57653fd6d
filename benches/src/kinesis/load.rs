//! The load itself: PutRecords producers, GetRecords readers, live progress, CPU use.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use hdrhistogram::Histogram;

use super::wire::{self, Connection, STAMP_BYTES, Start};
use crate::plot::Sampler;
use crate::report::{self, Live, decimal, group};
use crate::storage::BoxError;

/// Transport failures in a row after which a task gives up.
const TRANSPORT_FAILURES_MAX: u32 = 10;
/// Pause after an error answer or a failed request before trying again.
const ERROR_PAUSE: Duration = Duration::from_millis(20);

/// Records and payload bytes done so far, for the live progress line.
#[derive(Default)]
pub struct Counters {
    put_records: AtomicU64,
    put_bytes: AtomicU64,
    get_records: AtomicU64,
    get_bytes: AtomicU64,
}

impl Counters {
    /// Samples records and bytes put so far, for `--plot`.
    pub fn sample_put(self: &Arc<Self>) -> Sampler {
        let counters = Arc::clone(self);
        Sampler::start(move || {
            (
                counters.put_records.load(Ordering::Relaxed),
                counters.put_bytes.load(Ordering::Relaxed),
            )
        })
    }

    /// Samples records and bytes read so far, for `--plot`.
    pub fn sample_get(self: &Arc<Self>) -> Sampler {
        let counters = Arc::clone(self);
        Sampler::start(move || {
            (
                counters.get_records.load(Ordering::Relaxed),
                counters.get_bytes.load(Ordering::Relaxed),
            )
        })
    }
}

/// Shows put and get rates once per second until dropped.
pub struct Ticker(tokio::task::JoinHandle<()>);

impl Ticker {
    pub fn start(label: String, counters: Arc<Counters>) -> Self {
        Self(tokio::spawn(async move {
            let live = Live::new(label);
            let started = Instant::now();
            let mut interval = tokio::time::interval(Duration::from_secs(1));
            interval.tick().await;
            let mut last = [0u64; 4];
            loop {
                interval.tick().await;
                let now = [
                    counters.put_records.load(Ordering::Relaxed),
                    counters.put_bytes.load(Ordering::Relaxed),
                    counters.get_records.load(Ordering::Relaxed),
                    counters.get_bytes.load(Ordering::Relaxed),
                ];
                let delta: Vec<u64> = now.iter().zip(&last).map(|(n, l)| n - l).collect();
                live.show(&format!(
                    "{:>5.1}s: put {} rec/s, {} MB/s; get {} rec/s, {} MB/s",
                    started.elapsed().as_secs_f64(),
                    group(delta.first().copied().unwrap_or(0)),
                    decimal(delta.get(1).copied().unwrap_or(0) as f64 / report::MB),
                    group(delta.get(2).copied().unwrap_or(0)),
                    decimal(delta.get(3).copied().unwrap_or(0) as f64 / report::MB),
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

/// PutRecords request bodies: `records` records of a fixed payload whose first bytes are the
/// send time, each under a random partition key.
pub struct PutBatch {
    /// `{"StreamName":"…","Records":[`
    head: Vec<u8>,
    /// Base64 of the payload after the stamp.
    tail: String,
    records: usize,
}

impl PutBatch {
    /// Bodies for `stream` (a name needing no JSON escapes) of `records` records of
    /// `record_bytes` (at least [`STAMP_BYTES`]).
    pub fn new(stream: &str, records: usize, record_bytes: usize) -> Self {
        let filler: Vec<u8> = (0..record_bytes.saturating_sub(STAMP_BYTES))
            .map(|i| (i % 251) as u8)
            .collect();
        Self {
            head: format!(r#"{{"StreamName":"{stream}","Records":["#).into_bytes(),
            tail: STANDARD.encode(filler),
            records,
        }
    }

    /// Records in one request.
    pub fn records(&self) -> usize {
        self.records
    }

    /// One request body stamped `nanos`, drawing keys from `rng`.
    pub fn build(&self, nanos: u64, rng: &mut u64) -> Bytes {
        const DATA: &[u8] = br#"{"Data":""#;
        const KEY: &[u8] = br#"","PartitionKey":""#;
        let stamp = wire::write_stamp(nanos);
        let entry = DATA.len() + stamp.len() + self.tail.len() + KEY.len() + 16 + 3;
        let mut body = Vec::with_capacity(self.head.len() + self.records * entry + 2);
        body.extend_from_slice(&self.head);
        for index in 0..self.records {
            if index > 0 {
                body.push(b',');
            }
            body.extend_from_slice(DATA);
            body.extend_from_slice(&stamp);
            body.extend_from_slice(self.tail.as_bytes());
            body.extend_from_slice(KEY);
            let key = splitmix64(rng);
            for shift in (0..16).rev() {
                body.push(b"0123456789abcdef"[((key >> (shift * 4)) & 0xf) as usize]);
            }
            body.extend_from_slice(b"\"}");
        }
        body.extend_from_slice(b"]}");
        Bytes::from(body)
    }
}

/// The next value of a splitmix64 sequence.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What one producer saw.
pub struct PutOutcome {
    pub histogram: Histogram<u64>,
    pub records: u64,
    pub bytes: u64,
    pub requests: u64,
    pub failed_records: u64,
    pub failed_requests: u64,
    pub first_error: Option<String>,
}

/// Sends PutRecords requests one after the other on `connection` until `deadline`.
pub async fn produce(
    mut connection: Connection,
    batch: Arc<PutBatch>,
    record_bytes: u64,
    seed: u64,
    base: Instant,
    deadline: Instant,
    counters: Arc<Counters>,
) -> Result<PutOutcome, BoxError> {
    let mut outcome = PutOutcome {
        histogram: report::latency_histogram(),
        records: 0,
        bytes: 0,
        requests: 0,
        failed_records: 0,
        failed_requests: 0,
        first_error: None,
    };
    let mut rng = seed;
    let mut broken = 0;
    while Instant::now() < deadline {
        let nanos = u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let body = batch.build(nanos, &mut rng);
        let sent = Instant::now();
        let answer = connection.call("PutRecords", body).await;
        outcome.requests += 1;
        match answer {
            Ok(Ok(reply)) => {
                broken = 0;
                report::record_latency(&mut outcome.histogram, sent.elapsed());
                let (failed, first) = wire::read_put_records(&reply)?;
                let stored = (batch.records() as u64).saturating_sub(failed);
                outcome.records += stored;
                outcome.bytes += stored * record_bytes;
                outcome.failed_records += failed;
                if outcome.first_error.is_none() {
                    outcome.first_error = first;
                }
                counters.put_records.fetch_add(stored, Ordering::Relaxed);
                counters
                    .put_bytes
                    .fetch_add(stored * record_bytes, Ordering::Relaxed);
            }
            Ok(Err(error)) => {
                outcome.failed_requests += 1;
                outcome.first_error.get_or_insert_with(|| error.to_string());
                if !error.retryable() {
                    return Err(format!("PutRecords: {error}").into());
                }
                tokio::time::sleep(ERROR_PAUSE).await;
            }
            Err(error) => {
                outcome.failed_requests += 1;
                outcome.first_error.get_or_insert_with(|| error.to_string());
                broken += 1;
                if broken >= TRANSPORT_FAILURES_MAX {
                    return Err(
                        format!("PutRecords failed {broken} times in a row: {error}").into(),
                    );
                }
                tokio::time::sleep(ERROR_PAUSE).await;
            }
        }
    }
    Ok(outcome)
}

/// How a reader ends.
pub struct Finish {
    /// Set once no more records are coming (producers done); a reader then reads on until a
    /// page comes back empty with nothing behind.
    pub done: Arc<AtomicBool>,
    /// Longest a reader keeps reading once `done` is set.
    pub catch_up: Duration,
}

/// What one reader saw.
pub struct GetOutcome {
    /// Put-to-get latency of the stamped records (when measured).
    pub e2e: Histogram<u64>,
    /// GetRecords request latency.
    pub requests_latency: Histogram<u64>,
    pub records: u64,
    pub bytes: u64,
    pub requests: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Read to the end before its catch-up time ran out.
    pub caught_up: bool,
}

/// One shard reader's fixed settings.
pub struct Reader {
    pub stream: String,
    pub shard: String,
    pub limit: u32,
    pub poll: Duration,
    /// The clock record stamps count from, if put-to-get latency is measured.
    pub stamps: Option<Instant>,
}

/// Follows one shard with GetRecords and `NextShardIterator` from `iterator`, until the shard
/// ends or, after `finish.done`, it is caught up (or its catch-up time is spent).
pub async fn read_shard(
    mut connection: Connection,
    reader: Reader,
    mut iterator: String,
    finish: Finish,
    counters: Arc<Counters>,
) -> Result<GetOutcome, BoxError> {
    let mut outcome = GetOutcome {
        e2e: report::latency_histogram(),
        requests_latency: report::latency_histogram(),
        records: 0,
        bytes: 0,
        requests: 0,
        errors: 0,
        first_error: None,
        caught_up: false,
    };
    let mut last_sequence: Option<String> = None;
    let mut stop_at: Option<Instant> = None;
    let mut broken = 0;
    loop {
        let finishing = finish.done.load(Ordering::Acquire);
        if finishing {
            let stop_at = *stop_at.get_or_insert_with(|| Instant::now() + finish.catch_up);
            if Instant::now() >= stop_at {
                break;
            }
        }
        let sent = Instant::now();
        let body = wire::get_records_body(&iterator, reader.limit)?;
        let answer = connection.call("GetRecords", body).await;
        outcome.requests += 1;
        let error = match answer {
            Ok(Ok(reply)) => {
                broken = 0;
                report::record_latency(&mut outcome.requests_latency, sent.elapsed());
                let now = reader
                    .stamps
                    .map(|base| u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX));
                let page = wire::read_page(&reply, |stamp| {
                    if let Some(now) = now
                        && stamp <= now
                    {
                        report::record_latency(&mut outcome.e2e, Duration::from_nanos(now - stamp));
                    }
                })?;
                outcome.records += page.records;
                outcome.bytes += page.bytes;
                counters
                    .get_records
                    .fetch_add(page.records, Ordering::Relaxed);
                counters.get_bytes.fetch_add(page.bytes, Ordering::Relaxed);
                if page.last_sequence.is_some() {
                    last_sequence = page.last_sequence;
                }
                let Some(next) = page.next_iterator else {
                    outcome.caught_up = true;
                    break;
                };
                iterator = next;
                if page.records == 0 && page.millis_behind_latest == 0 {
                    if finishing {
                        outcome.caught_up = true;
                        break;
                    }
                    tokio::time::sleep(reader.poll).await;
                }
                continue;
            }
            Ok(Err(error)) => {
                if error.kind == "ExpiredIteratorException" {
                    let start = match &last_sequence {
                        Some(sequence) => Start::After(sequence),
                        None => Start::TrimHorizon,
                    };
                    iterator =
                        wire::shard_iterator(&mut connection, &reader.stream, &reader.shard, start)
                            .await?;
                } else if !error.retryable() {
                    return Err(format!("GetRecords on {}: {error}", reader.shard).into());
                }
                error.to_string()
            }
            Err(error) => {
                broken += 1;
                if broken >= TRANSPORT_FAILURES_MAX {
                    return Err(
                        format!("GetRecords failed {broken} times in a row: {error}").into(),
                    );
                }
                error.to_string()
            }
        };
        outcome.errors += 1;
        outcome.first_error.get_or_insert(error);
        tokio::time::sleep(ERROR_PAUSE).await;
    }
    Ok(outcome)
}

/// CPU time (user + system) a process has used: `None` for this process.
pub fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    /// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on Linux's ABI).
    const TICKS_PER_SECOND: u64 = 100;
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name (which may hold spaces), from field 3 (state) on.
    let mut fields = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let user: u64 = fields.nth(11)?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis(
        (user + system) * 1000 / TICKS_PER_SECOND,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_valid_put_records_bodies() {
        let batch = PutBatch::new("bench", 3, 100);
        let mut rng = 7;
        let body = batch.build(99, &mut rng);
        let value: serde_json::Value = serde_json::from_slice(&body).expect("valid JSON");
        assert_eq!(value["StreamName"], "bench");
        let records = value["Records"].as_array().expect("records");
        assert_eq!(records.len(), 3);
        let data = STANDARD
            .decode(records[0]["Data"].as_str().expect("data"))
            .expect("base64");
        assert_eq!(data.len(), 100);
        assert_eq!(&data[..8], &99u64.to_le_bytes());
        let keys: Vec<&str> = records
            .iter()
            .map(|r| r["PartitionKey"].as_str().expect("key"))
            .collect();
        assert_eq!(keys[0].len(), 16);
        assert_ne!(keys[0], keys[1]);
    }

    #[test]
    fn reads_own_cpu_time() {
        assert!(cpu_time(None).is_some());
    }
}
