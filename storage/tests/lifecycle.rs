//! Behaviour around the data: retention, split/merge lineage, cursors, properties, tail
//! wake-ups, time lookups and input validation, each checked again after a reopen.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use storage::{Error, Fsync, Log, ManualClock, NewRecord, Owner, ReadLimits};

const HOUR_MS: i64 = 3_600_000;
const DAY: Duration = Duration::from_secs(86_400);

fn open(dir: &std::path::Path, clock: &Arc<ManualClock>) -> Log {
    let mut config = common::config(dir);
    config.fsync = Fsync::Always;
    Log::open_with_clock(config, clock.clone()).unwrap()
}

fn records(count: usize, size: usize) -> Vec<NewRecord> {
    (0..count)
        .map(|i| NewRecord::new(format!("k{i}"), vec![i as u8; size]))
        .collect()
}

fn segment_files(dir: &std::path::Path) -> usize {
    walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .count()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn expired_segments_are_deleted_and_reads_below_say_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000 * HOUR_MS));
    let log = open(dir.path(), &clock);
    log.create_stream("s", 1, DAY, Owner::KINESIS).unwrap();
    for _ in 0..40 {
        log.append_blocking("s", 0, records(4, 1000)).unwrap();
    }
    let before = segment_files(dir.path());
    assert!(before >= 2, "small segments roll: {before}");
    clock.advance_ms(25 * HOUR_MS);
    let ack = log.append_blocking("s", 0, records(1, 10)).unwrap();
    assert_eq!(ack.first_offset, 160);
    let deleted = log.enforce_retention().unwrap();
    assert!(
        deleted >= 2,
        "every segment of the old records expired: {deleted}"
    );
    let bounds = log.shard_bounds("s", 0).unwrap();
    assert_eq!(bounds.earliest, 160, "only the new segment is left");
    match log.read("s", 0, 3, ReadLimits::default()) {
        Err(Error::Trimmed {
            requested: 3,
            earliest: 160,
        }) => {}
        other => panic!("expected Trimmed, got {other:?}"),
    }
    let batch = log.read("s", 0, 160, ReadLimits::default()).unwrap();
    assert_eq!(batch.records.len(), 1);
    log.close().unwrap();
    drop(log);

    let log = open(dir.path(), &clock);
    assert_eq!(log.shard_bounds("s", 0).unwrap().earliest, 160);
    assert!(matches!(
        log.read("s", 0, 0, ReadLimits::default()),
        Err(Error::Trimmed { .. })
    ));
    assert_eq!(
        log.append_blocking("s", 0, records(1, 1))
            .unwrap()
            .first_offset,
        161
    );
}

#[test]
fn retention_is_any_positive_duration_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let log = open(dir.path(), &clock);
    // Bounds are the views'; the engine refuses only a stream that keeps nothing.
    assert!(matches!(
        log.create_stream("zero", 1, Duration::ZERO, Owner::KINESIS),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        log.create_stream("sub-ms", 1, Duration::from_micros(999), Owner::KINESIS),
        Err(Error::InvalidArgument(_))
    ));
    log.create_stream("short", 1, Duration::from_secs(3600), Owner::KINESIS)
        .unwrap();
    log.create_stream("s", 1, DAY, Owner::KINESIS).unwrap();
    assert!(matches!(
        log.set_retention("s", Duration::ZERO),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        log.set_retention("nope", DAY),
        Err(Error::StreamNotFound(_))
    ));
    log.set_retention("s", DAY * 366).unwrap();
    log.set_retention("s", Duration::from_secs(60)).unwrap();
    log.set_retention("s", DAY * 7).unwrap();
    log.close().unwrap();
    drop(log);
    let log = open(dir.path(), &clock);
    assert_eq!(log.stream("s").unwrap().retention, DAY * 7);
    assert_eq!(
        log.stream("short").unwrap().retention,
        Duration::from_secs(3600)
    );
}

