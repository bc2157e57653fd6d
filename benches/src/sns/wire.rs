//! The SNS query protocol as a load generator needs it: form-encoded request bodies built by
//! hand, XML answers read for the few elements the benchmark uses. Requests go over the SQS
//! bench's [`Connection`] (the same HTTP/1.1 keep-alive connections), which also carries the
//! SQS calls that set up and watch the subscribed queues.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

use crate::sqs::wire::{Api, ApiError, Connection, splitmix64};
use crate::storage::BoxError;

/// `Version=` of every SNS request.
const VERSION: &str = "2010-03-31";
/// What starts every message body, before its send time; found again in the body a queue
/// hands out, raw or wrapped in an SNS envelope.
pub const STAMP_PREFIX: &str = "strata-bench-sent-ns-";
/// Digits of the send time (nanoseconds, zero-padded), then one `-`.
const STAMP_DIGITS: usize = 20;
/// Bytes of the stamp that opens every message body.
pub const STAMP_BYTES: usize = STAMP_PREFIX.len() + STAMP_DIGITS + 1;

/// `text` form-urlencoded: unreserved characters as they are, every other byte `%XX`.
pub fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A query-protocol body: `Action`, `Version`, then `params` encoded.
fn query(action: &str, params: &[(&str, &str)]) -> Bytes {
    let mut body = format!("Action={action}&Version={VERSION}");
    for (name, value) in params {
        body.push('&');
        body.push_str(&form_encode(name));
        body.push('=');
        body.push_str(&form_encode(value));
    }
    Bytes::from(body)
}

/// Calls the SNS `action` with `params`; error answers become errors.
async fn call(
    connection: &mut Connection,
    action: &str,
    params: &[(&str, &str)],
) -> Result<Bytes, BoxError> {
    Ok(connection
        .request(Api::Sns, action, query(action, params))
        .await?
        .map_err(|e| format!("{action}: {e}"))?)
}

/// Creates the topic `name` (or finds it) and returns its ARN.
pub async fn create_topic(connection: &mut Connection, name: &str) -> Result<String, BoxError> {
    let body = call(connection, "CreateTopic", &[("Name", name)]).await?;
    element(&body, "TopicArn")
        .ok_or_else(|| format!("CreateTopic answered no TopicArn: {}", excerpt(&body)).into())
}

/// Deletes the topic `arn` (and with it its subscriptions).
pub async fn delete_topic(connection: &mut Connection, arn: &str) -> Result<(), BoxError> {
    call(connection, "DeleteTopic", &[("TopicArn", arn)]).await?;
    Ok(())
}

/// Subscribes the SQS queue `queue_arn` to `topic_arn`, with `filter_policy` (JSON) if any
/// and raw message delivery if `raw`; returns the subscription ARN.
pub async fn subscribe(
    connection: &mut Connection,
    topic_arn: &str,
    queue_arn: &str,
    filter_policy: Option<&str>,
    raw: bool,
) -> Result<String, BoxError> {
    let mut params = vec![
        ("TopicArn", topic_arn),
        ("Protocol", "sqs"),
        ("Endpoint", queue_arn),
    ];
    let mut attributes = Vec::new();
    if let Some(policy) = filter_policy {
        attributes.push(("FilterPolicy", policy));
    }
    if raw {
        attributes.push(("RawMessageDelivery", "true"));
    }
    let names: Vec<_> = (1..=attributes.len())
        .map(|n| {
            (
                format!("Attributes.entry.{n}.key"),
                format!("Attributes.entry.{n}.value"),
            )
        })
        .collect();
    for ((key, value), (key_name, value_name)) in attributes.iter().zip(&names) {
        params.push((key_name, key));
        params.push((value_name, value));
    }
    let body = call(connection, "Subscribe", &params).await?;
    element(&body, "SubscriptionArn")
        .ok_or_else(|| format!("Subscribe answered no SubscriptionArn: {}", excerpt(&body)).into())
}

/// The `QueueArn` of the SQS queue at `queue_url`.
pub async fn queue_arn(connection: &mut Connection, queue_url: &str) -> Result<String, BoxError> {
    let body = connection
        .admin(
            "GetQueueAttributes",
            json!({ "QueueUrl": queue_url, "AttributeNames": ["QueueArn"] }),
        )
        .await?;
    let attributes = read_attributes(&body)?;
    attributes
        .queue_arn
        .ok_or_else(|| "GetQueueAttributes answered no QueueArn".into())
}

