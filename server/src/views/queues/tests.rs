//! The queue view on a real log with a manual clock: visibility, receipts, delays,
//! retention, dead-letter queues, purges, FIFO groups and deduplication, reopening, long
//! polling, move tasks, and a model test of random operations with reopens.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use storage::{Clock, Log, LogConfig, ManualClock};

use super::*;

const START_MS: i64 = 1_700_000_000_000;

fn open_with(dir: &std::path::Path, clock: &Arc<ManualClock>) -> Queues {
    let log = Log::open_with_clock(LogConfig::new(dir), clock.clone()).unwrap();
    Queues::open(log, Settings::default()).unwrap()
}

fn open(dir: &std::path::Path) -> (Queues, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START_MS));
    (open_with(dir, &clock), clock)
}

fn reopen(queues: Queues, dir: &std::path::Path, clock: &Arc<ManualClock>) -> Queues {
    queues.log().close().unwrap();
    drop(queues);
    open_with(dir, clock)
}

fn standard() -> AttributeChanges {
    AttributeChanges::default()
}

fn fifo() -> AttributeChanges {
    AttributeChanges {
        fifo: Some(true),
        ..AttributeChanges::default()
    }
}

async fn send_one(queues: &Queues, queue: &str, body: &'static str) -> Sent {
    queues
        .send(queue, vec![NewMessage::body(body)])
        .await
        .unwrap()
        .remove(0)
        .unwrap()
}

async fn send_grouped(queues: &Queues, queue: &str, group: &str, dedup: &str, body: &str) -> Sent {
    let message = NewMessage {
        body: Bytes::from(body.to_string()),
        group_id: Some(group.into()),
        dedup_id: Some(dedup.into()),
        ..NewMessage::default()
    };
    queues
        .send(queue, vec![message])
        .await
        .unwrap()
        .remove(0)
        .unwrap()
}

async fn receive(queues: &Queues, queue: &str, max: u32) -> Vec<Received> {
    queues
        .receive(
            queue,
            &ReceiveOptions {
                max_messages: max,
                wait_s: Some(0),
                ..ReceiveOptions::default()
            },
        )
        .await
        .unwrap()
}

fn bodies(received: &[Received]) -> Vec<String> {
    received
        .iter()
        .map(|r| String::from_utf8(r.message.body.to_vec()).unwrap())
        .collect()
}

async fn delete(queues: &Queues, queue: &str, handle: &str) -> Result<()> {
    queues
        .delete_messages(queue, &[handle.to_string()])
        .await
        .unwrap()
        .remove(0)
}

fn counts(queues: &Queues, queue: &str) -> Counts {
    queues.info(queue).unwrap().counts
}

#[tokio::test]
async fn visibility_timeout_expiry_redelivers_with_a_new_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    queues
        .create("q", &standard(), BTreeMap::new())
        .await
        .unwrap();
    let sent = send_one(&queues, "q", "hello").await;
    let first = receive(&queues, "q", 10).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].message.id, sent.message_id);
    assert_eq!(first[0].receive_count, 1);
    assert_eq!(first[0].first_receive_ms, START_MS);
    assert!(receive(&queues, "q", 10).await.is_empty(), "in flight");
    assert_eq!(
        counts(&queues, "q"),
        Counts {
            visible: 0,
            in_flight: 1,
            delayed: 0
        }
    );
    clock.advance_ms(29_999);
    assert!(receive(&queues, "q", 10).await.is_empty());
    clock.advance_ms(1);
    let second = receive(&queues, "q", 10).await;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].receive_count, 2);
    assert_eq!(second[0].first_receive_ms, START_MS);
    assert_ne!(second[0].receipt_handle, first[0].receipt_handle);
    // The stale handle of a standard queue: success, nothing deleted.
    delete(&queues, "q", &first[0].receipt_handle)
        .await
        .unwrap();
    assert_eq!(counts(&queues, "q").in_flight, 1);
    delete(&queues, "q", &second[0].receipt_handle)
        .await
        .unwrap();
    assert_eq!(counts(&queues, "q"), Counts::default());
    // Deleting again is idempotent.
    delete(&queues, "q", &second[0].receipt_handle)
        .await
        .unwrap();
    clock.advance_ms(60_000);
    assert!(receive(&queues, "q", 10).await.is_empty());
}

#[tokio::test]
async fn receipts_of_other_queues_or_forged_ones_are_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    queues
        .create("a", &standard(), BTreeMap::new())
        .await
        .unwrap();
    queues
        .create("b", &standard(), BTreeMap::new())
        .await
        .unwrap();
    send_one(&queues, "a", "x").await;
    let handle = receive(&queues, "a", 1).await.remove(0).receipt_handle;
    assert!(matches!(
        delete(&queues, "b", &handle).await,
        Err(Error::ReceiptInvalid(_))
    ));
    assert!(matches!(
        delete(&queues, "a", "garbage").await,
        Err(Error::ReceiptInvalid(_))
    ));
    let mut forged = handle.clone().into_bytes();
    forged[3] = if forged[3] == b'A' { b'B' } else { b'A' };
    assert!(matches!(
        delete(&queues, "a", &String::from_utf8(forged).unwrap()).await,
        Err(Error::ReceiptInvalid(_))
    ));
    // A recreated queue does not take the old queue's handles.
    queues.delete_queue("a").await.unwrap();
    assert!(matches!(
        queues.create("a", &standard(), BTreeMap::new()).await,
        Err(Error::DeletedRecently(_))
    ));
    clock.advance_ms(limits::RECREATE_AFTER_DELETE_MS);
    queues
        .create("a", &standard(), BTreeMap::new())
        .await
        .unwrap();
    send_one(&queues, "a", "y").await;
    assert!(matches!(
        delete(&queues, "a", &handle).await,
        Err(Error::ReceiptInvalid(_))
    ));
    assert_eq!(counts(&queues, "a").visible, 1);
}

#[tokio::test]
async fn change_visibility_rules() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    queues
        .create("q", &standard(), BTreeMap::new())
        .await
        .unwrap();
    send_one(&queues, "q", "m").await;
    let handle = receive(&queues, "q", 1).await.remove(0).receipt_handle;
    let change = |t: u32| (handle.clone(), t);
    // Over 12 hours from the receive.
    clock.advance_ms(10_000);
    let outcome = queues
        .change_visibility("q", &[change(43_200)])
        .await
        .unwrap();
    assert!(matches!(outcome[0], Err(Error::InvalidValue(_))));
    let outcome = queues
        .change_visibility("q", &[change(43_190)])
        .await
        .unwrap();
    assert!(outcome[0].is_ok());
    assert!(matches!(
        queues
            .change_visibility("q", &[change(43_201)])
            .await
            .unwrap()[0],
        Err(Error::InvalidValue(_))
    ));
    // Zero makes it visible at once; then it is not in flight.
    queues.change_visibility("q", &[change(0)]).await.unwrap()[0]
        .as_ref()
        .unwrap();
    assert_eq!(counts(&queues, "q").visible, 1);
    assert!(matches!(
        queues.change_visibility("q", &[change(5)]).await.unwrap()[0],
        Err(Error::MessageNotInflight)
    ));
    let again = receive(&queues, "q", 1).await.remove(0);
    assert_eq!(again.receive_count, 2);
    // The older handle cannot change the newer receive.
    assert!(matches!(
        queues.change_visibility("q", &[change(5)]).await.unwrap()[0],
        Err(Error::ReceiptExpired)
    ));
}

