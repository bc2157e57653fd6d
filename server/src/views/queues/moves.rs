//! Message move tasks: a background task moves a dead-letter queue's messages back to the
//! queues they came from (each message's recorded origin), or to one destination, at a
//! bounded rate. Tasks are kept in memory (the ten most recent per source queue); a restart
//! ends a running task where it stood, and every message it moved stays moved (each move is
//! acknowledged in the destination before it is finished in the source).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::index::Status;
use super::{Error, Queue, Queues, Result, limits, lock};

/// Where a move task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoveTaskStatus {
    /// Moving.
    Running,
    /// Asked to stop; stops after its current batch.
    Cancelling,
    /// Stopped by a cancel.
    Cancelled,
    /// Every message present at its start was moved.
    Completed,
    /// Stopped by an error ([`MoveTask::failure`]).
    Failed,
}

impl MoveTaskStatus {
    /// The AWS name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Cancelling => "CANCELLING",
            Self::Cancelled => "CANCELLED",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
        }
    }
}

/// A move task as ListMessageMoveTasks describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoveTask {
    /// Its handle (for CancelMessageMoveTask).
    pub handle: String,
    /// Where it stands.
    pub status: MoveTaskStatus,
    /// The queue it moves from.
    pub source: String,
    /// The queue it moves to; `None`: each message's own source queue.
    pub destination: Option<String>,
    /// Its rate limit, messages per second.
    pub rate_per_s: u32,
    /// Messages moved so far.
    pub moved: u64,
    /// Messages it set out to move.
    pub to_move: u64,
    /// Why it failed.
    pub failure: Option<String>,
    /// When it started (ms since the epoch).
    pub started_ms: i64,
}

struct Entry {
    task: MoveTask,
    stop: Arc<AtomicBool>,
}

/// The move tasks, by source queue, oldest first.
#[derive(Default)]
pub(crate) struct Registry {
    tasks: Mutex<HashMap<String, Vec<Entry>>>,
}

impl Registry {
    fn update(&self, source: &str, handle: &str, change: impl FnOnce(&mut MoveTask)) {
        if let Some(entry) = lock(&self.tasks)
            .get_mut(source)
            .and_then(|tasks| tasks.iter_mut().find(|e| e.task.handle == handle))
        {
            change(&mut entry.task);
        }
    }

    /// Stops every task of a deleted queue.
    pub(crate) fn cancel_all(&self, source: &str) {
        if let Some(tasks) = lock(&self.tasks).remove(source) {
            for entry in tasks {
                entry.stop.store(true, Ordering::Release);
            }
        }
    }
}

/// Messages one step of a move task takes.
const MOVE_BATCH_MAX: usize = 10;

impl Queues {
    /// Starts moving `source`'s messages (it must be some queue's dead-letter queue) to
    /// `destination`, or each back to the queue it came from, at most `rate_per_s` a second
    /// (1 to 500; `None`: 500). Only messages present now are moved. One running task per
    /// source ([`Error::MoveTaskRunning`]). Returns the task handle.
    pub fn start_move_task(
        &self,
        source: &str,
        destination: Option<&str>,
        rate_per_s: Option<u32>,
    ) -> Result<String> {
        let queue = self.queue(source)?;
        let rate = rate_per_s.unwrap_or(limits::MOVE_RATE_MAX);
        if !(1..=limits::MOVE_RATE_MAX).contains(&rate) {
            return Err(Error::InvalidValue(format!(
                "MaxNumberOfMessagesPerSecond must be 1 to {}",
                limits::MOVE_RATE_MAX
            )));
        }
        if self.dead_letter_sources(source)?.is_empty() {
            return Err(Error::InvalidValue(format!(
                "Source queue {source} is not a dead-letter queue of any queue"
            )));
        }
        if let Some(destination) = destination {
            let target = self.queue(destination)?;
            if destination == source {
                return Err(Error::InvalidValue(
                    "the destination cannot be the source".into(),
                ));
            }
            if lock(&target.config).attributes.fifo != lock(&queue.config).attributes.fifo {
                return Err(Error::InvalidValue(
                    "the destination must be of the source's type".into(),
                ));
            }
        }
        self.catch_up(&queue)?;
        let now = self.now_ms();
        let (end, to_move) = {
            let mut index = lock(&queue.index);
            index.promote(now);
            (index.frontier, index.counts().visible)
        };
        let handle = format!("{}", super::MessageId::random());
        let stop = Arc::new(AtomicBool::new(false));
        {
            let mut tasks = lock(&self.inner.moves.tasks);
            let list = tasks.entry(source.to_string()).or_default();
            if list.iter().any(|e| {
                matches!(
                    e.task.status,
                    MoveTaskStatus::Running | MoveTaskStatus::Cancelling
                )
            }) {
                return Err(Error::MoveTaskRunning(format!(
                    "There is already a task running on {source}"
                )));
            }
            list.push(Entry {
                task: MoveTask {
                    handle: handle.clone(),
                    status: MoveTaskStatus::Running,
                    source: source.to_string(),
                    destination: destination.map(str::to_string),
                    rate_per_s: rate,
                    moved: 0,
                    to_move,
                    failure: None,
                    started_ms: now,
                },
                stop: stop.clone(),
            });
            let excess = list.len().saturating_sub(limits::MOVE_TASKS_LISTED_MAX);
            list.drain(..excess);
        }
        let view = self.clone();
        let destination = destination.map(str::to_string);
        let task_handle = handle.clone();
        tokio::spawn(async move {
            let outcome = view
                .run_move(
                    &queue,
                    destination.as_deref(),
                    end,
                    rate,
                    &stop,
                    &task_handle,
                )
                .await;
            let status = match &outcome {
                Ok(()) if stop.load(Ordering::Acquire) => MoveTaskStatus::Cancelled,
                Ok(()) => MoveTaskStatus::Completed,
                Err(_) => MoveTaskStatus::Failed,
            };
            view.inner.moves.update(&queue.name, &task_handle, |task| {
                task.status = status;
                task.failure = outcome.err().map(|e| e.to_string());
            });
        });
        Ok(handle)
    }

