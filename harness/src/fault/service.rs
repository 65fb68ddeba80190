//! One of our services running in this process ([`RunningService`]) as a fault target: stopped
//! (drained, its listeners closed), as a dependency that went away. Starting it again takes its
//! settings, which are its launcher's ([`crate::launch`]): the undo is refused.

use std::time::Instant;

use super::{unsupported, Applied, Fault, Target};
use crate::launch::RunningService;

/// An in-process service, owned for the fault (stopping it consumes it).
#[derive(Debug)]
pub struct Service {
    name: &'static str,
    running: Option<RunningService>,
}

impl Service {
    /// The service `running`.
    pub fn new(running: RunningService) -> Self {
        Self {
            name: running.name(),
            running: Some(running),
        }
    }
}

impl Target for Service {
    fn describe(&self) -> String {
        format!("the in-process {} service", self.name)
    }

    /// [`Fault::Stop`]: asks it to drain and waits until it has stopped.
    async fn inject(&mut self, fault: Fault) -> anyhow::Result<Applied> {
        if fault != Fault::Stop {
            return Err(unsupported(self, "inject", fault));
        }
        let at = Instant::now();
        let running = self
            .running
            .take()
            .ok_or_else(|| anyhow::anyhow!("{} is stopped already", self.describe()))?;
        running.stop().await?;
        Ok(Applied::since(
            at,
            format!("{} {}", self.describe(), fault.done()),
        ))
    }

    /// Refused: start it again through its launcher, with its settings.
    async fn undo(&mut self, fault: Fault) -> anyhow::Result<Applied> {
        Err(unsupported(self, "undo", fault))
    }
}
