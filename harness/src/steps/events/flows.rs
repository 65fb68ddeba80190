//! Flows of many events through the producer (the simulator engine), with a consumer SIGKILLed
//! at random moments or Redis restarted mid-flow, and the exactly-once accounting they end with.

use std::{
    collections::{BTreeSet, HashMap},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use cucumber::{then, when};
use events::consumer::record::processed_count_key;
use harness::{
    backing::wait::{wait_until, Attempt},
    fault::{process::Process, Fault, Target as _},
};
use redis::AsyncCommands as _;

use super::{
    faults::redis_fault,
    reads::{group_state, processed_in, wait_until_settled_in},
};
use crate::steps::world::{
    events::{EventsState, GROUP},
    MockVideoWorld,
};

/// Longest the robustness features wait for every accepted event to be processed.
const DRAIN_LIMIT: Duration = Duration::from_secs(90);
/// Most SIGKILLs one scenario sends to a consumer.
const MAX_KILLS: u32 = 10;

/// Runs the simulator against the producer: `count` events described `<prefix>-<seq>` at
/// `concurrency` (as fast as it allows), recording the accepted descriptions.
pub fn simulator_settings(
    world: &MockVideoWorld,
    count: u64,
    prefix: &str,
) -> events::simulator::Settings {
    events::simulator::Settings {
        producer_url: world.base_url().to_owned(),
        events_per_second: 0.0,
        concurrency: 16,
        duration: None,
        max_events: Some(count),
        description: format!("{prefix}-{{seq}}"),
        request_timeout: Duration::from_secs(30),
        token: None,
        // The ledger counts the producer's own answers: each event is posted once.
        retries: 0,
    }
}

/// Records a simulator report's accepted descriptions and prints its summary.
pub fn record_report(world: &mut MockVideoWorld, prefix: &str, report: &events::simulator::Report) {
    println!("[events] simulator ({prefix}): {}", report.summary());
    world.events.refused += report.failed;
    let refusals = report.statuses.iter().filter(|(status, _)| **status != 200);
    for (status, count) in refusals {
        *world.events.refusals.entry(*status).or_default() += count;
    }
    if report.transport_errors > 0 {
        *world.events.refusals.entry(0).or_default() += report.transport_errors;
    }
    world.events.accepted.extend(
        report
            .accepted_seqs
            .iter()
            .map(|seq| format!("{prefix}-{seq}")),
    );
}

#[when(expr = "{int} events flow through the producer")]
async fn events_flow(world: &mut MockVideoWorld, count: u64) -> anyhow::Result<()> {
    world.events.flows += 1;
    let prefix = world
        .events
        .labelled(&format!("flow{}", world.events.flows));
    let settings = simulator_settings(world, count, &prefix);
    let report = events::simulator::run(&settings, std::future::pending()).await?;
    record_report(world, &prefix, &report);
    Ok(())
}

/// How often [`events_added_directly`] sends a pipelined batch.
const XADD_TICK: Duration = Duration::from_millis(100);

#[when(expr = "{int} events are added straight to the stream at {int} a second")]
async fn events_added_directly(
    world: &mut MockVideoWorld,
    count: u64,
    per_second: u64,
) -> anyhow::Result<()> {
    assert!(per_second >= 10, "at least 10 events a second");
    world.events.flows += 1;
    let prefix = world
        .events
        .labelled(&format!("direct{}", world.events.flows));
    let mut conn = world.events.conn().await;
    // One pipelined batch every tick, paced from the start (a late batch does not make the
    // next one bigger).
    let batch = per_second * u64::try_from(XADD_TICK.as_millis())? / 1000;
    let started = Instant::now();
    let mut seq = 0;
    let mut tick: u32 = 0;
    while seq < count {
        tokio::time::sleep_until((started + XADD_TICK * tick).into()).await;
        tick += 1;
        let end = (seq + batch).min(count);
        let mut pipe = redis::pipe();
        for n in seq..end {
            let nm = events::notification::NotificationMessage::new(format!("{prefix}-{n}"));
            pipe.cmd("XADD")
                .arg(&world.events.stream)
                .arg("*")
                .arg(events::notification::EVENT_FIELD)
                .arg(nm.to_json());
        }
        let _: Vec<String> = pipe
            .query_async(&mut conn)
            .await
            .context("XADD of a batch of events")?;
        world
            .events
            .accepted
            .extend((seq..end).map(|n| format!("{prefix}-{n}")));
        seq = end;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "[events] {count} events added straight to the stream in {elapsed:.1} s ({:.0}/s)",
        count as f64 / elapsed.max(f64::EPSILON)
    );
    Ok(())
}

/// A random whole number in `low..=high` (uuid v4 randomness; the harness has no RNG).
fn random_between(low: u64, high: u64) -> u64 {
    let random = uuid::Uuid::new_v4().as_u128() as u64;
    low + random % (high - low + 1)
}

#[when(
    expr = "{int} events flow through the producer while consumer {string} is SIGKILLed at random moments"
)]
async fn flow_with_kills(
    world: &mut MockVideoWorld,
    count: u64,
    victim: String,
) -> anyhow::Result<()> {
    let prefix = world.events.labelled("killed");
    let settings = simulator_settings(world, count, &prefix);
    let simulator =
        tokio::spawn(
            async move { events::simulator::run(&settings, std::future::pending()).await },
        );
    let mut conn = world.events.conn().await;
    let stream = world.events.stream.clone();
    let deadline = Instant::now() + DRAIN_LIMIT;
    let mut kills = 0;
    while kills < MAX_KILLS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(random_between(100, 800))).await;
        // Keep killing while events still arrive or wait to be processed.
        let backlog = !matches!(
            group_state(&mut conn, &stream, GROUP).await,
            Some((0, true))
        );
        if simulator.is_finished() && !backlog {
            break;
        }
        let mut process = Process::new(
            world
                .events
                .processes
                .get_mut(&victim)
                .unwrap_or_else(|| panic!("no consumer process {victim}")),
        );
        process.inject(Fault::Kill).await?;
        process.undo(Fault::Kill).await?;
        kills += 1;
    }
    world.events.kills += kills;
    println!("[events] consumer {victim} SIGKILLed and restarted {kills} times");
    let report = simulator.await.context("the simulator task")??;
    record_report(world, &prefix, &report);
    Ok(())
}

