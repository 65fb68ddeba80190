//! Container faults through the Docker engine. A harness container publishes a fixed host
//! port, so after [`stop`] + [`start`] or [`restart`] clients reconnect to the same address.

use std::time::Duration;

use crate::backing::docker;

/// How long `docker stop` / `docker restart` wait after SIGTERM before they SIGKILL.
pub const GRACEFUL_STOP: Duration = Duration::from_secs(10);

/// Stops the container (SIGTERM, SIGKILL after [`GRACEFUL_STOP`]); it keeps its host ports.
pub async fn stop(id: &str) -> anyhow::Result<()> {
    docker::stop_container(id, GRACEFUL_STOP).await
}

/// Starts a stopped container again on the same host ports.
pub async fn start(id: &str) -> anyhow::Result<()> {
    docker::start_existing_container(id).await
}

/// Restarts the container (graceful stop within [`GRACEFUL_STOP`], then start).
pub async fn restart(id: &str) -> anyhow::Result<()> {
    docker::restart_container(id, GRACEFUL_STOP).await
}

/// SIGKILLs the container's main process: a crash, not a shutdown. Start it with [`start`].
pub async fn kill(id: &str) -> anyhow::Result<()> {
    docker::kill_container(id, "SIGKILL").await
}

/// Freezes the container: connections stay open, nothing answers (a hung server).
pub async fn pause(id: &str) -> anyhow::Result<()> {
    docker::pause_container(id).await
}

/// Thaws a container frozen by [`pause`].
pub async fn unpause(id: &str) -> anyhow::Result<()> {
    docker::unpause_container(id).await
}
