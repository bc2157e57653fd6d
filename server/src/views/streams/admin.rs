//! Stream administration: retention, resharding (split, merge, uniform scaling), tags,
//! server-side encryption, enhanced monitoring, record size, capacity mode, warm throughput,
//! resource policies, account limits and the account's billing commitment.
//!
//! - Stream settings live in [`super::meta`]. A consumer's tags live where
//!   [`super::consumers`] keeps those given at registration (`kinesis.consumer.tags/<stream>/
//!   <consumer>`, one key per tag). A consumer's policy lives in the namespace
//!   `kinesis.consumer.policy/<stream>` under `<consumer>:<created ms>`: keyed by the
//!   registration time, so a consumer registered again under the same name starts without
//!   one; keys of consumers no longer registered are removed on the next write there.
//! - The account's settings live in the namespace `kinesis.account`; the billing commitment
//!   is one key, `billing_commitment` = `<started ms>,<ended ms>,<disable pending 0|1>`
//!   (empty fields for none), so each change is one journal entry.
//! - Changes that AWS makes asynchronously (resharding, encryption, monitoring, record size,
//!   mode, warm throughput) need an ACTIVE stream and leave it UPDATING for the configured
//!   state-change time. Resharding also holds the stream UPDATING while it runs, so a
//!   concurrent change is refused with ResourceInUseException, as on AWS, even when the
//!   state-change time is zero.
//! - UpdateShardCount ([`reshard_plan`]) splits every open shard at each boundary of the
//!   evenly divided target layout inside it, then merges the pieces of each target range;
//!   the short-lived intermediate shards stay in the lineage, as AWS documents.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::ops::Bound;
use std::time::Duration;

use protocol::aws::kinesis::limits::{RETENTION_HOURS_MAX, RETENTION_HOURS_MIN, TAGS_MAX};
use storage::ShardInfo;

use super::consumers::Consumer;
use super::error::{Error, Result};
use super::meta::{Mode, StreamMeta};
use super::{Status, StreamView, Streams, Transition, lock, sequence};

/// Open shards an account may have (DescribeLimits' `ShardLimit`), the default of the
/// largest regions:
/// <https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html>.
pub const ACCOUNT_SHARDS_MAX: u32 = 500;
/// ON_DEMAND streams an account may have (`OnDemandStreamCountLimit`), same page.
pub const ACCOUNT_ON_DEMAND_STREAMS_MAX: u32 = 50;
/// The largest TargetShardCount of UpdateShardCount (its documented limits:
/// <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_UpdateShardCount.html>).
pub const SCALING_SHARDS_MAX: u32 = 10_000;
/// The largest warm throughput of an ON_DEMAND stream, MiB/s (10 GiB/s:
/// <https://docs.aws.amazon.com/kinesis/latest/APIReference/API_UpdateStreamWarmThroughput.html>).
pub const WARM_THROUGHPUT_MIBPS_MAX: u32 = 10 * 1024;
/// How long a minimum throughput billing commitment lasts at least, in milliseconds.
pub const COMMITMENT_MINIMUM_MS: i64 = 24 * 3600 * 1000;
/// The shard-level metrics, in the model's order; `ALL` stands for all of them.
pub const SHARD_METRICS: [&str; 7] = [
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
];
/// The name that enables or disables every shard-level metric.
pub const ALL_METRICS: &str = "ALL";

/// How long a running reshard may hold its stream UPDATING at most (it releases the hold
/// when it ends; this only bounds a hold whose release was lost).
const RESHARD_HOLD: Duration = Duration::from_secs(3600);

const ACCOUNT_NAMESPACE: &str = "kinesis.account";
const COMMITMENT_KEY: &str = "billing_commitment";

/// Which way a retention change may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetentionChange {
    /// IncreaseStreamRetentionPeriod: never shorter than now.
    Increase,
    /// DecreaseStreamRetentionPeriod: never longer than now.
    Decrease,
}

/// One step of a uniform reshard. Shards are named by hash key, since the ids of the
/// shards a step works on are assigned by the steps before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReshardStep {
    /// Split the open shard holding `at`, so that `at` is the upper child's first key.
    Split {
        /// The upper child's first hash key.
        at: u128,
    },
    /// Merge the open shard starting at `lower` with the open shard starting at `upper`,
    /// which begins right after it.
    Merge {
        /// First hash key of the lower shard (the child's parent).
        lower: u128,
        /// First hash key of the upper shard (the child's adjacent parent).
        upper: u128,
    },
}

/// The first hash key of each of `count` shards dividing the key space evenly, as the
/// engine divides it for a new stream (`2^128 / count` keys each, the rest in the last).
pub fn uniform_starts(count: u32) -> Vec<u128> {
    let count_wide = u128::from(count.max(1));
    let width = u128::MAX / count_wide
        + u128::from(count_wide > 1 && u128::MAX % count_wide == count_wide - 1);
    (0..count.max(1)).map(|i| width * u128::from(i)).collect()
}

/// The steps that turn the open shards `open` (first and last hash key of each, ordered,
/// together covering the key space) into `target` shards dividing the key space evenly.
///
/// Every open shard is split at each target boundary strictly inside it; afterwards every
/// piece lies inside one target range, and the pieces of each range are merged from the
/// lowest up. A shard already equal to its target range is left alone, so doubling an even
/// layout only splits and halving one only merges.
pub fn reshard_plan(open: &[(u128, u128)], target: u32) -> Vec<ReshardStep> {
    let starts = uniform_starts(target);
    let boundaries: BTreeSet<u128> = starts.iter().copied().skip(1).collect();
    let mut steps = Vec::new();
    let mut pieces: Vec<u128> = Vec::new();
    for &(first, last) in open {
        pieces.push(first);
        for &at in boundaries.range((Bound::Excluded(first), Bound::Included(last))) {
            steps.push(ReshardStep::Split { at });
            pieces.push(at);
        }
    }
    // Pieces are given by their first key, in order; a piece belongs to the target range
    // whose start is the greatest start not above the piece's.
    let mut range_first: Option<(u128, u128)> = None; // (target start, first piece)
    for piece in pieces {
        let index = starts
            .partition_point(|start| *start <= piece)
            .saturating_sub(1);
        let range = starts.get(index).copied().unwrap_or(0);
        match range_first {
            Some((current, lower)) if current == range => {
                steps.push(ReshardStep::Merge {
                    lower,
                    upper: piece,
                });
            }
            _ => range_first = Some((range, piece)),
        }
    }
    steps
}

