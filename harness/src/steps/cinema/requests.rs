//! Requests to a named cinema service, with remembered ids filled in and the scenario's token
//! sent.

use std::time::Instant;

use cucumber::{gherkin::Step, when};

use crate::steps::{auth::authorization, http::send, world::MockVideoWorld};

/// Replaces every `{name}` of a remembered id in `text`.
fn substitute(world: &MockVideoWorld, text: &str) -> String {
    let text = world.cinema.fill_in(text);
    assert!(
        !text.contains('{'),
        "an unknown remembered id in {text:?}; remembered: {:?}",
        world.cinema.ids
    );
    text
}

/// Makes `name` the target of the HTTP steps.
fn use_service(world: &mut MockVideoWorld, name: &str) {
    let base = world
        .cinema
        .services
        .get(name)
        .unwrap_or_else(|| panic!("the {name} service was not started in this scenario"))
        .clone();
    world.base_url = Some(base);
}

#[when(expr = "I send a {word} request to the {word} service at {string}")]
async fn send_to(world: &mut MockVideoWorld, method: String, name: String, path: String) {
    use_service(world, &name);
    let path = substitute(world, &path);
    let header = authorization(world);
    let started = Instant::now();
    send(world, &method, &path, header.as_deref(), None).await;
    world.cinema.last_request_took = Some(started.elapsed());
}

#[when(expr = "I send a {word} request to the {word} service at {string} with body:")]
async fn send_to_with_body(
    world: &mut MockVideoWorld,
    step: &Step,
    method: String,
    name: String,
    path: String,
) {
    use_service(world, &name);
    let path = substitute(world, &path);
    let body = world
        .cinema
        .fill_in(step.docstring.as_deref().unwrap_or_default().trim());
    let header = authorization(world);
    send(
        world,
        &method,
        &path,
        header.as_deref(),
        Some(body.into_bytes()),
    )
    .await;
}
