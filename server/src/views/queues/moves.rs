//! Message move tasks: a background task moves a dead-letter queue's messages back to the
//! queues they came from (each message's recorded origin), or to one destination, at a
//! bounded rate. The ten most recent tasks per source queue are kept in the source's state
//! (`t/<handle>`, JSON), written when a task starts, after each batch it moves, when it is
//! cancelled and when it ends; a task running at a restart resumes where it stood (a
//! cancelled one ends as cancelled). Every message moved stays moved: each move is
//! acknowledged in the destination before it is finished in the source.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use storage::StateChange;

use super::index::Status;
use super::{Error, Queue, Queues, Result, StoredMessage, limits, lock, storage_error};

/// The prefix of move tasks' state keys (in the source queue's state).
pub(crate) const TASK_PREFIX: &[u8] = b"t/";

fn task_key(handle: &str) -> Bytes {
    let mut key = TASK_PREFIX.to_vec();
    key.extend_from_slice(handle.as_bytes());
    Bytes::from(key)
}

/// Where a move task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// It moves the messages below this offset (those present at its start).
    end: u64,
    stop: Arc<AtomicBool>,
}

/// A task as its state key keeps it.
#[derive(Serialize, Deserialize)]
struct StoredTask {
    task: MoveTask,
    end: u64,
}

/// The move tasks, by source queue, oldest first.
#[derive(Default)]
pub(crate) struct Registry {
    tasks: Mutex<HashMap<String, Vec<Entry>>>,
}