/// A resource that carries tags and a resource policy: a stream or a registered consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resource {
    /// A stream, by name.
    Stream(String),
    /// A registered consumer.
    Consumer(Consumer),
}

impl Resource {
    fn describe_for_messages(&self, account: &str) -> String {
        match self {
            Self::Stream(stream) => format!("stream {stream} under account {account}"),
            Self::Consumer(consumer) => format!("resource {}", consumer.arn),
        }
    }
}

/// The account's shard and ON_DEMAND stream counts and limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Open shards the account may have.
    pub shards_max: u32,
    /// Open shards of every stream.
    pub open_shards: u32,
    /// ON_DEMAND streams.
    pub on_demand_streams: u32,
    /// ON_DEMAND streams the account may have.
    pub on_demand_streams_max: u32,
}

/// The status of the account's minimum throughput billing commitment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitmentStatus {
    /// Committed.
    Enabled,
    /// Not committed.
    Disabled,
    /// Committed; disabling was asked for before the earliest allowed end, so it ends then.
    EnabledUntilEarliestAllowedEnd,
}

impl CommitmentStatus {
    /// The AWS name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "ENABLED",
            Self::Disabled => "DISABLED",
            Self::EnabledUntilEarliestAllowedEnd => "ENABLED_UNTIL_EARLIEST_ALLOWED_END",
        }
    }

    /// Whether the commitment is in force (warm throughput may be set).
    pub fn in_force(self) -> bool {
        self != Self::Disabled
    }
}

/// The account's minimum throughput billing commitment, as of now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Commitment {
    /// Its status.
    pub status: CommitmentStatus,
    /// When it started, ms since the epoch.
    pub started_ms: Option<i64>,
    /// When it ended.
    pub ended_ms: Option<i64>,
    /// The earliest time it may end (while it is in force).
    pub earliest_end_ms: Option<i64>,
}

/// The stored form of the commitment: what happened, not the status (which depends on now).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct CommitmentRecord {
    started_ms: Option<i64>,
    ended_ms: Option<i64>,
    disable_pending: bool,
}

impl CommitmentRecord {
    fn parse(text: &str) -> Self {
        let mut fields = text.split(',');
        let mut number = || fields.next().and_then(|field| field.parse::<i64>().ok());
        let started_ms = number();
        let ended_ms = number();
        let disable_pending = number() == Some(1);
        Self {
            started_ms,
            ended_ms,
            disable_pending,
        }
    }

    fn encode(self) -> String {
        let field = |value: Option<i64>| value.map(|v| v.to_string()).unwrap_or_default();
        format!(
            "{},{},{}",
            field(self.started_ms),
            field(self.ended_ms),
            u8::from(self.disable_pending)
        )
    }

    fn at(self, now_ms: i64) -> Commitment {
        let Some(started) = self.started_ms else {
            return Commitment {
                status: CommitmentStatus::Disabled,
                started_ms: None,
                ended_ms: None,
                earliest_end_ms: None,
            };
        };
        let earliest = started.saturating_add(COMMITMENT_MINIMUM_MS);
        let (status, ended_ms, earliest_end_ms) = match self.ended_ms {
            Some(ended) => (CommitmentStatus::Disabled, Some(ended), None),
            None if self.disable_pending && now_ms >= earliest => {
                (CommitmentStatus::Disabled, Some(earliest), None)
            }
            None if self.disable_pending => (
                CommitmentStatus::EnabledUntilEarliestAllowedEnd,
                None,
                Some(earliest),
            ),
            None => (CommitmentStatus::Enabled, None, Some(earliest)),
        };
        Commitment {
            status,
            started_ms: Some(started),
            ended_ms,
            earliest_end_ms,
        }
    }

    /// The record after asking for `enabled` at `now_ms`.
    fn change(self, enabled: bool, now_ms: i64) -> Self {
        let current = self.at(now_ms);
        match (enabled, current.status) {
            (true, CommitmentStatus::Disabled) => Self {
                started_ms: Some(now_ms),
                ended_ms: None,
                disable_pending: false,
            },
            (true, _) => Self {
                disable_pending: false,
                ..self
            },
            (false, CommitmentStatus::Enabled) => match current.earliest_end_ms {
                Some(earliest) if now_ms < earliest => Self {
                    disable_pending: true,
                    ..self
                },
                _ => Self {
                    ended_ms: Some(now_ms),
                    disable_pending: false,
                    ..self
                },
            },
            // A disable that took effect at the earliest end is written down as ended then.
            (false, CommitmentStatus::Disabled) => Self {
                ended_ms: current.ended_ms,
                disable_pending: false,
                ..self
            },
            (false, CommitmentStatus::EnabledUntilEarliestAllowedEnd) => self,
        }
    }
}

/// Holds a stream UPDATING while a reshard runs; dropping it releases the hold (unless
/// something else, such as a delete, replaced it) and starts the ordinary UPDATING
/// transition.
struct UpdateHold {
    streams: Streams,
    stream: String,
    until: i64,
}

impl Drop for UpdateHold {
    fn drop(&mut self) {
        let released = {
            let mut transitions = lock(&self.streams.inner.transitions);
            let ours = transitions
                .get(&self.stream)
                .is_some_and(|t| t.status == Status::Updating && t.until == self.until);
            if ours {
                transitions.remove(&self.stream);
            }
            ours
        };
        if released {
            self.streams
                .begin_transition(&self.stream, Status::Updating);
        }
    }
}