#[test]
fn owners_are_recorded_reported_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let log = open(dir.path(), &clock);
    let sqs = Owner::new("sqs").unwrap();
    let made = log
        .create_stream("firehose:ds", 1, DAY, Owner::FIREHOSE)
        .unwrap();
    assert_eq!(made.owner, Owner::FIREHOSE);
    log.create_stream("k", 2, DAY, Owner::KINESIS).unwrap();
    // The engine treats the tag as opaque: the name implies nothing once an owner is given.
    log.create_stream("firehose:q", 1, DAY, sqs.clone())
        .unwrap();
    log.set_retention("firehose:q", DAY * 2).unwrap();
    let owners = |log: &Log| {
        log.list_streams()
            .into_iter()
            .map(|info| (info.name, info.owner))
            .collect::<Vec<_>>()
    };
    let expected = vec![
        ("firehose:ds".to_string(), Owner::FIREHOSE),
        ("firehose:q".to_string(), sqs.clone()),
        ("k".to_string(), Owner::KINESIS),
    ];
    assert_eq!(owners(&log), expected);
    log.close().unwrap();
    drop(log);
    let log = open(dir.path(), &clock);
    assert_eq!(owners(&log), expected);
    assert_eq!(log.stream("firehose:q").unwrap().owner, sqs);
}

#[test]
fn retention_keeps_segments_younger_than_the_period() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000 * HOUR_MS));
    let log = open(dir.path(), &clock);
    log.create_stream("s", 1, DAY * 2, Owner::KINESIS).unwrap();
    for _ in 0..40 {
        log.append_blocking("s", 0, records(4, 1000)).unwrap();
    }
    clock.advance_ms(25 * HOUR_MS);
    assert_eq!(log.enforce_retention().unwrap(), 0);
    assert_eq!(log.shard_bounds("s", 0).unwrap().earliest, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_and_merge_record_lineage_that_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000));
    let log = open(dir.path(), &clock);
    let info = log.create_stream("s", 2, DAY, Owner::KINESIS).unwrap();
    assert_eq!(info.shards[0].hash_start, 0);
    assert_eq!(info.shards[1].hash_end, u128::MAX);
    assert_eq!(info.shards[0].hash_end + 1, info.shards[1].hash_start);
    log.append("s", 0, records(5, 10)).await.unwrap();

    let middle = info.shards[0].hash_end / 2;
    assert!(matches!(
        log.split_shard("s", 0, 0).await,
        Err(Error::InvalidArgument(_))
    ));
    let [lower, upper] = log.split_shard("s", 0, middle).await.unwrap();
    assert_eq!((lower, upper), (2, 3));
    assert!(matches!(
        log.append("s", 0, records(1, 1)).await,
        Err(Error::ShardClosed {
            ending_offset: 5,
            ..
        })
    ));
    let ack = log.append("s", lower, records(2, 1)).await.unwrap();
    assert_eq!(
        ack.first_offset, 5,
        "children continue after the parent's offsets"
    );

    assert!(matches!(
        log.merge_shards("s", 1, lower).await,
        Err(Error::InvalidArgument(_))
    ));
    let merged = log.merge_shards("s", lower, upper).await.unwrap();
    assert_eq!(merged, 4);
    log.append("s", merged, records(1, 1)).await.unwrap();

    let expected = log.stream("s").unwrap();
    let shard = |id: u32| expected.shard(id).unwrap().clone();
    assert_eq!(shard(0).ending_offset, Some(5));
    assert_eq!((shard(2).parent, shard(2).hash_end), (Some(0), middle - 1));
    assert_eq!((shard(3).parent, shard(3).hash_start), (Some(0), middle));
    assert_eq!(
        (shard(4).parent, shard(4).adjacent_parent),
        (Some(2), Some(3))
    );
    assert_eq!(
        (shard(4).hash_start, shard(4).hash_end),
        (0, info.shards[0].hash_end)
    );
    assert_eq!(shard(4).starting_offset, 7);
    assert_eq!(expected.shard_for_hash(1).map(|s| s.id), Some(4));
    let log_clone = log.clone();
    tokio::task::spawn_blocking(move || log_clone.close())
        .await
        .unwrap()
        .unwrap();
    drop(log);

    let log = open(dir.path(), &clock);
    assert_eq!(log.stream("s").unwrap(), expected);
    let parent = log.read("s", 0, 0, ReadLimits::default()).unwrap();
    assert_eq!(
        parent.records.len(),
        5,
        "a closed parent stays readable to its end"
    );
    assert_eq!(log.shard_bounds("s", 0).unwrap().ending, Some(5));
    assert!(matches!(
        log.append("s", 2, records(1, 1)).await,
        Err(Error::ShardClosed { .. })
    ));
    assert_eq!(
        log.append("s", 4, records(1, 1))
            .await
            .unwrap()
            .first_offset,
        8
    );
    let log_clone = log.clone();
    tokio::task::spawn_blocking(move || log_clone.close())
        .await
        .unwrap()
        .unwrap();
}

