//! Our service binaries as child processes, for faults an in-process task cannot take (SIGKILL).
//!
//! A [`ChildService`] runs one binary with a given environment, its stdout and stderr appended
//! to `<scratch dir>/<name>.log`, and can be SIGKILLed, SIGTERMed and started again with the
//! same command. It is killed when dropped (`kill_on_drop`), so a failing scenario leaves no
//! process behind.

use std::{
    ffi::OsString,
    fs::OpenOptions,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    time::Duration,
};

use anyhow::Context as _;
use tokio::process::{Child, Command};

use crate::{backing::scratch, fault::signal};

/// What to run: a binary, its arguments and its environment (added to the harness's own, minus
/// `RUST_LOG` unless given here, so a test's log filter does not leak into the child).
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// Short name for messages and the log file (`<name>.log`).
    pub name: String,
    /// The binary, e.g. `env!("CARGO_BIN_EXE_harness-event-consumer")`.
    pub program: PathBuf,
    /// Command-line arguments.
    pub args: Vec<OsString>,
    /// Environment variables set for the child.
    pub env: Vec<(String, String)>,
}

impl ProcessSpec {
    /// A spec for `program` named `name`, without arguments or extra environment.
    pub fn new(name: impl Into<String>, program: impl Into<PathBuf>) -> Self {
        Self {
            name: name.into(),
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// Adds one environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// A child process of ours, restartable, killed on drop.
#[derive(Debug)]
pub struct ChildService {
    spec: ProcessSpec,
    dir: PathBuf,
    log_path: PathBuf,
    child: Option<Child>,
    starts: u32,
}

impl ChildService {
    /// Starts `spec` with its output appended to `<fresh scratch dir>/<name>.log`.
    pub fn spawn(spec: ProcessSpec) -> anyhow::Result<Self> {
        let dir = scratch::create("proc").context("creating a scratch dir for a child process")?;
        let log_path = dir.join(format!("{}.log", sanitize(&spec.name)));
        let mut service = Self {
            spec,
            dir,
            log_path,
            child: None,
            starts: 0,
        };
        service.start()?;
        Ok(service)
    }

    /// Starts the process again with the same command (after a kill or an exit). Fails when it
    /// is still running.
    pub fn start(&mut self) -> anyhow::Result<()> {
        if self.is_running() {
            anyhow::bail!("{} is still running (pid {:?})", self.spec.name, self.pid());
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .with_context(|| format!("opening {}", self.log_path.display()))?;
        let log_err = log
            .try_clone()
            .with_context(|| format!("duplicating {}", self.log_path.display()))?;
        let mut command = Command::new(&self.spec.program);
        command
            .args(&self.spec.args)
            .env_remove("RUST_LOG")
            .envs(self.spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .kill_on_drop(true);
        let child = command.spawn().with_context(|| {
            format!(
                "starting {} ({})",
                self.spec.name,
                self.spec.program.display()
            )
        })?;
        self.child = Some(child);
        self.starts += 1;
        Ok(())
    }

    /// The process id while it runs (`None` once it has been reaped).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// The spec's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// How many times the process has been started.
    pub fn starts(&self) -> u32 {
        self.starts
    }

    /// Where stdout and stderr go.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The last `lines` lines of the log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGKILLs the process and reaps it (bounded to 10 s).
    pub async fn kill(&mut self) -> anyhow::Result<ExitStatus> {
        let pid = self
            .pid()
            .with_context(|| format!("{} is not running", self.spec.name))?;
        signal::sigkill(pid)?;
        self.wait(Duration::from_secs(10)).await
    }

    /// SIGTERMs the process and waits up to `grace` for it to exit; SIGKILLs it after that.
    pub async fn terminate(&mut self, grace: Duration) -> anyhow::Result<ExitStatus> {
        let Some(pid) = self.pid() else {
            return self.wait(Duration::ZERO).await;
        };
        signal::sigterm(pid)?;
        match self.wait(grace).await {
            Ok(status) => Ok(status),
            Err(_) => {
                eprintln!(
                    "[harness] {} ignored SIGTERM for {grace:?}; SIGKILL",
                    self.spec.name
                );
                self.kill().await
            }
        }
    }

    /// Waits up to `limit` for the process to exit and reaps it.
    pub async fn wait(&mut self, limit: Duration) -> anyhow::Result<ExitStatus> {
        let name = self.spec.name.clone();
        let child = self
            .child
            .as_mut()
            .with_context(|| format!("{name} was never started"))?;
        let status = tokio::time::timeout(limit, child.wait())
            .await
            .with_context(|| format!("{name} did not exit within {limit:?}"))?
            .with_context(|| format!("waiting for {name}"))?;
        Ok(status)
    }

    /// Stops the process (SIGTERM, SIGKILL after 5 s) and deletes its scratch directory unless
    /// `keep_log` (then the log path is printed).
    pub async fn stop(mut self, keep_log: bool) -> anyhow::Result<()> {
        let outcome = if self.is_running() {
            self.terminate(Duration::from_secs(5)).await.map(|_| ())
        } else {
            Ok(())
        };
        if keep_log {
            eprintln!(
                "[harness] {} log kept at {}",
                self.spec.name,
                self.log_path.display()
            );
        } else if let Err(error) = scratch::remove_dir(&self.dir) {
            eprintln!("[harness] removing {} failed: {error}", self.dir.display());
        }
        outcome
    }
}

/// A file-name-safe version of `name`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_child_is_killed_restarted_and_terminated() -> anyhow::Result<()> {
        let spec = ProcessSpec {
            args: vec!["-c".into(), "echo started $MARK; exec sleep 30".into()],
            ..ProcessSpec::new("sleeper", "/bin/sh").env("MARK", "yes")
        };
        let mut child = ChildService::spawn(spec)?;
        assert!(child.is_running());
        for _ in 0..100 {
            if child.log_tail(5).contains("started yes") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            child.log_tail(5).contains("started yes"),
            "log: {}",
            child.log_tail(5)
        );
        let status = child.kill().await?;
        assert!(!status.success(), "a SIGKILLed child cannot succeed");
        assert!(!child.is_running());
        child.start()?;
        assert_eq!(child.starts(), 2);
        let status = child.terminate(Duration::from_secs(5)).await?;
        assert!(!status.success());
        child.stop(false).await
    }
}
