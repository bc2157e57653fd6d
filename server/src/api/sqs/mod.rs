//! The SQS API (`AmazonSQS`): AWS JSON 1.0 (`X-Amz-Target: AmazonSQS.<Op>`, what current
//! SDKs send) and the query protocol (`Action=<Op>`, form in, XML out, what older SDKs and
//! scripts send), on the same port. Each request is answered in the protocol it used.
//!
//! Both protocols decode into the same `protocol::aws::sqs` shapes; each operation checks its
//! input as AWS does, makes its calls into the queue view (`crate::views::queues`) and builds
//! its output shape, which is then written as JSON or as XML. Errors are
//! `protocol::aws::sqs::errors::Error`s: JSON bodies carry `__type` and `message` plus the
//! `x-amzn-query-error: <legacy code>;Sender` header the SDKs read, query answers an
//! `ErrorResponse`.
//!
//! Queues are addressed by URL, `http://<host>/<account>/<name>`, built from the request's
//! `Host` (so a client reaches the URL it is given, whatever name it used for the server) and
//! resolved by its `<account>/<name>` path whatever the host.

pub mod attributes;
mod error;
mod messages;
mod queues;
mod redrive;

use bytes::Bytes;
use protocol::aws::body::{self, Format};
use protocol::aws::query::Form;
use protocol::aws::sqs::errors::{Error, ErrorCode};
use protocol::aws::sqs::{self as wire, Operation};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Reply, ReplyBody};
use crate::views::queues::Queues;

/// What an operation knows of the request beyond its input: where it was sent and for whom.
#[derive(Debug, Clone)]
pub struct Context {
    /// Scheme and authority of the queue URLs this request is given: the configured public
    /// URL, else `http(s)://` and the request's `Host` (or `:authority`).
    pub base_url: String,
    /// The account queues belong to.
    pub account: String,
    /// The region of ARNs.
    pub region: String,
}

impl Context {
    /// A queue's URL as this request reaches it.
    pub fn queue_url(&self, name: &str) -> String {
        format!("{}/{}/{name}", self.base_url, self.account)
    }

    /// A queue's ARN.
    pub fn queue_arn(&self, name: &str) -> String {
        format!("arn:aws:sqs:{}:{}:{name}", self.region, self.account)
    }

    /// The queue a `QueueUrl` names: its path's last two segments, `<account>/<name>`,
    /// whatever the scheme and host (a bare name is accepted too). A URL of another account,
    /// or one that names no queue, is `QueueDoesNotExist`, as AWS answers it.
    pub fn queue_name(&self, url: &str) -> Result<String, Error> {
        let path = match url.split_once("://") {
            Some((_, rest)) => rest.split_once('/').map_or("", |(_, path)| path),
            None => url.trim_start_matches('/'),
        };
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let mut segments = path.split('/').filter(|segment| !segment.is_empty());
        let (first, second, rest) = (segments.next(), segments.next(), segments.next());
        let name = match (first, second, rest) {
            (Some(account), Some(name), None) if account == self.account => name,
            (Some(name), None, None) if !url.contains("://") => name,
            _ => return Err(Error::queue_does_not_exist()),
        };
        if name.is_empty() || name.len() > 80 {
            return Err(Error::queue_does_not_exist());
        }
        Ok(name.to_owned())
    }

    /// The queue an SQS ARN names (of this account and region), for redrive policies and
    /// move tasks.
    pub fn name_of_arn(&self, arn: &str) -> Option<String> {
        let rest = arn.strip_prefix("arn:")?;
        let mut parts = rest.splitn(5, ':');
        let (_partition, service, region, account, name) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        (service == "sqs" && region == self.region && account == self.account && !name.is_empty())
            .then(|| name.to_owned())
    }
}

/// Whether `name` is an SQS operation (for the query protocol's service choice).
pub fn is_operation(name: &str) -> bool {
    Operation::from_name(name).is_some()
}

/// How the request came: its body for JSON, its form for the query protocol.
enum Wire<'a> {
    Json(&'a [u8]),
    Query(&'a Form),
}

impl Wire<'_> {
    fn decode<I: DeserializeOwned>(&self) -> Result<I, Error> {
        match self {
            Self::Json(bytes) => {
                // An empty body is an empty object to SQS, as to the other JSON services.
                let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
                    b"{}"
                } else {
                    bytes
                };
                Ok(body::decode(Format::Json10, bytes)?)
            }
            Self::Query(form) => Ok(form.decode()?),
        }
    }

    fn encode<O: Serialize>(&self, operation: Operation, output: &O) -> Result<Reply, Error> {
        match self {
            Self::Json(_) => Ok(Reply::new(
                200,
                Format::Json10.content_type(),
                ReplyBody::Full(body::encode(Format::Json10, output).into()),
            )),
            Self::Query(_) => {
                let xml = wire::encode_xml(operation, &super::request_id(), output)
                    .map_err(|error| internal(&error.to_string()))?;
                Ok(Reply::new(200, "text/xml", ReplyBody::Full(xml)))
            }
        }
    }
}

/// An error the server caused: a plain sentence for the client, the detail in the log.
pub(crate) fn internal(detail: &str) -> Error {
    Error::new(ErrorCode::InternalFailure, super::internal_message(detail))
}

/// An empty output (`{}` in JSON, the bare response element in XML).
#[derive(Serialize)]
struct Empty {}