#[test]
fn cursors_and_properties_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let log = open(dir.path(), &clock);
    log.create_stream("s", 2, DAY, Owner::KINESIS).unwrap();
    log.create_stream("t", 1, DAY, Owner::KINESIS).unwrap();
    log.commit_cursor("sink", "s", 0, 10).unwrap();
    log.commit_cursor("sink", "s", 1, 3).unwrap();
    log.commit_cursor("sink", "s", 0, 12).unwrap();
    log.commit_cursor("other", "t", 0, 1).unwrap();
    assert!(matches!(
        log.commit_cursor("sink", "s", 9, 1),
        Err(Error::ShardNotFound { .. })
    ));
    assert!(matches!(
        log.commit_cursor("sink", "zz", 0, 1),
        Err(Error::StreamNotFound(_))
    ));
    log.put_property("tags", "s", b"env=prod".to_vec()).unwrap();
    log.put_property("tags", "t", b"x".to_vec()).unwrap();
    log.delete_property("tags", "t").unwrap();
    log.close().unwrap();
    drop(log);

    let log = open(dir.path(), &clock);
    assert_eq!(log.cursor("sink", "s", 0), Some(12));
    assert_eq!(log.cursor("sink", "s", 1), Some(3));
    assert_eq!(log.cursors("sink").len(), 2);
    assert_eq!(log.property("tags", "s").as_deref(), Some(&b"env=prod"[..]));
    assert_eq!(log.property("tags", "t"), None);
    log.delete_stream("t").unwrap();
    assert_eq!(
        log.cursor("other", "t", 0),
        None,
        "deleting a stream drops its cursors"
    );
    log.delete_cursors("sink").unwrap();
    assert!(log.cursors("sink").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_waiting_at_the_tail_is_woken_by_an_append() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let log = open(dir.path(), &clock);
    log.create_stream("s", 1, DAY, Owner::KINESIS).unwrap();
    assert!(
        !log.wait_for("s", 0, 0, Duration::from_millis(50))
            .await
            .unwrap(),
        "nothing yet"
    );
    let waiter = {
        let log = log.clone();
        tokio::spawn(async move { log.wait_for("s", 0, 0, Duration::from_secs(10)).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = std::time::Instant::now();
    log.append("s", 0, records(1, 1)).await.unwrap();
    assert!(waiter.await.unwrap().unwrap());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "woken by the append, not the timeout"
    );
    assert!(
        log.wait_for("s", 0, 0, Duration::from_millis(1))
            .await
            .unwrap(),
        "data already there"
    );
}

#[test]
fn timestamps_find_the_first_record_at_or_after() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(10_000));
    let log = open(dir.path(), &clock);
    log.create_stream("s", 1, DAY, Owner::KINESIS).unwrap();
    for step in 0..30 {
        log.append_blocking("s", 0, records(10, 300)).unwrap();
        clock.advance_ms(if step == 14 { 1_000 } else { 10 });
    }
    // Append k (10 records each) arrived at 10_000 + 10k, plus 990 ms for k >= 15.
    let at = |k: i64| 10_000 + 10 * k + if k >= 15 { 990 } else { 0 };
    assert_eq!(log.offset_for_timestamp("s", 0, 0).unwrap(), 0);
    assert_eq!(log.offset_for_timestamp("s", 0, at(7)).unwrap(), 70);
    assert_eq!(log.offset_for_timestamp("s", 0, at(7) + 1).unwrap(), 80);
    assert_eq!(log.offset_for_timestamp("s", 0, at(14) + 500).unwrap(), 150);
    assert_eq!(
        log.offset_for_timestamp("s", 0, at(29) + 1).unwrap(),
        300,
        "past the end"
    );
    let records = log
        .read(
            "s",
            0,
            150,
            ReadLimits {
                records_max: 1,
                bytes_max: 1,
            },
        )
        .unwrap();
    assert_eq!(records.records[0].timestamp_ms, at(15));
    log.close().unwrap();
    drop(log);
    let log = open(dir.path(), &clock);
    assert_eq!(log.offset_for_timestamp("s", 0, at(22)).unwrap(), 220);
}

