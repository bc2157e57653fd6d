//! The queue operations' limits, as the Kinesis API reference gives them
//! (<https://docs.aws.amazon.com/kinesis/latest/APIReference/API_CreateQueue.html> and the
//! pages of the other queue operations).

/// Default visibility timeout, seconds (QueueAttributes).
pub const VISIBILITY_TIMEOUT_S_DEFAULT: u32 = 30;
/// Longest visibility timeout, seconds (12 hours).
pub const VISIBILITY_TIMEOUT_S_MAX: u32 = 43_200;
/// Default MaxReceiveCount of BUILT_IN dead-letter handling.
pub const RECEIVE_COUNT_MAX_DEFAULT: u32 = 6;
/// MaxReceiveCount's range.
pub const RECEIVE_COUNT_MAX_MAX: u32 = 1000;
/// Records per receive (and the default Limit).
pub const RECEIVE_RECORDS_MAX: usize = 10;
/// Default long-poll wait, seconds.
pub const WAIT_S_DEFAULT: u32 = 9;
/// Longest long-poll wait, seconds (the shortest is 1).
pub const WAIT_S_MAX: u32 = 20;
/// Entries per acknowledge, visibility or restore batch.
pub const BATCH_ENTRIES_MAX: usize = 10;
/// Queue summaries per ListQueues page by default (at most 10,000).
pub const LIST_RESULTS_DEFAULT: usize = 100;
/// Largest ListQueues MaxResults.
pub const LIST_RESULTS_MAX: usize = 10_000;
