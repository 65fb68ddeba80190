//! Launches our services for tests and tools: in-process on a free port, stopped on demand.

pub mod accountd;
pub mod activity;
pub mod cinema;
pub mod cpu_limit;
pub mod events;
pub mod process;

use std::{future::Future, net::SocketAddr};

use tokio::{sync::oneshot, task::JoinHandle};

use crate::backing::mysql::DbParts;

/// The services' MySQL settings for the test database `parts`, migrations on.
pub fn db_settings(parts: &DbParts) -> platform::mysql::DbSettings {
    platform::mysql::DbSettings {
        host: parts.host.clone(),
        port: parts.port,
        name: parts.name.clone(),
        user: parts.user.clone(),
        password: secrecy::SecretString::from(parts.password.clone()),
        migrate: true,
    }
}

/// A service running in this process on a loopback port, until stopped or dropped.
#[derive(Debug)]
pub struct RunningService {
    name: &'static str,
    addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl RunningService {
    /// Spawns `run` on the current runtime; `run` receives the future that resolves when the
    /// service must drain and stop.
    pub fn spawn<F, Fut>(name: &'static str, addr: SocketAddr, run: F) -> Self
    where
        F: FnOnce(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> Fut,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let (shutdown, stopped) = oneshot::channel::<()>();
        let signal = Box::pin(async move {
            // A dropped sender means the owner is gone: stop as well.
            let _ = stopped.await;
        });
        let task = tokio::spawn(run(signal));
        Self {
            name,
            addr,
            admin_addr: None,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// The service's name, for messages.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The address the service listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Records the service's separate admin (metrics, health) listener.
    pub fn with_admin_addr(mut self, admin_addr: SocketAddr) -> Self {
        self.admin_addr = Some(admin_addr);
        self
    }

    /// `http://127.0.0.1:PORT` of the admin listener, for services that have one.
    pub fn admin_url(&self) -> Option<String> {
        self.admin_addr
            .map(|addr| format!("http://127.0.0.1:{}", addr.port()))
    }

    /// `http://127.0.0.1:PORT`, always on loopback whatever the service bound.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.addr.port())
    }

    /// Asks the service to drain and waits until it has stopped, returning its result.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        match self.task.take() {
            Some(task) => task
                .await
                .map_err(|join| anyhow::anyhow!("{} task failed: {join}", self.name))?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningService {
    fn drop(&mut self) {
        // Signal the drain; the task finishes on the runtime without being awaited here.
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
