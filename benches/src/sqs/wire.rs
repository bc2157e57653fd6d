//! The SQS JSON API (AWS JSON 1.0) over HTTP/1.1 keep-alive connections, as a load generator
//! needs it: one request at a time per [`Connection`], the body built by the caller, the
//! answer read whole and parsed into counts. Requests carry a SigV4-shaped `Authorization`
//! header with a dummy signature: Strata without configured keys accepts any, and moto's
//! server only reads the region out of its credential scope.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpStream;

pub use crate::kinesis::wire::ApiError;
use crate::kinesis::wire::Endpoint;
use crate::storage::BoxError;

/// `X-Amz-Target` prefix of every SQS operation.
const TARGET_PREFIX: &str = "AmazonSQS.";
/// Request content type (AWS JSON 1.0).
const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// Request content type of the query protocol (SNS).
const QUERY_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
/// A SigV4-shaped header whose signature is a dummy; the scope names the service (moto's
/// server routes a request to the service named there).
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 \
    Credential=test/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0";
/// [`AUTHORIZATION`] for SNS.
const SNS_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 \
    Credential=test/20260101/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=0";
/// The request time matching the credential scope above.
const AMZ_DATE: &str = "20260101T000000Z";
/// Longest wait for one answer (a long poll included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What a request came to: an answer body, an error answer, or a broken connection.
pub type Outcome = Result<Result<Bytes, ApiError>, BoxError>;

/// The API a request goes to, which decides its protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Api {
    /// SQS over AWS JSON 1.0: the operation in `X-Amz-Target`, JSON error answers.
    Sqs,
    /// SNS over the query protocol: the operation in the form body (`Action=`), XML error
    /// answers.
    Sns,
}

/// One HTTP/1.1 connection, kept alive while the server allows it: reopened after a
/// transport failure or an answer with `Connection: close` (moto's server closes every
/// connection after one answer).
pub struct Connection {
    endpoint: Endpoint,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// Connections opened, the first included.
    pub connects: u64,
}

impl Connection {
    /// Connects to `endpoint`.
    pub async fn open(endpoint: &Endpoint) -> Result<Self, BoxError> {
        let mut connection = Self {
            endpoint: endpoint.clone(),
            sender: None,
            connects: 0,
        };
        connection.connect().await?;
        Ok(connection)
    }

    async fn connect(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, BoxError> {
        let stream = TcpStream::connect(self.endpoint.addr)
            .await
            .map_err(|e| format!("connecting to {}: {e}", self.endpoint.url))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake with {}: {e}", self.endpoint.url))?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the peer closes; errors surface on requests.
            let _ = connection.await;
        });
        self.connects += 1;
        Ok(self.sender.insert(sender))
    }

    /// Sends `body` to the SQS `operation` and reads the answer whole.
    pub async fn call(&mut self, operation: &str, body: Bytes) -> Outcome {
        self.request(Api::Sqs, operation, body).await
    }

    /// Sends `body` to `operation` of `api` and reads the answer whole; a query-protocol
    /// `body` names its operation itself, `operation` only names it in errors.
    pub(crate) async fn request(&mut self, api: Api, operation: &str, body: Bytes) -> Outcome {
        let exchange = self.exchange(api, operation, body);
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(format!("{operation} got no answer within {REQUEST_TIMEOUT:?}").into())
            });
        if outcome.is_err() {
            self.sender = None;
        }
        outcome
    }

    async fn exchange(&mut self, api: Api, operation: &str, body: Bytes) -> Outcome {
        let request = Request::post("/")
            .header(header::HOST, host(&self.endpoint)?)
            .header("x-amz-date", AMZ_DATE);
        let request = match api {
            Api::Sqs => request
                .header(header::CONTENT_TYPE, CONTENT_TYPE)
                .header("x-amz-target", format!("{TARGET_PREFIX}{operation}"))
                .header(header::AUTHORIZATION, AUTHORIZATION),
            Api::Sns => request
                .header(header::CONTENT_TYPE, QUERY_CONTENT_TYPE)
                .header(header::AUTHORIZATION, SNS_AUTHORIZATION),
        }
        .body(Full::new(body))?;
        let sender = match self.sender.as_mut().filter(|s| !s.is_closed()) {
            Some(sender) => sender,
            None => self.connect().await?,
        };
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let closing = response
            .headers()
            .get(header::CONNECTION)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"close"));
        let body = response.into_body().collect().await?.to_bytes();
        if closing {
            self.sender = None;
        }
        if status == 200 {
            Ok(Ok(body))
        } else if api == Api::Sns {
            Ok(Err(crate::sns::wire::read_error(status, &body)))
        } else {
            Ok(Err(ApiError::from_reply(status, &body)))
        }
    }

    /// Calls `operation` with a small JSON `input`; error answers become errors.
    pub(crate) async fn admin(
        &mut self,
        operation: &str,
        input: serde_json::Value,
    ) -> Result<Bytes, BoxError> {
        let body = Bytes::from(serde_json::to_vec(&input)?);
        Ok(self
            .call(operation, body)
            .await?
            .map_err(|e| format!("{operation}: {e}"))?)
    }
}

