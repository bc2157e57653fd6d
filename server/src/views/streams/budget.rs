//! The server's shard budget: how many open shards Kinesis and native streams may have in all
//! (DescribeLimits' `ShardLimit`, `kinesis.shards_max`), enforced in one place for both APIs.
//!
//! Every change that adds open shards (CreateStream, SplitShard, UpdateShardCount up, and the
//! native CreateStream and SplitShard) first takes a [`ShardBudget::reserve`] guard, which
//! counts the open shards and refuses the change when it would go over the limit. The guard
//! is held until the change is in the catalog, so two concurrent creates cannot both pass the
//! check. A refused change costs a count of the catalog, nothing else: a ShardCount far over
//! the limit is answered at once.
//!
//! Delivery streams' own one-shard streams are not Kinesis streams and are not counted.

use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard};

use storage::Log;

/// The shard budget, shared by the Kinesis view and the native listener.
#[derive(Debug, Clone)]
pub struct ShardBudget {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shards_max: u32,
    /// Held from the check until the change is in the catalog.
    changing: Mutex<()>,
}

/// Why a reservation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverBudget {
    /// Open shards now.
    pub open: u64,
    /// The limit.
    pub shards_max: u32,
    /// Shards the change would add.
    pub additional: u64,
}

/// Held while a change that passed the check is being applied.
pub struct Reservation<'a> {
    _changing: MutexGuard<'a, ()>,
}

impl ShardBudget {
    /// A budget of `shards_max` open shards.
    #[must_use]
    pub fn new(shards_max: u32) -> Self {
        Self {
            inner: Arc::new(Inner {
                shards_max,
                changing: Mutex::new(()),
            }),
        }
    }

    /// The limit.
    #[must_use]
    pub fn shards_max(&self) -> u32 {
        self.inner.shards_max
    }

    /// Open shards of Kinesis streams (the native protocol's included); other views' streams,
    /// such as delivery streams' own, are not counted.
    #[must_use]
    pub fn open_shards(log: &Log) -> u64 {
        log.list_streams()
            .iter()
            .filter(|info| super::is_kinesis(info))
            .map(|info| info.shards.iter().filter(|shard| shard.is_open()).count() as u64)
            .sum()
    }

    /// Checks that `additional` more open shards fit, and holds the budget until the returned
    /// reservation is dropped (after the change is in the catalog). For blocking code: it
    /// blocks the thread while another change holds the budget.
    ///
    /// # Errors
    /// [`OverBudget`] when they do not fit.
    pub fn reserve_blocking(
        &self,
        log: &Log,
        additional: u64,
    ) -> Result<Reservation<'_>, OverBudget> {
        self.check(
            futures::executor::block_on(self.inner.changing.lock()),
            log,
            additional,
        )
    }

    /// As [`Self::reserve_blocking`], waiting asynchronously for a change in progress.
    ///
    /// # Errors
    /// [`OverBudget`] when they do not fit.
    pub async fn reserve(&self, log: &Log, additional: u64) -> Result<Reservation<'_>, OverBudget> {
        self.check(self.inner.changing.lock().await, log, additional)
    }

    fn check<'a>(
        &self,
        changing: MutexGuard<'a, ()>,
        log: &Log,
        additional: u64,
    ) -> Result<Reservation<'a>, OverBudget> {
        let open = Self::open_shards(log);
        if open.saturating_add(additional) > u64::from(self.inner.shards_max) {
            return Err(OverBudget {
                open,
                shards_max: self.inner.shards_max,
                additional,
            });
        }
        Ok(Reservation {
            _changing: changing,
        })
    }
}

impl OverBudget {
    /// AWS's LimitExceededException message for a change over the account's shard limit.
    #[must_use]
    pub fn message(&self, account: &str, region: &str) -> String {
        format!(
            "This request would exceed the shard limit for the account {account} in {region}. \
             Current shard count for the account: {}. Limit: {}. Number of additional shards \
             that would have resulted from this request: {}. Refer to the AWS Service Limits \
             page (https://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for \
             current limits and how to request higher limits.",
            self.open, self.shards_max, self.additional
        )
    }
}
