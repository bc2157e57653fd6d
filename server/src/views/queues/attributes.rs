//! A queue's configuration: its attributes as typed fields, its tags and its timestamps,
//! kept under the state key `c` (see the module docs of [`super`]).
//!
//! Ranges are checked here, once, before any of them meets time arithmetic
//! ([`QueueAttributes::check`]); the API layer turns AWS's strings into these fields.
//!
//! ```text
//! version               u8     1
//! created, modified     i64    ms since the epoch
//! visibility timeout    u32    seconds
//! delay                 u32    seconds
//! message bytes max     u32
//! retention             u32    seconds
//! receive wait          u32    seconds
//! redrive               u8 flag; u16 length + DLQ name, u32 receive count max
//! redrive allow         u8     0 absent, 1 allow all, 2 deny all, 3 by queue:
//!                              u16 count, u16 length + name each
//! fifo, content dedup   u8, u8
//! dedup scope           u8     0 queue, 1 message group
//! throughput limit      u8     0 per queue, 1 per message group
//! kms key               u8 flag, u16 length + UTF-8
//! kms reuse             u32    seconds
//! managed encryption    u8
//! policy                u8 flag, u32 length + UTF-8
//! tags                  u16 count, then u16 key, u16 value
//! ```
#![deny(clippy::indexing_slicing)]

use std::collections::BTreeMap;

use bytes::{BufMut, Bytes, BytesMut};

use super::codec::{DecodeError, Reader, put_optional_long, put_optional_short, put_short};
use super::error::{Error, Result};
use super::limits;

const VERSION: u8 = 1;

/// Where a queue's failed messages go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redrive {
    /// The dead-letter queue's name (same account and region: this server).
    pub dead_letter_queue: String,
    /// A message received more often than this is moved there (1 to 1000).
    pub receive_count_max: u32,
}

/// Which queues may use a queue as their dead-letter queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedriveAllow {
    /// Any queue.
    AllowAll,
    /// None.
    DenyAll,
    /// Only these queues (names, at most 10).
    ByQueue(Vec<String>),
}

/// The key of FIFO deduplication.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DedupScope {
    /// One id space per queue.
    #[default]
    Queue,
    /// One id space per message group.
    MessageGroup,
}

/// The FIFO throughput quota's unit (recorded; Strata does not throttle).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThroughputLimit {
    /// Per queue.
    #[default]
    PerQueue,
    /// Per message group.
    PerMessageGroupId,
}

/// Every attribute a queue has, with AWS's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueAttributes {
    /// Seconds a received message stays invisible (0 to 43,200; 30).
    pub visibility_timeout_s: u32,
    /// Seconds a new message stays invisible (0 to 900; 0).
    pub delay_s: u32,
    /// Largest message, body and attributes (1,024 to 1,048,576; 1,048,576).
    pub message_bytes_max: u32,
    /// Seconds a message is kept (60 to 1,209,600; 345,600).
    pub retention_s: u32,
    /// Seconds a receive waits by default (0 to 20; 0).
    pub receive_wait_s: u32,
    /// The dead-letter queue, if any.
    pub redrive: Option<Redrive>,
    /// Who may use this queue as a dead-letter queue (`None`: not set, which allows all).
    pub redrive_allow: Option<RedriveAllow>,
    /// A FIFO queue (set at creation only; the name ends in `.fifo`).
    pub fifo: bool,
    /// Deduplicate by the body's SHA-256 when no id is given (FIFO only).
    pub content_based_dedup: bool,
    /// Deduplication scope (FIFO only).
    pub dedup_scope: DedupScope,
    /// Throughput quota unit (FIFO only).
    pub throughput_limit: ThroughputLimit,
    /// The KMS key id, stored and echoed.
    pub kms_master_key_id: Option<String>,
    /// Seconds a KMS data key is reused (60 to 86,400; 300).
    pub kms_data_key_reuse_s: u32,
    /// Managed server-side encryption (stored and echoed).
    pub sqs_managed_sse: bool,
    /// The access policy document, stored and echoed.
    pub policy: Option<String>,
}

