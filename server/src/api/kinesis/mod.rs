//! Kinesis Data Streams over AWS JSON 1.1 and CBOR 1.1: `X-Amz-Target: Kinesis_20131202.<Op>`.
//!
//! [`handle`] decodes the body into the operation's input shape, runs the operation's `apply`
//! (one file per operation) and encodes its output in the request's format. Errors go through
//! [`error`], the one place they become AWS exceptions. The queue operations
//! (`create_queue.rs`, …, shared checks and shapes in `queues.rs`) run on the stream queues
//! view; TagResource, UntagResource and ListTagsForResource take queue ARNs too.

pub mod error;
pub use crate::api::aws::validate;

mod acknowledge_dead_letter_queue_records;
mod acknowledge_queue_records;
mod add_tags_to_stream;
mod admin;
mod channels;
mod consumers;
mod create_channel;
mod create_queue;
mod create_stream;
mod decrease_stream_retention_period;
mod delete_channel;
mod delete_queue;
mod delete_resource_policy;
mod delete_stream;
mod deregister_stream_consumer;
mod describe_account_settings;
mod describe_channel;
mod describe_limits;
mod describe_queue;
mod describe_stream;
mod describe_stream_consumer;
mod describe_stream_summary;
mod disable_enhanced_monitoring;
mod enable_enhanced_monitoring;
mod get_records;
mod get_resource_policy;
mod get_shard_iterator;
mod increase_stream_retention_period;
mod list_channels;
mod list_queues;
mod list_shards;
mod list_stream_consumers;
mod list_streams;
mod list_tags_for_resource;
mod list_tags_for_stream;
mod merge_shards;
mod put_record;
mod put_records;
mod put_resource_policy;
mod queues;
mod receive_dead_letter_queue_records;
mod receive_queue_records;
mod register_stream_consumer;
mod remove_tags_from_stream;
mod restore_dead_letter_queue_records;
mod split_shard;
mod start_stream_encryption;
mod stop_stream_encryption;
mod subscribe_to_shard;
mod tag_resource;
mod untag_resource;
mod update_account_settings;
mod update_channel;
mod update_dead_letter_queue_records_visibility;
mod update_max_record_size;
mod update_queue;
mod update_queue_records_visibility;
mod update_shard_count;
mod update_stream_mode;
mod update_stream_warm_throughput;

use protocol::aws::body::Format;
use protocol::aws::kinesis::{self as shapes, errors as code};
use storage::ShardInfo;

use self::error::ApiError;
use self::validate::Checks;
use crate::api::{Reply, run, run_encoded};
use crate::views::delivery::DeliveryStreams;
use crate::views::stream_queues::StreamQueues;
use crate::views::streams::{self, Streams, sequence};

