//! CPU pinning for runs where the server and the load generator share one machine.
//!
//! With `--pin-server CPUS` a spawned server (and the raw-disk baseline, which stands in for
//! it) runs on `CPUS` and the load generator on every other CPU, so the two stop taking
//! turns on the same cores and a run measures the server rather than the scheduler. A
//! spawned process inherits the affinity of the thread that spawns it, and tokio's worker
//! threads that of the thread that builds the runtime; [`Pinning`] sets the calling
//! thread's affinity around each of those steps.

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;
use serde::Serialize;

use crate::storage::BoxError;

/// Which CPUs the server side and the load generator use.
#[derive(Clone, Debug, Serialize)]
pub struct Pinning {
    /// CPUs of the spawned server and the raw-disk baseline.
    pub server: Vec<usize>,
    /// CPUs of the load generator: the others this process may use.
    pub client: Vec<usize>,
}

/// A list of CPUs from the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuList(pub Vec<usize>);

/// Parses a CPU list such as `0`, `0,2` or `0-1`.
pub fn parse_cpus(text: &str) -> Result<CpuList, String> {
    let mut cpus = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let parse = |s: &str| {
            s.parse::<usize>()
                .map_err(|_| format!("invalid CPU {s:?} in {text:?}: expected a list like 0,2-3"))
        };
        let (first, last) = (parse(first)?, parse(last)?);
        if first > last || last >= CpuSet::count() {
            return Err(format!("invalid CPU range {part:?} in {text:?}"));
        }
        cpus.extend(first..=last);
    }
    if cpus.is_empty() {
        return Err(format!("no CPU in {text:?}"));
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(CpuList(cpus))
}

fn current() -> Result<Vec<usize>, BoxError> {
    let set = sched_getaffinity(Pid::from_raw(0))?;
    Ok((0..CpuSet::count())
        .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
        .collect())
}

fn set_current(cpus: &[usize]) -> Result<(), BoxError> {
    let mut set = CpuSet::new();
    for &cpu in cpus {
        set.set(cpu)?;
    }
    sched_setaffinity(Pid::from_raw(0), &set)?;
    Ok(())
}

impl Pinning {
    /// Splits the CPUs this process may use into `server` and the rest. Fails if `server`
    /// names a CPU this process may not use, or leaves none for the load generator.
    pub fn split(server: &[usize]) -> Result<Self, BoxError> {
        let allowed = current()?;
        if let Some(cpu) = server.iter().find(|cpu| !allowed.contains(cpu)) {
            return Err(format!("CPU {cpu} is not available to this process ({allowed:?})").into());
        }
        let client: Vec<usize> = allowed
            .iter()
            .copied()
            .filter(|cpu| !server.contains(cpu))
            .collect();
        if client.is_empty() {
            return Err(format!(
                "--pin-server {server:?} leaves no CPU for the load generator ({allowed:?})"
            )
            .into());
        }
        Ok(Self {
            server: server.to_vec(),
            client,
        })
    }

    /// Runs `work` on the calling thread pinned to the server's CPUs (what it spawns stays
    /// there), then pins the thread to the load generator's CPUs.
    pub fn on_server<T>(&self, work: impl FnOnce() -> T) -> Result<T, BoxError> {
        set_current(&self.server)?;
        let result = work();
        set_current(&self.client)?;
        Ok(result)
    }

    /// Pins the calling thread (and the threads it starts from now on) to the load
    /// generator's CPUs.
    pub fn to_client(&self) -> Result<(), BoxError> {
        set_current(&self.client)
    }
}

/// Runs `work` on the server's CPUs when pinning, else as it is.
pub fn on_server<T>(pinning: Option<&Pinning>, work: impl FnOnce() -> T) -> Result<T, BoxError> {
    match pinning {
        Some(pinning) => pinning.on_server(work),
        None => Ok(work()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse() {
        assert_eq!(parse_cpus("0"), Ok(CpuList(vec![0])));
        assert_eq!(parse_cpus("1,0,1"), Ok(CpuList(vec![0, 1])));
        assert_eq!(parse_cpus("0-2"), Ok(CpuList(vec![0, 1, 2])));
        assert!(parse_cpus("").is_err());
        assert!(parse_cpus("2-1").is_err());
        assert!(parse_cpus("x").is_err());
        assert!(parse_cpus("100000").is_err());
    }

    #[test]
    fn a_split_keeps_the_other_cpus_for_the_client() {
        let allowed = current().expect("affinity");
        let first = allowed[0];
        match Pinning::split(&[first]) {
            Ok(pinning) => {
                assert_eq!(pinning.server, vec![first]);
                assert!(!pinning.client.contains(&first));
                assert_eq!(pinning.client.len() + 1, allowed.len());
                // Pinning this test thread and back is harmless.
                let ran = pinning.on_server(|| current().expect("affinity"));
                assert_eq!(ran.expect("pinned"), vec![first]);
                assert_eq!(current().expect("affinity"), pinning.client);
            }
            // A one-CPU machine has nothing left for the client.
            Err(error) => assert_eq!(allowed.len(), 1, "{error}"),
        }
    }
}
