//! ListEvents steps: list a deployment's events, then check what was listed (ids, keys,
//! messages, timestamps) or how the listing failed.

use activity::proto::{Deployment, EventRequest};
use cucumber::{then, when};
use futures::StreamExt as _;

use super::{client, code_named};
use crate::steps::world::MockVideoWorld;

#[when(expr = "I list the events of deployment {int}")]
async fn list_events(world: &mut MockVideoWorld, deployment: i32) {
    let outcome = match client(world)
        .await
        .list_events(Deployment { id: deployment })
        .await
    {
        Ok(response) => {
            let mut stream = response.into_inner();
            let mut events = Vec::new();
            let mut failure = None;
            while let Some(item) = stream.next().await {
                match item {
                    Ok(event) => events.push(event),
                    Err(status) => {
                        failure = Some(status);
                        break;
                    }
                }
            }
            failure.map_or(Ok(events), Err)
        }
        Err(status) => Err(status),
    };
    world.activity.listed = Some(outcome);
}

pub(super) fn listed(world: &MockVideoWorld) -> &[EventRequest] {
    match world
        .activity
        .listed
        .as_ref()
        .expect("no ListEvents call in this scenario")
    {
        Ok(events) => events,
        Err(status) => panic!("ListEvents failed: {status:?}"),
    }
}

#[then(expr = "the listed event ids are {string}")]
fn listed_ids(world: &mut MockVideoWorld, ids: String) {
    let expected: Vec<i32> = if ids.trim().is_empty() {
        Vec::new()
    } else {
        ids.split(',')
            .map(|id| id.trim().parse().expect("an event id"))
            .collect()
    };
    let actual: Vec<i32> = listed(world).iter().map(|event| event.id).collect();
    assert_eq!(actual, expected);
}

#[then("no events are listed")]
fn none_listed(world: &mut MockVideoWorld) {
    let events = listed(world);
    assert!(events.is_empty(), "{events:?}");
}

#[then(expr = "the listed events by deployment and id are {string}")]
fn listed_keys(world: &mut MockVideoWorld, keys: String) {
    let actual: Vec<String> = listed(world)
        .iter()
        .map(|event| format!("{}/{}", event.deployment_id, event.id))
        .collect();
    let expected: Vec<String> = keys
        .split(',')
        .map(|key| key.trim().to_owned())
        .filter(|key| !key.is_empty())
        .collect();
    assert_eq!(actual, expected, "deployment/id in listing order");
}

#[then(expr = "listed event {int} of deployment {int} has message {string}")]
fn listed_event_of_deployment_is(
    world: &mut MockVideoWorld,
    id: i32,
    deployment: i32,
    message: String,
) {
    let matching: Vec<&EventRequest> = listed(world)
        .iter()
        .filter(|event| event.id == id && event.deployment_id == deployment)
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "event {id} of deployment {deployment}: {matching:?}"
    );
    assert_eq!(matching[0].message, message);
}

#[then(expr = "listed event {int} has message {string} and deployment {int}")]
fn listed_event_is(world: &mut MockVideoWorld, id: i32, message: String, deployment: i32) {
    // Ids are per deployment: look for this deployment's event `id`.
    let event = listed(world)
        .iter()
        .find(|event| event.id == id && event.deployment_id == deployment)
        .unwrap_or_else(|| panic!("event {id} of deployment {deployment} not listed"));
    assert_eq!(
        (event.message.as_str(), event.deployment_id),
        (message.as_str(), deployment)
    );
}

#[then("every listed event carries its send and receive times")]
fn listed_timestamps(world: &mut MockVideoWorld) {
    for event in listed(world) {
        let timestamp = event.timestamp.as_ref().expect("a timestamp");
        assert!(
            timestamp.send > 0 && timestamp.receive >= timestamp.send,
            "{event:?}"
        );
    }
}

#[then(expr = "listing deployment {int} fails with {word}")]
fn list_fails(world: &mut MockVideoWorld, _deployment: i32, code: String) {
    match world
        .activity
        .listed
        .as_ref()
        .expect("no ListEvents call in this scenario")
    {
        Ok(events) => panic!("ListEvents succeeded with {events:?}"),
        Err(status) => assert_eq!(status.code(), code_named(&code), "{status:?}"),
    }
}
