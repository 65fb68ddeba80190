//! `cargo xtask cluster down`: the recorded processes stopped (SIGTERM, then SIGKILL; only a pid
//! that is still the recorded program), the pods' containers removed, the kernel settings the
//! kubelet changed restored, and the run data and state file removed.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use backing::wait::{wait_until_blocking, Attempt};

use super::config::Dirs;
use super::show_sysctls;
use super::state::{self, Process, State};
use crate::cmd::Cmd;
use crate::runner::Runner;

/// How long a stopped process gets between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// How long a SIGKILLed process may take to be gone.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// What `down` did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Processes stopped, with how.
    pub stopped: Vec<String>,
    /// Containers removed.
    pub containers: usize,
    /// Sysctls restored.
    pub restored: Vec<String>,
}

/// Stops the recorded processes (kubelet first), removes the pods' containers, restores the
/// kernel settings and removes the run data and the state file. Safe to run twice.
pub fn down(runner: &dyn Runner, dirs: &Dirs) -> Result<Cleaned> {
    let started = Instant::now();
    let mut cleaned = Cleaned::default();
    let state = State::load(&dirs.state())?;
    match &state {
        None => eprintln!(
            "cluster: no {} (no local cluster recorded)",
            dirs.state().display()
        ),
        Some(state) => {
            for process in state.processes.iter().rev() {
                cleaned.stopped.push(stop(runner, process)?);
            }
        }
    }
    let ids = runner.read(&Cmd::new("docker").args([
        "ps",
        "-aq",
        "--filter",
        "label=io.kubernetes.docker.type",
    ]))?;
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if !ids.is_empty() {
        runner.run(
            &Cmd::new("docker")
                .args(["rm", "-f"])
                .args(ids.iter().copied()),
        )?;
    }
    cleaned.containers = ids.len();
    if let Some(state) = &state {
        let current = state::read_sysctls(&state::KUBELET_SYSCTLS);
        for change in state::sysctl_changes(&state.sysctls, &current) {
            runner.run(
                &Cmd::new("sysctl").args(["-w", &format!("{}={}", change.key, change.original)]),
            )?;
            cleaned.restored.push(format!(
                "{} {} → {}",
                change.key, change.now, change.original
            ));
        }
        eprintln!(
            "cluster: kernel settings now: {}",
            show_sysctls(&state::read_sysctls(&state::KUBELET_SYSCTLS))
        );
    }
    for dir in [dirs.run(), dirs.data()] {
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
    }
    if state.is_some() {
        std::fs::remove_file(dirs.state())
            .with_context(|| format!("removing {}", dirs.state().display()))?;
    }
    for line in &cleaned.stopped {
        eprintln!("cluster: {line}");
    }
    eprintln!(
        "cluster: down in {:.1} s: {} processes handled, {} pod containers removed, {} kernel settings restored{}",
        started.elapsed().as_secs_f64(),
        cleaned.stopped.len(),
        cleaned.containers,
        cleaned.restored.len(),
        if cleaned.restored.is_empty() { String::new() } else { format!(" ({})", cleaned.restored.join(", ")) }
    );
    Ok(cleaned)
}

/// SIGTERM, a bounded wait, then SIGKILL; only if the PID is still the recorded process.
fn stop(runner: &dyn Runner, process: &Process) -> Result<String> {
    let Process { name, pid, .. } = process;
    if !state::alive(*pid, name) {
        return Ok(format!("{name} (pid {pid}) was already gone"));
    }
    let gone = |limit| {
        wait_until_blocking(
            &format!("exit of {name} (pid {pid})"),
            limit,
            Duration::from_millis(100),
            || {
                if state::alive(*pid, name) {
                    Attempt::Pending("still running".to_string())
                } else {
                    Attempt::Ready(())
                }
            },
        )
    };
    runner.probe(&Cmd::new("kill").args(["-TERM".to_string(), pid.to_string()]));
    let since = Instant::now();
    if gone(STOP_GRACE).is_ok() {
        return Ok(format!(
            "{name} (pid {pid}) stopped on SIGTERM in {:.1} s",
            since.elapsed().as_secs_f64()
        ));
    }
    runner.probe(&Cmd::new("kill").args(["-KILL".to_string(), pid.to_string()]));
    if gone(KILL_WAIT).is_err() {
        bail!("{name} (pid {pid}) survived SIGKILL");
    }
    Ok(format!(
        "{name} (pid {pid}) ignored SIGTERM for {} s and was killed",
        STOP_GRACE.as_secs()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::recording::{Kind, RecordingRunner};
    use std::path::PathBuf;

    #[test]
    fn down_without_state_only_clears_pod_containers() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = Dirs::new(dir.path().join("cluster"));
        let runner = RecordingRunner::new().read_answer(
            "docker ps -aq --filter label=io.kubernetes.docker.type",
            "abc\ndef\n",
        );
        let cleaned = down(&runner, &dirs).unwrap();
        assert_eq!(cleaned.containers, 2);
        assert!(cleaned.stopped.is_empty());
        assert_eq!(runner.lines(Kind::Run), ["docker rm -f abc def"]);
        // Twice is fine.
        let again = RecordingRunner::new()
            .read_answer("docker ps -aq --filter label=io.kubernetes.docker.type", "");
        assert_eq!(down(&again, &dirs).unwrap(), Cleaned::default());
        assert!(again.lines(Kind::Run).is_empty());
    }

    #[test]
    fn down_skips_dead_pids_restores_changed_sysctls_and_forgets_the_state() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = Dirs::new(dir.path().join("cluster"));
        let mut originals = state::read_sysctls(&["kernel.panic"]);
        let now = originals.get("kernel.panic").cloned().unwrap();
        originals.insert("kernel.panic".into(), format!("{now}9"));
        State {
            processes: vec![Process {
                name: "etcd".into(),
                pid: u32::MAX - 1,
                log: PathBuf::from("/x"),
            }],
            sysctls: originals,
            kubeconfig: dirs.kubeconfig(),
        }
        .save(&dirs.state())
        .unwrap();
        std::fs::create_dir_all(dirs.run().join("etcd")).unwrap();
        let runner = RecordingRunner::new()
            .read_answer("docker ps -aq --filter label=io.kubernetes.docker.type", "");
        let cleaned = down(&runner, &dirs).unwrap();
        assert_eq!(
            cleaned.stopped,
            [format!("etcd (pid {}) was already gone", u32::MAX - 1)]
        );
        assert_eq!(
            runner.lines(Kind::Run),
            [format!("sysctl -w kernel.panic={now}9")]
        );
        assert!(
            runner.lines(Kind::Probe).is_empty(),
            "no kill of a dead pid"
        );
        assert!(!dirs.state().exists());
        assert!(!dirs.run().exists());
    }
}
