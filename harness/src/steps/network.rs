//! Network faults between a service and its dependencies, in plain language, for every
//! service's features: a service is put behind a fault proxy before it starts ("Given accountd
//! reaches MySQL through a fault proxy"; its start-up then asks
//! [`NetworkState::route`](super::world::network::NetworkState::route) where MySQL is), and the
//! link then gets latency, is throttled, cut, black-holed, reset or sliced, and heals
//! ([`harness::fault::network`]). Recovery is measured from the moment the links healed.
//!
//! Names in the steps: the services `accountd`, `the producer`, `the consumers`, `movies`,
//! `showtimes`, `bookings`, `users` (each may be written `the … service`); the dependencies
//! `MySQL`, `Redis`, `MongoDB` and `the movies|showtimes|bookings service`. A link is written
//! `the link`, `the links` (every link of the scenario), `the link to Redis` or `the link from
//! accountd to MySQL`.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use cucumber::{given, then, when};
use harness::{
    backing::wait::{wait_until, Attempt},
    cluster::Recovery,
    fault::{network::Link, Fault, Target as _},
};

use super::{events, world::MockVideoWorld};

/// How often the recovery step asks the service again.
const POLL: Duration = Duration::from_millis(100);
/// Longest one request of the recovery step may take.
const ATTEMPT_LIMIT: Duration = Duration::from_secs(5);
/// Longest the producer may take to be ready again after the links heal mid-flow.
const RECOVERY_LIMIT: Duration = Duration::from_secs(10);

/// The canonical names of the services a step names (`the producer and the consumers` →
/// `event-producer`, `event-consumer`).
fn services_in(phrase: &str) -> anyhow::Result<Vec<&'static str>> {
    phrase
        .split(" and ")
        .map(|name| {
            Ok(match bare(name) {
                "accountd" => "accountd",
                "producer" | "event producer" | "event-producer" => "event-producer",
                "consumer" | "consumers" | "event consumers" | "event-consumer" => "event-consumer",
                "movies" => "movies",
                "showtimes" => "showtimes",
                "bookings" => "bookings",
                "users" => "users",
                other => anyhow::bail!(
                    "no service {other:?}: accountd, the producer, the consumers, movies, \
                     showtimes, bookings, users"
                ),
            })
        })
        .collect()
}

/// The canonical name of the dependency a step names (`the movies service` → `movies`).
fn dependency_in(phrase: &str) -> anyhow::Result<&'static str> {
    Ok(match bare(phrase) {
        "MySQL" => "MySQL",
        "Redis" => "Redis",
        "MongoDB" => "MongoDB",
        "movies" => "movies",
        "showtimes" => "showtimes",
        "bookings" => "bookings",
        other => anyhow::bail!(
            "no dependency {other:?}: MySQL, Redis, MongoDB, the movies, showtimes or bookings \
             service"
        ),
    })
}

/// `name` without a leading `the ` and a trailing ` service`.
fn bare(name: &str) -> &str {
    let name = name.trim();
    let name = name.strip_prefix("the ").unwrap_or(name);
    name.strip_suffix(" service").unwrap_or(name)
}

/// Which links a phrase names: `the link[s] [from S] [to D]` → (S, D), either optional.
fn ends_of(phrase: &str) -> anyhow::Result<(Option<Vec<&'static str>>, Option<&'static str>)> {
    let rest = phrase
        .strip_prefix("the links")
        .or_else(|| phrase.strip_prefix("the link"))
        .ok_or_else(|| anyhow::anyhow!("{phrase:?} does not name a link"))?;
    let (from, to) = match rest.split_once(" to ") {
        Some((from, to)) => (from, Some(to)),
        None if rest.trim().is_empty() => ("", None),
        None => (rest, None),
    };
    let from = match from.trim().strip_prefix("from ") {
        Some(services) => Some(services_in(services)?),
        None if from.trim().is_empty() => None,
        None => anyhow::bail!("{phrase:?}: write `the link from SERVICE to DEPENDENCY`"),
    };
    Ok((from, to.map(dependency_in).transpose()?))
}

/// Injects `fault` into the links `phrase` names (`the link to Redis`, …).
async fn inject_into(world: &mut MockVideoWorld, phrase: &str, fault: Fault) -> anyhow::Result<()> {
    let (from, to) = ends_of(phrase)?;
    inject(world, from.as_deref(), to, fault).await
}

/// Injects `fault` into every link from one of `from` to `to`; a fault that undoes itself
/// counts as healed when it ends.
pub(crate) async fn inject(
    world: &mut MockVideoWorld,
    from: Option<&[&str]>,
    to: Option<&str>,
    fault: Fault,
) -> anyhow::Result<()> {
    let chosen = world.network.select(from, to)?;
    world.network.faulted_at = Some(Instant::now());
    world.network.healed_at = None;
    world.network.fault = Some(format!("{fault} on {}", links_named(world, &chosen)));
    for index in chosen {
        let applied = world.network.links[index].inject(fault).await?;
        println!(
            "[network] {} ({fault}, in {:.0} ms)",
            applied.what,
            applied.took.as_secs_f64() * 1e3
        );
    }
    if fault.undone().is_none() {
        world.network.healed_at = Some(Instant::now());
    }
    Ok(())
}

