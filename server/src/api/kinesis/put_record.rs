//! PutRecord: one record, routed by the MD5 of its partition key (or its ExplicitHashKey).

use protocol::aws::kinesis::{PutRecordInput, PutRecordOutput};

use super::error::ApiError;
use super::put_records::{check_entry, encryption};
use super::stream_name;
use super::validate::Checks;
use crate::views::streams::{PutEntry, Streams, sequence};

pub async fn apply(streams: &Streams, input: PutRecordInput) -> Result<PutRecordOutput, ApiError> {
    let mut checks = Checks::new();
    checks.sequence_number(
        "sequenceNumberForOrdering",
        input.sequence_number_for_ordering.as_deref(),
    );
    checks.finish()?;
    let name = stream_name(streams, &input.stream)?;
    let meta = streams.writable_meta(&name)?;
    let explicit_hash_key = check_entry(
        None,
        &input.partition_key,
        input.explicit_hash_key.as_deref(),
        input.data.0.len(),
        meta.max_record_kib,
    )?;
    let entry = PutEntry {
        partition_key: input.partition_key,
        explicit_hash_key,
        data: input.data.0,
    };
    let mut results = streams.put(&name, vec![entry]).await?;
    let stored = results.pop().ok_or_else(|| {
        ApiError::from(crate::views::streams::Error::Internal("no result".into()))
    })??;
    Ok(PutRecordOutput {
        shard_id: sequence::shard_name(stored.shard),
        sequence_number: sequence::encode(stored.shard, stored.offset),
        encryption_type: encryption(&meta).to_owned(),
    })
}
