//! Steps for `GET /users/{id}/suggestions`: stopping one of the services the users service
//! calls, replacing one with a listener that never answers, and checking that the answer did
//! not hang past the suggestions timeout.

use std::time::Duration;

use cucumber::{given, then, when};
use tokio::net::TcpListener;

use super::{start_services, MockVideoWorld};

/// How much later than the suggestions timeout an answer may come and still not be a hang
/// (scheduling, the users service's own database call).
const HANG_SLACK: Duration = Duration::from_secs(1);

/// A loopback listener that accepts connections and holds them without a word; its task is
/// aborted in the scenario's teardown.
async fn silent_listener() -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    Ok((url, task))
}

#[given(
    expr = "the cinema services on a fresh database with the seed data and a {word} service that never answers"
)]
async fn services_with_a_silent_one(
    world: &mut MockVideoWorld,
    silent: String,
) -> anyhow::Result<()> {
    let (url, task) = silent_listener().await?;
    world.cinema.stand_ins.insert(silent.clone(), task);
    world.cinema.services.insert(silent.clone(), url);
    let real: Vec<&str> = ["movies", "showtimes", "bookings", "users"]
        .into_iter()
        .filter(|name| *name != silent)
        .collect();
    start_services(world, &real, false, true).await
}

#[when(expr = "the {word} service is stopped")]
async fn service_stopped(world: &mut MockVideoWorld, name: String) -> anyhow::Result<()> {
    let index = world
        .services
        .iter()
        .position(|service| service.name() == name)
        .ok_or_else(|| anyhow::anyhow!("the {name} service is not running in this scenario"))?;
    world.services.remove(index).stop().await
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