/// Messages in the queue at `queue_url`: visible plus in flight.
pub async fn queue_depth(connection: &mut Connection, queue_url: &str) -> Result<u64, BoxError> {
    let body = connection
        .admin(
            "GetQueueAttributes",
            json!({
                "QueueUrl": queue_url,
                "AttributeNames": [
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible"
                ],
            }),
        )
        .await?;
    let attributes = read_attributes(&body)?;
    let count = |value: Option<String>| -> Result<u64, BoxError> {
        Ok(value.as_deref().unwrap_or("0").parse()?)
    };
    Ok(count(attributes.visible)? + count(attributes.not_visible)?)
}

/// The attributes of a GetQueueAttributes answer the benchmark reads.
#[derive(Debug, Default, PartialEq)]
struct QueueAttributes {
    queue_arn: Option<String>,
    visible: Option<String>,
    not_visible: Option<String>,
}

fn read_attributes(body: &[u8]) -> Result<QueueAttributes, BoxError> {
    #[derive(Deserialize)]
    struct Output {
        #[serde(rename = "Attributes", default)]
        attributes: Attributes,
    }
    #[derive(Default, Deserialize)]
    struct Attributes {
        #[serde(rename = "QueueArn")]
        queue_arn: Option<String>,
        #[serde(rename = "ApproximateNumberOfMessages")]
        visible: Option<String>,
        #[serde(rename = "ApproximateNumberOfMessagesNotVisible")]
        not_visible: Option<String>,
    }
    let output: Output = serde_json::from_slice(body)
        .map_err(|e| format!("reading a GetQueueAttributes answer: {e}"))?;
    Ok(QueueAttributes {
        queue_arn: output.attributes.queue_arn,
        visible: output.attributes.visible,
        not_visible: output.attributes.not_visible,
    })
}

/// The `kind` message attribute of message `index`: `a` and `b` in turn.
pub fn kind_of(index: u64) -> &'static str {
    if index.is_multiple_of(2) { "a" } else { "b" }
}

/// Publish and PublishBatch request bodies to one topic: messages of `message_bytes`, each
/// opening with its send time, then random letters and digits (no byte needs encoding).
pub struct Publisher {
    /// The topic ARN, form-encoded.
    topic_arn: String,
    message_bytes: usize,
}

impl Publisher {
    pub fn new(topic_arn: &str, message_bytes: usize) -> Self {
        Self {
            topic_arn: form_encode(topic_arn),
            message_bytes,
        }
    }

    fn start(&self, action: &str) -> String {
        format!(
            "Action={action}&Version={VERSION}&TopicArn={}",
            self.topic_arn
        )
    }

    /// One message body sent at `sent_ns`, padded from `rng`.
    fn message(&self, out: &mut String, sent_ns: u64, rng: &mut u64) {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        out.push_str(&format!("{STAMP_PREFIX}{sent_ns:0STAMP_DIGITS$}-"));
        let mut left = self.message_bytes.saturating_sub(STAMP_BYTES);
        while left > 0 {
            let word = splitmix64(rng).to_le_bytes();
            for byte in word.iter().take(left) {
                let index = usize::from(*byte) % ALPHABET.len();
                out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'x')));
            }
            left = left.saturating_sub(word.len());
        }
    }

    /// A Publish of one message of kind `kind`.
    pub fn publish(&self, kind: &str, sent_ns: u64, rng: &mut u64) -> Bytes {
        let mut body = self.start("Publish");
        body.reserve(self.message_bytes + 160);
        body.push_str("&Message=");
        self.message(&mut body, sent_ns, rng);
        body.push_str("&MessageAttributes.entry.1.Name=kind");
        body.push_str("&MessageAttributes.entry.1.Value.DataType=String");
        body.push_str("&MessageAttributes.entry.1.Value.StringValue=");
        body.push_str(kind);
        Bytes::from(body)
    }

    /// A PublishBatch of `entries` messages, entry `Id`s their indexes, kinds from
    /// [`kind_of`] of the index.
    pub fn publish_batch(&self, entries: usize, sent_ns: u64, rng: &mut u64) -> Bytes {
        let mut body = self.start("PublishBatch");
        body.reserve(entries * (self.message_bytes + 320));
        for index in 0..entries {
            let member = format!("&PublishBatchRequestEntries.member.{}", index + 1);
            body.push_str(&format!("{member}.Id={index}{member}.Message="));
            self.message(&mut body, sent_ns, rng);
            body.push_str(&format!(
                "{member}.MessageAttributes.entry.1.Name=kind\
                 {member}.MessageAttributes.entry.1.Value.DataType=String\
                 {member}.MessageAttributes.entry.1.Value.StringValue={}",
                kind_of(index as u64)
            ));
        }
        Bytes::from(body)
    }
}