#[when(expr = "{int} events flow through the producer while Redis is restarted")]
async fn flow_with_redis_restart(world: &mut MockVideoWorld, count: u64) -> anyhow::Result<()> {
    let prefix = world.events.labelled("restart");
    let mut settings = simulator_settings(world, count, &prefix);
    // A steady rate, so that the restart lands in the middle of the flow.
    settings.events_per_second = 1000.0;
    settings.concurrency = 8;
    let simulator =
        tokio::spawn(
            async move { events::simulator::run(&settings, std::future::pending()).await },
        );
    // Restart once a quarter of the events is in the stream (bounded wait).
    let conn = world.events.conn().await;
    let (stream, flow) = (&world.events.stream, &simulator);
    let quarter = wait_until(
        "a quarter of the events in the stream",
        Duration::from_secs(30),
        Duration::from_millis(20),
        || {
            let mut conn = conn.clone();
            async move {
                let len: u64 = conn.xlen(stream).await.unwrap_or(0);
                if len >= count / 4 || flow.is_finished() {
                    Attempt::Ready(())
                } else {
                    Attempt::Pending(format!("{len} of {count} events in the stream"))
                }
            }
        },
    )
    .await;
    // Not there in time: Redis is restarted wherever the flow is, and the check below tells.
    drop(quarter);
    let mid_stream = !simulator.is_finished();
    redis_fault(world, "restarted").await?;
    let report = simulator.await.context("the simulator task")??;
    assert!(
        mid_stream,
        "the simulator finished before Redis was restarted"
    );
    record_report(world, &prefix, &report);
    Ok(())
}

#[then(expr = "the flow's refused events were all answered {int}")]
fn refused_with(world: &mut MockVideoWorld, status: u16) {
    let refusals = &world.events.refusals;
    println!("[events] refused by status (0: no answer): {refusals:?}");
    assert!(
        !refusals.is_empty(),
        "no event was refused: the fault did not reach the producer"
    );
    assert!(
        refusals.keys().all(|refused| *refused == status),
        "events refused otherwise than with {status}: {refusals:?}"
    );
}

