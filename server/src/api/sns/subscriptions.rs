//! Subscribe, confirm, unsubscribe, the listings and subscription attributes.

use std::collections::BTreeMap;

use protocol::aws::sns::attributes as wire_attributes;
use protocol::aws::sns::delivery_policy;
use protocol::aws::sns::errors::{Error, ErrorCode};
use protocol::aws::sns::shapes::*;

use super::{page, subscription_of, topic_name};
use crate::views::topics::{Protocol, SubscriptionInfo, SubscriptionRecord, Topics};

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidParameter, message.into())
}

/// What Subscribe answers for a subscription not yet confirmed.
const PENDING_ARN: &str = "pending confirmation";
/// What the listings show for one.
const LISTED_PENDING_ARN: &str = "PendingConfirmation";

pub async fn subscribe(topics: &Topics, input: SubscribeInput) -> Result<SubscribeResponse, Error> {
    let name = topic_name(topics, &input.topic_arn)?;
    let protocol = Protocol::from_name(&input.protocol).ok_or_else(|| {
        invalid("Invalid parameter: Amazon SNS does not support this protocol string")
    })?;
    let endpoint = input.endpoint.unwrap_or_default();
    let fifo_topic = topics.is_fifo(&name)?;
    check_endpoint(topics, protocol, &endpoint, fifo_topic)?;
    for (name, value) in &input.attributes {
        wire_attributes::validate_subscription_attribute(name, value)?;
    }
    let attributes = input.attributes;
    if protocol == Protocol::Firehose && !attributes.contains_key("SubscriptionRoleArn") {
        return Err(invalid(
            "Invalid parameter: Attributes Reason: SubscriptionRoleArn is required for firehose protocol",
        ));
    }
    let record = topics
        .subscribe(&name, protocol, &endpoint, attributes)
        .await?;
    let arn = topics.subscription_arn(&name, &record.id);
    let shown = if record.pending && input.return_subscription_arn != Some(true) {
        PENDING_ARN.to_owned()
    } else {
        arn
    };
    Ok(SubscribeResponse {
        subscription_arn: Some(shown),
    })
}

/// Checks an endpoint against its protocol (and a FIFO topic's rule that its queues are
/// FIFO).
fn check_endpoint(
    topics: &Topics,
    protocol: Protocol,
    endpoint: &str,
    fifo_topic: bool,
) -> Result<(), Error> {
    let settings = topics.settings();
    match protocol {
        Protocol::Sqs => {
            let prefix = format!("arn:aws:sqs:{}:{}:", settings.region, settings.account);
            let queue = endpoint
                .strip_prefix(&prefix)
                .filter(|queue| !queue.is_empty() && !queue.contains(':'))
                .ok_or_else(|| invalid("Invalid parameter: SQS endpoint ARN"))?;
            if queue.ends_with(".fifo") && !fifo_topic {
                return Err(invalid(
                    "Invalid parameter: Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics",
                ));
            }
        }
        Protocol::Http | Protocol::Https => {
            let scheme = if protocol == Protocol::Http {
                "http://"
            } else {
                "https://"
            };
            if !endpoint.starts_with(scheme) || endpoint.len() <= scheme.len() {
                return Err(invalid(
                    "Invalid parameter: Endpoint must match the specified protocol",
                ));
            }
            if fifo_topic {
                return Err(invalid(
                    "Invalid parameter: Invalid protocol type: http(s) is not supported by FIFO topics",
                ));
            }
        }
        Protocol::Firehose => {
            let prefix = format!(
                "arn:aws:firehose:{}:{}:deliverystream/",
                settings.region, settings.account
            );
            if !endpoint.starts_with(&prefix) || endpoint.len() <= prefix.len() {
                return Err(invalid("Invalid parameter: Firehose endpoint ARN"));
            }
        }
        Protocol::Lambda => {
            if !endpoint.starts_with("arn:aws:lambda:") {
                return Err(invalid("Invalid parameter: Lambda endpoint ARN"));
            }
        }
        Protocol::Email | Protocol::EmailJson => {
            if !endpoint.contains('@') {
                return Err(invalid("Invalid parameter: Email address"));
            }
        }
        Protocol::Sms => {
            if endpoint.is_empty() {
                return Err(invalid("Invalid parameter: Phone number"));
            }
        }
        Protocol::Application => {
            if !endpoint.starts_with("arn:aws:sns:") {
                return Err(invalid("Invalid parameter: Application endpoint ARN"));
            }
        }
    }
    if fifo_topic && !matches!(protocol, Protocol::Sqs | Protocol::Firehose) {
        return Err(invalid(format!(
            "Invalid parameter: Invalid protocol type: {}",
            protocol.name()
        )));
    }
    Ok(())
}

pub async fn confirm_subscription(
    topics: &Topics,
    input: ConfirmSubscriptionInput,
) -> Result<ConfirmSubscriptionResponse, Error> {
    let name = topic_name(topics, &input.topic_arn)?;
    let authenticate = input
        .authenticate_on_unsubscribe
        .as_deref()
        .is_some_and(|value| value.eq_ignore_ascii_case("true"));
    let record = topics.confirm(&name, &input.token, authenticate).await?;
    Ok(ConfirmSubscriptionResponse {
        subscription_arn: Some(topics.subscription_arn(&name, &record.id)),
    })
}