#[tokio::test]
async fn delays_hold_messages_back_and_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    let changes = AttributeChanges {
        delay_s: Some(10),
        visibility_timeout_s: Some(3600),
        ..standard()
    };
    queues.create("q", &changes, BTreeMap::new()).await.unwrap();
    send_one(&queues, "q", "queue delay").await;
    let quick = NewMessage {
        delay_s: Some(0),
        ..NewMessage::body("no delay")
    };
    let slow = NewMessage {
        delay_s: Some(900),
        ..NewMessage::body("long delay")
    };
    let outcomes = queues.send("q", vec![quick, slow]).await.unwrap();
    assert!(outcomes.iter().all(Result::is_ok));
    assert_eq!(
        counts(&queues, "q"),
        Counts {
            visible: 1,
            in_flight: 0,
            delayed: 2
        }
    );
    assert_eq!(bodies(&receive(&queues, "q", 10).await), ["no delay"]);
    clock.advance_ms(10_000);
    assert_eq!(bodies(&receive(&queues, "q", 10).await), ["queue delay"]);
    clock.advance_ms(890_000);
    assert_eq!(bodies(&receive(&queues, "q", 10).await), ["long delay"]);
    let too_long = NewMessage {
        delay_s: Some(901),
        ..NewMessage::body("x")
    };
    assert!(matches!(
        queues.send("q", vec![too_long]).await.unwrap()[0],
        Err(Error::InvalidValue(_))
    ));
}

#[tokio::test]
async fn messages_expire_after_the_retention_period() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    let changes = AttributeChanges {
        retention_s: Some(60),
        ..standard()
    };
    queues.create("q", &changes, BTreeMap::new()).await.unwrap();
    send_one(&queues, "q", "old").await;
    clock.advance_ms(30_000);
    send_one(&queues, "q", "new").await;
    clock.advance_ms(30_000);
    assert_eq!(bodies(&receive(&queues, "q", 10).await), ["new"]);
    // An in-flight message expires too.
    clock.advance_ms(30_000);
    assert!(receive(&queues, "q", 10).await.is_empty());
    let queues = reopen(queues, dir.path(), &clock);
    assert!(receive(&queues, "q", 10).await.is_empty());
    assert_eq!(counts(&queues, "q"), Counts::default());
}

#[tokio::test]
async fn messages_past_the_receive_count_move_to_the_dead_letter_queue() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    queues
        .create("dlq", &standard(), BTreeMap::new())
        .await
        .unwrap();
    let changes = AttributeChanges {
        redrive: Some(Some(Redrive {
            dead_letter_queue: "dlq".into(),
            receive_count_max: 2,
        })),
        visibility_timeout_s: Some(1),
        ..standard()
    };
    queues
        .create("src", &changes, BTreeMap::new())
        .await
        .unwrap();
    let message = NewMessage {
        attributes: vec![MessageAttribute {
            name: "k".into(),
            data_type: "String".into(),
            value: AttributeValue::Text("v".into()),
        }]
        .into(),
        ..NewMessage::body("poison")
    };
    let sent = queues
        .send("src", vec![message])
        .await
        .unwrap()
        .remove(0)
        .unwrap();
    for count in 1..=2 {
        let got = receive(&queues, "src", 1).await;
        assert_eq!(got[0].receive_count, count);
        clock.advance_ms(1000);
    }
    assert!(receive(&queues, "src", 1).await.is_empty());
    assert_eq!(counts(&queues, "src"), Counts::default());
    let moved = receive(&queues, "dlq", 1).await;
    assert_eq!(moved.len(), 1);
    let moved = &moved[0];
    assert_eq!(moved.message.id, sent.message_id);
    assert_eq!(moved.message.sent_ms, START_MS);
    assert_eq!(moved.message.moved_from.as_deref(), Some("src"));
    assert_eq!(moved.message.attributes.len(), 1);
    assert_eq!(moved.receive_count, 1);
    assert_eq!(queues.dead_letter_sources("dlq").unwrap(), ["src"]);
    // Nothing comes back after a restart.
    let queues = reopen(queues, dir.path(), &clock);
    clock.advance_ms(60_000);
    assert!(receive(&queues, "src", 1).await.is_empty());
    assert_eq!(receive(&queues, "dlq", 1).await.len(), 1);
}

