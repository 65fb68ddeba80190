//! One of our service binaries as a child of xtask, for `up` and `bench`: started from the repo
//! root through the [`Runner`] into a fresh log, ready once its URL answers (or a metric moves),
//! checked while it runs, stopped with SIGTERM and then SIGKILL. The process itself is
//! [`backing::launch`]'s; this is the slot that keeps it from the moment it is spawned, so it can
//! be stopped even after a failed or interrupted start.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;

use crate::cmd::Cmd;
use crate::paths;
use crate::probe;
use crate::runner::{Runner, Spawned};

/// How long a service may take to answer its readiness check (it connects to MySQL and migrates).
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a service may take to drain and exit after SIGTERM before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(15);

/// How often a readiness URL is asked.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// The named slot of one child process and its log.
#[derive(Debug)]
pub struct Child {
    name: &'static str,
    log: PathBuf,
    process: Option<Spawned>,
}

impl Child {
    /// The process `name` (in messages), its output going to `log`; nothing started yet.
    pub fn new(name: &'static str, log: PathBuf) -> Self {
        Self {
            name,
            log,
            process: None,
        }
    }

    /// Where its output goes.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Starts `cmd` (from the repo root) with a fresh log, without waiting for it.
    pub fn spawn(&mut self, runner: &dyn Runner, cmd: Cmd) -> Result<&mut Spawned> {
        let spawned = runner.spawn_fresh(&cmd.dir(paths::repo_root()), &self.log)?;
        Ok(self.process.insert(spawned))
    }

    /// Starts `cmd` like [`Child::spawn`], then waits until `ready_url` answers 2xx.
    pub async fn launch(
        &mut self,
        runner: &dyn Runner,
        cmd: Cmd,
        ready_url: &str,
    ) -> Result<&mut Spawned> {
        let process = self.spawn(runner, cmd)?;
        let client = probe::client()?;
        process
            .wait_ready(
                &format!("200 from {ready_url}"),
                READY_TIMEOUT,
                POLL_INTERVAL,
                || probe::get(&client, ready_url, |status, _| probe::success(status)),
            )
            .await?;
        Ok(process)
    }

    /// Starts the command `cmd` builds for a port (`preferred` if it is free, else a free one)
    /// like [`Child::launch`], ready once `/readyz` answers; returns the process and its
    /// `http://127.0.0.1:<port>`.
    pub async fn launch_on_port(
        &mut self,
        runner: &dyn Runner,
        preferred: Option<u16>,
        cmd: impl FnOnce(u16) -> Cmd,
    ) -> Result<(&mut Spawned, String)> {
        let port = backing::port::pick_port(preferred)?;
        let url = format!("http://127.0.0.1:{port}");
        let process = self
            .launch(runner, cmd(port), &format!("{url}/readyz"))
            .await?;
        Ok((process, url))
    }

    /// Errors (with the end of its log) if the process has exited.
    pub fn check(&mut self) -> Result<()> {
        match &mut self.process {
            Some(process) => process.check(),
            None => Ok(()),
        }
    }

    /// Stops the process, if any: SIGTERM, then SIGKILL after [`STOP_GRACE`]; returns
    /// `name: how it ended`.
    pub async fn stop(&mut self) -> Result<Option<String>> {
        match self.process.take() {
            Some(mut process) => {
                let how = process.terminate(STOP_GRACE).await?;
                Ok(Some(format!("{}: {how}", self.name)))
            }
            None => Ok(None),
        }
    }
}

/// Polls the Prometheus `metrics_url` until the metric `name` reaches `at_least` (the value
/// returned), `process` exits, or `timeout` passes.
pub async fn wait_for_metric(
    process: &mut Spawned,
    metrics_url: &str,
    name: &str,
    at_least: f64,
    timeout: Duration,
) -> Result<f64> {
    let client = probe::client()?;
    process
        .wait_ready(
            &format!("{name} >= {at_least} at {metrics_url}"),
            timeout,
            POLL_INTERVAL,
            || {
                probe::get(&client, metrics_url, |status, text| {
                    probe::metric_at_least(status, text, name, at_least)
                })
            },
        )
        .await
}

/// `(pid <pid>, log <file>)`: how a started process is shown in the notes.
pub fn pid_and_log(process: &Spawned) -> String {
    format!("(pid {}, log {})", process.pid(), process.log.display())
}
