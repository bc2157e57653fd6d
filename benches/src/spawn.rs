//! Servers a benchmark starts itself and stops at the end: `strata serve` (found next to the
//! `strata-bench` executable), `redis-server`, `nats-server` (JetStream on file storage),
//! kinesalite (installed with npm into a cache directory on first use, run with node), and
//! moto's server (installed with pip into a virtual environment in the same cache on first
//! use).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::ExitStatusExt;
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
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(self) -> Result<(), BoxError> {
        self.stop_with(Signal::SIGTERM)
    }

    /// Sends `signal` and waits for the process to exit.
    fn stop_with(mut self, signal: Signal) -> Result<(), BoxError> {
        let pid = Pid::from_raw(i32::try_from(self.child.id())?);
        kill(pid, signal)?;
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                // Dying of the signal just sent is stopping as asked.
                let terminated = status.signal() == Some(signal as i32);
                if !status.success() && !terminated {
                    eprintln!("{} exited with {status} after {signal}", self.name);
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("{} did not stop within {WAIT:?} of {signal}", self.name).into())
    }

    /// Polls `ready` every 50 ms for up to [`WAIT`]. Fails if the process exits first (its
    /// error then ends with what `said` returns, its log say) or if the time runs out
    /// (`awaited` says what was waited for: "listen", "answer PING").
    fn wait_until(
        &mut self,
        awaited: &str,
        mut ready: impl FnMut() -> bool,
        said: impl Fn() -> String,
    ) -> Result<(), BoxError> {
        let deadline = Instant::now() + WAIT;
        while !ready() {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("{} exited at start: {status}{}", self.name, said()).into());
            }
            if Instant::now() >= deadline {
                return Err(format!("{} did not {awaited} within {WAIT:?}", self.name).into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

/// Whether something listens at `addr`.
fn listens(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
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
    /// Where its AWS HTTP API listens.
    pub http: SocketAddr,
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
    /// waits until it says where its native protocol and its HTTP API listen. No `STRATA_*`
    /// variable of this environment reaches it, so it runs on its defaults and these flags.
    pub fn start(data_dir: &Path, fsync: &str) -> Result<Self, BoxError> {
        Self::start_with_config(data_dir, fsync, None)
    }

    /// [`StrataServer::start`] with a configuration file (`--config`) under the flags.
    pub fn start_with_config(
        data_dir: &Path,
        fsync: &str,
        config: Option<&Path>,
    ) -> Result<Self, BoxError> {
        let mut command = Command::new(strata_binary()?);
        command
            .args(["serve", "--native", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .args(["--fsync", fsync, "--data-dir"])
            .arg(data_dir);
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("STRATA_") {
                command.env_remove(name);
            }
        }
        let mut child = command
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
        let (mut native, mut http) = (None, None);
        while native.is_none() || http.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines.recv_timeout(left).map_err(|_| {
                format!(
                    "strata serve did not report its addresses within {WAIT:?}; it said:\n{}",
                    seen.join("\n")
                )
            })?;
            if line.contains("Native protocol listening") {
                native = Some(logged_address(&line, "native=")?);
            } else if line.contains("AWS HTTP API listening") {
                http = Some(logged_address(&line, "http=")?);
            }
            seen.push(line);
        }
        match (native, http) {
            (Some(native), Some(http)) => Ok(Self {
                process,
                native,
                http,
            }),
            _ => Err("strata serve did not report its addresses".into()),
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Sends SIGTERM and waits for the server to exit.
    pub fn stop(self) -> Result<(), BoxError> {
        self.process.stop()
    }
}

/// The address after `field` (`native=`, `http=`) in a log line of `strata serve`.
fn logged_address(line: &str, field: &str) -> Result<SocketAddr, BoxError> {
    let at = line
        .find(field)
        .ok_or_else(|| format!("no {field} in {line:?}"))?;
    let address = line[at + field.len()..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_matches('"');
    Ok(address
        .parse()
        .map_err(|e| format!("bad address {address:?} after {field}: {e}"))?)
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
        process.wait_until("answer PING", || pings(addr), String::new)?;
        Ok(Self { process, addr })
    }

    /// Sends SIGTERM and waits for the server to exit.
    pub fn stop(self) -> Result<(), BoxError> {
        self.process.stop()
    }
}

/// How often a spawned nats-server fsyncs its JetStream files when it can be told
/// (`sync_interval`, nats-server 2.10 on): Strata's default, `fsync = interval:5`.
pub const NATS_SYNC_INTERVAL: Duration = Duration::from_millis(5);

/// The first nats-server release that takes `sync_interval` in its `jetstream` block; 2.9
/// rejects the field and always fsyncs a stream's files every 2 minutes.
const NATS_SYNC_INTERVAL_SINCE: (u32, u32) = (2, 10);

/// A running `nats-server` with JetStream on file storage.
pub struct NatsServer {
    process: Process,
    pub addr: SocketAddr,
    /// Its release, as `nats-server --version` says it (`2.9.10`).
    pub version: String,
    /// The `sync_interval` it was started with; `None` where the release has none, so it
    /// fsyncs on its own 2-minute timer.
    pub sync_interval: Option<Duration>,
}

/// The `(major, minor, patch)` in `nats-server --version` output (`nats-server: v2.9.10`).
pub fn parse_nats_version(output: &str) -> Option<(u32, u32, u32)> {
    let number = output.split_whitespace().find_map(|word| {
        word.strip_prefix('v')
            .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    })?;
    let mut parts = number
        .split(|c: char| !c.is_ascii_digit())
        .map(str::parse::<u32>);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor)), Some(Ok(patch))) => Some((major, minor, patch)),
        _ => None,
    }
}