/// The namespace of a consumer's tags: the layout [`super::consumers`] documents and
/// fills at registration.
fn consumer_tags_namespace(consumer: &Consumer) -> String {
    format!(
        "kinesis.consumer.tags/{}/{}",
        consumer.stream, consumer.name
    )
}

fn consumer_policy_namespace(stream: &str) -> String {
    format!("kinesis.consumer.policy/{stream}")
}

fn consumer_policy_key(consumer: &Consumer) -> String {
    format!("{}:{}", consumer.name, consumer.created_ms)
}

/// Whether a tag key or value may hold `c` (letters, digits, white space, `_ . / = + - @ :`).
pub fn allowed_tag_character(c: char) -> bool {
    c.is_alphanumeric()
        || c.is_whitespace()
        || matches!(c, '_' | '.' | '/' | '=' | '+' | '-' | '@' | ':')
}

/// Runs engine work on its own task, so that a caller going away (a closed connection)
/// cannot stop a reshard between two of its steps.
async fn detached<T: Send + 'static>(
    work: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    match tokio::spawn(work).await {
        Ok(result) => result,
        Err(error) => Err(Error::Internal(error.to_string())),
    }
}

/// Kinesis's retention rule, 24 to 8760 hours, as the one check of every path that sets a
/// Kinesis stream's retention (CreateStream, Increase/DecreaseStreamRetentionPeriod, the
/// native CreateStream); the engine itself takes any positive retention.
///
/// # Errors
/// [`Error::InvalidArgument`] with Kinesis's messages outside the bounds.
pub fn retention_from_hours(hours: i64) -> Result<Duration> {
    if hours < i64::from(RETENTION_HOURS_MIN) {
        return Err(Error::InvalidArgument(format!(
            "Minimum allowed retention period is {RETENTION_HOURS_MIN} hours. Requested \
            retention period ({hours} hours) is too short."
        )));
    }
    if hours > i64::from(RETENTION_HOURS_MAX) {
        return Err(Error::InvalidArgument(format!(
            "Maximum allowed retention period is {RETENTION_HOURS_MAX} hours. Requested \
            retention period ({hours} hours) is too long."
        )));
    }
    Ok(Duration::from_secs(hours.unsigned_abs() * 3600))
}

impl Streams {
    fn ensure_provisioned(&self, view: &StreamView, operation: &str) -> Result<()> {
        if view.meta.mode == Mode::OnDemand {
            return Err(Error::Validation(format!(
                "{operation} is not supported for stream {} under account {} because it is in \
                ON_DEMAND capacity mode.",
                view.info.name, self.inner.settings.account
            )));
        }
        Ok(())
    }

    /// Marks the stream UPDATING for as long as the returned hold lives; fails if it is not
    /// ACTIVE (another change is running or it is being created or deleted).
    fn hold_updating(&self, stream: &str) -> Result<UpdateHold> {
        self.describe(stream)?;
        let now = self.inner.log.now_ms();
        let until = super::later_ms(now, RESHARD_HOLD);
        let mut transitions = lock(&self.inner.transitions);
        if let Some(transition) = transitions.get(stream)
            && transition.until > now
        {
            return Err(Error::StreamNotActive {
                stream: stream.to_owned(),
                account: self.inner.settings.account.clone(),
                status: transition.status.as_str(),
            });
        }
        transitions.insert(
            stream.to_owned(),
            Transition {
                status: Status::Updating,
                until,
            },
        );
        Ok(UpdateHold {
            streams: self.clone(),
            stream: stream.to_owned(),
            until,
        })
    }

    /// Maps an engine failure of a catalog change on `stream`.
    fn engine_error(&self, stream: &str, error: &storage::Error) -> Error {
        match error {
            storage::Error::InvalidArgument(what) => Error::InvalidArgument(what.clone()),
            storage::Error::ShardClosed { shard, .. } => Error::InvalidArgument(format!(
                "Shard {} in stream {stream} under account {} has already been merged or split, \
                and thus is not eligible for resharding.",
                sequence::shard_name(*shard),
                self.inner.settings.account
            )),
            other => self.storage_error(stream, other),
        }
    }

    fn not_eligible(&self, stream: &str, shard: &ShardInfo, action: &str) -> Error {
        Error::InvalidArgument(format!(
            "Shard {} in stream {stream} under account {} has already been merged or split, and \
            thus is not eligible for {action}.",
            sequence::shard_name(shard.id),
            self.inner.settings.account
        ))
    }

    // ---- retention --------------------------------------------------------------------------

    /// Changes a stream's retention period to `hours` (blocking: it fsyncs the catalog).
    pub fn change_retention(
        &self,
        stream: &str,
        hours: i64,
        change: RetentionChange,
    ) -> Result<()> {
        let view = self.require_active(stream)?;
        let retention = retention_from_hours(hours)?;
        let current = i64::try_from(view.info.retention.as_secs() / 3600).unwrap_or(i64::MAX);
        match change {
            RetentionChange::Increase if hours < current => {
                return Err(Error::InvalidArgument(format!(
                    "Requested retention period ({hours} hours) for stream {stream} can not be \
                    shorter than existing retention period ({current} hours). Use \
                    DecreaseRetentionPeriod API."
                )));
            }
            RetentionChange::Decrease if hours > current => {
                return Err(Error::InvalidArgument(format!(
                    "Requested retention period ({hours} hours) for stream {stream} can not be \
                    longer than existing retention period ({current} hours). Use \
                    IncreaseRetentionPeriod API."
                )));
            }
            _ => {}
        }
        if hours == current {
            return Ok(());
        }
        self.inner
            .log
            .set_retention(stream, retention)
            .map_err(|error| self.engine_error(stream, &error))
    }

    // ---- resharding -------------------------------------------------------------------------

