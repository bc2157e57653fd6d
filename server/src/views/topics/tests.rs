//! The topic view on a real log with a manual clock: fan-out to queues with filter policies
//! in both scopes, raw and enveloped delivery, FIFO deduplication and its window, a policy
//! change applied at once, reopening, and exactly-once delivery into queues when a crash
//! left the cursor behind what the queues already hold.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use std::sync::Arc;
use std::time::Duration;

use storage::{Log, LogConfig, ManualClock};

use super::model::FanoutCursor;
use super::*;
use crate::views::queues::{self, AttributeChanges, ReceiveOptions, Received};

const START_MS: i64 = 1_700_000_000_000;

struct Fixture {
    topics: Topics,
    queues: Queues,
}

fn open_with(dir: &std::path::Path, clock: &Arc<ManualClock>) -> Fixture {
    let log = Log::open_with_clock(LogConfig::new(dir), clock.clone()).unwrap();
    let queues = Queues::open(log.clone(), queues::Settings::default()).unwrap();
    let delivery =
        DeliveryStreams::open(log.clone(), crate::views::delivery::Settings::default()).unwrap();
    let topics = Topics::open(
        log,
        Settings {
            region: "us-east-1".into(),
            account: "000000000000".into(),
            base_url: "http://127.0.0.1:1".into(),
            http_timeout: Duration::from_secs(1),
        },
        queues.clone(),
        delivery,
    )
    .unwrap();
    Fixture { topics, queues }
}

fn close(fixture: Fixture) {
    for name in fixture.topics.list() {
        if let Ok(topic) = fixture.topics.topic(&name) {
            topic.deleted.store(true, Ordering::SeqCst);
            topic.fanout.notify_one();
            topic.deliveries.notify_one();
        }
    }
    fixture.queues.log().close().unwrap();
}

fn queue_arn(name: &str) -> String {
    format!("arn:aws:sqs:us-east-1:000000000000:{name}")
}

async fn make_queue(fixture: &Fixture, name: &str, fifo: bool) {
    let changes = AttributeChanges {
        fifo: fifo.then_some(true),
        ..AttributeChanges::default()
    };
    fixture
        .queues
        .create(name, &changes, BTreeMap::new())
        .await
        .unwrap();
}