impl Default for QueueAttributes {
    fn default() -> Self {
        Self {
            visibility_timeout_s: 30,
            delay_s: 0,
            message_bytes_max: limits::MESSAGE_BYTES_MAX,
            retention_s: 345_600,
            receive_wait_s: 0,
            redrive: None,
            redrive_allow: None,
            fifo: false,
            content_based_dedup: false,
            dedup_scope: DedupScope::Queue,
            throughput_limit: ThroughputLimit::PerQueue,
            kms_master_key_id: None,
            kms_data_key_reuse_s: 300,
            sqs_managed_sse: true,
            policy: None,
        }
    }
}

/// Attributes to set (at creation, or later): `None` leaves one as it is. For the optional
/// ones, `Some(None)` removes the value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttributeChanges {
    /// See [`QueueAttributes::visibility_timeout_s`].
    pub visibility_timeout_s: Option<u32>,
    /// See [`QueueAttributes::delay_s`].
    pub delay_s: Option<u32>,
    /// See [`QueueAttributes::message_bytes_max`].
    pub message_bytes_max: Option<u32>,
    /// See [`QueueAttributes::retention_s`].
    pub retention_s: Option<u32>,
    /// See [`QueueAttributes::receive_wait_s`].
    pub receive_wait_s: Option<u32>,
    /// See [`QueueAttributes::redrive`].
    pub redrive: Option<Option<Redrive>>,
    /// See [`QueueAttributes::redrive_allow`].
    pub redrive_allow: Option<Option<RedriveAllow>>,
    /// See [`QueueAttributes::fifo`] (creation only; a set that changes it is refused).
    pub fifo: Option<bool>,
    /// See [`QueueAttributes::content_based_dedup`].
    pub content_based_dedup: Option<bool>,
    /// See [`QueueAttributes::dedup_scope`].
    pub dedup_scope: Option<DedupScope>,
    /// See [`QueueAttributes::throughput_limit`].
    pub throughput_limit: Option<ThroughputLimit>,
    /// See [`QueueAttributes::kms_master_key_id`].
    pub kms_master_key_id: Option<Option<String>>,
    /// See [`QueueAttributes::kms_data_key_reuse_s`].
    pub kms_data_key_reuse_s: Option<u32>,
    /// See [`QueueAttributes::sqs_managed_sse`].
    pub sqs_managed_sse: Option<bool>,
    /// See [`QueueAttributes::policy`].
    pub policy: Option<Option<String>>,
}

fn range(name: &str, value: Option<u32>, low: u32, high: u32) -> Result<()> {
    match value {
        Some(value) if !(low..=high).contains(&value) => Err(Error::InvalidValue(format!(
            "{name} {value} is out of range {low} to {high}"
        ))),
        _ => Ok(()),
    }
}

impl AttributeChanges {
    /// Checks every given value's range (not the cross-queue rules, which need the catalog).
    pub fn check(&self) -> Result<()> {
        range(
            "visibility timeout",
            self.visibility_timeout_s,
            0,
            limits::VISIBILITY_TIMEOUT_S_MAX,
        )?;
        range("delay", self.delay_s, 0, limits::DELAY_S_MAX)?;
        range(
            "maximum message size",
            self.message_bytes_max,
            limits::MESSAGE_BYTES_MIN,
            limits::MESSAGE_BYTES_MAX,
        )?;
        range(
            "retention period",
            self.retention_s,
            limits::RETENTION_S_MIN,
            limits::RETENTION_S_MAX,
        )?;
        range(
            "receive wait time",
            self.receive_wait_s,
            0,
            limits::WAIT_S_MAX,
        )?;
        range(
            "KMS data key reuse period",
            self.kms_data_key_reuse_s,
            60,
            86_400,
        )?;
        if let Some(Some(redrive)) = &self.redrive {
            range(
                "maxReceiveCount",
                Some(redrive.receive_count_max),
                1,
                limits::RECEIVE_COUNT_MAX,
            )?;
        }
        if let Some(Some(RedriveAllow::ByQueue(queues))) = &self.redrive_allow
            && queues.len() > limits::REDRIVE_ALLOW_QUEUES_MAX
        {
            return Err(Error::InvalidValue(format!(
                "a redrive allow policy names at most {} queues",
                limits::REDRIVE_ALLOW_QUEUES_MAX
            )));
        }
        if let Some(Some(policy)) = &self.policy
            && policy.len() > limits::POLICY_BYTES_MAX
        {
            return Err(Error::InvalidValue("the policy is too long".into()));
        }
        Ok(())
    }

