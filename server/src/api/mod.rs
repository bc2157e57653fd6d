//! The AWS API adapters: one module per service, one file per operation. Each operation
//! decodes its shape (`protocol::aws`), checks the shape's constraints, makes one call into
//! its view and encodes the answer; failures are mapped to AWS exceptions in each service's
//! `error.rs`, and nowhere else.

pub mod aws;
pub mod firehose;
pub mod kinesis;
pub mod sns;
pub mod sqs;

use std::future::Future;

use bytes::Bytes;
use protocol::aws::body::{self, Format};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use self::aws::ApiError;

tokio::task_local! {
    /// The id of the request being served (`x-amzn-requestid`), set by the listener around
    /// the whole of a request's handling so that failures can be logged under it.
    static REQUEST_ID: String;
}

/// Runs `future` (one request's handling) with `request_id` as its [`request_id`].
pub async fn with_request_id<F: Future>(request_id: String, future: F) -> F::Output {
    REQUEST_ID.scope(request_id, future).await
}

/// The id of the request being served, or `-` outside one.
pub fn request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_owned())
}

/// What a client is told about a failure inside the server: a plain sentence with the request
/// id, never the detail (file paths, I/O error debug text), which is logged here at ERROR under
/// the same id for the operator.
pub fn internal_message(detail: &str) -> String {
    let request_id = request_id();
    tracing::error!(%request_id, detail, "internal error");
    format!("An internal error occurred; request id {request_id}.")
}

/// What an operation answers.
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Headers beyond `Content-Type` and the request id (SQS's
    /// `x-amzn-query-error: <legacy code>;Sender`, for example).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: ReplyBody,
    /// The error code an error reply carries (for metrics); `None` for a success.
    pub error_code: Option<&'static str>,
}

impl Reply {
    /// A reply with no extra headers.
    pub fn new(status: u16, content_type: &'static str, body: ReplyBody) -> Self {
        Self {
            status,
            content_type,
            headers: Vec::new(),
            body,
            error_code: None,
        }
    }

    /// The reply, marked as the error `code`.
    #[must_use]
    pub fn with_error_code(mut self, code: &'static str) -> Self {
        self.error_code = Some(code);
        self
    }

    /// The reply with `name: value` added.
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// A reply body: whole, or streamed (event streams).
pub enum ReplyBody {
    /// The whole body.
    Full(Bytes),
    /// Chunks sent as they come; the stream ends when the sender is dropped.
    Stream(mpsc::Receiver<Bytes>),
}

/// Decodes an operation's input shape from `body`, runs `apply` on it and encodes its output
/// in the request's format: the path every AWS JSON 1.1 operation takes.
pub(crate) async fn run<I, O, F>(
    format: Format,
    body: &[u8],
    apply: impl FnOnce(I) -> F,
) -> Result<Reply, ApiError>
where
    I: DeserializeOwned,
    O: Serialize,
    F: Future<Output = Result<O, ApiError>>,
{
    run_encoded(format, body, apply, |output| body::encode(format, output)).await
}

/// [`run`] with an operation's own JSON writer (`json`), for outputs too large to go through
/// `serde_json` cheaply; CBOR still goes through serde.
pub(crate) async fn run_encoded<I, O, F>(
    format: Format,
    body: &[u8],
    apply: impl FnOnce(I) -> F,
    json: impl FnOnce(&O) -> Vec<u8>,
) -> Result<Reply, ApiError>
where
    I: DeserializeOwned,
    O: Serialize,
    F: Future<Output = Result<O, ApiError>>,
{
    let input = body::decode(format, body)?;
    let output = apply(input).await?;
    let encoded = match format {
        Format::Json | Format::Json10 => json(&output),
        Format::Cbor => body::encode(format, &output),
    };
    Ok(Reply::new(
        200,
        format.content_type(),
        ReplyBody::Full(encoded.into()),
    ))
}
