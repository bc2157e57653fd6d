//! CPU time of a process (user + system, every thread), from `/proc/<pid>/stat`, so a
//! benchmark reports what the server and the load generator each cost per byte.

use std::time::{Duration, Instant};

use serde::Serialize;

/// User plus system CPU time of process `pid` (this process for `None`), or `None` where
/// `/proc` cannot tell.
pub fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name is in parentheses and may hold spaces: fields count from after it.
    let after_name = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = after_name.split_whitespace();
    // Fields 14 and 15 of the file (utime, stime) are the 12th and 13th after the name.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
    let ticks = u64::try_from(ticks).ok().filter(|&t| t > 0)?;
    Some(Duration::from_secs_f64(
        (utime + stime) as f64 / ticks as f64,
    ))
}

/// CPU used by the server and the load generator over a span of wall time.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct CpuUse {
    pub wall_secs: f64,
    /// The spawned server's CPU seconds; `None` for a server started elsewhere.
    pub server_secs: Option<f64>,
    /// This benchmark's CPU seconds (its clients and bookkeeping).
    pub bench_secs: f64,
    /// CPU seconds per GB (10^9 bytes) of payload moved.
    pub server_secs_per_gb: Option<f64>,
    pub bench_secs_per_gb: f64,
}

/// A span whose CPU use is being measured.
pub struct CpuSpan {
    server: Option<u32>,
    started: Instant,
    server_start: Option<Duration>,
    bench_start: Duration,
}

impl CpuSpan {
    /// Starts measuring this process and the server `server`, if any.
    pub fn start(server: Option<u32>) -> Self {
        Self {
            server,
            started: Instant::now(),
            server_start: server.and_then(|pid| cpu_time(Some(pid))),
            bench_start: cpu_time(None).unwrap_or_default(),
        }
    }

    /// The CPU used since the start, per `bytes` of payload moved.
    pub fn finish(&self, bytes: u64) -> CpuUse {
        let gb = (bytes as f64 / 1e9).max(1e-12);
        let server_secs = match (self.server, self.server_start) {
            (Some(pid), Some(start)) => {
                cpu_time(Some(pid)).map(|now| now.saturating_sub(start).as_secs_f64())
            }
            _ => None,
        };
        let bench_secs = cpu_time(None)
            .unwrap_or_default()
            .saturating_sub(self.bench_start)
            .as_secs_f64();
        CpuUse {
            wall_secs: self.started.elapsed().as_secs_f64(),
            server_secs,
            bench_secs,
            server_secs_per_gb: server_secs.map(|s| s / gb),
            bench_secs_per_gb: bench_secs / gb,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cpu_time;

    #[test]
    fn this_process_has_used_some_cpu_and_it_grows() {
        let before = cpu_time(None).expect("/proc/self/stat");
        let mut x = 0u64;
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(50) {
            x = x.wrapping_mul(31).wrapping_add(1);
        }
        std::hint::black_box(x);
        assert!(cpu_time(None).expect("/proc/self/stat") >= before);
        assert!(cpu_time(Some(u32::MAX)).is_none(), "no such process");
    }
}
