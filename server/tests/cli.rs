//! The client subcommands as a user runs them: `strata stream create|list|describe|delete`,
//! `strata put` from stdin (with a fixed key, a JSON key field, or line numbers), and
//! `strata tail` from the trim horizon and from the latest record, against a running server;
//! `strata stream split|merge` and the lineage they leave; and a clear error when no server
//! is running; and a bulk `strata put --file`.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on any unexpected error"
)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Instant;

use common::{Server, WAIT};

fn strata(server: &Server, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_strata"));
    command
        .args(args)
        .arg("--addr")
        .arg(server.native.to_string())
        .env_remove("STRATA_NATIVE");
    command
}

fn run(server: &Server, args: &[&str]) -> Output {
    let output = strata(server, args).stdin(Stdio::null()).output().unwrap();
    assert!(
        output.status.success(),
        "strata {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn put(server: &Server, args: &[&str], input: &str) -> Output {
    let mut child = strata(server, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "put failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs `strata tail`, waits until it says it is following, runs `meanwhile`, and collects
/// `count` lines of its output (every wait bounded by [`WAIT`]).
fn tail(server: &Server, args: &[&str], count: usize, meanwhile: impl FnOnce()) -> Vec<String> {
    let mut child = strata(server, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = forward(child.stdout.take().unwrap());
    let notes = forward(child.stderr.take().unwrap());
    let following = notes.recv_timeout(WAIT).expect("tail says it is following");
    assert!(following.starts_with("following "), "{following}");
    meanwhile();
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    while seen.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    seen
}

fn forward(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

#[test]
fn streams_are_managed_filled_and_tailed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    let created = run(&server, &["stream", "create", "events", "--shards", "3"]);
    assert!(String::from_utf8_lossy(&created.stdout).contains("created events"));
    let listed = run(&server, &["stream", "list"]);
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), "events");
    let described =
        String::from_utf8_lossy(&run(&server, &["stream", "describe", "events"]).stdout)
            .to_string();
    assert!(described.contains("retention 24 h"), "{described}");
    assert_eq!(
        described.lines().count(),
        2 + 3,
        "header lines and one per shard:\n{described}"
    );

    let lines: Vec<String> = (0..30)
        .map(|i| format!(r#"{{"user":"u{}","n":{i}}}"#, i % 4))
        .collect();
    let output = put(
        &server,
        &["put", "events", "--key-field", "user"],
        &(lines.join("\n") + "\n"),
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("put 30 record(s)"));
    put(&server, &["put", "events", "--key", "fixed"], "a\nb\n");
    put(&server, &["put", "events"], "x\ny\nz\n");

    let mut seen = tail(
        &server,
        &["tail", "events", "--from", "trim-horizon", "--limit", "35"],
        35,
        || {},
    );
    assert_eq!(seen.len(), 35, "every record: {seen:?}");
    seen.sort();
    let mut expected: Vec<String> = lines.clone();
    expected.extend(["a", "b", "x", "y", "z"].map(String::from));
    expected.sort();
    assert_eq!(seen, expected);

    // Records of one key keep their order (same shard, appended in line order).
    let ordered = tail(
        &server,
        &["tail", "events", "--from", "trim-horizon", "--verbose"],
        35,
        || {},
    );
    let for_u1: Vec<&str> = ordered
        .iter()
        .filter(|line| line.contains(r#""user":"u1""#))
        .map(|line| line.rsplit('\t').next().unwrap())
        .collect();
    let want: Vec<&String> = lines
        .iter()
        .filter(|line| line.contains(r#""user":"u1""#))
        .collect();
    assert_eq!(for_u1.len(), want.len());
    assert!(
        for_u1
            .iter()
            .zip(&want)
            .all(|(got, want)| got == &want.as_str())
    );

    // From latest: only what is put after the tail started.
    let fresh = tail(&server, &["tail", "events", "--from", "latest"], 2, || {
        put(&server, &["put", "events"], "new-1\nnew-2\n");
    });
    let mut fresh = fresh;
    fresh.sort();
    assert_eq!(fresh, vec!["new-1".to_string(), "new-2".to_string()]);

    let deleted = run(&server, &["stream", "delete", "events"]);
    assert!(String::from_utf8_lossy(&deleted.stdout).contains("deleted events"));
    assert!(
        String::from_utf8_lossy(&run(&server, &["stream", "list"]).stdout)
            .trim()
            .is_empty()
    );
    server.stop();
}

#[test]
fn errors_are_plain_and_exit_nonzero() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let missing = strata(&server, &["stream", "describe", "nope"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("not found"),
        "{missing:?}"
    );
    let bad_from = strata(&server, &["tail", "nope", "--from", "yesterday"])
        .output()
        .unwrap();
    assert!(!bad_from.status.success());
    assert!(String::from_utf8_lossy(&bad_from.stderr).contains("--from"));
    server.stop();

    // Nothing listening there any more.
    let dir = tempfile::tempdir().unwrap();
    let gone = Server::start(dir.path());
    let address = gone.native.to_string();
    gone.stop();
    let output = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["stream", "list", "--addr", &address])
        .env_remove("STRATA_NATIVE")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is `strata serve` running?"), "{stderr}");
}

fn fails(server: &Server, args: &[&str]) -> String {
    let output = strata(server, args).stdin(Stdio::null()).output().unwrap();
    assert!(!output.status.success(), "strata {args:?} succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn shards_are_split_and_merged_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    run(&server, &["stream", "create", "resharded", "--shards", "2"]);
    put(&server, &["put", "resharded"], "one\ntwo\nthree\nfour\n");

    // By default at the middle of the shard's range: shard 0 owns 0..2^127.
    let split = run(&server, &["stream", "split", "resharded", "--shard", "0"]);
    let split = String::from_utf8_lossy(&split.stdout);
    let middle = (1u128 << 126).to_string();
    assert!(
        split.contains(&format!("at hash key {middle} into 2 and 3")),
        "{split}"
    );
    // Or where asked: shard 1 owns 2^127.., split at 2^127 + 2^126.
    let at = ((1u128 << 127) + (1u128 << 126)).to_string();
    let split = run(
        &server,
        &["stream", "split", "resharded", "--shard", "1", "--at", &at],
    );
    assert!(
        String::from_utf8_lossy(&split.stdout).contains("into 4 and 5"),
        "{split:?}"
    );
    // 3 owns 2^126..2^127 and 4 owns 2^127..2^127 + 2^126: adjacent.
    let merged = run(
        &server,
        &[
            "stream",
            "merge",
            "resharded",
            "--shard",
            "3",
            "--adjacent",
            "4",
        ],
    );
    assert!(
        String::from_utf8_lossy(&merged.stdout)
            .contains("merged shards 3 and 4 of resharded into 6"),
        "{merged:?}"
    );

    let described =
        String::from_utf8_lossy(&run(&server, &["stream", "describe", "resharded"]).stdout)
            .to_string();
    assert_eq!(described.lines().count(), 2 + 7, "{described}");
    let row = |id: &str| -> Vec<String> {
        described
            .lines()
            .skip(2)
            .map(|line| {
                line.split_whitespace()
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .find(|fields| fields[0] == id)
            .unwrap()
    };
    // shard, parent, adjacent, start, end, hash start, hash end.
    assert_eq!(&row("6")[1..3], ["3", "4"]);
    assert_eq!(row("6")[4], "-", "the child is open");
    assert_eq!(row("6")[5], middle);
    assert_ne!(row("0")[4], "-", "the parent is closed");
    assert_eq!(&row("2")[1..3], ["0", "-"]);

    // Refusals are plain.
    let closed = fails(&server, &["stream", "split", "resharded", "--shard", "0"]);
    assert!(closed.contains("closed"), "{closed}");
    let apart = fails(
        &server,
        &[
            "stream",
            "merge",
            "resharded",
            "--shard",
            "2",
            "--adjacent",
            "5",
        ],
    );
    assert!(apart.contains("not adjacent"), "{apart}");
    let missing = fails(&server, &["stream", "split", "resharded", "--shard", "42"]);
    assert!(missing.contains("no shard 42"), "{missing}");
    let bad_key = fails(
        &server,
        &["stream", "split", "resharded", "--shard", "6", "--at", "1"],
    );
    assert!(bad_key.contains("hash key"), "{bad_key}");

    // Every record is still there, before and after the reshards.
    put(&server, &["put", "resharded"], "five\nsix\n");
    let mut seen = tail(
        &server,
        &[
            "tail",
            "resharded",
            "--from",
            "trim-horizon",
            "--limit",
            "6",
        ],
        6,
        || {},
    );
    seen.sort();
    assert_eq!(seen, ["five", "four", "one", "six", "three", "two"]);
    server.stop();
}

/// A bulk load from a file: every line is acknowledged and read back, and with stderr not a
/// terminal the progress bar stays hidden, so stderr holds only the summary.
#[test]
fn a_file_is_put_in_bulk_without_progress_noise_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    run(&server, &["stream", "create", "bulk", "--shards", "2"]);
    let lines: Vec<String> = (0..5000).map(|i| format!("record-{i:05}")).collect();
    let file = dir.path().join("records.txt");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();

    let output = run(&server, &["put", "bulk", "--file", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim(), "put 5000 record(s) into bulk", "{stderr:?}");
    assert!(output.stdout.is_empty());

    let mut seen = tail(
        &server,
        &["tail", "bulk", "--from", "trim-horizon", "--limit", "5000"],
        5000,
        || {},
    );
    seen.sort();
    assert_eq!(seen, lines);
}
