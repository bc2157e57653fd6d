//! DescribeStreamConsumer: a consumer by ConsumerARN, or by StreamARN and ConsumerName.

use protocol::aws::kinesis::{DescribeStreamConsumerInput, DescribeStreamConsumerOutput};

use super::consumers::{description, find};
use super::error::ApiError;
use crate::views::streams::Streams;

pub async fn apply(
    streams: &Streams,
    input: DescribeStreamConsumerInput,
) -> Result<DescribeStreamConsumerOutput, ApiError> {
    let consumer = find(streams, &input)?;
    Ok(DescribeStreamConsumerOutput {
        consumer_description: description(streams, &consumer),
    })
}
