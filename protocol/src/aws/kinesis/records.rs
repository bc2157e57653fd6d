//! Shapes of PutRecord, PutRecords, GetShardIterator and GetRecords.

use serde::{Deserialize, Serialize};

use super::streams::{HashKeyRange, StreamRef};
use crate::aws::body::{Blob, Timestamp};

/// `PutRecordInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordInput {
    /// Which stream.
    #[serde(flatten)]
    pub stream: StreamRef,
    /// The payload.
    pub data: Blob,
    /// Hashed with MD5 to pick the shard.
    pub partition_key: String,
    /// A decimal 128-bit hash key that overrides the partition key's hash.
    pub explicit_hash_key: Option<String>,
    /// Orders this record after the one with this sequence number (Strata's sequence numbers
    /// always increase within a shard, so this is validated and otherwise a no-op).
    pub sequence_number_for_ordering: Option<String>,
}

/// `PutRecordOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordOutput {
    /// Where the record went.
    pub shard_id: String,
    /// Its sequence number.
    pub sequence_number: String,
    /// NONE or KMS.
    pub encryption_type: String,
}

/// `PutRecordsRequestEntry`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsRequestEntry {
    /// The payload.
    pub data: Blob,
    /// A decimal 128-bit hash key.
    pub explicit_hash_key: Option<String>,
    /// Hashed with MD5 to pick the shard.
    pub partition_key: String,
}

/// `PutRecordsInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsInput {
    /// Which stream.
    #[serde(flatten)]
    pub stream: StreamRef,
    /// 1–500 records.
    pub records: Vec<PutRecordsRequestEntry>,
}

/// `PutRecordsResultEntry`: a sequence number and shard, or an error code and message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsResultEntry {
    /// Set for a stored record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
    /// Set for a stored record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_id: Option<String>,
    /// `ProvisionedThroughputExceededException` or `InternalFailure`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Detail for a failed record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// `PutRecordsOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsOutput {
    /// Failed records.
    pub failed_record_count: u32,
    /// One entry per request record, in request order.
    pub records: Vec<PutRecordsResultEntry>,
    /// NONE or KMS.
    pub encryption_type: String,
}

/// `GetShardIteratorInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetShardIteratorInput {
    /// Which stream.
    #[serde(flatten)]
    pub stream: StreamRef,
    /// Which shard.
    pub shard_id: String,
    /// AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST or AT_TIMESTAMP.
    pub shard_iterator_type: String,
    /// For the two sequence-number types.
    pub starting_sequence_number: Option<String>,
    /// For AT_TIMESTAMP.
    pub timestamp: Option<Timestamp>,
}

/// `GetShardIteratorOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetShardIteratorOutput {
    /// The iterator.
    pub shard_iterator: String,
}

/// `GetRecordsInput`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsInput {
    /// Where to read.
    pub shard_iterator: String,
    /// At most this many records, 1–10,000.
    pub limit: Option<i64>,
    /// The stream ARN (checked against the iterator's stream).
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    /// Accepted and ignored.
    pub stream_id: Option<String>,
}

/// `Record`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Record {
    /// Its sequence number.
    pub sequence_number: String,
    /// When it arrived.
    pub approximate_arrival_timestamp: Timestamp,
    /// The payload.
    pub data: Blob,
    /// Its partition key.
    pub partition_key: String,
    /// NONE or KMS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_type: Option<String>,
}

/// `ChildShard`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChildShard {
    /// The child.
    pub shard_id: String,
    /// Its parents.
    pub parent_shards: Vec<String>,
    /// Its hash keys.
    pub hash_key_range: HashKeyRange,
}

/// `GetRecordsOutput`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsOutput {
    /// The records.
    pub records: Vec<Record>,
    /// Where to read next; absent once a closed shard has been read to its end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_shard_iterator: Option<String>,
    /// How far behind the shard's tip this response is.
    pub millis_behind_latest: i64,
    /// Set once a closed shard has been read to its end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_shards: Option<Vec<ChildShard>>,
}

