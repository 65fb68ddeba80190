//! Suite-wide backing services: started once, on first use, shared by every scenario of a run
//! and stopped by the runner at the end (statics are never dropped, so the runner must call
//! [`shutdown`]).

use std::sync::Arc;

use tokio::sync::Mutex;

use crate::backing::{mysql::MySql, redis::Redis};

/// What the first attempt to provision MySQL gave: the server, or why it failed (kept, so that
/// a missing engine fails every scenario at once with the same message instead of retrying).
static MYSQL: Mutex<Option<Result<Arc<MySql>, String>>> = Mutex::const_new(None);

/// The suite's MySQL server, provisioned on first call.
pub async fn mysql() -> anyhow::Result<Arc<MySql>> {
    let mut slot = MYSQL.lock().await;
    if slot.is_none() {
        *slot = Some(
            MySql::start()
                .await
                .map(Arc::new)
                .map_err(|error| format!("{error:#}")),
        );
    }
    match slot.as_ref() {
        Some(Ok(mysql)) => Ok(Arc::clone(mysql)),
        Some(Err(reason)) => Err(anyhow::anyhow!("MySQL could not be provisioned: {reason}")),
        None => Err(anyhow::anyhow!("MySQL slot left empty")),
    }
}

/// What the first attempt to provision Redis gave (kept like [`MYSQL`]'s).
static REDIS: Mutex<Option<Result<Arc<Redis>, String>>> = Mutex::const_new(None);

/// The suite's Redis server (default options), provisioned on first call.
pub async fn redis() -> anyhow::Result<Arc<Redis>> {
    let mut slot = REDIS.lock().await;
    if slot.is_none() {
        *slot = Some(
            Redis::start()
                .await
                .map(Arc::new)
                .map_err(|error| format!("{error:#}")),
        );
    }
    match slot.as_ref() {
        Some(Ok(redis)) => Ok(Arc::clone(redis)),
        Some(Err(reason)) => Err(anyhow::anyhow!("Redis could not be provisioned: {reason}")),
        None => Err(anyhow::anyhow!("Redis slot left empty")),
    }
}

/// Stops every backing service the suite started. Call once, after the last scenario.
pub async fn shutdown() {
    let taken = MYSQL.lock().await.take();
    if let Some(Ok(mysql)) = taken {
        match Arc::try_unwrap(mysql) {
            Ok(mysql) => {
                if let Err(error) = mysql.stop().await {
                    eprintln!("[harness] stopping MySQL failed: {error:#}");
                }
            }
            // Someone still holds it: its Drop removes the container when they let go.
            Err(still_shared) => drop(still_shared),
        }
    }
    let taken = REDIS.lock().await.take();
    if let Some(Ok(redis)) = taken {
        match Arc::try_unwrap(redis) {
            Ok(redis) => {
                if let Err(error) = redis.stop().await {
                    eprintln!("[harness] stopping Redis failed: {error:#}");
                }
            }
            // Someone still holds it: its Drop removes the container when they let go.
            Err(still_shared) => drop(still_shared),
        }
    }
}
