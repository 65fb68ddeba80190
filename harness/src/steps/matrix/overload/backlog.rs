//! The consumer's overload cell: it pulls, so nobody can be refused a 429 and its overload is
//! a backlog — its consumption rate measured on a first backlog written straight into its
//! stream, then events arriving at four times that rate, every one processed once within the
//! memory limit.

use std::{
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use cucumber::when;
use harness::memory;

use super::{matrix_process, note, OFFERED_SHARE, OVERLOAD_FACTOR, RSS_INTERVAL};
use crate::steps::world::MockVideoWorld;

/// Events written to the stream per pipelined round trip while a backlog arrives.
const BACKLOG_BATCH_EVERY: Duration = Duration::from_millis(50);
/// Longest a backlog may take to drain (the cell fails after it).
const DRAIN_LIMIT: Duration = Duration::from_secs(60);

/// `count` events numbered from `first`: each one's description and its JSON as the producer
/// writes it, made before they are sent so that making them does not limit the rate.
fn prepare_events(world: &MockVideoWorld, first: u64, count: u64) -> Vec<(String, String)> {
    (first..first + count)
        .map(|n| {
            let description = world.events.labelled(&format!("backlog-{n}"));
            let json =
                events::notification::NotificationMessage::new(description.clone()).to_json();
            (description, json)
        })
        .collect()
}

/// Appends `prepared` events straight to the scenario's stream, as the producer would
/// (`XADD <stream> * EventStream <json>`, one script call for the lot, so that the generator
/// is not what limits the rate). The caller counts them as accepted ([`accept`]).
async fn append_events(
    world: &MockVideoWorld,
    conn: &mut redis::aio::MultiplexedConnection,
    prepared: &[(String, String)],
) -> anyhow::Result<()> {
    const APPEND: &str =
        "for i = 1, #ARGV do redis.call('XADD', KEYS[1], '*', KEYS[2], ARGV[i]) end return #ARGV";
    let mut call = redis::cmd("EVAL");
    call.arg(APPEND)
        .arg(2)
        .arg(&world.events.stream)
        .arg(events::notification::EVENT_FIELD);
    for (_, json) in prepared {
        call.arg(json);
    }
    let appended: usize = call.query_async(conn).await?;
    anyhow::ensure!(
        appended == prepared.len(),
        "appended {appended} of {} events",
        prepared.len()
    );
    Ok(())
}

/// Counts `prepared` events as accepted, for the ledger.
fn accept(world: &mut MockVideoWorld, prepared: Vec<(String, String)>) {
    world
        .events
        .accepted
        .extend(prepared.into_iter().map(|(description, _)| description));
}

/// The consumer group's count of processed records.
async fn processed_count(
    world: &MockVideoWorld,
    conn: &mut redis::aio::MultiplexedConnection,
) -> u64 {
    use redis::AsyncCommands as _;
    let key =
        events::consumer::record::processed_count_key(&world.events.stream, world.events.group());
    conn.get::<_, Option<u64>>(key)
        .await
        .ok()
        .flatten()
        .unwrap_or(0)
}

/// Waits (at most [`DRAIN_LIMIT`]) until the group has processed `target` records; how long
/// it took.
async fn drained(
    world: &MockVideoWorld,
    conn: &mut redis::aio::MultiplexedConnection,
    target: u64,
) -> anyhow::Result<Duration> {
    let begin = Instant::now();
    loop {
        let done = processed_count(world, conn).await;
        if done >= target {
            return Ok(begin.elapsed());
        }
        anyhow::ensure!(
            begin.elapsed() < DRAIN_LIMIT,
            "the consumer processed {done} of {target} events in {DRAIN_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[when(expr = "its consumption rate is measured with a backlog of {int} events")]
async fn consumption_rate(world: &mut MockVideoWorld, count: u64) -> anyhow::Result<()> {
    let mut conn = world.events.conn().await;
    let before = processed_count(world, &mut conn).await;
    let first = world.overload.next.fetch_add(count, Ordering::Relaxed);
    let prepared = prepare_events(world, first, count);
    append_events(world, &mut conn, &prepared).await?;
    accept(world, prepared);
    let took = drained(world, &mut conn, before + count).await?;
    let rate = count as f64 / took.as_secs_f64();
    world.overload.capacity = rate;
    world.overload.workload = "events".into();
    note(
        world,
        format!(
            "consumption rate {rate:.0}/s ({count} events in {:.2} s)",
            took.as_secs_f64()
        ),
    );
    Ok(())
}

#[when(expr = "a backlog arrives at four times its consumption rate for {int} seconds")]
async fn backlog(world: &mut MockVideoWorld, seconds: u64) -> anyhow::Result<()> {
    let window = Duration::from_secs(seconds);
    let rate = (world.overload.capacity * OVERLOAD_FACTOR).round() as u32;
    let process = matrix_process(world);
    let pid = process
        .child
        .pid()
        .ok_or_else(|| anyhow::anyhow!("{} is not running", process.service))?;
    let limit = process.memory_limit_kib;
    let mut conn = world.events.conn().await;
    let total = (f64::from(rate) * window.as_secs_f64()).round() as u64;
    let first = world.overload.next.fetch_add(total, Ordering::Relaxed);
    let prepared = prepare_events(world, first, total);
    let before = processed_count(world, &mut conn).await;
    memory::reset_peak(pid);
    let sampler = memory::Sampler::start(pid, RSS_INTERVAL);
    let begin = Instant::now();
    // Paced in batches: every 50 ms, what is due by then.
    let mut written = 0;
    while written < total {
        let due =
            ((begin.elapsed().as_secs_f64() / window.as_secs_f64()) * total as f64).ceil() as u64;
        let batch = due.min(total).saturating_sub(written);
        if batch > 0 {
            let from = usize::try_from(written)?;
            let to = usize::try_from(written + batch)?;
            append_events(world, &mut conn, &prepared[from..to]).await?;
            written += batch;
        }
        anyhow::ensure!(
            begin.elapsed() < window * 3,
            "could not write the backlog in time ({written} of {total})"
        );
        tokio::time::sleep(BACKLOG_BATCH_EVERY).await;
    }
    let arrived = begin.elapsed();
    accept(world, prepared);
    let behind = total.saturating_sub(
        processed_count(world, &mut conn)
            .await
            .saturating_sub(before),
    );
    let drain = drained(world, &mut conn, before + total).await;
    let samples = sampler.finish();
    let peak =
        memory::read(pid).map_or(samples.max_rss_kib, |m| m.hwm_kib.max(samples.max_rss_kib));
    world.overload.rate = rate;
    world.overload.rss_peak_kib = peak;
    let drain = drain?;
    world.cell.recover = Some(drain);
    let offered = total as f64 / arrived.as_secs_f64();
    note(
        world,
        format!(
            "backlog: {total} events at 4× = {rate}/s in {:.1} s; {behind} waiting when the last arrived, drained {:.2} s later",
            arrived.as_secs_f64(),
            drain.as_secs_f64()
        ),
    );
    note(
        world,
        format!("RSS peak {} of {}", memory::mib(peak), memory::mib(limit)),
    );
    anyhow::ensure!(
        offered >= OFFERED_SHARE * f64::from(rate),
        "the backlog arrived at only {offered:.0}/s of {rate}/s: this machine cannot write it \
         that fast next to the consumer"
    );
    Ok(())
}
