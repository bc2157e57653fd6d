//! Queue attributes: GetQueueAttributes, SetQueueAttributes, and the `Policy` edits of
//! AddPermission and RemovePermission; the conversions between the wire's attribute map and
//! the view's typed attributes.

use std::collections::BTreeMap;

use protocol::aws::sqs::attributes::{
    self as wire, Context as AttributeContext, DeduplicationScope, FifoThroughputLimit,
    QueueAttributeName, RedriveAllowPolicy, RedrivePermission, RedrivePolicy,
};
use protocol::aws::sqs::errors::{Error, ErrorCode};
use protocol::aws::sqs::{
    AddPermissionRequest, GetQueueAttributesRequest, GetQueueAttributesResult,
    RemovePermissionRequest, SetQueueAttributesRequest, limits,
};
use serde_json::{Value, json};

use super::Context;
use super::error::from_view;
use crate::views::queues::{
    AttributeChanges, DedupScope, QueueInfo, Queues, Redrive, RedriveAllow, ThroughputLimit,
};

/// The view's changes of a checked attribute map; ARNs become queue names.
pub fn changes_of(
    context: &Context,
    parsed: &wire::QueueAttributes,
) -> Result<AttributeChanges, Error> {
    let redrive = match &parsed.redrive_policy {
        None => None,
        Some(None) => Some(None),
        Some(Some(policy)) => {
            let dead_letter_queue = context
                .name_of_arn(&policy.dead_letter_target_arn)
                .ok_or_else(|| {
                    Error::invalid_parameter(
                        "RedrivePolicy",
                        &policy.to_json(),
                        "Dead-letter target does not exist",
                    )
                })?;
            Some(Some(Redrive {
                dead_letter_queue,
                receive_count_max: policy.max_receive_count,
            }))
        }
    };
    let redrive_allow = match &parsed.redrive_allow_policy {
        None => None,
        Some(None) => Some(None),
        Some(Some(policy)) => Some(Some(match &policy.permission {
            RedrivePermission::AllowAll => RedriveAllow::AllowAll,
            RedrivePermission::DenyAll => RedriveAllow::DenyAll,
            RedrivePermission::ByQueue(arns) => RedriveAllow::ByQueue(
                arns.iter()
                    .map(|arn| {
                        context.name_of_arn(arn).ok_or_else(|| {
                            Error::invalid_parameter(
                                "RedriveAllowPolicy",
                                arn,
                                "Source queue ARN is invalid",
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?,
            ),
        })),
    };
    let removable = |value: &Option<String>| {
        value
            .as_ref()
            .map(|value| (!value.is_empty()).then(|| value.clone()))
    };
    Ok(AttributeChanges {
        visibility_timeout_s: parsed.visibility_timeout,
        delay_s: parsed.delay_seconds,
        message_bytes_max: parsed.maximum_message_size,
        retention_s: parsed.message_retention_period,
        receive_wait_s: parsed.receive_message_wait_time_seconds,
        redrive,
        redrive_allow,
        fifo: parsed.fifo_queue,
        content_based_dedup: parsed.content_based_deduplication,
        dedup_scope: parsed.deduplication_scope.map(|scope| match scope {
            DeduplicationScope::Queue => DedupScope::Queue,
            DeduplicationScope::MessageGroup => DedupScope::MessageGroup,
        }),
        throughput_limit: parsed.fifo_throughput_limit.map(|limit| match limit {
            FifoThroughputLimit::PerQueue => ThroughputLimit::PerQueue,
            FifoThroughputLimit::PerMessageGroupId => ThroughputLimit::PerMessageGroupId,
        }),
        kms_master_key_id: removable(&parsed.kms_master_key_id),
        kms_data_key_reuse_s: parsed.kms_data_key_reuse_period_seconds,
        sqs_managed_sse: parsed.sqs_managed_sse_enabled,
        policy: removable(&parsed.policy),
    })
}

/// One attribute's wire value, or `None` where AWS leaves it out (an unset policy).
fn attribute_value(
    context: &Context,
    info: &QueueInfo,
    name: QueueAttributeName,
) -> Option<String> {
    use QueueAttributeName as N;
    let a = &info.config.attributes;
    let seconds = |ms: i64| (ms / 1000).to_string();
    Some(match name {
        N::All => return None,
        N::Policy => a.policy.clone()?,
        N::VisibilityTimeout => a.visibility_timeout_s.to_string(),
        N::MaximumMessageSize => a.message_bytes_max.to_string(),
        N::MessageRetentionPeriod => a.retention_s.to_string(),
        N::ApproximateNumberOfMessages => info.counts.visible.to_string(),
        N::ApproximateNumberOfMessagesNotVisible => info.counts.in_flight.to_string(),
        N::ApproximateNumberOfMessagesDelayed => info.counts.delayed.to_string(),
        N::CreatedTimestamp => seconds(info.config.created_ms),
        N::LastModifiedTimestamp => seconds(info.config.modified_ms),
        N::QueueArn => context.queue_arn(&info.name),
        N::DelaySeconds => a.delay_s.to_string(),
        N::ReceiveMessageWaitTimeSeconds => a.receive_wait_s.to_string(),
        N::RedrivePolicy => {
            let redrive = a.redrive.as_ref()?;
            RedrivePolicy {
                dead_letter_target_arn: context.queue_arn(&redrive.dead_letter_queue),
                max_receive_count: redrive.receive_count_max,
            }
            .to_json()
        }
        N::RedriveAllowPolicy => {
            let permission = match a.redrive_allow.as_ref()? {
                RedriveAllow::AllowAll => RedrivePermission::AllowAll,
                RedriveAllow::DenyAll => RedrivePermission::DenyAll,
                RedriveAllow::ByQueue(names) => RedrivePermission::ByQueue(
                    names.iter().map(|name| context.queue_arn(name)).collect(),
                ),
            };
            RedriveAllowPolicy { permission }.to_json()
        }
        N::FifoQueue => a.fifo.to_string(),
        N::ContentBasedDeduplication => a.content_based_dedup.to_string(),
        N::KmsMasterKeyId => a.kms_master_key_id.clone()?,
        N::KmsDataKeyReusePeriodSeconds => a.kms_data_key_reuse_s.to_string(),
        N::DeduplicationScope => match a.dedup_scope {
            DedupScope::Queue => DeduplicationScope::Queue,
            DedupScope::MessageGroup => DeduplicationScope::MessageGroup,
        }
        .as_str()
        .to_owned(),
        N::FifoThroughputLimit => match a.throughput_limit {
            ThroughputLimit::PerQueue => FifoThroughputLimit::PerQueue,
            ThroughputLimit::PerMessageGroupId => FifoThroughputLimit::PerMessageGroupId,
        }
        .as_str()
        .to_owned(),
        N::SqsManagedSseEnabled => a.sqs_managed_sse.to_string(),
    })
}

pub async fn get_queue_attributes(
    queues: &Queues,
    context: &Context,
    input: GetQueueAttributesRequest,
) -> Result<GetQueueAttributesResult, Error> {
    let name = context.queue_name(&input.queue_url)?;
    let info = queues.info(&name).map_err(from_view)?;
    let names = wire::parse_attribute_names(&input.attribute_names, info.config.attributes.fifo)?;
    let attributes: BTreeMap<String, String> = names
        .into_iter()
        .filter_map(|name| {
            attribute_value(context, &info, name).map(|value| (name.as_str().to_owned(), value))
        })
        .collect();
    Ok(GetQueueAttributesResult { attributes })
}

pub async fn set_queue_attributes(
    queues: &Queues,
    context: &Context,
    input: SetQueueAttributesRequest,
) -> Result<(), Error> {
    let name = context.queue_name(&input.queue_url)?;
    let fifo = queues
        .info(&name)
        .map_err(from_view)?
        .config
        .attributes
        .fifo;
    let parsed = wire::parse_queue_attributes(&input.attributes, AttributeContext::Set { fifo })?;
    let changes = changes_of(context, &parsed)?;
    queues
        .set_attributes(&name, &changes)
        .await
        .map_err(from_view)
}

/// The actions AddPermission grants (`*` or a name, with or without `SQS:`).
const PERMISSION_ACTIONS: &[&str] = &[
    "*",
    "ChangeMessageVisibility",
    "DeleteMessage",
    "GetQueueAttributes",
    "GetQueueUrl",
    "ListDeadLetterSourceQueues",
    "PurgeQueue",
    "ReceiveMessage",
    "SendMessage",
    "ListQueueTags",
];

fn label_error(label: &str, reason: &str) -> Error {
    Error::invalid_parameter("Label", label, reason)
}

fn check_label(label: &str) -> Result<(), Error> {
    let valid = !label.is_empty()
        && label.len() <= limits::PERMISSION_LABEL_LENGTH_MAX
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(label_error(
            label,
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ))
    }
}

/// The queue's policy as JSON, or a new empty one.
fn policy_of(context: &Context, info: &QueueInfo) -> Value {
    info.config
        .attributes
        .policy
        .as_deref()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| {
            json!({
                "Version": "2012-10-17",
                "Id": format!("{}/SQSDefaultPolicy", context.queue_arn(&info.name)),
                "Statement": [],
            })
        })
}

/// The policy's statement list (made an empty one where it is missing or not a list).
fn statements(policy: &mut Value) -> Result<&mut Vec<Value>, Error> {
    let object = policy
        .as_object_mut()
        .ok_or_else(|| super::internal("a queue policy is not a JSON object"))?;
    let entry = object.entry("Statement").or_insert_with(|| json!([]));
    if !entry.is_array() {
        *entry = json!([]);
    }
    entry
        .as_array_mut()
        .ok_or_else(|| super::internal("a policy statement list is not a list"))
}

async fn store_policy(queues: &Queues, name: &str, policy: Option<String>) -> Result<(), Error> {
    let changes = AttributeChanges {
        policy: Some(policy),
        ..AttributeChanges::default()
    };
    queues
        .set_attributes(name, &changes)
        .await
        .map_err(from_view)
}

pub async fn add_permission(
    queues: &Queues,
    context: &Context,
    input: AddPermissionRequest,
) -> Result<(), Error> {
    let name = context.queue_name(&input.queue_url)?;
    check_label(&input.label)?;
    if input.aws_account_ids.is_empty() {
        return Err(Error::missing_parameter("AWSAccountId"));
    }
    if input.actions.is_empty() {
        return Err(Error::missing_parameter("ActionName"));
    }
    if input.actions.len() > limits::PERMISSION_ACTIONS_MAX {
        return Err(Error::new(
            ErrorCode::OverLimit,
            format!(
                "{} actions are more than the {} a permission may grant.",
                input.actions.len(),
                limits::PERMISSION_ACTIONS_MAX
            ),
        ));
    }
    let mut actions = Vec::with_capacity(input.actions.len());
    for action in &input.actions {
        let bare = action.strip_prefix("SQS:").unwrap_or(action);
        if !PERMISSION_ACTIONS.contains(&bare) {
            return Err(Error::invalid_parameter(
                "ActionName",
                action,
                "Please refer to the appropriate WSDL for a list of valid actions",
            ));
        }
        actions.push(Value::String(format!("SQS:{bare}")));
    }
    let info = queues.info(&name).map_err(from_view)?;
    let mut policy = policy_of(context, &info);
    let statements = statements(&mut policy)?;
    if statements
        .iter()
        .any(|statement| statement.get("Sid").and_then(Value::as_str) == Some(&input.label))
    {
        return Err(label_error(&input.label, "Already exists"));
    }
    let principals: Vec<Value> = input
        .aws_account_ids
        .iter()
        .map(|account| Value::String(format!("arn:aws:iam::{account}:root")))
        .collect();
    statements.push(json!({
        "Sid": input.label,
        "Effect": "Allow",
        "Principal": {"AWS": principals},
        "Action": actions,
        "Resource": context.queue_arn(&name),
    }));
    store_policy(queues, &name, Some(policy.to_string())).await
}

pub async fn remove_permission(
    queues: &Queues,
    context: &Context,
    input: RemovePermissionRequest,
) -> Result<(), Error> {
    let name = context.queue_name(&input.queue_url)?;
    let info = queues.info(&name).map_err(from_view)?;
    let mut policy = policy_of(context, &info);
    let statements = statements(&mut policy)?;
    let before = statements.len();
    statements
        .retain(|statement| statement.get("Sid").and_then(Value::as_str) != Some(&input.label));
    if statements.len() == before {
        return Err(label_error(
            &input.label,
            "can't find label on existing policy",
        ));
    }
    let text = (!statements.is_empty()).then(|| policy.to_string());
    store_policy(queues, &name, text).await
}
