//! Topic lifecycle, listing, attributes, tags, permissions and data protection.

use std::collections::BTreeMap;

use protocol::aws::sns::attributes as wire_attributes;
use protocol::aws::sns::delivery_policy;
use protocol::aws::sns::errors::{Error, ErrorCode};
use protocol::aws::sns::shapes::*;
use serde_json::{Value, json};

use super::{page, topic_name};
use crate::views::topics::Topics;

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidParameter, message.into())
}

pub async fn create_topic(
    topics: &Topics,
    input: CreateTopicInput,
) -> Result<CreateTopicResponse, Error> {
    let mut attributes = input.attributes;
    if let Some(policy) = input.data_protection_policy {
        attributes.insert("DataProtectionPolicy".into(), policy);
    }
    let fifo = attributes
        .get("FifoTopic")
        .is_some_and(|value| value.eq_ignore_ascii_case("true"));
    wire_attributes::validate_topic_name(&input.name, fifo)?;
    for (name, value) in &attributes {
        wire_attributes::validate_topic_attribute(name, value, fifo)?;
    }
    let tags = tags_of(input.tags)?;
    topics.create(&input.name, attributes, tags).await?;
    Ok(CreateTopicResponse {
        topic_arn: Some(topics.topic_arn(&input.name)),
    })
}

pub async fn delete_topic(topics: &Topics, input: DeleteTopicInput) -> Result<(), Error> {
    let name = topic_name(topics, &input.topic_arn)?;
    topics.delete_topic(&name).await?;
    Ok(())
}

pub async fn list_topics(
    topics: &Topics,
    input: ListTopicsInput,
) -> Result<ListTopicsResponse, Error> {
    let (names, next_token) = page(topics.list(), Clone::clone, input.next_token.as_deref())?;
    Ok(ListTopicsResponse {
        topics: names
            .iter()
            .map(|name| Topic {
                topic_arn: Some(topics.topic_arn(name)),
            })
            .collect(),
        next_token,
    })
}

/// The default access policy SNS gives a topic.
fn default_policy(topics: &Topics, arn: &str) -> Value {
    json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [
                "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                "SNS:ListSubscriptionsByTopic", "SNS:Publish"
            ],
            "Resource": arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": topics.settings().account}}
        }]
    })
}

pub async fn get_topic_attributes(
    topics: &Topics,
    input: GetTopicAttributesInput,
) -> Result<GetTopicAttributesResponse, Error> {
    let name = topic_name(topics, &input.topic_arn)?;
    let info = topics.info(&name)?;
    let arn = topics.topic_arn(&name);
    let mut attributes: BTreeMap<String, String> = info.config.attributes.clone();
    attributes.remove("DataProtectionPolicy");
    attributes.insert("TopicArn".into(), arn.clone());
    attributes.insert("Owner".into(), topics.settings().account.clone());
    attributes
        .entry("Policy".into())
        .or_insert_with(|| default_policy(topics, &arn).to_string());
    attributes.entry("DisplayName".into()).or_default();
    attributes.insert("SubscriptionsConfirmed".into(), info.confirmed.to_string());
    attributes.insert("SubscriptionsPending".into(), info.pending.to_string());
    attributes.insert("SubscriptionsDeleted".into(), info.deleted.to_string());
    let topic_policy = info
        .config
        .attributes
        .get("DeliveryPolicy")
        .and_then(|text| delivery_policy::parse_topic_policy(text).ok());
    attributes.insert(
        "EffectiveDeliveryPolicy".into(),
        delivery_policy::effective(topic_policy.as_ref(), None).topic_json(),
    );
    if info.config.fifo() {
        attributes.insert("FifoTopic".into(), "true".into());
        attributes
            .entry("ContentBasedDeduplication".into())
            .or_insert_with(|| "false".into());
        if info.config.attributes.contains_key("ArchivePolicy")
            && let Some(oldest) = info.oldest_ms
        {
            attributes.insert(
                "BeginningArchiveTime".into(),
                protocol::aws::sns::envelope::iso8601_millis(oldest),
            );
        }
    }
    Ok(GetTopicAttributesResponse { attributes })
}

pub async fn set_topic_attributes(
    topics: &Topics,
    input: SetTopicAttributesInput,
) -> Result<(), Error> {
    let name = topic_name(topics, &input.topic_arn)?;
    let fifo = topics.is_fifo(&name)?;
    let value = input.attribute_value.unwrap_or_default();
    if input.attribute_name == "FifoTopic" {
        return Err(Error::invalid_parameter_reason(
            "AttributeName",
            "FifoTopic can only be set when the topic is created",
        ));
    }
    wire_attributes::validate_topic_attribute(&input.attribute_name, &value, fifo)?;
    topics
        .set_attributes(&name, [(input.attribute_name, value)].into())
        .await?;
    Ok(())
}