#[tokio::test]
async fn a_move_task_returns_messages_to_their_source() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    dead_letters(&queues, &["a", "b", "c"]).await;
    let handle = queues
        .start_move_task("dlq", None, Some(100))
        .await
        .unwrap();
    assert!(matches!(
        queues.start_move_task("dlq", None, None).await,
        Err(Error::MoveTaskRunning(_))
    ));
    let mut done = false;
    for _ in 0..200 {
        let tasks = queues.list_move_tasks("dlq").unwrap();
        if tasks[0].status == MoveTaskStatus::Completed {
            assert_eq!(tasks[0].moved, 3);
            assert_eq!(tasks[0].handle, handle);
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(done, "the move task completes");
    clock.advance_ms(1);
    assert_eq!(counts(&queues, "dlq"), Counts::default());
    let back = receive(&queues, "src", 10).await;
    assert_eq!(bodies(&back), ["a", "b", "c"]);
    assert!(back.iter().all(|r| r.message.moved_from.is_none()));
    assert!(matches!(
        queues.cancel_move_task(&handle).await,
        Err(Error::MoveTaskNotFound(_))
    ));
}

/// A dead-letter queue `dlq` holding the messages `bodies` sent to `src` (maxReceiveCount
/// 1, each received once).
async fn dead_letters(queues: &Queues, bodies: &[&str]) {
    queues
        .create("dlq", &standard(), BTreeMap::new())
        .await
        .unwrap();
    let changes = AttributeChanges {
        redrive: Some(Some(Redrive {
            dead_letter_queue: "dlq".into(),
            receive_count_max: 1,
        })),
        visibility_timeout_s: Some(0),
        ..standard()
    };
    queues
        .create("src", &changes, BTreeMap::new())
        .await
        .unwrap();
    for body in bodies {
        queues
            .send("src", vec![NewMessage::body(body.to_string())])
            .await
            .unwrap();
    }
    while !receive(queues, "src", 10).await.is_empty() {}
    assert_eq!(counts(queues, "dlq").visible, bodies.len() as u64);
}

async fn wait_for_status(queues: &Queues, status: MoveTaskStatus) -> moves::MoveTask {
    for _ in 0..500 {
        let tasks = queues.list_move_tasks("dlq").unwrap();
        if tasks[0].status == status {
            return tasks[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the move task never became {status:?}");
}

#[tokio::test]
async fn a_move_task_resumes_after_a_restart_and_a_cancelled_one_stays_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    dead_letters(&queues, &["m0", "m1", "m2", "m3"]).await;
    // Two messages a second: the first two move at once, then the task waits a second.
    let handle = queues.start_move_task("dlq", None, Some(2)).await.unwrap();
    for _ in 0..500 {
        if queues.list_move_tasks("dlq").unwrap()[0].moved == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let queues = reopen(queues, dir.path(), &clock);
    let task = queues.list_move_tasks("dlq").unwrap().remove(0);
    assert_eq!((task.handle.as_str(), task.moved), (handle.as_str(), 2));
    let done = wait_for_status(&queues, MoveTaskStatus::Completed).await;
    assert_eq!((done.moved, done.to_move), (4, 4));
    clock.advance_ms(1);
    assert_eq!(counts(&queues, "dlq"), Counts::default());
    assert_eq!(counts(&queues, "src").visible, 4);
    let queues = reopen(queues, dir.path(), &clock);
    assert_eq!(
        queues.list_move_tasks("dlq").unwrap()[0].status,
        MoveTaskStatus::Completed
    );

    // Back to the dead-letter queue, then a slow task cancelled at once.
    while !receive(&queues, "src", 10).await.is_empty() {}
    let slow = queues.start_move_task("dlq", None, Some(1)).await.unwrap();
    queues.cancel_move_task(&slow).await.unwrap();
    let queues = reopen(queues, dir.path(), &clock);
    let cancelled = wait_for_status(&queues, MoveTaskStatus::Cancelled).await;
    assert_eq!(cancelled.handle, slow);
    assert!(cancelled.moved <= 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        counts(&queues, "dlq").visible >= 3,
        "a cancelled task does not resume"
    );
}

#[tokio::test]
async fn purge_removes_in_flight_messages_once_a_minute() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    queues
        .create("q", &standard(), BTreeMap::new())
        .await
        .unwrap();
    for body in ["a", "b", "c"] {
        send_one(&queues, "q", body).await;
    }
    let handle = receive(&queues, "q", 1).await.remove(0).receipt_handle;
    queues.purge("q").await.unwrap();
    assert_eq!(counts(&queues, "q"), Counts::default());
    assert!(matches!(
        queues.purge("q").await,
        Err(Error::PurgeInProgress(_))
    ));
    delete(&queues, "q", &handle).await.unwrap();
    send_one(&queues, "q", "after").await;
    let queues = reopen(queues, dir.path(), &clock);
    clock.advance_ms(60_000);
    assert_eq!(bodies(&receive(&queues, "q", 10).await), ["after"]);
    queues.purge("q").await.unwrap();
    // The state holds only the configuration, the watermark and the purge time.
    let stream = format!("{STREAM_PREFIX}q");
    assert_eq!(queues.log().state(&stream).unwrap().len().unwrap(), 3);
}

#[tokio::test]
async fn the_purge_and_recreate_windows_hold_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    for name in ["kept", "gone"] {
        queues
            .create(name, &standard(), BTreeMap::new())
            .await
            .unwrap();
    }
    queues.purge("kept").await.unwrap();
    queues.delete_queue("gone").await.unwrap();
    let queues = reopen(queues, dir.path(), &clock);
    assert!(matches!(
        queues.purge("kept").await,
        Err(Error::PurgeInProgress(_))
    ));
    assert!(matches!(
        queues.create("gone", &standard(), BTreeMap::new()).await,
        Err(Error::DeletedRecently(_))
    ));
    clock.advance_ms(60_000);
    let queues = reopen(queues, dir.path(), &clock);
    queues.purge("kept").await.unwrap();
    queues
        .create("gone", &standard(), BTreeMap::new())
        .await
        .unwrap();
    // The deletion time was forgotten once its window passed.
    assert!(queues.log().properties(DELETED_NAMESPACE).is_empty());
}

#[tokio::test]
async fn a_rewind_makes_deleted_and_in_flight_messages_receivable_and_old_handles_stale() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    queues
        .create("q", &standard(), BTreeMap::new())
        .await
        .unwrap();
    let mut sent = Vec::new();
    for body in ["a", "b", "c", "d"] {
        sent.push(send_one(&queues, "q", body).await);
    }
    // a and b deleted, c in flight, d ready.
    let received = receive(&queues, "q", 3).await;
    assert_eq!(bodies(&received), ["a", "b", "c"]);
    delete(&queues, "q", &received[0].receipt_handle)
        .await
        .unwrap();
    delete(&queues, "q", &received[1].receipt_handle)
        .await
        .unwrap();
    let stale = received[2].receipt_handle.clone();
    clock.advance_ms(5);

    let rewound = queues
        .rewind("q", RewindTo::Offset(sent[1].offset))
        .await
        .unwrap();
    assert_eq!(rewound.offset, sent[1].offset);
    assert_eq!(rewound.unfinished, 3);
    assert_eq!(
        counts(&queues, "q"),
        Counts {
            visible: 3,
            in_flight: 0,
            delayed: 0
        }
    );
    assert!(matches!(
        delete(&queues, "q", &stale).await,
        Err(Error::ReceiptInvalid(_))
    ));
    let again = receive(&queues, "q", 10).await;
    assert_eq!(bodies(&again), ["b", "c", "d"]);
    assert!(again.iter().all(|r| r.receive_count == 1));
    for r in &again {
        delete(&queues, "q", &r.receipt_handle).await.unwrap();
    }
    // A rewind is durable, and the handles it made stale stay stale after a restart.
    let queues = reopen(queues, dir.path(), &clock);
    assert_eq!(counts(&queues, "q"), Counts::default());
    assert!(matches!(
        delete(&queues, "q", &stale).await,
        Err(Error::ReceiptInvalid(_))
    ));
    // A point before the oldest message is the oldest message; a point past the end is
    // the end, and revives nothing.
    let all = queues.rewind("q", RewindTo::Offset(0)).await.unwrap();
    assert_eq!((all.offset, all.unfinished), (sent[0].offset, 4));
    let queues = reopen(queues, dir.path(), &clock);
    assert_eq!(
        bodies(&receive(&queues, "q", 10).await),
        ["a", "b", "c", "d"]
    );
    let none = queues.rewind("q", RewindTo::Offset(1 << 40)).await.unwrap();
    assert_eq!(none.offset, sent[3].offset + 1);
}

#[tokio::test]
async fn a_rewind_to_a_time_keeps_fifo_order_and_peeks_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    queues
        .create("q.fifo", &fifo(), BTreeMap::new())
        .await
        .unwrap();
    send_grouped(&queues, "q.fifo", "g", "1", "one").await;
    clock.advance_ms(1000);
    let from_ms = clock.now_ms();
    send_grouped(&queues, "q.fifo", "g", "2", "two").await;
    send_grouped(&queues, "q.fifo", "g", "3", "three").await;
    for _ in 0..3 {
        let r = receive(&queues, "q.fifo", 1).await.remove(0);
        delete(&queues, "q.fifo", &r.receipt_handle).await.unwrap();
    }
    assert!(
        queues
            .peek("q.fifo", None, 10, false)
            .unwrap()
            .messages
            .is_empty()
    );
    let all = queues.peek("q.fifo", None, 10, true).unwrap();
    assert_eq!(all.messages.len(), 3);
    assert!(all.messages.iter().all(|m| m.state == PeekState::Finished));

    let rewound = queues
        .rewind("q.fifo", RewindTo::Timestamp(from_ms))
        .await
        .unwrap();
    assert_eq!(rewound.unfinished, 2);
    let page = queues.peek("q.fifo", None, 1, false).unwrap();
    assert_eq!(page.messages.len(), 1);
    assert_eq!(page.messages[0].state, PeekState::Ready);
    assert_eq!(&page.messages[0].message.body[..], b"two");
    let rest = queues
        .peek("q.fifo", Some(page.next_offset), 10, false)
        .unwrap();
    assert_eq!(rest.messages.len(), 1);
    assert_eq!(&rest.messages[0].message.body[..], b"three");
    // Peeking received nothing: the group's order and counts are as they were.
    let first = receive(&queues, "q.fifo", 10).await;
    assert_eq!(bodies(&first), ["two", "three"]);
    let peeked = queues.peek("q.fifo", None, 10, false).unwrap();
    assert!(
        peeked
            .messages
            .iter()
            .all(|m| m.state == PeekState::InFlight && m.receive_count == 1)
    );
    assert!(matches!(
        queues.peek("q.fifo", None, 0, false),
        Err(Error::InvalidValue(_))
    ));
}

