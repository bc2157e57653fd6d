//! PutResourcePolicy: attaches a policy document (a JSON object of at most 20 KiB) to a
//! stream or consumer, replacing any before it. Strata stores it; it does not enforce it.

use protocol::aws::kinesis::{Empty, PutResourcePolicyInput};

use super::error::ApiError;
use super::validate::Checks;
use super::{admin, blocking};
use crate::views::streams::Streams;

/// The largest policy document, in bytes (the size IAM allows resource-based policies).
const POLICY_BYTES_MAX: usize = 20 * 1024;

/// Runs the operation.
pub async fn apply(streams: &Streams, input: PutResourcePolicyInput) -> Result<Empty, ApiError> {
    let mut checks = Checks::new();
    admin::resource_arn(&mut checks, "resourceARN", &input.resource_arn);
    checks.finish()?;
    if input.policy.len() > POLICY_BYTES_MAX {
        return Err(ApiError::invalid(format!(
            "Policy is {} bytes long; a resource policy may have at most {POLICY_BYTES_MAX} bytes.",
            input.policy.len()
        )));
    }
    if !serde_json::from_str::<serde_json::Value>(&input.policy).is_ok_and(|v| v.is_object()) {
        return Err(ApiError::invalid(
            "Policy is not a valid JSON policy document (a JSON object).",
        ));
    }
    let (arn, policy) = (input.resource_arn, input.policy);
    blocking(streams, move |streams| {
        let resource = streams.resource(&arn)?;
        streams.set_policy(&resource, Some(policy))
    })
    .await?;
    Ok(Empty {})
}
