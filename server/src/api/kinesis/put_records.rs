//! PutRecords: up to 500 records and 10 MiB; one result per record, in request order.
//!
//! A JSON body in the shape the SDKs send is read in place ([`PutRecordsBody`]): each
//! record's data is decoded from the body straight into its shard's batch, with no string or
//! buffer per record, and the answer is written directly ([`PutRecordsReply::to_json`]). Any
//! other body, and any put that fails before a record is written, goes the serde way, whose
//! answer (the exact error included) is the reference: the fast path only ever succeeds where
//! the serde path would have succeeded the same way.

use protocol::aws::body::{self, Format};
use protocol::aws::kinesis::{
    PutRecordsBody, PutRecordsInput, PutRecordsOutput, PutRecordsResultEntry, StreamRef, limits,
};

use super::error::{ApiError, record_error_code, record_error_message};
use super::stream_name;
use super::validate::{Checks, is_hash_key, parse_hash_key};
use crate::api::{Reply, ReplyBody};
use crate::views::streams::{self, PutRecords, Stored, StreamMeta, Streams, sequence};

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

/// What a put needs of its request, decoded by serde or read in place.
trait Request {
    fn stream(&self) -> StreamRef;
    fn count(&self) -> usize;
    fn partition_key(&self, index: usize) -> &str;
    fn explicit_hash_key(&self, index: usize) -> Option<&str>;
    fn data_len(&self, index: usize) -> usize;
    fn write_data(&self, index: usize, out: &mut [u8]) -> bool;
}

impl Request for PutRecordsInput {
    fn stream(&self) -> StreamRef {
        self.stream.clone()
    }
    fn count(&self) -> usize {
        self.records.len()
    }
    fn partition_key(&self, index: usize) -> &str {
        self.records
            .get(index)
            .map_or("", |record| &record.partition_key)
    }
    fn explicit_hash_key(&self, index: usize) -> Option<&str> {
        self.records
            .get(index)
            .and_then(|record| record.explicit_hash_key.as_deref())
    }
    fn data_len(&self, index: usize) -> usize {
        self.records
            .get(index)
            .map_or(0, |record| record.data.0.len())
    }
    fn write_data(&self, index: usize, out: &mut [u8]) -> bool {
        match self.records.get(index) {
            Some(record) if record.data.0.len() == out.len() => {
                out.copy_from_slice(&record.data.0);
                true
            }
            _ => false,
        }
    }
}

impl Request for PutRecordsBody<'_> {
    fn stream(&self) -> StreamRef {
        PutRecordsBody::stream(self)
    }
    fn count(&self) -> usize {
        self.records.len()
    }
    fn partition_key(&self, index: usize) -> &str {
        self.records
            .get(index)
            .map_or("", |record| record.partition_key)
    }
    fn explicit_hash_key(&self, index: usize) -> Option<&str> {
        self.records
            .get(index)
            .and_then(|record| record.explicit_hash_key)
    }
    fn data_len(&self, index: usize) -> usize {
        self.records.get(index).map_or(0, |record| record.data_len)
    }
    fn write_data(&self, index: usize, out: &mut [u8]) -> bool {
        self.records
            .get(index)
            .is_some_and(|record| record.decode_data(out))
    }
}

/// A request whose records passed the checks, with their parsed hash keys.
struct Checked<'r, R> {
    request: &'r R,
    hash_keys: Vec<Option<u128>>,
}

impl<R: Request> PutRecords for Checked<'_, R> {
    fn count(&self) -> usize {
        self.request.count()
    }
    fn partition_key(&self, index: usize) -> &[u8] {
        self.request.partition_key(index).as_bytes()
    }
    fn explicit_hash_key(&self, index: usize) -> Option<u128> {
        self.hash_keys.get(index).copied().flatten()
    }
    fn data_len(&self, index: usize) -> usize {
        self.request.data_len(index)
    }
    fn write_data(&self, index: usize, out: &mut [u8]) -> bool {
        self.request.write_data(index, out)
    }
}

/// How a put failed: before any record was written (the serde path may answer instead), or
/// after.
enum Failed {
    Early(ApiError),
    Late(ApiError),
}

/// The answer of a put: each record's place or failure, in request order.
#[derive(Debug)]
pub struct PutRecordsReply {
    results: Vec<streams::Result<Stored>>,
    encryption_type: &'static str,
}

