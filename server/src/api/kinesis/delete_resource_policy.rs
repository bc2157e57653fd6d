//! DeleteResourcePolicy: detaches the policy of a stream or consumer (nothing to detach is
//! not an error).

use protocol::aws::kinesis::{DeleteResourcePolicyInput, Empty};

use super::error::ApiError;
use super::validate::Checks;
use super::{admin, blocking};
use crate::views::streams::Streams;

/// Runs the operation.
pub async fn apply(streams: &Streams, input: DeleteResourcePolicyInput) -> Result<Empty, ApiError> {
    let mut checks = Checks::new();
    admin::resource_arn(&mut checks, "resourceARN", &input.resource_arn);
    checks.finish()?;
    let arn = input.resource_arn;
    blocking(streams, move |streams| {
        let resource = streams.resource(&arn)?;
        streams.set_policy(&resource, None)
    })
    .await?;
    Ok(Empty {})
}