/// The `sync_interval` to configure on a release: [`NATS_SYNC_INTERVAL`] from 2.10 on, none
/// before.
pub fn nats_sync_interval(version: (u32, u32, u32)) -> Option<Duration> {
    ((version.0, version.1) >= NATS_SYNC_INTERVAL_SINCE).then_some(NATS_SYNC_INTERVAL)
}

/// The configuration file of a spawned nats-server: client port `port` on 127.0.0.1 only,
/// JetStream storing in `store_dir`, fsyncing every `sync_interval` when given. Fails on a
/// path this file format cannot quote plainly (a `"`, a `\`, a control character, not UTF-8).
pub fn nats_config(
    port: u16,
    store_dir: &Path,
    sync_interval: Option<Duration>,
) -> Result<String, BoxError> {
    let dir = store_dir
        .to_str()
        .filter(|dir| !dir.contains(['"', '\\']) && !dir.contains(char::is_control))
        .ok_or_else(|| {
            format!(
                "cannot write {} into a nats-server configuration file",
                store_dir.display()
            )
        })?;
    let sync = sync_interval.map_or(String::new(), |interval| {
        format!("  sync_interval: \"{}ms\"\n", interval.as_millis())
    });
    Ok(format!(
        "# strata-bench nats: one run's server.\n\
         listen: \"127.0.0.1:{port}\"\n\
         jetstream {{\n  store_dir: \"{dir}\"\n{sync}}}\n"
    ))
}

/// Whether the server at `addr` greets with an `INFO` line saying JetStream is on.
fn nats_ready(addr: SocketAddr) -> bool {
    let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut line = String::new();
    // The greeting is one line of at most a few KiB.
    let read = BufReader::new(stream.take(64 * 1024)).read_line(&mut line);
    read.is_ok() && line.starts_with("INFO ") && line.contains("\"jetstream\":true")
}