/// The links at `indices`, as recovery lines name them: `event-producer and event-consumer →
/// Redis`.
fn links_named(world: &MockVideoWorld, indices: &[usize]) -> String {
    indices
        .iter()
        .map(|&index| {
            let link = &world.network.links[index];
            format!("{} → {}", link.from(), link.to())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Records how long the service the HTTP steps talk to took to answer again after the links
/// healed, as a recovery of the service (by the name the scenario registered it under, else its
/// URL), for "the recovery times are printed".
fn record_recovery(world: &mut MockVideoWorld, took: Duration) {
    let url = world.base_url().to_owned();
    let workload = world
        .cinema
        .services
        .iter()
        .find(|(name, base)| **base == url && !name.ends_with("-admin"))
        .map_or(url, |(name, _)| name.clone());
    let fault = world
        .network
        .fault
        .clone()
        .unwrap_or_else(|| "a network fault".to_owned());
    world.cluster.recoveries.push(Recovery {
        workload,
        fault: format!("{fault}, healed (measured from the heal)"),
        took,
    });
}

#[given(regex = r"^(.+) reach(?:es)? (.+) through a fault proxy$")]
fn through_a_fault_proxy(
    world: &mut MockVideoWorld,
    services: String,
    dependency: String,
) -> anyhow::Result<()> {
    let dependency = dependency_in(&dependency)?;
    for service in services_in(&services)? {
        let started = world
            .services
            .iter()
            .any(|running| running.name() == service)
            || (service == "event-producer" && world.events.producer.is_some());
        anyhow::ensure!(
            !started,
            "{service} runs already: put it behind a fault proxy before it starts"
        );
        world.network.want(service, dependency);
    }
    Ok(())
}

#[when(regex = r"^(the links?.*?) gets (\d+) ms of latency$")]
async fn latency(world: &mut MockVideoWorld, phrase: String, millis: u64) -> anyhow::Result<()> {
    inject_into(world, &phrase, Fault::Latency { millis }).await
}

#[when(regex = r"^(the links?.*?) (?:is|are) throttled to (\d+) KB/s$")]
async fn throttled(
    world: &mut MockVideoWorld,
    phrase: String,
    kilobytes_per_second: u64,
) -> anyhow::Result<()> {
    let fault = Fault::Throttle {
        kilobytes_per_second,
    };
    inject_into(world, &phrase, fault).await
}

#[when(regex = r"^(the links?.*?) (?:is|are) cut$")]
async fn cut(world: &mut MockVideoWorld, phrase: String) -> anyhow::Result<()> {
    inject_into(world, &phrase, Fault::Cut).await
}

#[when(regex = r"^(the links?.*?) slices? (?:its|their) answers into (\d+)-byte pieces$")]
async fn sliced(world: &mut MockVideoWorld, phrase: String, bytes: u64) -> anyhow::Result<()> {
    inject_into(world, &phrase, Fault::Slice { bytes }).await
}

#[when(regex = r"^(MySQL|Redis|MongoDB|the \w+ service) stops passing data$")]
async fn blackhole(world: &mut MockVideoWorld, dependency: String) -> anyhow::Result<()> {
    let to = dependency_in(&dependency)?;
    inject(world, None, Some(to), Fault::Blackhole).await
}

#[when(regex = r"^the connections? to (MySQL|Redis|MongoDB|the \w+ service) (?:is|are) reset$")]
async fn reset(world: &mut MockVideoWorld, dependency: String) -> anyhow::Result<()> {
    let to = dependency_in(&dependency)?;
    inject(world, None, Some(to), Fault::Reset).await
}

#[when(regex = r"^(the links?.*?) heals?$")]
async fn heal(world: &mut MockVideoWorld, phrase: String) -> anyhow::Result<()> {
    let (from, to) = ends_of(&phrase)?;
    for index in world.network.select(from.as_deref(), to)? {
        let applied = world.network.links[index].heal().await?;
        println!(
            "[network] {} (in {:.0} ms)",
            applied.what,
            applied.took.as_secs_f64() * 1e3
        );
    }
    world.network.healed_at = Some(Instant::now());
    Ok(())
}

#[when(
    regex = r"^(\d+) events flow through the producer at (\d+) a second while (the links?.*?) (?:is|are) cut for (\d+) ms$"
)]
async fn flow_through_a_cut(
    world: &mut MockVideoWorld,
    count: u64,
    rate: u64,
    phrase: String,
    millis: u64,
) -> anyhow::Result<()> {
    let (from, to) = ends_of(&phrase)?;
    let links: Vec<Link> = world
        .network
        .select(from.as_deref(), to)?
        .into_iter()
        .map(|index| world.network.links[index].clone())
        .collect();
    world.events.flows += 1;
    let prefix = world
        .events
        .labelled(&format!("flow{}", world.events.flows));
    let mut settings = events::simulator_settings(world, count, &prefix);
    settings.events_per_second = rate as f64;
    settings.concurrency = 8;
    let simulator =
        tokio::spawn(
            async move { ::events::simulator::run(&settings, std::future::pending()).await },
        );
    // The cut begins a quarter of the way through the flow, and heals before it ends.
    let quarter = Duration::from_secs_f64(count as f64 / rate.max(1) as f64 / 4.0);
    world.network.fault = Some(format!(
        "cut for {millis} ms mid-flow on {}",
        links
            .iter()
            .map(|link| format!("{} → {}", link.from(), link.to()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let cut = cut_for(links, quarter, Duration::from_millis(millis)).await;
    // Measured while the flow goes on: the producer's readiness after the heal.
    let readyz = format!("{}/readyz", world.base_url());
    let recovered = match &cut {
        Ok(_) => Some(first_200(&world.http, &readyz, RECOVERY_LIMIT).await),
        Err(_) => None,
    };
    let report = simulator.await.context("the simulator task")??;
    events::record_report(world, &prefix, &report);
    let (faulted_at, healed_at) = cut?;
    world.network.faulted_at = Some(faulted_at);
    world.network.healed_at = Some(healed_at);
    if let Some(recovered) = recovered {
        let recovered = recovered?;
        println!(
            "[network] recovered: the producer was ready again {:.2} s after the links healed \
             (the cut lasted {millis} ms)",
            recovered.as_secs_f64()
        );
        record_recovery(world, recovered);
    }
    Ok(())
}

/// Polls `GET url` until it answers 200, at most `limit`; returns how long that took.
async fn first_200(http: &reqwest::Client, url: &str, limit: Duration) -> anyhow::Result<Duration> {
    let started = Instant::now();
    wait_until(&format!("200 from GET {url}"), limit, POLL, || async move {
        match http.get(url).timeout(ATTEMPT_LIMIT).send().await {
            Ok(answer) if answer.status().as_u16() == 200 => Attempt::Ready(()),
            Ok(answer) => Attempt::Pending(format!("HTTP {}", answer.status())),
            Err(error) => Attempt::Pending(error.to_string()),
        }
    })
    .await?;
    Ok(started.elapsed())
}

/// After `lead`, cuts `links` for `length`, then heals them (whatever happened meanwhile);
/// returns when they were cut and when they healed.
async fn cut_for(
    mut links: Vec<Link>,
    lead: Duration,
    length: Duration,
) -> anyhow::Result<(Instant, Instant)> {
    tokio::time::sleep(lead).await;
    let at = Instant::now();
    let mut cut = Ok(());
    for link in &mut links {
        match link.inject(Fault::Cut).await {
            Ok(applied) => println!("[network] {} (mid-flow)", applied.what),
            Err(error) => {
                cut = Err(error);
                break;
            }
        }
    }
    tokio::time::sleep(length).await;
    for link in &mut links {
        let applied = link.heal().await?;
        println!("[network] {}", applied.what);
    }
    cut.map(|()| (at, Instant::now()))
}

#[then(regex = r#"^GET "([^"]+)" answers 200 again within (\d+) s$"#)]
async fn answers_again(world: &mut MockVideoWorld, path: String, limit: u64) -> anyhow::Result<()> {
    let limit = Duration::from_secs(limit);
    let healed_at = world.network.healed_at.ok_or_else(|| {
        anyhow::anyhow!("no link has healed in this scenario: add \"When the link heals\"")
    })?;
    // Remembered ids (`/users/{before}`) filled in, as the requests of the cluster steps do.
    let path = world.cinema.fill_in(&path);
    let url = format!("{}{path}", world.base_url());
    let http = &world.http;
    let url = &url;
    let remaining = limit.saturating_sub(healed_at.elapsed());
    let answered = wait_until(
        &format!("200 from GET {url}"),
        remaining,
        POLL,
        || async move {
            let started = Instant::now();
            match http.get(url).timeout(ATTEMPT_LIMIT).send().await {
                Ok(answer) if answer.status().as_u16() == 200 => Attempt::Ready(started.elapsed()),
                Ok(answer) => Attempt::Pending(format!("HTTP {}", answer.status())),
                Err(error) => Attempt::Pending(error.to_string()),
            }
        },
    )
    .await;
    let recovered = healed_at.elapsed();
    let took = answered.map_err(|error| {
        anyhow::anyhow!(
            "GET {path} did not answer 200 within {limit:?} of the link healing: {error}"
        )
    })?;
    let since_fault = world.network.faulted_at.map_or(String::new(), |at| {
        format!(", {:.2} s after the fault", (at.elapsed()).as_secs_f64())
    });
    println!(
        "[network] recovered: GET {path} answered 200 again {:.2} s after the link healed{since_fault} \
         (that answer took {:.0} ms)",
        recovered.as_secs_f64(),
        took.as_secs_f64() * 1e3
    );
    anyhow::ensure!(
        recovered <= limit,
        "GET {path} answered 200 only {recovered:?} after the link healed (limit {limit:?})"
    );
    record_recovery(world, recovered);
    Ok(())
}