#[tokio::test]
async fn fifo_groups_are_ordered_and_blocked_while_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    queues
        .create("q.fifo", &fifo(), BTreeMap::new())
        .await
        .unwrap();
    let mut sequence = Vec::new();
    for (group, body) in [
        ("a", "a1"),
        ("b", "b1"),
        ("a", "a2"),
        ("b", "b2"),
        ("a", "a3"),
    ] {
        let sent = send_grouped(&queues, "q.fifo", group, body, body).await;
        sequence.push(sent.sequence_number.unwrap());
    }
    assert!(sequence.windows(2).all(|w| w[0].len() == 20 && w[0] < w[1]));
    // A run of one group first, then the next group.
    let first = receive(&queues, "q.fifo", 2).await;
    assert_eq!(bodies(&first), ["a1", "a2"]);
    assert_eq!(first[0].message.group_id.as_deref(), Some("a"));
    assert_eq!(first[0].sequence_number.as_ref(), Some(&sequence[0]));
    // Group a is blocked while a1 and a2 are in flight.
    let second = receive(&queues, "q.fifo", 10).await;
    assert_eq!(bodies(&second), ["b1", "b2"]);
    assert!(receive(&queues, "q.fifo", 10).await.is_empty());
    // Sending into a blocked group does not unblock it.
    send_grouped(&queues, "q.fifo", "a", "a4", "a4").await;
    assert!(receive(&queues, "q.fifo", 10).await.is_empty());
    delete(&queues, "q.fifo", &first[0].receipt_handle)
        .await
        .unwrap();
    assert!(
        receive(&queues, "q.fifo", 10).await.is_empty(),
        "a2 in flight"
    );
    delete(&queues, "q.fifo", &first[1].receipt_handle)
        .await
        .unwrap();
    assert_eq!(bodies(&receive(&queues, "q.fifo", 10).await), ["a3", "a4"]);
    // Expired visibility returns the group's messages in order again.
    clock.advance_ms(30_000);
    assert_eq!(bodies(&receive(&queues, "q.fifo", 1).await), ["b1"]);
    // A stale handle on a FIFO queue is refused.
    assert!(matches!(
        delete(&queues, "q.fifo", &second[0].receipt_handle).await,
        Err(Error::ReceiptExpired)
    ));
}

#[tokio::test]
async fn fifo_receive_attempts_are_repeated_within_five_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    queues
        .create("q.fifo", &fifo(), BTreeMap::new())
        .await
        .unwrap();
    for body in ["a1", "a2"] {
        send_grouped(&queues, "q.fifo", "a", body, body).await;
    }
    send_grouped(&queues, "q.fifo", "b", "b1", "b1").await;
    let options = ReceiveOptions {
        max_messages: 2,
        wait_s: Some(0),
        attempt_id: Some("attempt-1".into()),
        ..ReceiveOptions::default()
    };
    let first = queues.receive("q.fifo", &options).await.unwrap();
    assert_eq!(bodies(&first), ["a1", "a2"]);
    // The retry (a lost response, say) gets the same messages and handles, and restarts
    // their visibility timeout.
    clock.advance_ms(20_000);
    let retry = queues.receive("q.fifo", &options).await.unwrap();
    assert_eq!(retry, first);
    // A restart forgets nothing of it.
    let queues = reopen(queues, dir.path(), &clock);
    let retry = queues.receive("q.fifo", &options).await.unwrap();
    assert_eq!(retry, first);
    clock.advance_ms(20_000);
    let b = receive(&queues, "q.fifo", 10).await;
    assert_eq!(bodies(&b), ["b1"]);
    delete(&queues, "q.fifo", &b[0].receipt_handle)
        .await
        .unwrap();
    // Once one of them is deleted, the id receives afresh.
    delete(&queues, "q.fifo", &first[0].receipt_handle)
        .await
        .unwrap();
    clock.advance_ms(30_000);
    let fresh = queues.receive("q.fifo", &options).await.unwrap();
    assert_eq!(bodies(&fresh), ["a2"]);
    assert_ne!(fresh[0].receipt_handle, first[1].receipt_handle);
    // Expired attempts are deleted from the state by the next one remembered.
    clock.advance_ms(limits::RECEIVE_ATTEMPT_WINDOW_MS + 1);
    delete(&queues, "q.fifo", &fresh[0].receipt_handle)
        .await
        .unwrap();
    send_grouped(&queues, "q.fifo", "c", "c1", "c1").await;
    let other = ReceiveOptions {
        attempt_id: Some("attempt-2".into()),
        ..options
    };
    assert_eq!(
        bodies(&queues.receive("q.fifo", &other).await.unwrap()),
        ["c1"]
    );
    let state = queues
        .log()
        .state(&format!("{STREAM_PREFIX}q.fifo"))
        .unwrap();
    let kept: Vec<_> = state
        .scan(ATTEMPT_PREFIX)
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    assert_eq!(kept, [attempt_key("attempt-2")]);
}

