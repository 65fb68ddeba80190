//! A Docker container as a fault target, by id: stopped, paused, restarted or SIGKILLed through
//! the Docker engine. A harness container publishes a fixed host port, so after a stop and a
//! start, or a restart, clients reconnect to the same address.

use std::time::Instant;

use super::{unsupported, Applied, Fault, Target, GRACEFUL_STOP};
use crate::backing::docker;

/// A container, by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    id: String,
}

impl Container {
    /// The container `id` (full or short).
    pub fn new(id: impl Into<String>) -> Self {
        Self { id: id.into() }
    }

    /// Its id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl Target for Container {
    fn describe(&self) -> String {
        let short: String = self.id.chars().take(12).collect();
        format!("container {short}")
    }

    /// [`Fault::Stop`] keeps its host ports; [`Fault::Kill`] is a crash, not a shutdown;
    /// [`Fault::Pause`] freezes it with its connections open; [`Fault::Restart`] is a graceful
    /// stop and a start.
    async fn inject(&mut self, fault: Fault) -> anyhow::Result<Applied> {
        let at = Instant::now();
        match fault {
            Fault::Stop => docker::stop_container(&self.id, GRACEFUL_STOP).await?,
            Fault::Pause => docker::pause_container(&self.id).await?,
            Fault::Restart => docker::restart_container(&self.id, GRACEFUL_STOP).await?,
            Fault::Kill => docker::kill_container(&self.id, "SIGKILL").await?,
            _ => return Err(unsupported(self, "inject", fault)),
        }
        Ok(Applied::since(
            at,
            format!("{} {}", self.describe(), fault.done()),
        ))
    }

    /// Starts a stopped or killed container again on the same host ports; thaws a paused one.
    async fn undo(&mut self, fault: Fault) -> anyhow::Result<Applied> {
        let at = Instant::now();
        match fault {
            Fault::Stop | Fault::Kill => docker::start_existing_container(&self.id).await?,
            Fault::Pause => docker::unpause_container(&self.id).await?,
            _ => return Err(unsupported(self, "undo", fault)),
        }
        let how = fault.undone().unwrap_or_default();
        Ok(Applied::since(at, format!("{} {how}", self.describe())))
    }
}