    /// Splits an open shard so that `new_starting_hash` starts the upper child. AWS's rule:
    /// the key must be greater than the shard's first key plus one and less than its last.
    pub async fn split(&self, stream: &str, shard: &str, new_starting_hash: u128) -> Result<()> {
        let view = self.describe(stream)?;
        self.ensure_provisioned(&view, "SplitShard")?;
        let parent = self.shard_of(&view.info, shard)?.clone();
        if !parent.is_open() {
            return Err(self.not_eligible(stream, &parent, "splitting"));
        }
        if new_starting_hash <= parent.hash_start.saturating_add(1)
            || new_starting_hash >= parent.hash_end
        {
            return Err(Error::InvalidArgument(format!(
                "NewStartingHashKey {new_starting_hash} used in SplitShard() on shard {} in stream \
                {stream} under account {} is not both greater than one plus the shard's \
                StartingHashKey {} and less than the shard's EndingHashKey {}.",
                sequence::shard_name(parent.id),
                self.inner.settings.account,
                parent.hash_start,
                parent.hash_end
            )));
        }
        let hold = self.hold_updating(stream)?;
        let streams = self.clone();
        let name = stream.to_owned();
        detached(async move {
            let _hold = hold;
            // A split opens two shards and closes one.
            let _reservation = streams.reserve_shards(1).await?;
            streams
                .inner
                .log
                .split_shard(&name, parent.id, new_starting_hash)
                .await
                .map(|_| ())
                .map_err(|error| streams.engine_error(&name, &error))
        })
        .await
    }

    /// Merges two open shards whose hash key ranges border each other (in either order);
    /// `shard` becomes the child's parent and `adjacent` its adjacent parent.
    pub async fn merge(&self, stream: &str, shard: &str, adjacent: &str) -> Result<()> {
        let view = self.describe(stream)?;
        self.ensure_provisioned(&view, "MergeShards")?;
        let first = self.shard_of(&view.info, shard)?.clone();
        let second = self.shard_of(&view.info, adjacent)?.clone();
        for parent in [&first, &second] {
            if !parent.is_open() {
                return Err(self.not_eligible(stream, parent, "merging"));
            }
        }
        let borders = first.hash_end.checked_add(1) == Some(second.hash_start)
            || second.hash_end.checked_add(1) == Some(first.hash_start);
        if !borders || first.id == second.id {
            return Err(Error::InvalidArgument(format!(
                "Shards {} and {} in stream {stream} under account {} are not an adjacent pair of \
                shards eligible for merging",
                sequence::shard_name(first.id),
                sequence::shard_name(second.id),
                self.inner.settings.account
            )));
        }
        let hold = self.hold_updating(stream)?;
        let streams = self.clone();
        let name = stream.to_owned();
        detached(async move {
            let _hold = hold;
            streams
                .inner
                .log
                .merge_shards(&name, first.id, second.id)
                .await
                .map(|_| ())
                .map_err(|error| streams.engine_error(&name, &error))
        })
        .await
    }

    /// Reshards a stream into `target` open shards dividing the key space evenly
    /// ([`reshard_plan`]). Returns the number of open shards before. AWS's limits: at most
    /// double and at least half the open shards, at most [`SCALING_SHARDS_MAX`].
    pub async fn update_shard_count(&self, stream: &str, target: u32) -> Result<u32> {
        let view = self.describe(stream)?;
        self.ensure_provisioned(&view, "UpdateShardCount")?;
        let mut open: Vec<(u128, u128)> = view
            .info
            .shards
            .iter()
            .filter(|shard| shard.is_open())
            .map(|shard| (shard.hash_start, shard.hash_end))
            .collect();
        open.sort_unstable();
        let current = u32::try_from(open.len()).unwrap_or(u32::MAX);
        let counts = format!("Current open shard count: {current}, Target shard count: {target}");
        if target > SCALING_SHARDS_MAX {
            return Err(Error::LimitExceeded(format!(
                "UpdateShardCount cannot scale up to more than {SCALING_SHARDS_MAX} shards in a \
                stream. {counts}"
            )));
        }
        if u64::from(target) > 2 * u64::from(current) {
            return Err(Error::LimitExceeded(format!(
                "UpdateShardCount cannot scale up over double your current open shard count. \
                {counts}"
            )));
        }
        if 2 * u64::from(target) < u64::from(current) {
            return Err(Error::LimitExceeded(format!(
                "UpdateShardCount cannot scale down below half your current open shard count. \
                {counts}"
            )));
        }
        if target > current {
            // Checked here so the caller gets the error; the plan's splits check again.
            drop(self.reserve_shards(u64::from(target - current)).await?);
        }
        let hold = self.hold_updating(stream)?;
        let plan = reshard_plan(&open, target);
        let streams = self.clone();
        let name = stream.to_owned();
        detached(async move {
            let _hold = hold;
            for step in plan {
                streams.run_step(&name, step).await?;
            }
            Ok(())
        })
        .await?;
        Ok(current)
    }

    async fn run_step(&self, stream: &str, step: ReshardStep) -> Result<()> {
        let info = self
            .inner
            .log
            .stream(stream)
            .map_err(|error| self.storage_error(stream, &error))?;
        let open_at = |first: u128| {
            info.shards
                .iter()
                .find(|shard| shard.is_open() && shard.hash_start == first)
                .map(|shard| shard.id)
        };
        let lost = || {
            Error::Internal(format!(
                "the open shards of stream {stream} changed during UpdateShardCount"
            ))
        };
        let log = &self.inner.log;
        let done = match step {
            ReshardStep::Split { at } => {
                let shard = info
                    .shards
                    .iter()
                    .find(|shard| shard.is_open() && shard.hash_start < at && at <= shard.hash_end)
                    .ok_or_else(lost)?;
                let _reservation = self.reserve_shards(1).await?;
                log.split_shard(stream, shard.id, at).await.map(|_| ())
            }
            ReshardStep::Merge { lower, upper } => {
                let (lower, upper) = (
                    open_at(lower).ok_or_else(lost)?,
                    open_at(upper).ok_or_else(lost)?,
                );
                log.merge_shards(stream, lower, upper).await.map(|_| ())
            }
        };
        done.map_err(|error| self.engine_error(stream, &error))
    }

    // ---- tags and policies ------------------------------------------------------------------

