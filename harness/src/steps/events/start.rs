//! Starting things: the scenario's stream on the suite's Redis or on a Redis of its own, the
//! producer (waited on until it reports ready), in-process consumers and consumer processes, or
//! a pipeline deployed elsewhere that the scenario only posts to and observes.

use std::sync::Arc;

use cucumber::{given, when};
use events::notification::DEFAULT_STREAM;
use harness::{
    backing::redis::{Redis, RedisOptions},
    fault::backing::Backing,
    launch::process::{ChildService, ProcessSpec},
};

use super::admin::wait_for_readiness;
use crate::steps::world::{
    events::{ConsumerBounds, DeployedPipeline, GROUP},
    MockVideoWorld,
};

/// Takes the suite's Redis and a fresh stream name under a unique prefix.
pub(crate) async fn use_shared_redis(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let redis = harness::suite::redis().await?;
    world.events.stream = format!("{}{DEFAULT_STREAM}", redis.unique_prefix("events"));
    world.events.redis = Some(redis);
    world.events.own_redis = false;
    Ok(())
}

/// Starts a Redis of the scenario's own (with append-only persistence when `append_only`), and
/// a stream name.
async fn use_own_redis(world: &mut MockVideoWorld, append_only: bool) -> anyhow::Result<()> {
    let redis = Redis::start_with(RedisOptions { append_only }).await?;
    // The fault scenarios break it: fail here, in the Background, when they could not.
    Backing::of(&redis)?;
    world.events.stream = format!("{}{DEFAULT_STREAM}", redis.unique_prefix("events"));
    world.events.redis = Some(Arc::new(redis));
    world.events.own_redis = true;
    Ok(())
}

/// Starts (or restarts) the scenario's producer, points the HTTP steps at it and waits until it
/// reports ready (it connects to Redis in the background and refuses events until then).
pub(crate) async fn start_producer(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let redis_url = world
        .network
        .route_url("event-producer", "Redis", &world.events.url())
        .await?;
    let mut settings = harness::launch::events::producer_settings(&redis_url, &world.events.stream);
    settings.max_len = world.events.max_len;
    // Auth on when the scenario has a JWT secret ("the services this scenario starts have …").
    settings.auth.jwt_secret = world.auth.secret.clone();
    world.events.body_limit = settings.limits.body_limit_bytes;
    let service = harness::launch::events::start_producer(settings).await?;
    world.base_url = Some(service.base_url());
    world.events.producer = Some(service);
    wait_for_readiness(world, 200).await;
    Ok(())
}

/// Starts an in-process consumer named `name` in `group`, with the scenario's bounds;
/// `max_deliveries` overrides the default.
pub(crate) async fn start_consumer(
    world: &mut MockVideoWorld,
    name: &str,
    group: &str,
    max_deliveries: Option<u64>,
) -> anyhow::Result<()> {
    let redis_url = world
        .network
        .route_url("event-consumer", "Redis", &world.events.url())
        .await?;
    let mut settings =
        harness::launch::events::consumer_settings(&redis_url, &world.events.stream, group, name);
    world.events.bounds.apply(&mut settings);
    if let Some(max) = max_deliveries {
        settings.max_deliveries = max;
    }
    let service = harness::launch::events::start_consumer(settings).await?;
    if group != GROUP {
        world.events.other_groups.insert(group.to_owned());
    }
    world.events.consumers.insert(name.to_owned(), service);
    Ok(())
}

/// The `harness-event-consumer` binary configured like the in-process consumers, with the
/// scenario's bounds.
pub(crate) fn consumer_process_spec(
    redis_url: &str,
    stream: &str,
    name: &str,
    bounds: &ConsumerBounds,
) -> ProcessSpec {
    let spec = ProcessSpec::new(
        format!("event-consumer-{name}"),
        env!("CARGO_BIN_EXE_harness-event-consumer"),
    )
    .env("REDIS_URL", redis_url)
    .env("REDIS_STREAM", stream)
    .env("REDIS_CONSUMER_GROUP", GROUP)
    .env("REDIS_CONSUMER", name)
    .env("EVENT_CONSUMER__ADMIN_PORT", "0")
    .env("EVENT_CONSUMER__BLOCK", "200ms")
    .env("EVENT_CONSUMER__CLAIM_MIN_IDLE", "1s")
    .env("EVENT_CONSUMER__CLAIM_INTERVAL", "250ms")
    .env("EVENT_CONSUMER__RETRY_PERIOD", "200ms")
    .env(
        "EVENT_CONSUMER__SEEN_WINDOW",
        format!("{}ms", bounds.seen_window.as_millis()),
    )
    .env(
        "EVENT_CONSUMER__PROCESSED_MAX_LEN",
        bounds.processed_max_len.to_string(),
    )
    .env(
        "EVENT_CONSUMER__TRIM_STREAM",
        bounds.trim_interval.is_some().to_string(),
    )
    .env("RUST_LOG", "info");
    match bounds.trim_interval {
        Some(interval) => spec.env(
            "EVENT_CONSUMER__TRIM_INTERVAL",
            format!("{}ms", interval.as_millis()),
        ),
        None => spec,
    }
}

