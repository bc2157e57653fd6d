//! SNS limits (<https://docs.aws.amazon.com/general/latest/gr/sns.html> and the API reference
//! of each action).

/// Topic names: 1–256 of `[A-Za-z0-9_-]`, the `.fifo` suffix included
/// (<https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html>).
pub const TOPIC_NAME_LENGTH_MAX: usize = 256;
/// The suffix a FIFO topic's name ends in.
pub const FIFO_SUFFIX: &str = ".fifo";
/// A message (body plus attribute names, types and values), bytes, by default
/// (<https://docs.aws.amazon.com/sns/latest/api/API_Publish.html>).
pub const MESSAGE_BYTES_DEFAULT: usize = 262_144;
/// `MaximumMessageSize`, lowest value.
pub const MESSAGE_BYTES_MIN: usize = 1_024;
/// `MaximumMessageSize`, highest value.
pub const MESSAGE_BYTES_MAX: usize = 1_048_576;
/// `Subject`: fewer than 100 characters.
pub const SUBJECT_LENGTH_MAX: usize = 99;
/// Entries in one PublishBatch.
pub const BATCH_ENTRIES_MAX: usize = 10;
/// A batch entry `Id`: 1–80 of `[A-Za-z0-9_-]`.
pub const BATCH_ENTRY_ID_LENGTH_MAX: usize = 80;
/// Message attributes per message (SQS's bound, which raw delivery to SQS imposes).
pub const MESSAGE_ATTRIBUTES_MAX: usize = 10;
/// A message attribute name, in characters.
pub const MESSAGE_ATTRIBUTE_NAME_LENGTH_MAX: usize = 256;
/// `MessageGroupId` and `MessageDeduplicationId`: 1–128 characters.
pub const MESSAGE_ID_LENGTH_MAX: usize = 128;
/// ListTopics, ListSubscriptions(ByTopic) page size.
pub const LIST_PAGE_MAX: usize = 100;
/// Tags per topic.
pub const TAGS_MAX: usize = 50;