    /// The stream or consumer an ARN names (a consumer ARN contains `/consumer/`).
    pub fn resource(&self, arn: &str) -> Result<Resource> {
        if arn.contains("/consumer/") {
            return Ok(Resource::Consumer(self.find_consumer(
                Some(arn),
                None,
                None,
            )?));
        }
        let stream = self.resolve(None, Some(arn))?;
        self.stream_resource(&stream)
    }

    /// A stream as a tagged resource; fails if it does not exist.
    pub fn stream_resource(&self, stream: &str) -> Result<Resource> {
        self.describe(stream)?;
        Ok(Resource::Stream(stream.to_owned()))
    }

    /// Sets (`Some`) or removes (`None`) a consumer's policy, first removing the policies
    /// of consumers no longer registered on its stream (blocking).
    fn set_consumer_policy(&self, consumer: &Consumer, policy: Option<String>) -> Result<()> {
        let namespace = consumer_policy_namespace(&consumer.stream);
        let live: Vec<String> = self
            .consumers(&consumer.stream)
            .iter()
            .map(consumer_policy_key)
            .collect();
        let log = &self.inner.log;
        for (key, _) in log.properties(&namespace) {
            if !live.contains(&key) {
                log.delete_property(&namespace, &key)
                    .map_err(|error| Error::internal(&error))?;
            }
        }
        let key = consumer_policy_key(consumer);
        match policy {
            Some(policy) => log.put_property(&namespace, &key, policy.into_bytes()),
            None if log.property(&namespace, &key).is_some() => {
                log.delete_property(&namespace, &key)
            }
            None => Ok(()),
        }
        .map_err(|error| Error::internal(&error))
    }

    /// A resource's tags, by key.
    pub fn tags(&self, resource: &Resource) -> BTreeMap<String, String> {
        match resource {
            Resource::Stream(stream) => self.meta(stream).tags.clone(),
            Resource::Consumer(consumer) => self
                .inner
                .log
                .properties(&consumer_tags_namespace(consumer))
                .into_iter()
                .map(|(key, value)| (key, String::from_utf8_lossy(&value).into_owned()))
                .collect(),
        }
    }

    /// Adds or overwrites tags (blocking). At most `per_call_max` tags per call and
    /// [`TAGS_MAX`] per resource; keys and values use letters, digits, white space and
    /// `_ . / = + - @ :`.
    pub fn add_tags(
        &self,
        resource: &Resource,
        tags: &BTreeMap<String, String>,
        per_call_max: usize,
    ) -> Result<()> {
        let account = &self.inner.settings.account;
        let what = resource.describe_for_messages(account);
        if tags.len() > per_call_max {
            return Err(Error::InvalidArgument(format!(
                "Failed to add tags to {what} because a request can add at most {per_call_max} \
                tags."
            )));
        }
        if tags
            .iter()
            .any(|(key, value)| !key.chars().chain(value.chars()).all(allowed_tag_character))
        {
            return Err(Error::InvalidArgument(format!(
                "Failed to add tags to {what} because some tags contained illegal characters. The \
                allowed characters are Unicode letters, digits, white space, '_', '.', '/', '=', \
                '+', '-', '@', ':'."
            )));
        }
        let mut after = self.tags(resource);
        after.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        if after.len() > TAGS_MAX {
            return Err(Error::InvalidArgument(format!(
                "Failed to add tags to {what} because a given resource cannot have more than \
                {TAGS_MAX} tags associated with it."
            )));
        }
        match resource {
            Resource::Stream(stream) => self.update_meta(stream, |meta| meta.tags = after),
            Resource::Consumer(consumer) => {
                let namespace = consumer_tags_namespace(consumer);
                for (key, value) in tags {
                    self.inner
                        .log
                        .put_property(&namespace, key, value.clone().into_bytes())
                        .map_err(|error| Error::internal(&error))?;
                }
                Ok(())
            }
        }
    }

    /// Removes tags; keys that are not there are ignored (blocking).
    pub fn remove_tags(&self, resource: &Resource, keys: &[String]) -> Result<()> {
        match resource {
            Resource::Stream(stream) => self.update_meta(stream, |meta| {
                for key in keys {
                    meta.tags.remove(key);
                }
            }),
            Resource::Consumer(consumer) => {
                let namespace = consumer_tags_namespace(consumer);
                let present = self.tags(resource);
                for key in keys.iter().filter(|key| present.contains_key(*key)) {
                    self.inner
                        .log
                        .delete_property(&namespace, key)
                        .map_err(|error| Error::internal(&error))?;
                }
                Ok(())
            }
        }
    }

    /// A resource's policy document, if one is attached.
    pub fn policy(&self, resource: &Resource) -> Option<String> {
        match resource {
            Resource::Stream(stream) => self.meta(stream).policy.clone(),
            Resource::Consumer(consumer) => self
                .inner
                .log
                .property(
                    &consumer_policy_namespace(&consumer.stream),
                    &consumer_policy_key(consumer),
                )
                .map(|value| String::from_utf8_lossy(&value).into_owned()),
        }
    }

    /// Attaches (`Some`) or removes (`None`) a resource's policy document (blocking).
    pub fn set_policy(&self, resource: &Resource, policy: Option<String>) -> Result<()> {
        match resource {
            Resource::Stream(stream) => self.update_meta(stream, |meta| meta.policy = policy),
            Resource::Consumer(consumer) => self.set_consumer_policy(consumer, policy),
        }
    }

    // ---- stream settings --------------------------------------------------------------------

    /// Applies a settings change that AWS makes asynchronously to a stream found ACTIVE by
    /// [`Streams::require_active`]; it is UPDATING afterwards if anything changed (blocking).
    fn change_settings(
        &self,
        view: &StreamView,
        change: impl FnOnce(&mut StreamMeta),
    ) -> Result<StreamMeta> {
        let mut after = view.meta.clone();
        change(&mut after);
        if after != view.meta {
            self.store_meta(&view.info.name, &after, &view.meta)?;
            self.begin_transition(&view.info.name, Status::Updating);
        }
        Ok(after)
    }