/// `nats-server --version`, parsed.
fn nats_version() -> Result<(String, (u32, u32, u32)), BoxError> {
    let output = Command::new("nats-server")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| -> BoxError {
            if e.kind() == std::io::ErrorKind::NotFound {
                "nats-server is not installed (try `apt-get install nats-server`)".into()
            } else {
                format!("running nats-server --version: {e}").into()
            }
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = parse_nats_version(&text)
        .ok_or_else(|| format!("unexpected `nats-server --version` output {text:?}"))?;
    let (major, minor, patch) = version;
    Ok((format!("{major}.{minor}.{patch}"), version))
}

impl NatsServer {
    /// Starts `nats-server -js` on a free loopback port with file storage in `dir` (its
    /// configuration file and log go there too), fsyncing every [`NATS_SYNC_INTERVAL`]
    /// where the release allows, and waits until it greets with JetStream on.
    pub fn start(dir: &Path) -> Result<Self, BoxError> {
        let (version, number) = nats_version()?;
        let sync_interval = nats_sync_interval(number);
        let port = free_port()?;
        let store_dir = dir.join("jetstream");
        let config = dir.join("nats-server.conf");
        std::fs::write(&config, nats_config(port, &store_dir, sync_interval)?)?;
        let log_path = dir.join("nats-server.log");
        let log = std::fs::File::create(&log_path)?;
        let child = Command::new("nats-server")
            .arg("-js")
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting nats-server: {e}"))?;
        let mut process = Process {
            child,
            name: "nats-server",
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        process.wait_until(
            "greet with JetStream on",
            || nats_ready(addr),
            || {
                let said = std::fs::read_to_string(&log_path).unwrap_or_default();
                format!("; it said:\n{said}")
            },
        )?;
        Ok(Self {
            process,
            addr,
            version,
            sync_interval,
        })
    }

    /// Sends SIGINT and waits for the server to exit. (It shuts down the same way on SIGTERM,
    /// but then exits with status 1.)
    pub fn stop(self) -> Result<(), BoxError> {
        self.process.stop_with(Signal::SIGINT)
    }
}

/// The kinesalite release the comparison runs against (pinned, so runs stay comparable).
const KINESALITE_PACKAGE: &str = "kinesalite@3.3.3";

/// Where kinesalite is installed: `$XDG_CACHE_HOME/strata-bench/kinesalite`, else
/// `$HOME/.cache/strata-bench/kinesalite`; outside the repository, kept between runs.
pub fn kinesalite_dir() -> Result<PathBuf, BoxError> {
    cache_dir("kinesalite")
}

/// `$XDG_CACHE_HOME/strata-bench/<name>`, else `$HOME/.cache/strata-bench/<name>`.
fn cache_dir(name: &str) -> Result<PathBuf, BoxError> {
    let cache = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .map(|home| PathBuf::from(home).join(".cache"))
            .ok_or_else(|| {
                format!("neither XDG_CACHE_HOME nor HOME is set: nowhere to install {name}")
            })?,
    };
    Ok(cache.join("strata-bench").join(name))
}

/// The kinesalite command-line entry point under `dir`, installed with
/// `npm install --no-save` first if it is missing.
fn kinesalite_cli(dir: &Path) -> Result<PathBuf, BoxError> {
    let cli = dir.join("node_modules/kinesalite/cli.js");
    if cli.exists() {
        return Ok(cli);
    }
    std::fs::create_dir_all(dir)?;
    eprintln!("installing {KINESALITE_PACKAGE} into {} ...", dir.display());
    let status = Command::new("npm")
        .args([
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--prefix",
        ])
        .arg(dir)
        .arg(KINESALITE_PACKAGE)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .map_err(|e| -> BoxError {
            if e.kind() == std::io::ErrorKind::NotFound {
                "npm is not installed (try `apt-get install nodejs npm`)".into()
            } else {
                format!("running npm: {e}").into()
            }
        })?;
    if !status.success() || !cli.exists() {
        return Err(format!("npm install {KINESALITE_PACKAGE} failed ({status})").into());
    }
    Ok(cli)
}

/// A running kinesalite (in memory).
pub struct KinesaliteServer {
    process: Process,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl KinesaliteServer {
    /// Installs kinesalite if needed, starts it in memory on a free loopback port with
    /// instant stream state changes and a shard limit of 100, and waits until it accepts
    /// connections.
    pub fn start() -> Result<Self, BoxError> {
        let cli = kinesalite_cli(&kinesalite_dir()?)?;
        let port = free_port()?;
        let child = Command::new("node")
            .arg(&cli)
            .args(["--port", &port.to_string()])
            .args(["--createStreamMs", "0", "--deleteStreamMs", "0"])
            .args(["--updateStreamMs", "0", "--shardLimit", "100"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| -> BoxError {
                if e.kind() == std::io::ErrorKind::NotFound {
                    "node is not installed (try `apt-get install nodejs`)".into()
                } else {
                    format!("starting kinesalite: {e}").into()
                }
            })?;
        let mut process = Process {
            child,
            name: "kinesalite",
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        process.wait_until("listen", || listens(addr), String::new)?;
        Ok(Self { process, addr })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Sends SIGTERM and waits for the server to exit.
    pub fn stop(self) -> Result<(), BoxError> {
        self.process.stop()
    }
}

/// The moto release installed on first use (pinned, so runs stay comparable).
const MOTO_PACKAGE: &str = "moto[server]==5.2.5";

/// Where moto's server is installed on first use: a virtual environment in
/// `$XDG_CACHE_HOME/strata-bench/moto` (else `$HOME/.cache/...`), kept between runs.
pub fn moto_dir() -> Result<PathBuf, BoxError> {
    cache_dir("moto")
}

/// The `moto_server` to run: `explicit` if given, else the first on `PATH`, else the one in
/// [`moto_dir`], installed there with `python3 -m venv` and pip first if it is missing.
pub fn moto_server_binary(explicit: Option<&Path>) -> Result<PathBuf, BoxError> {
    if let Some(path) = explicit {
        if !path.exists() {
            return Err(format!("--moto-server {}: no such file", path.display()).into());
        }
        return Ok(path.to_path_buf());
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("moto_server"))
            .find(|path| path.is_file())
    });
    if let Some(path) = on_path {
        return Ok(path);
    }
    let dir = moto_dir()?;
    let binary = dir.join("bin/moto_server");
    if binary.exists() {
        return Ok(binary);
    }
    eprintln!("installing {MOTO_PACKAGE} into {} ...", dir.display());
    let run = |command: &mut Command, what: &str| -> Result<(), BoxError> {
        let status = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .map_err(|e| -> BoxError {
                if e.kind() == std::io::ErrorKind::NotFound {
                    "python3 is not installed (try `apt-get install python3 python3-venv`)".into()
                } else {
                    format!("{what}: {e}").into()
                }
            })?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{what} failed ({status})").into())
        }
    };
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&dir),
        "python3 -m venv",
    )?;
    run(
        Command::new(dir.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .arg(MOTO_PACKAGE),
        &format!("pip install {MOTO_PACKAGE}"),
    )?;
    if !binary.exists() {
        return Err(format!("pip install {MOTO_PACKAGE} left no {}", binary.display()).into());
    }
    Ok(binary)
}

/// A running moto server (in memory).
pub struct MotoServer {
    process: Process,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl MotoServer {
    /// Starts `binary` (see [`moto_server_binary`]) on a free loopback port and waits until
    /// it accepts connections.
    pub fn start(binary: &Path) -> Result<Self, BoxError> {
        let port = free_port()?;
        let child = Command::new(binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // It logs every request to stderr.
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {}: {e}", binary.display()))?;
        let mut process = Process {
            child,
            name: "moto_server",
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        process.wait_until("listen", || listens(addr), String::new)?;
        Ok(Self { process, addr })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Sends SIGTERM and waits for the server to exit.
    pub fn stop(self) -> Result<(), BoxError> {
        self.process.stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nats_versions_parse() {
        assert_eq!(
            parse_nats_version("nats-server: v2.9.10\n"),
            Some((2, 9, 10))
        );
        assert_eq!(
            parse_nats_version("nats-server: v2.10.22-RC.1"),
            Some((2, 10, 22))
        );
        assert_eq!(parse_nats_version("nats-server: version unknown"), None);
        assert_eq!(parse_nats_version("nats-server: v2.9"), None);
        assert_eq!(parse_nats_version(""), None);
    }

    #[test]
    fn sync_interval_is_set_only_where_the_release_takes_it() {
        assert_eq!(nats_sync_interval((2, 9, 10)), None);
        assert_eq!(nats_sync_interval((2, 10, 0)), Some(NATS_SYNC_INTERVAL));
        assert_eq!(nats_sync_interval((3, 0, 0)), Some(NATS_SYNC_INTERVAL));
    }

    #[test]
    fn nats_config_listens_on_loopback_and_stores_in_the_directory() {
        let config = nats_config(4333, Path::new("/tmp/run x/jetstream"), None).expect("config");
        assert_eq!(
            config,
            "# strata-bench nats: one run's server.\n\
             listen: \"127.0.0.1:4333\"\n\
             jetstream {\n  store_dir: \"/tmp/run x/jetstream\"\n}\n"
        );
        let synced =
            nats_config(4333, Path::new("/data"), Some(Duration::from_millis(5))).expect("config");
        assert!(
            synced.contains("jetstream {\n  store_dir: \"/data\"\n  sync_interval: \"5ms\"\n}\n"),
            "{synced}"
        );
    }

    #[test]
    fn nats_config_refuses_paths_it_cannot_quote() {
        for dir in ["/tmp/a\"b", "/tmp/a\\b", "/tmp/a\nb"] {
            assert!(nats_config(4222, Path::new(dir), None).is_err(), "{dir:?}");
        }
    }
}