    async fn run_move(
        &self,
        queue: &Arc<Queue>,
        destination: Option<&str>,
        end: u64,
        rate: u32,
        stop: &AtomicBool,
        handle: &str,
    ) -> Result<()> {
        loop {
            if stop.load(Ordering::Acquire) || queue.deleted.load(Ordering::Acquire) {
                return Ok(());
            }
            let now = self.now_ms();
            let batch_max = MOVE_BATCH_MAX.min(rate as usize);
            let offsets = {
                let mut index = lock(&queue.index);
                index.promote(now);
                let offsets = index.ready_before(end, batch_max);
                for &offset in &offsets {
                    index.set_status(offset, Status::Moving);
                }
                offsets
            };
            if offsets.is_empty() {
                return Ok(());
            }
            // Group by destination: the given one, or each message's origin.
            let mut by_target: BTreeMap<String, Vec<u64>> = BTreeMap::new();
            for &offset in &offsets {
                let target = match destination {
                    Some(name) => Some(name.to_string()),
                    None => self
                        .read_message(queue, offset)
                        .and_then(|message| message.moved_from),
                };
                let Some(target) = target else {
                    self.release(queue, &offsets);
                    return Err(Error::InvalidValue(
                        "a message has no source queue to move back to".into(),
                    ));
                };
                by_target.entry(target).or_default().push(offset);
            }
            let mut moved = 0;
            for (target, offsets) in &by_target {
                let Ok(target_queue) = self.queue(target) else {
                    self.release(queue, offsets);
                    return Err(Error::QueueNotFound(target.clone()));
                };
                moved += self
                    .move_messages(queue, &target_queue, offsets, None)
                    .await?;
            }
            self.inner.moves.update(&queue.name, handle, |task| {
                task.moved += moved as u64;
            });
            let pause = Duration::from_millis(1000 * offsets.len() as u64 / u64::from(rate));
            tokio::time::sleep(pause).await;
        }
    }

    /// The move tasks of `source`, newest first (at most 10).
    pub fn list_move_tasks(&self, source: &str) -> Result<Vec<MoveTask>> {
        self.queue(source)?;
        Ok(lock(&self.inner.moves.tasks)
            .get(source)
            .map(|tasks| tasks.iter().rev().map(|e| e.task.clone()).collect())
            .unwrap_or_default())
    }

    /// Cancels a running move task; returns the messages it moved so far. Moved messages
    /// stay moved.
    pub fn cancel_move_task(&self, handle: &str) -> Result<u64> {
        let mut tasks = lock(&self.inner.moves.tasks);
        for list in tasks.values_mut() {
            if let Some(entry) = list.iter_mut().find(|e| e.task.handle == handle) {
                if entry.task.status != MoveTaskStatus::Running {
                    return Err(Error::MoveTaskNotFound(format!(
                        "Task {handle} is not running"
                    )));
                }
                entry.task.status = MoveTaskStatus::Cancelling;
                entry.stop.store(true, Ordering::Release);
                return Ok(entry.task.moved);
            }
        }
        Err(Error::MoveTaskNotFound(format!(
            "Task {handle} does not exist"
        )))
    }
}
