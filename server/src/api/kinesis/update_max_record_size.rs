//! UpdateMaxRecordSize: the largest record (partition key + data) PutRecord and PutRecords
//! accept, 1024–10240 KiB.

use protocol::aws::kinesis::{Empty, UpdateMaxRecordSizeInput, limits};

use super::error::ApiError;
use super::validate::Checks;
use super::{blocking, stream_name};
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(streams: &Streams, input: UpdateMaxRecordSizeInput) -> Result<Empty, ApiError> {
    let mut checks = Checks::new();
    checks.range(
        "maxRecordSizeInKiB",
        Some(input.max_record_size_in_ki_b),
        i64::from(limits::RECORD_KIB_MIN),
        i64::from(limits::RECORD_KIB_MAX),
    );
    checks.finish()?;
    let name = stream_name(streams, &input.stream)?;
    let kib = u32::try_from(input.max_record_size_in_ki_b).unwrap_or(limits::RECORD_KIB_DEFAULT);
    blocking(streams, move |streams| {
        streams.set_max_record_kib(&name, kib)
    })
    .await?;
    Ok(Empty {})
}