#[test]
fn bad_input_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let log = open(dir.path(), &clock);
    log.create_stream("s", 1, DAY, Owner::KINESIS).unwrap();
    assert!(matches!(
        log.create_stream("s", 1, DAY, Owner::KINESIS),
        Err(Error::StreamExists(_))
    ));
    assert!(matches!(
        log.create_stream("z", 0, DAY, Owner::KINESIS),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        log.create_stream("a/b", 1, DAY, Owner::KINESIS),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        log.append_blocking("s", 0, vec![]),
        Err(Error::InvalidArgument(_))
    ));
    // Keys are optional to the engine (records addressed to a shard); views enforce their own.
    let empty_key = NewRecord::new("", "x");
    assert_eq!(
        log.append_blocking("s", 0, vec![empty_key])
            .unwrap()
            .first_offset,
        0
    );
    let long_key = NewRecord::new(vec![b'k'; 1025], "x");
    assert!(matches!(
        log.append_blocking("s", 0, vec![long_key]),
        Err(Error::InvalidArgument(_))
    ));
    let max_key = NewRecord::new(vec![b'k'; 1024], "x");
    assert_eq!(
        log.append_blocking("s", 0, vec![max_key])
            .unwrap()
            .first_offset,
        1
    );
    let big = NewRecord::new("k", vec![0u8; 1024 * 1024 + 1]);
    assert!(matches!(
        log.append_blocking("s", 0, vec![big]),
        Err(Error::RecordTooLarge { .. })
    ));
    let exact = NewRecord::new("k", vec![7u8; 1024 * 1024]);
    assert_eq!(
        log.append_blocking("s", 0, vec![exact])
            .unwrap()
            .first_offset,
        2
    );
    assert!(matches!(
        log.append_blocking("s", 5, records(1, 1)),
        Err(Error::ShardNotFound { .. })
    ));
    assert!(matches!(
        log.append_blocking("nope", 0, records(1, 1)),
        Err(Error::StreamNotFound(_))
    ));
    assert!(matches!(
        log.read("s", 0, 99, ReadLimits::default()),
        Err(Error::OffsetBeyondEnd { .. })
    ));
    let big_read = log
        .read(
            "s",
            0,
            2,
            ReadLimits {
                records_max: 10,
                bytes_max: 10,
            },
        )
        .unwrap();
    assert_eq!(
        big_read.records.len(),
        1,
        "one record even when it alone exceeds bytes_max"
    );
    assert_eq!(big_read.records[0].data.len(), 1024 * 1024);
}

#[test]
fn a_data_directory_is_opened_by_one_log_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let log = open(dir.path(), &clock);
    let mut config = common::config(dir.path());
    config.fsync = Fsync::Always;
    let error = Log::open(config).err().expect("the directory is locked");
    assert!(
        matches!(&error, Error::DirectoryInUse { pid: Some(pid), .. } if *pid == std::process::id()),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains(&format!("in use by process {}", std::process::id())),
        "{error}"
    );
    log.close().unwrap();
    // Once closed, it opens again (the lock file stays; the lock does not).
    drop(log);
    open(dir.path(), &clock).close().unwrap();
}

