//! RegisterStreamConsumer: a named enhanced fan-out consumer of a stream, with optional tags.
//! A name already registered is ResourceInUseException; a 21st consumer (or a 6th one while
//! five are CREATING) is LimitExceededException.

use std::collections::BTreeMap;

use protocol::aws::kinesis::{RegisterStreamConsumerInput, RegisterStreamConsumerOutput, limits};

use super::blocking;
use super::consumers::{check_name, shape};
use super::error::ApiError;
use super::validate::Checks;
use crate::views::streams::Streams;

pub async fn apply(
    streams: &Streams,
    input: RegisterStreamConsumerInput,
) -> Result<RegisterStreamConsumerOutput, ApiError> {
    let mut checks = Checks::new();
    checks.stream_arn("streamARN", Some(&input.stream_arn));
    check_name(&mut checks, "consumerName", Some(&input.consumer_name));
    if input.tags.as_ref().is_some_and(BTreeMap::is_empty) {
        checks.fail("tags", Some("{}"), "have length greater than or equal to 1");
    }
    let tags = input.tags.unwrap_or_default();
    for (key, value) in &tags {
        checks.length("tags.key", Some(key), 1, 128);
        checks.length("tags.value", Some(value), 0, 256);
    }
    checks.finish()?;
    if tags.len() > limits::TAGS_MAX {
        return Err(ApiError::invalid(format!(
            "Failed to register consumer {} because it would have more than {} tags.",
            input.consumer_name,
            limits::TAGS_MAX
        )));
    }
    let stream = streams.resolve(None, Some(&input.stream_arn))?;
    let name = input.consumer_name;
    let consumer = blocking(streams, move |streams| {
        streams.register_consumer(&stream, &name, &tags)
    })
    .await?;
    Ok(RegisterStreamConsumerOutput {
        consumer: shape(&consumer),
    })
}