async fn subscribe(fixture: &Fixture, topic: &str, queue: &str, attributes: &[(&str, &str)]) {
    fixture
        .topics
        .subscribe(
            topic,
            Protocol::Sqs,
            &queue_arn(queue),
            attributes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
        .await
        .unwrap();
}

fn attribute(name: &str, data_type: &str, text: &str) -> StoredAttribute {
    StoredAttribute {
        name: name.into(),
        data_type: data_type.into(),
        text: Some(text.into()),
        binary: None,
    }
}

async fn publish(fixture: &Fixture, topic: &str, message: NewPublish) -> Published {
    fixture
        .topics
        .publish(topic, vec![message])
        .await
        .unwrap()
        .remove(0)
        .unwrap()
}

/// Waits (up to two seconds) until `queue` holds `count` messages, visible or in flight.
async fn wait_for_queued(fixture: &Fixture, queue: &str, count: usize) {
    for _ in 0..200 {
        let counts = fixture.queues.info(queue).unwrap().counts;
        if counts.visible + counts.in_flight >= count as u64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Receives until `count` messages came, within a bounded time (once `count` are there, so
/// a FIFO group is not blocked by its first message while the others are on their way).
async fn receive_n(fixture: &Fixture, queue: &str, count: usize) -> Vec<Received> {
    wait_for_queued(fixture, queue, count).await;
    let mut got = Vec::new();
    for _ in 0..200 {
        let batch = fixture
            .queues
            .receive(
                queue,
                &ReceiveOptions {
                    max_messages: 10,
                    wait_s: Some(0),
                    visibility_timeout_s: Some(3600),
                    attempt_id: None,
                },
            )
            .await
            .unwrap();
        got.extend(batch);
        if got.len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    got
}

fn body(received: &Received) -> serde_json::Value {
    serde_json::from_slice(&received.message.body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_follows_filter_policies_in_both_scopes_and_raw_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START_MS));
    let fixture = open_with(dir.path(), &clock);
    fixture
        .topics
        .create("orders", BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    for queue in ["all", "red", "big", "raw"] {
        make_queue(&fixture, queue, false).await;
    }
    subscribe(&fixture, "orders", "all", &[]).await;
    subscribe(
        &fixture,
        "orders",
        "red",
        &[("FilterPolicy", r#"{"color":["red"]}"#)],
    )
    .await;
    subscribe(
        &fixture,
        "orders",
        "big",
        &[
            (
                "FilterPolicy",
                r#"{"order":{"total":[{"numeric":[">",100]}]}}"#,
            ),
            ("FilterPolicyScope", "MessageBody"),
        ],
    )
    .await;
    subscribe(&fixture, "orders", "raw", &[("RawMessageDelivery", "true")]).await;

    let red = publish(
        &fixture,
        "orders",
        NewPublish {
            message: r#"{"order":{"total":50}}"#.into(),
            subject: Some("first".into()),
            attributes: vec![attribute("color", "String", "red")],
            ..NewPublish::default()
        },
    )
    .await;
    publish(
        &fixture,
        "orders",
        NewPublish {
            message: r#"{"order":{"total":500}}"#.into(),
            attributes: vec![attribute("color", "String", "blue")],
            ..NewPublish::default()
        },
    )
    .await;

    let all = receive_n(&fixture, "all", 2).await;
    assert_eq!(all.len(), 2);
    let first = body(&all[0]);
    assert_eq!(first["Type"], "Notification");
    assert_eq!(first["MessageId"], red.message_id.as_str());
    assert_eq!(
        first["TopicArn"],
        "arn:aws:sns:us-east-1:000000000000:orders"
    );
    assert_eq!(first["Subject"], "first");
    assert_eq!(first["Message"], r#"{"order":{"total":50}}"#);
    assert_eq!(first["MessageAttributes"]["color"]["Value"], "red");
    assert!(first["Signature"].as_str().is_some_and(|s| !s.is_empty()));

    let red_only = receive_n(&fixture, "red", 1).await;
    assert_eq!(red_only.len(), 1);
    assert_eq!(body(&red_only[0])["MessageId"], red.message_id.as_str());

    let big = receive_n(&fixture, "big", 1).await;
    assert_eq!(big.len(), 1);
    assert_eq!(body(&big[0])["Message"], r#"{"order":{"total":500}}"#);

    let raw = receive_n(&fixture, "raw", 2).await;
    assert_eq!(raw.len(), 2);
    assert_eq!(&raw[0].message.body[..], br#"{"order":{"total":50}}"#);
    assert_eq!(raw[0].message.attributes.len(), 1);
    assert_eq!(raw[0].message.attributes[0].name, "color");

    // Nothing more arrives anywhere.
    let log = fixture.queues.log().clone();
    drop(log);
    for queue in ["red", "big"] {
        assert!(receive_n(&fixture, queue, 1).await.is_empty(), "{queue}");
    }

    // A changed policy applies to the next message.
    let id = fixture.topics.subscriptions("orders").unwrap()[..]
        .iter()
        .find(|s| s.endpoint == queue_arn("red"))
        .unwrap()
        .id
        .clone();
    fixture
        .topics
        .set_subscription_attribute("orders", &id, "FilterPolicy", r#"{"color":["blue"]}"#)
        .await
        .unwrap();
    let blue = publish(
        &fixture,
        "orders",
        NewPublish {
            message: "third".into(),
            attributes: vec![attribute("color", "String", "blue")],
            ..NewPublish::default()
        },
    )
    .await;
    let now_blue = receive_n(&fixture, "red", 1).await;
    assert_eq!(body(&now_blue[0])["MessageId"], blue.message_id.as_str());
    close(fixture);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_topics_deduplicate_within_five_minutes_and_pass_groups_on() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START_MS));
    let fixture = open_with(dir.path(), &clock);
    let attributes: BTreeMap<String, String> = [
        ("FifoTopic".to_owned(), "true".to_owned()),
        ("ContentBasedDeduplication".to_owned(), "true".to_owned()),
    ]
    .into();
    fixture
        .topics
        .create("events.fifo", attributes, BTreeMap::new())
        .await
        .unwrap();
    make_queue(&fixture, "sink.fifo", true).await;
    subscribe(
        &fixture,
        "events.fifo",
        "sink.fifo",
        &[("RawMessageDelivery", "true")],
    )
    .await;
    let message = |text: &str| NewPublish {
        message: text.into(),
        group: Some("g".into()),
        ..NewPublish::default()
    };
    let first = publish(&fixture, "events.fifo", message("one")).await;
    let again = publish(&fixture, "events.fifo", message("one")).await;
    assert_eq!(first, again, "a duplicate answers the original");
    let second = publish(&fixture, "events.fifo", message("two")).await;
    assert!(second.sequence_number > first.sequence_number);
    let missing_group = fixture
        .topics
        .publish(
            "events.fifo",
            vec![NewPublish {
                message: "x".into(),
                ..NewPublish::default()
            }],
        )
        .await
        .unwrap();
    assert!(matches!(missing_group[0], Err(Error::InvalidParameter(_))));

    // The window survives a reopen, and ends after five minutes.
    close(fixture);
    let fixture = open_with(dir.path(), &clock);
    let after_reopen = publish(&fixture, "events.fifo", message("one")).await;
    assert_eq!(after_reopen, first);
    // The queue keeps its own window, from when the fan-out delivered to it: the clock moves
    // on only once both messages are there, or the queue would see a late first "one" and
    // take the one after the window for its duplicate.
    wait_for_queued(&fixture, "sink.fifo", 2).await;
    clock.advance_ms(DEDUP_WINDOW_MS + 1);
    let later = publish(&fixture, "events.fifo", message("one")).await;
    assert_ne!(later.message_id, first.message_id);

    let got = receive_n(&fixture, "sink.fifo", 3).await;
    let bodies: Vec<&[u8]> = got.iter().map(|r| &r.message.body[..]).collect();
    assert_eq!(
        bodies,
        [&b"one"[..], b"two", b"one"],
        "in order, each once, the last after the window"
    );
    assert_eq!(got[0].message.group_id.as_deref(), Some("g"));
    close(fixture);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_queue_refuses_goes_to_the_dead_letter_queue_in_order_and_the_rest_to_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START_MS));
    let fixture = open_with(dir.path(), &clock);
    fixture
        .topics
        .create("t", BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    let small = AttributeChanges {
        message_bytes_max: Some(1024),
        ..AttributeChanges::default()
    };
    fixture
        .queues
        .create("small", &small, BTreeMap::new())
        .await
        .unwrap();
    make_queue(&fixture, "dlq", false).await;
    let redrive = format!(r#"{{"deadLetterTargetArn":"{}"}}"#, queue_arn("dlq"));
    subscribe(
        &fixture,
        "t",
        "small",
        &[("RawMessageDelivery", "true"), ("RedrivePolicy", &redrive)],
    )
    .await;
    let bodies = ["a", &"B".repeat(2000), "c", &"D".repeat(3000), "e"];
    fixture
        .topics
        .publish(
            "t",
            bodies
                .iter()
                .map(|body| NewPublish {
                    message: (*body).to_owned(),
                    ..NewPublish::default()
                })
                .collect(),
        )
        .await
        .unwrap();
    let kept = receive_n(&fixture, "small", 3).await;
    let kept: Vec<&[u8]> = kept.iter().map(|r| &r.message.body[..]).collect();
    assert_eq!(kept, [&b"a"[..], b"c", b"e"]);
    let refused = receive_n(&fixture, "dlq", 2).await;
    let refused: Vec<usize> = refused.iter().map(|r| r.message.body.len()).collect();
    assert_eq!(
        refused,
        [2000, 3000],
        "the refused ones, in the order they were sent"
    );
    close(fixture);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_left_behind_by_a_crash_delivers_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START_MS));
    let fixture = open_with(dir.path(), &clock);
    fixture
        .topics
        .create("t", BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    make_queue(&fixture, "q", false).await;
    subscribe(&fixture, "t", "q", &[("RawMessageDelivery", "true")]).await;
    for i in 0..5 {
        publish(
            &fixture,
            "t",
            NewPublish {
                message: format!("m{i}"),
                ..NewPublish::default()
            },
        )
        .await;
    }
    // Wait for the fan-out to finish, then put the cursor back as a crash between the
    // queue's appends and the cursor's move would have left it.
    let topic = fixture.topics.topic("t").unwrap();
    for _ in 0..200 {
        let cursor: FanoutCursor = topic
            .state
            .get(CURSOR_KEY)
            .unwrap()
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap_or_default();
        if cursor.next == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    topic.deleted.store(true, Ordering::SeqCst);
    topic.fanout.notify_one();
    tokio::time::sleep(Duration::from_millis(50)).await;
    topic
        .state
        .change(vec![StateChange::put(
            CURSOR_KEY.to_vec(),
            json(&FanoutCursor {
                next: 2,
                ms: START_MS,
            }),
        )])
        .await
        .unwrap();
    drop(topic);
    close(fixture);

    let fixture = open_with(dir.path(), &clock);
    publish(
        &fixture,
        "t",
        NewPublish {
            message: "m5".into(),
            ..NewPublish::default()
        },
    )
    .await;
    let got = receive_n(&fixture, "q", 7).await;
    let bodies: Vec<String> = got
        .iter()
        .map(|r| String::from_utf8(r.message.body.to_vec()).unwrap())
        .collect();
    assert_eq!(bodies, ["m0", "m1", "m2", "m3", "m4", "m5"]);
    close(fixture);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_policy_sends_a_time_range_again_and_completes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START_MS));
    let fixture = open_with(dir.path(), &clock);
    fixture
        .topics
        .create("archive", BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    for i in 0..4 {
        publish(
            &fixture,
            "archive",
            NewPublish {
                message: format!("m{i}"),
                ..NewPublish::default()
            },
        )
        .await;
        clock.advance_ms(1_000);
    }
    // The messages were fanned out (to nobody) before the subscription came.
    let topic = fixture.topics.topic("archive").unwrap();
    for _ in 0..200 {
        let cursor: FanoutCursor = topic
            .state
            .get(CURSOR_KEY)
            .unwrap()
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap_or_default();
        if cursor.next == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(topic);
    make_queue(&fixture, "late", false).await;
    let policy = format!(
        r#"{{"PointType":"Timestamp","StartingPoint":{},"EndingPoint":{}}}"#,
        START_MS + 500,
        START_MS + 2_500
    );
    subscribe(
        &fixture,
        "archive",
        "late",
        &[("RawMessageDelivery", "true"), ("ReplayPolicy", &policy)],
    )
    .await;
    let got = receive_n(&fixture, "late", 2).await;
    let bodies: Vec<&[u8]> = got.iter().map(|r| &r.message.body[..]).collect();
    assert_eq!(bodies, [&b"m1"[..], b"m2"], "the range, once");
    let id = fixture.topics.subscriptions("archive").unwrap()[0]
        .id
        .clone();
    for _ in 0..200 {
        let record = fixture.topics.subscription("archive", &id).unwrap();
        if record.attributes.get("ReplayStatus").map(String::as_str) == Some("Completed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let record = fixture.topics.subscription("archive", &id).unwrap();
    assert_eq!(record.attributes["ReplayStatus"], "Completed");
    assert!(matches!(
        replay::parse_policy(r#"{"PointType":"Offset","StartingPoint":1}"#),
        Err(Error::InvalidParameter(_))
    ));
    close(fixture);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_deliveries_keep_a_body_once_for_all_their_queues() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(START_MS));
    let fixture = open_with(dir.path(), &clock);
    fixture
        .topics
        .create("wide", BTreeMap::new(), BTreeMap::new())
        .await
        .unwrap();
    let queues = ["q0", "q1", "q2", "q3"];
    for queue in queues {
        make_queue(&fixture, queue, false).await;
        subscribe(&fixture, "wide", queue, &[("RawMessageDelivery", "true")]).await;
    }
    let bodies: Vec<String> = (0..3)
        .map(|i| format!("{i}{}", "x".repeat(1_000)))
        .chain(["short".to_string()])
        .collect();
    for body in &bodies {
        publish(
            &fixture,
            "wide",
            NewPublish {
                message: body.clone(),
                attributes: vec![attribute("kind", "String", "a")],
                ..NewPublish::default()
            },
        )
        .await;
    }
    for queue in queues {
        wait_for_queued(&fixture, queue, bodies.len()).await;
    }
    // Each queue's records name the long bodies instead of holding them.
    let log = fixture.queues.log().clone();
    let limits = storage::ReadLimits {
        records_max: 100,
        bytes_max: 1 << 20,
    };
    for queue in queues {
        let records = log
            .read(&format!("sqs:{queue}"), 0, 0, limits)
            .unwrap()
            .records;
        let sizes: Vec<usize> = records.iter().map(|r| r.data.len()).collect();
        assert_eq!(sizes.len(), bodies.len(), "{queue}");
        assert!(
            sizes[..3].iter().all(|&size| size < 200),
            "{queue}: {sizes:?}"
        );
    }
    let shared = log
        .read(queues::SHARED_BODIES_STREAM, 0, 0, limits)
        .unwrap()
        .records;
    assert_eq!(shared.len(), 3, "one shared copy of each long body");

    // Receives and peeks answer with the bodies, before and after a reopen.
    let got = receive_n(&fixture, "q0", bodies.len()).await;
    let got: Vec<String> = got
        .iter()
        .map(|r| String::from_utf8(r.message.body.to_vec()).unwrap())
        .collect();
    assert_eq!(got, bodies);
    close(fixture);
    let fixture = open_with(dir.path(), &clock);
    for queue in ["q1", "q2"] {
        let page = fixture.queues.peek(queue, None, 10, true).unwrap();
        let peeked: Vec<&[u8]> = page.messages.iter().map(|p| &p.message.body[..]).collect();
        let expected: Vec<&[u8]> = bodies.iter().map(|b| b.as_bytes()).collect();
        assert_eq!(peeked, expected, "{queue}");
    }
    let got = receive_n(&fixture, "q3", bodies.len()).await;
    assert_eq!(got.len(), bodies.len());
    for (received, body) in got.iter().zip(&bodies) {
        assert_eq!(&received.message.body[..], body.as_bytes());
        assert_eq!(received.message.attributes[0].name, "kind");
    }
    close(fixture);
}
