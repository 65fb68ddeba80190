//! Store-fault cells of the fault matrix: a service's link to its store (for suggestions: the
//! users service's links to movies, showtimes and bookings) slow, cut, half-open or reset, in one
//! vocabulary for every service, with the service named by its matrix key:
//!
//! - `Given accountd runs with its store behind a fault proxy`: the service on fresh state with
//!   short store timeouts, its store links through fault proxies of the scenario's own
//!   ([`super::super::network`] makes the faults);
//! - `When accountd's store gets slower than its store timeout` (latency of the timeout + 1 s),
//!   `… store link is cut`, `… store stops passing data`, `… store connections are reset`;
//! - what the callers see: `Then accountd answers 503 with Retry-After within its store
//!   timeout + 1 s, never a hang`, `… refuses requests with 503 with Retry-After at once while
//!   it lasts`, `Then accountd reports not ready within 2 s`, `Then accountd answers again
//!   within 5 s of the heal`, `Then a write to accountd gets …`, `Then the write to accountd is
//!   stored whole or not at all`, and for the event pipeline the ledger.
//!
//! One request of a cell ([`probe`]) is the service's cheapest read: `GET /users` (accountd),
//! `ListEvents` (activity-server, gRPC), `GET /movies`, `GET /users/{id}/suggestions`, a posted
//! event (event-producer: it has no reads), and for event-consumer, which has no request API,
//! its readiness. Each step fills the scenario's [`harness::matrix::Measurements`]: detect
//! (fault → first refused answer or readiness false), recover (heal → first success), the p99
//! of the answers during the fault, errors by class (`503`, `504`, `UNAVAILABLE`, `timeout`,
//! `reset`, …), lost and twice where a ledger applies; and prints what it measured.

use std::time::{Duration, Instant};

use cucumber::{given, then, when};
use harness::{
    fault::Fault,
    matrix::{Measurements, Service},
};

mod requests;

use self::requests::{http_call, probe, readyz_url, stored_copies, write, Answer};
use crate::steps::{
    accountd, cinema, events,
    network::inject,
    world::{events::GROUP, MockVideoWorld},
};

/// Beyond a store timeout, how long an answer may take and still not be a hang.
const SLACK: Duration = Duration::from_secs(1);
/// How long a request of a cell may take before the step calls it a hang (over the bound it
/// is checked against, so that a late answer is measured, not cut short).
const HANG: Duration = Duration::from_secs(8);
/// "Refused at once": well below every store timeout of the cells (1 s and more).
const AT_ONCE: Duration = Duration::from_millis(500);
/// "Fast again": an answer of a healed service takes at most this.
const FAST: Duration = Duration::from_millis(500);
/// How often the readiness and recovery steps ask again.
const POLL: Duration = Duration::from_millis(50);
/// How long a service of a cell may take to answer once started.
const READY_LIMIT: Duration = Duration::from_secs(15);
/// Requests a "refuses requests" step sends (one after the other).
const PROBES: usize = 3;
/// activity-server's request timeout in its cells.
const ACTIVITY_TIMEOUT: Duration = Duration::from_secs(1);
/// accountd's request timeout in its cells.
const ACCOUNTD_TIMEOUT: Duration = Duration::from_secs(1);
/// A seeded cinema user with suggestions.
const SUGGESTIONS_PATH: &str = "/users/57a98d98e4b00679b4a830b5/suggestions";
/// The deployment activity-server's probes list, and its write goes to.
const DEPLOYMENT: i32 = 1717;
/// The consumers of the event-consumer cells (the producer cells have the first only).
const CONSUMERS: [&str; 2] = ["c1", "c2"];

/// The matrix service a step names by its key.
fn service(key: &str) -> anyhow::Result<Service> {
    Service::from_key(key).ok_or_else(|| {
        anyhow::anyhow!(
            "no matrix service {key:?}: {}",
            Service::ALL.map(Service::key).join(", ")
        )
    })
}

/// The service's name in the network steps (the users service serves suggestions).
fn link_owner(service: Service) -> &'static str {
    match service {
        Service::Suggestions => "users",
        other => other.key(),
    }
}

