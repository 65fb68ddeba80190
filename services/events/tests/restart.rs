//! Producer and consumer across a Redis restart (a server of their own, append-only, so the
//! data survives): both reconnect by themselves, the producer writes a new marker, nothing
//! accepted is lost or processed twice.

mod common;

use std::time::Duration;

use common::{eventually, wait_ready};
use events::{consumer::record::read_processed, notification::CREATE_FIELD};
use harness::{
    backing::{
        redis::{Redis, RedisOptions},
        wait::{wait_until, Attempt},
    },
    launch::events::{consumer_settings, producer_settings, start_consumer, start_producer},
};

#[tokio::test]
async fn producer_and_consumer_recover_from_a_redis_restart() {
    platform::telemetry::init_for_tests();
    let redis = Redis::start_with(RedisOptions { append_only: true })
        .await
        .expect("a Redis server from the harness");
    // Not skipped silently: a server we cannot restart fails the test with what to do.
    assert!(
        redis.server().container_id().is_some(),
        "this test restarts Redis, which needs the Docker provider; this Redis is {}. Start \
         dockerd (`cargo xtask bootstrap`), or leave this test out with \
         `-- --skip producer_and_consumer_recover_from_a_redis_restart`",
        redis.server().provider()
    );
    let stream = "restart:stream";
    let producer = start_producer(producer_settings(redis.url(), stream))
        .await
        .unwrap();
    let consumer = start_consumer(consumer_settings(redis.url(), stream, "g", "c1"))
        .await
        .unwrap();
    wait_ready(&producer.base_url()).await;
    let client = reqwest::Client::new();
    let post = |description: String| {
        let request = client
            .post(format!("{}/event", producer.base_url()))
            .body(format!(r#"{{"description":"{description}"}}"#))
            .send();
        async move {
            request
                .await
                .map(|response| response.status().as_u16())
                .ok()
        }
    };
    assert_eq!(post("before".to_owned()).await, Some(200));

    redis.restart().await.unwrap();
    // Requests during recovery get 200 or 503, never a hang; count the accepted ones.
    let mut accepted = vec!["before".to_owned()];
    let mut index = 0;
    let after = wait_until(
        "an event accepted after the restart",
        common::WAIT,
        Duration::from_millis(50),
        || {
            let description = format!("after {index}");
            index += 1;
            let answer = tokio::time::timeout(common::WAIT, post(description.clone()));
            async move {
                match answer.await {
                    Err(_) => Attempt::Failed(anyhow::anyhow!("an answer, not a hang")),
                    Ok(Some(200)) => Attempt::Ready(description),
                    Ok(status) => Attempt::Pending(format!("{description}: {status:?}")),
                }
            }
        },
    )
    .await
    .unwrap_or_else(|error| {
        panic!(
            "no event accepted within {:?} of the restart: {error}",
            common::WAIT
        )
    });
    accepted.push(after);

    let mut connection = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let markers: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .query_async(&mut connection)
        .await
        .unwrap();
    let marker_count = markers
        .iter()
        .filter(|(_, fields)| fields[0].0 == CREATE_FIELD)
        .count();
    assert!(
        marker_count >= 2,
        "a marker after the reconnect: {markers:?}"
    );

    let records = eventually("every accepted event processed", || {
        let mut connection = connection.clone();
        let wanted = accepted.len();
        async move {
            let records = read_processed(&mut connection, stream, "g").await.ok()?;
            (records.len() >= wanted).then_some(records)
        }
    })
    .await;
    let mut processed: Vec<String> = records.into_iter().map(|r| r.description).collect();
    processed.sort();
    accepted.sort();
    assert_eq!(processed, accepted);
    producer.stop().await.unwrap();
    consumer.stop().await.unwrap();
    redis.stop().await.unwrap();
}