    /// Whether any FIFO-only attribute is given.
    pub(crate) fn names_fifo_only(&self) -> bool {
        self.content_based_dedup.is_some()
            || self.dedup_scope.is_some()
            || self.throughput_limit.is_some()
    }

    /// Whether every given attribute equals `attributes`' value (CreateQueue's idempotence).
    #[must_use]
    pub fn matches(&self, attributes: &QueueAttributes) -> bool {
        fn same<T: PartialEq>(given: Option<&T>, have: &T) -> bool {
            given.is_none_or(|given| given == have)
        }
        let a = attributes;
        same(self.visibility_timeout_s.as_ref(), &a.visibility_timeout_s)
            && same(self.delay_s.as_ref(), &a.delay_s)
            && same(self.message_bytes_max.as_ref(), &a.message_bytes_max)
            && same(self.retention_s.as_ref(), &a.retention_s)
            && same(self.receive_wait_s.as_ref(), &a.receive_wait_s)
            && same(self.redrive.as_ref(), &a.redrive)
            && same(self.redrive_allow.as_ref(), &a.redrive_allow)
            && same(self.fifo.as_ref(), &a.fifo)
            && same(self.content_based_dedup.as_ref(), &a.content_based_dedup)
            && same(self.dedup_scope.as_ref(), &a.dedup_scope)
            && same(self.throughput_limit.as_ref(), &a.throughput_limit)
            && same(self.kms_master_key_id.as_ref(), &a.kms_master_key_id)
            && same(self.kms_data_key_reuse_s.as_ref(), &a.kms_data_key_reuse_s)
            && same(self.sqs_managed_sse.as_ref(), &a.sqs_managed_sse)
            && same(self.policy.as_ref(), &a.policy)
    }

    /// `attributes` with these changes applied.
    #[must_use]
    pub fn applied_to(&self, attributes: &QueueAttributes) -> QueueAttributes {
        let mut a = attributes.clone();
        fn set<T: Clone>(target: &mut T, value: Option<&T>) {
            if let Some(value) = value {
                *target = value.clone();
            }
        }
        set(
            &mut a.visibility_timeout_s,
            self.visibility_timeout_s.as_ref(),
        );
        set(&mut a.delay_s, self.delay_s.as_ref());
        set(&mut a.message_bytes_max, self.message_bytes_max.as_ref());
        set(&mut a.retention_s, self.retention_s.as_ref());
        set(&mut a.receive_wait_s, self.receive_wait_s.as_ref());
        set(&mut a.redrive, self.redrive.as_ref());
        set(&mut a.redrive_allow, self.redrive_allow.as_ref());
        set(&mut a.fifo, self.fifo.as_ref());
        set(
            &mut a.content_based_dedup,
            self.content_based_dedup.as_ref(),
        );
        set(&mut a.dedup_scope, self.dedup_scope.as_ref());
        set(&mut a.throughput_limit, self.throughput_limit.as_ref());
        set(&mut a.kms_master_key_id, self.kms_master_key_id.as_ref());
        set(
            &mut a.kms_data_key_reuse_s,
            self.kms_data_key_reuse_s.as_ref(),
        );
        set(&mut a.sqs_managed_sse, self.sqs_managed_sse.as_ref());
        set(&mut a.policy, self.policy.as_ref());
        a
    }
}

/// A queue's configuration record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// When the queue was created (ms since the epoch).
    pub created_ms: i64,
    /// When its attributes last changed (ms since the epoch).
    pub modified_ms: i64,
    /// Its attributes.
    pub attributes: QueueAttributes,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

