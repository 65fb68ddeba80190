//! The Redis backing service end to end: provisioning (shared per test binary), key-prefix
//! isolation, streams, the ownership labels and loopback-only publishing, an append-only server
//! that keeps its data across `restart`, and clean-up by `stop`. Needs a provider (`cargo xtask
//! bootstrap` sets up Docker); the label and restart checks need the Docker provider.

#[path = "support/docker.rs"]
mod support_docker;
#[path = "support/fixed_port.rs"]
mod support_fixed_port;

use harness::backing::redis::{Redis, RedisOptions};
use redis::AsyncCommands as _;
use support_docker::container_exists;
use support_fixed_port::{
    assert_at_most_shared_left, assert_labelled_on_loopback, container_or_skip,
};

async fn connect(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .expect("a valid URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to Redis")
}

/// `(id, [(field, value)])` of every entry of `stream`.
async fn entries(
    connection: &mut redis::aio::MultiplexedConnection,
    stream: &str,
) -> Vec<(String, Vec<(String, String)>)> {
    let reply: redis::streams::StreamRangeReply =
        connection.xrange_all(stream).await.expect("XRANGE");
    reply
        .ids
        .into_iter()
        .map(|entry| {
            let mut fields: Vec<(String, String)> = entry
                .map
                .iter()
                .map(|(field, value)| {
                    (
                        field.clone(),
                        redis::from_redis_value::<String>(value).expect("a string value"),
                    )
                })
                .collect();
            fields.sort();
            (entry.id, fields)
        })
        .collect()
}

#[tokio::test]
async fn set_get_under_distinct_prefixes() {
    let redis = Redis::shared().await.expect("a Redis server");
    assert!(redis.url().starts_with("redis://"), "{}", redis.url());
    let first = redis.unique_prefix("backing test");
    let second = redis.unique_prefix("backing test");
    assert_ne!(first, second);
    let mut connection = connect(redis.url()).await;
    let _: () = connection
        .set(format!("{first}greeting"), "alpha")
        .await
        .expect("SET");
    let _: () = connection
        .set(format!("{second}greeting"), "beta")
        .await
        .expect("SET");
    let got: String = connection
        .get(format!("{first}greeting"))
        .await
        .expect("GET");
    assert_eq!(got, "alpha");
    let got: String = connection
        .get(format!("{second}greeting"))
        .await
        .expect("GET");
    assert_eq!(got, "beta");
    let missing: Option<String> = connection
        .get(format!("{}greeting", redis.unique_prefix("other")))
        .await
        .expect("GET");
    assert_eq!(missing, None);
}

#[tokio::test]
async fn a_prefixed_stream_takes_and_returns_entries() {
    let redis = Redis::shared().await.expect("a Redis server");
    let stream = format!("{}events", redis.unique_prefix("stream"));
    let mut connection = connect(redis.url()).await;
    let first: String = connection
        .xadd(&stream, "*", &[("kind", "created"), ("user", "1")])
        .await
        .expect("XADD");
    let second: String = connection
        .xadd(&stream, "*", &[("kind", "deleted"), ("user", "1")])
        .await
        .expect("XADD");
    let got = entries(&mut connection, &stream).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].0, first);
    assert_eq!(got[1].0, second);
    assert_eq!(
        got[0].1,
        vec![
            ("kind".to_owned(), "created".to_owned()),
            ("user".to_owned(), "1".to_owned())
        ]
    );
    assert_eq!(got[1].1[0], ("kind".to_owned(), "deleted".to_owned()));
}

#[tokio::test]
async fn the_container_is_labelled_and_published_on_loopback_only() {
    let redis = Redis::shared().await.expect("a Redis server");
    let Some(id) = container_or_skip(redis.server(), "the container checks") else {
        return;
    };
    assert_labelled_on_loopback(id, "redis", redis.server().port());
    assert_eq!(
        redis.url(),
        format!("redis://127.0.0.1:{}", redis.server().port())
    );
}

#[tokio::test]
async fn an_append_only_server_keeps_its_stream_across_a_restart() {
    let redis = Redis::start_with(RedisOptions { append_only: true })
        .await
        .expect("an append-only Redis server");
    assert!(redis.options().append_only);
    let Some(id) = container_or_skip(redis.server(), "the restart check").map(str::to_owned) else {
        redis.stop().await.expect("stop");
        return;
    };
    let stream = format!("{}events", redis.unique_prefix("durable"));
    let mut connection = connect(redis.url()).await;
    let added: String = connection
        .xadd(&stream, "*", &[("kind", "kept")])
        .await
        .expect("XADD");
    drop(connection);

    let started = std::time::Instant::now();
    redis.restart().await.expect("restart");
    eprintln!(
        "restart to PONG took {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let mut connection = connect(redis.url()).await;
    let got = entries(&mut connection, &stream).await;
    assert_eq!(
        got,
        vec![(added, vec![("kind".to_owned(), "kept".to_owned())])]
    );
    drop(connection);

    redis.stop().await.expect("stop");
    assert!(!container_exists(&id), "stop removed container {id}");
    let shared = Redis::shared().await.ok();
    assert_at_most_shared_left(
        "redis",
        shared.and_then(|shared| shared.server().container_id()),
    );
}
