//! Suite-wide backing services: started once, on first use, shared by every scenario of a run
//! and stopped by the runner at the end (statics are never dropped, so the runner must call
//! [`shutdown`]).

use std::future::Future;
use std::sync::Arc;

use tokio::sync::Mutex;

use crate::backing::{mongo::Mongo, mysql::MySql, redis::Redis};

/// One suite-wide server: what the first attempt to provision it gave, the server or why it
/// failed (kept, so that a missing engine fails every scenario at once with the same message
/// instead of retrying).
struct Slot<T> {
    /// Name in messages, e.g. `MySQL`.
    display: &'static str,
    state: Mutex<Option<Result<Arc<T>, String>>>,
}

impl<T> Slot<T> {
    const fn new(display: &'static str) -> Self {
        Self {
            display,
            state: Mutex::const_new(None),
        }
    }

    /// The server, provisioned by `start` on first call.
    async fn get<F>(&self, start: impl FnOnce() -> F) -> anyhow::Result<Arc<T>>
    where
        F: Future<Output = anyhow::Result<T>>,
    {
        let mut slot = self.state.lock().await;
        if slot.is_none() {
            *slot = Some(
                start()
                    .await
                    .map(Arc::new)
                    .map_err(|error| format!("{error:#}")),
            );
        }
        let display = self.display;
        match slot.as_ref() {
            Some(Ok(server)) => Ok(Arc::clone(server)),
            Some(Err(reason)) => Err(anyhow::anyhow!(
                "{display} could not be provisioned: {reason}"
            )),
            None => Err(anyhow::anyhow!("{display} slot left empty")),
        }
    }

    /// Stops the server with `stop`, if it was started and nobody else holds it.
    async fn shutdown<F>(&self, stop: impl FnOnce(T) -> F)
    where
        F: Future<Output = anyhow::Result<()>>,
    {
        let taken = self.state.lock().await.take();
        if let Some(Ok(server)) = taken {
            match Arc::try_unwrap(server) {
                Ok(server) => {
                    if let Err(error) = stop(server).await {
                        eprintln!("[harness] stopping {} failed: {error:#}", self.display);
                    }
                }
                // Someone still holds it: its Drop removes the container when they let go.
                Err(still_shared) => drop(still_shared),
            }
        }
    }
}

static MYSQL: Slot<MySql> = Slot::new("MySQL");

static REDIS: Slot<Redis> = Slot::new("Redis");

static MONGO: Slot<Mongo> = Slot::new("MongoDB");

/// The suite's MySQL server, provisioned on first call.
pub async fn mysql() -> anyhow::Result<Arc<MySql>> {
    MYSQL.get(MySql::start).await
}

/// The suite's Redis server (default options), provisioned on first call.
pub async fn redis() -> anyhow::Result<Arc<Redis>> {
    REDIS.get(Redis::start).await
}

/// The suite's MongoDB-wire server, provisioned on first call. Scenarios keep apart by
/// database ([`Mongo::unique_database`]).
pub async fn mongo() -> anyhow::Result<Arc<Mongo>> {
    MONGO.get(Mongo::start).await
}

/// Stops every backing service the suite started. Call once, after the last scenario.
pub async fn shutdown() {
    MYSQL.shutdown(MySql::stop).await;
    REDIS.shutdown(Redis::stop).await;
    MONGO.shutdown(Mongo::stop).await;
}
