//! The AWS HTTP listener over HTTP/2 with prior knowledge (h2c), as the Java and JavaScript
//! SDKs use it for SubscribeToShard: ordinary Kinesis calls, and an event stream read frame by
//! frame.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use protocol::aws::eventstream;
use serde_json::{Value, json};

type H2 = Client<HttpConnector, Full<Bytes>>;

fn client() -> H2 {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
}

fn request(server: &common::Server, operation: &str, body: &Value) -> http::Request<Full<Bytes>> {
    http::Request::post(format!("http://{}/", server.http))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("Kinesis_20131202.{operation}"))
        .body(Full::new(Bytes::from(serde_json::to_vec(body).unwrap())))
        .unwrap()
}

async fn call(client: &H2, server: &common::Server, operation: &str, body: Value) -> Value {
    let response = client
        .request(request(server, operation, &body))
        .await
        .unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert!(status.is_success(), "{operation}: {status} {bytes:?}");
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    }
}

#[tokio::test]
async fn kinesis_calls_and_subscribe_to_shard_work_over_h2c() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::Server::start(dir.path());
    let client = client();
    call(
        &client,
        &server,
        "CreateStream",
        json!({"StreamName": "h2", "ShardCount": 1}),
    )
    .await;
    let arn = call(
        &client,
        &server,
        "DescribeStreamSummary",
        json!({"StreamName": "h2"}),
    )
    .await["StreamDescriptionSummary"]["StreamARN"]
        .as_str()
        .unwrap()
        .to_owned();
    let put = call(
        &client,
        &server,
        "PutRecord",
        json!({"StreamName": "h2", "Data": "aGVsbG8=", "PartitionKey": "k"}),
    )
    .await;
    let consumer = call(
        &client,
        &server,
        "RegisterStreamConsumer",
        json!({"StreamARN": arn, "ConsumerName": "c"}),
    )
    .await["Consumer"]["ConsumerARN"]
        .as_str()
        .unwrap()
        .to_owned();

    let subscribe = json!({
        "ConsumerARN": consumer,
        "ShardId": "shardId-000000000000",
        "StartingPosition": {"Type": "TRIM_HORIZON"},
    });
    let response = client
        .request(request(&server, "SubscribeToShard", &subscribe))
        .await
        .unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        eventstream::CONTENT_TYPE
    );
    // Read frames until the initial response and one event holding the record have arrived.
    let mut body = response.into_body();
    let mut buffer = BytesMut::new();
    let mut messages = Vec::new();
    let deadline = tokio::time::Instant::now() + common::WAIT;
    while messages.len() < 2 {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .expect("events arrive in time")
            .expect("the stream is open")
            .unwrap();
        if let Ok(data) = frame.into_data() {
            buffer.extend_from_slice(&data);
        }
        while let Some((message, used)) = eventstream::decode(&buffer).unwrap() {
            let _ = buffer.split_to(used);
            messages.push(message);
        }
    }
    assert_eq!(
        messages[0].header_str(":event-type"),
        Some("initial-response")
    );
    assert_eq!(
        messages[1].header_str(":event-type"),
        Some("SubscribeToShardEvent")
    );
    let event: Value = serde_json::from_slice(&messages[1].payload).unwrap();
    let records = event["Records"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["Data"], "aGVsbG8=");
    assert_eq!(records[0]["SequenceNumber"], put["SequenceNumber"]);
    drop(body);
    tokio::time::sleep(Duration::from_millis(10)).await;
    server.stop();
}