/// Runs `operation` on `body`, answering in `format`.
pub async fn handle(
    streams: &Streams,
    queues: &StreamQueues,
    operation: &str,
    format: Format,
    body: &[u8],
) -> Reply {
    let q = queues;
    let result = match operation {
        "CreateStream" => run(format, body, |i| create_stream::apply(streams, i)).await,
        "DeleteStream" => run(format, body, |i| delete_stream::apply(streams, i)).await,
        "DescribeStream" => run(format, body, |i| describe_stream::apply(streams, i)).await,
        "DescribeStreamSummary" => {
            run(format, body, |i| describe_stream_summary::apply(streams, i)).await
        }
        "ListStreams" => run(format, body, |i| list_streams::apply(streams, i)).await,
        "ListShards" => run(format, body, |i| list_shards::apply(streams, i)).await,
        "PutRecord" => run(format, body, |i| put_record::apply(streams, i)).await,
        "PutRecords" => put_records::handle(streams, format, body).await,
        "GetShardIterator" => run(format, body, |i| get_shard_iterator::apply(streams, i)).await,
        "GetRecords" => {
            let apply = |i| get_records::apply(streams, i);
            run_encoded(format, body, apply, shapes::GetRecordsOutput::to_json).await
        }
        "RegisterStreamConsumer" => {
            run(format, body, |i| {
                register_stream_consumer::apply(streams, i)
            })
            .await
        }
        "DescribeStreamConsumer" => {
            run(format, body, |i| {
                describe_stream_consumer::apply(streams, i)
            })
            .await
        }
        "ListStreamConsumers" => {
            run(format, body, |i| list_stream_consumers::apply(streams, i)).await
        }
        "DeregisterStreamConsumer" => {
            run(format, body, |i| {
                deregister_stream_consumer::apply(streams, i)
            })
            .await
        }
        "SubscribeToShard" => subscribe_to_shard::handle(streams, format, body).await,
        "IncreaseStreamRetentionPeriod" => {
            run(format, body, |i| {
                increase_stream_retention_period::apply(streams, i)
            })
            .await
        }
        "DecreaseStreamRetentionPeriod" => {
            run(format, body, |i| {
                decrease_stream_retention_period::apply(streams, i)
            })
            .await
        }
        "SplitShard" => run(format, body, |i| split_shard::apply(streams, i)).await,
        "MergeShards" => run(format, body, |i| merge_shards::apply(streams, i)).await,
        "UpdateShardCount" => run(format, body, |i| update_shard_count::apply(streams, i)).await,
        "AddTagsToStream" => run(format, body, |i| add_tags_to_stream::apply(streams, i)).await,
        "RemoveTagsFromStream" => {
            run(format, body, |i| remove_tags_from_stream::apply(streams, i)).await
        }
        "ListTagsForStream" => run(format, body, |i| list_tags_for_stream::apply(streams, i)).await,
        "TagResource" => run(format, body, |i| tag_resource::apply(streams, q, i)).await,
        "UntagResource" => run(format, body, |i| untag_resource::apply(streams, q, i)).await,
        "ListTagsForResource" => {
            run(format, body, |i| {
                list_tags_for_resource::apply(streams, q, i)
            })
            .await
        }
        "CreateQueue" => run(format, body, |i| create_queue::apply(q, i)).await,
        "DescribeQueue" => run(format, body, |i| describe_queue::apply(q, i)).await,
        "ListQueues" => run(format, body, |i| list_queues::apply(streams, q, i)).await,
        "UpdateQueue" => run(format, body, |i| update_queue::apply(q, i)).await,
        "DeleteQueue" => run(format, body, |i| delete_queue::apply(q, i)).await,
        "ReceiveQueueRecords" => run(format, body, |i| receive_queue_records::apply(q, i)).await,
        "AcknowledgeQueueRecords" => {
            run(format, body, |i| acknowledge_queue_records::apply(q, i)).await
        }
        "UpdateQueueRecordsVisibility" => {
            run(format, body, |i| {
                update_queue_records_visibility::apply(q, i)
            })
            .await
        }
        "ReceiveDeadLetterQueueRecords" => {
            run(format, body, |i| {
                receive_dead_letter_queue_records::apply(q, i)
            })
            .await
        }
        "AcknowledgeDeadLetterQueueRecords" => {
            run(format, body, |i| {
                acknowledge_dead_letter_queue_records::apply(q, i)
            })
            .await
        }
        "UpdateDeadLetterQueueRecordsVisibility" => {
            run(format, body, |i| {
                update_dead_letter_queue_records_visibility::apply(q, i)
            })
            .await
        }
        "RestoreDeadLetterQueueRecords" => {
            run(format, body, |i| {
                restore_dead_letter_queue_records::apply(q, i)
            })
            .await
        }
        "StartStreamEncryption" => {
            run(format, body, |i| start_stream_encryption::apply(streams, i)).await
        }
        "StopStreamEncryption" => {
            run(format, body, |i| stop_stream_encryption::apply(streams, i)).await
        }
        "EnableEnhancedMonitoring" => {
            run(format, body, |i| {
                enable_enhanced_monitoring::apply(streams, i)
            })
            .await
        }
        "DisableEnhancedMonitoring" => {
            run(format, body, |i| {
                disable_enhanced_monitoring::apply(streams, i)
            })
            .await
        }
        "UpdateMaxRecordSize" => {
            run(format, body, |i| update_max_record_size::apply(streams, i)).await
        }
        "UpdateStreamMode" => run(format, body, |i| update_stream_mode::apply(streams, i)).await,
        "UpdateStreamWarmThroughput" => {
            run(format, body, |i| {
                update_stream_warm_throughput::apply(streams, i)
            })
            .await
        }
        "DescribeLimits" => run(format, body, |i| describe_limits::apply(streams, i)).await,
        "PutResourcePolicy" => run(format, body, |i| put_resource_policy::apply(streams, i)).await,
        "GetResourcePolicy" => run(format, body, |i| get_resource_policy::apply(streams, i)).await,
        "DeleteResourcePolicy" => {
            run(format, body, |i| delete_resource_policy::apply(streams, i)).await
        }
        "DescribeAccountSettings" => {
            run(format, body, |i| {
                describe_account_settings::apply(streams, i)
            })
            .await
        }
        "UpdateAccountSettings" => {
            run(format, body, |i| update_account_settings::apply(streams, i)).await
        }
        other => Err(ApiError::new(
            code::UNKNOWN_OPERATION,
            format!("Operation {other} is not supported by Kinesis_20131202."),
        )),
    };
    match result {
        Ok(reply) => reply,
        Err(error) => error.reply(format),
    }
}