/// The dependencies the cell's links go to.
fn stores(service: Service) -> &'static [&'static str] {
    match service {
        Service::Accountd | Service::ActivityServer => &["MySQL"],
        Service::Movies => &["MongoDB"],
        Service::Suggestions => &["movies", "showtimes", "bookings"],
        Service::EventProducer | Service::EventConsumer => &["Redis"],
    }
}

/// How long the service waits on its store before it answers an error.
fn store_timeout(world: &MockVideoWorld, service: Service) -> Duration {
    match service {
        Service::Accountd => world.accountd.request_timeout.unwrap_or(ACCOUNTD_TIMEOUT),
        Service::ActivityServer => ACTIVITY_TIMEOUT,
        Service::Movies => {
            harness::launch::cinema::settings_for("mongodb://127.0.0.1:1", "movies")
                .mongo
                .operation_timeout
        }
        Service::Suggestions => world
            .cinema
            .suggestions_timeout
            .unwrap_or(Duration::from_secs(2)),
        Service::EventProducer => {
            harness::launch::events::producer_settings("redis://127.0.0.1:1", "s").write_timeout
        }
        Service::EventConsumer => {
            harness::launch::events::consumer_settings("redis://127.0.0.1:1", "s", GROUP, "c").block
                + ::events::consumer::settings::RESPONSE_MARGIN
        }
    }
}

/// Records one answer during a fault: its error class, and (the first refused one) detection.
fn count(world: &mut MockVideoWorld, answer: &Answer) {
    if let Some(class) = &answer.error {
        world.cell.error(class.clone(), 1);
        let since = world.network.faulted_at.map(|at| at.elapsed());
        if world.cell.detect.is_none() {
            world.cell.detect = since;
        }
    }
}

/// The p99 of `took` (the largest of fewer than 100), kept when larger than what was measured.
fn keep_p99(cell: &mut Measurements, took: &[Duration]) {
    let mut sorted = took.to_vec();
    sorted.sort();
    let Some(&p99) = sorted.get((sorted.len() * 99).div_ceil(100).saturating_sub(1)) else {
        return;
    };
    cell.p99 = Some(cell.p99.map_or(p99, |before| before.max(p99)));
}

/// The error classes a step accepts: `503 with Retry-After`, `UNAVAILABLE or
/// DEADLINE_EXCEEDED`, `502 or 504`; and whether `Retry-After` must come with them.
fn expected_classes(phrase: &str) -> (Vec<String>, bool) {
    let retry_after = phrase.contains(" with Retry-After");
    let classes = phrase
        .replace(" with Retry-After", "")
        .split(" or ")
        .map(|class| class.trim().to_owned())
        .collect();
    (classes, retry_after)
}

/// Checks one answer against the expected classes and bound.
fn check_refusal(
    answer: &Answer,
    classes: &[String],
    retry_after: bool,
    bound: Duration,
    what: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        classes.iter().any(|class| class == answer.class()),
        "{what}: answered {} in {:?}, expected {}: {}",
        answer.class(),
        answer.took,
        classes.join(" or "),
        answer.detail
    );
    anyhow::ensure!(
        !retry_after || answer.retry_after,
        "{what}: {} without Retry-After: {}",
        answer.class(),
        answer.detail
    );
    let http_status = answer.class().parse::<u16>().is_ok();
    anyhow::ensure!(
        !http_status || answer.json_error,
        "{what}: {} is not the JSON error shape: {}",
        answer.class(),
        answer.detail
    );
    anyhow::ensure!(
        answer.took <= bound,
        "{what}: answered {} after {:?}, over the bound {bound:?}",
        answer.class(),
        answer.took
    );
    Ok(())
}

/// Injects `fault` into every store link of the cell.
async fn fault_stores(
    world: &mut MockVideoWorld,
    service: Service,
    fault: Fault,
) -> anyhow::Result<()> {
    world.cell.detect = None;
    let owner = [link_owner(service)];
    let mut began = None;
    for store in stores(service) {
        inject(world, Some(&owner), Some(store), fault).await?;
        began = began.or(world.network.faulted_at);
    }
    // One fault over every link, begun with the first.
    world.network.faulted_at = began;
    Ok(())
}

