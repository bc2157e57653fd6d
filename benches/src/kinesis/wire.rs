//! The Kinesis JSON API over HTTP/1.1 keep-alive connections, as a load generator needs it:
//! one request at a time per [`Connection`], the body built by the caller, the answer read
//! whole. Requests carry a syntactically valid SigV4 `Authorization` header with a dummy
//! signature: the servers benchmarked accept any credentials (Strata by default) or check
//! only the header's form.

use std::borrow::Cow;
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderValue, Request, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpStream;

use crate::storage::BoxError;

/// `X-Amz-Target` prefix of every Kinesis operation.
const TARGET_PREFIX: &str = "Kinesis_20131202.";
/// Request content type (AWS JSON 1.1).
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// A well-formed SigV4 header whose signature is a dummy.
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 \
    Credential=AKIDSTRATABENCH/20250101/us-east-1/kinesis/aws4_request, \
    SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
    Signature=0000000000000000000000000000000000000000000000000000000000000000";
/// The request time matching the credential scope above.
const AMZ_DATE: &str = "20250101T000000Z";
/// Longest wait for one answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait for a new stream to become ACTIVE.
const ACTIVE_WAIT: Duration = Duration::from_secs(30);

/// The 8-byte send time plus this marker open every record the benchmark writes.
pub const STAMP_BYTES: usize = 9;
/// The last byte of a stamp: tells the benchmark's records from others.
const STAMP_MARK: u8 = 0xB7;
/// Base64 characters of a stamp (9 bytes: three whole groups, so no padding).
pub const STAMP_CHARS: usize = STAMP_BYTES / 3 * 4;

/// Where requests go: an `http://host:port` URL resolved once.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The socket address connected to.
    pub addr: SocketAddr,
    /// The URL as shown in reports.
    pub url: String,
    host: HeaderValue,
}

impl Endpoint {
    /// Parses and resolves `http://host[:port]` (port 80 if absent).
    pub fn parse(url: &str) -> Result<Self, BoxError> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| format!("invalid endpoint {url:?}: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("endpoint {url:?} must be an http:// URL").into());
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("endpoint {url:?} has no host"))?;
        let port = authority.port_u16().unwrap_or(80);
        let addr = (authority.host().trim_matches(['[', ']']), port)
            .to_socket_addrs()
            .map_err(|e| format!("resolving {url:?}: {e}"))?
            .next()
            .ok_or_else(|| format!("{url:?} resolves to no address"))?;
        Ok(Self {
            addr,
            url: url.trim_end_matches('/').to_string(),
            host: HeaderValue::from_str(authority.as_str())?,
        })
    }

    /// The endpoint of a server listening at `addr`.
    pub fn at(addr: SocketAddr) -> Result<Self, BoxError> {
        Self::parse(&format!("http://{addr}"))
    }
}

/// An error answer from the server.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The exception name (`__type`), without any namespace prefix.
    pub kind: String,
    pub message: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (HTTP {}): {}", self.kind, self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    /// Reads an AWS JSON error body (`__type`, `message`), as every JSON service answers.
    pub(crate) fn from_reply(status: u16, body: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct ErrorBody {
            #[serde(rename = "__type", default)]
            kind: String,
            #[serde(alias = "Message", default)]
            message: String,
        }
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(error) => Self {
                status,
                kind: error
                    .kind
                    .rsplit('#')
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                message: error.message,
            },
            Err(_) => Self {
                status,
                kind: "UnreadableError".into(),
                message: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            },
        }
    }

    /// Whether retrying later may succeed (throttling, a busy server).
    pub fn retryable(&self) -> bool {
        self.status >= 500
            || matches!(
                self.kind.as_str(),
                "ProvisionedThroughputExceededException" | "LimitExceededException"
            )
    }
}

/// What a request came to: an answer body, an error answer, or a broken connection.
pub type Outcome = Result<Result<Bytes, ApiError>, BoxError>;