fn tags_of(tags: Vec<Tag>) -> Result<BTreeMap<String, String>, Error> {
    let mut map = BTreeMap::new();
    for tag in tags {
        if tag.key.is_empty() || tag.key.chars().count() > 128 || tag.value.chars().count() > 256 {
            return Err(invalid(
                "Invalid parameter: Tags Reason: A tag key is 1 to 128 characters and its value at most 256",
            ));
        }
        map.insert(tag.key, tag.value);
    }
    if map.len() > 50 {
        return Err(Error::new(
            ErrorCode::TagLimitExceeded,
            "Could not complete request: tag quota of per resource exceeded".to_owned(),
        ));
    }
    Ok(map)
}

pub async fn tag_resource(
    topics: &Topics,
    input: TagResourceRequest,
) -> Result<TagResourceResponse, Error> {
    let name = topic_name(topics, &input.resource_arn)?;
    let tags = tags_of(input.tags)?;
    let existing = topics.tags(&name)?;
    let total = existing
        .keys()
        .chain(tags.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if total > 50 {
        return Err(Error::new(
            ErrorCode::TagLimitExceeded,
            "Could not complete request: tag quota of per resource exceeded".to_owned(),
        ));
    }
    topics.tag(&name, tags).await?;
    Ok(TagResourceResponse {})
}

pub async fn untag_resource(
    topics: &Topics,
    input: UntagResourceRequest,
) -> Result<UntagResourceResponse, Error> {
    let name = topic_name(topics, &input.resource_arn)?;
    topics.untag(&name, &input.tag_keys).await?;
    Ok(UntagResourceResponse {})
}

pub async fn list_tags_for_resource(
    topics: &Topics,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResponse, Error> {
    let name = topic_name(topics, &input.resource_arn)?;
    Ok(ListTagsForResourceResponse {
        tags: topics
            .tags(&name)?
            .into_iter()
            .map(|(key, value)| Tag { key, value })
            .collect(),
    })
}

/// The topic's policy document (its own, or the default), parsed.
fn policy_of(topics: &Topics, name: &str) -> Result<Value, Error> {
    let info = topics.info(name)?;
    let arn = topics.topic_arn(name);
    Ok(info
        .config
        .attributes
        .get("Policy")
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_else(|| default_policy(topics, &arn)))
}

pub async fn add_permission(topics: &Topics, input: AddPermissionInput) -> Result<(), Error> {
    let name = topic_name(topics, &input.topic_arn)?;
    if input.aws_account_id.is_empty() {
        return Err(invalid("Invalid parameter: AWSAccountId"));
    }
    if input.action_name.is_empty() {
        return Err(invalid("Invalid parameter: ActionName"));
    }
    let mut policy = policy_of(topics, &name)?;
    let statements = policy
        .get_mut("Statement")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| invalid("Invalid parameter: Policy"))?;
    if statements
        .iter()
        .any(|statement| statement.get("Sid").and_then(Value::as_str) == Some(&input.label))
    {
        return Err(invalid("Invalid parameter: Statement already exists"));
    }
    let principals: Vec<String> = input
        .aws_account_id
        .iter()
        .map(|account| format!("arn:aws:iam::{account}:root"))
        .collect();
    let actions: Vec<String> = input
        .action_name
        .iter()
        .map(|action| format!("SNS:{action}"))
        .collect();
    statements.push(json!({
        "Sid": input.label,
        "Effect": "Allow",
        "Principal": {"AWS": principals},
        "Action": actions,
        "Resource": topics.topic_arn(&name),
    }));
    topics
        .set_attributes(&name, [("Policy".to_owned(), policy.to_string())].into())
        .await?;
    Ok(())
}

pub async fn remove_permission(topics: &Topics, input: RemovePermissionInput) -> Result<(), Error> {
    let name = topic_name(topics, &input.topic_arn)?;
    let mut policy = policy_of(topics, &name)?;
    if let Some(statements) = policy.get_mut("Statement").and_then(Value::as_array_mut) {
        statements
            .retain(|statement| statement.get("Sid").and_then(Value::as_str) != Some(&input.label));
    }
    topics
        .set_attributes(&name, [("Policy".to_owned(), policy.to_string())].into())
        .await?;
    Ok(())
}

pub async fn get_data_protection_policy(
    topics: &Topics,
    input: GetDataProtectionPolicyInput,
) -> Result<GetDataProtectionPolicyResponse, Error> {
    let name = topic_name(topics, &input.resource_arn)?;
    let info = topics.info(&name)?;
    Ok(GetDataProtectionPolicyResponse {
        data_protection_policy: info.config.attributes.get("DataProtectionPolicy").cloned(),
    })
}

pub async fn put_data_protection_policy(
    topics: &Topics,
    input: PutDataProtectionPolicyInput,
) -> Result<(), Error> {
    let name = topic_name(topics, &input.resource_arn)?;
    if serde_json::from_str::<Value>(&input.data_protection_policy).is_err() {
        return Err(invalid("Invalid parameter: DataProtectionPolicy"));
    }
    topics
        .set_attributes(
            &name,
            [(
                "DataProtectionPolicy".to_owned(),
                input.data_protection_policy,
            )]
            .into(),
        )
        .await?;
    Ok(())
}
