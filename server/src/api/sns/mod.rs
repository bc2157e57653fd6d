//! Amazon SNS over the AWS query protocol (`Action=<Op>&Version=2010-03-31`, form-encoded
//! POST or GET, XML answers): each operation decodes its `protocol::aws::sns` shape, checks
//! it, makes one call into [`Topics`] and writes its output; every failure is an
//! `ErrorResponse` with the model's code and status.
//!
//! Topics and subscriptions are named by ARN: `arn:aws:sns:<region>:<account>:<name>` and
//! `<topic ARN>:<id>`, of the configured region and account only.
//!
//! - `topics.rs`: topic lifecycle, listing, attributes, tags, permissions, data protection.
//! - `subscriptions.rs`: subscribe, confirm, unsubscribe, listings, attributes.
//! - `publish.rs`: Publish and PublishBatch.
//! - `platform.rs`: mobile push applications and endpoints, SMS settings, the SMS sandbox.
//! - `error.rs`: the one mapping from `views::topics::Error` to SNS errors.

mod error;
mod platform;
mod publish;
mod subscriptions;
mod topics;

use protocol::aws::Form;
use protocol::aws::sns::errors::{Error, ErrorCode};
use protocol::aws::sns::{self as wire, Operation};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Reply, ReplyBody};
use crate::views::topics::Topics;

/// Most entries of one listing page (ListTopics, ListSubscriptions, ...).
const PAGE: usize = 100;

/// Whether `name` is an SNS operation (for the query protocol's service choice).
pub fn is_operation(name: &str) -> bool {
    Operation::from_name(name).is_some()
}

/// Answers a query-protocol request whose `Action` is an SNS operation.
pub async fn handle_query(topics: &Topics, form: &Form) -> Reply {
    let action = form.action().unwrap_or_default();
    let Some(operation) = Operation::from_name(action) else {
        return error_reply(&Error::new(
            ErrorCode::InvalidAction,
            format!(
                "Could not find operation {} for version 2010-03-31",
                action.chars().take(128).collect::<String>()
            ),
        ));
    };
    match run(topics, operation, form).await {
        Ok(reply) => reply,
        Err(error) => error_reply(&error),
    }
}

/// An `ErrorResponse`.
pub fn error_reply(error: &Error) -> Reply {
    Reply::new(
        error.code.status(),
        "text/xml",
        ReplyBody::Full(error.xml_body(&super::request_id())),
    )
    .with_error_code(error.code.query_code())
}

/// An error the server caused: a plain sentence for the client, the detail in the log.
pub(crate) fn internal(detail: &str) -> Error {
    Error::new(ErrorCode::InternalError, super::internal_message(detail))
}

fn decode<I: DeserializeOwned>(form: &Form) -> Result<I, Error> {
    form.decode().map_err(Error::from)
}

fn encode<O: Serialize>(operation: Operation, output: &O) -> Result<Reply, Error> {
    let xml = wire::encode_xml(operation, &super::request_id(), output)
        .map_err(|error| internal(&error.to_string()))?;
    Ok(Reply::new(200, "text/xml", ReplyBody::Full(xml)))
}

/// An output without members: the bare response element.
#[derive(Serialize)]
struct Empty {}