/// The `Host` header of `endpoint`: the authority of its URL (queue URLs are built from it).
fn host(endpoint: &Endpoint) -> Result<HeaderValue, BoxError> {
    let authority = endpoint
        .url
        .strip_prefix("http://")
        .unwrap_or(&endpoint.url)
        .split('/')
        .next()
        .unwrap_or_default();
    Ok(HeaderValue::from_str(authority)?)
}

/// Creates the standard queue `name` (or finds it) and returns its URL.
pub async fn create_queue(connection: &mut Connection, name: &str) -> Result<String, BoxError> {
    let body = connection
        .admin("CreateQueue", json!({ "QueueName": name }))
        .await?;
    read_queue_url(&body)
}

/// Deletes the queue at `url`.
pub async fn delete_queue(connection: &mut Connection, url: &str) -> Result<(), BoxError> {
    connection
        .admin("DeleteQueue", json!({ "QueueUrl": url }))
        .await?;
    Ok(())
}

/// The `QueueUrl` of a CreateQueue answer.
pub fn read_queue_url(body: &[u8]) -> Result<String, BoxError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output {
        queue_url: String,
    }
    Ok(serde_json::from_slice::<Output>(body)
        .map_err(|e| format!("reading a CreateQueue answer: {e}"))?
        .queue_url)
}

/// A batch answer (SendMessageBatch, DeleteMessageBatch): entries done and entries failed.
#[derive(Debug, Default, PartialEq)]
pub struct BatchResult {
    pub successful: u64,
    /// `Id`s of the failed entries.
    pub failed: Vec<String>,
    /// The first failure as `Code: Message`.
    pub first_error: Option<String>,
}

/// Reads a SendMessageBatch or DeleteMessageBatch answer.
pub fn read_batch(body: &[u8]) -> Result<BatchResult, BoxError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output {
        #[serde(default)]
        successful: Vec<serde::de::IgnoredAny>,
        #[serde(default)]
        failed: Vec<Failure>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Failure {
        id: String,
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let output: Output =
        serde_json::from_slice(body).map_err(|e| format!("reading a batch answer: {e}"))?;
    Ok(BatchResult {
        successful: output.successful.len() as u64,
        first_error: output
            .failed
            .first()
            .map(|f| format!("{}: {}", f.code, f.message)),
        failed: output.failed.into_iter().map(|f| f.id).collect(),
    })
}

/// One message of a ReceiveMessage answer.
#[derive(Debug, PartialEq)]
pub struct Received {
    pub receipt_handle: String,
    /// Bytes of its body.
    pub body_bytes: u64,
}

/// Reads a ReceiveMessage answer (no `Messages` member: nothing arrived).
pub fn read_receive(body: &[u8]) -> Result<Vec<Received>, BoxError> {
    read_receive_with(body, |_| ()).map(|messages| messages.into_iter().map(|(m, ())| m).collect())
}

/// [`read_receive`], with what `inspect` reads out of each message body.
pub(crate) fn read_receive_with<T>(
    body: &[u8],
    mut inspect: impl FnMut(&str) -> T,
) -> Result<Vec<(Received, T)>, BoxError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output<'a> {
        #[serde(borrow, default)]
        messages: Vec<Message<'a>>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Message<'a> {
        receipt_handle: String,
        #[serde(borrow)]
        body: std::borrow::Cow<'a, str>,
    }
    let output: Output<'_> = serde_json::from_slice(body)
        .map_err(|e| format!("reading a ReceiveMessage answer: {e}"))?;
    Ok(output
        .messages
        .into_iter()
        .map(|m| {
            let found = inspect(&m.body);
            let received = Received {
                receipt_handle: m.receipt_handle,
                body_bytes: m.body.len() as u64,
            };
            (received, found)
        })
        .collect())
}

/// The body of a ReceiveMessage request: up to `max` messages, waiting up to `wait_secs`.
pub fn receive_body(queue_url: &str, max: u32, wait_secs: u32) -> Result<Bytes, BoxError> {
    let input = json!({
        "QueueUrl": queue_url,
        "MaxNumberOfMessages": max,
        "WaitTimeSeconds": wait_secs,
    });
    Ok(Bytes::from(serde_json::to_vec(&input)?))
}

/// The body of a DeleteMessageBatch request for `received`, entry `Id`s their indexes.
pub fn delete_batch_body(queue_url: &str, received: &[Received]) -> Result<Bytes, BoxError> {
    let entries: Vec<_> = received
        .iter()
        .enumerate()
        .map(|(index, m)| json!({ "Id": index.to_string(), "ReceiptHandle": m.receipt_handle }))
        .collect();
    let input = json!({ "QueueUrl": queue_url, "Entries": entries });
    Ok(Bytes::from(serde_json::to_vec(&input)?))
}