/// Whether `operation` is one of the Channel operations, which [`handle_channel`] runs.
pub fn is_channel_operation(operation: &str) -> bool {
    matches!(
        operation,
        "CreateChannel" | "DescribeChannel" | "ListChannels" | "UpdateChannel" | "DeleteChannel"
    )
}

/// Runs a Channel operation: a stream's built-in S3 sink, backed by the delivery view.
pub async fn handle_channel(
    streams: &Streams,
    delivery: &DeliveryStreams,
    operation: &str,
    format: Format,
    body: &[u8],
) -> Reply {
    let d = delivery;
    let result = match operation {
        "CreateChannel" => run(format, body, |i| create_channel::apply(streams, d, i)).await,
        "DescribeChannel" => run(format, body, |i| describe_channel::apply(d, i)).await,
        "ListChannels" => run(format, body, |i| list_channels::apply(d, i)).await,
        "UpdateChannel" => run(format, body, |i| update_channel::apply(d, i)).await,
        "DeleteChannel" => run(format, body, |i| delete_channel::apply(d, i)).await,
        other => Err(ApiError::new(
            code::UNKNOWN_OPERATION,
            format!("Operation {other} is not supported by Kinesis_20131202."),
        )),
    };
    match result {
        Ok(reply) => reply,
        Err(error) => error.reply(format),
    }
}

/// Runs catalog work (which fsyncs the metadata journal) on the blocking pool.
async fn blocking<T: Send + 'static>(
    streams: &Streams,
    work: impl FnOnce(&Streams) -> streams::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let streams = streams.clone();
    match tokio::task::spawn_blocking(move || work(&streams)).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(error) => Err(ApiError::from(streams::Error::Internal(error.to_string()))),
    }
}

/// Checks the name/ARN members of a stream reference and resolves the stream's name.
fn stream_name(streams: &Streams, stream: &shapes::StreamRef) -> Result<String, ApiError> {
    let mut checks = Checks::new();
    checks.stream_name("streamName", stream.stream_name.as_deref());
    checks.stream_arn("streamARN", stream.stream_arn.as_deref());
    checks.finish()?;
    Ok(streams.resolve(stream.stream_name.as_deref(), stream.stream_arn.as_deref())?)
}

/// The `Shard` shape of a catalog shard.
fn shard_shape(shard: &ShardInfo) -> shapes::Shard {
    let ending = shard.ending_offset.map(|ending| {
        sequence::encode(
            shard.id,
            ending.saturating_sub(1).max(shard.starting_offset),
        )
    });
    shapes::Shard {
        shard_id: sequence::shard_name(shard.id),
        parent_shard_id: shard.parent.map(sequence::shard_name),
        adjacent_parent_shard_id: shard.adjacent_parent.map(sequence::shard_name),
        hash_key_range: hash_range(shard),
        sequence_number_range: shapes::SequenceNumberRange {
            starting_sequence_number: sequence::encode(shard.id, shard.starting_offset),
            ending_sequence_number: ending,
        },
    }
}

/// The `HashKeyRange` shape of a catalog shard.
fn hash_range(shard: &ShardInfo) -> shapes::HashKeyRange {
    shapes::HashKeyRange {
        starting_hash_key: shard.hash_start.to_string(),
        ending_hash_key: shard.hash_end.to_string(),
    }
}

/// The `Record` shape of a record read from `shard`.
fn record_shape(shard: u32, record: &storage::Record) -> shapes::Record {
    shapes::Record {
        sequence_number: sequence::encode(shard, record.offset),
        approximate_arrival_timestamp: protocol::aws::body::Timestamp(record.timestamp_ms),
        data: protocol::aws::body::Blob(record.data.clone()),
        partition_key: String::from_utf8_lossy(&record.key).into_owned(),
        encryption_type: None,
    }
}

/// The `ChildShard` shape of a catalog shard.
fn child_shape(child: &ShardInfo) -> shapes::ChildShard {
    shapes::ChildShard {
        shard_id: sequence::shard_name(child.id),
        parent_shards: [child.parent, child.adjacent_parent]
            .into_iter()
            .flatten()
            .map(sequence::shard_name)
            .collect(),
        hash_key_range: hash_range(child),
    }
}

/// `EncryptionType` of a stream.
fn encryption_type(meta: &streams::StreamMeta) -> &'static str {
    if meta.encryption_key.is_some() {
        "KMS"
    } else {
        "NONE"
    }
}

/// `EnhancedMonitoring` of a stream.
fn enhanced_monitoring(meta: &streams::StreamMeta) -> Vec<shapes::EnhancedMetrics> {
    vec![shapes::EnhancedMetrics {
        shard_level_metrics: meta.metrics.iter().cloned().collect(),
    }]
}