#[tokio::test]
async fn fifo_refuses_per_message_delay_and_missing_ids() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, _clock) = open(dir.path());
    queues
        .create("q.fifo", &fifo(), BTreeMap::new())
        .await
        .unwrap();
    let outcomes = queues
        .send(
            "q.fifo",
            vec![
                NewMessage::body("no group"),
                NewMessage {
                    group_id: Some("g".into()),
                    ..NewMessage::body("no dedup id")
                },
                NewMessage {
                    group_id: Some("g".into()),
                    dedup_id: Some("d".into()),
                    delay_s: Some(1),
                    ..NewMessage::body("delayed")
                },
            ],
        )
        .await
        .unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Err(Error::InvalidValue(_))))
    );
    assert!(matches!(
        queues.create("plain", &fifo(), BTreeMap::new()).await,
        Err(Error::InvalidValue(_))
    ));
    assert!(matches!(
        queues.create("x.fifo", &standard(), BTreeMap::new()).await,
        Err(Error::InvalidValue(_))
    ));
}

#[tokio::test]
async fn fifo_deduplication_lasts_five_minutes_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    let changes = AttributeChanges {
        content_based_dedup: Some(true),
        ..fifo()
    };
    queues
        .create("q.fifo", &changes, BTreeMap::new())
        .await
        .unwrap();
    let original = send_grouped(&queues, "q.fifo", "g", "id-1", "one").await;
    let duplicate = send_grouped(&queues, "q.fifo", "g", "id-1", "other body").await;
    assert!(duplicate.duplicate);
    assert_eq!(duplicate.message_id, original.message_id);
    assert_eq!(duplicate.sequence_number, original.sequence_number);
    // Content-based: the body's hash, twice in one batch.
    let by_content = || NewMessage {
        group_id: Some("g".into()),
        ..NewMessage::body("same")
    };
    let batch = queues
        .send("q.fifo", vec![by_content(), by_content()])
        .await
        .unwrap();
    let (first, second) = (batch[0].as_ref().unwrap(), batch[1].as_ref().unwrap());
    assert!(!first.duplicate && second.duplicate);
    assert_eq!(first.message_id, second.message_id);
    // Deleted messages are still deduplicated.
    let got = receive(&queues, "q.fifo", 10).await;
    assert_eq!(bodies(&got), ["one", "same"]);
    for received in &got {
        delete(&queues, "q.fifo", &received.receipt_handle)
            .await
            .unwrap();
    }
    let queues = reopen(queues, dir.path(), &clock);
    clock.advance_ms(limits::DEDUP_WINDOW_MS - 1);
    assert!(
        send_grouped(&queues, "q.fifo", "g", "id-1", "x")
            .await
            .duplicate
    );
    clock.advance_ms(1);
    let fresh = send_grouped(&queues, "q.fifo", "g", "id-1", "again").await;
    assert!(!fresh.duplicate);
    assert_ne!(fresh.message_id, original.message_id);
    assert_eq!(bodies(&receive(&queues, "q.fifo", 10).await), ["again"]);
}

#[tokio::test]
async fn dedup_scope_message_group_keeps_groups_apart() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, _clock) = open(dir.path());
    let changes = AttributeChanges {
        dedup_scope: Some(DedupScope::MessageGroup),
        throughput_limit: Some(ThroughputLimit::PerMessageGroupId),
        ..fifo()
    };
    queues
        .create("q.fifo", &changes, BTreeMap::new())
        .await
        .unwrap();
    assert!(
        !send_grouped(&queues, "q.fifo", "a", "d", "1")
            .await
            .duplicate
    );
    assert!(
        !send_grouped(&queues, "q.fifo", "b", "d", "2")
            .await
            .duplicate
    );
    assert!(
        send_grouped(&queues, "q.fifo", "a", "d", "3")
            .await
            .duplicate
    );
}

#[tokio::test]
async fn reopening_recovers_in_flight_state_and_never_resurrects_deleted_messages() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    queues
        .create("q", &standard(), BTreeMap::new())
        .await
        .unwrap();
    for body in ["a", "b", "c", "d"] {
        send_one(&queues, "q", body).await;
    }
    let got = receive(&queues, "q", 3).await;
    assert_eq!(bodies(&got), ["a", "b", "c"]);
    // Delete a and c; b stays in flight; d was never received.
    delete(&queues, "q", &got[0].receipt_handle).await.unwrap();
    delete(&queues, "q", &got[2].receipt_handle).await.unwrap();
    let queues = reopen(queues, dir.path(), &clock);
    assert_eq!(
        counts(&queues, "q"),
        Counts {
            visible: 1,
            in_flight: 1,
            delayed: 0
        }
    );
    assert_eq!(bodies(&receive(&queues, "q", 10).await), ["d"]);
    // The handle issued before the restart still works.
    delete(&queues, "q", &got[1].receipt_handle).await.unwrap();
    clock.advance_ms(60_000);
    let queues = reopen(queues, dir.path(), &clock);
    let again = receive(&queues, "q", 10).await;
    assert_eq!(bodies(&again), ["d"]);
    assert_eq!(again[0].receive_count, 2);
    let info = queues.info("q").unwrap();
    assert_eq!(info.config.created_ms, START_MS);
}