#[test]
fn deleted_streams_leave_no_files_and_names_can_be_reused() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let log = open(dir.path(), &clock);
    log.create_stream("s", 2, DAY, Owner::KINESIS).unwrap();
    log.append_blocking("s", 1, records(3, 10)).unwrap();
    log.delete_stream("s").unwrap();
    assert!(matches!(
        log.delete_stream("s"),
        Err(Error::StreamNotFound(_))
    ));
    assert_eq!(segment_files(dir.path()), 0);
    let again = log.create_stream("s", 1, DAY, Owner::KINESIS).unwrap();
    assert_eq!(again.id, 1, "stream ids are never reused");
    assert!(
        log.read("s", 0, 0, ReadLimits::default())
            .unwrap()
            .records
            .is_empty()
    );
    log.close().unwrap();
    drop(log);
    let log = open(dir.path(), &clock);
    assert_eq!(log.list_streams().len(), 1);
}

#[test]
fn closed_log_refuses_appends() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(0));
    let log = open(dir.path(), &clock);
    log.create_stream("s", 1, DAY, Owner::KINESIS).unwrap();
    log.close().unwrap();
    assert!(matches!(
        log.append_blocking("s", 0, records(1, 1)),
        Err(Error::Closed)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interval_fsync_syncs_under_sustained_load_and_groups_commits() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.segment_bytes_max = 64 * 1024 * 1024;
    config.fsync = Fsync::Interval(Duration::from_millis(2));
    let log = Log::open(config).unwrap();
    log.create_stream("s", 1, DAY, Owner::KINESIS).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_millis(300);
    let producers: Vec<_> = (0..8)
        .map(|_| {
            let log = log.clone();
            tokio::spawn(async move {
                while std::time::Instant::now() < deadline {
                    log.append("s", 0, records(4, 100)).await.unwrap();
                }
            })
        })
        .collect();
    for producer in producers {
        producer.await.unwrap();
    }
    let counters = log.commit_counters();
    assert!(counters.appends > 0);
    assert!(
        counters.syncs >= 2,
        "the interval forces syncs while the queue is busy: {counters:?}"
    );
    assert!(counters.rounds <= counters.appends);
    let log_clone = log.clone();
    tokio::task::spawn_blocking(move || log_clone.close())
        .await
        .unwrap()
        .unwrap();
}

/// Disk held by a file, in bytes.
fn held_bytes(path: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().blocks() * 512
}

#[test]
fn sealed_segments_hold_no_more_disk_than_their_data() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let log = open(dir.path(), &clock);
    log.create_stream("s", 1, DAY, Owner::KINESIS).unwrap();
    // 64 KiB segments in files of 64 KiB + 2 MiB (room for one maximal batch), allocated
    // ahead of the writer.
    for _ in 0..40 {
        log.append_blocking("s", 0, records(4, 4096)).unwrap();
    }
    let mut logs: Vec<_> = walk(dir.path())
        .into_iter()
        .filter(|path| path.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    let (active, sealed) = logs.split_last().unwrap();
    assert!(sealed.len() >= 5, "{} sealed segments", sealed.len());
    // A sealed segment holds its ~80 KiB of data; the active one its allocated step.
    for path in sealed {
        let held = held_bytes(path);
        assert!(held <= 96 * 1024, "{} holds {held} bytes", path.display());
    }
    assert!(
        held_bytes(active) > 1024 * 1024,
        "the active segment is allocated ahead"
    );
    log.close().unwrap();

    // A segment sealed just before a crash may still hold its tail: the next open gives it
    // back, and the data is untouched.
    let first = &sealed[0];
    let file = std::fs::OpenOptions::new().write(true).open(first).unwrap();
    file.write_all_at(&vec![0; 1024 * 1024], 1024 * 1024)
        .unwrap();
    file.sync_all().unwrap();
    drop(file);
    assert!(held_bytes(first) > 1024 * 1024);
    let log = open(dir.path(), &clock);
    assert!(held_bytes(first) <= 96 * 1024, "reopen released the tail");
    let mut next = 0u64;
    while next < 160 {
        let batch = log.read("s", 0, next, ReadLimits::default()).unwrap();
        for record in &batch.records {
            assert_eq!(record.offset, next);
            assert_eq!(record.data.len(), 4096);
            next += 1;
        }
    }
    log.close().unwrap();
}
