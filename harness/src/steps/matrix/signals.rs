//! Signal cells: SIGTERM and SIGKILL while requests flow, against the service a cell started
//! with "Given <service> runs as a process of its own" ([`super::process`]). The load is
//! [`harness::load`]'s open model (a fixed arrival rate) of the service's representative READ and
//! WRITE requests ([`Requests`]); every request is logged with when it was sent and how it
//! ended, so that what happened before the signal is told apart from what happened after.
//!
//! **SIGTERM** ("When it gets SIGTERM under a steady load of …"): after a steady second and a
//! half, SIGTERM; `/readyz` is polled meanwhile. The checks ("Then it turned unready first, …"):
//! `/readyz` answered 503 while the process was still alive and serving (detect = SIGTERM → that
//! answer; the children run with a lame-duck period, [`super::process::SHUTDOWN_DELAY`], and a
//! listener closed at once would be seen as "refused"); every request sent before SIGTERM and
//! accepted succeeded (the failures, by class, are the cell's errors; a request shed at once
//! with 429 or `RESOURCE_EXHAUSTED` was not accepted); the process exited 0 within the
//! lame-duck period plus its drain deadline, the deadline each service drains for with the
//! settings the cell starts it with ([`drain_deadline`]). For event-consumer the load is events
//! posted to the producer, and "completed" means the consumer left nothing pending in its name
//! (it finishes the batch in hand).
//!
//! **SIGKILL** ("When it is SIGKILLed under a steady load of … and restarted"): after a steady
//! second and a half, SIGKILL, then the same command again at once; recover = restart → first
//! successful representative request. The checks: every write acknowledged (2xx / OK) reads back
//! afterwards (`lost`); for event-consumer every accepted event is processed exactly once
//! (`lost`, `twice`, then the events ledger's own check); for suggestions (read-only) the answer
//! after the restart is the one before, byte for byte.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use cucumber::{then, when};
use harness::{
    load::{self, LoadReport, LoadSpec},
    matrix::Service,
};
use redis::AsyncCommands as _;

use crate::steps::world::{
    events::GROUP,
    matrix::{MatrixProcess, Requests, Sent, SignalOutcome},
    MockVideoWorld,
};

/// Load before the signal.
const STEADY: Duration = Duration::from_millis(1500);
/// The whole load, signal included.
const LOAD: Duration = Duration::from_millis(4000);
/// Requests in flight at once, at most.
const IN_FLIGHT: usize = 64;
/// How often `/readyz` is asked after SIGTERM, and how long one answer may take.
const READY_POLL: Duration = Duration::from_millis(10);
const READY_ATTEMPT: Duration = Duration::from_millis(500);
/// Longest the restarted service may take to answer a representative request.
const RECOVERY_LIMIT: Duration = Duration::from_secs(30);
/// Longest the consumer may take to process what was accepted, after the load.
const DRAIN_LIMIT: Duration = Duration::from_secs(20);

/// The drain deadline of `service` as the cell starts it (defaults), and where it comes from.
pub fn drain_deadline(service: Service) -> (Duration, &'static str) {
    match service {
        Service::Accountd => (
            platform::serve::ServeOptions::default().drain_deadline,
            "platform ServeOptions::drain_deadline (accountd sets no other)",
        ),
        Service::ActivityServer => (
            activity::Settings::default().limits.drain_deadline,
            "activity limits.drain_deadline",
        ),
        Service::Movies | Service::Suggestions => (
            cinema::Settings::default().limits.request_timeout,
            "cinema limits.request_timeout (the drain deadline of the cinema services)",
        ),
        Service::EventProducer => (
            events::producer::Settings::default().limits.request_timeout,
            "event-producer limits.request_timeout (its drain deadline)",
        ),
        // No setting: it finishes the batch in hand; bounded like every other service.
        Service::EventConsumer => (
            platform::serve::ServeOptions::default().drain_deadline,
            "platform's default drain deadline (event-consumer finishes the batch in hand)",
        ),
    }
}

fn process(world: &MockVideoWorld) -> &MatrixProcess {
    world
        .matrix
        .process
        .as_ref()
        .expect("no matrix process: add \"Given <service> runs as a process of its own\"")
}