#[tokio::test]
async fn a_long_poll_is_woken_by_a_send() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, _clock) = open(dir.path());
    queues
        .create("q", &standard(), BTreeMap::new())
        .await
        .unwrap();
    let waiter = {
        let queues = queues.clone();
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let options = ReceiveOptions {
                max_messages: 10,
                wait_s: Some(20),
                ..ReceiveOptions::default()
            };
            let got = queues.receive("q", &options).await.unwrap();
            (got, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    send_one(&queues, "q", "wake").await;
    let (got, waited) = waiter.await.unwrap();
    assert_eq!(bodies(&got), ["wake"]);
    assert!(waited < Duration::from_secs(10), "woken, not timed out");
}

#[tokio::test]
async fn a_long_poll_ends_with_its_wait() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, _clock) = open(dir.path());
    let changes = AttributeChanges {
        receive_wait_s: Some(1),
        ..standard()
    };
    queues.create("q", &changes, BTreeMap::new()).await.unwrap();
    let started = tokio::time::Instant::now();
    let got = queues
        .receive("q", &ReceiveOptions::default())
        .await
        .unwrap();
    assert!(got.is_empty());
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn create_is_idempotent_only_for_equal_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    let changes = AttributeChanges {
        visibility_timeout_s: Some(60),
        ..standard()
    };
    let tags = BTreeMap::from([("team".to_string(), "a".to_string())]);
    queues.create("q", &changes, tags.clone()).await.unwrap();
    queues.create("q", &changes, BTreeMap::new()).await.unwrap();
    queues
        .create("q", &standard(), BTreeMap::new())
        .await
        .unwrap();
    let other = AttributeChanges {
        visibility_timeout_s: Some(61),
        ..standard()
    };
    assert!(matches!(
        queues.create("q", &other, BTreeMap::new()).await,
        Err(Error::QueueExists(_))
    ));
    assert_eq!(queues.tags("q").unwrap(), tags);
    queues
        .create("q2", &standard(), BTreeMap::new())
        .await
        .unwrap();
    queues
        .create("r", &standard(), BTreeMap::new())
        .await
        .unwrap();
    assert_eq!(queues.list("q"), ["q", "q2"]);
    assert_eq!(queues.list(""), ["q", "q2", "r"]);
    queues.delete_queue("q2").await.unwrap();
    assert!(matches!(queues.info("q2"), Err(Error::QueueNotFound(_))));
    clock.advance_ms(60_000);
    queues
        .create("q2", &standard(), BTreeMap::new())
        .await
        .unwrap();
    assert!(matches!(
        queues
            .create("bad name!", &standard(), BTreeMap::new())
            .await,
        Err(Error::InvalidValue(_))
    ));
    let out_of_range = AttributeChanges {
        visibility_timeout_s: Some(43_201),
        ..standard()
    };
    assert!(matches!(
        queues.create("z", &out_of_range, BTreeMap::new()).await,
        Err(Error::InvalidValue(_))
    ));
}

#[tokio::test]
async fn attributes_and_tags_change_durably() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    queues
        .create("q", &standard(), BTreeMap::new())
        .await
        .unwrap();
    clock.advance_ms(5_000);
    let changes = AttributeChanges {
        visibility_timeout_s: Some(5),
        policy: Some(Some("{}".into())),
        ..standard()
    };
    queues.set_attributes("q", &changes).await.unwrap();
    queues
        .tag(
            "q",
            BTreeMap::from([("a".into(), "1".into()), ("b".into(), "2".into())]),
        )
        .await
        .unwrap();
    queues.untag("q", &["a".to_string()]).await.unwrap();
    assert!(matches!(
        queues.set_attributes("q", &fifo()).await,
        Err(Error::InvalidValue(_))
    ));
    let dangling = AttributeChanges {
        redrive: Some(Some(Redrive {
            dead_letter_queue: "missing".into(),
            receive_count_max: 3,
        })),
        ..standard()
    };
    assert!(matches!(
        queues.set_attributes("q", &dangling).await,
        Err(Error::InvalidValue(_))
    ));
    let queues = reopen(queues, dir.path(), &clock);
    let info = queues.info("q").unwrap();
    assert_eq!(info.config.attributes.visibility_timeout_s, 5);
    assert_eq!(info.config.attributes.policy.as_deref(), Some("{}"));
    assert_eq!(info.config.modified_ms, START_MS + 5_000);
    assert_eq!(info.config.created_ms, START_MS);
    assert_eq!(
        info.config.tags,
        BTreeMap::from([("b".to_string(), "2".to_string())])
    );
}

#[tokio::test]
async fn oversized_messages_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, _clock) = open(dir.path());
    let changes = AttributeChanges {
        message_bytes_max: Some(1024),
        ..standard()
    };
    queues.create("q", &changes, BTreeMap::new()).await.unwrap();
    let outcomes = queues
        .send(
            "q",
            vec![
                NewMessage::body(vec![b'x'; 1024]),
                NewMessage::body(vec![b'x'; 1025]),
            ],
        )
        .await
        .unwrap();
    assert!(outcomes[0].is_ok());
    assert!(matches!(outcomes[1], Err(Error::MessageTooLong { .. })));
}

#[test]
fn codecs_round_trip_and_refuse_damage() {
    let message = StoredMessage {
        id: MessageId::random(),
        sent_ms: 5,
        visible_from_ms: 6,
        body_md5: Some([7; 16]),
        group_id: Some("g".into()),
        dedup_id: None,
        trace_header: Some("Root=1".into()),
        moved_from: Some("src".into()),
        attributes: vec![MessageAttribute {
            name: "bin".into(),
            data_type: "Binary".into(),
            value: AttributeValue::Binary(Bytes::from_static(b"\x00\x01")),
        }]
        .into(),
        body: Bytes::from_static(b"body"),
        shared_body: None,
    };
    let bytes = message.to_bytes();
    assert_eq!(bytes.len(), message.encoded_size());
    assert_eq!(
        StoredMessage::decode(&bytes).unwrap(),
        (message.clone(), bytes.len())
    );
    for cut in 0..bytes.len() {
        assert!(StoredMessage::decode(&bytes.slice(..cut)).is_err());
        assert!(Summary::decode(&bytes.slice(..cut)).is_err());
    }
    // The index's summary reads the same record (as a send makes it from the message), and
    // refuses what the full decoder refuses.
    let summary = Summary::decode(&bytes).unwrap();
    assert_eq!(summary, Summary::of(&message));
    assert_eq!(
        (summary.id, summary.sent_ms, summary.visible_from_ms),
        (message.id, 5, 6)
    );
    assert_eq!(summary.group_id.as_deref(), Some("g"));
    for position in 0..bytes.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut damaged = bytes.to_vec();
            damaged[position] ^= flip;
            let damaged = Bytes::from(damaged);
            assert_eq!(
                Summary::decode(&damaged).is_ok(),
                StoredMessage::decode(&damaged).is_ok(),
                "byte {position} ^ {flip:#x}"
            );
        }
    }
    // Records written before the body's digest was kept still decode, without it.
    let undigested = StoredMessage {
        body_md5: None,
        ..message.clone()
    };
    let old = undigested.to_bytes();
    assert_eq!(old[0], 1);
    assert_eq!(old.len() + 16, bytes.len());
    assert_eq!(
        StoredMessage::decode(&old).unwrap(),
        (undigested, old.len())
    );
    // A record whose body is shared names it (offset and length) instead of holding it; it
    // decodes without the body, which the reader fetches.
    let shared = StoredMessage {
        shared_body: Some(SharedBody {
            offset: 1 << 40,
            len: 4,
        }),
        ..message.clone()
    };
    let named = shared.to_bytes();
    assert_eq!(named[0], 3);
    assert_eq!(named.len(), shared.encoded_size());
    assert_eq!(named.len(), bytes.len() - (4 + 4) + (8 + 4));
    assert_eq!(
        StoredMessage::decode(&named).unwrap(),
        (
            StoredMessage {
                body: Bytes::new(),
                ..shared.clone()
            },
            named.len()
        )
    );
    assert_eq!(Summary::decode(&named).unwrap(), Summary::of(&shared));
    for cut in 0..named.len() {
        assert!(StoredMessage::decode(&named.slice(..cut)).is_err());
        assert!(Summary::decode(&named.slice(..cut)).is_err());
    }
    // Without a digest, a body is never shared (version 1 has no such field).
    let undigested_shared = StoredMessage {
        body_md5: None,
        ..shared
    };
    assert_eq!(undigested_shared.to_bytes(), old);
    let mut unknown = bytes.to_vec();
    unknown[0] = 4;
    assert!(StoredMessage::decode(&Bytes::from(unknown)).is_err());
    let id = MessageId([0xab; 16]).to_string();
    assert_eq!(id.len(), 36);
    assert_eq!(&id[8..9], "-");
    let config = QueueConfig {
        created_ms: 1,
        modified_ms: 2,
        attributes: QueueAttributes {
            redrive: Some(Redrive {
                dead_letter_queue: "d".into(),
                receive_count_max: 4,
            }),
            redrive_allow: Some(RedriveAllow::ByQueue(vec!["a".into()])),
            kms_master_key_id: Some("alias/aws/sqs".into()),
            ..QueueAttributes::default()
        },
        tags: BTreeMap::from([("k".into(), "v".into())]),
    };
    let bytes = config.to_bytes();
    assert_eq!(QueueConfig::decode(&bytes).unwrap(), config);
    for cut in 0..bytes.len() {
        assert!(QueueConfig::decode(&bytes[..cut]).is_err());
    }
}

