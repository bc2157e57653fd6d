//! Servers a benchmark starts itself and stops at the end: `strata serve` (found next to the
//! `strata-bench` executable) and `redis-server`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::storage::BoxError;

/// How long a spawned server gets to come up, and to stop.
const WAIT: Duration = Duration::from_secs(15);

/// A child process stopped with SIGTERM by [`Process::stop`], killed if dropped running.
struct Process {
    child: Child,
    name: &'static str,
}

impl Process {
    fn stop(mut self) -> Result<(), BoxError> {
        let pid = Pid::from_raw(i32::try_from(self.child.id())?);
        kill(pid, Signal::SIGTERM)?;
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    eprintln!("{} exited with {status} after SIGTERM", self.name);
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("{} did not stop within {WAIT:?} of SIGTERM", self.name).into())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A running `strata serve`.
pub struct StrataServer {
    process: Process,
    /// Where its native protocol listens.
    pub native: SocketAddr,
}

/// The `strata` binary next to this executable.
pub fn strata_binary() -> Result<PathBuf, BoxError> {
    let path = std::env::current_exe()?.with_file_name("strata");
    if !path.exists() {
        return Err(format!(
            "--spawn-server needs the strata binary at {} (build it with `cargo build --bins`)",
            path.display()
        )
        .into());
    }
    Ok(path)
}

impl StrataServer {
    /// Starts `strata serve` on `data_dir` with `fsync`, listening on free loopback ports, and
    /// waits until it says where its native protocol listens.
    pub fn start(data_dir: &Path, fsync: &str) -> Result<Self, BoxError> {
        let mut child = Command::new(strata_binary()?)
            .args(["serve", "--native", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .args(["--fsync", fsync, "--data-dir"])
            .arg(data_dir)
            .env_remove("STRATA_NATIVE")
            .env_remove("STRATA_HTTP")
            .env_remove("STRATA_LOG")
            .env_remove("STRATA_FSYNC")
            .env_remove("STRATA_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting strata serve: {e}"))?;
        let stderr = child.stderr.take().ok_or("no stderr pipe")?;
        let process = Process {
            child,
            name: "strata serve",
        };
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Once the address is found nobody listens; keep draining the pipe anyway.
                let _ = sender.send(line);
            }
        });
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        let native = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines.recv_timeout(left).map_err(|_| {
                format!(
                    "strata serve did not report its native address within {WAIT:?}; it said:\n{}",
                    seen.join("\n")
                )
            })?;
            if line.contains("Native protocol listening")
                && let Some(at) = line.find("native=")
            {
                let address = line[at + "native=".len()..]
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .trim_matches('"');
                break address
                    .parse()
                    .map_err(|e| format!("bad native address {address:?}: {e}"))?;
            }
            seen.push(line);
        };
        Ok(Self { process, native })
    }

    /// Sends SIGTERM and waits for the server to exit.
    pub fn stop(self) -> Result<(), BoxError> {
        self.process.stop()
    }
}

/// A running `redis-server`.
pub struct RedisServer {
    process: Process,
    pub addr: SocketAddr,
}

/// A loopback port nobody listens on right now.
fn free_port() -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Whether the server at `addr` answers `PING`.
fn pings(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"*1\r\n$4\r\nPING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

impl RedisServer {
    /// Starts `redis-server` on a free loopback port with an append-only file fsynced every
    /// second in `dir`, and waits until it answers `PING`.
    pub fn start(dir: &Path) -> Result<Self, BoxError> {
        let port = free_port()?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--appendonly", "yes", "--appendfsync", "everysec"])
            .arg("--dir")
            .arg(dir)
            .args(["--save", ""])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| -> BoxError {
                if e.kind() == std::io::ErrorKind::NotFound {
                    "redis-server is not installed (try `apt-get install redis-server`)".into()
                } else {
                    format!("starting redis-server: {e}").into()
                }
            })?;
        let mut process = Process {
            child,
            name: "redis-server",
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + WAIT;
        while !pings(addr) {
            if let Some(status) = process.child.try_wait()? {
                return Err(format!("redis-server exited at start: {status}").into());
            }
            if Instant::now() >= deadline {
                return Err(format!("redis-server did not answer PING within {WAIT:?}").into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self { process, addr })
    }

    /// Sends SIGTERM and waits for the server to exit.
    pub fn stop(self) -> Result<(), BoxError> {
        self.process.stop()
    }
}