fn process_mut(world: &mut MockVideoWorld) -> &mut MatrixProcess {
    world
        .matrix
        .process
        .as_mut()
        .expect("no matrix process: add \"Given <service> runs as a process of its own\"")
}

/// The running load generator.
type LoadTask = tokio::task::JoinHandle<Result<LoadReport, load::LoadError>>;
/// Every request of the load, appended as it ends.
type RequestLog = Arc<Mutex<Vec<Sent>>>;

/// Runs the open-model load: `rate` requests a second for [`LOAD`], one in `write_every` a
/// write (never for a read-only service; `1`: writes only); every request logged.
fn start_load(
    world: &MockVideoWorld,
    requests: Requests,
    rate: u32,
    write_every: u64,
) -> (LoadTask, RequestLog) {
    let log: RequestLog = Arc::default();
    let counter = Arc::new(AtomicU64::new(0));
    let http = world.http.clone();
    let writes = requests.writes() && write_every > 0;
    let spec = LoadSpec {
        concurrency: IN_FLIGHT,
        duration: LOAD,
        max_requests: Some(u64::from(rate) * LOAD.as_secs() + u64::from(rate)),
        op_timeout: Duration::from_secs(8),
        rate: Some(rate),
        ..LoadSpec::default()
    };
    let op_log = log.clone();
    let task = tokio::spawn(load::run(spec, move || {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        let (requests, http, log) = (requests.clone(), http.clone(), op_log.clone());
        let write = writes && n.is_multiple_of(write_every);
        async move {
            let at = Instant::now();
            let outcome = if write {
                requests.write(&http, n).await.map(Some)
            } else {
                requests.read(&http).await.map(|_| None)
            };
            log.lock().expect("the request log").push(Sent {
                at,
                write,
                outcome: outcome.clone(),
            });
            outcome.map(|_| ())
        }
    }));
    (task, log)
}

/// Waits for the load and returns its report and log (a failed load is a step failure).
async fn finish_load(task: LoadTask, log: &RequestLog) -> (LoadReport, Vec<Sent>) {
    let report = task
        .await
        .expect("the load task")
        .expect("the load generator");
    let sent = std::mem::take(&mut *log.lock().expect("the request log"));
    (report, sent)
}

/// True when `pid` exists and is not a zombie (exited, not yet reaped).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat.rsplit_once(')')?.1.trim_start().chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}

/// Sends `signal` (`TERM`, `KILL`) to `pid` with kill(1).
fn signal(pid: u32, signal: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()?;
    anyhow::ensure!(status.success(), "kill -{signal} {pid}: {status}");
    Ok(())
}

/// Polls `url` until it answers anything but 200 (or `limit` passes): when, what (`503`,
/// `refused`, …) and whether `pid` was alive then.
async fn first_unready(
    http: reqwest::Client,
    url: String,
    pid: u32,
    limit: Duration,
) -> Option<(Instant, String, bool)> {
    let started = Instant::now();
    while started.elapsed() < limit {
        let answer = http.get(&url).timeout(READY_ATTEMPT).send().await;
        let at = Instant::now();
        let what = match answer {
            Ok(answer) if answer.status().as_u16() == 200 => None,
            Ok(answer) => Some(answer.status().as_u16().to_string()),
            Err(error) => Some(crate::steps::world::matrix::class_of(&error)),
        };
        if let Some(what) = what {
            return Some((at, what, alive(pid)));
        }
        tokio::time::sleep(READY_POLL).await;
    }
    None
}

/// One in how many requests is a write: `writes`/`events` every one, `reads` none, `requests,
/// one in N a write` every Nth.
fn write_every(kind: &str, every: Option<u64>) -> u64 {
    match (kind, every) {
        ("writes" | "events", _) => 1,
        ("reads", _) => 0,
        (_, Some(every)) => every,
        (_, None) => 0,
    }
}