/// Answers an AWS JSON 1.0 request for `operation`.
pub async fn handle_json(
    queues: &Queues,
    context: &Context,
    operation: &str,
    body: &[u8],
) -> Reply {
    let Some(operation) = Operation::from_name(operation) else {
        return json_error(&Error::new(
            ErrorCode::InvalidAction,
            format!("The action {operation} is not valid for this endpoint."),
        ));
    };
    match run(queues, context, operation, &Wire::Json(body)).await {
        Ok(reply) => reply,
        Err(error) => json_error(&error),
    }
}

/// Answers a query-protocol request, whose `Action` is an SQS operation.
pub async fn handle_query(queues: &Queues, context: &Context, form: &Form) -> Reply {
    let action = form.action().unwrap_or_default();
    let Some(operation) = Operation::from_name(action) else {
        return query_error(&Error::invalid_action(
            &action.chars().take(128).collect::<String>(),
        ));
    };
    match run(queues, context, operation, &Wire::Query(form)).await {
        Ok(reply) => reply,
        Err(error) => query_error(&error),
    }
}

/// A JSON 1.0 error answer, with the header the SDKs pick the exception class by.
pub fn json_error(error: &Error) -> Reply {
    let body = body::encode(Format::Json10, &error.json_body());
    Reply::new(
        error.code.status(),
        Format::Json10.content_type(),
        ReplyBody::Full(Bytes::from(body)),
    )
    .with_header("x-amzn-query-error", error.query_error_header())
    .with_error_code(error.code.query_code())
}

/// A query-protocol error answer (`ErrorResponse`).
pub fn query_error(error: &Error) -> Reply {
    Reply::new(
        error.code.status(),
        "text/xml",
        ReplyBody::Full(error.xml_body(&super::request_id())),
    )
    .with_header("x-amzn-query-error", error.query_error_header())
    .with_error_code(error.code.query_code())
}

/// Decodes the input of `operation`, applies it and encodes its output.
async fn run(
    queues: &Queues,
    context: &Context,
    operation: Operation,
    wire: &Wire<'_>,
) -> Result<Reply, Error> {
    use Operation as Op;
    macro_rules! call {
        ($apply:path) => {{
            let input = wire.decode()?;
            let output = $apply(queues, context, input).await?;
            wire.encode(operation, &output)
        }};
        ($apply:path, empty) => {{
            let input = wire.decode()?;
            $apply(queues, context, input).await?;
            wire.encode(operation, &Empty {})
        }};
    }
    match operation {
        Op::CreateQueue => call!(queues::create_queue),
        Op::GetQueueUrl => call!(queues::get_queue_url),
        Op::ListQueues => call!(queues::list_queues),
        Op::DeleteQueue => call!(queues::delete_queue, empty),
        Op::PurgeQueue => call!(queues::purge_queue, empty),
        Op::GetQueueAttributes => call!(attributes::get_queue_attributes),
        Op::SetQueueAttributes => call!(attributes::set_queue_attributes, empty),
        Op::TagQueue => call!(queues::tag_queue, empty),
        Op::UntagQueue => call!(queues::untag_queue, empty),
        Op::ListQueueTags => call!(queues::list_queue_tags),
        Op::AddPermission => call!(attributes::add_permission, empty),
        Op::RemovePermission => call!(attributes::remove_permission, empty),
        Op::SendMessage => call!(messages::send_message),
        Op::SendMessageBatch => call!(messages::send_message_batch),
        Op::ReceiveMessage => call!(messages::receive_message),
        Op::DeleteMessage => call!(messages::delete_message, empty),
        Op::DeleteMessageBatch => call!(messages::delete_message_batch),
        Op::ChangeMessageVisibility => call!(messages::change_message_visibility, empty),
        Op::ChangeMessageVisibilityBatch => call!(messages::change_message_visibility_batch),
        Op::ListDeadLetterSourceQueues => call!(redrive::list_dead_letter_source_queues),
        Op::StartMessageMoveTask => call!(redrive::start_message_move_task),
        Op::ListMessageMoveTasks => call!(redrive::list_message_move_tasks),
        Op::CancelMessageMoveTask => call!(redrive::cancel_message_move_task),
    }
}

#[cfg(test)]
mod tests {
    use super::Context;

    fn context() -> Context {
        Context {
            base_url: "http://localhost:4566".into(),
            account: "000000000000".into(),
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn queue_urls_resolve_by_account_and_name_whatever_the_host() {
        let context = context();
        assert_eq!(
            context.queue_url("q"),
            "http://localhost:4566/000000000000/q"
        );
        for url in [
            "http://localhost:4566/000000000000/q",
            "https://sqs.us-east-1.amazonaws.com/000000000000/q",
            "http://strata:4566/000000000000/q/",
            "/000000000000/q",
            "q",
        ] {
            assert_eq!(context.queue_name(url).unwrap(), "q", "{url}");
        }
        for url in [
            "http://localhost:4566/111111111111/q",
            "http://localhost:4566/",
            "http://localhost:4566/000000000000/q/extra",
            "",
        ] {
            assert!(context.queue_name(url).is_err(), "{url}");
        }
        assert_eq!(
            context.name_of_arn("arn:aws:sqs:us-east-1:000000000000:dlq"),
            Some("dlq".into())
        );
        assert_eq!(
            context.name_of_arn("arn:aws:sqs:eu-west-1:000000000000:dlq"),
            None
        );
        assert_eq!(
            context.name_of_arn("arn:aws:sns:us-east-1:000000000000:t"),
            None
        );
    }
}
