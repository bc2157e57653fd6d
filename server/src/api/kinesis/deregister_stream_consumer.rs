//! DeregisterStreamConsumer: removes a consumer (by ConsumerARN, or by StreamARN and
//! ConsumerName) and ends its subscriptions.

use protocol::aws::kinesis::{DeregisterStreamConsumerInput, Empty};

use super::blocking;
use super::consumers::find;
use super::error::ApiError;
use crate::views::streams::Streams;

pub async fn apply(
    streams: &Streams,
    input: DeregisterStreamConsumerInput,
) -> Result<Empty, ApiError> {
    let consumer = find(streams, &input)?;
    blocking(streams, move |streams| {
        streams.deregister_consumer(&consumer)
    })
    .await?;
    Ok(Empty {})
}
