//! DeleteStream: refuses while consumers are registered unless EnforceConsumerDeletion.

use protocol::aws::kinesis::{DeleteStreamInput, Empty};

use super::error::ApiError;
use super::{blocking, stream_name};
use crate::views::streams::Streams;

pub async fn apply(streams: &Streams, input: DeleteStreamInput) -> Result<Empty, ApiError> {
    let name = stream_name(streams, &input.stream)?;
    let enforce = input.enforce_consumer_deletion.unwrap_or(false);
    blocking(streams, move |streams| {
        streams.delete_checked(&name, enforce)
    })
    .await?;
    Ok(Empty {})
}
