//! Shape checks and conversions shared by the administration operations: tag maps and key
//! lists, resource ARNs (a stream or a consumer), shard-level metric names.

use std::collections::BTreeMap;

use protocol::aws::kinesis::{EnhancedMonitoringInput, EnhancedMonitoringOutput, Tag};

use super::error::ApiError;
use super::validate::Checks;
use super::{blocking, stream_name};
use crate::views::streams::Streams;
use crate::views::streams::admin::{ALL_METRICS, Resource, SHARD_METRICS};

/// Tag keys: 1–128 characters.
const TAG_KEY_CHARS_MAX: usize = 128;
/// Tag values: 0–256 characters.
const TAG_VALUE_CHARS_MAX: usize = 256;
/// Entries of a `TagMap`.
const TAG_MAP_MAX: usize = 200;
/// Entries of a `TagKeyList`.
const TAG_KEY_LIST_MAX: usize = 50;
/// Entries of a `MetricsNameList`.
const METRICS_LIST_MAX: usize = 7;
/// Length of a `ResourceARN`.
const RESOURCE_ARN_MAX: usize = 2048;

fn shown_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    format!("[{}]", items.collect::<Vec<_>>().join(", "))
}

/// A list or map member with `length` entries, within `min..=max`.
fn entries(checks: &mut Checks, field: &str, shown: &str, length: usize, min: usize, max: usize) {
    if length < min {
        checks.fail(
            field,
            Some(shown),
            &format!("have length greater than or equal to {min}"),
        );
    } else if length > max {
        checks.fail(
            field,
            Some(shown),
            &format!("have length less than or equal to {max}"),
        );
    }
}

/// A `TagMap`: 1–200 entries, keys of 1–128 and values of 0–256 characters.
pub fn tag_map(checks: &mut Checks, field: &str, tags: &BTreeMap<String, String>) {
    let shown = shown_list(tags.keys().map(String::as_str));
    entries(checks, field, &shown, tags.len(), 1, TAG_MAP_MAX);
    for (key, value) in tags {
        checks.length(&format!("{field}.key"), Some(key), 1, TAG_KEY_CHARS_MAX);
        checks.length(
            &format!("{field}.value"),
            Some(value),
            0,
            TAG_VALUE_CHARS_MAX,
        );
    }
}

/// A `TagKeyList`: 1–50 keys of 1–128 characters.
pub fn tag_keys(checks: &mut Checks, field: &str, keys: &[String]) {
    let shown = shown_list(keys.iter().map(String::as_str));
    entries(checks, field, &shown, keys.len(), 1, TAG_KEY_LIST_MAX);
    for key in keys {
        checks.length(&format!("{field}.member"), Some(key), 1, TAG_KEY_CHARS_MAX);
    }
}

/// Whether `arn` has the model's `ResourceARN` form for a stream, consumer or queue,
/// `arn:aws.*:kinesis:.*:\d{12}:.*(stream|queue)/\S+`.
fn is_resource_arn(arn: &str) -> bool {
    let Some(arn) = protocol::aws::arn::Arn::parse(arn) else {
        return false;
    };
    let resource = arn.resource;
    arn.is_account_resource_of("kinesis")
        && ["stream/", "queue/"].iter().any(|kind| {
            resource
                .find(kind)
                .and_then(|at| resource.get(at + kind.len()..))
                .is_some_and(|rest| !rest.is_empty() && !rest.chars().any(char::is_whitespace))
        })
}

/// Whether a checked `ResourceARN` names a queue (its resource is `queue/<id>`).
pub fn is_queue_resource(arn: &str) -> bool {
    protocol::aws::arn::Arn::parse(arn).is_some_and(|arn| arn.resource.starts_with("queue/"))
}

/// A `ResourceARN`: a stream or consumer ARN of 1–2048 characters.
pub fn resource_arn(checks: &mut Checks, field: &str, arn: &str) {
    checks.length(field, Some(arn), 1, RESOURCE_ARN_MAX);
    checks.pattern(
        field,
        Some(arn),
        is_resource_arn,
        "arn:aws.*:kinesis:.*:\\d{12}:.*(stream|channel|queue)/\\S+",
    );
}

