//! activity steps: a fresh activity-server per scenario, CreateEvent over gRPC, restarts,
//! health and reflection; [`list`]: ListEvents and what it listed; [`client`]: runs of the
//! activity-client and its output; [`hostile`]: malformed messages, unread and too many
//! `ListEvents` streams. An event is identified by its deployment and id, so the steps that
//! check one name both where an id alone could be ambiguous.

mod client;
pub mod hostile;
mod list;

use list::listed;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use activity::proto::{
    activity_events_client::ActivityEventsClient, EventRequest, EventResponse, Timestamp,
};
use cucumber::{given, then, when};
use futures::StreamExt as _;
use harness::fault::{service::Service, Fault, Target as _};
use tonic::transport::Channel;

use super::world::MockVideoWorld;

const SERVICE: &str = "activity-server";

fn now_ns() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_nanos()).unwrap_or(i64::MAX)
}

pub(super) fn grpc_url(world: &MockVideoWorld) -> String {
    world
        .activity
        .grpc_url
        .clone()
        .expect("activity-server is not running in this scenario: add the Background step")
}

/// A channel to the scenario's activity-server.
pub(super) async fn channel(world: &MockVideoWorld) -> Channel {
    let url = grpc_url(world);
    let endpoint = Channel::from_shared(url.clone()).expect("a valid gRPC URL");
    endpoint
        .connect()
        .await
        .unwrap_or_else(|error| panic!("connecting to {url}: {error}"))
}

pub(super) async fn client(world: &MockVideoWorld) -> ActivityEventsClient<Channel> {
    ActivityEventsClient::new(channel(world).await)
}

async fn start_server(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let db = world
        .activity
        .db
        .clone()
        .expect("a database for activity-server");
    start_server_with(world, harness::launch::activity::settings_for(&db)).await
}

/// Starts activity-server with `settings` and points the scenario's gRPC and HTTP steps at it.
async fn start_server_with(
    world: &mut MockVideoWorld,
    settings: activity::Settings,
) -> anyhow::Result<()> {
    let service = harness::launch::activity::start_with(settings).await?;
    world.activity.grpc_url = Some(service.base_url());
    world.base_url = service.admin_url();
    world.services.push(service);
    Ok(())
}

#[given("the activity server is running on a fresh database")]
async fn activity_server_running(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let mysql = harness::suite::mysql().await?;
    let db = mysql.create_database("activity").await?;
    world.databases.push(db.clone());
    world.activity.db = Some(db);
    start_server(world).await
}

#[when("the activity server restarts")]
async fn restart(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    stop_server(world).await?;
    start_server(world).await
}

/// Stops the scenario's activity-server (it leaves the running services); its port stays free
/// for [`start_server`] to take again.
pub(super) async fn stop_server(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let position = world
        .services
        .iter()
        .position(|service| service.name() == SERVICE)
        .expect("a running activity-server");
    let server = world.services.remove(position);
    Service::new(server).inject(Fault::Stop).await?;
    Ok(())
}

/// An event as the original client sends it: `send` now, `receive` left to the server.
pub(super) fn event(id: i32, deployment_id: i32, message: &str) -> EventRequest {
    EventRequest {
        id,
        message: message.to_owned(),
        timestamp: Some(Timestamp {
            send: now_ns(),
            receive: 0,
        }),
        deployment_id,
    }
}

pub(super) async fn create(world: &mut MockVideoWorld, request: EventRequest) {
    world.activity.last_request = Some(request.clone());
    let outcome = client(world)
        .await
        .create_event(request)
        .await
        .map(tonic::Response::into_inner);
    world.activity.previous_call = world.activity.last_call.replace(outcome);
}

#[when(expr = "I create event {int} for deployment {int} with message {string}")]
async fn create_event(world: &mut MockVideoWorld, id: i32, deployment: i32, message: String) {
    create(world, event(id, deployment, &message)).await;
}

