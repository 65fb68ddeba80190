//! Waiting until a MySQL server answers a real `SELECT 1`, through the shared
//! [`crate::ready`] loop.

use std::time::Duration;

use sqlx::Connection as _;

pub(super) use crate::ready::{Liveness, NotReady};

/// Polls `SELECT 1` on `url` every 100 ms until it succeeds, `limit` passes, or the server dies.
pub(super) async fn wait_for_select_1(
    url: &str,
    limit: Duration,
    liveness: Liveness<'_>,
) -> Result<Duration, NotReady> {
    crate::ready::wait_until("`SELECT 1`", limit, liveness, || select_1(url)).await
}

/// One `SELECT 1` on a fresh connection, bounded to 5 s.
pub(super) async fn select_1(url: &str) -> Result<(), String> {
    let attempt = async {
        let mut connection = sqlx::MySqlConnection::connect(url).await?;
        sqlx::query("SELECT 1").execute(&mut connection).await?;
        connection.close().await
    };
    match tokio::time::timeout(Duration::from_secs(5), attempt).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("no answer within 5 s".to_owned()),
    }
}