/// Decodes the input of `operation`, applies it and encodes its output.
async fn run(topics: &Topics, operation: Operation, form: &Form) -> Result<Reply, Error> {
    use Operation as Op;
    macro_rules! call {
        ($apply:path) => {{
            let input = decode(form)?;
            let output = $apply(topics, input).await?;
            encode(operation, &output)
        }};
        ($apply:path, empty) => {{
            let input = decode(form)?;
            $apply(topics, input).await?;
            encode(operation, &Empty {})
        }};
    }
    match operation {
        Op::CreateTopic => call!(topics::create_topic),
        Op::DeleteTopic => call!(topics::delete_topic, empty),
        Op::ListTopics => call!(topics::list_topics),
        Op::GetTopicAttributes => call!(topics::get_topic_attributes),
        Op::SetTopicAttributes => call!(topics::set_topic_attributes, empty),
        Op::TagResource => call!(topics::tag_resource),
        Op::UntagResource => call!(topics::untag_resource),
        Op::ListTagsForResource => call!(topics::list_tags_for_resource),
        Op::AddPermission => call!(topics::add_permission, empty),
        Op::RemovePermission => call!(topics::remove_permission, empty),
        Op::GetDataProtectionPolicy => call!(topics::get_data_protection_policy),
        Op::PutDataProtectionPolicy => call!(topics::put_data_protection_policy, empty),
        Op::Subscribe => call!(subscriptions::subscribe),
        Op::ConfirmSubscription => call!(subscriptions::confirm_subscription),
        Op::Unsubscribe => call!(subscriptions::unsubscribe, empty),
        Op::ListSubscriptions => call!(subscriptions::list_subscriptions),
        Op::ListSubscriptionsByTopic => call!(subscriptions::list_subscriptions_by_topic),
        Op::GetSubscriptionAttributes => call!(subscriptions::get_subscription_attributes),
        Op::SetSubscriptionAttributes => call!(subscriptions::set_subscription_attributes, empty),
        Op::Publish => call!(publish::publish),
        Op::PublishBatch => call!(publish::publish_batch),
        Op::CreatePlatformApplication => call!(platform::create_platform_application),
        Op::DeletePlatformApplication => call!(platform::delete_platform_application, empty),
        Op::GetPlatformApplicationAttributes => {
            call!(platform::get_platform_application_attributes)
        }
        Op::SetPlatformApplicationAttributes => {
            call!(platform::set_platform_application_attributes, empty)
        }
        Op::ListPlatformApplications => call!(platform::list_platform_applications),
        Op::CreatePlatformEndpoint => call!(platform::create_platform_endpoint),
        Op::DeleteEndpoint => call!(platform::delete_endpoint, empty),
        Op::GetEndpointAttributes => call!(platform::get_endpoint_attributes),
        Op::SetEndpointAttributes => call!(platform::set_endpoint_attributes, empty),
        Op::ListEndpointsByPlatformApplication => {
            call!(platform::list_endpoints_by_platform_application)
        }
        Op::GetSMSAttributes => call!(platform::get_sms_attributes),
        Op::SetSMSAttributes => call!(platform::set_sms_attributes),
        Op::CheckIfPhoneNumberIsOptedOut => call!(platform::check_if_phone_number_is_opted_out),
        Op::ListPhoneNumbersOptedOut => call!(platform::list_phone_numbers_opted_out),
        Op::OptInPhoneNumber => call!(platform::opt_in_phone_number),
        Op::CreateSMSSandboxPhoneNumber => call!(platform::create_sms_sandbox_phone_number),
        Op::DeleteSMSSandboxPhoneNumber => call!(platform::delete_sms_sandbox_phone_number),
        Op::VerifySMSSandboxPhoneNumber => call!(platform::verify_sms_sandbox_phone_number),
        Op::GetSMSSandboxAccountStatus => call!(platform::get_sms_sandbox_account_status),
        Op::ListSMSSandboxPhoneNumbers => call!(platform::list_sms_sandbox_phone_numbers),
        Op::ListOriginationNumbers => call!(platform::list_origination_numbers),
    }
}

/// The topic a topic ARN names (of this region and account).
fn topic_name(topics: &Topics, arn: &str) -> Result<String, Error> {
    let prefix = topics.topic_arn("");
    match arn.strip_prefix(&prefix) {
        Some(name) if !name.is_empty() && !name.contains(':') => Ok(name.to_owned()),
        _ => Err(Error::new(
            ErrorCode::InvalidParameter,
            "Invalid parameter: TopicArn".to_owned(),
        )),
    }
}

/// The topic and id a subscription ARN names.
fn subscription_of(topics: &Topics, arn: &str) -> Result<(String, String), Error> {
    let prefix = topics.topic_arn("");
    let invalid = || {
        Error::new(
            ErrorCode::InvalidParameter,
            "Invalid parameter: SubscriptionArn".to_owned(),
        )
    };
    let rest = arn.strip_prefix(&prefix).ok_or_else(invalid)?;
    let (topic, id) = rest.split_once(':').ok_or_else(invalid)?;
    if topic.is_empty() || id.is_empty() || id.contains(':') {
        return Err(invalid());
    }
    Ok((topic.to_owned(), id.to_owned()))
}

/// A page of `items` after the one named by `token` (the last item of the page before,
/// hex-encoded): the page and the token of the next, if any.
fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), Error> {
    let after = match token {
        None | Some("") => None,
        Some(token) => Some(
            hex::decode(token)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    Error::new(
                        ErrorCode::InvalidParameter,
                        "Invalid parameter: NextToken".to_owned(),
                    )
                })?,
        ),
    };
    let mut rest: Vec<T> = match &after {
        None => items,
        Some(after) => items
            .into_iter()
            .filter(|item| key(item) > *after)
            .collect(),
    };
    let next = (rest.len() > PAGE).then(|| {
        rest.truncate(PAGE);
        rest.last().map(|item| hex::encode(key(item)))
    });
    Ok((rest, next.flatten()))
}