#[when(
    regex = r"^it gets SIGTERM under a steady load of (\d+) (requests|writes|reads|events) a second(?:, one in (\d+) a write)?$"
)]
async fn sigterm_under_load(world: &mut MockVideoWorld, rate: u32, kind: String, every: String) {
    let write_every = write_every(&kind, every.parse().ok());
    let requests = process(world).requests();
    let service = requests.service;
    // The lame-duck period, then the drain.
    let deadline = super::process::SHUTDOWN_DELAY + drain_deadline(service).0;
    let (load, log) = start_load(world, requests, rate, write_every);
    tokio::time::sleep(STEADY).await;
    let process = process_mut(world);
    let pid = process.child.pid().expect("the service runs");
    let poller = tokio::spawn(first_unready(
        world_http(world),
        process_ready_url(world),
        pid,
        deadline + Duration::from_secs(2),
    ));
    let signalled_at = Instant::now();
    signal(pid, "TERM").expect("SIGTERM");
    let process = process_mut(world);
    let status = process
        .child
        .wait(deadline + Duration::from_secs(5))
        .await
        .unwrap_or_else(|error| panic!("{service} did not exit after SIGTERM: {error:#}"));
    let exited_at = Instant::now();
    let unready = poller.await.expect("the readiness poller");
    let (report, sent) = finish_load(load, &log).await;
    world.cell.p99 = Some(report.p99);
    world.matrix.signals = SignalOutcome {
        sent,
        signalled_at: Some(signalled_at),
        unready,
        exited: Some((exited_at, status)),
        drain_deadline: deadline,
        before_after: None,
    };
}

fn world_http(world: &MockVideoWorld) -> reqwest::Client {
    world.http.clone()
}

fn process_ready_url(world: &MockVideoWorld) -> String {
    process(world).ready_url.clone()
}

/// True for the class of a request the service refused at once, without accepting it.
fn is_shed(class: &str) -> bool {
    class == "429" || class == "RESOURCE_EXHAUSTED"
}

/// Classifies the requests sent before and after the signal; the failures before it go into
/// the cell's errors. Returns (sent before, failed before, sent after, failed after), where a
/// request shed at once ([`is_shed`]) does not count as failed: it was never accepted.
fn classify(world: &mut MockVideoWorld) -> (usize, usize, usize, usize) {
    let outcome = &world.matrix.signals;
    let at = outcome.signalled_at.expect("a signal was sent");
    let mut before: BTreeMap<String, u64> = BTreeMap::new();
    let mut after: BTreeMap<String, u64> = BTreeMap::new();
    let (mut sent_before, mut sent_after) = (0, 0);
    for sent in &outcome.sent {
        let (count, classes) = if sent.at < at {
            (&mut sent_before, &mut before)
        } else {
            (&mut sent_after, &mut after)
        };
        *count += 1;
        if let Err(class) = &sent.outcome {
            *classes.entry(class.clone()).or_default() += 1;
        }
    }
    // A request shed at once (429 + Retry-After, RESOURCE_EXHAUSTED) was not accepted.
    let failed_before = before
        .iter()
        .filter(|(class, _)| !is_shed(class))
        .map(|(_, count)| *count)
        .sum::<u64>() as usize;
    let failed_after = after.values().sum::<u64>() as usize;
    world.cell.errors_from(&before);
    world.cell.note(format!(
        "sent before the signal {sent_before} (failed {failed_before}), after {sent_after} \
         (failed {failed_after}: {after:?})"
    ));
    println!(
        "[matrix] before the signal: {sent_before} sent, failures {before:?}; after: \
         {sent_after} sent, failures {after:?}"
    );
    (sent_before, failed_before, sent_after, failed_after)
}