#[when("I send the same event again")]
async fn resend(world: &mut MockVideoWorld) {
    let request = world
        .activity
        .last_request
        .clone()
        .expect("an event sent before");
    create(world, request).await;
}

/// `event(id, deployment, message)` with `send` set `seconds` before now.
fn sent_ago(id: i32, deployment_id: i32, message: &str, seconds: u64) -> EventRequest {
    let ago = i64::try_from(Duration::from_secs(seconds).as_nanos()).unwrap_or(i64::MAX);
    EventRequest {
        timestamp: Some(Timestamp {
            send: now_ns().saturating_sub(ago),
            receive: 0,
        }),
        ..event(id, deployment_id, message)
    }
}

#[when(expr = "I create event {int} for deployment {int} with message {string} sent {int} s ago")]
async fn create_event_sent_earlier(
    world: &mut MockVideoWorld,
    id: i32,
    deployment: i32,
    message: String,
    seconds: u64,
) {
    create(world, sent_ago(id, deployment, &message, seconds)).await;
}

#[when("I send the same event again with a new send time")]
async fn resend_later(world: &mut MockVideoWorld) {
    let mut request = world
        .activity
        .last_request
        .clone()
        .expect("an event sent before");
    let earlier = request.timestamp.map(|timestamp| timestamp.send);
    let send = now_ns();
    assert_ne!(earlier, Some(send), "the send time changes");
    request.timestamp = Some(Timestamp { send, receive: 0 });
    create(world, request).await;
}

#[then("the answer is the first call's, execution time included")]
fn same_answer_as_before(world: &mut MockVideoWorld) {
    let last = last_call(world).as_ref().expect("CreateEvent succeeded");
    let previous = world
        .activity
        .previous_call
        .as_ref()
        .expect("two CreateEvents in this scenario")
        .as_ref()
        .expect("the first CreateEvent succeeded");
    assert_eq!(last, previous);
}

#[then(expr = "the execution time is at least {int} ms")]
fn execution_time_at_least(world: &mut MockVideoWorld, millis: i64) {
    let response = last_call(world).as_ref().expect("CreateEvent succeeded");
    assert!(response.execution_time >= millis, "{response:?}");
}

#[when(expr = "I create event {int} for deployment {int} with message {string} and no timestamp")]
async fn create_event_without_timestamp(
    world: &mut MockVideoWorld,
    id: i32,
    deployment: i32,
    message: String,
) {
    let request = EventRequest {
        timestamp: None,
        ..event(id, deployment, &message)
    };
    create(world, request).await;
}

#[when(expr = "I create event {int} for deployment {int} with a message of {int} characters")]
async fn create_event_with_long_message(
    world: &mut MockVideoWorld,
    id: i32,
    deployment: i32,
    length: usize,
) {
    create(world, event(id, deployment, &"m".repeat(length))).await;
}

#[when(
    expr = "{int} clients create event {int} for deployment {int} with message {string} at once"
)]
async fn create_concurrently(
    world: &mut MockVideoWorld,
    clients: usize,
    id: i32,
    deployment: i32,
    message: String,
) {
    // One shared `send` time: every client sends the very same event.
    let request = event(id, deployment, &message);
    let calls = (0..clients).map(|_| {
        let request = request.clone();
        async {
            let mut client = client(world).await;
            client
                .create_event(request)
                .await
                .map(tonic::Response::into_inner)
        }
    });
    let outcomes = futures::future::join_all(calls).await;
    let failures: Vec<_> = outcomes
        .iter()
        .filter_map(|outcome| outcome.as_ref().err())
        .collect();
    assert!(
        failures.is_empty(),
        "concurrent creates failed: {failures:?}"
    );
    world.activity.last_call = outcomes.into_iter().next();
}

fn last_call(world: &MockVideoWorld) -> &Result<EventResponse, tonic::Status> {
    world
        .activity
        .last_call
        .as_ref()
        .expect("no CreateEvent was sent in this scenario")
}