/// One keep-alive HTTP/1.1 connection, reopened after a transport failure.
pub struct Connection {
    endpoint: Endpoint,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// The `X-Amz-Target` prefix: Kinesis's, or Firehose's ([`Connection::open_firehose`]).
    target: &'static str,
}

impl Connection {
    /// Connects to `endpoint`.
    pub async fn open(endpoint: &Endpoint) -> Result<Self, BoxError> {
        let mut connection = Self {
            endpoint: endpoint.clone(),
            sender: None,
            target: TARGET_PREFIX,
        };
        connection.connect().await?;
        Ok(connection)
    }

    /// Connects to `endpoint` for the Firehose API (`Firehose_20150804.<operation>`).
    pub async fn open_firehose(endpoint: &Endpoint) -> Result<Self, BoxError> {
        let mut connection = Self::open(endpoint).await?;
        connection.target = "Firehose_20150804.";
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
        Ok(self.sender.insert(sender))
    }

    /// Sends `body` to `operation` and reads the answer whole.
    pub async fn call(&mut self, operation: &str, body: Bytes) -> Outcome {
        let outcome = tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(operation, body))
            .await
            .unwrap_or_else(|_| {
                Err(format!("{operation} got no answer within {REQUEST_TIMEOUT:?}").into())
            });
        if outcome.is_err() {
            self.sender = None;
        }
        outcome
    }

    async fn exchange(&mut self, operation: &str, body: Bytes) -> Outcome {
        let request = Request::post("/")
            .header(header::HOST, self.endpoint.host.clone())
            .header(header::CONTENT_TYPE, CONTENT_TYPE)
            .header("x-amz-target", format!("{}{operation}", self.target))
            .header("x-amz-date", AMZ_DATE)
            .header(header::AUTHORIZATION, AUTHORIZATION)
            .body(Full::new(body))?;
        let sender = match self.sender.as_mut().filter(|s| !s.is_closed()) {
            Some(sender) => sender,
            None => self.connect().await?,
        };
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        if status == 200 {
            Ok(Ok(body))
        } else {
            Ok(Err(ApiError::from_reply(status, &body)))
        }
    }

    /// Calls `operation` with a small JSON `input`; error answers become errors.
    async fn admin(&mut self, operation: &str, input: serde_json::Value) -> Outcome {
        self.call(operation, Bytes::from(serde_json::to_vec(&input)?))
            .await
    }
}

