//! DescribeAccountSettings: the account's minimum throughput billing commitment.

use protocol::aws::body::Timestamp;
use protocol::aws::kinesis::{
    DescribeAccountSettingsInput, DescribeAccountSettingsOutput,
    MinimumThroughputBillingCommitmentOutput,
};

use super::error::ApiError;
use crate::views::streams::Streams;
use crate::views::streams::admin::Commitment;

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    _input: DescribeAccountSettingsInput,
) -> Result<DescribeAccountSettingsOutput, ApiError> {
    Ok(DescribeAccountSettingsOutput {
        minimum_throughput_billing_commitment: commitment_shape(&streams.billing_commitment()),
    })
}

/// The `MinimumThroughputBillingCommitmentOutput` shape of a commitment.
pub fn commitment_shape(commitment: &Commitment) -> MinimumThroughputBillingCommitmentOutput {
    MinimumThroughputBillingCommitmentOutput {
        status: commitment.status.as_str().to_owned(),
        started_at: commitment.started_ms.map(Timestamp),
        ended_at: commitment.ended_ms.map(Timestamp),
        earliest_allowed_end_at: commitment.earliest_end_ms.map(Timestamp),
    }
}
