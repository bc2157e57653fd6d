//! What the peer-server baselines (`strata-bench redis`, `strata-bench nats`) share: each
//! producer task's tally, and driving the producers for the load's duration with the
//! throughput sampled for the plot.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::args::Load;
use crate::plot::{Sampler, Timeline};
use crate::report;
use crate::storage::BoxError;

/// What one producer task, or all of them, saw.
pub struct Tally {
    /// Latency of each measured unit (a round trip, or a publish to its ack).
    pub histogram: hdrhistogram::Histogram<u64>,
    /// Records acknowledged.
    pub ok: u64,
    /// Records answered with an error.
    pub errors: u64,
    pub first_error: Option<String>,
}

impl Tally {
    pub fn new() -> Self {
        Self {
            histogram: report::latency_histogram(),
            ok: 0,
            errors: 0,
            first_error: None,
        }
    }

    /// Adds another task's tally into this one.
    pub fn add(&mut self, other: Self) -> Result<(), BoxError> {
        self.histogram.add(&other.histogram)?;
        self.ok += other.ok;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        Ok(())
    }
}

/// The producers' combined tally, the sampled throughput and how long they ran.
pub struct Driven {
    pub tally: Tally,
    pub timeline: Timeline,
    pub elapsed: Duration,
}

/// Runs `load.producers` tasks on `runtime`, each made by `producer(deadline, acked)`, where
/// a task adds the records acknowledged to `acked` as they come (the sampler reads it), and
/// waits for all of them.
pub fn drive<F, Fut>(
    runtime: &tokio::runtime::Runtime,
    load: &Load,
    mut producer: F,
) -> Result<Driven, BoxError>
where
    F: FnMut(Instant, Arc<AtomicU64>) -> Fut,
    Fut: Future<Output = Result<Tally, BoxError>> + Send + 'static,
{
    let acked = Arc::new(AtomicU64::new(0));
    let record_bytes = load.record_bytes;
    let started = Instant::now();
    let (tally, timeline) = runtime.block_on(async {
        let sampler = {
            let acked = Arc::clone(&acked);
            Sampler::start(move || {
                let records = acked.load(Ordering::Relaxed);
                (records, records * record_bytes)
            })
        };
        let deadline = Instant::now() + Duration::from_secs_f64(load.duration_secs);
        let tasks: Vec<_> = (0..load.producers)
            .map(|_| tokio::spawn(producer(deadline, Arc::clone(&acked))))
            .collect();
        let mut total = Tally::new();
        for task in tasks {
            total.add(task.await??)?;
        }
        Ok::<_, BoxError>((total, sampler.finish()))
    })?;
    Ok(Driven {
        tally,
        timeline,
        elapsed: started.elapsed(),
    })
}
