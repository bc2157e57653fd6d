//! What the enhanced fan-out operations share: the `Consumer` shapes of a view consumer, and
//! the constraints on the members that name a consumer.

use protocol::aws::body::Timestamp;
use protocol::aws::kinesis::{Consumer, ConsumerDescription, ConsumerRef};

use super::error::ApiError;
use super::validate::Checks;
use crate::views::streams::Streams;
use crate::views::streams::consumers::Consumer as ViewConsumer;

/// The ConsumerARN pattern of the service model.
const CONSUMER_ARN_PATTERN: &str = "^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+";

fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Whether `arn` matches the model's ConsumerARN pattern.
fn is_consumer_arn(arn: &str) -> bool {
    let Some(arn) = protocol::aws::arn::Arn::parse(arn) else {
        return false;
    };
    if !arn.is_account_resource_of("kinesis") {
        return false;
    }
    let resource = arn.resource;
    let Some((_, after_stream)) = resource.split_once("stream/") else {
        return false;
    };
    let Some((stream, consumer)) = after_stream.split_once("/consumer/") else {
        return false;
    };
    let Some((name, seconds)) = consumer.rsplit_once(':') else {
        return false;
    };
    is_name(stream)
        && is_name(name)
        && !seconds.is_empty()
        && seconds.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a ConsumerName.
pub fn check_name(checks: &mut Checks, field: &str, value: Option<&str>) {
    checks.length(field, value, 1, 128);
    checks.pattern(field, value, is_name, "[a-zA-Z0-9_.-]+");
}

/// Checks a ConsumerARN.
pub fn check_arn(checks: &mut Checks, field: &str, value: Option<&str>) {
    checks.length(field, value, 1, 2048);
    checks.pattern(field, value, is_consumer_arn, CONSUMER_ARN_PATTERN);
}

/// Checks the members of a consumer reference and finds the consumer.
pub fn find(streams: &Streams, consumer: &ConsumerRef) -> Result<ViewConsumer, ApiError> {
    let mut checks = Checks::new();
    checks.stream_arn("streamARN", consumer.stream_arn.as_deref());
    check_name(
        &mut checks,
        "consumerName",
        consumer.consumer_name.as_deref(),
    );
    check_arn(&mut checks, "consumerARN", consumer.consumer_arn.as_deref());
    checks.finish()?;
    Ok(streams.find_consumer(
        consumer.consumer_arn.as_deref(),
        consumer.stream_arn.as_deref(),
        consumer.consumer_name.as_deref(),
    )?)
}

/// The `Consumer` shape.
pub fn shape(consumer: &ViewConsumer) -> Consumer {
    Consumer {
        consumer_name: consumer.name.clone(),
        consumer_arn: consumer.arn.clone(),
        consumer_status: consumer.status.as_str().to_owned(),
        consumer_creation_timestamp: Timestamp(consumer.created_ms),
    }
}

/// The `ConsumerDescription` shape.
pub fn description(streams: &Streams, consumer: &ViewConsumer) -> ConsumerDescription {
    ConsumerDescription {
        consumer_name: consumer.name.clone(),
        consumer_arn: consumer.arn.clone(),
        consumer_status: consumer.status.as_str().to_owned(),
        consumer_creation_timestamp: Timestamp(consumer.created_ms),
        stream_arn: streams.arn(&consumer.stream),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_arns_follow_the_model_pattern() {
        assert!(is_consumer_arn(
            "arn:aws:kinesis:us-east-1:000000000000:stream/s-1/consumer/c.2:1700000000"
        ));
        assert!(is_consumer_arn(
            "arn:aws-cn:kinesis:cn-north-1:123456789012:stream/s/consumer/c:1"
        ));
        for bad in [
            "",
            "arn:aws:kinesis:us-east-1:000000000000:stream/s",
            "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c",
            "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:x",
            "arn:aws:kinesis:us-east-1:0000:stream/s/consumer/c:1",
            "arn:aws:sqs:us-east-1:000000000000:stream/s/consumer/c:1",
            "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c d:1",
        ] {
            assert!(!is_consumer_arn(bad), "{bad}");
        }
    }
}