#[given(regex = r"^(\S+) runs with its store behind a fault proxy$")]
async fn behind_a_fault_proxy(world: &mut MockVideoWorld, key: String) -> anyhow::Result<()> {
    let service = service(&key)?;
    for store in stores(service) {
        world.network.want(link_owner(service), store);
    }
    match service {
        Service::Accountd => {
            world.accountd.request_timeout = Some(ACCOUNTD_TIMEOUT);
            accountd::accountd_with_test_data(world).await?;
        }
        Service::ActivityServer => start_activity(world).await?,
        Service::Movies => {
            cinema::services::start_services(world, &["movies"], false, true).await?
        }
        Service::Suggestions => {
            cinema::services::start_services(world, &cinema::services::four(), false, true).await?
        }
        Service::EventProducer => {
            events::producer_on_fresh_stream(world).await?;
            events::start_consumer(world, CONSUMERS[0], GROUP, None).await?;
        }
        Service::EventConsumer => {
            events::producer_on_fresh_stream(world).await?;
            for consumer in CONSUMERS {
                events::start_consumer(world, consumer, GROUP, None).await?;
            }
        }
    }
    // Answering before the fault (the consumers connect in the background): a cell that
    // cannot pass before it cannot measure anything.
    let deadline = Instant::now() + READY_LIMIT;
    let first = loop {
        let answer = probe(world, service).await?;
        if answer.ok() || Instant::now() >= deadline {
            break answer;
        }
        tokio::time::sleep(POLL).await;
    };
    anyhow::ensure!(
        first.ok(),
        "{service} does not answer before the fault: {} {}",
        first.class(),
        first.detail
    );
    println!(
        "[matrix] {service} answers through its store link(s) ({:.0} ms); store timeout {:?}",
        first.took.as_secs_f64() * 1e3,
        store_timeout(world, service)
    );
    Ok(())
}

/// activity-server on a fresh database, its MySQL link through the scenario's fault proxy.
async fn start_activity(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let mysql = harness::suite::mysql().await?;
    let db = mysql.create_database("activity").await?;
    world.databases.push(db.clone());
    world.activity.db = Some(db.clone());
    let mut settings = harness::launch::activity::settings_for(&db);
    settings.limits.request_timeout = ACTIVITY_TIMEOUT;
    (settings.db.host, settings.db.port) = world
        .network
        .route_host_port(
            "activity-server",
            "MySQL",
            &settings.db.host,
            settings.db.port,
        )
        .await?;
    let service = harness::launch::activity::start_with(settings).await?;
    world.activity.grpc_url = Some(service.base_url());
    world.base_url = service.admin_url();
    world.services.push(service);
    Ok(())
}

#[when(regex = r"^(\S+?)'s? store gets slower than its store timeout$")]
async fn store_slow(world: &mut MockVideoWorld, key: String) -> anyhow::Result<()> {
    let service = service(&key)?;
    let millis = u64::try_from((store_timeout(world, service) + SLACK).as_millis())?;
    fault_stores(world, service, Fault::Latency { millis }).await
}

#[when(regex = r"^(\S+?)'s? store link is cut$")]
async fn store_cut(world: &mut MockVideoWorld, key: String) -> anyhow::Result<()> {
    fault_stores(world, service(&key)?, Fault::Cut).await
}

#[when(regex = r"^(\S+?)'s? store stops passing data$")]
async fn store_half_open(world: &mut MockVideoWorld, key: String) -> anyhow::Result<()> {
    fault_stores(world, service(&key)?, Fault::Blackhole).await
}

#[when(regex = r"^(\S+?)'s? store connections are reset$")]
async fn store_reset(world: &mut MockVideoWorld, key: String) -> anyhow::Result<()> {
    fault_stores(world, service(&key)?, Fault::Reset).await
}

/// Sends [`PROBES`] requests; each must be refused with one of `classes` within `bound`.
async fn refused(
    world: &mut MockVideoWorld,
    service: Service,
    phrase: &str,
    bound: Duration,
    what: &str,
) -> anyhow::Result<()> {
    let (classes, retry_after) = expected_classes(phrase);
    let mut took = Vec::with_capacity(PROBES);
    for n in 1..=PROBES {
        let answer = probe(world, service).await?;
        count(world, &answer);
        took.push(answer.took);
        println!(
            "[matrix] {service} request {n} during the fault: {} in {:.0} ms",
            answer.class(),
            answer.took.as_secs_f64() * 1e3
        );
        check_refusal(
            &answer,
            &classes,
            retry_after,
            bound,
            &format!("{service} request {n} {what}"),
        )?;
    }
    keep_p99(&mut world.cell, &took);
    Ok(())
}