/// What the processed record says about the accepted events.
#[derive(Debug, PartialEq, Eq)]
struct Counts {
    accepted: usize,
    processed: usize,
    duplicates: usize,
    lost: usize,
    /// Processed although the producer did not answer 200 (stored, then timed out): allowed.
    unconfirmed: usize,
}

fn count(accepted: &BTreeSet<String>, descriptions: &[String]) -> Counts {
    let mut times: HashMap<&str, usize> = HashMap::new();
    for description in descriptions {
        *times.entry(description.as_str()).or_default() += 1;
    }
    let processed = accepted
        .iter()
        .filter(|d| times.contains_key(d.as_str()))
        .count();
    Counts {
        accepted: accepted.len(),
        processed,
        duplicates: times.values().map(|n| n - 1).sum(),
        lost: accepted.len() - processed,
        unconfirmed: times.keys().filter(|d| !accepted.contains(**d)).count(),
    }
}

/// The processed record of `group` for the scenario's own events (others may share the
/// stream), counted against `accepted`.
async fn own_counts(events: &EventsState, group: &str, accepted: &BTreeSet<String>) -> Counts {
    let descriptions: Vec<String> = processed_in(events, group)
        .await
        .into_iter()
        .map(|record| record.description)
        .filter(|description| description.starts_with(&events.label))
        .collect();
    count(accepted, &descriptions)
}

#[then("every accepted event is processed exactly once")]
async fn exactly_once(world: &mut MockVideoWorld) {
    let group = world.events.group().to_owned();
    exactly_once_in(world, &group).await;
}

#[then(expr = "every accepted event is processed exactly once by group {string}")]
async fn exactly_once_by(world: &mut MockVideoWorld, group: String) {
    exactly_once_in(world, &group).await;
}

/// Waits (bounded) until `group` has processed every accepted event, then checks that none was
/// lost or processed twice, and that the group has acknowledged everything.
pub(crate) async fn exactly_once_in(world: &mut MockVideoWorld, group: &str) {
    // The count of records ever appended: the list itself may be trimmed.
    let key = processed_count_key(&world.events.stream, group);
    let conn = world.events.conn().await;
    let started = Instant::now();
    let accepted = world.events.accepted.clone();
    assert!(!accepted.is_empty(), "no event was accepted");
    let (events, key, accepted) = (&world.events, &key, &accepted);
    let drained = wait_until(
        "every accepted event processed",
        DRAIN_LIMIT,
        Duration::from_millis(250),
        || {
            let mut conn = conn.clone();
            async move {
                let len: usize = conn
                    .get::<_, Option<usize>>(key)
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or(0);
                if len < accepted.len() {
                    return Attempt::Pending(format!("{len} of {} records", accepted.len()));
                }
                let counts = own_counts(events, group, accepted).await;
                if counts.lost == 0 {
                    Attempt::Ready(counts)
                } else {
                    Attempt::Pending(format!("{} accepted events not processed", counts.lost))
                }
            }
        },
    )
    .await;
    // Not drained in time: the counts as they are, and the assertions below say what is missing.
    let counts = match drained {
        Ok(counts) => counts,
        Err(_) => own_counts(events, group, accepted).await,
    };
    println!(
        "[events] {group} counts: accepted={} processed={} duplicates processed={} lost={} \
         (refused={}, stored though refused={}, consumer kills={}, drained in {:.1} s)",
        counts.accepted,
        counts.processed,
        counts.duplicates,
        counts.lost,
        world.events.refused,
        counts.unconfirmed,
        world.events.kills,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(counts.lost, 0, "accepted events never processed");
    assert_eq!(counts.duplicates, 0, "events processed more than once");
    // Applied is not enough: every entry must also be acknowledged (or dead-lettered).
    wait_until_settled_in(&world.events, group).await;
    for (name, process) in world.events.processes.iter_mut() {
        assert!(
            process.is_running(),
            "consumer process {name} exited; log:\n{}",
            process.log_tail(30)
        );
    }
}