    /// Turns on server-side encryption with the KMS key `key_id` (blocking).
    pub fn start_encryption(
        &self,
        stream: &str,
        encryption_type: &str,
        key_id: &str,
    ) -> Result<()> {
        if encryption_type != "KMS" {
            return Err(Error::InvalidArgument(format!(
                "Encryption type {encryption_type} is not supported by StartStreamEncryption; use \
                KMS."
            )));
        }
        let view = self.require_active(stream)?;
        self.change_settings(&view, |meta| meta.encryption_key = Some(key_id.to_owned()))?;
        Ok(())
    }

    /// Turns server-side encryption off; a stream without it is left as it is (blocking).
    pub fn stop_encryption(&self, stream: &str, encryption_type: &str) -> Result<()> {
        if encryption_type != "KMS" {
            return Err(Error::InvalidArgument(format!(
                "Encryption type {encryption_type} is not supported by StopStreamEncryption; use \
                KMS."
            )));
        }
        let view = self.require_active(stream)?;
        self.change_settings(&view, |meta| meta.encryption_key = None)?;
        Ok(())
    }

    /// Enables (`enable`) or disables shard-level metrics (`ALL` for every one). Returns the
    /// metrics enabled before and after, in the model's order (blocking).
    pub fn change_metrics(
        &self,
        stream: &str,
        names: &[String],
        enable: bool,
    ) -> Result<(Vec<String>, Vec<String>)> {
        let view = self.require_active(stream)?;
        let named: BTreeSet<String> = if names.iter().any(|name| name == ALL_METRICS) {
            SHARD_METRICS
                .iter()
                .map(|name| (*name).to_owned())
                .collect()
        } else {
            names.iter().cloned().collect()
        };
        let before = view.meta.metrics.clone();
        let after = self.change_settings(&view, |meta| {
            if enable {
                meta.metrics.extend(named);
            } else {
                meta.metrics.retain(|name| !named.contains(name));
            }
        })?;
        let ordered = |set: &BTreeSet<String>| -> Vec<String> {
            let mut names: Vec<String> = set.iter().cloned().collect();
            names.sort_by_key(|name| SHARD_METRICS.iter().position(|known| known == name));
            names
        };
        Ok((ordered(&before), ordered(&after.metrics)))
    }

    /// Sets the largest record a stream accepts, in KiB (blocking).
    pub fn set_max_record_kib(&self, stream: &str, kib: u32) -> Result<()> {
        let view = self.require_active(stream)?;
        self.change_settings(&view, |meta| meta.max_record_kib = kib)?;
        Ok(())
    }

    fn check_warm_throughput(&self, stream: &str, mode: Mode, mibps: u32) -> Result<()> {
        if mode != Mode::OnDemand {
            return Err(Error::InvalidArgument(format!(
                "Warm throughput is only supported for ON_DEMAND streams; stream {stream} under \
                account {} is PROVISIONED.",
                self.inner.settings.account
            )));
        }
        if !self.billing_commitment().status.in_force() {
            return Err(Error::InvalidArgument(format!(
                "Warm throughput requires MinimumThroughputBillingCommitment to be enabled for \
                account {}.",
                self.inner.settings.account
            )));
        }
        if mibps > WARM_THROUGHPUT_MIBPS_MAX {
            return Err(Error::InvalidArgument(format!(
                "Requested warm throughput ({mibps} MiBps) for stream {stream} exceeds the maximum \
                of {WARM_THROUGHPUT_MIBPS_MAX} MiBps."
            )));
        }
        Ok(())
    }

    /// Switches a stream between PROVISIONED and ON_DEMAND, keeping its shards; an ON_DEMAND
    /// stream may be given a warm throughput. Asking for the current mode changes nothing
    /// (blocking).
    pub fn set_mode(&self, stream: &str, mode: Mode, warm_mibps: Option<u32>) -> Result<()> {
        let view = self.require_active(stream)?;
        if mode == Mode::Provisioned && view.meta.mode == Mode::OnDemand {
            let queues = self.queue_count(stream);
            if queues > 0 {
                return Err(Error::InUse(format!(
                    "Stream {stream} under account {} has {queues} queue(s); queues need ON_DEMAND mode, so delete them before switching to PROVISIONED.",
                    self.settings().account
                )));
            }
        }
        if let Some(mibps) = warm_mibps {
            self.check_warm_throughput(stream, mode, mibps)?;
        }
        self.change_settings(&view, |meta| {
            meta.mode = mode;
            match mode {
                Mode::Provisioned => meta.warm_throughput_mibps = None,
                Mode::OnDemand => {
                    if warm_mibps.is_some() {
                        meta.warm_throughput_mibps = warm_mibps;
                    }
                }
            }
        })?;
        Ok(())
    }

    /// Sets the warm throughput of an ON_DEMAND stream (the account must have a billing
    /// commitment). Returns the warm throughput before (blocking).
    pub fn set_warm_throughput(&self, stream: &str, mibps: u32) -> Result<Option<u32>> {
        let view = self.require_active(stream)?;
        self.check_warm_throughput(stream, view.meta.mode, mibps)?;
        let before = view.meta.warm_throughput_mibps;
        self.change_settings(&view, |meta| meta.warm_throughput_mibps = Some(mibps))?;
        Ok(before)
    }

    // ---- account ----------------------------------------------------------------------------

    /// The account's shard and ON_DEMAND stream counts and limits.
    pub fn limits(&self) -> Limits {
        let streams: Vec<_> = self
            .inner
            .log
            .list_streams()
            .into_iter()
            .filter(super::is_kinesis)
            .collect();
        let open_shards: usize = streams
            .iter()
            .map(|info| info.shards.iter().filter(|shard| shard.is_open()).count())
            .sum();
        let on_demand_streams = streams
            .iter()
            .filter(|info| self.meta(&info.name).mode == Mode::OnDemand)
            .count();
        Limits {
            shards_max: self.inner.settings.budget.shards_max(),
            open_shards: u32::try_from(open_shards).unwrap_or(u32::MAX),
            on_demand_streams: u32::try_from(on_demand_streams).unwrap_or(u32::MAX),
            on_demand_streams_max: ACCOUNT_ON_DEMAND_STREAMS_MAX,
        }
    }

