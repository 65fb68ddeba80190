//! activity-server over gRPC on the cluster, with ids of the scenario's own (the database
//! outlives scenarios).

use ::activity::proto::Deployment;
use cucumber::{then, when};
use futures::{StreamExt as _, TryStreamExt as _};

use crate::steps::{activity as activity_steps, world::MockVideoWorld};

/// A random positive `i32` well above the ids the functional features use.
fn fresh_id() -> i32 {
    let random = (uuid::Uuid::new_v4().as_u128() % 1_000_000_000) as i32;
    1_000_000 + random
}

#[when(expr = "I create a fresh event for a fresh deployment with message {string}")]
async fn create_fresh_event(world: &mut MockVideoWorld, message: String) {
    let (id, deployment_id) = (fresh_id(), fresh_id());
    world.cluster.activity_event = Some((id, deployment_id));
    let message = world.cinema.fill_in(&message);
    activity_steps::create(world, activity_steps::event(id, deployment_id, &message)).await;
}

fn fresh_event(world: &MockVideoWorld) -> (i32, i32) {
    world
        .cluster
        .activity_event
        .expect("no fresh event was created in this scenario")
}

#[then("the fresh event is accepted")]
fn fresh_event_accepted(world: &mut MockVideoWorld) {
    let (id, _) = fresh_event(world);
    let outcome = world
        .activity
        .last_call
        .as_ref()
        .expect("a CreateEvent call");
    let response = outcome.as_ref().expect("CreateEvent succeeded");
    assert_eq!(response.id, id, "{response:?}");
    assert!(response.success, "{response:?}");
}

#[when("I list the events of the fresh deployment")]
async fn list_fresh_deployment(world: &mut MockVideoWorld) {
    let (_, deployment) = fresh_event(world);
    let mut client = activity_steps::client(world).await;
    // Bounded: a deployment of the scenario's own holds one event.
    let outcome = match client.list_events(Deployment { id: deployment }).await {
        Ok(response) => response.into_inner().take(1000).try_collect().await,
        Err(status) => Err(status),
    };
    world.activity.listed = Some(outcome);
}

#[then(expr = "the fresh event is streamed back once with message {string}")]
fn fresh_event_listed(world: &mut MockVideoWorld, message: String) {
    let (id, deployment) = fresh_event(world);
    let message = world.cinema.fill_in(&message);
    let listed = world
        .activity
        .listed
        .as_ref()
        .expect("no ListEvents call")
        .as_ref()
        .expect("ListEvents succeeded");
    assert_eq!(listed.len(), 1, "{listed:?}");
    let event = &listed[0];
    assert_eq!(
        (event.id, event.deployment_id, event.message.as_str()),
        (id, deployment, message.as_str()),
        "{event:?}"
    );
    assert!(
        event.timestamp.as_ref().is_some_and(|t| t.receive > 0),
        "no receive time: {event:?}"
    );
}