/// The send time in a message body, wherever its stamp is (a raw body or an SNS envelope).
pub fn read_stamp(body: &str) -> Option<u64> {
    let at = body.find(STAMP_PREFIX)? + STAMP_PREFIX.len();
    body.get(at..at + STAMP_DIGITS)?.parse().ok()
}

/// A PublishBatch answer: entries published and the `Id`s of those that failed.
#[derive(Debug, Default, PartialEq)]
pub struct BatchResult {
    pub successful: u64,
    pub failed: Vec<String>,
    /// The first failure as `Code: Message`.
    pub first_error: Option<String>,
}

/// Reads a PublishBatch answer.
pub fn read_publish_batch(body: &[u8]) -> Result<BatchResult, BoxError> {
    let text = std::str::from_utf8(body).map_err(|e| format!("PublishBatch answer: {e}"))?;
    if !text.contains("PublishBatchResponse") {
        return Err(format!("not a PublishBatch answer: {}", excerpt(body)).into());
    }
    let members = |list: &str| -> Vec<String> {
        element(text.as_bytes(), list)
            .map(|inner| elements(&inner, "member"))
            .unwrap_or_default()
    };
    let failed = members("Failed");
    Ok(BatchResult {
        successful: members("Successful").len() as u64,
        first_error: failed.first().map(|member| {
            let field = |name| element(member.as_bytes(), name).unwrap_or_default();
            format!("{}: {}", field("Code"), field("Message"))
        }),
        failed: failed
            .iter()
            .filter_map(|member| element(member.as_bytes(), "Id"))
            .collect(),
    })
}

/// Reads a query-protocol error answer (`<Error><Code>…</Code><Message>…</Message>`).
pub(crate) fn read_error(status: u16, body: &[u8]) -> ApiError {
    match element(body, "Code") {
        Some(kind) => ApiError {
            status,
            kind,
            message: element(body, "Message").unwrap_or_default(),
        },
        None => ApiError {
            status,
            kind: "UnreadableError".into(),
            message: excerpt(body),
        },
    }
}

/// The text of the first `<name>` element of `body`, entities decoded.
pub fn element(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    elements(text, name).into_iter().next()
}

/// The texts of every `<name>` element of `text` (not nested in one another), in order,
/// entities decoded. Self-closing elements are empty and not listed.
fn elements(text: &str, name: &str) -> Vec<String> {
    let (open, close) = (format!("<{name}>"), format!("</{name}>"));
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        found.push(unescape(&after[..end]));
        rest = &after[end + close.len()..];
    }
    found
}

