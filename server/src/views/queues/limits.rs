//! The queue limits the view enforces, units last. Source: the SQS API reference and
//! developer guide (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html>).

/// Longest visibility timeout, and the longest a message may stay in flight from a receive.
pub const VISIBILITY_TIMEOUT_S_MAX: u32 = 43_200;
/// Longest delay.
pub const DELAY_S_MAX: u32 = 900;
/// Smallest maximum message size a queue may set.
pub const MESSAGE_BYTES_MIN: u32 = 1_024;
/// Largest message (body and attributes), and the default maximum.
pub const MESSAGE_BYTES_MAX: u32 = 1_048_576;
/// Shortest retention period.
pub const RETENTION_S_MIN: u32 = 60;
/// Longest retention period (14 days).
pub const RETENTION_S_MAX: u32 = 1_209_600;
/// Longest receive wait (long polling).
pub const WAIT_S_MAX: u32 = 20;
/// Most messages one receive returns.
pub const RECEIVE_MESSAGES_MAX: u32 = 10;
/// Largest maxReceiveCount of a redrive policy.
pub const RECEIVE_COUNT_MAX: u32 = 1_000;
/// Most source queues a redrive allow policy names.
pub const REDRIVE_ALLOW_QUEUES_MAX: usize = 10;
/// Longest policy document.
pub const POLICY_BYTES_MAX: usize = 20_480;
/// Most messages in flight in a standard queue (beyond it receives fail); a FIFO queue
/// returns nothing instead.
pub const IN_FLIGHT_MAX: usize = 120_000;
/// How long a FIFO deduplication id is remembered.
pub const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;
/// How long a receive request attempt id is remembered.
pub const RECEIVE_ATTEMPT_WINDOW_MS: i64 = 5 * 60 * 1000;
/// How long after a purge another is refused.
pub const PURGE_INTERVAL_MS: i64 = 60 * 1000;
/// How long after a delete the name cannot be reused.
pub const RECREATE_AFTER_DELETE_MS: i64 = 60 * 1000;
/// Longest queue name (a `.fifo` suffix included).
pub const QUEUE_NAME_CHARS_MAX: usize = 80;
/// Most tags a queue has.
pub const TAGS_MAX: usize = 50;
/// Most messages per second a move task may move, and its default.
pub const MOVE_RATE_MAX: u32 = 500;
/// Most move tasks remembered per source queue (ListMessageMoveTasks shows these).
pub const MOVE_TASKS_LISTED_MAX: usize = 10;
