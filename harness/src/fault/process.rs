//! A child process of ours as a fault target ([`ChildService`]): SIGKILLed (a crash) or
//! SIGTERMed (an orderly stop), then started again with the same command. The signals
//! themselves are sent by [`crate::backing::launch`], under [`ChildService`].

use std::time::Instant;

use super::{unsupported, Applied, Fault, Target, GRACEFUL_STOP};
use crate::launch::process::ChildService;

/// A child process, borrowed for the fault.
#[derive(Debug)]
pub struct Process<'a> {
    child: &'a mut ChildService,
}

impl<'a> Process<'a> {
    /// The process `child` runs.
    pub fn new(child: &'a mut ChildService) -> Self {
        Self { child }
    }
}

impl Target for Process<'_> {
    fn describe(&self) -> String {
        match self.child.pid() {
            Some(pid) => format!("process {} (pid {pid})", self.child.name()),
            None => format!("process {} (not running)", self.child.name()),
        }
    }

    /// [`Fault::Kill`] SIGKILLs it and reaps it; [`Fault::Stop`] SIGTERMs it, and SIGKILLs it
    /// when it has not exited after [`GRACEFUL_STOP`].
    async fn inject(&mut self, fault: Fault) -> anyhow::Result<Applied> {
        let at = Instant::now();
        let what = format!("{} {}", self.describe(), fault.done());
        match fault {
            Fault::Kill => self.child.kill().await?,
            Fault::Stop => self.child.terminate(GRACEFUL_STOP).await?,
            _ => return Err(unsupported(self, "inject", fault)),
        };
        Ok(Applied::since(at, what))
    }

    /// Starts it again with the same command.
    async fn undo(&mut self, fault: Fault) -> anyhow::Result<Applied> {
        let at = Instant::now();
        match fault {
            Fault::Kill | Fault::Stop => self.child.start()?,
            _ => return Err(unsupported(self, "undo", fault)),
        }
        Ok(Applied::since(
            at,
            format!("{} started again", self.describe()),
        ))
    }
}