mod model {
    //! Random sends, receives, deletes, visibility changes, clock moves and reopens against
    //! a simple model: which bodies exist, and which are in flight until when.

    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Op {
        Send(u8),
        Receive(u8),
        Delete(usize),
        Hide(usize, u8),
        Advance(u16),
        Reopen,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (1u8..4).prop_map(Op::Send),
            3 => (1u8..5).prop_map(Op::Receive),
            2 => (0usize..32).prop_map(Op::Delete),
            1 => ((0usize..32), (0u8..3)).prop_map(|(i, t)| Op::Hide(i, t)),
            2 => (0u16..40).prop_map(Op::Advance),
            1 => Just(Op::Reopen),
        ]
    }

    /// What the model knows of a message: when it is visible from, and its latest handle.
    #[derive(Clone, Debug)]
    struct Model {
        visible_from_ms: i64,
        handle: Option<String>,
    }

    async fn run(ops: Vec<Op>) {
        let dir = tempfile::tempdir().unwrap();
        let (mut queues, clock) = open(dir.path());
        let changes = AttributeChanges {
            visibility_timeout_s: Some(10),
            ..standard()
        };
        queues.create("q", &changes, BTreeMap::new()).await.unwrap();
        let mut model: BTreeMap<String, Model> = BTreeMap::new();
        // Every handle ever issued, with its body.
        let mut handles: Vec<(String, String)> = Vec::new();
        let mut next = 0u32;
        for op in ops {
            let now = clock.now_ms();
            match op {
                Op::Send(count) => {
                    let mut messages = Vec::new();
                    for _ in 0..count {
                        let body = format!("m{next}");
                        next += 1;
                        model.insert(
                            body.clone(),
                            Model {
                                visible_from_ms: now,
                                handle: None,
                            },
                        );
                        messages.push(NewMessage::body(body));
                    }
                    let outcomes = queues.send("q", messages).await.unwrap();
                    assert!(outcomes.iter().all(Result::is_ok));
                }
                Op::Receive(max) => {
                    let got = receive(&queues, "q", u32::from(max)).await;
                    let visible: Vec<&String> = model
                        .iter()
                        .filter(|(_, m)| m.visible_from_ms <= now)
                        .map(|(body, _)| body)
                        .collect();
                    assert_eq!(got.len(), visible.len().min(usize::from(max)));
                    for received in got {
                        let body = String::from_utf8(received.message.body.to_vec()).unwrap();
                        let entry = model.get_mut(&body).expect("a received message exists");
                        assert!(entry.visible_from_ms <= now, "{body} was not visible");
                        entry.visible_from_ms = now + 10_000;
                        entry.handle = Some(received.receipt_handle.clone());
                        handles.push((received.receipt_handle, body));
                    }
                }
                Op::Delete(i) => {
                    if let Some((handle, body)) = handles.get(i % handles.len().max(1)).cloned() {
                        delete(&queues, "q", &handle).await.unwrap();
                        if model
                            .get(&body)
                            .is_some_and(|m| m.handle.as_ref() == Some(&handle))
                        {
                            model.remove(&body);
                        }
                    }
                }
                Op::Hide(i, timeout) => {
                    if let Some((handle, body)) = handles.get(i % handles.len().max(1)).cloned() {
                        let outcome = queues
                            .change_visibility("q", &[(handle.clone(), u32::from(timeout))])
                            .await
                            .unwrap()
                            .remove(0);
                        let expected = model.get(&body).is_some_and(|m| {
                            m.handle.as_ref() == Some(&handle) && m.visible_from_ms > now
                        });
                        assert_eq!(outcome.is_ok(), expected, "{outcome:?}");
                        if expected && let Some(m) = model.get_mut(&body) {
                            m.visible_from_ms = now + i64::from(timeout) * 1000;
                        }
                    }
                }
                Op::Advance(seconds) => clock.advance_ms(i64::from(seconds) * 1000),
                Op::Reopen => queues = reopen(queues, dir.path(), &clock),
            }
            let now = clock.now_ms();
            let counts = counts(&queues, "q");
            let visible = model.values().filter(|m| m.visible_from_ms <= now).count();
            assert_eq!(counts.visible as usize, visible);
            assert_eq!((counts.visible + counts.in_flight) as usize, model.len());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn random_operations_match_the_model(ops in proptest::collection::vec(op(), 1..40)) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(run(ops));
        }
    }
}

