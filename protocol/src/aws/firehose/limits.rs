//! Firehose limits (<https://docs.aws.amazon.com/firehose/latest/dev/limits.html>).

/// Records in one PutRecordBatch call.
pub const PUT_RECORD_BATCH_RECORDS_MAX: usize = 500;
/// Bytes of record data in one PutRecordBatch call: 4 MiB.
pub const PUT_RECORD_BATCH_BYTES_MAX: usize = 4 * 1024 * 1024;
/// Bytes of one record, before base64: 1,000 KiB (the model's `Data` max length).
pub const RECORD_BYTES_MAX: usize = 1_024_000;
/// `BufferingHints.SizeInMBs` range, and its default for S3 destinations.
pub const BUFFER_MIB_MIN: i64 = 1;
/// See [`BUFFER_MIB_MIN`].
pub const BUFFER_MIB_MAX: i64 = 128;
/// Default `SizeInMBs`.
pub const BUFFER_MIB_DEFAULT: u32 = 5;
/// `BufferingHints.IntervalInSeconds` range.
pub const BUFFER_SECONDS_MIN: i64 = 0;
/// See [`BUFFER_SECONDS_MIN`].
pub const BUFFER_SECONDS_MAX: i64 = 900;
/// Default `IntervalInSeconds`.
pub const BUFFER_SECONDS_DEFAULT: u32 = 300;
/// Delivery stream names: 1–64 of `[a-zA-Z0-9_.-]`.
pub const NAME_LENGTH_MAX: usize = 64;
/// Tags per delivery stream, and per TagDeliveryStream call.
pub const TAGS_MAX: usize = 50;
/// `ListDeliveryStreams.Limit` range and default.
pub const LIST_LIMIT_MAX: i64 = 10_000;
/// Default `ListDeliveryStreams.Limit`.
pub const LIST_LIMIT_DEFAULT: usize = 10;

/// `RetryOptions.DurationInSeconds` is at most two hours.
/// <https://docs.aws.amazon.com/firehose/latest/APIReference/API_RetryOptions.html>
pub const RETRY_SECONDS_MAX: u32 = 7_200;
