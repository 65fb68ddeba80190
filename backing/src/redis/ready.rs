//! Waiting until a Redis server answers a real `PING` with `PONG`, through the shared
//! [`crate::ready`] loop.

use std::time::Duration;

use crate::ready::Probe;

/// A Redis server is ready once `PING` answers `PONG`.
pub(super) struct Pong;

impl Probe for Pong {
    const KIND: &'static str = "redis";
    const DISPLAY: &'static str = "Redis";
    const REQUEST: &'static str = "PING";

    fn local_url(port: u16) -> String {
        format!("redis://127.0.0.1:{port}")
    }

    fn check(url: &str) -> impl std::future::Future<Output = Result<(), String>> + Send {
        ping(url)
    }
}

/// One `PING` on a fresh connection, bounded to 5 s.
async fn ping(url: &str) -> Result<(), String> {
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
