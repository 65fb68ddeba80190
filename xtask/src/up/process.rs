//! The one child-process component of `cargo xtask up`: every service the stack runs (accountd,
//! the activity server, the event producer, consumers and simulator) is a [`ProcessComponent`]
//! around a [`Service`] that says how to start it. Starting into a fresh log, the liveness check
//! and SIGTERM-then-kill on stop are the same for all of them, so they live here once.

use std::path::PathBuf;

use anyhow::Result;

use super::{BoxFuture, Component, Stack};
use crate::cmd::Cmd;
use crate::paths;
use crate::runner::{Runner, Spawned};
use crate::service;

/// One of our services as `up` starts it: a debug binary run as a child process.
pub trait Service {
    /// Short component name, e.g. `accountd`.
    fn name(&self) -> &'static str;

    /// The process's name in messages and its log file (`target/up/<process>.log`); the
    /// component name unless they differ.
    fn process(&self) -> &'static str {
        self.name()
    }

    /// Starts the process through `child` and adds what it offers to `stack`.
    async fn start(&self, stack: &mut Stack, runner: &dyn Runner, child: &mut Child) -> Result<()>;
}

/// The running process of a [`Service`] (if any), kept as soon as it is spawned so it can be
/// stopped even after a failed or interrupted start.
pub struct Child {
    name: &'static str,
    process: Option<Spawned>,
}

impl Child {
    /// Where its output goes: `target/up/<name>.log`.
    pub fn log(&self) -> PathBuf {
        paths::up_dir().join(format!("{}.log", self.name))
    }

    /// Starts `cmd` (from the repo root) with a fresh log, without waiting for it.
    pub fn spawn(&mut self, runner: &dyn Runner, cmd: Cmd) -> Result<&mut Spawned> {
        let log = self.log();
        service::spawn_fresh(
            runner,
            &cmd.dir(paths::repo_root()),
            &log,
            &mut self.process,
        )
    }

    /// Starts the command `cmd` builds for a port (`preferred` if it is free, else a free one)
    /// like [`Child::launch`]; returns the process and its `http://127.0.0.1:<port>`.
    pub async fn launch_on_port(
        &mut self,
        runner: &dyn Runner,
        preferred: Option<u16>,
        cmd: impl FnOnce(u16) -> Cmd,
    ) -> Result<(&mut Spawned, String)> {
        let port = backing::port::pick_port(preferred)?;
        let url = format!("http://127.0.0.1:{port}");
        let process = self.launch(runner, cmd(port), &url).await?;
        Ok((process, url))
    }

    /// Starts `cmd` (from the repo root) with a fresh log and waits until `{base_url}/readyz`
    /// answers 200.
    pub async fn launch(
        &mut self,
        runner: &dyn Runner,
        cmd: Cmd,
        base_url: &str,
    ) -> Result<&mut Spawned> {
        let log = self.log();
        service::launch(
            runner,
            &cmd.dir(paths::repo_root()),
            &log,
            &format!("{base_url}/readyz"),
            &mut self.process,
        )
        .await
    }
}

/// `(pid <pid>, log <file>)`: how a started process is shown in the notes.
pub fn pid_and_log(process: &Spawned) -> String {
    format!("(pid {}, log {})", process.pid(), process.log.display())
}

/// A [`Service`] run as a child process: the component every service of the stack is.
pub struct ProcessComponent<S> {
    service: S,
    child: Child,
}

impl<S: Service> ProcessComponent<S> {
    /// The component running `service`.
    pub fn new(service: S) -> Self {
        let name = service.process();
        Self {
            service,
            child: Child {
                name,
                process: None,
            },
        }
    }
}

impl<S: Service> Component for ProcessComponent<S> {
    fn name(&self) -> &'static str {
        self.service.name()
    }

    fn start<'a>(
        &'a mut self,
        stack: &'a mut Stack,
        runner: &'a dyn Runner,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.service.start(stack, runner, &mut self.child))
    }

    fn check(&mut self) -> Result<()> {
        service::check(self.child.name, &mut self.child.process)
    }

    fn stop<'a>(&'a mut self, runner: &'a dyn Runner) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async move { service::stop(runner, self.child.name, &mut self.child.process) })
    }
}