#[then(
    "it turned unready first, every request sent before SIGTERM succeeded and it exited 0 within its drain deadline"
)]
async fn sigterm_checks(world: &mut MockVideoWorld) {
    let service = process(world).service;
    let (_, source) = drain_deadline(service);
    let deadline = world.matrix.signals.drain_deadline;
    let (sent_before, failed_before, _, _) = classify(world);
    let outcome = &world.matrix.signals;
    let signalled_at = outcome.signalled_at.expect("SIGTERM was sent");
    let (exited_at, status) = outcome.exited.expect("the process exited");
    let exit_after = exited_at - signalled_at;
    let unready = outcome.unready.clone();
    world.cell.note(format!(
        "exited {status} {:.0} ms after SIGTERM (bound {deadline:?}: the lame-duck period + \
         {source})",
        exit_after.as_secs_f64() * 1e3
    ));
    let (unready_at, what, was_alive) = unready.unwrap_or_else(|| {
        panic!(
            "/readyz answered 200 until {:?} after SIGTERM",
            deadline + Duration::from_secs(2)
        )
    });
    let detect = unready_at.saturating_duration_since(signalled_at);
    world.cell.detect = Some(detect);
    world.cell.note(format!(
        "/readyz answered {what} {:.0} ms after SIGTERM (process alive then: {was_alive})",
        detect.as_secs_f64() * 1e3
    ));
    println!(
        "[matrix] {service}: /readyz {what} {:.0} ms after SIGTERM (alive: {was_alive}); exited \
         {status} after {:.0} ms (deadline {deadline:?}, {source})",
        detect.as_secs_f64() * 1e3,
        exit_after.as_secs_f64() * 1e3
    );
    if service == Service::EventConsumer {
        consumer_left_nothing_pending(world).await;
    }
    assert!(sent_before > 0, "no request was sent before SIGTERM");
    assert!(
        was_alive && what == "503" && unready_at < exited_at,
        "{service} did not answer /readyz 503 while it was still up after SIGTERM (it answered \
         {what}; alive then: {was_alive})"
    );
    assert_eq!(
        failed_before, 0,
        "{failed_before} of {sent_before} requests sent before SIGTERM failed (429s aside): {:?}",
        world.cell.errors
    );
    assert!(status.success(), "{service} exited {status} after SIGTERM");
    assert!(
        exit_after <= deadline,
        "{service} took {exit_after:?} to exit (drain deadline {deadline:?})"
    );
}

/// The consumer finished the batch in hand: nothing is pending in its name.
async fn consumer_left_nothing_pending(world: &mut MockVideoWorld) {
    let mut conn = world.events.conn().await;
    let reply: redis::streams::StreamPendingCountReply = conn
        .xpending_consumer_count(&world.events.stream, GROUP, "-", "+", 10_000, "matrix")
        .await
        .expect("XPENDING");
    let pending = reply.ids.len();
    world
        .cell
        .note(format!("entries left pending by the consumer: {pending}"));
    assert_eq!(
        pending, 0,
        "the consumer exited with {pending} entries read and not acknowledged"
    );
}

