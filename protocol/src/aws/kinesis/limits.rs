//! The documented limits of the Kinesis API (botocore's model and the service documentation).

/// Records in one PutRecords request.
pub const PUT_RECORDS_MAX: usize = 500;
/// Bytes of data and partition keys in one PutRecords request.
pub const PUT_RECORDS_BYTES_MAX: usize = 10 * 1024 * 1024;
/// The default largest record (partition key + data), in KiB.
pub const RECORD_KIB_DEFAULT: u32 = 1024;
/// The smallest MaxRecordSizeInKiB a stream accepts.
pub const RECORD_KIB_MIN: u32 = 1024;
/// The largest MaxRecordSizeInKiB a stream accepts.
pub const RECORD_KIB_MAX: u32 = 10240;
/// Partition key length, in Unicode characters.
pub const PARTITION_KEY_CHARS_MAX: usize = 256;
/// Records returned by one GetRecords call.
pub const GET_RECORDS_MAX: u32 = 10_000;
/// Bytes returned by one GetRecords call.
pub const GET_RECORDS_BYTES_MAX: usize = 10 * 1024 * 1024;
/// How long a shard iterator stays valid, in milliseconds.
pub const ITERATOR_TTL_MS: i64 = 5 * 60 * 1000;
/// How long a NextToken stays valid, in milliseconds.
pub const NEXT_TOKEN_TTL_MS: i64 = 5 * 60 * 1000;
/// Retention period bounds, in hours.
pub const RETENTION_HOURS_MIN: u32 = 24;
/// Retention period bounds, in hours.
pub const RETENTION_HOURS_MAX: u32 = 8760;
/// Retention period of a new stream, in hours.
pub const RETENTION_HOURS_DEFAULT: u32 = 24;
/// Stream name length.
pub const STREAM_NAME_MAX: usize = 128;
/// DescribeStream's Limit and ListShards' MaxResults.
pub const SHARDS_PAGE_MAX: u32 = 10_000;
/// DescribeStream's default Limit.
pub const DESCRIBE_STREAM_PAGE_DEFAULT: u32 = 100;
/// ListStreams' Limit.
pub const LIST_STREAMS_PAGE_MAX: u32 = 10_000;
/// ListStreams' default Limit.
pub const LIST_STREAMS_PAGE_DEFAULT: u32 = 100;
/// Tags per stream.
pub const TAGS_MAX: usize = 50;
/// Tags added or removed in one call.
pub const TAGS_PER_CALL_MAX: usize = 10;
/// Shards a provisioned stream is created with by default (ON_DEMAND streams start with 4).
pub const ON_DEMAND_SHARDS: u32 = 4;
/// Per-shard write limit, bytes per second (off unless configured).
pub const SHARD_WRITE_BYTES_PER_SEC: u64 = 1024 * 1024;
/// Per-shard write limit, records per second (off unless configured).
pub const SHARD_WRITE_RECORDS_PER_SEC: u64 = 1000;
/// Registered consumers per stream.
pub const CONSUMERS_MAX: usize = 20;
