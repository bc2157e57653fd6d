//! GetShardIterator: TRIM_HORIZON, LATEST, AT/AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP.

use protocol::aws::kinesis::{GetShardIteratorInput, GetShardIteratorOutput};

use super::error::ApiError;
use super::stream_name;
use super::validate::Checks;
use crate::views::streams::{Start, Streams};

const TYPES: &[&str] = &[
    "AT_SEQUENCE_NUMBER",
    "AFTER_SEQUENCE_NUMBER",
    "TRIM_HORIZON",
    "LATEST",
    "AT_TIMESTAMP",
    "AT_TIMESTAMP",
];

pub async fn apply(
    streams: &Streams,
    input: GetShardIteratorInput,
) -> Result<GetShardIteratorOutput, ApiError> {
    let mut checks = Checks::new();
    checks.shard_id("shardId", Some(&input.shard_id));
    checks.one_of("shardIteratorType", Some(&input.shard_iterator_type), TYPES);
    checks.sequence_number(
        "startingSequenceNumber",
        input.starting_sequence_number.as_deref(),
    );
    checks.finish()?;
    let name = stream_name(streams, &input.stream)?;
    let sequence = input.starting_sequence_number.clone();
    let start = match (
        input.shard_iterator_type.as_str(),
        sequence,
        input.timestamp,
    ) {
        ("AT_SEQUENCE_NUMBER", Some(sequence), _) => Start::AtSequence(sequence),
        ("AFTER_SEQUENCE_NUMBER", Some(sequence), _) => Start::AfterSequence(sequence),
        ("TRIM_HORIZON", None, _) => Start::TrimHorizon,
        ("LATEST", None, _) => Start::Latest,
        ("AT_TIMESTAMP", None, Some(at)) => {
            if at.0 > streams.log().now_ms() {
                // AWS: a future timestamp reads like LATEST.
                Start::Latest
            } else {
                Start::AtTimestamp(at.0)
            }
        }
        ("AT_TIMESTAMP", _, None) => {
            return Err(ApiError::invalid(
                "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.",
            ));
        }
        (kind, _, _) => {
            return Err(ApiError::invalid(format!(
                "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified {kind} and {} StartingSequenceNumber.",
                if input.starting_sequence_number.is_some() {
                    "also a"
                } else {
                    "no"
                }
            )));
        }
    };
    let shard_iterator = streams.shard_iterator(&name, &input.shard_id, &start)?;
    Ok(GetShardIteratorOutput { shard_iterator })
}
