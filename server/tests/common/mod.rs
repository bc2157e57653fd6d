//! Shared by the server's integration tests: a `strata serve` process on free native and HTTP
//! ports.
#![allow(dead_code, clippy::unwrap_used, reason = "test support; fails loudly")]

pub mod wire;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long any single wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test if it takes longer than [`WAIT`].
pub async fn bounded<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .expect("finished within the deadline")
}

/// A running `strata serve` with its native address.
pub struct Server {
    child: Child,
    /// The native listener's address.
    pub native: SocketAddr,
    /// The AWS HTTP listener's address.
    pub http: SocketAddr,
}

impl Server {
    /// Starts the server on `dir` with `fsync = always` and waits until it listens.
    pub fn start(dir: &std::path::Path) -> Self {
        Self::start_with(dir, "")
    }

    /// As [`Self::start`], with `config` (TOML) as the server's config file.
    pub fn start_with(dir: &std::path::Path, config: &str) -> Self {
        Self::start_limited(dir, config, None)
    }

    /// As [`Self::start_with`], with soft and hard `RLIMIT_NOFILE` at `open_files` when given
    /// (through `prlimit`, as `ulimit -n` would).
    pub fn start_limited(dir: &std::path::Path, config: &str, open_files: Option<u32>) -> Self {
        let config_path = dir.with_extension("toml");
        std::fs::write(&config_path, config).unwrap();
        let mut command = match open_files {
            Some(limit) => {
                let mut command = Command::new("prlimit");
                command
                    .arg(format!("--nofile={limit}:{limit}"))
                    .arg(env!("CARGO_BIN_EXE_strata"));
                command
            }
            None => Command::new(env!("CARGO_BIN_EXE_strata")),
        };
        let mut child = command
            .args([
                "serve",
                "--native",
                "127.0.0.1:0",
                "--http",
                "127.0.0.1:0",
                "--fsync",
                "always",
                "--data-dir",
            ])
            .arg(dir)
            .arg("--config")
            .arg(&config_path)
            .env_remove("STRATA_ACCESS_KEY_ID")
            .env_remove("STRATA_SECRET_ACCESS_KEY")
            .env_remove("STRATA_NATIVE")
            .env_remove("STRATA_HTTP")
            .env_remove("STRATA_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + WAIT;
        let address_after = |line: &str, what: &str, key: &str| -> Option<SocketAddr> {
            let at = line.find(key)?;
            if !line.contains(what) {
                return None;
            }
            line[at + key.len()..]
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        };
        let (mut native, mut http) = (None, None);
        while native.is_none() || http.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines
                .recv_timeout(left)
                .expect("the server says where it listens");
            native =
                native.or_else(|| address_after(&line, "Native protocol listening", "native="));
            http = http.or_else(|| address_after(&line, "AWS HTTP API listening", "http="));
        }
        let (native, http) = (native.unwrap(), http.unwrap());
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || while lines.recv().is_ok() {});
        Self {
            child,
            native,
            http,
        }
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "clean exit after SIGTERM: {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("the server did not stop within {WAIT:?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