/// Creates `stream` with `shards` shards and waits until it is ACTIVE; returns whether it was
/// created (false: it existed).
pub async fn ensure_stream(
    connection: &mut Connection,
    stream: &str,
    shards: u32,
) -> Result<bool, BoxError> {
    let input = json!({ "StreamName": stream, "ShardCount": shards });
    let created = match connection.admin("CreateStream", input).await? {
        Ok(_) => true,
        Err(error) if error.kind == "ResourceInUseException" => false,
        Err(error) => return Err(format!("creating stream {stream}: {error}").into()),
    };
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Summary {
        stream_description_summary: Status,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Status {
        stream_status: String,
    }
    let deadline = Instant::now() + ACTIVE_WAIT;
    loop {
        let input = json!({ "StreamName": stream });
        let body = connection
            .admin("DescribeStreamSummary", input)
            .await?
            .map_err(|e| format!("describing stream {stream}: {e}"))?;
        let summary: Summary = serde_json::from_slice(&body)?;
        let status = summary.stream_description_summary.stream_status;
        if status == "ACTIVE" {
            return Ok(created);
        }
        if Instant::now() >= deadline {
            return Err(format!("stream {stream} still {status} after {ACTIVE_WAIT:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One shard of a stream.
#[derive(Clone, Debug)]
pub struct Shard {
    pub id: String,
    /// Still open for writes (no ending sequence number).
    pub open: bool,
}

/// Every shard of `stream`, following `NextToken`.
pub async fn list_shards(
    connection: &mut Connection,
    stream: &str,
) -> Result<Vec<Shard>, BoxError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Page {
        shards: Vec<ShardShape>,
        next_token: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct ShardShape {
        shard_id: String,
        sequence_number_range: Range,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Range {
        ending_sequence_number: Option<String>,
    }
    let mut shards = Vec::new();
    let mut input = json!({ "StreamName": stream });
    loop {
        let body = connection
            .admin("ListShards", input)
            .await?
            .map_err(|e| format!("listing the shards of {stream}: {e}"))?;
        let page: Page = serde_json::from_slice(&body)?;
        shards.extend(page.shards.into_iter().map(|shard| Shard {
            id: shard.shard_id,
            open: shard.sequence_number_range.ending_sequence_number.is_none(),
        }));
        match page.next_token {
            Some(token) => input = json!({ "NextToken": token }),
            None => return Ok(shards),
        }
    }
}

/// Where a shard iterator starts.
#[derive(Clone, Copy, Debug)]
pub enum Start<'a> {
    TrimHorizon,
    Latest,
    After(&'a str),
}

/// A shard iterator for `shard` of `stream`.
pub async fn shard_iterator(
    connection: &mut Connection,
    stream: &str,
    shard: &str,
    start: Start<'_>,
) -> Result<String, BoxError> {
    let mut input = json!({ "StreamName": stream, "ShardId": shard });
    let kind = match start {
        Start::TrimHorizon => "TRIM_HORIZON",
        Start::Latest => "LATEST",
        Start::After(sequence) => {
            input["StartingSequenceNumber"] = json!(sequence);
            "AFTER_SEQUENCE_NUMBER"
        }
    };
    input["ShardIteratorType"] = json!(kind);
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output {
        shard_iterator: String,
    }
    let body = connection
        .admin("GetShardIterator", input)
        .await?
        .map_err(|e| format!("GetShardIterator {kind} on {shard}: {e}"))?;
    Ok(serde_json::from_slice::<Output>(&body)?.shard_iterator)
}

/// The body of a `GetRecords` request.
pub fn get_records_body(iterator: &str, limit: u32) -> Result<Bytes, BoxError> {
    let input = json!({ "ShardIterator": iterator, "Limit": limit });
    Ok(Bytes::from(serde_json::to_vec(&input)?))
}

/// What a `GetRecords` answer held.
#[derive(Debug, Default)]
pub struct Page {
    pub records: u64,
    /// Decoded payload bytes.
    pub bytes: u64,
    pub last_sequence: Option<String>,
    /// `None` once a closed shard is read to its end.
    pub next_iterator: Option<String>,
    pub millis_behind_latest: u64,
}

/// Reads a `GetRecords` answer, handing each record's send time (nanoseconds on the
/// benchmark's clock, when the record carries a stamp) to `stamp`. An answer without escapes
/// in its strings (what the servers send) is scanned in place, which costs the tailing
/// readers a fraction of a full JSON decode; anything else goes through serde.
pub fn read_page(body: &[u8], mut stamp: impl FnMut(u64)) -> Result<Page, BoxError> {
    match scan::page(body) {
        Some((page, data)) => {
            for data in data {
                if let Some(nanos) = data.get(..STAMP_CHARS).and_then(read_stamp) {
                    stamp(nanos);
                }
            }
            Ok(page)
        }
        None => decode_page(body, stamp),
    }
}

/// [`read_page`] through serde.
fn decode_page(body: &[u8], mut stamp: impl FnMut(u64)) -> Result<Page, BoxError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output<'a> {
        #[serde(borrow, default)]
        records: Vec<RecordShape<'a>>,
        next_shard_iterator: Option<String>,
        #[serde(default)]
        millis_behind_latest: u64,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct RecordShape<'a> {
        #[serde(borrow)]
        data: Cow<'a, str>,
        #[serde(borrow)]
        sequence_number: Cow<'a, str>,
    }
    let output: Output<'_> = serde_json::from_slice(body)?;
    let mut page = Page {
        records: output.records.len() as u64,
        next_iterator: output.next_shard_iterator,
        millis_behind_latest: output.millis_behind_latest,
        ..Page::default()
    };
    for record in &output.records {
        let data = record.data.as_bytes();
        page.bytes += decoded_len(data);
        if let Some(nanos) = data.get(..STAMP_CHARS).and_then(read_stamp) {
            stamp(nanos);
        }
    }
    page.last_sequence = output
        .records
        .last()
        .map(|record| record.sequence_number.clone().into_owned());
    Ok(page)
}

/// The size of the data that base64 `text` holds.
fn decoded_len(text: &[u8]) -> u64 {
    let padding = text.iter().rev().take_while(|c| **c == b'=').count();
    (text.len() / 4 * 3).saturating_sub(padding) as u64
}

/// A `GetRecords` answer read in place: `None` for anything but plain JSON without escapes
/// in its strings.
mod scan {
    use protocol::aws::json_scan::Cursor;

    use super::{Page, decoded_len};

    /// The page, and each record's base64 data.
    pub fn page(body: &[u8]) -> Option<(Page, Vec<&[u8]>)> {
        let mut cursor = Cursor::new(body);
        let mut page = Page::default();
        let mut data = Vec::new();
        cursor.object(|cursor, key| match key {
            b"Records" => cursor.array(|cursor| {
                let mut sequence = None;
                cursor.object(|cursor, key| match key {
                    b"Data" => {
                        let text = cursor.unescaped()?;
                        page.bytes += decoded_len(text);
                        data.push(text);
                        Some(())
                    }
                    b"SequenceNumber" => {
                        sequence = Some(cursor.text()?);
                        Some(())
                    }
                    _ => cursor.skip(),
                })?;
                page.records += 1;
                page.last_sequence = Some(sequence?.to_owned());
                Some(())
            }),
            b"NextShardIterator" => {
                page.next_iterator = if cursor.literal(b"null") {
                    None
                } else {
                    Some(cursor.text()?.to_owned())
                };
                Some(())
            }
            b"MillisBehindLatest" => {
                page.millis_behind_latest = cursor.integer()?;
                Some(())
            }
            _ => cursor.skip(),
        })?;
        cursor.at_end().then_some((page, data))
    }
}

/// The stamp `nanos` as base64 (a record's first [`STAMP_CHARS`] characters).
pub fn write_stamp(nanos: u64) -> [u8; STAMP_CHARS] {
    let mut raw = [STAMP_MARK; STAMP_BYTES];
    raw[..8].copy_from_slice(&nanos.to_le_bytes());
    let mut out = [0; STAMP_CHARS];
    // Nine bytes always encode to twelve characters.
    let _ = STANDARD.encode_slice(raw, &mut out);
    out
}

/// The send time in a record's first base64 characters, if they hold a stamp.
fn read_stamp(chars: &[u8]) -> Option<u64> {
    let mut raw = [0; STAMP_BYTES];
    match STANDARD.decode_slice(chars, &mut raw) {
        Ok(STAMP_BYTES) if raw[8] == STAMP_MARK => {
            let mut nanos = [0; 8];
            nanos.copy_from_slice(&raw[..8]);
            Some(u64::from_le_bytes(nanos))
        }
        _ => None,
    }
}

/// `FailedRecordCount` of a `PutRecords` answer, with the first failed record's error.
pub fn read_put_records(body: &[u8]) -> Result<(u64, Option<String>), BoxError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Count {
        failed_record_count: u64,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Output {
        records: Vec<Entry>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Entry {
        error_code: Option<String>,
        error_message: Option<String>,
    }
    let failed = serde_json::from_slice::<Count>(body)?.failed_record_count;
    if failed == 0 {
        return Ok((0, None));
    }
    let output: Output = serde_json::from_slice(body)?;
    let first = output.records.into_iter().find_map(|entry| {
        entry
            .error_code
            .map(|code| format!("{code}: {}", entry.error_message.unwrap_or_default()))
    });
    Ok((failed, first))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip() {
        let chars = write_stamp(123_456_789);
        assert_eq!(read_stamp(&chars), Some(123_456_789));
        assert_eq!(read_stamp(b"AAAAAAAAAAAA"), None);
    }

    #[test]
    fn reads_a_get_records_page() {
        let mut data = String::from_utf8(write_stamp(42).to_vec()).expect("base64 is ASCII");
        data.push_str(&STANDARD.encode([1u8; 7]));
        let body = format!(
            r#"{{"Records":[{{"Data":"{data}","SequenceNumber":"7","PartitionKey":"k"}}],"NextShardIterator":"it","MillisBehindLatest":0}}"#
        );
        let mut stamps = Vec::new();
        let page = read_page(body.as_bytes(), |nanos| stamps.push(nanos)).expect("valid page");
        assert_eq!(page.records, 1);
        assert_eq!(page.bytes, 16);
        assert_eq!(page.last_sequence.as_deref(), Some("7"));
        assert_eq!(page.next_iterator.as_deref(), Some("it"));
        assert_eq!(stamps, [42]);
    }

    #[test]
    fn the_scan_reads_what_serde_reads() {
        let mut data = String::from_utf8(write_stamp(42).to_vec()).expect("base64 is ASCII");
        data.push_str(&STANDARD.encode([1u8; 8]));
        let bodies = [
            format!(
                r#"{{"Records":[{{"SequenceNumber":"1","ApproximateArrivalTimestamp":1.7e9,"Data":"{data}","PartitionKey":"k","EncryptionType":"NONE"}},{{"Data":"eA==","SequenceNumber":"2","PartitionKey":"k"}}],"NextShardIterator":"it","MillisBehindLatest":12,"ChildShards":[{{"ShardId":"s","ParentShards":["a"],"HashKeyRange":{{"StartingHashKey":"0"}}}}]}}"#
            ),
            format!(
                " {{ \"MillisBehindLatest\" : 0 ,\n \"Records\" : [ {{ \"Data\" : \"{data}\" , \"SequenceNumber\" : \"9\" , \"Flag\" : true , \"None\" : null }} ] , \"NextShardIterator\" : null }} "
            ),
            r#"{"Records":[],"NextShardIterator":"x","MillisBehindLatest":0}"#.to_owned(),
        ];
        for body in &bodies {
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            assert!(scan::page(body.as_bytes()).is_some(), "{body}");
            let scanned = read_page(body.as_bytes(), |n| fast.push(n)).expect("scanned");
            let decoded = decode_page(body.as_bytes(), |n| slow.push(n)).expect("decoded");
            assert_eq!(format!("{scanned:?}"), format!("{decoded:?}"), "{body}");
            assert_eq!(fast, slow);
        }
        // An escape is left to serde, which reads it.
        let escaped =
            r#"{"Records":[{"Data":"a\/8=","SequenceNumber":"1"}],"MillisBehindLatest":0}"#;
        assert!(scan::page(escaped.as_bytes()).is_none());
        assert_eq!(
            read_page(escaped.as_bytes(), |_| {})
                .expect("decoded")
                .bytes,
            2
        );
    }

    #[test]
    fn reads_failed_records() {
        let body = br#"{"FailedRecordCount":1,"Records":[{"SequenceNumber":"1","ShardId":"s"},{"ErrorCode":"InternalFailure","ErrorMessage":"boom"}]}"#;
        let (failed, first) = read_put_records(body).expect("valid answer");
        assert_eq!(failed, 1);
        assert_eq!(first.as_deref(), Some("InternalFailure: boom"));
    }

    #[test]
    fn reads_error_answers() {
        let error = ApiError::from_reply(
            400,
            br#"{"__type":"com.amazon#ResourceInUseException","message":"exists"}"#,
        );
        assert_eq!(error.kind, "ResourceInUseException");
        assert_eq!(error.message, "exists");
        assert!(!error.retryable());
    }

    #[test]
    fn parses_endpoints() {
        let endpoint = Endpoint::parse("http://127.0.0.1:4566/").expect("valid endpoint");
        assert_eq!(endpoint.addr.port(), 4566);
        assert_eq!(endpoint.url, "http://127.0.0.1:4566");
        assert!(Endpoint::parse("https://127.0.0.1:4566").is_err());
    }
}