/// Points the events steps at a deployed pipeline: its stream and group on its Redis, the
/// producer at `producer_url` (the HTTP steps' target). Every description the scenario posts
/// starts with `label`, and only those are counted.
pub fn use_deployed(
    world: &mut MockVideoWorld,
    pipeline: DeployedPipeline,
    producer_url: String,
    label: String,
) {
    world.events.stream = pipeline.stream.clone();
    world.events.deployed = Some(pipeline);
    world.events.label = label;
    world.base_url = Some(producer_url);
}

#[given("a fresh stream on the suite's Redis")]
async fn fresh_stream(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    use_shared_redis(world).await
}

#[given("an event producer on a fresh stream")]
pub(crate) async fn producer_on_fresh_stream(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    use_shared_redis(world).await?;
    start_producer(world).await
}

#[given(expr = "an event producer on a fresh stream trimmed to {int} entries")]
async fn producer_trimmed(world: &mut MockVideoWorld, max_len: u64) -> anyhow::Result<()> {
    use_shared_redis(world).await?;
    world.events.max_len = max_len;
    start_producer(world).await
}

#[given("an event producer on a Redis of its own with persistence")]
async fn producer_own_redis(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    use_own_redis(world, true).await?;
    start_producer(world).await
}

#[given("a stream on a Redis of its own")]
async fn stream_own_redis(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    use_own_redis(world, false).await
}

#[given("an event producer on a Redis of its own")]
async fn producer_own_redis_volatile(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    use_own_redis(world, false).await?;
    start_producer(world).await
}

#[given(
    expr = "an event producer and a consumer {string} on a Redis of their own with persistence"
)]
async fn producer_and_consumer_own_redis(
    world: &mut MockVideoWorld,
    name: String,
) -> anyhow::Result<()> {
    use_own_redis(world, true).await?;
    start_producer(world).await?;
    start_consumer(world, &name, GROUP, None).await
}

#[given(expr = "a consumer {string} on that stream")]
#[when(expr = "a consumer {string} starts on that stream")]
async fn consumer_on_stream(world: &mut MockVideoWorld, name: String) -> anyhow::Result<()> {
    start_consumer(world, &name, GROUP, None).await
}

#[given(expr = "a consumer {string} of group {string} on that stream")]
#[when(expr = "a consumer {string} of group {string} starts on that stream")]
async fn consumer_of_group(
    world: &mut MockVideoWorld,
    name: String,
    group: String,
) -> anyhow::Result<()> {
    start_consumer(world, &name, &group, None).await
}

#[given(expr = "a consumer {string} on that stream that dead-letters after {int} deliveries")]
async fn consumer_with_max_deliveries(
    world: &mut MockVideoWorld,
    name: String,
    max: u64,
) -> anyhow::Result<()> {
    start_consumer(world, &name, GROUP, Some(max)).await
}

#[given(expr = "consumer processes {string} and {string} on that stream")]
async fn consumer_processes(
    world: &mut MockVideoWorld,
    first: String,
    second: String,
) -> anyhow::Result<()> {
    let redis_url = world
        .network
        .route_url("event-consumer", "Redis", &world.events.url())
        .await?;
    for name in [first, second] {
        let spec = consumer_process_spec(
            &redis_url,
            &world.events.stream,
            &name,
            &world.events.bounds,
        );
        let process = ChildService::spawn(spec)?;
        world.events.processes.insert(name, process);
    }
    Ok(())
}