impl Registry {
    /// Changes a task; returns its state key's new value.
    fn update(
        &self,
        source: &str,
        handle: &str,
        change: impl FnOnce(&mut MoveTask),
    ) -> Option<Bytes> {
        let mut tasks = lock(&self.tasks);
        let entry = tasks
            .get_mut(source)
            .and_then(|tasks| tasks.iter_mut().find(|e| e.task.handle == handle))?;
        change(&mut entry.task);
        Some(entry.stored())
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

impl Entry {
    fn stored(&self) -> Bytes {
        let stored = StoredTask {
            task: self.task.clone(),
            end: self.end,
        };
        Bytes::from(serde_json::to_vec(&stored).unwrap_or_default())
    }
}

/// Messages one step of a move task takes.
const MOVE_BATCH_MAX: usize = 10;

impl Queues {
    /// Starts moving `source`'s messages (it must be some queue's dead-letter queue) to
    /// `destination`, or each back to the queue it came from, at most `rate_per_s` a second
    /// (1 to 500; `None`: 500). Only messages present now are moved. One running task per
    /// source ([`Error::MoveTaskRunning`]). Returns the task handle.
    pub async fn start_move_task(
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
        let writer = queue.writer.clone().lock_owned().await;
        let changes = {
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
            let entry = Entry {
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
                end,
                stop: stop.clone(),
            };
            let mut changes = vec![StateChange::put(task_key(&handle), entry.stored())];
            list.push(entry);
            let excess = list.len().saturating_sub(limits::MOVE_TASKS_LISTED_MAX);
            for old in list.drain(..excess) {
                changes.push(StateChange::delete(task_key(&old.task.handle)));
            }
            changes
        };
        if let Err(error) = self.commit(&queue, writer, changes).await {
            if let Some(list) = lock(&self.inner.moves.tasks).get_mut(source) {
                list.retain(|e| e.task.handle != handle);
            }
            return Err(error);
        }
        self.spawn_move(
            queue,
            handle.clone(),
            destination.map(str::to_string),
            end,
            rate,
            stop,
        );
        Ok(handle)
    }

    /// Runs a task (new or resumed) to its end, keeping its state key up to date.
    fn spawn_move(
        &self,
        queue: Arc<Queue>,
        handle: String,
        destination: Option<String>,
        end: u64,
        rate: u32,
        stop: Arc<AtomicBool>,
    ) {
        let view = self.clone();
        tokio::spawn(async move {
            let outcome = view
                .run_move(&queue, destination.as_deref(), end, rate, &stop, &handle)
                .await;
            let status = match &outcome {
                Ok(()) if stop.load(Ordering::Acquire) => MoveTaskStatus::Cancelled,
                Ok(()) => MoveTaskStatus::Completed,
                Err(_) => MoveTaskStatus::Failed,
            };
            if let Some(stored) = view.inner.moves.update(&queue.name, &handle, |task| {
                task.status = status;
                task.failure = outcome.err().map(|e| e.to_string());
            }) {
                view.persist_task(&queue, &handle, stored).await;
            }
        });
    }

    /// Writes a task's state key (a failure is logged: the task goes on).
    async fn persist_task(&self, queue: &Arc<Queue>, handle: &str, stored: Bytes) {
        if queue.deleted.load(Ordering::Acquire) {
            return;
        }
        let writer = queue.writer.clone().lock_owned().await;
        if let Err(error) = self
            .commit(
                queue,
                writer,
                vec![StateChange::put(task_key(handle), stored)],
            )
            .await
        {
            tracing::warn!(queue = queue.name, task = handle, %error, "Move task state not written");
        }
    }

    /// Loads a queue's move tasks from its state (at open).
    pub(crate) fn load_move_tasks(&self, queue: &Arc<Queue>) -> Result<()> {
        let mut entries = Vec::new();
        for (_, value) in queue
            .state
            .scan(TASK_PREFIX)
            .map_err(|e| storage_error(&queue.name, &e))?
        {
            match serde_json::from_slice::<StoredTask>(&value) {
                Ok(stored) => entries.push(Entry {
                    task: stored.task,
                    end: stored.end,
                    stop: Arc::new(AtomicBool::new(false)),
                }),
                Err(error) => {
                    tracing::warn!(queue = queue.name, %error, "Undecodable move task ignored");
                }
            }
        }
        entries.sort_by_key(|e| e.task.started_ms);
        if !entries.is_empty() {
            lock(&self.inner.moves.tasks).insert(queue.name.clone(), entries);
        }
        Ok(())
    }

    /// Resumes the tasks a restart interrupted (after every queue is loaded, so their
    /// destinations are found); a task being cancelled ends as cancelled. Needs a tokio
    /// runtime; without one they are left as they are.
    pub(crate) fn resume_move_tasks(&self) {
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let mut resumed = Vec::new();
        let mut cancelled = Vec::new();
        for (source, list) in lock(&self.inner.moves.tasks).iter_mut() {
            for entry in list.iter_mut() {
                match entry.task.status {
                    MoveTaskStatus::Running => resumed.push((
                        source.clone(),
                        entry.task.handle.clone(),
                        entry.task.destination.clone(),
                        entry.end,
                        entry.task.rate_per_s,
                        entry.stop.clone(),
                    )),
                    MoveTaskStatus::Cancelling => {
                        entry.task.status = MoveTaskStatus::Cancelled;
                        cancelled.push((source.clone(), entry.task.handle.clone(), entry.stored()));
                    }
                    _ => {}
                }
            }
        }
        for (source, handle, destination, end, rate, stop) in resumed {
            match self.queue(&source) {
                Ok(queue) => {
                    tracing::info!(queue = source, task = handle, "Move task resumed");
                    self.spawn_move(queue, handle, destination, end, rate, stop);
                }
                Err(_) => continue,
            }
        }
        for (source, handle, stored) in cancelled {
            if let Ok(queue) = self.queue(&source) {
                let view = self.clone();
                tokio::spawn(async move { view.persist_task(&queue, &handle, stored).await });
            }
        }
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
            // A message's origin is in its record; its body is not needed for that.
            let origins: Vec<Option<String>> = match destination {
                Some(name) => vec![Some(name.to_string()); offsets.len()],
                None => self
                    .read_records(&queue.stream, &offsets)
                    .into_iter()
                    .map(|data| StoredMessage::decode(&data?).ok()?.0.moved_from)
                    .collect(),
            };
            for (&offset, target) in offsets.iter().zip(origins) {
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
            if let Some(stored) = self.inner.moves.update(&queue.name, handle, |task| {
                task.moved += moved as u64;
            }) {
                self.persist_task(queue, handle, stored).await;
            }
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
    pub async fn cancel_move_task(&self, handle: &str) -> Result<u64> {
        let found = {
            let mut tasks = lock(&self.inner.moves.tasks);
            tasks.iter_mut().find_map(|(source, list)| {
                let entry = list.iter_mut().find(|e| e.task.handle == handle)?;
                if entry.task.status != MoveTaskStatus::Running {
                    return Some(Err(Error::MoveTaskNotFound(format!(
                        "Task {handle} is not running"
                    ))));
                }
                entry.task.status = MoveTaskStatus::Cancelling;
                entry.stop.store(true, Ordering::Release);
                Some(Ok((source.clone(), entry.task.moved, entry.stored())))
            })
        };
        let (source, moved, stored) = found.unwrap_or_else(|| {
            Err(Error::MoveTaskNotFound(format!(
                "Task {handle} does not exist"
            )))
        })?;
        // Durable before it is answered, so a restart does not resume a cancelled task.
        if let Ok(queue) = self.queue(&source) {
            let writer = queue.writer.clone().lock_owned().await;
            self.commit(
                &queue,
                writer,
                vec![StateChange::put(task_key(handle), stored)],
            )
            .await?;
        }
        Ok(moved)
    }
}
