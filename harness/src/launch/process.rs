//! Our service binaries as child processes, for faults an in-process task cannot take (SIGKILL).
//!
//! A [`ChildService`] runs one binary with a given environment, its stdout and stderr appended
//! to `<scratch dir>/<name>.log`, and can be SIGKILLed, SIGTERMed and started again with the
//! same command. It is killed when dropped (`kill_on_drop`), so a failing scenario leaves no
//! process behind. Starting, waiting and signalling are [`crate::backing::launch`]'s; this layer
//! adds the scratch directory and the restarts.

use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    process::ExitStatus,
    time::Duration,
};

use anyhow::Context as _;

use crate::backing::{
    launch::{self, Launch, Launched, Stopped},
    scratch,
};

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

/// A child process of ours, restartable, killed on drop: [`backing::launch`] with a scratch
/// directory for its log.
#[derive(Debug)]
pub struct ChildService {
    name: String,
    dir: PathBuf,
    launch: Launch,
    child: Option<Launched>,
    starts: u32,
}

impl ChildService {
    /// Starts `spec` with its output appended to `<fresh scratch dir>/<name>.log`.
    pub fn spawn(spec: ProcessSpec) -> anyhow::Result<Self> {
        let dir = scratch::create("proc").context("creating a scratch dir for a child process")?;
        let log = dir.join(format!("{}.log", sanitize(&spec.name)));
        let launch = Launch::new(spec.program, log)
            .name(&spec.name)
            .args(spec.args)
            .env_remove("RUST_LOG")
            .kill_on_drop(true);
        let launch = spec
            .env
            .into_iter()
            .fold(launch, |launch, (key, value)| launch.env(key, value));
        let mut service = Self {
            name: spec.name,
            dir,
            launch,
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
            anyhow::bail!("{} is still running (pid {:?})", self.name, self.pid());
        }
        self.child = Some(self.launch.spawn()?);
        self.starts += 1;
        Ok(())
    }

    /// The process id while it runs (`None` once it has been reaped).
    pub fn pid(&self) -> Option<u32> {
        self.child
            .as_ref()
            .filter(|child| child.exit_status().is_none())
            .map(Launched::pid)
    }

    /// The spec's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many times the process has been started.
    pub fn starts(&self) -> u32 {
        self.starts
    }

    /// Where stdout and stderr go.
    pub fn log_path(&self) -> &Path {
        self.launch.log()
    }

    /// The last `lines` lines of the log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        launch::tail(self.log_path(), lines)
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(Launched::is_running)
    }

    /// Waits, at most `limit`, until `GET url` answers 2xx (e.g. the service's `/readyz`); fails
    /// at once when the process exits, and with the last lines of its log when it does not get
    /// ready in time.
    pub async fn wait_http_ready(
        &mut self,
        http: &reqwest::Client,
        url: &str,
        limit: Duration,
    ) -> anyhow::Result<()> {
        let name = self.name.clone();
        let ready = crate::backing::wait::wait_until(
            &format!("200 from {name}'s {url}"),
            limit,
            Duration::from_millis(100),
            || {
                let alive = self.is_running();
                let (http, url, name) = (http.clone(), url.to_owned(), name.clone());
                async move {
                    if !alive {
                        return crate::backing::wait::Attempt::Failed(anyhow::anyhow!(
                            "{name} exited"
                        ));
                    }
                    match http.get(&url).send().await {
                        Ok(answer) if answer.status().is_success() => {
                            crate::backing::wait::Attempt::Ready(())
                        }
                        Ok(answer) => crate::backing::wait::Attempt::Pending(format!(
                            "HTTP {}",
                            answer.status()
                        )),
                        Err(error) => crate::backing::wait::Attempt::Pending(error.to_string()),
                    }
                }
            },
        )
        .await;
        if let Err(error) = ready {
            anyhow::bail!("{error}; last lines of its log:\n{}", self.log_tail(30));
        }
        Ok(())
    }

    /// The process, once started.
    fn child(&mut self) -> anyhow::Result<&mut Launched> {
        let name = &self.name;
        self.child
            .as_mut()
            .with_context(|| format!("{name} was never started"))
    }

    /// SIGKILLs the process and reaps it (bounded to 10 s).
    pub async fn kill(&mut self) -> anyhow::Result<ExitStatus> {
        if self.pid().is_none() {
            anyhow::bail!("{} is not running", self.name);
        }
        self.child()?.kill().await
    }

    /// SIGTERMs the process and waits up to `grace` for it to exit; SIGKILLs it after that.
    pub async fn terminate(&mut self, grace: Duration) -> anyhow::Result<ExitStatus> {
        let stopped = self.child()?.stop(grace).await?;
        if let Stopped::Killed(_) = stopped {
            eprintln!(
                "[harness] {} ignored SIGTERM for {grace:?}; SIGKILL",
                self.name
            );
        }
        Ok(stopped.status())
    }

    /// Waits up to `limit` for the process to exit and reaps it.
    pub async fn wait(&mut self, limit: Duration) -> anyhow::Result<ExitStatus> {
        self.child()?.wait(limit).await
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
                self.name,
                self.log_path().display()
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
    use crate::backing::wait::Attempt;

    #[tokio::test]
    async fn a_child_is_killed_restarted_and_terminated() -> anyhow::Result<()> {
        let spec = ProcessSpec {
            args: vec!["-c".into(), "echo started $MARK; exec sleep 30".into()],
            ..ProcessSpec::new("sleeper", "/bin/sh").env("MARK", "yes")
        };
        let mut child = ChildService::spawn(spec)?;
        assert!(child.is_running());
        let log = child.log_path().to_path_buf();
        crate::backing::wait::wait_until(
            "\"started yes\" in the log",
            Duration::from_secs(2),
            Duration::from_millis(20),
            || {
                let seen = launch::tail(&log, 5);
                std::future::ready(if seen.contains("started yes") {
                    Attempt::Ready(())
                } else {
                    Attempt::Pending(format!("log: {seen:?}"))
                })
            },
        )
        .await?;
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
