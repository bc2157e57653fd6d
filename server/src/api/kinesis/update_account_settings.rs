//! UpdateAccountSettings: enables or disables the minimum throughput billing commitment
//! (stored in the namespace `kinesis.account`); disabling within its first 24 hours
//! schedules the end for then.

use protocol::aws::kinesis::{UpdateAccountSettingsInput, UpdateAccountSettingsOutput};

use super::blocking;
use super::describe_account_settings::commitment_shape;
use super::error::ApiError;
use super::validate::Checks;
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    input: UpdateAccountSettingsInput,
) -> Result<UpdateAccountSettingsOutput, ApiError> {
    let status = input.minimum_throughput_billing_commitment.status;
    let mut checks = Checks::new();
    checks.one_of(
        "minimumThroughputBillingCommitment.status",
        Some(&status),
        &["ENABLED", "DISABLED"],
    );
    checks.finish()?;
    let enabled = status == "ENABLED";
    let commitment = blocking(streams, move |streams| {
        streams.set_billing_commitment(enabled)
    })
    .await?;
    Ok(UpdateAccountSettingsOutput {
        minimum_throughput_billing_commitment: commitment_shape(&commitment),
    })
}