#[then(regex = r"^(\S+) answers (.+) within its store timeout \+ 1 s, never a hang$")]
async fn answers_within_timeout(
    world: &mut MockVideoWorld,
    key: String,
    phrase: String,
) -> anyhow::Result<()> {
    let service = service(&key)?;
    let bound = store_timeout(world, service) + SLACK;
    refused(world, service, &phrase, bound, "during the fault").await
}

#[then(regex = r"^(\S+) refuses requests with (.+) at once while it lasts$")]
async fn refused_at_once(
    world: &mut MockVideoWorld,
    key: String,
    phrase: String,
) -> anyhow::Result<()> {
    let service = service(&key)?;
    refused(world, service, &phrase, AT_ONCE, "while the link is cut").await
}

#[then(regex = r"^(\S+) reports not ready within (\d+ s|its store timeout \+ 1 s)$")]
async fn not_ready_within(
    world: &mut MockVideoWorld,
    key: String,
    bound: String,
) -> anyhow::Result<()> {
    let service = service(&key)?;
    let limit = match bound.strip_suffix(" s").and_then(|secs| secs.parse().ok()) {
        Some(secs) => Duration::from_secs(secs),
        None => store_timeout(world, service) + SLACK,
    };
    let faulted_at = world
        .network
        .faulted_at
        .ok_or_else(|| anyhow::anyhow!("no fault in this scenario yet"))?;
    let url = readyz_url(world, service)?;
    // Asked until well past the bound, so that a late detection is measured, not only failed.
    let deadline = faulted_at + limit + HANG;
    let mut last = String::new();
    let detected = loop {
        let answer = http_call(&world.http, reqwest::Method::GET, &url, None).await;
        if !answer.ok() {
            break Some(faulted_at.elapsed());
        }
        last = format!("{} in {:?}", answer.class(), answer.took);
        if Instant::now() >= deadline {
            break None;
        }
        tokio::time::sleep(POLL).await;
    };
    let Some(detected) = detected else {
        anyhow::bail!(
            "{service} still reported ready {:?} after the fault (last: {last})",
            faulted_at.elapsed()
        );
    };
    println!(
        "[matrix] {service} reported not ready {:.2} s after the fault",
        detected.as_secs_f64()
    );
    world.cell.detect = Some(
        world
            .cell
            .detect
            .map_or(detected, |before| before.min(detected)),
    );
    anyhow::ensure!(
        detected <= limit,
        "{service} reported not ready only {detected:?} after the fault (bound {limit:?})"
    );
    Ok(())
}

