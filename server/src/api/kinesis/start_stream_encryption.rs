//! StartStreamEncryption: records the KMS key of server-side encryption; DescribeStream and
//! PutRecord(s) then report EncryptionType KMS.

use protocol::aws::kinesis::{Empty, StartStreamEncryptionInput};

use super::error::ApiError;
use super::validate::Checks;
use super::{blocking, stream_name};
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    input: StartStreamEncryptionInput,
) -> Result<Empty, ApiError> {
    let mut checks = Checks::new();
    checks.one_of(
        "encryptionType",
        Some(&input.encryption_type),
        &["NONE", "KMS"],
    );
    checks.length("keyId", Some(&input.key_id), 1, 2048);
    checks.finish()?;
    let name = stream_name(streams, &input.stream)?;
    let (kind, key) = (input.encryption_type, input.key_id);
    blocking(streams, move |streams| {
        streams.start_encryption(&name, &kind, &key)
    })
    .await?;
    Ok(Empty {})
}
