//! CreateQueue: a queue on exactly one ON_DEMAND stream, from LATEST (the default),
//! TRIM_HORIZON or AT_TIMESTAMP, with a visibility timeout (default 30 s) and dead-letter
//! handling (default BUILT_IN after 6 receives).

use protocol::aws::kinesis::{CreateQueueInput, CreateQueueOutput, QueueDescriptionOutput};

use super::admin;
use super::error::ApiError;
use super::queues::{attribute_changes, description};
use super::validate::Checks;
use crate::views::stream_queues::{Attributes, Start, StreamQueues};

/// Runs the operation.
pub async fn apply(
    queues: &StreamQueues,
    input: CreateQueueInput,
) -> Result<CreateQueueOutput, ApiError> {
    let mut checks = Checks::new();
    checks.stream_name("queueName", Some(&input.queue_name));
    let streams = &input.stream_configuration_list;
    if streams.len() != 1 {
        checks.fail(
            "streamConfigurationList",
            None,
            &format!(
                "have exactly one entry (a queue delivers from one stream), not {}",
                streams.len()
            ),
        );
    }
    let mut start = Start::Latest;
    for (index, stream) in streams.iter().enumerate() {
        let member = format!("streamConfigurationList.{}.member", index + 1);
        checks.stream_arn(&format!("{member}.streamARN"), Some(&stream.stream_arn));
        let Some(position) = &stream.starting_position else {
            continue;
        };
        let field = format!("{member}.startingPosition");
        checks.one_of(
            &format!("{field}.type"),
            Some(&position.kind),
            &["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"],
        );
        start = match (position.kind.as_str(), position.timestamp) {
            ("AT_TIMESTAMP", Some(at)) => Start::AtTimestamp(at.0),
            ("AT_TIMESTAMP", None) => {
                checks.fail(
                    &format!("{field}.timestamp"),
                    None,
                    "not be null when type is AT_TIMESTAMP",
                );
                Start::Latest
            }
            (kind, Some(at)) => {
                checks.fail(
                    &format!("{field}.timestamp"),
                    Some(&at.0.to_string()),
                    &format!("be null when type is {kind}"),
                );
                Start::Latest
            }
            ("TRIM_HORIZON", None) => Start::TrimHorizon,
            _ => Start::Latest,
        };
    }
    let changes = input
        .queue_attributes
        .as_ref()
        .map(|attributes| attribute_changes(&mut checks, "queueAttributes", attributes))
        .unwrap_or_default();
    if let Some(tags) = &input.tags {
        admin::tag_map(&mut checks, "tags", tags);
    }
    let tags = input.tags.unwrap_or_default();
    checks.finish()?;
    let Some(stream) = streams.first() else {
        return Err(ApiError::from(crate::views::streams::Error::Validation(
            "StreamConfigurationList must have exactly one entry.".into(),
        )));
    };
    let view = queues
        .create(
            &input.queue_name,
            &stream.stream_arn,
            start,
            Attributes::default().with(changes),
            tags,
        )
        .await?;
    Ok(QueueDescriptionOutput {
        queue_description: description(&view),
    })
}