    fn commitment_record(&self) -> CommitmentRecord {
        self.inner
            .log
            .property(ACCOUNT_NAMESPACE, COMMITMENT_KEY)
            .map(|value| CommitmentRecord::parse(&String::from_utf8_lossy(&value)))
            .unwrap_or_default()
    }

    /// The account's minimum throughput billing commitment, as of now.
    pub fn billing_commitment(&self) -> Commitment {
        self.commitment_record().at(self.inner.log.now_ms())
    }

    /// Enables or disables the billing commitment. Disabling before the earliest allowed end
    /// schedules the end for then; enabling again before it cancels that (blocking).
    pub fn set_billing_commitment(&self, enabled: bool) -> Result<Commitment> {
        let now = self.inner.log.now_ms();
        let before = self.commitment_record();
        let after = before.change(enabled, now);
        if after != before {
            self.inner
                .log
                .put_property(
                    ACCOUNT_NAMESPACE,
                    COMMITMENT_KEY,
                    after.encode().into_bytes(),
                )
                .map_err(|error| Error::internal(&error))?;
        }
        Ok(after.at(now))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::sync::Arc;

    use storage::{Log, LogConfig, ManualClock, Owner};

    use super::*;
    use crate::views::streams::Settings;

    /// Applies a plan to a model of the open ranges, checking that every step is possible
    /// on the engine: a split strictly inside one open shard, a merge of two bordering ones.
    fn apply(open: &[(u128, u128)], plan: &[ReshardStep]) -> Vec<(u128, u128)> {
        let mut ranges: Vec<(u128, u128)> = open.to_vec();
        for step in plan {
            match *step {
                ReshardStep::Split { at } => {
                    let index = ranges
                        .iter()
                        .position(|&(first, last)| first < at && at <= last)
                        .unwrap_or_else(|| panic!("no open range holds {at}: {ranges:?}"));
                    let (first, last) = ranges[index];
                    ranges.splice(index..=index, [(first, at - 1), (at, last)]);
                }
                ReshardStep::Merge { lower, upper } => {
                    let index = ranges
                        .iter()
                        .position(|&(first, _)| first == lower)
                        .unwrap_or_else(|| panic!("no open range starts at {lower}: {ranges:?}"));
                    let (first, last) = ranges[index];
                    let (next_first, next_last) = ranges[index + 1];
                    assert_eq!(next_first, upper, "merge of non-bordering ranges");
                    assert_eq!(last + 1, next_first);
                    ranges.splice(index..=index + 1, [(first, next_last)]);
                }
            }
        }
        ranges
    }

    fn uniform(count: u32) -> Vec<(u128, u128)> {
        let starts = uniform_starts(count);
        starts
            .iter()
            .enumerate()
            .map(|(i, &start)| (start, starts.get(i + 1).map_or(u128::MAX, |next| next - 1)))
            .collect()
    }

    #[test]
    fn uniform_layout_matches_the_engine() {
        assert_eq!(uniform(1), vec![(0, u128::MAX)]);
        assert_eq!(uniform(2), vec![(0, (1 << 127) - 1), (1 << 127, u128::MAX)]);
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(LogConfig::new(dir.path())).unwrap();
        for count in [1, 2, 3, 7, 10, 64] {
            let info = log
                .create_stream(
                    &format!("s{count}"),
                    count,
                    Duration::from_secs(24 * 3600),
                    Owner::KINESIS,
                )
                .unwrap();
            let engine: Vec<(u128, u128)> = info
                .shards
                .iter()
                .map(|s| (s.hash_start, s.hash_end))
                .collect();
            assert_eq!(engine, uniform(count), "{count} shards");
        }
    }

    #[test]
    fn doubling_only_splits_and_halving_only_merges() {
        let double = reshard_plan(&uniform(4), 8);
        assert_eq!(double.len(), 4);
        assert!(
            double
                .iter()
                .all(|step| matches!(step, ReshardStep::Split { .. }))
        );
        assert_eq!(apply(&uniform(4), &double), uniform(8));
        let half = reshard_plan(&uniform(8), 4);
        assert_eq!(half.len(), 4);
        assert!(
            half.iter()
                .all(|step| matches!(step, ReshardStep::Merge { .. }))
        );
        assert_eq!(apply(&uniform(8), &half), uniform(4));
        assert!(reshard_plan(&uniform(5), 5).is_empty());
    }

    #[test]
    fn every_plan_ends_evenly_divided() {
        // Uniform starting layouts, and uneven ones made by splitting at pseudo-random keys.
        let mut seed: u128 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            seed = seed
                .wrapping_mul(0x2545_F491_4F6C_DD1D_9E37_79B9_7F4A_7C15)
                .wrapping_add(1);
            seed
        };
        for current in 1..=12u32 {
            let mut layouts = vec![uniform(current)];
            let mut uneven = vec![(0, u128::MAX)];
            while uneven.len() < current as usize {
                let index = usize::try_from(next() % uneven.len() as u128).unwrap();
                let (first, last) = uneven[index];
                if last - first < 4 {
                    continue;
                }
                let at = first + 2 + next() % (last - first - 2);
                uneven.splice(index..=index, [(first, at - 1), (at, last)]);
            }
            layouts.push(uneven);
            for layout in layouts {
                for target in current.div_ceil(2)..=current * 2 {
                    let plan = reshard_plan(&layout, target);
                    assert_eq!(
                        apply(&layout, &plan),
                        uniform(target),
                        "{layout:?} -> {target}"
                    );
                    // Each open shard is split at most at every boundary inside it, and each
                    // target range merges its pieces once: never more steps than this.
                    assert!(plan.len() <= 2 * (layout.len() + target as usize));
                }
            }
        }
    }

