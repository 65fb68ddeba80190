//! Waiting until a Redis server answers a real `PING` with `PONG`, through the shared
//! [`crate::backing::ready`] loop.

use std::time::Duration;

use crate::backing::ready::{wait_until, Liveness, NotReady};

/// Polls `PING` on `url` every 100 ms until `PONG` comes back, `limit` passes, or the server
/// dies.
pub(super) async fn wait_for_pong(
    url: &str,
    limit: Duration,
    liveness: Liveness<'_>,
) -> Result<Duration, NotReady> {
    wait_until("`PING`", limit, liveness, || ping(url)).await
}

/// One `PING` on a fresh connection, bounded to 5 s.
pub(super) async fn ping(url: &str) -> Result<(), String> {
    let attempt = async {
        let client = redis::Client::open(url)?;
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
    };
    match tokio::time::timeout(Duration::from_secs(5), attempt).await {
        Ok(Ok(reply)) if reply == "PONG" => Ok(()),
        Ok(Ok(reply)) => Err(format!("PING answered {reply:?}")),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("no answer within 5 s".to_owned()),
    }
}
