//! HTTP details the generic steps do not cover: headers by substring, the consumers' admin
//! endpoints, metrics, and waiting for the producer and consumers to report ready.

use std::time::{Duration, Instant};

use cucumber::{then, when};
use harness::{
    backing::wait::{wait_until, Attempt},
    launch::RunningService,
};

use crate::steps::{
    http::{request, send},
    world::MockVideoWorld,
};

/// Longest the producer may take to report ready again after a fault was undone.
const RECOVERY_LIMIT: Duration = Duration::from_secs(60);

#[then(expr = "the response header {string} contains {string}")]
fn header_contains(world: &mut MockVideoWorld, name: String, needle: String) {
    let last = world.last();
    let value = last
        .header(&name)
        .unwrap_or_else(|| panic!("no header {name} in {:?}", last.headers));
    assert!(value.contains(&needle), "{name}: {value:?}");
}

/// The base URL of a consumer's admin listener.
fn admin_url(world: &MockVideoWorld, consumer: &str) -> String {
    world
        .events
        .consumers
        .get(consumer)
        .and_then(RunningService::admin_url)
        .unwrap_or_else(|| panic!("no in-process consumer {consumer} with an admin listener"))
}

/// GETs `path` on a consumer's admin listener into the last exchange.
async fn get_admin(world: &mut MockVideoWorld, consumer: &str, path: &str) {
    let admin = admin_url(world, consumer);
    let producer = world.base_url.replace(admin);
    send(world, "GET", path, None, None).await;
    world.base_url = producer;
}

/// Polls the producer's `/readyz` until it answers `want` (bounded); returns how long that took.
pub async fn wait_for_readiness(world: &mut MockVideoWorld, want: u16) -> Duration {
    let base = world.base_url().to_owned();
    wait_for_readyz(world, "the producer", &base, want).await
}

/// Polls a consumer's `/readyz` on its admin listener until it answers 200 (bounded).
pub(super) async fn wait_for_consumer_readiness(world: &mut MockVideoWorld, consumer: &str) {
    let admin = admin_url(world, consumer);
    wait_for_readyz(world, &format!("consumer {consumer}"), &admin, 200).await;
}

/// Polls `GET {base}/readyz` of `who` every 100 ms until it answers `want`, at most
/// [`RECOVERY_LIMIT`]; the answer becomes the last exchange. Returns how long that took.
async fn wait_for_readyz(world: &mut MockVideoWorld, who: &str, base: &str, want: u16) -> Duration {
    let started = Instant::now();
    let url = format!("{base}/readyz");
    let http = &world.http;
    let what = format!("{who}'s /readyz answering {want}");
    let answer = wait_until(
        &what,
        RECOVERY_LIMIT,
        Duration::from_millis(100),
        || async {
            let answer = request(http, "GET", &url, None, None).await;
            if answer.status == want {
                Attempt::Ready(answer)
            } else {
                Attempt::Pending(format!("/readyz answered {}", answer.status))
            }
        },
    )
    .await
    .unwrap_or_else(|error| panic!("{error}"));
    world.last = Some(answer);
    started.elapsed()
}

#[when(expr = "I ask consumer {string} for {string}")]
async fn ask_consumer(world: &mut MockVideoWorld, consumer: String, path: String) {
    get_admin(world, &consumer, &path).await;
}

#[then(expr = "the producer's metric {string} is at least {int}")]
async fn producer_metric(world: &mut MockVideoWorld, name: String, at_least: u64) {
    send(world, "GET", "/metrics", None, None).await;
    assert_metric_at_least(world, &name, at_least);
}

#[then(expr = "consumer {string}'s metric {string} is at least {int}")]
async fn consumer_metric(
    world: &mut MockVideoWorld,
    consumer: String,
    name: String,
    at_least: u64,
) {
    get_admin(world, &consumer, "/metrics").await;
    assert_metric_at_least(world, &name, at_least);
}

/// Asserts that the last response is a 200 `/metrics` exposition where `name` is at least
/// `at_least`.
fn assert_metric_at_least(world: &MockVideoWorld, name: &str, at_least: u64) {
    assert_eq!(
        world.last().status,
        200,
        "/metrics: {}",
        world.last().text()
    );
    let total = metric_total(&world.last().text(), name);
    assert!(total >= at_least as f64, "{name} = {total}");
}

/// Sums the samples of a Prometheus metric (all label sets) in an exposition text.
fn metric_total(exposition: &str, name: &str) -> f64 {
    exposition
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            let value = if rest.starts_with('{') {
                rest.rsplit_once('}')?.1
            } else if rest.starts_with(' ') {
                rest
            } else {
                return None;
            };
            value.split_whitespace().next()?.parse::<f64>().ok()
        })
        .sum()
}
