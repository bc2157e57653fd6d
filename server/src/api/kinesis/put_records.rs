//! PutRecords: up to 500 records and 10 MiB; one result per record, in request order.

use protocol::aws::kinesis::{PutRecordsInput, PutRecordsOutput, PutRecordsResultEntry, limits};

use super::error::{ApiError, record_error_code, record_error_message};
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
    let meta = streams.writable_meta(&name)?;
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
                    error_message: Some(record_error_message(&error)),
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

#[cfg(test)]
mod tests {
    //! A full disk used to answer PutRecords with a 500 carrying the engine's text, then poisoned
    //! every shard. It is now retriable the way the SDKs retry: a 503
    //! `ServiceUnavailableException` for a request of which nothing was written, and a per-record
    //! `InternalFailure` for the records of the shards that could not be written when others
    //! could. Runs on a tmpfs of its own; skipped (with a message) where mounting is not allowed.
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::io::Write;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use bytes::Bytes;
    use protocol::aws::body::Blob;
    use protocol::aws::kinesis::{PutRecordsRequestEntry, StreamRef};
    use storage::{Log, LogConfig};

    use super::*;
    use crate::views::streams::Settings;

    struct Mount(PathBuf);

    impl Drop for Mount {
        fn drop(&mut self) {
            let ok = Command::new("umount")
                .arg(&self.0)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                let _ = Command::new("umount").arg("-l").arg(&self.0).status();
            }
        }
    }

    fn mount_tmpfs(dir: &Path) -> Option<Mount> {
        let path = dir.join("mnt");
        std::fs::create_dir_all(&path).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2097152", "tmpfs"])
            .arg(&path)
            .output();
        match out {
            Ok(out) if out.status.success() => Some(Mount(path)),
            other => {
                println!("SKIPPED: cannot mount a tmpfs here (needs root): {other:?}");
                None
            }
        }
    }

    fn fill(dir: &Path) -> PathBuf {
        let path = dir.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![1u8; 4096];
        while file.write_all(&chunk).is_ok() {}
        path
    }

    /// One record for shard 0 (the low half of the hash key space) or shard 1.
    fn record(shard: u32) -> PutRecordsRequestEntry {
        let key = if shard == 0 { 0 } else { u128::MAX };
        PutRecordsRequestEntry {
            data: Blob(Bytes::from(vec![b'x'; 700])),
            explicit_hash_key: Some(key.to_string()),
            partition_key: "k".into(),
        }
    }

    fn input(records: Vec<PutRecordsRequestEntry>) -> PutRecordsInput {
        PutRecordsInput {
            stream: StreamRef {
                stream_name: Some("full".into()),
                ..StreamRef::default()
            },
            records,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_disk_is_a_503_or_per_record_internal_failures() {
        let dir = tempfile::tempdir().unwrap();
        let Some(mount) = mount_tmpfs(dir.path()) else {
            return;
        };
        let mut config = LogConfig::new(mount.0.join("log"));
        config.segment_bytes_max = 16 * 1024;
        config.record_bytes_max = 4 * 1024;
        config.batch_bytes_max = 8 * 1024;
        let log = Log::open(config).unwrap();
        let streams = Streams::open(log.clone(), Settings::default()).unwrap();
        streams.create("full", 2, &StreamMeta::default()).unwrap();
        let filler = fill(&mount.0);

        // Shard 0 until its segment is full and the next one cannot be made; shard 1's
        // preallocated segment still has room.
        let mut refused = None;
        for _ in 0..1000 {
            match apply(&streams, input(vec![record(0)])).await {
                Ok(output) => assert_eq!(output.failed_record_count, 0),
                Err(error) => {
                    refused = Some(error);
                    break;
                }
            }
        }
        let refused = refused.expect("the disk fills up");
        assert_eq!(
            (refused.status, refused.code),
            (503, "ServiceUnavailableException")
        );
        assert!(!refused.message.contains('/'), "{}", refused.message);

        let output = apply(&streams, input(vec![record(0), record(1)]))
            .await
            .expect("part of the request was written");
        assert_eq!(output.failed_record_count, 1);
        assert_eq!(
            output.records[0].error_code.as_deref(),
            Some("InternalFailure")
        );
        assert!(output.records[1].sequence_number.is_some());

        std::fs::remove_file(filler).unwrap();
        let output = apply(&streams, input(vec![record(0), record(1)]))
            .await
            .expect("space is back");
        assert_eq!(output.failed_record_count, 0);
        drop(streams);
        tokio::task::spawn_blocking(move || log.close())
            .await
            .unwrap()
            .unwrap();
    }
}
