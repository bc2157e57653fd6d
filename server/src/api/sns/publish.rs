//! Publish and PublishBatch.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use protocol::aws::sns::errors::{Error, ErrorCode};
use protocol::aws::sns::shapes::*;
use protocol::aws::sns::{envelope, limits, message as wire_message};

use super::topic_name;
use crate::views::topics::{NewPublish, StoredAttribute, Topics};

/// One message's fields, as Publish and a PublishBatch entry share them.
struct Fields<'a> {
    message: &'a str,
    subject: Option<&'a str>,
    structure: Option<&'a str>,
    attributes: &'a MessageAttributeMap,
    group: Option<&'a str>,
    dedup: Option<&'a str>,
}

/// Checks a message against the topic and makes what the view stores.
fn prepare(fields: &Fields<'_>, topic: &TopicLimits) -> Result<NewPublish, Error> {
    wire_message::validate_message(fields.message, fields.attributes, topic.size_max)?;
    if let Some(subject) = fields.subject {
        wire_message::validate_subject(subject)?;
    }
    wire_message::validate_attributes(fields.attributes)?;
    let per_protocol = match fields.structure {
        None => BTreeMap::new(),
        Some("json") => envelope::message_structure_json(fields.message)?,
        Some(_) => return Err(Error::invalid_parameter("MessageStructure")),
    };
    let message = per_protocol
        .get("default")
        .cloned()
        .unwrap_or_else(|| fields.message.to_owned());
    wire_message::validate_fifo_ids(topic.fifo, topic.content_dedup, fields.group, fields.dedup)?;
    let attributes = fields
        .attributes
        .iter()
        .map(|(name, value)| StoredAttribute {
            name: name.clone(),
            data_type: value.data_type.clone(),
            text: value.string_value.clone(),
            binary: value
                .binary_value
                .as_ref()
                .map(|blob| BASE64.encode(&blob.0)),
        })
        .collect();
    Ok(NewPublish {
        message,
        per_protocol,
        subject: fields.subject.map(str::to_owned),
        attributes,
        group: fields.group.map(str::to_owned),
        dedup: fields.dedup.map(str::to_owned),
    })
}

/// What a topic's messages are checked against.
struct TopicLimits {
    fifo: bool,
    content_dedup: bool,
    /// `MaximumMessageSize`, else SNS's default.
    size_max: usize,
}

fn limits_of(topics: &Topics, name: &str) -> Result<TopicLimits, Error> {
    let info = topics.info(name)?;
    Ok(TopicLimits {
        fifo: info.config.fifo(),
        content_dedup: info.config.content_based_dedup(),
        size_max: info
            .config
            .attributes
            .get("MaximumMessageSize")
            .and_then(|value| value.parse().ok())
            .unwrap_or(limits::MESSAGE_BYTES_DEFAULT),
    })
}

pub async fn publish(topics: &Topics, input: PublishInput) -> Result<PublishResponse, Error> {
    let arn = match (&input.topic_arn, &input.target_arn, &input.phone_number) {
        (Some(arn), _, _) | (None, Some(arn), _) => arn.clone(),
        (None, None, Some(_)) => {
            return Err(Error::invalid_parameter_reason(
                "PhoneNumber",
                "Strata sends no SMS",
            ));
        }
        (None, None, None) => return Err(Error::no_publish_target()),
    };
    if arn.contains(":endpoint/") {
        return Err(Error::new(
            ErrorCode::EndpointDisabled,
            "Endpoint is disabled: Strata sends no mobile push notifications".to_owned(),
        ));
    }
    let name = topic_name(topics, &arn)?;
    let limits = limits_of(topics, &name)?;
    let fields = Fields {
        message: &input.message,
        subject: input.subject.as_deref(),
        structure: input.message_structure.as_deref(),
        attributes: &input.message_attributes,
        group: input.message_group_id.as_deref(),
        dedup: input.message_deduplication_id.as_deref(),
    };
    let new = prepare(&fields, &limits)?;
    let published = topics
        .publish(&name, vec![new])
        .await?
        .pop()
        .ok_or_else(|| super::internal("publish answered nothing"))??;
    Ok(PublishResponse {
        message_id: Some(published.message_id),
        sequence_number: published.sequence_number,
    })
}

pub async fn publish_batch(
    topics: &Topics,
    input: PublishBatchInput,
) -> Result<PublishBatchResponse, Error> {
    let name = topic_name(topics, &input.topic_arn)?;
    let entries = input.publish_batch_request_entries;
    wire_message::validate_batch(&entries)?;
    let limits = limits_of(topics, &name)?;
    wire_message::validate_batch_size(&entries, limits.size_max)?;
    let mut failed = Vec::new();
    let mut accepted = Vec::new();
    let mut messages = Vec::new();
    for entry in &entries {
        let fields = Fields {
            message: &entry.message,
            subject: entry.subject.as_deref(),
            structure: entry.message_structure.as_deref(),
            attributes: &entry.message_attributes,
            group: entry.message_group_id.as_deref(),
            dedup: entry.message_deduplication_id.as_deref(),
        };
        match prepare(&fields, &limits) {
            Ok(new) => {
                accepted.push(entry.id.clone());
                messages.push(new);
            }
            Err(error) => failed.push(error.batch_entry(&entry.id)),
        }
    }
    let mut successful = Vec::new();
    if !messages.is_empty() {
        for (id, outcome) in accepted
            .into_iter()
            .zip(topics.publish(&name, messages).await?)
        {
            match outcome {
                Ok(published) => successful.push(PublishBatchResultEntry {
                    id: Some(id),
                    message_id: Some(published.message_id),
                    sequence_number: published.sequence_number,
                }),
                Err(error) => failed.push(Error::from(error).batch_entry(&id)),
            }
        }
    }
    Ok(PublishBatchResponse { successful, failed })
}
