//! StopStreamEncryption: turns server-side encryption off (EncryptionType NONE afterwards).

use protocol::aws::kinesis::{Empty, StopStreamEncryptionInput};

use super::error::ApiError;
use super::validate::Checks;
use super::{blocking, stream_name};
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(streams: &Streams, input: StopStreamEncryptionInput) -> Result<Empty, ApiError> {
    let mut checks = Checks::new();
    checks.one_of(
        "encryptionType",
        Some(&input.encryption_type),
        &["NONE", "KMS"],
    );
    checks.length("keyId", Some(&input.key_id), 1, 2048);
    checks.finish()?;
    let name = stream_name(streams, &input.stream)?;
    let kind = input.encryption_type;
    blocking(streams, move |streams| {
        streams.stop_encryption(&name, &kind)
    })
    .await?;
    Ok(Empty {})
}