impl GetRecordsOutput {
    /// The JSON body, byte for byte what `serde_json` writes of this shape, with each record's
    /// data base64-encoded straight into the output: no string per record and no escape scan
    /// over the encoded data (base64 needs no escaping), in one buffer sized up front.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        // Field names, quotes and punctuation of one record, its numbers and a long key.
        const RECORD_OVERHEAD: usize = 160;
        let size = self
            .records
            .iter()
            .map(|record| {
                record.data.0.len().div_ceil(3) * 4
                    + record.partition_key.len()
                    + record.sequence_number.len()
                    + RECORD_OVERHEAD
            })
            .sum::<usize>()
            + 1024;
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(b"{\"Records\":[");
        for (index, record) in self.records.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"SequenceNumber\":");
            write_json(&mut out, &record.sequence_number);
            out.extend_from_slice(b",\"ApproximateArrivalTimestamp\":");
            write_json(&mut out, &record.approximate_arrival_timestamp);
            out.extend_from_slice(b",\"Data\":\"");
            let start = out.len();
            // SIMD base64 into exactly the room it needs (record data is at most a few MiB).
            let encoded = base64_simd::STANDARD.encoded_length(record.data.0.len());
            out.resize(start + encoded, 0);
            if let Some(room) = out.get_mut(start..) {
                let _ =
                    base64_simd::STANDARD.encode(&record.data.0, base64_simd::AsOut::as_out(room));
            }
            out.extend_from_slice(b"\",\"PartitionKey\":");
            write_json(&mut out, &record.partition_key);
            if let Some(encryption_type) = &record.encryption_type {
                out.extend_from_slice(b",\"EncryptionType\":");
                write_json(&mut out, encryption_type);
            }
            out.push(b'}');
        }
        out.push(b']');
        if let Some(iterator) = &self.next_shard_iterator {
            out.extend_from_slice(b",\"NextShardIterator\":");
            write_json(&mut out, iterator);
        }
        out.extend_from_slice(b",\"MillisBehindLatest\":");
        write_json(&mut out, &self.millis_behind_latest);
        if let Some(children) = &self.child_shards {
            out.extend_from_slice(b",\"ChildShards\":");
            write_json(&mut out, children);
        }
        out.push(b'}');
        out
    }
}

/// Appends `value` as `serde_json` writes it.
fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Strings, numbers and plain structs always serialize.
    let _ = serde_json::to_writer(out, value);
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use proptest::prelude::*;

    use super::{ChildShard, GetRecordsOutput, HashKeyRange, Record};
    use crate::aws::body::{Blob, Timestamp};

    fn record() -> impl Strategy<Value = Record> {
        (
            "[0-9]{1,56}",
            0i64..4_000_000_000_000,
            proptest::collection::vec(any::<u8>(), 0..400),
            any::<String>(),
            proptest::option::of("NONE|KMS"),
        )
            .prop_map(|(sequence, ms, data, key, encryption)| Record {
                sequence_number: sequence,
                approximate_arrival_timestamp: Timestamp(ms),
                data: Blob(Bytes::from(data)),
                partition_key: key,
                encryption_type: encryption,
            })
    }

    fn output() -> impl Strategy<Value = GetRecordsOutput> {
        (
            proptest::collection::vec(record(), 0..6),
            proptest::option::of("[A-Za-z0-9+/=]{0,80}"),
            any::<i64>(),
            proptest::option::of(proptest::collection::vec("shardId-[0-9]{12}", 0..3)),
        )
            .prop_map(|(records, iterator, behind, children)| GetRecordsOutput {
                records,
                next_shard_iterator: iterator,
                millis_behind_latest: behind,
                child_shards: children.map(|ids| {
                    ids.into_iter()
                        .map(|id| ChildShard {
                            parent_shards: vec![id.clone()],
                            shard_id: id,
                            hash_key_range: HashKeyRange {
                                starting_hash_key: "0".into(),
                                ending_hash_key: "340282366920938463463374607431768211455".into(),
                            },
                        })
                        .collect()
                }),
            })
    }

    proptest! {
        #[test]
        fn the_direct_json_is_serde_json_byte_for_byte(output in output()) {
            let expected = serde_json::to_vec(&output).unwrap_or_default();
            let direct = output.to_json();
            prop_assert_eq!(
                String::from_utf8_lossy(&direct),
                String::from_utf8_lossy(&expected)
            );
        }
    }
}
