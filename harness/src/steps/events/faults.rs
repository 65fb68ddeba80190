//! Faults: the scenario's own Redis stopped, paused, restarted and repaired, the producer
//! restarted, and what the producer and consumers answer meanwhile.

use std::time::Instant;

use anyhow::Context as _;
use cucumber::{then, when};
use harness::fault::{backing::Backing, service::Service, Fault, Target as _};

use super::{
    admin::{wait_for_consumer_readiness, wait_for_readiness},
    post::post_event,
    start::start_producer,
};
use crate::steps::world::MockVideoWorld;

/// Injects or undoes the Redis fault a step names (`restarted`, `stopped`, …) on the scenario's
/// own Redis; a repaired or restarted Redis answers `PING` before this returns.
pub(super) async fn redis_fault(world: &mut MockVideoWorld, action: &str) -> anyhow::Result<()> {
    assert!(
        world.events.own_redis,
        "faults are only injected into a Redis of the scenario's own"
    );
    let mut redis = Backing::of(world.events.redis())?;
    let applied = match action {
        "restarted" => redis.inject(Fault::Restart).await?,
        "stopped" => redis.inject(Fault::Stop).await?,
        "paused" => redis.inject(Fault::Pause).await?,
        "started again" => redis.undo(Fault::Stop).await?,
        "unpaused" => redis.undo(Fault::Pause).await?,
        other => anyhow::bail!("unknown Redis fault {other:?}"),
    };
    println!(
        "[events] Redis {action} in {:.2} s",
        applied.took.as_secs_f64()
    );
    Ok(())
}

#[when(regex = r"^Redis is (restarted|stopped|paused|started again|unpaused)$")]
async fn redis_is(world: &mut MockVideoWorld, action: String) -> anyhow::Result<()> {
    redis_fault(world, &action).await
}

#[when("the producer is restarted")]
async fn producer_restarted(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    if let Some(producer) = world.events.producer.take() {
        Service::new(producer)
            .inject(Fault::Stop)
            .await
            .context("stopping the producer")?;
    }
    start_producer(world).await
}

#[then("the producer reports ready")]
async fn producer_reports_ready(world: &mut MockVideoWorld) {
    wait_for_readiness(world, 200).await;
}

#[then(expr = "consumer {string} reports ready")]
async fn consumer_reports_ready(world: &mut MockVideoWorld, consumer: String) {
    wait_for_consumer_readiness(world, &consumer).await;
}

/// Waits for the producer's `/readyz` to answer `want`, then prints after how long it `says` so.
async fn print_readiness(world: &mut MockVideoWorld, want: u16, says: &str) {
    let took = wait_for_readiness(world, want).await;
    println!("[events] producer {says} after {:.2} s", took.as_secs_f64());
}

#[when("the producer is ready again")]
async fn producer_ready_again(world: &mut MockVideoWorld) {
    print_readiness(world, 200, "ready again").await;
}

#[then("the producer reports not ready")]
async fn producer_not_ready(world: &mut MockVideoWorld) {
    print_readiness(world, 503, "reported not ready").await;
}

#[then(
    expr = "{int} events posted while Redis is down are each refused with 503, Retry-After and a JSON error"
)]
async fn refused_while_down(world: &mut MockVideoWorld, count: usize) {
    let mut latencies = Vec::with_capacity(count);
    for n in 1..=count {
        let started = Instant::now();
        // The client timeout (30 s) is far above the producer's write timeout: a hang fails
        // the step as a transport error, a slow answer is only printed.
        post_event(world, &format!("down-{n}")).await;
        latencies.push(started.elapsed());
        let last = world.last();
        assert_eq!(
            last.status,
            503,
            "post {n} while Redis is down: {}",
            last.text()
        );
        assert!(
            last.headers.contains_key("retry-after"),
            "no Retry-After: {:?}",
            last.headers
        );
        let json = last.json().expect("a JSON error body");
        assert!(json.pointer("/error/code").is_some(), "error shape: {json}");
    }
    latencies.sort();
    println!(
        "[events] {count} posts while Redis was down: all 503; latency min {:.0} ms, median {:.0} ms, max {:.0} ms",
        latencies[0].as_secs_f64() * 1e3,
        latencies[count / 2].as_secs_f64() * 1e3,
        latencies[count - 1].as_secs_f64() * 1e3
    );
}