#[when(
    regex = r"^it is SIGKILLed under a steady load of (\d+) (requests|writes|reads|events) a second(?:, one in (\d+) a write)?, and restarted$"
)]
async fn sigkill_under_load(world: &mut MockVideoWorld, rate: u32, kind: String, every: String) {
    let write_every = write_every(&kind, every.parse().ok());
    let requests = process(world).requests();
    let service = requests.service;
    let before = if service == Service::Suggestions {
        Some(
            requests
                .read(&world.http)
                .await
                .unwrap_or_else(|class| panic!("the read before the kill failed: {class}")),
        )
    } else {
        None
    };
    let (load, log) = start_load(world, requests.clone(), rate, write_every);
    tokio::time::sleep(STEADY).await;
    let killed_at = Instant::now();
    let process = process_mut(world);
    process.child.kill().await.expect("SIGKILL");
    if service == Service::EventConsumer {
        world.events.kills += 1;
    }
    let process = process_mut(world);
    process.child.start().expect("restarting the service");
    let restarted_at = Instant::now();
    // The first success of a representative request after the restart.
    let http = world.http.clone();
    let probe_write = requests.writes() && service != Service::EventConsumer;
    let mut attempt: u64 = 0;
    let (recovered, since_kill) = loop {
        attempt += 1;
        let ok = if probe_write {
            // A unique write far above the load's numbers.
            requests.write(&http, 1_000_000 + attempt).await.is_ok()
        } else if service == Service::EventConsumer {
            let ready = http.get(&requests.ready_url).send().await;
            ready.is_ok_and(|answer| answer.status().is_success())
        } else {
            requests.read(&http).await.is_ok()
        };
        if ok {
            break (restarted_at.elapsed(), killed_at.elapsed());
        }
        assert!(
            restarted_at.elapsed() < RECOVERY_LIMIT,
            "{service} did not answer within {RECOVERY_LIMIT:?} of its restart; log:\n{}",
            process_mut(world).child.log_tail(30)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    world.cell.recover = Some(recovered);
    let (report, sent) = finish_load(load, &log).await;
    world.cell.p99 = Some(report.p99);
    let after = match before {
        Some(before) => {
            let after = requests
                .read(&world.http)
                .await
                .unwrap_or_else(|class| panic!("the read after the restart failed: {class}"));
            Some((before, after))
        }
        None => None,
    };
    println!(
        "[matrix] {service}: SIGKILL, restarted, first success {:.0} ms after the restart \
         ({:.0} ms after the kill)",
        recovered.as_secs_f64() * 1e3,
        since_kill.as_secs_f64() * 1e3
    );
    world.matrix.signals = SignalOutcome {
        sent,
        signalled_at: Some(killed_at),
        unready: None,
        exited: None,
        drain_deadline: Duration::ZERO,
        before_after: after,
    };
}

#[then("nothing it acknowledged was lost")]
async fn nothing_lost(world: &mut MockVideoWorld) {
    let service = process(world).service;
    classify_all(world);
    let acknowledged: Vec<String> = world
        .matrix
        .signals
        .sent
        .iter()
        .filter(|sent| sent.write)
        .filter_map(|sent| sent.outcome.clone().ok().flatten())
        .collect();
    assert!(
        !acknowledged.is_empty(),
        "no write was acknowledged: nothing to check"
    );
    match service {
        Service::EventConsumer => consumer_exactly_once(world, &acknowledged).await,
        _ => {
            let requests = process(world).requests();
            let mut lost = Vec::new();
            for key in &acknowledged {
                let found = requests
                    .read_back(&world.http, key)
                    .await
                    .unwrap_or_else(|error| panic!("reading back {key}: {error:#}"));
                if !found {
                    lost.push(key.clone());
                }
            }
            world.cell.lost = Some(lost.len() as u64);
            world.cell.note(format!(
                "{} acknowledged writes read back, {} missing",
                acknowledged.len(),
                lost.len()
            ));
            println!(
                "[matrix] {service}: {} acknowledged writes, lost {}",
                acknowledged.len(),
                lost.len()
            );
            assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
        }
    }
}

/// Every failure of the load, by class, into the cell's errors (a kill refuses and resets
/// requests: that is what the caller sees).
fn classify_all(world: &mut MockVideoWorld) {
    let mut classes: BTreeMap<String, u64> = BTreeMap::new();
    for sent in &world.matrix.signals.sent {
        if let Err(class) = &sent.outcome {
            *classes.entry(class.clone()).or_default() += 1;
        }
    }
    world.cell.errors_from(&classes);
    let total = world.matrix.signals.sent.len();
    world
        .cell
        .note(format!("{total} requests sent, failures {classes:?}"));
}

/// The events the producer acknowledged, each processed exactly once by the consumer group:
/// counts from the processed record into `lost` and `twice`, then the events ledger's check.
async fn consumer_exactly_once(world: &mut MockVideoWorld, acknowledged: &[String]) {
    use events::consumer::record::{decode_processed, processed_key};
    world.events.accepted.extend(acknowledged.iter().cloned());
    let key = processed_key(&world.events.stream, GROUP);
    let mut conn = world.events.conn().await;
    let started = Instant::now();
    let (lost, twice) = loop {
        let items: Vec<String> = conn.lrange(&key, 0, -1).await.expect("LRANGE");
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for item in &items {
            let record = decode_processed(item).expect("a processed record");
            *counts.entry(record.description).or_default() += 1;
        }
        let lost = acknowledged
            .iter()
            .filter(|description| !counts.contains_key(*description))
            .count() as u64;
        let twice = counts.values().filter(|count| **count > 1).count() as u64;
        if lost == 0 || started.elapsed() > DRAIN_LIMIT {
            break (lost, twice);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    world.cell.lost = Some(lost);
    world.cell.twice = Some(twice);
    println!(
        "[matrix] event-consumer: {} accepted, lost {lost}, applied twice {twice}",
        acknowledged.len()
    );
    crate::steps::events::exactly_once_in(world, GROUP).await;
}

#[then("its answer after the restart is the one before")]
fn same_answer(world: &mut MockVideoWorld) {
    classify_all(world);
    let (before, after) = world
        .matrix
        .signals
        .before_after
        .clone()
        .expect("a read before the kill and after the restart");
    world.cell.note(format!(
        "answer before the kill and after the restart: {} and {} bytes",
        before.len(),
        after.len()
    ));
    assert_eq!(
        String::from_utf8_lossy(&after),
        String::from_utf8_lossy(&before),
        "the answer changed across the restart"
    );
    assert!(!before.is_empty(), "an empty answer proves nothing");
}