impl PutRecordsReply {
    /// The `PutRecordsOutput` shape (for CBOR, and what [`Self::to_json`] must equal).
    #[must_use]
    pub fn output(&self) -> PutRecordsOutput {
        let records = self
            .results
            .iter()
            .map(|result| match result {
                Ok(stored) => PutRecordsResultEntry {
                    sequence_number: Some(sequence::encode(stored.shard, stored.offset)),
                    shard_id: Some(sequence::shard_name(stored.shard)),
                    ..PutRecordsResultEntry::default()
                },
                Err(error) => PutRecordsResultEntry {
                    error_code: Some(record_error_code(error).to_owned()),
                    error_message: Some(record_error_message(error)),
                    ..PutRecordsResultEntry::default()
                },
            })
            .collect();
        PutRecordsOutput {
            failed_record_count: self.failed(),
            records,
            encryption_type: self.encryption_type.to_owned(),
        }
    }

    fn failed(&self) -> u32 {
        let failed = self.results.iter().filter(|result| result.is_err()).count();
        u32::try_from(failed).unwrap_or(u32::MAX)
    }

    /// The JSON body, byte for byte what `serde_json` writes of [`Self::output`], with no
    /// string per record: sequence numbers and shard ids are written straight into one
    /// buffer sized up front.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        /// `{"SequenceNumber":"<up to 39 digits>","ShardId":"shardId-<12 digits>"},`
        const STORED_LEN: usize = 100;
        let mut out = Vec::with_capacity(64 + self.results.len() * STORED_LEN);
        out.extend_from_slice(b"{\"FailedRecordCount\":");
        out.extend_from_slice(itoa::Buffer::new().format(self.failed()).as_bytes());
        out.extend_from_slice(b",\"Records\":[");
        for (index, result) in self.results.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            match result {
                Ok(stored) => {
                    out.extend_from_slice(b"{\"SequenceNumber\":\"");
                    sequence::write(stored.shard, stored.offset, &mut out);
                    out.extend_from_slice(b"\",\"ShardId\":\"");
                    sequence::write_shard_name(stored.shard, &mut out);
                    out.extend_from_slice(b"\"}");
                }
                Err(error) => {
                    out.extend_from_slice(b"{\"ErrorCode\":");
                    write_json(&mut out, record_error_code(error));
                    out.extend_from_slice(b",\"ErrorMessage\":");
                    write_json(&mut out, &record_error_message(error));
                    out.push(b'}');
                }
            }
        }
        out.extend_from_slice(b"],\"EncryptionType\":");
        write_json(&mut out, self.encryption_type);
        out.push(b'}');
        out
    }

    fn reply(&self, format: Format) -> Reply {
        let encoded = match format {
            Format::Json | Format::Json10 => self.to_json(),
            Format::Cbor => body::encode(format, &self.output()),
        };
        Reply::new(200, format.content_type(), ReplyBody::Full(encoded.into()))
    }
}

/// Appends `text` as a JSON string, as `serde_json` writes it.
fn write_json(out: &mut Vec<u8>, text: &str) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(out, text);
}

/// Answers a PutRecords request.
pub async fn handle(streams: &Streams, format: Format, body: &[u8]) -> Result<Reply, ApiError> {
    if matches!(format, Format::Json | Format::Json10)
        && let Some(request) = PutRecordsBody::parse(body)
    {
        match put(streams, &request).await {
            Ok(reply) => return Ok(reply.reply(format)),
            Err(Failed::Late(error)) => return Err(error),
            // Nothing was written: the serde path reads the body again and answers.
            Err(Failed::Early(_)) => {}
        }
    }
    let input: PutRecordsInput = body::decode(format, body)?;
    apply(streams, input).await.map(|reply| reply.reply(format))
}

/// Puts a request decoded by serde.
pub async fn apply(streams: &Streams, input: PutRecordsInput) -> Result<PutRecordsReply, ApiError> {
    put(streams, &input)
        .await
        .map_err(|(Failed::Early(error) | Failed::Late(error))| error)
}