/// SendMessageBatch request bodies: `entries` messages of `message_bytes` random printable
/// ASCII each (new bytes for every request).
pub struct SendBatch {
    /// `{"QueueUrl":"…","Entries":[`
    head: Vec<u8>,
    entries: usize,
    message_bytes: usize,
}

impl SendBatch {
    pub fn new(queue_url: &str, entries: usize, message_bytes: usize) -> Result<Self, BoxError> {
        let url = serde_json::to_string(queue_url)?;
        Ok(Self {
            head: format!(r#"{{"QueueUrl":{url},"Entries":["#).into_bytes(),
            entries,
            message_bytes,
        })
    }

    /// Messages in one request.
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// One request body, its bodies drawn from `rng`.
    pub fn build(&self, rng: &mut u64) -> Bytes {
        // Room for every character escaped, so the buffer never grows.
        let entry = 32 + 2 * self.message_bytes;
        let mut body = Vec::with_capacity(self.head.len() + self.entries * entry + 2);
        body.extend_from_slice(&self.head);
        for index in 0..self.entries {
            if index > 0 {
                body.push(b',');
            }
            body.extend_from_slice(format!(r#"{{"Id":"{index}","MessageBody":""#).as_bytes());
            let mut left = self.message_bytes;
            while left > 0 {
                let word = splitmix64(rng).to_le_bytes();
                for byte in word.iter().take(left) {
                    // 95 printable characters, from space to tilde.
                    let character = b' ' + byte % 95;
                    if matches!(character, b'"' | b'\\') {
                        body.push(b'\\');
                    }
                    body.push(character);
                }
                left = left.saturating_sub(word.len());
            }
            body.extend_from_slice(b"\"}");
        }
        body.extend_from_slice(b"]}");
        Bytes::from(body)
    }
}

/// The next value of a splitmix64 sequence.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_batch_bodies_are_valid_json_of_printable_ascii() {
        let batch = SendBatch::new("http://127.0.0.1:1/000000000000/q", 10, 1000).expect("batch");
        let mut rng = 3;
        let body = batch.build(&mut rng);
        let value: serde_json::Value = serde_json::from_slice(&body).expect("valid JSON");
        assert_eq!(value["QueueUrl"], "http://127.0.0.1:1/000000000000/q");
        let entries = value["Entries"].as_array().expect("entries");
        assert_eq!(entries.len(), 10);
        let first = entries[0]["MessageBody"].as_str().expect("body");
        assert_eq!(first.len(), 1000);
        assert!(first.bytes().all(|b| (b' '..=b'~').contains(&b)));
        assert_ne!(first, entries[1]["MessageBody"].as_str().expect("body"));
        assert_eq!(entries[9]["Id"], "9");
        assert_ne!(batch.build(&mut rng), body);
    }

    #[test]
    fn reads_batch_answers() {
        let body = br#"{"Successful": [{"Id": "0", "MessageId": "a", "MD5OfMessageBody": "x"},
            {"Id": "2", "MessageId": "b", "MD5OfMessageBody": "y"}],
            "Failed": [{"Id": "1", "SenderFault": true, "Code": "InvalidParameterValue",
            "Message": "bad"}]}"#;
        let result = read_batch(body).expect("batch answer");
        assert_eq!(result.successful, 2);
        assert_eq!(result.failed, vec!["1".to_string()]);
        assert_eq!(
            result.first_error.as_deref(),
            Some("InvalidParameterValue: bad")
        );
        assert_eq!(
            read_batch(b"{}").expect("empty answer"),
            BatchResult::default()
        );
        assert!(read_batch(b"<xml/>").is_err());
    }

    #[test]
    fn reads_receive_answers() {
        let body = br#"{"Messages": [{"MessageId": "m", "ReceiptHandle": "h1",
            "MD5OfBody": "x", "Body": "hello \"you\""}]}"#;
        let received = read_receive(body).expect("receive answer");
        assert_eq!(
            received,
            vec![Received {
                receipt_handle: "h1".into(),
                body_bytes: 11,
            }]
        );
        assert!(read_receive(b"{}").expect("empty answer").is_empty());
        let delete = delete_batch_body("u", &received).expect("delete body");
        let value: serde_json::Value = serde_json::from_slice(&delete).expect("valid JSON");
        assert_eq!(value["Entries"][0]["Id"], "0");
        assert_eq!(value["Entries"][0]["ReceiptHandle"], "h1");
    }

    #[test]
    fn reads_queue_urls_and_errors() {
        let url = read_queue_url(br#"{"QueueUrl": "http://h:1/123456789012/b1"}"#).expect("url");
        assert_eq!(url, "http://h:1/123456789012/b1");
        let error = ApiError::from_reply(
            400,
            br#"{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "gone"}"#,
        );
        assert_eq!(error.kind, "QueueDoesNotExist");
        assert_eq!(error.message, "gone");
        let unreadable = ApiError::from_reply(500, b"oops");
        assert_eq!(unreadable.kind, "UnreadableError");
        assert_eq!(unreadable.message, "oops");
    }
}