mod fifo_model {
    //! Random FIFO sends, receives, deletes, clock moves and reopens: a group's messages are
    //! received oldest first, never while an earlier one is in flight, and a receive returns
    //! something whenever some group is unblocked.

    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Op {
        Send(u8),
        Receive(u8),
        Delete(usize),
        Advance(u16),
        Reopen,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u8..3).prop_map(Op::Send),
            3 => (1u8..4).prop_map(Op::Receive),
            3 => (0usize..32).prop_map(Op::Delete),
            1 => (0u16..20).prop_map(Op::Advance),
            1 => Just(Op::Reopen),
        ]
    }

    #[derive(Clone, Debug)]
    struct Message {
        body: String,
        visible_from_ms: i64,
        handle: Option<String>,
    }

    async fn run(ops: Vec<Op>) {
        let dir = tempfile::tempdir().unwrap();
        let (mut queues, clock) = open(dir.path());
        let changes = AttributeChanges {
            visibility_timeout_s: Some(10),
            ..fifo()
        };
        queues
            .create("q.fifo", &changes, BTreeMap::new())
            .await
            .unwrap();
        let mut groups: BTreeMap<String, Vec<Message>> = BTreeMap::new();
        let mut handles: Vec<(String, String, String)> = Vec::new();
        let mut next = 0u32;
        for op in ops {
            let now = clock.now_ms();
            match op {
                Op::Send(group) => {
                    let group = format!("g{group}");
                    let body = format!("m{next}");
                    next += 1;
                    let sent = send_grouped(&queues, "q.fifo", &group, &body, &body).await;
                    assert!(!sent.duplicate);
                    groups.entry(group).or_default().push(Message {
                        body,
                        visible_from_ms: now,
                        handle: None,
                    });
                }
                Op::Receive(max) => {
                    let got = receive(&queues, "q.fifo", u32::from(max)).await;
                    let unblocked: Vec<String> = groups
                        .iter()
                        .filter(|(_, m)| {
                            !m.is_empty() && m.iter().all(|m| m.visible_from_ms <= now)
                        })
                        .map(|(g, _)| g.clone())
                        .collect();
                    assert_eq!(got.is_empty(), unblocked.is_empty(), "{got:?} {groups:?}");
                    let mut per_group: BTreeMap<String, usize> = BTreeMap::new();
                    for received in got {
                        let group = received.message.group_id.clone().unwrap();
                        assert!(unblocked.contains(&group), "{group} was blocked");
                        let position = per_group.entry(group.clone()).or_default();
                        let messages = groups.get_mut(&group).unwrap();
                        let expected = &mut messages[*position];
                        let body = String::from_utf8(received.message.body.to_vec()).unwrap();
                        assert_eq!(body, expected.body, "out of order in {group}");
                        expected.visible_from_ms = now + 10_000;
                        expected.handle = Some(received.receipt_handle.clone());
                        handles.push((received.receipt_handle, group, body));
                        *position += 1;
                    }
                }
                Op::Delete(i) => {
                    if let Some((handle, group, body)) =
                        handles.get(i % handles.len().max(1)).cloned()
                    {
                        let outcome = delete(&queues, "q.fifo", &handle).await;
                        let messages = groups.get_mut(&group).unwrap();
                        match messages.iter().position(|m| m.body == body) {
                            None => assert!(outcome.is_ok(), "{outcome:?}"),
                            Some(at) if messages[at].handle.as_ref() == Some(&handle) => {
                                assert!(outcome.is_ok(), "{outcome:?}");
                                messages.remove(at);
                            }
                            Some(_) => assert!(matches!(outcome, Err(Error::ReceiptExpired))),
                        }
                    }
                }
                Op::Advance(seconds) => clock.advance_ms(i64::from(seconds) * 1000),
                Op::Reopen => queues = reopen(queues, dir.path(), &clock),
            }
            let total: usize = groups.values().map(Vec::len).sum();
            let counts = counts(&queues, "q.fifo");
            assert_eq!((counts.visible + counts.in_flight) as usize, total);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn fifo_operations_keep_group_order(ops in proptest::collection::vec(op(), 1..40)) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(run(ops));
        }
    }
}

#[tokio::test]
async fn a_fifo_record_whose_dedup_change_was_lost_is_still_deduplicated_and_then_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, clock) = open(dir.path());
    queues
        .create("q.fifo", &fifo(), BTreeMap::new())
        .await
        .unwrap();
    // What a crash between a send's acknowledged append and its id change leaves: the
    // record, and no `d/` key.
    let lost = StoredMessage {
        id: MessageId::random(),
        sent_ms: clock.now_ms(),
        visible_from_ms: clock.now_ms(),
        body_md5: None,
        group_id: Some("g".into()),
        dedup_id: Some("id-1".into()),
        trace_header: None,
        moved_from: None,
        attributes: Arc::default(),
        body: Bytes::from_static(b"one"),
        shared_body: None,
    };
    queues
        .log()
        .append(
            &format!("{STREAM_PREFIX}q.fifo"),
            0,
            vec![NewRecord {
                key: Bytes::new(),
                hash_key: None,
                attributes: Bytes::new(),
                data: lost.to_bytes(),
            }],
        )
        .await
        .unwrap();
    let queues = reopen(queues, dir.path(), &clock);
    // The retry after the crash is a duplicate of the record.
    let retry = send_grouped(&queues, "q.fifo", "g", "id-1", "one").await;
    assert!(retry.duplicate);
    assert_eq!(retry.message_id, lost.id);
    // The id reaches the state with the next change (the receive), so it outlives the
    // record's deletion and another restart.
    let got = receive(&queues, "q.fifo", 10).await;
    assert_eq!(bodies(&got), ["one"]);
    delete(&queues, "q.fifo", &got[0].receipt_handle)
        .await
        .unwrap();
    let queues = reopen(queues, dir.path(), &clock);
    assert!(
        send_grouped(&queues, "q.fifo", "g", "id-1", "one")
            .await
            .duplicate
    );
    assert!(receive(&queues, "q.fifo", 10).await.is_empty());
}

#[tokio::test]
async fn records_are_read_in_runs_in_any_order_and_missing_ones_are_none() {
    let dir = tempfile::tempdir().unwrap();
    let (queues, _clock) = open(dir.path());
    queues
        .create("q", &standard(), BTreeMap::new())
        .await
        .unwrap();
    let messages: Vec<NewMessage> = (0..600)
        .map(|i| NewMessage::body(format!("m{i}")))
        .collect();
    queues.send("q", messages).await.unwrap();
    let queue = queues.queue("q").unwrap();
    // Unsorted, repeated, far apart (more than one run) and past the end.
    let offsets = [599, 3, 3, 300, 0, 10_000, 4];
    let found: Vec<Option<String>> = queues
        .read_messages(&queue, &offsets)
        .into_iter()
        .map(|m| m.map(|m| String::from_utf8(m.body.to_vec()).unwrap()))
        .collect();
    let expected: Vec<Option<String>> = ["m599", "m3", "m3", "m300", "m0", "", "m4"]
        .iter()
        .map(|b| (!b.is_empty()).then(|| (*b).to_string()))
        .collect();
    assert_eq!(found, expected);
    assert!(queues.read_records(&queue.stream, &[]).is_empty());
}
