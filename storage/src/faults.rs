//! Injected I/O failures, so tests reach every failure path of the engine without a broken
//! disk: a failed or short segment write, a failed `fdatasync`, `ENOSPC` when a segment is
//! created or grown, a failed directory sync, a failed metadata write or sync, at the Nth call
//! of that operation.
//!
//! Every file operation the engine's durability depends on passes one [`IoPoint`] check first
//! (`Faults::inject`); with no plan configured (the default, and always in production) the
//! check is one branch. A test builds a [`FaultPlan`], puts it in [`crate::LogConfig::faults`],
//! and arms rules while the log runs:
//!
//! ```
//! use storage::{FaultPlan, Faults, IoPoint};
//! let plan = FaultPlan::new();
//! let faults = Faults::with(plan.clone());
//! plan.fail(IoPoint::SegmentSync, 2, libc::EIO); // the second sync from now fails
//! assert!(faults.inject(IoPoint::SegmentSync).is_none());
//! assert!(faults.inject(IoPoint::SegmentSync).is_some());
//! assert!(faults.inject(IoPoint::SegmentSync).is_none());
//! ```

use std::io;
use std::sync::{Arc, Mutex};

/// A file operation a fault can be injected into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IoPoint {
    /// One segment write of a commit round (either write path).
    SegmentWrite,
    /// The `fdatasync` of a round's segment files.
    SegmentSync,
    /// Creating a segment file or allocating more of it (`fallocate`).
    SegmentAllocate,
    /// A directory sync (new segments, streams, shards, snapshots).
    DirSync,
    /// Writing a metadata journal entry.
    MetaWrite,
    /// Syncing the metadata journal.
    MetaSync,
}

/// What an injected fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The operation fails with this `errno`, having done nothing.
    Fail(i32),
    /// A write puts the first half of its bytes on disk, then fails with this `errno` (a torn
    /// write). Other operations treat it as [`Fault::Fail`].
    Short(i32),
}

impl Fault {
    /// The error the operation reports.
    pub fn error(self) -> io::Error {
        match self {
            Self::Fail(errno) | Self::Short(errno) => io::Error::from_raw_os_error(errno),
        }
    }
}

#[derive(Debug)]
struct Rule {
    point: IoPoint,
    /// Calls of `point` still to pass before this rule fires (0: the next one fires).
    skip: u64,
    fault: Fault,
    /// Fires on every call once reached, not just once.
    sticky: bool,
}

/// Armed faults, shared between a test and the log it configures.
#[derive(Debug, Default)]
pub struct FaultPlan {
    rules: Mutex<Vec<Rule>>,
    fired: Mutex<Vec<(IoPoint, Fault)>>,
}

impl FaultPlan {
    /// An empty plan.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn arm(&self, point: IoPoint, nth: u64, fault: Fault, sticky: bool) {
        self.rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Rule {
                point,
                skip: nth.saturating_sub(1),
                fault,
                sticky,
            });
    }

    /// The `nth` call of `point` from now (1: the next) fails with `errno`, once.
    pub fn fail(&self, point: IoPoint, nth: u64, errno: i32) {
        self.arm(point, nth, Fault::Fail(errno), false);
    }

    /// The `nth` write at `point` from now is torn: half written, then `errno`, once.
    pub fn short(&self, point: IoPoint, nth: u64, errno: i32) {
        self.arm(point, nth, Fault::Short(errno), false);
    }

    /// From the `nth` call of `point` on, every call fails with `errno` until [`Self::clear`].
    pub fn fail_from(&self, point: IoPoint, nth: u64, errno: i32) {
        self.arm(point, nth, Fault::Fail(errno), true);
    }

    /// Disarms every rule.
    pub fn clear(&self) {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The faults that fired so far, in order.
    pub fn fired(&self) -> Vec<(IoPoint, Fault)> {
        self.fired.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn check(&self, point: IoPoint) -> Option<Fault> {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let mut fired = None;
        rules.retain_mut(|rule| {
            if rule.point != point || fired.is_some() {
                return true;
            }
            if rule.skip > 0 {
                rule.skip -= 1;
                return true;
            }
            fired = Some(rule.fault);
            rule.sticky
        });
        drop(rules);
        if let Some(fault) = fired {
            tracing::debug!(?point, ?fault, "Injected I/O fault");
            self.fired
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((point, fault));
        }
        fired
    }
}

/// The log's fault injection: none (the default), or a shared [`FaultPlan`].
#[derive(Clone, Debug, Default)]
pub struct Faults(Option<Arc<FaultPlan>>);

impl Faults {
    /// Faults from `plan`.
    pub fn with(plan: Arc<FaultPlan>) -> Self {
        Self(Some(plan))
    }

    /// The fault to inject into this call of `point`, if any.
    pub fn inject(&self, point: IoPoint) -> Option<Fault> {
        self.0.as_ref()?.check(point)
    }

    /// `Err` with the injected error if a fault fires for this call of `point`.
    pub(crate) fn check(&self, point: IoPoint) -> io::Result<()> {
        match self.inject(point) {
            Some(fault) => Err(fault.error()),
            None => Ok(()),
        }
    }
}
