//! `strata serve` as a process: it starts on a fresh data directory, says it is ready, and
//! exits 0 after SIGTERM; a bad configuration stops it before it opens anything, naming the
//! key at fault.
//!
//! Every wait is bounded, so a hung server fails the test instead of hanging the suite.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long startup may take before the test gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown (close, flush, fsync) may take.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
/// The message `strata serve` logs once the log is open.
const READY_MESSAGE: &str = "Strata is ready";

/// `strata serve` with the given arguments, isolated from the caller's `STRATA_*` variables.
fn strata(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_strata"));
    command.arg("serve").args(args);
    for var in [
        "STRATA_DATA_DIR",
        "STRATA_FSYNC",
        "STRATA_IO",
        "STRATA_HTTP",
        "STRATA_NATIVE",
        "STRATA_LOG",
    ] {
        command.env_remove(var);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Sends every line the child writes, on stdout or stderr, down one channel.
fn forward_lines(child: &mut Child) -> Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    let stdout = child
        .stdout
        .take()
        .map(|out| Box::new(out) as Box<dyn Read + Send>);
    let stderr = child
        .stderr
        .take()
        .map(|err| Box::new(err) as Box<dyn Read + Send>);
    for stream in [stdout, stderr].into_iter().flatten() {
        let sender = sender.clone();
        thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
    }
    receiver
}

/// Waits until a line containing `needle` arrives; returns everything read so far either way.
fn wait_for_line(lines: &Receiver<String>, needle: &str, timeout: Duration) -> (bool, String) {
    let deadline = Instant::now() + timeout;
    let mut seen = String::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
                if line.contains(needle) {
                    return (true, seen);
                }
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                return (false, seen);
            }
        }
    }
}

/// Waits for the child to exit; kills it and fails the test if it takes longer than `timeout`.
fn wait_for_exit(child: Child, timeout: Duration) -> ExitStatus {
    let pid = pid(&child);
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut child = child;
        let _ = sender.send(child.wait());
    });
    match receiver.recv_timeout(timeout) {
        Ok(status) => status.expect("wait for strata"),
        Err(_) => {
            let _ = kill(pid, Signal::SIGKILL);
            panic!("strata did not exit within {timeout:?}");
        }
    }
}

fn pid(child: &Child) -> Pid {
    Pid::from_raw(i32::try_from(child.id()).expect("pid fits in i32"))
}

fn collect(lines: &Receiver<String>) -> String {
    lines.iter().collect::<Vec<_>>().join("\n")
}

#[test]
fn serve_starts_on_a_fresh_data_dir_and_exits_cleanly_on_sigterm() {
    let temp = tempfile::tempdir().expect("tempdir");
    let data_dir = temp.path().join("data");
    let mut child = strata(&[
        "--data-dir",
        data_dir.to_str().expect("utf-8 temp path"),
        "--http",
        "127.0.0.1:0",
        "--native",
        "127.0.0.1:0",
    ])
    .env("STRATA_LOG", "info")
    .spawn()
    .expect("spawn strata");
    let lines = forward_lines(&mut child);

    let (ready, output) = wait_for_line(&lines, READY_MESSAGE, READY_TIMEOUT);
    if !ready {
        let _ = kill(pid(&child), Signal::SIGKILL);
        panic!("strata was not ready within {READY_TIMEOUT:?}; output:\n{output}");
    }

    kill(pid(&child), Signal::SIGTERM).expect("send SIGTERM");
    let status = wait_for_exit(child, EXIT_TIMEOUT);
    let rest = collect(&lines);
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status}; output:\n{output}{rest}"
    );
    assert!(
        rest.contains("Shutdown complete"),
        "output:\n{output}{rest}"
    );
    assert!(
        data_dir.is_dir(),
        "data dir {} was not created",
        data_dir.display()
    );
    assert!(
        data_dir.join("meta").is_dir(),
        "data dir has no meta subdirectory: {:?}",
        list(&data_dir)
    );
}