/// `text` with the five predefined XML entities decoded.
fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The start of `body`, for error messages.
fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The form-decoded value of `name` in `body`.
    fn field(body: &[u8], name: &str) -> Option<String> {
        let text = std::str::from_utf8(body).ok()?;
        let value = text
            .split('&')
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")))?;
        let mut out = Vec::new();
        let mut bytes = value.bytes();
        while let Some(byte) = bytes.next() {
            if byte == b'%' {
                let hex: String = bytes.by_ref().take(2).map(char::from).collect();
                out.push(u8::from_str_radix(&hex, 16).ok()?);
            } else {
                out.push(byte);
            }
        }
        String::from_utf8(out).ok()
    }

    #[test]
    fn form_encoding_keeps_only_unreserved_characters() {
        assert_eq!(
            form_encode("arn:aws:sns:us-east-1:0:t"),
            "arn%3Aaws%3Asns%3Aus-east-1%3A0%3At"
        );
        assert_eq!(
            form_encode(r#"{"kind":["a"]} ~._"#),
            "%7B%22kind%22%3A%5B%22a%22%5D%7D%20~._"
        );
    }

    #[test]
    fn publish_bodies_carry_the_stamp_the_size_and_the_kind() {
        let publisher = Publisher::new("arn:aws:sns:us-east-1:000000000000:t", 100);
        let mut rng = 1;
        let body = publisher.publish("b", 1_234, &mut rng);
        assert_eq!(field(&body, "Action").as_deref(), Some("Publish"));
        assert_eq!(
            field(&body, "TopicArn").as_deref(),
            Some("arn:aws:sns:us-east-1:000000000000:t")
        );
        let message = field(&body, "Message").expect("message");
        assert_eq!(message.len(), 100);
        assert_eq!(read_stamp(&message), Some(1_234));
        assert_eq!(
            field(&body, "MessageAttributes.entry.1.Value.StringValue").as_deref(),
            Some("b")
        );

        let batch = publisher.publish_batch(10, 99, &mut rng);
        assert_eq!(field(&batch, "Action").as_deref(), Some("PublishBatch"));
        let last = "PublishBatchRequestEntries.member.10";
        assert_eq!(field(&batch, &format!("{last}.Id")).as_deref(), Some("9"));
        let message = field(&batch, &format!("{last}.Message")).expect("message");
        assert_eq!((message.len(), read_stamp(&message)), (100, Some(99)));
        let kind = format!("{last}.MessageAttributes.entry.1.Value.StringValue");
        assert_eq!(field(&batch, &kind).as_deref(), Some("b"));
        let first = "PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Value";
        assert_eq!(
            field(&batch, &format!("{first}.StringValue")).as_deref(),
            Some("a")
        );
    }

    #[test]
    fn stamps_are_found_in_sns_envelopes() {
        let envelope = format!(r#"{{"Type":"Notification","Message":"{STAMP_PREFIX}"#)
            + "00000000000000000042-abc\"}";
        assert_eq!(read_stamp(&envelope), Some(42));
        assert_eq!(read_stamp("no stamp"), None);
        assert_eq!(read_stamp(&format!("{STAMP_PREFIX}12")), None);
    }

    #[test]
    fn reads_xml_answers() {
        let created = br#"<CreateTopicResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
            <CreateTopicResult><TopicArn>arn:aws:sns:us-east-1:000000000000:t</TopicArn>
            </CreateTopicResult></CreateTopicResponse>"#;
        assert_eq!(
            element(created, "TopicArn").as_deref(),
            Some("arn:aws:sns:us-east-1:000000000000:t")
        );
        let batch = br#"<PublishBatchResponse><PublishBatchResult><Successful>
            <member><Id>0</Id><MessageId>m0</MessageId></member>
            <member><Id>2</Id><MessageId>m2</MessageId></member></Successful>
            <Failed><member><Id>1</Id><Code>InvalidParameter</Code>
            <Message>a &amp; b</Message><SenderFault>true</SenderFault></member></Failed>
            </PublishBatchResult></PublishBatchResponse>"#;
        assert_eq!(
            read_publish_batch(batch).expect("batch answer"),
            BatchResult {
                successful: 2,
                failed: vec!["1".into()],
                first_error: Some("InvalidParameter: a & b".into()),
            }
        );
        let all = b"<PublishBatchResponse><PublishBatchResult><Successful><member><Id>0</Id>\
            </member></Successful><Failed/></PublishBatchResult></PublishBatchResponse>";
        let result = read_publish_batch(all).expect("batch answer");
        assert_eq!((result.successful, result.failed.len()), (1, 0));
        assert!(read_publish_batch(b"{}").is_err());
        let error = read_error(
            404,
            b"<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code>\
              <Message>Topic does not exist</Message></Error></ErrorResponse>",
        );
        assert_eq!(
            (error.kind.as_str(), error.message.as_str()),
            ("NotFound", "Topic does not exist")
        );
        assert_eq!(read_error(500, b"oops").kind, "UnreadableError");
    }

    #[test]
    fn reads_queue_attributes() {
        let body = br#"{"Attributes": {"ApproximateNumberOfMessages": "7",
            "ApproximateNumberOfMessagesNotVisible": "3"}}"#;
        let attributes = read_attributes(body).expect("attributes");
        assert_eq!(attributes.visible.as_deref(), Some("7"));
        assert_eq!(attributes.not_visible.as_deref(), Some("3"));
        assert_eq!(
            read_attributes(b"{}").expect("none"),
            QueueAttributes::default()
        );
    }
}