impl QueueConfig {
    /// The encoding (see the module docs).
    #[must_use]
    pub fn to_bytes(&self) -> Bytes {
        let a = &self.attributes;
        let mut out = BytesMut::with_capacity(128);
        out.put_u8(VERSION);
        out.put_i64(self.created_ms);
        out.put_i64(self.modified_ms);
        out.put_u32(a.visibility_timeout_s);
        out.put_u32(a.delay_s);
        out.put_u32(a.message_bytes_max);
        out.put_u32(a.retention_s);
        out.put_u32(a.receive_wait_s);
        match &a.redrive {
            Some(redrive) => {
                out.put_u8(1);
                put_short(&mut out, redrive.dead_letter_queue.as_bytes());
                out.put_u32(redrive.receive_count_max);
            }
            None => out.put_u8(0),
        }
        match &a.redrive_allow {
            None => out.put_u8(0),
            Some(RedriveAllow::AllowAll) => out.put_u8(1),
            Some(RedriveAllow::DenyAll) => out.put_u8(2),
            Some(RedriveAllow::ByQueue(queues)) => {
                out.put_u8(3);
                out.put_u16(u16::try_from(queues.len()).unwrap_or(u16::MAX));
                for queue in queues.iter().take(usize::from(u16::MAX)) {
                    put_short(&mut out, queue.as_bytes());
                }
            }
        }
        out.put_u8(u8::from(a.fifo));
        out.put_u8(u8::from(a.content_based_dedup));
        out.put_u8(match a.dedup_scope {
            DedupScope::Queue => 0,
            DedupScope::MessageGroup => 1,
        });
        out.put_u8(match a.throughput_limit {
            ThroughputLimit::PerQueue => 0,
            ThroughputLimit::PerMessageGroupId => 1,
        });
        put_optional_short(&mut out, a.kms_master_key_id.as_deref());
        out.put_u32(a.kms_data_key_reuse_s);
        out.put_u8(u8::from(a.sqs_managed_sse));
        put_optional_long(&mut out, a.policy.as_deref());
        out.put_u16(u16::try_from(self.tags.len()).unwrap_or(u16::MAX));
        for (key, value) in self.tags.iter().take(usize::from(u16::MAX)) {
            put_short(&mut out, key.as_bytes());
            put_short(&mut out, value.as_bytes());
        }
        out.freeze()
    }

    /// Decodes [`QueueConfig::to_bytes`]; never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new("queue configuration", bytes);
        if r.u8()? != VERSION {
            return Err(r.error("unknown version"));
        }
        let created_ms = r.i64()?;
        let modified_ms = r.i64()?;
        let visibility_timeout_s = r.u32()?;
        let delay_s = r.u32()?;
        let message_bytes_max = r.u32()?;
        let retention_s = r.u32()?;
        let receive_wait_s = r.u32()?;
        let redrive = if r.bool()? {
            Some(Redrive {
                dead_letter_queue: r.short_str()?,
                receive_count_max: r.u32()?,
            })
        } else {
            None
        };
        let redrive_allow = match r.u8()? {
            0 => None,
            1 => Some(RedriveAllow::AllowAll),
            2 => Some(RedriveAllow::DenyAll),
            3 => {
                let count = r.u16()?;
                let mut queues = Vec::new();
                for _ in 0..count {
                    queues.push(r.short_str()?);
                }
                Some(RedriveAllow::ByQueue(queues))
            }
            _ => return Err(r.error("unknown redrive permission")),
        };
        let fifo = r.bool()?;
        let content_based_dedup = r.bool()?;
        let dedup_scope = match r.u8()? {
            0 => DedupScope::Queue,
            1 => DedupScope::MessageGroup,
            _ => return Err(r.error("unknown deduplication scope")),
        };
        let throughput_limit = match r.u8()? {
            0 => ThroughputLimit::PerQueue,
            1 => ThroughputLimit::PerMessageGroupId,
            _ => return Err(r.error("unknown throughput limit")),
        };
        let kms_master_key_id = r.optional_short_str()?;
        let kms_data_key_reuse_s = r.u32()?;
        let sqs_managed_sse = r.bool()?;
        let policy = r.optional_long_str()?;
        let count = r.u16()?;
        let mut tags = BTreeMap::new();
        for _ in 0..count {
            let key = r.short_str()?;
            let value = r.short_str()?;
            tags.insert(key, value);
        }
        r.finish()?;
        Ok(Self {
            created_ms,
            modified_ms,
            attributes: QueueAttributes {
                visibility_timeout_s,
                delay_s,
                message_bytes_max,
                retention_s,
                receive_wait_s,
                redrive,
                redrive_allow,
                fifo,
                content_based_dedup,
                dedup_scope,
                throughput_limit,
                kms_master_key_id,
                kms_data_key_reuse_s,
                sqs_managed_sse,
                policy,
            },
            tags,
        })
    }
}
