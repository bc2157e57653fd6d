//! SQS limits (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-quotas.html>
//! and the API reference of each action). Queue attribute ranges and defaults are in
//! [`super::attributes::QueueAttributeName::range`], built from the constants here.

/// Queue names: 1–80 of `[A-Za-z0-9_-]`, the `.fifo` suffix included
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html>).
pub const QUEUE_NAME_LENGTH_MAX: usize = 80;
/// The suffix a FIFO queue's name ends in.
pub const FIFO_SUFFIX: &str = ".fifo";

/// Entries in one batch request (SendMessageBatch, DeleteMessageBatch,
/// ChangeMessageVisibilityBatch).
pub const BATCH_ENTRIES_MAX: usize = 10;
/// A batch entry `Id`: 1–80 of `[A-Za-z0-9_-]`.
pub const BATCH_ENTRY_ID_LENGTH_MAX: usize = 80;
/// The bodies and attributes of one SendMessageBatch together: 1 MiB
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html>).
pub const BATCH_BYTES_MAX: usize = 1_048_576;

/// `MaximumMessageSize`, lowest value: 1 KiB.
pub const MESSAGE_BYTES_MIN: u32 = 1_024;
/// `MaximumMessageSize`, highest value and default: 1 MiB (the 2025 raise from 256 KiB).
pub const MESSAGE_BYTES_MAX: u32 = 1_048_576;
/// `MaximumMessageSize` default.
pub const MESSAGE_BYTES_DEFAULT: u32 = MESSAGE_BYTES_MAX;

/// `MessageRetentionPeriod`: 60 s to 14 days, default 4 days.
pub const RETENTION_SECONDS_MIN: u32 = 60;
/// See [`RETENTION_SECONDS_MIN`].
pub const RETENTION_SECONDS_MAX: u32 = 1_209_600;
/// See [`RETENTION_SECONDS_MIN`].
pub const RETENTION_SECONDS_DEFAULT: u32 = 345_600;

/// `DelaySeconds` (queue attribute and per message): 0–900, default 0.
pub const DELAY_SECONDS_MAX: u32 = 900;
/// `DelaySeconds` default.
pub const DELAY_SECONDS_DEFAULT: u32 = 0;

/// `VisibilityTimeout` (queue attribute, ReceiveMessage, ChangeMessageVisibility): 0–12 h.
pub const VISIBILITY_SECONDS_MAX: u32 = 43_200;
/// `VisibilityTimeout` default.
pub const VISIBILITY_SECONDS_DEFAULT: u32 = 30;

/// `ReceiveMessageWaitTimeSeconds` and ReceiveMessage's `WaitTimeSeconds`: 0–20.
pub const WAIT_SECONDS_MAX: u32 = 20;
/// `ReceiveMessageWaitTimeSeconds` default (short polling).
pub const WAIT_SECONDS_DEFAULT: u32 = 0;

/// `KmsDataKeyReusePeriodSeconds`: 60 s to 24 h, default 5 min.
pub const KMS_REUSE_SECONDS_MIN: u32 = 60;
/// See [`KMS_REUSE_SECONDS_MIN`].
pub const KMS_REUSE_SECONDS_MAX: u32 = 86_400;
/// See [`KMS_REUSE_SECONDS_MIN`].
pub const KMS_REUSE_SECONDS_DEFAULT: u32 = 300;

/// ReceiveMessage `MaxNumberOfMessages`: 1–10, default 1.
pub const RECEIVE_MESSAGES_MAX: i32 = 10;
/// ReceiveMessage `MaxNumberOfMessages` default.
pub const RECEIVE_MESSAGES_DEFAULT: i32 = 1;

/// Message attributes per message
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html>).
pub const MESSAGE_ATTRIBUTES_MAX: usize = 10;
/// A message attribute's name, in characters.
pub const MESSAGE_ATTRIBUTE_NAME_LENGTH_MAX: usize = 256;
/// A message attribute's `DataType`, custom suffix included, in characters.
pub const MESSAGE_ATTRIBUTE_TYPE_LENGTH_MAX: usize = 256;

/// `MessageDeduplicationId`, `MessageGroupId` and `ReceiveRequestAttemptId`: 1–128 of
/// alphanumerics and ASCII punctuation.
pub const MESSAGE_ID_LENGTH_MAX: usize = 128;
/// How long a FIFO queue remembers a deduplication id: 5 minutes.
pub const DEDUPLICATION_SECONDS: u32 = 300;
/// How long a `ReceiveRequestAttemptId` may be retried: 5 minutes.
pub const RECEIVE_ATTEMPT_SECONDS: u32 = 300;

/// Messages in flight on a standard queue before ReceiveMessage answers `OverLimit`.
pub const IN_FLIGHT_STANDARD_MAX: usize = 120_000;
/// Messages in flight on a FIFO queue (beyond it receives come back empty, with no error).
pub const IN_FLIGHT_FIFO_MAX: usize = 120_000;

/// One PurgeQueue per queue per 60 s.
pub const PURGE_INTERVAL_SECONDS: u32 = 60;
/// A deleted queue's name cannot be reused for 60 s.
pub const QUEUE_DELETED_RECENTLY_SECONDS: u32 = 60;

/// ListQueues and ListDeadLetterSourceQueues `MaxResults`: 1–1000; without it ListQueues
/// returns at most 1000 queues and no `NextToken`.
pub const LIST_QUEUES_RESULTS_MAX: i32 = 1_000;
/// ListMessageMoveTasks `MaxResults`: 1–10, default 1.
pub const LIST_MOVE_TASKS_RESULTS_MAX: i32 = 10;
/// ListMessageMoveTasks `MaxResults` default.
pub const LIST_MOVE_TASKS_RESULTS_DEFAULT: i32 = 1;
/// StartMessageMoveTask `MaxNumberOfMessagesPerSecond`: 1–500.
pub const MOVE_MESSAGES_PER_SECOND_MAX: i32 = 500;

/// RedrivePolicy `maxReceiveCount`: 1–1000.
pub const MAX_RECEIVE_COUNT_MIN: u32 = 1;
/// See [`MAX_RECEIVE_COUNT_MIN`].
pub const MAX_RECEIVE_COUNT_MAX: u32 = 1_000;
/// RedriveAllowPolicy `sourceQueueArns` with `byQueue`: at most 10.
pub const REDRIVE_SOURCE_QUEUES_MAX: usize = 10;

/// Tags per queue (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-queue-tags.html>).
pub const TAGS_MAX: usize = 50;
/// A tag key, in characters.
pub const TAG_KEY_LENGTH_MAX: usize = 128;
/// A tag value, in characters.
pub const TAG_VALUE_LENGTH_MAX: usize = 256;

/// AddPermission `Label`: 1–80 of `[A-Za-z0-9_-]`.
pub const PERMISSION_LABEL_LENGTH_MAX: usize = 80;
/// Actions in one policy statement (AddPermission's `ActionName.N`): at most 7
/// (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_AddPermission.html>).
pub const PERMISSION_ACTIONS_MAX: usize = 7;
