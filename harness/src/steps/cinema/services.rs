//! Starting the cinema services on a database of the scenario's own (seeded or not, with auth on
//! or off, on the suite's MongoDB or on a server of its own, with short idempotency leases), and
//! waiting until they answer.

use std::{collections::HashMap, time::Duration};

use cinema::Service;
use cucumber::given;
use harness::backing::{
    mongo::Mongo,
    wait::{wait_until, Attempt},
};

use crate::steps::{auth::scenario_secret, world::MockVideoWorld};

/// How long a service may take to become ready (MongoDB pinged, indexes created).
const READY_WITHIN: Duration = Duration::from_secs(30);

fn service_named(name: &str) -> Service {
    Service::ALL
        .into_iter()
        .find(|service| service.name() == name)
        .unwrap_or_else(|| panic!("no cinema service {name:?}: movies, showtimes, bookings, users"))
}

/// Where the scenario's services store their documents: a server and a database of its own
/// name.
async fn provision(
    world: &mut MockVideoWorld,
    own_server: bool,
    seed: bool,
) -> anyhow::Result<String> {
    let (url, database) = if own_server {
        let mongo = Mongo::start().await?;
        let named = (mongo.url().to_owned(), mongo.unique_database("cinema"));
        world.cinema.own_mongo = Some(mongo);
        named
    } else {
        let mongo = harness::suite::mongo().await?;
        (mongo.url().to_owned(), mongo.unique_database("cinema"))
    };
    world.cinema.database = Some(database.clone());
    if seed {
        harness::launch::cinema::load_seed(&url, &database).await?;
    }
    Ok(url)
}

/// Starts `names` on the scenario's database, waits until each is ready; the last one becomes
/// the target of the generic HTTP steps.
pub(crate) async fn start_services(
    world: &mut MockVideoWorld,
    names: &[&str],
    own_server: bool,
    seed: bool,
) -> anyhow::Result<()> {
    start_services_with(world, names, own_server, seed, false).await
}

/// [`start_services`], with the scenario's JWT secret configured (auth on) when `auth` or when
/// the scenario already has one.
async fn start_services_with(
    world: &mut MockVideoWorld,
    names: &[&str],
    own_server: bool,
    seed: bool,
    auth: bool,
) -> anyhow::Result<()> {
    let url = provision(world, own_server, seed).await?;
    let database = world.cinema.database.clone().unwrap_or_default();
    let secret = if auth {
        Some(scenario_secret(world))
    } else {
        world.auth.secret.clone()
    };
    for name in names {
        // Through a fault proxy when the scenario asked for one.
        let mongo_url = world.network.route_url(name, "MongoDB", &url).await?;
        let mut settings = harness::launch::cinema::settings_for(&mongo_url, &database);
        settings.auth.jwt_secret = secret.clone();
        if let Some(lease) = world.cinema.idempotency_lease {
            // A lease must outlast a request.
            settings.idempotency.lease = lease;
            settings.limits.request_timeout = lease.saturating_sub(Duration::from_secs(1));
        }
        if *name == "users" {
            let mut others = HashMap::new();
            for (other, base) in world.cinema.services.clone() {
                let routed = world.network.route_url(name, &other, &base).await?;
                others.insert(other, routed);
            }
            harness::launch::cinema::point_users_at(&mut settings, |other| {
                others.get(other.name()).cloned()
            });
            world.cinema.suggestions_timeout = Some(settings.suggestions.timeout);
        }
        let service = harness::launch::cinema::start_with(service_named(name), settings).await?;
        let base = service.base_url();
        world.services.push(service);
        wait_ready(world, &base).await?;
        world
            .cinema
            .services
            .insert((*name).to_owned(), base.clone());
        world.base_url = Some(base);
    }
    Ok(())
}

/// Polls `GET {base}/healthy` until it answers 200, for at most [`READY_WITHIN`].
pub(super) async fn wait_ready(world: &MockVideoWorld, base: &str) -> anyhow::Result<()> {
    wait_for_health(world, base, "answering 200", |status| status == Some(200)).await
}

/// Polls `GET {base}/healthy` every 100 ms, for at most [`READY_WITHIN`], until `awaited` holds
/// for its status (`None`: no answer); `what` says what is awaited.
pub(super) async fn wait_for_health(
    world: &MockVideoWorld,
    base: &str,
    what: &str,
    awaited: impl Fn(Option<u16>) -> bool,
) -> anyhow::Result<()> {
    let url = format!("{base}/healthy");
    let http = &world.http;
    let (url, awaited) = (&url, &awaited);
    wait_until(
        &format!("{url} {what}"),
        READY_WITHIN,
        Duration::from_millis(100),
        || async move {
            let status = http
                .get(url)
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .map(|answer| answer.status().as_u16())
                .ok();
            if awaited(status) {
                Attempt::Ready(())
            } else {
                Attempt::Pending(format!("last /healthy answer {status:?}"))
            }
        },
    )
    .await?;
    Ok(())
}

#[given(expr = "the {word} service on a fresh database")]
async fn one_service(world: &mut MockVideoWorld, name: String) -> anyhow::Result<()> {
    start_services(world, &[name.as_str()], false, false).await
}

#[given(expr = "the {word} service on a fresh database with the seed data")]
async fn one_service_seeded(world: &mut MockVideoWorld, name: String) -> anyhow::Result<()> {
    start_services(world, &[name.as_str()], false, true).await
}

/// The four services by name, users last (it is pointed at the other three when it starts).
pub(crate) fn four() -> [&'static str; 4] {
    Service::ALL.map(Service::name)
}

#[given("the four cinema services on a fresh database")]
async fn four_services(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    start_services(world, &four(), false, false).await
}

#[given("the four cinema services on a fresh database with the seed data")]
async fn four_services_seeded(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    start_services(world, &four(), false, true).await
}

#[given(expr = "the {word} service on a fresh database with auth on")]
async fn one_service_auth(world: &mut MockVideoWorld, name: String) -> anyhow::Result<()> {
    start_services_with(world, &[name.as_str()], false, false, true).await
}

#[given("the four cinema services on a fresh database with auth on")]
async fn four_services_auth(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    start_services_with(world, &four(), false, false, true).await
}

#[given(expr = "the {word} service on a fresh database with idempotency leases of {int} s")]
async fn one_service_short_leases(
    world: &mut MockVideoWorld,
    name: String,
    seconds: u64,
) -> anyhow::Result<()> {
    world.cinema.idempotency_lease = Some(Duration::from_secs(seconds));
    start_services(world, &[name.as_str()], false, false).await
}

#[given(expr = "the {word} service on a MongoDB server of its own with the seed data")]
async fn one_service_own_server(world: &mut MockVideoWorld, name: String) -> anyhow::Result<()> {
    start_services(world, &[name.as_str()], true, true).await
}
