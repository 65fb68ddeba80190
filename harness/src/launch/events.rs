//! Starts event-producer and event-consumer in-process against a Redis the harness provisioned,
//! with short timeouts so faults show quickly.

use std::time::Duration;

use anyhow::Context as _;
use events::redis_link::RedisSettings;

use super::RunningService;

/// Producer settings for `redis_url` and `stream`: free port, 1 s write timeout, 200 ms
/// reconnect interval, 1 s `Retry-After`.
pub fn producer_settings(redis_url: &str, stream: &str) -> events::producer::Settings {
    events::producer::Settings {
        port: 0,
        redis: RedisSettings::for_url(redis_url, stream),
        write_timeout: Duration::from_secs(1),
        reconnect_interval: Duration::from_millis(200),
        ..events::producer::Settings::default()
    }
}

/// Starts event-producer; its HTTP address is the service address (`/event`, `/metrics`,
/// `/livez`, `/readyz` all on it). Does not wait for Redis: poll `/readyz`.
pub async fn start_producer(
    settings: events::producer::Settings,
) -> anyhow::Result<RunningService> {
    let app = events::producer::App::build(settings)
        .await
        .context("starting event-producer in-process")?;
    let addr = app.local_addr();
    Ok(RunningService::spawn(
        "event-producer",
        addr,
        move |shutdown| app.run_until_stopped(shutdown),
    ))
}

/// Consumer settings for `redis_url`, `stream`, `group` and `consumer`: free admin port,
/// `claim_min_idle` 1 s, `claim_interval` 250 ms, `block` 200 ms, `retry_period` 200 ms.
pub fn consumer_settings(
    redis_url: &str,
    stream: &str,
    group: &str,
    consumer: &str,
) -> events::consumer::Settings {
    events::consumer::Settings {
        redis: RedisSettings::for_url(redis_url, stream),
        group: group.to_owned(),
        consumer: consumer.to_owned(),
        admin_port: 0,
        claim_min_idle: Duration::from_secs(1),
        claim_interval: Duration::from_millis(250),
        block: Duration::from_millis(200),
        retry_period: Duration::from_millis(200),
        ..events::consumer::Settings::default()
    }
}

/// Starts event-consumer; the service address and the admin address are both its admin
/// listener (`/metrics`, `/livez`, `/readyz`).
pub async fn start_consumer(
    settings: events::consumer::Settings,
) -> anyhow::Result<RunningService> {
    let app = events::consumer::App::build(settings)
        .await
        .context("starting event-consumer in-process")?;
    let admin_addr = app.admin_addr();
    Ok(
        RunningService::spawn("event-consumer", admin_addr, move |shutdown| {
            app.run_until_stopped(shutdown)
        })
        .with_admin_addr(admin_addr),
    )
}