#[test]
fn unknown_config_key_stops_startup_and_is_named() {
    let temp = tempfile::tempdir().expect("tempdir");
    let config = temp.path().join("strata.toml");
    std::fs::write(&config, "[storage]\nsegment_bytes_maximum = 1024\n").expect("write config");
    let data_dir = temp.path().join("data");
    let child = strata(&[
        "--config",
        config.to_str().expect("utf-8 temp path"),
        "--data-dir",
        data_dir.to_str().expect("utf-8 temp path"),
    ])
    .spawn()
    .expect("spawn strata");

    let output = wait_with_output(child);
    assert!(!output.status.success(), "strata accepted an unknown key");
    assert!(
        output.stderr.contains("segment_bytes_maximum"),
        "stderr:\n{}",
        output.stderr
    );
    assert!(
        !data_dir.exists(),
        "strata opened the data dir despite a bad config"
    );
}

#[test]
fn bad_fsync_in_env_stops_startup_and_names_key_and_variable() {
    let temp = tempfile::tempdir().expect("tempdir");
    let data_dir = temp.path().join("data");
    let child = strata(&["--data-dir", data_dir.to_str().expect("utf-8 temp path")])
        .env("STRATA_FSYNC", "sometimes")
        .spawn()
        .expect("spawn strata");

    let output = wait_with_output(child);
    assert!(
        !output.status.success(),
        "strata accepted fsync = sometimes"
    );
    assert!(
        output.stderr.contains("storage.fsync"),
        "stderr:\n{}",
        output.stderr
    );
    assert!(
        output.stderr.contains("STRATA_FSYNC"),
        "stderr:\n{}",
        output.stderr
    );
}

struct Output {
    status: ExitStatus,
    stderr: String,
}

/// Waits (bounded) for a child that is expected to exit on its own, and reads its stderr.
fn wait_with_output(mut child: Child) -> Output {
    let mut stderr = child.stderr.take().expect("piped stderr");
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = wait_for_exit(child, EXIT_TIMEOUT);
    let stderr = reader.join().expect("stderr reader");
    Output { status, stderr }
}

fn list(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_taken_port_fails_before_the_data_dir_is_made_and_names_the_setting() {
    let temp = tempfile::tempdir().expect("tempdir");
    let data_dir = temp.path().join("data");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = taken.local_addr().expect("its address").to_string();
    let child = strata(&[
        "--data-dir",
        data_dir.to_str().expect("utf-8 temp path"),
        "--http",
        &port,
        "--native",
        "localhost:0",
    ])
    .spawn()
    .expect("spawn strata");
    let output = wait_with_output(child);
    assert_eq!(output.status.code(), Some(1), "stderr:\n{}", output.stderr);
    assert!(
        output.stderr.contains("--http / server.http") && output.stderr.contains(&port),
        "stderr:\n{}",
        output.stderr
    );
    assert!(!data_dir.exists(), "the data dir was made before the bind");
}

#[test]
fn a_data_dir_in_use_names_the_process_that_holds_it() {
    let temp = tempfile::tempdir().expect("tempdir");
    let data_dir = temp.path().join("data");
    let dir = data_dir.to_str().expect("utf-8 temp path");
    let mut first = strata(&[
        "--data-dir",
        dir,
        "--http",
        "127.0.0.1:0",
        "--native",
        "127.0.0.1:0",
    ])
    .env("STRATA_LOG", "info")
    .spawn()
    .expect("spawn strata");
    let lines = forward_lines(&mut first);
    let (ready, output) = wait_for_line(&lines, READY_MESSAGE, READY_TIMEOUT);
    if !ready {
        let _ = kill(pid(&first), Signal::SIGKILL);
        panic!("strata was not ready within {READY_TIMEOUT:?}; output:\n{output}");
    }
    let second = strata(&[
        "--data-dir",
        dir,
        "--http",
        "127.0.0.1:0",
        "--native",
        "127.0.0.1:0",
    ])
    .spawn()
    .expect("spawn strata");
    let output = wait_with_output(second);
    let holder = format!("in use by process {}", first.id());
    kill(pid(&first), Signal::SIGTERM).expect("send SIGTERM");
    let status = wait_for_exit(first, EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(0));
    assert_eq!(output.status.code(), Some(1), "stderr:\n{}", output.stderr);
    assert!(
        output.stderr.contains(&holder),
        "stderr:\n{}",
        output.stderr
    );
    assert!(
        !output.stderr.contains("invalid configuration"),
        "{}",
        output.stderr
    );
}
