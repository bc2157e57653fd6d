//! Shapes of the enhanced fan-out operations: RegisterStreamConsumer, DescribeStreamConsumer,
//! ListStreamConsumers, DeregisterStreamConsumer and SubscribeToShard, with the payload of
//! the `SubscribeToShardEvent` messages and of the exceptions sent inside its event stream.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::records::{ChildShard, Record};
use crate::aws::body::Timestamp;

/// `RegisterStreamConsumerInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisterStreamConsumerInput {
    /// The stream to register with.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// The consumer's name, unique within the stream.
    pub consumer_name: String,
    /// The stream id (accepted and ignored: ARNs are unique).
    pub stream_id: Option<String>,
    /// Tags for the consumer.
    pub tags: Option<BTreeMap<String, String>>,
}

/// `Consumer`: what RegisterStreamConsumer and ListStreamConsumers return.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Consumer {
    /// Its name.
    pub consumer_name: String,
    /// Its ARN: `<stream ARN>/consumer/<name>:<creation seconds>`.
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: String,
    /// `CREATING`, `ACTIVE` or `DELETING`.
    pub consumer_status: String,
    /// When it was registered.
    pub consumer_creation_timestamp: Timestamp,
}

/// `RegisterStreamConsumerOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisterStreamConsumerOutput {
    /// The new consumer.
    pub consumer: Consumer,
}

/// The ways DescribeStreamConsumer and DeregisterStreamConsumer name a consumer: its ARN, or
/// the stream's ARN and the consumer's name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsumerRef {
    /// The stream's ARN (with `ConsumerName`).
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    /// The consumer's name (with `StreamARN`).
    pub consumer_name: Option<String>,
    /// The consumer's ARN.
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: Option<String>,
    /// The stream id (accepted and ignored).
    pub stream_id: Option<String>,
}

/// `DescribeStreamConsumerInput`.
pub type DescribeStreamConsumerInput = ConsumerRef;

/// `DeregisterStreamConsumerInput`.
pub type DeregisterStreamConsumerInput = ConsumerRef;

/// `ConsumerDescription`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsumerDescription {
    /// Its name.
    pub consumer_name: String,
    /// Its ARN.
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: String,
    /// `CREATING`, `ACTIVE` or `DELETING`.
    pub consumer_status: String,
    /// When it was registered.
    pub consumer_creation_timestamp: Timestamp,
    /// The stream it reads.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
}

/// `DescribeStreamConsumerOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamConsumerOutput {
    /// The consumer.
    pub consumer_description: ConsumerDescription,
}

/// `ListStreamConsumersInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamConsumersInput {
    /// The stream.
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    /// Where the previous page ended.
    pub next_token: Option<String>,
    /// Consumers per page, 1–10,000.
    pub max_results: Option<i64>,
    /// The stream's creation time, telling apart streams of one name.
    pub stream_creation_timestamp: Option<Timestamp>,
    /// The stream id (accepted and ignored).
    pub stream_id: Option<String>,
}

/// `ListStreamConsumersOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamConsumersOutput {
    /// One page of consumers.
    pub consumers: Vec<Consumer>,
    /// Present when more pages follow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// `StartingPosition` of SubscribeToShard.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartingPosition {
    /// AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST or AT_TIMESTAMP.
    #[serde(rename = "Type")]
    pub kind: String,
    /// For the two sequence-number types.
    pub sequence_number: Option<String>,
    /// For AT_TIMESTAMP.
    pub timestamp: Option<Timestamp>,
}

/// `SubscribeToShardInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscribeToShardInput {
    /// The registered consumer.
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: String,
    /// Which shard.
    pub shard_id: String,
    /// Where to start.
    pub starting_position: StartingPosition,
    /// The stream id (accepted and ignored).
    pub stream_id: Option<String>,
}

/// `SubscribeToShardEvent`: the payload of each event after the initial response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscribeToShardEvent {
    /// The records, in order (possibly none).
    pub records: Vec<Record>,
    /// The sequence number to resume after (with AFTER_SEQUENCE_NUMBER); absent in the last
    /// event of a closed shard, which carries `ChildShards` instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continuation_sequence_number: Option<String>,
    /// How far behind the shard's tip this event is.
    pub millis_behind_latest: i64,
    /// Set once a closed shard has been read to its end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_shards: Option<Vec<ChildShard>>,
}

/// The payload of an exception sent inside an event stream (`{"message": "..."}`), as the
/// modeled exceptions of `SubscribeToShardEventStream` define it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventStreamException {
    /// Detail.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::body::{self, Format};

    #[test]
    fn requests_decode_and_events_encode_as_the_model_names_them() {
        let input: SubscribeToShardInput = body::decode(
            Format::Json,
            br#"{"ConsumerARN":"arn:c","ShardId":"shardId-000000000000",
                "StartingPosition":{"Type":"AT_SEQUENCE_NUMBER","SequenceNumber":"5"}}"#,
        )
        .unwrap_or_default();
        assert_eq!(input.consumer_arn, "arn:c");
        assert_eq!(input.starting_position.kind, "AT_SEQUENCE_NUMBER");
        assert_eq!(
            input.starting_position.sequence_number.as_deref(),
            Some("5")
        );
        let described: ConsumerRef =
            body::decode(Format::Json, br#"{"StreamARN":"s","ConsumerName":"c"}"#)
                .unwrap_or_default();
        assert_eq!(described.stream_arn.as_deref(), Some("s"));
        let event = SubscribeToShardEvent {
            records: Vec::new(),
            continuation_sequence_number: Some("7".into()),
            millis_behind_latest: 0,
            child_shards: None,
        };
        assert_eq!(
            String::from_utf8(body::encode(Format::Json, &event)).unwrap_or_default(),
            r#"{"Records":[],"ContinuationSequenceNumber":"7","MillisBehindLatest":0}"#
        );
        let consumer = Consumer {
            consumer_name: "c".into(),
            consumer_arn: "a".into(),
            consumer_status: "ACTIVE".into(),
            consumer_creation_timestamp: Timestamp(1_500),
        };
        assert_eq!(
            String::from_utf8(body::encode(Format::Json, &consumer)).unwrap_or_default(),
            r#"{"ConsumerName":"c","ConsumerARN":"a","ConsumerStatus":"ACTIVE","ConsumerCreationTimestamp":1.5}"#
        );
    }
}