pub async fn unsubscribe(topics: &Topics, input: UnsubscribeInput) -> Result<(), Error> {
    let (topic, id) = subscription_of(topics, &input.subscription_arn)?;
    match topics.unsubscribe(&topic, &id).await {
        // Unsubscribing what is gone is no error to SNS.
        Ok(()) | Err(crate::views::topics::Error::SubscriptionNotFound(_)) => Ok(()),
        Err(crate::views::topics::Error::TopicNotFound(_)) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

fn listed(topics: &Topics, info: &SubscriptionInfo) -> Subscription {
    Subscription {
        subscription_arn: Some(if info.record.pending {
            LISTED_PENDING_ARN.to_owned()
        } else {
            topics.subscription_arn(&info.topic, &info.record.id)
        }),
        owner: Some(topics.settings().account.clone()),
        protocol: Some(info.record.protocol.name().to_owned()),
        endpoint: Some(info.record.endpoint.clone()),
        topic_arn: Some(topics.topic_arn(&info.topic)),
    }
}

pub async fn list_subscriptions(
    topics: &Topics,
    input: ListSubscriptionsInput,
) -> Result<ListSubscriptionsResponse, Error> {
    let all = topics.all_subscriptions();
    let (items, next_token) = page(
        all,
        |info| format!("{}\n{}", info.topic, info.record.id),
        input.next_token.as_deref(),
    )?;
    Ok(ListSubscriptionsResponse {
        subscriptions: items.iter().map(|info| listed(topics, info)).collect(),
        next_token,
    })
}

pub async fn list_subscriptions_by_topic(
    topics: &Topics,
    input: ListSubscriptionsByTopicInput,
) -> Result<ListSubscriptionsByTopicResponse, Error> {
    let name = topic_name(topics, &input.topic_arn)?;
    let all: Vec<SubscriptionInfo> = topics
        .subscriptions(&name)?
        .into_iter()
        .map(|record| SubscriptionInfo {
            topic: name.clone(),
            record,
        })
        .collect();
    let (items, next_token) = page(
        all,
        |info| info.record.id.clone(),
        input.next_token.as_deref(),
    )?;
    Ok(ListSubscriptionsResponse {
        subscriptions: items.iter().map(|info| listed(topics, info)).collect(),
        next_token,
    })
}

pub async fn get_subscription_attributes(
    topics: &Topics,
    input: GetSubscriptionAttributesInput,
) -> Result<GetSubscriptionAttributesResponse, Error> {
    let (topic, id) = subscription_of(topics, &input.subscription_arn)?;
    let record = topics.subscription(&topic, &id)?;
    Ok(GetSubscriptionAttributesResponse {
        attributes: attributes_of(topics, &topic, &record),
    })
}

fn attributes_of(
    topics: &Topics,
    topic: &str,
    record: &SubscriptionRecord,
) -> BTreeMap<String, String> {
    let mut attributes = record.attributes.clone();
    attributes.insert(
        "SubscriptionArn".into(),
        topics.subscription_arn(topic, &record.id),
    );
    attributes.insert("TopicArn".into(), topics.topic_arn(topic));
    attributes.insert("Owner".into(), topics.settings().account.clone());
    attributes.insert("Protocol".into(), record.protocol.name().into());
    attributes.insert("Endpoint".into(), record.endpoint.clone());
    attributes.insert(
        "ConfirmationWasAuthenticated".into(),
        record.authenticated.to_string(),
    );
    attributes.insert("PendingConfirmation".into(), record.pending.to_string());
    attributes
        .entry("RawMessageDelivery".into())
        .or_insert_with(|| "false".into());
    attributes.insert(
        "SubscriptionPrincipal".into(),
        format!("arn:aws:iam::{}:root", topics.settings().account),
    );
    if matches!(record.protocol, Protocol::Http | Protocol::Https) {
        let topic_policy = topics
            .info(topic)
            .ok()
            .and_then(|info| info.config.attributes.get("DeliveryPolicy").cloned())
            .and_then(|text| delivery_policy::parse_topic_policy(&text).ok());
        let own = record
            .attributes
            .get("DeliveryPolicy")
            .and_then(|text| delivery_policy::parse_subscription_policy(text).ok());
        attributes.insert(
            "EffectiveDeliveryPolicy".into(),
            delivery_policy::effective(topic_policy.as_ref(), own.as_ref()).subscription_json(),
        );
    }
    attributes
}

pub async fn set_subscription_attributes(
    topics: &Topics,
    input: SetSubscriptionAttributesInput,
) -> Result<(), Error> {
    let (topic, id) = subscription_of(topics, &input.subscription_arn)?;
    let record = topics.subscription(&topic, &id)?;
    let value = input.attribute_value.unwrap_or_default();
    wire_attributes::validate_subscription_attribute(&input.attribute_name, &value)?;
    if input.attribute_name == "SubscriptionRoleArn" && record.protocol != Protocol::Firehose {
        return Err(Error::invalid_parameter_reason(
            "AttributeName",
            "SubscriptionRoleArn applies to firehose subscriptions only",
        ));
    }
    topics
        .set_subscription_attribute(&topic, &id, &input.attribute_name, &value)
        .await?;
    Ok(())
}
