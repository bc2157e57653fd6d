//! GetResourcePolicy: the policy document of a stream or consumer, `{}` when none is
//! attached.

use protocol::aws::kinesis::{GetResourcePolicyInput, GetResourcePolicyOutput};

use super::admin;
use super::error::ApiError;
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(
    streams: &Streams,
    input: GetResourcePolicyInput,
) -> Result<GetResourcePolicyOutput, ApiError> {
    let resource = admin::resource(streams, "resourceARN", &input.resource_arn)?;
    Ok(GetResourcePolicyOutput {
        policy: streams.policy(&resource).unwrap_or_else(|| "{}".to_owned()),
    })
}
