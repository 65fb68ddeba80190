//! Helpers shared by the integration tests: the harness's Redis, a unique stream per test,
//! bounded waits.
#![allow(dead_code, clippy::unwrap_used)]

use std::{future::Future, time::Duration};

use harness::{
    backing::{
        port::free_port,
        redis::Redis,
        wait::{wait_until, Attempt},
    },
    launch::{events::start_producer, RunningService},
};
use redis::aio::MultiplexedConnection;

/// Longest any wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// The shared Redis, a unique stream name and a connection.
pub async fn redis(name: &str) -> (&'static Redis, String, MultiplexedConnection) {
    platform::telemetry::init_for_tests();
    let redis = Redis::shared()
        .await
        .expect("a Redis server from the harness");
    let stream = format!("{}stream", redis.unique_prefix(name));
    let connection = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    (redis, stream, connection)
}

/// Polls `check` every 50 ms until it returns `Some`, failing after [`WAIT`] with `what`.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    wait_until(what, WAIT, Duration::from_millis(50), || {
        let checked = check();
        async move {
            match checked.await {
                Some(value) => Attempt::Ready(value),
                None => Attempt::Pending("not yet".to_owned()),
            }
        }
    })
    .await
    .unwrap_or_else(|error| panic!("timed out after {WAIT:?} waiting for {what}: {error}"))
}

/// Waits until `GET <base>/readyz` answers 200.
pub async fn wait_ready(base_url: &str) {
    let client = reqwest::Client::new();
    let url = format!("{base_url}/readyz");
    eventually("readiness", || {
        let request = client.get(&url).send();
        async move {
            request
                .await
                .ok()
                .filter(|response| response.status() == 200)
                .map(|_| ())
        }
    })
    .await;
}

/// A port nothing listens on.
pub fn closed_port() -> u16 {
    free_port().unwrap()
}

/// Starts event-producer with `settings` and waits until it is ready.
pub async fn ready_producer(settings: events::producer::Settings) -> RunningService {
    let producer = start_producer(settings).await.unwrap();
    wait_ready(&producer.base_url()).await;
    producer
}

/// Creates the consumer group `group` on `stream` (and the stream), reading from the start.
pub async fn create_group(connection: &mut MultiplexedConnection, stream: &str, group: &str) {
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(stream)
        .arg(group)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(connection)
        .await
        .unwrap();
}

/// Reads the new entries of `stream` as `consumer` of `group` without acknowledging them (a
/// consumer that dies after reading), at most 10.
pub async fn read_unacknowledged(
    connection: &mut MultiplexedConnection,
    stream: &str,
    group: &str,
    consumer: &str,
) {
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(group)
        .arg(consumer)
        .arg("COUNT")
        .arg(10)
        .arg("STREAMS")
        .arg(stream)
        .arg(">")
        .query_async(connection)
        .await
        .unwrap();
}