async fn put<R: Request>(streams: &Streams, request: &R) -> Result<PutRecordsReply, Failed> {
    let count = request.count();
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
    checks.finish().map_err(Failed::Early)?;
    let name = stream_name(streams, &request.stream()).map_err(Failed::Early)?;
    let meta = streams
        .writable_meta(&name)
        .map_err(|error| Failed::Early(error.into()))?;
    let total: usize = (0..count)
        .map(|index| request.data_len(index) + request.partition_key(index).len())
        .sum();
    if total > limits::PUT_RECORDS_BYTES_MAX {
        return Err(Failed::Early(ApiError::invalid(format!(
            "Records size of {total} bytes exceeds the PutRecords limit of {} bytes.",
            limits::PUT_RECORDS_BYTES_MAX
        ))));
    }
    let mut hash_keys = Vec::with_capacity(count);
    for index in 0..count {
        let hash_key = check_entry(
            Some(index),
            request.partition_key(index),
            request.explicit_hash_key(index),
            request.data_len(index),
            meta.max_record_kib,
        )
        .map_err(Failed::Early)?;
        hash_keys.push(hash_key);
    }
    let checked = Checked { request, hash_keys };
    let prepared = streams
        .prepare_put(&name, &checked)
        .await
        .map_err(|error| Failed::Early(error.into()))?;
    let results = prepared
        .commit()
        .await
        .map_err(|error| Failed::Late(error.into()))?;
    // Nothing written because the disk is full: the whole request is a retriable 503. When
    // only some shards' records failed, each reports InternalFailure, which producers retry.
    if results
        .iter()
        .all(|result| matches!(result, Err(streams::Error::StorageFull)))
    {
        return Err(Failed::Late(streams::Error::StorageFull.into()));
    }
    Ok(PutRecordsReply {
        results,
        encryption_type: encryption(&meta),
    })
}

#[cfg(test)]
mod json_tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use proptest::prelude::*;

    use super::*;

    /// A stored record (shard, offset) or one of the failures a record reports.
    #[derive(Clone, Debug)]
    enum Outcome {
        Stored(u32, u64),
        Throttled(String, u32),
        Internal(String),
        Full,
    }

    fn outcome() -> impl Strategy<Value = Outcome> {
        prop_oneof![
            4 => (any::<u32>(), any::<u64>()).prop_map(|(shard, offset)| Outcome::Stored(shard, offset)),
            1 => ("[a-z0-9-]{1,20}", any::<u32>()).prop_map(|(stream, shard)| Outcome::Throttled(stream, shard)),
            1 => "\\PC{0,20}".prop_map(Outcome::Internal),
            1 => Just(Outcome::Full),
        ]
    }

    fn result(outcome: Outcome) -> streams::Result<Stored> {
        match outcome {
            Outcome::Stored(shard, offset) => Ok(Stored { shard, offset }),
            Outcome::Throttled(stream, shard) => Err(streams::Error::ThroughputExceeded {
                stream,
                shard: sequence::shard_name(shard),
                account: "000000000000".into(),
            }),
            Outcome::Internal(detail) => Err(streams::Error::Internal(detail)),
            Outcome::Full => Err(streams::Error::StorageFull),
        }
    }

    proptest! {
        #[test]
        fn the_direct_json_is_what_serde_json_writes(
            outcomes in proptest::collection::vec(outcome(), 0..40),
            kms in any::<bool>(),
        ) {
            let reply = PutRecordsReply {
                results: outcomes.into_iter().map(result).collect(),
                encryption_type: if kms { "KMS" } else { "NONE" },
            };
            prop_assert_eq!(
                String::from_utf8(reply.to_json()).unwrap(),
                serde_json::to_string(&reply.output()).unwrap()
            );
        }
    }
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
                Ok(reply) => assert_eq!(reply.output().failed_record_count, 0),
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
            .expect("part of the request was written")
            .output();
        assert_eq!(output.failed_record_count, 1);
        assert_eq!(
            output.records[0].error_code.as_deref(),
            Some("InternalFailure")
        );
        assert!(output.records[1].sequence_number.is_some());

        std::fs::remove_file(filler).unwrap();
        let output = apply(&streams, input(vec![record(0), record(1)]))
            .await
            .expect("space is back")
            .output();
        assert_eq!(output.failed_record_count, 0);
        drop(streams);
        tokio::task::spawn_blocking(move || log.close())
            .await
            .unwrap()
            .unwrap();
    }
}
