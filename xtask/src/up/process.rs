//! The one child-process component of `cargo xtask up`: every service the stack runs (accountd,
//! the activity server, the event producer, consumers and simulator, the cinema services) is a
//! [`ProcessComponent`] around a [`Service`] that says how to start it, in a [`Child`] logging to
//! `target/up/<process>.log` (or another directory: `cargo xtask fuzz` runs its own stack):
//! starting into a fresh log, the liveness check and SIGTERM-then-kill on stop are the same for
//! all of them.

use anyhow::Result;

use super::{BoxFuture, Component, Stack};
use crate::child::Child;
use crate::paths;
use crate::runner::Runner;

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

/// A [`Service`] run as a child process: the component every service of the stack is.
pub struct ProcessComponent<S> {
    service: S,
    child: Child,
}

impl<S: Service> ProcessComponent<S> {
    /// The component running `service`, logging to `target/up/<process>.log`.
    pub fn new(service: S) -> Self {
        Self::logging_in(service, &paths::up_dir())
    }

    /// The component running `service`, logging to `<dir>/<process>.log`.
    pub fn logging_in(service: S, dir: &std::path::Path) -> Self {
        let name = service.process();
        let log = dir.join(format!("{name}.log"));
        Self {
            service,
            child: Child::new(name, log),
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
        self.child.check()
    }

    fn stop<'a>(&'a mut self, _runner: &'a dyn Runner) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(self.child.stop())
    }
}
