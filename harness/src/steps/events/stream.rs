//! The stream: its notifications, markers, length, consumer group and existence, read straight
//! from Redis.

use std::{collections::BTreeSet, time::Duration};

use cucumber::{given, then};
use events::notification::{CREATE_FIELD, CREATE_VALUE, EVENT_FIELD};
use harness::backing::wait::{wait_until, Attempt};
use redis::{streams::StreamInfoGroupsReply, AsyncCommands as _};
use serde_json::Value;

use super::reads::{entries, field, notifications, SETTLE_LIMIT};
use crate::steps::world::MockVideoWorld;

#[then(expr = "the latest notification in the stream has description {string}")]
async fn latest_has_description(world: &mut MockVideoWorld, description: String) {
    let all = notifications(&world.events).await;
    let (entry_id, nm) = all.last().expect("no notification in the stream");
    assert!(
        nm["id"].is_u64(),
        "id of {entry_id} is not an integer: {nm}"
    );
    assert!(nm.get("timestamp").is_some(), "no timestamp in {nm}");
    assert_eq!(
        nm["description"],
        description.as_str(),
        "latest notification {nm}"
    );
}

#[then("every notification in the stream is one EventStream field holding an integer id, the description and an RFC 3339 nanosecond UTC timestamp")]
async fn notifications_well_formed(world: &mut MockVideoWorld) {
    let stream = world.events.stream.clone();
    let all = entries(&world.events, &stream).await;
    let mut seen = 0;
    for entry in all.iter().filter(|e| e.map.contains_key(EVENT_FIELD)) {
        seen += 1;
        assert_eq!(
            entry.map.len(),
            1,
            "entry {} has other fields: {:?}",
            entry.id,
            entry.map
        );
        let text = field(entry, EVENT_FIELD).expect("EventStream is text");
        let nm: serde_json::Map<String, Value> = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{text:?} is not a JSON object: {error}"));
        let keys: BTreeSet<&str> = nm.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["id", "description", "timestamp"]),
            "{text}"
        );
        assert!(
            nm["id"].is_u64(),
            "id is not a non-negative integer: {text}"
        );
        assert!(nm["description"].is_string(), "description: {text}");
        let timestamp = nm["timestamp"].as_str().unwrap_or_default();
        assert!(
            is_rfc3339_nano_utc(timestamp),
            "timestamp {timestamp:?} in {text}"
        );
    }
    assert!(seen > 0, "no notification in {stream}");
}

#[then(expr = "the stream starts with the {string} marker")]
async fn starts_with_marker(world: &mut MockVideoWorld, marker: String) {
    assert_eq!(marker, CREATE_FIELD, "the feature names the marker field");
    let stream = world.events.stream.clone();
    let all = entries(&world.events, &stream).await;
    let first = all
        .first()
        .unwrap_or_else(|| panic!("{stream} is empty or missing"));
    assert_eq!(
        field(first, CREATE_FIELD).as_deref(),
        Some(CREATE_VALUE),
        "first entry {}: {:?}",
        first.id,
        first.map
    );
}

#[then(expr = "the stream holds {int} {string} markers")]
async fn holds_markers(world: &mut MockVideoWorld, count: usize, marker: String) {
    let stream = world.events.stream.clone();
    let found = entries(&world.events, &stream)
        .await
        .iter()
        .filter(|entry| field(entry, &marker).as_deref() == Some(CREATE_VALUE))
        .count();
    assert_eq!(found, count, "{marker} markers in {stream}");
}

#[then(expr = "the stream holds {int} entries")]
async fn stream_length(world: &mut MockVideoWorld, count: usize) {
    let mut conn = world.events.conn().await;
    let len: usize = conn
        .xlen(&world.events.stream)
        .await
        .unwrap_or_else(|error| panic!("XLEN: {error}"));
    assert_eq!(len, count, "XLEN {}", world.events.stream);
}

#[then(expr = "the notifications in the stream are {string}")]
async fn notifications_are(world: &mut MockVideoWorld, list: String) {
    let expected: Vec<&str> = list.split(',').map(str::trim).collect();
    let all = notifications(&world.events).await;
    let actual: Vec<&str> = all
        .iter()
        .map(|(_, nm)| nm["description"].as_str().unwrap_or("<not a string>"))
        .collect();
    assert_eq!(actual, expected);
}

#[then(expr = "the stream exists with the consumer group {string}")]
async fn stream_has_group(world: &mut MockVideoWorld, group: String) {
    let conn = world.events.conn().await;
    let stream = &world.events.stream;
    let group = &group;
    let what = format!("group {group} on {stream}");
    wait_until(&what, SETTLE_LIMIT, Duration::from_millis(100), || {
        let mut conn = conn.clone();
        async move {
            match conn.xinfo_groups::<_, StreamInfoGroupsReply>(stream).await {
                Ok(reply) if reply.groups.iter().any(|g| &g.name == group) => Attempt::Ready(()),
                Ok(reply) => Attempt::Pending(format!(
                    "groups {:?}",
                    reply.groups.iter().map(|g| &g.name).collect::<Vec<_>>()
                )),
                Err(error) => Attempt::Pending(error.to_string()),
            }
        }
    })
    .await
    .unwrap_or_else(|error| panic!("{error}"));
}

#[given("the stream does not exist")]
#[then("the stream does not exist")]
async fn stream_absent(world: &mut MockVideoWorld) {
    let mut conn = world.events.conn().await;
    let exists: bool = conn
        .exists(&world.events.stream)
        .await
        .unwrap_or_else(|error| panic!("EXISTS: {error}"));
    assert!(!exists, "{} exists", world.events.stream);
}

/// True for `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with 1 to 9 fraction digits and no trailing zero
/// (Go's RFC3339Nano in UTC).
fn is_rfc3339_nano_utc(text: &str) -> bool {
    let bytes = text.as_bytes();
    let shape = "dddd-dd-ddTdd:dd:dd".as_bytes();
    if bytes.len() < shape.len() + 1 || !text.ends_with('Z') {
        return false;
    }
    let head_ok = shape.iter().zip(bytes).all(|(want, got)| match want {
        b'd' => got.is_ascii_digit(),
        other => other == got,
    });
    let tail = &text[shape.len()..text.len() - 1];
    let fraction_ok = match tail.strip_prefix('.') {
        None => tail.is_empty(),
        Some(digits) => {
            (1..=9).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.ends_with('0')
        }
    };
    head_ok && fraction_ok
}
