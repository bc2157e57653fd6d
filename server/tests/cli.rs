//! The client subcommands as a user runs them: `strata stream create|list|describe|delete`,
//! `strata put` from stdin (with a fixed key, a JSON key field, or line numbers), and
//! `strata tail` from the trim horizon and from the latest record, against a running server;
//! and a clear error when no server is running.
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
