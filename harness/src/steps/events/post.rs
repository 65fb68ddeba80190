//! Posting events to the producer, and adding entries to the stream straight through Redis
//! (duplicates, malformed entries, a consumer that reads and dies without acknowledging).

use cucumber::when;
use events::notification::EVENT_FIELD;
use redis::AsyncCommands as _;

use crate::steps::{
    http::{json_body_of_size, send},
    world::{events::GROUP, MockVideoWorld},
};

/// POSTs `{"description": description}` and records whether it was accepted.
pub(super) async fn post_event(world: &mut MockVideoWorld, description: &str) {
    let description = world.events.labelled(description);
    let description = description.as_str();
    let body = serde_json::to_vec(&serde_json::json!({ "description": description }))
        .expect("serialising an event message");
    send(world, "POST", "/event", None, Some(body)).await;
    if world.last().status == 200 {
        world.events.accepted.insert(description.to_owned());
    } else {
        world.events.refused += 1;
    }
}

#[when(expr = "I post the event {string}")]
async fn post_the_event(world: &mut MockVideoWorld, description: String) {
    post_event(world, &description).await;
}

#[when(expr = "I post {int} events described {string} followed by their number")]
async fn post_numbered(world: &mut MockVideoWorld, count: usize, prefix: String) {
    for n in 1..=count {
        post_event(world, &format!("{prefix}{n}")).await;
        assert_eq!(
            world.last().status,
            200,
            "event {n}: {}",
            world.last().text()
        );
    }
}

#[when(expr = "I post the raw body {string}")]
async fn post_raw(world: &mut MockVideoWorld, body: String) {
    send(world, "POST", "/event", None, Some(body.into_bytes())).await;
}

#[when("I post an event one byte larger than the producer's body limit")]
async fn post_oversized(world: &mut MockVideoWorld) {
    let body = json_body_of_size("description", world.events.body_limit + 1);
    send(world, "POST", "/event", None, Some(body)).await;
}

/// XADDs `fields` to the scenario's stream and remembers the entry id.
async fn add_entry(world: &mut MockVideoWorld, fields: &[(&str, &str)]) -> String {
    let mut conn = world.events.conn().await;
    let id: String = conn
        .xadd(&world.events.stream, "*", fields)
        .await
        .unwrap_or_else(|error| panic!("XADD: {error}"));
    world.events.added_entry = Some(id.clone());
    id
}

#[when(expr = "a notification with id {int} and description {string} is added to the stream twice")]
async fn add_duplicate(world: &mut MockVideoWorld, id: u64, description: String) {
    let nm = serde_json::json!({
        "id": id, "description": description, "timestamp": "2025-02-25T22:23:03.181361595Z"
    })
    .to_string();
    for _ in 0..2 {
        add_entry(world, &[(EVENT_FIELD, &nm)]).await;
    }
}

#[when("an entry without an EventStream field is added to the stream")]
async fn add_without_field(world: &mut MockVideoWorld) {
    add_entry(world, &[("SomethingElse", "not a notification")]).await;
}

#[when("an entry whose EventStream is not a notification is added to the stream")]
async fn add_undecodable(world: &mut MockVideoWorld) {
    add_entry(world, &[(EVENT_FIELD, "{\"id\": \"not a number\"")]).await;
}

#[when(expr = "a consumer {string} of the group reads every entry and dies without acknowledging")]
async fn ghost_reads(world: &mut MockVideoWorld, ghost: String) {
    let mut conn = world.events.conn().await;
    let stream = world.events.stream.clone();
    let created: redis::RedisResult<()> = conn.xgroup_create_mkstream(&stream, GROUP, "0").await;
    if let Err(error) = created {
        assert!(
            error.to_string().contains("BUSYGROUP"),
            "XGROUP CREATE: {error}"
        );
    }
    let options = redis::streams::StreamReadOptions::default()
        .group(GROUP, &ghost)
        .count(1000);
    let reply: redis::streams::StreamReadReply = conn
        .xread_options(&[&stream], &[">"], &options)
        .await
        .unwrap_or_else(|error| panic!("XREADGROUP as {ghost}: {error}"));
    let read: usize = reply.keys.iter().map(|key| key.ids.len()).sum();
    assert!(read > 0, "{ghost} read nothing from {stream}");
}