/// A `MetricsNameList`: 1–7 metric names or `ALL`.
pub fn metrics(checks: &mut Checks, field: &str, names: &[String]) {
    let shown = shown_list(names.iter().map(String::as_str));
    entries(checks, field, &shown, names.len(), 1, METRICS_LIST_MAX);
    let mut allowed: Vec<&str> = SHARD_METRICS.to_vec();
    allowed.push(ALL_METRICS);
    for name in names {
        checks.one_of(&format!("{field}.member"), Some(name), &allowed);
    }
}

/// Checks a `ResourceARN` and finds the stream or consumer it names.
pub fn resource(streams: &Streams, field: &str, arn: &str) -> Result<Resource, ApiError> {
    let mut checks = Checks::new();
    resource_arn(&mut checks, field, arn);
    checks.finish()?;
    Ok(streams.resource(arn)?)
}

/// Tags as the `TagList` shape, by key.
pub fn tag_list(tags: BTreeMap<String, String>) -> Vec<Tag> {
    tags.into_iter()
        .map(|(key, value)| Tag { key, value })
        .collect()
}

/// Enable/DisableEnhancedMonitoring: turns the named shard-level metrics (`ALL` for every
/// one) on or off; answers the metrics before (Current) and after (Desired).
pub async fn change_monitoring(
    streams: &Streams,
    input: EnhancedMonitoringInput,
    enable: bool,
) -> Result<EnhancedMonitoringOutput, ApiError> {
    let mut checks = Checks::new();
    metrics(&mut checks, "shardLevelMetrics", &input.shard_level_metrics);
    checks.finish()?;
    let name = stream_name(streams, &input.stream)?;
    let (stream, names) = (name.clone(), input.shard_level_metrics);
    let (current, desired) = blocking(streams, move |streams| {
        streams.change_metrics(&stream, &names, enable)
    })
    .await?;
    Ok(EnhancedMonitoringOutput {
        stream_arn: streams.arn(&name),
        stream_name: name,
        current_shard_level_metrics: current,
        desired_shard_level_metrics: desired,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_arns_follow_the_model_pattern() {
        assert!(is_resource_arn(
            "arn:aws:kinesis:us-east-1:000000000000:stream/s"
        ));
        assert!(is_resource_arn(
            "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1700000000"
        ));
        assert!(is_resource_arn(
            "arn:aws-cn:kinesis:cn-north-1:000000000000:stream/s"
        ));
        assert!(!is_resource_arn("arn:aws:kinesis:us-east-1:0000:stream/s"));
        assert!(!is_resource_arn(
            "arn:aws:sqs:us-east-1:000000000000:stream/s"
        ));
        assert!(!is_resource_arn(
            "arn:aws:kinesis:us-east-1:000000000000:stream/"
        ));
        assert!(!is_resource_arn("stream/s"));
        assert!(is_resource_arn(
            "arn:aws:kinesis:us-east-1:000000000000:queue/0123abcd"
        ));
        assert!(!is_resource_arn(
            "arn:aws:kinesis:us-east-1:000000000000:queue/"
        ));
    }

    #[test]
    fn list_constraints_read_like_aws() {
        let mut checks = Checks::new();
        metrics(&mut checks, "shardLevelMetrics", &["Bogus".to_owned()]);
        tag_keys(&mut checks, "tagKeys", &[]);
        let message = checks.finish().err().map(|e| e.message).unwrap_or_default();
        assert!(
            message.starts_with("2 validation errors detected"),
            "{message}"
        );
        assert!(message.contains(
            "'shardLevelMetrics.member' failed to satisfy constraint: Member \
            must satisfy enum value set"
        ));
        assert!(message.contains(
            "Value '[]' at 'tagKeys' failed to satisfy constraint: Member \
            must have length greater than or equal to 1"
        ));
    }
}
