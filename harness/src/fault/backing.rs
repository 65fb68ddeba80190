//! The Redis or MongoDB of a test as a fault target: its container takes the fault
//! ([`super::container`]), and once it is restarted, started again or thawed the fault waits
//! until the server answers its probe again (`PING`, `ping`), so the next step meets a server
//! that works. Only a server of the test's own may be broken: the suite's shared ones serve
//! every other scenario.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use super::{container::Container, Applied, Fault, Target};
use crate::backing::{mongo::Mongo, redis::Redis, Server};

/// A backing server the harness provisioned.
pub trait BackingServer: Sync {
    /// Its name in messages, e.g. `Redis`.
    const NAME: &'static str;

    /// Where it runs and how it was provided.
    fn server(&self) -> &Server;

    /// Waits (bounded) until it answers its probe; returns how long that took.
    fn wait_until_ready(&self) -> impl Future<Output = anyhow::Result<Duration>> + Send;
}

impl BackingServer for Redis {
    const NAME: &'static str = "Redis";

    fn server(&self) -> &Server {
        Redis::server(self)
    }

    fn wait_until_ready(&self) -> impl Future<Output = anyhow::Result<Duration>> + Send {
        Redis::wait_until_ready(self)
    }
}

impl BackingServer for Mongo {
    const NAME: &'static str = "MongoDB";

    fn server(&self) -> &Server {
        Mongo::server(self)
    }

    fn wait_until_ready(&self) -> impl Future<Output = anyhow::Result<Duration>> + Send {
        Mongo::wait_until_ready(self)
    }
}

/// A backing server of a test's own, in its container.
#[derive(Debug)]
pub struct Backing<'a, S> {
    server: &'a S,
    container: Container,
}

impl<'a, S: BackingServer> Backing<'a, S> {
    /// The fault target for `server`; an error when it does not run in a container (a server
    /// from a URL is not ours to break, a local process cannot be paused or restarted in place).
    pub fn of(server: &'a S) -> anyhow::Result<Self> {
        let id = server.server().container_id().ok_or_else(|| {
            anyhow::anyhow!(
                "faults need a {} container they can stop, pause and restart; this one is {} \
                 (run `cargo xtask bootstrap` for Docker)",
                S::NAME,
                server.server().provider()
            )
        })?;
        Ok(Self {
            server,
            container: Container::new(id),
        })
    }

    /// Waits until the server answers when `wait` says so, then says what was done to it (`how`),
    /// timed from `at`.
    async fn finish(&self, at: Instant, how: &str, wait: bool) -> anyhow::Result<Applied> {
        if wait {
            self.server.wait_until_ready().await?;
        }
        Ok(Applied::since(at, format!("{} {how}", S::NAME)))
    }
}

impl<S: BackingServer> Target for Backing<'_, S> {
    fn describe(&self) -> String {
        format!("{} ({})", S::NAME, self.container.describe())
    }

    /// The container's fault; after [`Fault::Restart`] it waits until the server answers.
    async fn inject(&mut self, fault: Fault) -> anyhow::Result<Applied> {
        let at = Instant::now();
        self.container.inject(fault).await?;
        self.finish(at, fault.done(), fault == Fault::Restart).await
    }

    /// The container's undo, then it waits until the server answers.
    async fn undo(&mut self, fault: Fault) -> anyhow::Result<Applied> {
        let at = Instant::now();
        self.container.undo(fault).await?;
        self.finish(at, fault.undone().unwrap_or_default(), true)
            .await
    }
}
