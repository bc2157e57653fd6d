//! PutRecords: up to 500 records and 10 MiB; one result per record, in request order.

use protocol::aws::kinesis::{PutRecordsInput, PutRecordsOutput, PutRecordsResultEntry, limits};

use super::error::{ApiError, record_error_code};
use super::stream_name;
use super::validate::{Checks, is_hash_key, parse_hash_key};
use crate::views::streams::{PutEntry, StreamMeta, Streams, sequence};

/// `EncryptionType` of a put's answer.
pub fn encryption(meta: &StreamMeta) -> &'static str {
    super::encryption_type(meta)
}

/// Checks one record's partition key, explicit hash key and size; returns the parsed hash
/// key. `index` is its place in a PutRecords request (`records.<index+1>.member.` in
/// messages), `None` for PutRecord. The member names of a message are built only when a
/// check fails: this runs for every record of every put.
pub fn check_entry(
    index: Option<usize>,
    partition_key: &str,
    explicit_hash_key: Option<&str>,
    data_len: usize,
    max_record_kib: u32,
) -> Result<Option<u128>, ApiError> {
    let max_bytes = max_record_kib as usize * 1024;
    let key_chars_ok = !partition_key.is_empty()
        && (partition_key.len() <= limits::PARTITION_KEY_CHARS_MAX
            || partition_key.chars().count() <= limits::PARTITION_KEY_CHARS_MAX);
    let shape_ok =
        key_chars_ok && explicit_hash_key.is_none_or(is_hash_key) && data_len <= max_bytes;
    if !shape_ok {
        let prefix = index.map_or_else(String::new, |i| format!("records.{}.member.", i + 1));
        let mut checks = Checks::new();
        checks.length(
            &format!("{prefix}partitionKey"),
            Some(partition_key),
            1,
            limits::PARTITION_KEY_CHARS_MAX,
        );
        checks.hash_key(&format!("{prefix}explicitHashKey"), explicit_hash_key);
        checks.blob_length(&format!("{prefix}data"), data_len, max_bytes);
        checks.finish()?;
    }
    if data_len + partition_key.len() > max_bytes {
        return Err(ApiError::invalid(format!(
            "Record size of {} bytes (data and partition key) exceeds the stream's limit of {max_bytes} bytes.",
            data_len + partition_key.len()
        )));
    }
    match explicit_hash_key {
        None => Ok(None),
        Some(text) => parse_hash_key(text).map(Some).ok_or_else(|| {
            ApiError::invalid(format!(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {text}"
            ))
        }),
    }
}

pub async fn apply(
    streams: &Streams,
    input: PutRecordsInput,
) -> Result<PutRecordsOutput, ApiError> {
    let count = input.records.len();
    let mut checks = Checks::new();
    if count == 0 {
        checks.fail(
            "records",
            Some("[]"),
            "have length greater than or equal to 1",
        );
    } else if count > limits::PUT_RECORDS_MAX {
        checks.fail(
            "records",
            Some(&format!("[{count} records]")),
            &format!(
                "have length less than or equal to {}",
                limits::PUT_RECORDS_MAX
            ),
        );
    }
    checks.finish()?;
    let name = stream_name(streams, &input.stream)?;
    streams.active(&name)?;
    let meta = StreamMeta::load(streams.log(), &name);
    let total: usize = input
        .records
        .iter()
        .map(|record| record.data.0.len() + record.partition_key.len())
        .sum();
    if total > limits::PUT_RECORDS_BYTES_MAX {
        return Err(ApiError::invalid(format!(
            "Records size of {total} bytes exceeds the PutRecords limit of {} bytes.",
            limits::PUT_RECORDS_BYTES_MAX
        )));
    }
    let mut entries = Vec::with_capacity(count);
    for (index, record) in input.records.into_iter().enumerate() {
        let explicit_hash_key = check_entry(
            Some(index),
            &record.partition_key,
            record.explicit_hash_key.as_deref(),
            record.data.0.len(),
            meta.max_record_kib,
        )?;
        entries.push(PutEntry {
            partition_key: record.partition_key,
            explicit_hash_key,
            data: record.data.0,
        });
    }
    let results = streams.put(&name, entries).await?;
    // Nothing written because the disk is full: the whole request is a retriable 503. When
    // only some shards' records failed, each reports InternalFailure, which producers retry.
    if results
        .iter()
        .all(|result| matches!(result, Err(crate::views::streams::Error::StorageFull)))
    {
        return Err(crate::views::streams::Error::StorageFull.into());
    }
    let mut failed = 0u32;
    let records = results
        .into_iter()
        .map(|result| match result {
            Ok(stored) => PutRecordsResultEntry {
                sequence_number: Some(sequence::encode(stored.shard, stored.offset)),
                shard_id: Some(sequence::shard_name(stored.shard)),
                ..PutRecordsResultEntry::default()
            },
            Err(error) => {
                failed += 1;
                PutRecordsResultEntry {
                    error_code: Some(record_error_code(&error).to_owned()),
                    error_message: Some(error.to_string()),
                    ..PutRecordsResultEntry::default()
                }
            }
        })
        .collect();
    Ok(PutRecordsOutput {
        failed_record_count: failed,
        records,
        encryption_type: encryption(&meta).to_owned(),
    })
}