    #[test]
    fn billing_commitment_honours_the_minimum_term() {
        let start = 1_000;
        let enabled = CommitmentRecord::default().change(true, start);
        assert_eq!(enabled.at(start).status, CommitmentStatus::Enabled);
        assert_eq!(
            enabled.at(start).earliest_end_ms,
            Some(start + COMMITMENT_MINIMUM_MS)
        );
        // Disabling early schedules the end; enabling again cancels it.
        let early = enabled.change(false, start + 10);
        assert_eq!(
            early.at(start + 10).status,
            CommitmentStatus::EnabledUntilEarliestAllowedEnd
        );
        assert_eq!(
            early.change(true, start + 20).at(start + 20).status,
            CommitmentStatus::Enabled
        );
        // The scheduled end takes effect at the earliest allowed end.
        let ended = early.at(start + COMMITMENT_MINIMUM_MS);
        assert_eq!(ended.status, CommitmentStatus::Disabled);
        assert_eq!(ended.ended_ms, Some(start + COMMITMENT_MINIMUM_MS));
        // Disabling after the minimum term ends it at once.
        let late = enabled.change(false, start + COMMITMENT_MINIMUM_MS + 5);
        assert_eq!(late.ended_ms, Some(start + COMMITMENT_MINIMUM_MS + 5));
        assert_eq!(CommitmentRecord::parse(&late.encode()), late);
        assert_eq!(
            CommitmentRecord::parse("garbage"),
            CommitmentRecord::default()
        );
    }

    fn open(dir: &std::path::Path) -> (Streams, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let log = Log::open_with_clock(LogConfig::new(dir), clock.clone()).unwrap();
        (Streams::open(log, Settings::default()).unwrap(), clock)
    }

    #[tokio::test]
    async fn update_shard_count_reshards_evenly_and_keeps_lineage() {
        let dir = tempfile::tempdir().unwrap();
        let (streams, _clock) = open(dir.path());
        streams.create("s", 3, &StreamMeta::default()).unwrap();
        assert_eq!(streams.update_shard_count("s", 4).await.unwrap(), 3);
        let info = streams.log().stream("s").unwrap();
        let mut open: Vec<(u128, u128)> = info
            .shards
            .iter()
            .filter(|s| s.is_open())
            .map(|s| (s.hash_start, s.hash_end))
            .collect();
        open.sort_unstable();
        assert_eq!(open, uniform(4));
        // Every closed shard has children; every new shard has a parent.
        for shard in &info.shards {
            if shard.id >= 3 {
                assert!(shard.parent.is_some());
            }
            if !shard.is_open() {
                assert!(
                    info.shards
                        .iter()
                        .any(|c| c.parent == Some(shard.id) || c.adjacent_parent == Some(shard.id))
                );
            }
        }
        assert!(matches!(
            streams.update_shard_count("s", 9).await,
            Err(Error::LimitExceeded(_))
        ));
        assert!(matches!(
            streams.update_shard_count("s", 1).await,
            Err(Error::LimitExceeded(_))
        ));
    }

    #[tokio::test]
    async fn a_running_reshard_holds_the_stream_updating() {
        let dir = tempfile::tempdir().unwrap();
        let (streams, _clock) = open(dir.path());
        streams.create("s", 2, &StreamMeta::default()).unwrap();
        let hold = streams.hold_updating("s").unwrap();
        assert_eq!(streams.describe("s").unwrap().status, Status::Updating);
        assert!(matches!(
            streams
                .merge("s", "shardId-000000000000", "shardId-000000000001")
                .await,
            Err(Error::StreamNotActive { .. })
        ));
        drop(hold);
        assert_eq!(streams.describe("s").unwrap().status, Status::Active);
        streams
            .merge("s", "shardId-000000000001", "shardId-000000000000")
            .await
            .unwrap();
        let info = streams.log().stream("s").unwrap();
        let child = info.shards.last().unwrap();
        assert_eq!((child.parent, child.adjacent_parent), (Some(1), Some(0)));
        assert_eq!((child.hash_start, child.hash_end), (0, u128::MAX));
    }

    #[test]
    fn consumers_keep_their_own_tags_and_policy() {
        let dir = tempfile::tempdir().unwrap();
        let (streams, clock) = open(dir.path());
        streams.create("s", 1, &StreamMeta::default()).unwrap();
        let registered = BTreeMap::from([("team".to_owned(), "data".to_owned())]);
        let consumer = streams.register_consumer("s", "c", &registered).unwrap();
        let resource = streams.resource(&consumer.arn).unwrap();
        assert_eq!(streams.tags(&resource), registered);
        let more = BTreeMap::from([("env".to_owned(), "test".to_owned())]);
        streams.add_tags(&resource, &more, TAGS_MAX).unwrap();
        streams
            .remove_tags(&resource, &["team".to_owned()])
            .unwrap();
        assert_eq!(streams.tags(&resource), more);
        assert!(
            streams
                .tags(&streams.stream_resource("s").unwrap())
                .is_empty()
        );
        streams.set_policy(&resource, Some("{}".into())).unwrap();
        assert_eq!(streams.policy(&resource).as_deref(), Some("{}"));
        assert_eq!(streams.policy(&streams.stream_resource("s").unwrap()), None);
        // Registered again under the same name (a later second), it starts bare.
        streams.deregister_consumer(&consumer).unwrap();
        clock.advance_ms(2_000);
        let again = streams
            .register_consumer("s", "c", &BTreeMap::new())
            .unwrap();
        let resource = streams.resource(&again.arn).unwrap();
        assert!(streams.tags(&resource).is_empty());
        assert_eq!(streams.policy(&resource), None);
        assert!(matches!(
            streams.resource(&consumer.arn),
            Err(Error::NotFound(_))
        ));
        let bad = BTreeMap::from([("a%b".to_owned(), String::new())]);
        assert!(matches!(
            streams.add_tags(&resource, &bad, TAGS_MAX),
            Err(Error::InvalidArgument(_))
        ));
    }
}