/// Asks until the first success after the heal; how long after the heal it came, and the
/// answer. Bounded by `limit` + [`HANG`].
async fn first_success(
    world: &mut MockVideoWorld,
    service: Service,
    limit: Duration,
    fast: bool,
) -> anyhow::Result<(Duration, Answer)> {
    let healed_at = world.network.healed_at.ok_or_else(|| {
        anyhow::anyhow!("no link has healed in this scenario: add \"When the link heals\"")
    })?;
    let deadline = healed_at + limit + HANG;
    loop {
        let answer = probe(world, service).await?;
        if answer.ok() && (!fast || answer.took <= FAST) {
            return Ok((healed_at.elapsed(), answer));
        }
        if Instant::now() >= deadline {
            anyhow::bail!(
                "{service} did not answer {}successfully within {:?} of the heal: last {} in {:?} {}",
                if fast { "fast and " } else { "" },
                healed_at.elapsed(),
                answer.class(),
                answer.took,
                answer.detail
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

#[then(regex = r"^(\S+) (answers|answers fast|is ready) again within (\d+) s of the heal$")]
async fn again_within(
    world: &mut MockVideoWorld,
    key: String,
    how: String,
    limit: u64,
) -> anyhow::Result<()> {
    let service = service(&key)?;
    let limit = Duration::from_secs(limit);
    let fast = how == "answers fast";
    let (recovered, answer) = first_success(world, service, limit, fast).await?;
    println!(
        "[matrix] {service} {how} again {:.2} s after the heal (that answer took {:.0} ms), \
         without a restart",
        recovered.as_secs_f64(),
        answer.took.as_secs_f64() * 1e3
    );
    world.cell.recover = Some(recovered);
    anyhow::ensure!(
        recovered <= limit,
        "{service} {how} again only {recovered:?} after the heal (bound {limit:?})"
    );
    Ok(())
}

#[then(regex = r"^the next (\d+) requests to (\S+) succeed$")]
async fn next_succeed(world: &mut MockVideoWorld, count: usize, key: String) -> anyhow::Result<()> {
    let service = service(&key)?;
    for n in 1..=count {
        let answer = probe(world, service).await?;
        anyhow::ensure!(
            answer.ok(),
            "{service} request {n} after the recovery: {} in {:?} {}",
            answer.class(),
            answer.took,
            answer.detail
        );
    }
    println!("[matrix] the next {count} requests to {service} succeeded");
    Ok(())
}

#[then(regex = r"^a write to (\S+) gets (.+) within its store timeout \+ 1 s$")]
async fn write_refused(
    world: &mut MockVideoWorld,
    key: String,
    phrase: String,
) -> anyhow::Result<()> {
    let service = service(&key)?;
    let bound = store_timeout(world, service) + SLACK;
    let (classes, retry_after) = expected_classes(&phrase);
    let answer = write(world, service).await?;
    count(world, &answer);
    keep_p99(&mut world.cell, &[answer.took]);
    println!(
        "[matrix] a write to {service} during the reset: {} in {:.0} ms",
        answer.class(),
        answer.took.as_secs_f64() * 1e3
    );
    world.network.acknowledged = Some(answer.ok());
    check_refusal(
        &answer,
        &classes,
        retry_after,
        bound,
        &format!("the write to {service}"),
    )
}

#[then(regex = r"^the write to (\S+) is stored whole or not at all$")]
async fn stored_whole_or_not(world: &mut MockVideoWorld, key: String) -> anyhow::Result<()> {
    let service = service(&key)?;
    let acknowledged = world
        .network
        .acknowledged
        .ok_or_else(|| anyhow::anyhow!("no write during a fault in this scenario"))?;
    let copies = stored_copies(world, service).await?;
    println!(
        "[matrix] the write to {service} ({}) is stored {copies} time(s), whole",
        if acknowledged {
            "acknowledged"
        } else {
            "refused"
        }
    );
    let lost = u64::from(acknowledged && copies == 0);
    world.cell.lost = Some(lost);
    world.cell.twice = Some(u64::try_from(copies.saturating_sub(1))?);
    world.cell.note(format!(
        "write during the reset {}, stored {copies}×",
        if acknowledged {
            "acknowledged"
        } else {
            "refused"
        }
    ));
    anyhow::ensure!(lost == 0, "the acknowledged write is not stored");
    anyhow::ensure!(copies <= 1, "the write is stored {copies} times");
    Ok(())
}

#[then("the ledger balances: every accepted event is processed exactly once")]
async fn ledger_balances(world: &mut MockVideoWorld) {
    let accepted = world.events.accepted.len();
    let refused = world.events.refused;
    // Fails the step (with the counts) when an event is lost or processed twice.
    let group = world.events.group().to_owned();
    events::exactly_once_in(world, &group).await;
    world.cell.lost = Some(0);
    world.cell.twice = Some(0);
    world
        .cell
        .note(format!("{accepted} events accepted, {refused} refused"));
}

#[then(regex = r"^(\S+) stays ready$")]
async fn stays_ready(world: &mut MockVideoWorld, key: String) -> anyhow::Result<()> {
    let service = service(&key)?;
    let url = readyz_url(world, service)?;
    let answer = http_call(&world.http, reqwest::Method::GET, &url, None).await;
    anyhow::ensure!(
        answer.ok(),
        "{service} reported not ready although its own store is fine: {} {}",
        answer.class(),
        answer.detail
    );
    println!("[matrix] {service} stays ready: the fault is not in its own store");
    world
        .cell
        .note("readiness stays true: the fault is an upstream's, not its own store's");
    Ok(())
}