#[then(expr = "the event is accepted with id {int}")]
fn accepted(world: &mut MockVideoWorld, id: i32) {
    let response = last_call(world).as_ref().expect("CreateEvent succeeded");
    assert_eq!(response.id, id, "{response:?}");
    assert!(response.success, "{response:?}");
    assert!(response.execution_time >= 0, "{response:?}");
}

/// `INVALID_ARGUMENT` → [`tonic::Code::InvalidArgument`].
pub(super) fn code_named(name: &str) -> tonic::Code {
    let camel: String = name
        .split('_')
        .map(|word| {
            let lower = word.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    (0..=16)
        .map(tonic::Code::from_i32)
        .find(|code| format!("{code:?}") == camel)
        .unwrap_or_else(|| panic!("{name} is not a gRPC status code"))
}

#[then(expr = "the call fails with {word} mentioning {string}")]
fn call_fails(world: &mut MockVideoWorld, code: String, needle: String) {
    let status = last_call(world)
        .as_ref()
        .expect_err("CreateEvent should have failed");
    assert_eq!(status.code(), code_named(&code), "{status:?}");
    assert!(
        status.message().contains(&needle),
        "{needle:?} not in {:?}",
        status.message()
    );
}

#[when(
    expr = "{int} clients create event {int} for deployment {int} with message {string} at once, each with its own send time"
)]
async fn create_burst_with_own_send_times(
    world: &mut MockVideoWorld,
    clients: u64,
    id: i32,
    deployment: i32,
    message: String,
) {
    // As many re-runs of one client at once: the same event, a send time each.
    let calls = (0..clients).map(|n| {
        let mut request = event(id, deployment, &message);
        if let Some(timestamp) = request.timestamp.as_mut() {
            timestamp.send = timestamp
                .send
                .saturating_sub(i64::try_from(n).unwrap_or(0) * 1_000);
        }
        async {
            let mut client = client(world).await;
            client
                .create_event(request)
                .await
                .map(tonic::Response::into_inner)
        }
    });
    let outcomes = futures::future::join_all(calls).await;
    world.activity.burst = outcomes;
}

#[then("every client got the same successful answer")]
fn burst_same_answer(world: &mut MockVideoWorld) {
    let burst = &world.activity.burst;
    assert!(
        !burst.is_empty(),
        "no burst of CreateEvents in this scenario"
    );
    let answers: Vec<&EventResponse> = burst
        .iter()
        .map(|outcome| {
            outcome
                .as_ref()
                .unwrap_or_else(|status| panic!("a create of the burst failed: {status:?}"))
        })
        .collect();
    assert!(
        answers.iter().all(|answer| *answer == answers[0]),
        "{answers:?}"
    );
    assert!(answers[0].success, "{answers:?}");
}

#[then(expr = "the health of {string} is {word}")]
async fn health_is(world: &mut MockVideoWorld, service: String, expected: String) {
    use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
    let mut health = HealthClient::new(channel(world).await);
    let response = health
        .check(HealthCheckRequest { service })
        .await
        .expect("a health answer")
        .into_inner();
    assert_eq!(response.status().as_str_name(), expected);
}

#[then(expr = "server reflection lists {string}")]
async fn reflection_lists(world: &mut MockVideoWorld, service: String) {
    use tonic_reflection::pb::v1::{
        server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        ServerReflectionRequest,
    };
    let mut reflection = ServerReflectionClient::new(channel(world).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("a reflection stream")
        .into_inner();
    let answer = answers
        .next()
        .await
        .expect("one answer")
        .expect("a reflection answer");
    let names: Vec<String> = match answer.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => list
            .service
            .into_iter()
            .map(|service| service.name)
            .collect(),
        other => panic!("unexpected reflection answer {other:?}"),
    };
    assert!(names.contains(&service), "{service} not in {names:?}");
}
