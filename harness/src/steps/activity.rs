//! activity steps: a fresh activity-server per scenario, CreateEvent and ListEvents over gRPC,
//! restarts, health, reflection and the activity-client's output; [`hostile`]: malformed
//! messages, unread and too many `ListEvents` streams. An event is identified by its deployment
//! and id, so the steps that check one name both where an id alone could be ambiguous.

pub mod hostile;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use activity::proto::{
    activity_events_client::ActivityEventsClient, Deployment, EventRequest, EventResponse,
    Timestamp,
};
use cucumber::{given, then, when};
use futures::StreamExt as _;
use harness::fault::{service::Service, Fault, Target as _};
use tonic::transport::Channel;

use super::world::{activity::ClientRun, MockVideoWorld};

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
    let position = world
        .services
        .iter()
        .position(|service| service.name() == SERVICE)
        .expect("a running activity-server");
    let server = world.services.remove(position);
    Service::new(server).inject(Fault::Stop).await?;
    start_server(world).await
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

/// The scenario's server's gRPC port.
fn grpc_port(world: &MockVideoWorld) -> String {
    grpc_url(world)
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Runs activity-client in-process against `port` with `arguments` (a command line).
async fn client_run_on(port: String, arguments: &str) -> ClientRun {
    let mut argv = vec!["activity-client".to_owned(), "-port".to_owned(), port];
    argv.extend(split_arguments(arguments));
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let exit_code = activity::client::main_with(argv, &mut stdout, &mut stderr).await;
    ClientRun {
        exit_code,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

#[when(regex = r"^I run the activity client with `(.*)`$")]
async fn run_client(world: &mut MockVideoWorld, arguments: String) {
    let run = client_run_on(grpc_port(world), &arguments).await;
    world.activity.previous_client = world.activity.client.replace(run);
}

#[when(
    regex = r"^the activity server is down for (\d+) s while I run the activity client with `(.*)`$"
)]
async fn run_client_through_outage(
    world: &mut MockVideoWorld,
    seconds: u64,
    arguments: String,
) -> anyhow::Result<()> {
    let port = grpc_port(world);
    let position = world
        .services
        .iter()
        .position(|service| service.name() == SERVICE)
        .expect("a running activity-server");
    let server = world.services.remove(position);
    Service::new(server).inject(Fault::Stop).await?;
    // The server comes back on the same port while the client is retrying.
    let mut settings = harness::launch::activity::settings_for(
        world
            .activity
            .db
            .as_ref()
            .expect("a database for activity-server"),
    );
    settings.port = port.parse()?;
    let restart = async {
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        harness::launch::activity::start_with(settings).await
    };
    let (run, restarted) = tokio::join!(client_run_on(port, &arguments), restart);
    let service = restarted?;
    world.base_url = service.admin_url();
    world.services.push(service);
    world.activity.previous_client = world.activity.client.replace(run);
    Ok(())
}

/// Splits a command line on spaces, keeping 'single-quoted' parts whole (as a shell would).
fn split_arguments(line: &str) -> Vec<String> {
    let mut arguments = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for character in line.chars() {
        match character {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    arguments.push(std::mem::take(&mut current));
                }
            }
            other => current.push(other),
        }
    }
    if !current.is_empty() {
        arguments.push(current);
    }
    arguments
}

fn client_run(world: &MockVideoWorld) -> &ClientRun {
    world
        .activity
        .client
        .as_ref()
        .expect("the activity client has not run in this scenario")
}

#[then(expr = "the client exits with status {int}")]
fn client_exit(world: &mut MockVideoWorld, code: i32) {
    let run = client_run(world);
    assert_eq!(run.exit_code, code, "{run:?}");
}

#[then(expr = "the client prints a line starting with {string}")]
fn client_prints(world: &mut MockVideoWorld, prefix: String) {
    let run = client_run(world);
    assert!(
        run.stdout.lines().any(|line| line.starts_with(&prefix)),
        "{prefix:?} in {run:?}"
    );
}

#[then(expr = "the client prints a line containing {string}")]
fn client_prints_containing(world: &mut MockVideoWorld, needle: String) {
    let run = client_run(world);
    assert!(
        run.stdout.lines().any(|line| line.contains(&needle)),
        "{needle:?} in {run:?}"
    );
}

#[then(expr = "the client prints {int} lines starting with {string}")]
fn client_prints_count(world: &mut MockVideoWorld, count: usize, prefix: String) {
    let run = client_run(world);
    let matching = run
        .stdout
        .lines()
        .filter(|line| line.starts_with(&prefix))
        .count();
    assert_eq!(matching, count, "{prefix:?} in {run:?}");
}

#[then(expr = "the client reports an error containing {string}")]
fn client_error(world: &mut MockVideoWorld, needle: String) {
    let run = client_run(world);
    assert!(run.stderr.contains(&needle), "{needle:?} not in {run:?}");
    assert_eq!(
        run.stderr.trim().lines().count(),
        1,
        "a one-line reason: {run:?}"
    );
}

#[then(expr = "the client noted at least {int} retry/retries of its create")]
fn client_retried(world: &mut MockVideoWorld, at_least: usize) {
    let run = client_run(world);
    let notes = run
        .stderr
        .lines()
        .filter(|line| line.starts_with("CreateEvent failed ("))
        .count();
    assert!(notes >= at_least, "{notes} retries noted: {run:?}");
}

#[then(expr = "the client's last error line contains {string}")]
fn client_last_error(world: &mut MockVideoWorld, needle: String) {
    let run = client_run(world);
    let last = run.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains(&needle),
        "{needle:?} not in {last:?}: {run:?}"
    );
}

#[then("the client prints what it printed on its previous run")]
fn client_prints_the_same(world: &mut MockVideoWorld) {
    let run = client_run(world);
    let previous = world
        .activity
        .previous_client
        .as_ref()
        .expect("two activity-client runs in this scenario");
    assert_eq!(run.stdout, previous.stdout, "{previous:?} then {run:?}");
}

#[then(expr = "every line the client prints is a JSON object with {string}")]
fn client_json(world: &mut MockVideoWorld, key: String) {
    let run = client_run(world);
    assert!(!run.stdout.trim().is_empty(), "no output: {run:?}");
    for line in run.stdout.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|error| panic!("{line:?}: {error}"));
        assert!(value.get(&key).is_some(), "{key:?} not in {line}");
    }
}
