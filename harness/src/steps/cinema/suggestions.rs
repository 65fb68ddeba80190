//! Steps for `GET /users/{id}/suggestions`: stopping one of the services the users service
//! calls, replacing one with a listener that never answers, and checking that the answer did
//! not hang past the suggestions timeout.

use std::time::Duration;

use cucumber::{given, then, when};
use harness::fault::{service::Service, silent, Fault, Target as _};

use super::services::{four, start_services};
use crate::steps::world::MockVideoWorld;

/// How much later than the suggestions timeout an answer may come and still not be a hang
/// (scheduling, the users service's own database call).
const HANG_SLACK: Duration = Duration::from_secs(1);

#[given(
    expr = "the cinema services on a fresh database with the seed data and a {word} service that never answers"
)]
async fn services_with_a_silent_one(
    world: &mut MockVideoWorld,
    silent: String,
) -> anyhow::Result<()> {
    let (url, task) = silent::listen().await?;
    world.cinema.stand_ins.insert(silent.clone(), task);
    world.cinema.services.insert(silent.clone(), url);
    let real: Vec<&str> = four().into_iter().filter(|name| *name != silent).collect();
    start_services(world, &real, false, true).await
}

#[when(expr = "the {word} service is stopped")]
async fn service_stopped(world: &mut MockVideoWorld, name: String) -> anyhow::Result<()> {
    let index = world
        .services
        .iter()
        .position(|service| service.name() == name)
        .ok_or_else(|| anyhow::anyhow!("the {name} service is not running in this scenario"))?;
    let service = world.services.remove(index);
    Service::new(service).inject(Fault::Stop).await.map(drop)
}

#[then("the answer came within the suggestions timeout")]
fn answered_in_time(world: &mut MockVideoWorld) {
    let timeout = world
        .cinema
        .suggestions_timeout
        .expect("the users service runs in this scenario");
    let took = world
        .cinema
        .last_request_took
        .expect("a request was sent to a cinema service");
    assert!(
        took <= timeout + HANG_SLACK,
        "the answer took {took:?}: longer than the {timeout:?} suggestions timeout (+{HANG_SLACK:?})"
    );
}
