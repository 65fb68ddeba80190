//! activity-server over an in-memory store (no MySQL needed): what needs a store that can be
//! switched off or filled instantly — health following the store, the concurrency limit, and
//! activity-client's retries while the store is down.
#![allow(clippy::unwrap_used)]

mod support;

use std::{sync::Arc, time::Duration};

use activity::{
    proto::{activity_events_client::ActivityEventsClient, Deployment, EventRequest},
    App, Settings,
};
use futures::StreamExt as _;
use harness::backing::wait::{wait_until, Attempt, WaitError};
use tonic::{transport::Channel, Code};
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

use activity::repo::InMemoryEventRepo;

struct Running {
    url: String,
    admin: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(settings: Settings, repo: Arc<InMemoryEventRepo>) -> Running {
    platform::telemetry::init_for_tests();
    let app = App::with_repo(settings, repo).await.unwrap();
    let url = format!("http://127.0.0.1:{}", app.grpc_addr().port());
    let admin = format!("http://127.0.0.1:{}", app.admin_addr().port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    Running {
        url,
        admin,
        stop,
        task,
    }
}

impl Running {
    async fn channel(&self) -> Channel {
        Channel::from_shared(self.url.clone())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

fn settings() -> Settings {
    Settings {
        port: 0,
        admin_port: 0,
        ..Settings::default()
    }
}

/// A new event `id` of deployment 1, sent now.
fn event(id: i32, message: &str) -> EventRequest {
    support::event(id, 1, message)
}

async fn status_of(health: &mut HealthClient<Channel>, service: &str) -> ServingStatus {
    health
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .status()
}

/// Polls until `service` reports `wanted` (the pinger runs every 2 s), at most 10 s.
async fn wait_for(health: &mut HealthClient<Channel>, service: &str, wanted: ServingStatus) {
    let what = format!("{service:?} {wanted:?}");
    wait_until(
        &what,
        Duration::from_secs(10),
        Duration::from_millis(100),
        || {
            let mut health = health.clone();
            async move {
                match status_of(&mut health, service).await {
                    status if status == wanted => Attempt::Ready(()),
                    status => Attempt::Pending(format!("{status:?}")),
                }
            }
        },
    )
    .await
    .unwrap_or_else(|error| panic!("{service:?} did not turn {wanted:?} within 10 s: {error}"));
}

#[tokio::test]
async fn health_follows_the_store_and_readiness_too() {
    let repo = Arc::new(InMemoryEventRepo::new());
    let server = start(settings(), repo.clone()).await;
    let mut health = HealthClient::new(server.channel().await);
    assert_eq!(status_of(&mut health, "").await, ServingStatus::Serving);

    repo.set_unavailable(true);
    for service in ["", "activityevents.ActivityEvents"] {
        wait_for(&mut health, service, ServingStatus::NotServing).await;
    }
    let ready = reqwest::get(format!("{}/readyz", server.admin))
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let mut client = ActivityEventsClient::new(server.channel().await);
    let status = client.create_event(event(1, "m")).await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);

    repo.set_unavailable(false);
    for service in ["", "activityevents.ActivityEvents"] {
        wait_for(&mut health, service, ServingStatus::Serving).await;
    }
    client.create_event(event(1, "m")).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn calls_over_the_concurrency_limit_are_refused_but_health_still_answers() {
    let repo = Arc::new(InMemoryEventRepo::new());
    let mut settings = settings();
    settings.limits.concurrency_limit = 2;
    let server = start(settings, repo.clone()).await;
    let mut client = ActivityEventsClient::new(server.channel().await);
    // About 10 MB per stream: more than the HTTP/2 windows (2 MB per stream on the client),
    // so unread streams stall on flow control and stay in flight.
    let big = "x".repeat(4000);
    for id in 1..=2500 {
        client.create_event(event(id, &big)).await.unwrap();
    }
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut reader = ActivityEventsClient::new(server.channel().await);
        let mut stream = reader
            .list_events(Deployment { id: 1 })
            .await
            .unwrap()
            .into_inner();
        stream.next().await.unwrap().unwrap();
        open.push((reader, stream));
    }
    let status = client.create_event(event(100_000, "m")).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("limit of 2"), "{status:?}");
    let mut health = HealthClient::new(server.channel().await);
    assert_eq!(status_of(&mut health, "").await, ServingStatus::Serving);

    // Finishing the streams frees their slots.
    for (_, mut stream) in open {
        let mut count = 1;
        while let Some(item) = stream.next().await {
            item.unwrap();
            count += 1;
        }
        assert_eq!(count, 2500);
    }
    let created = wait_until(
        "a call slot",
        Duration::from_secs(1),
        Duration::from_millis(20),
        || {
            let mut client = client.clone();
            async move {
                match client.create_event(event(100_000, "m")).await {
                    Ok(_) => Attempt::Ready(()),
                    Err(status) if status.code() == Code::ResourceExhausted => {
                        Attempt::Pending(status.message().to_owned())
                    }
                    Err(status) => Attempt::Failed(anyhow::anyhow!("{status:?}")),
                }
            }
        },
    )
    .await;
    if let Err(WaitError::Failed(error)) = &created {
        panic!("{error}");
    }
    assert!(created.is_ok(), "the slots were not released");
    server.stop().await;
}

#[tokio::test]
async fn a_malformed_message_is_invalid_argument_and_the_server_keeps_serving() {
    let server = start(settings(), Arc::new(InMemoryEventRepo::new())).await;
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    grpc.ready().await.unwrap();
    // A truncated varint where the first field's tag should be.
    let status = grpc
        .unary(
            tonic::Request::new(vec![0xff, 0xff, 0xff]),
            tonic::codegen::http::uri::PathAndQuery::from_static(
                "/activityevents.ActivityEvents/CreateEvent",
            ),
            activity::codec::RawCodec,
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("not valid protobuf"),
        "{status:?}"
    );
    // The same connection still serves a well-formed call.
    let mut client = ActivityEventsClient::new(server.channel().await);
    let listed = client
        .list_events(Deployment { id: 1 })
        .await
        .unwrap()
        .into_inner()
        .collect::<Vec<_>>()
        .await;
    assert!(listed.iter().all(Result::is_ok), "{listed:?}");
    server.stop().await;
}

/// The names reflection lists, or the status of the reflection call.
async fn reflected_services(channel: Channel) -> Result<Vec<String>, tonic::Status> {
    use tonic_reflection::pb::v1::{
        server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        ServerReflectionRequest,
    };
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await?
        .into_inner();
    match answers.next().await {
        Some(Ok(answer)) => match answer.message_response {
            Some(MessageResponse::ListServicesResponse(list)) => Ok(list
                .service
                .into_iter()
                .map(|service| service.name)
                .collect()),
            other => panic!("unexpected reflection answer {other:?}"),
        },
        Some(Err(status)) => Err(status),
        None => panic!("no reflection answer"),
    }
}

#[tokio::test]
async fn reflection_is_served_unless_the_setting_turns_it_off() {
    let server = start(settings(), Arc::new(InMemoryEventRepo::new())).await;
    let names = reflected_services(server.channel().await).await.unwrap();
    assert!(
        names.contains(&"activityevents.ActivityEvents".to_owned()),
        "{names:?}"
    );
    server.stop().await;

    let mut off = settings();
    off.grpc.reflection = false;
    let server = start(off, Arc::new(InMemoryEventRepo::new())).await;
    let status = reflected_services(server.channel().await)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
    // The events service itself is unaffected.
    let mut client = ActivityEventsClient::new(server.channel().await);
    client.create_event(event(1, "m")).await.unwrap();
    server.stop().await;
}

/// Runs activity-client in-process against the server at `url` with `args`: (exit code,
/// stdout, stderr).
async fn run_client(url: &str, args: &[&str]) -> (i32, String, String) {
    let port = url.rsplit(':').next().unwrap_or_default().to_owned();
    let mut argv = vec!["activity-client", "-port", &port];
    argv.extend_from_slice(args);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = activity::client::main_with(argv, &mut out, &mut err).await;
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[tokio::test]
async fn the_client_retries_a_create_while_the_store_is_down_and_says_how_often() {
    let repo = Arc::new(InMemoryEventRepo::new());
    let server = start(settings(), repo.clone()).await;
    repo.set_unavailable(true);
    let back = {
        let repo = repo.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            repo.set_unavailable(false);
        })
    };
    let add = r#"{"id":1,"deployment_id":1,"message":"deployed"}"#;
    let (code, out, err) = run_client(
        &server.url,
        &["--retries", "20", "--retry-delay", "40ms", "-add", add],
    )
    .await;
    back.await.unwrap();
    assert_eq!(code, 0, "{err}");
    // The original's line on stdout, unchanged; the retries on stderr.
    assert!(
        out.starts_with("An event created with id [1] for deployment_id [1] in "),
        "{out}"
    );
    let notes: Vec<&str> = err.lines().collect();
    assert!(notes.len() >= 2, "{err}");
    assert!(
        notes[0].starts_with(
            "CreateEvent failed (rpc error: code = Unavailable desc = the event store is \
             unavailable; retry later); retry 1 of 20 in "
        ),
        "{err}"
    );
    let retries = notes.len() - 1;
    assert_eq!(
        notes[retries],
        format!("The event was created after {retries} retries"),
        "{err}"
    );
    assert_eq!(repo.len(), 1);

    // Run again, with --json: the same event, no retry needed, the count says so.
    let (code, out, err) = run_client(&server.url, &["--json", "-add", add]).await;
    assert_eq!(code, 0, "{err}");
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(line["retries"], 0, "{out}");
    assert!(err.is_empty(), "{err}");
    assert_eq!(repo.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn the_client_gives_up_after_its_retries_or_its_time_budget() {
    let repo = Arc::new(InMemoryEventRepo::new());
    let server = start(settings(), repo.clone()).await;
    repo.set_unavailable(true);
    let add = r#"{"id":2,"deployment_id":1,"message":"never stored"}"#;
    let (code, _, err) = run_client(
        &server.url,
        &["--retries", "3", "--retry-delay", "10ms", "-add", add],
    )
    .await;
    assert_eq!(code, 1, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "three notes and the reason: {err}");
    let reason = lines[3];
    assert!(
        reason.starts_with("Could not create Event: rpc error: code = Unavailable"),
        "{reason}"
    );
    assert!(reason.ends_with("(gave up after 3 retries)"), "{reason}");

    // Many retries allowed, but only 300 ms: the budget ends it.
    let started = std::time::Instant::now();
    let (code, _, err) = run_client(
        &server.url,
        &[
            "--retries",
            "1000",
            "--retry-delay",
            "50ms",
            "--retry-for",
            "300ms",
            "-add",
            add,
        ],
    )
    .await;
    assert_eq!(code, 1, "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let retries = err.lines().count() - 1;
    assert!((1..=6).contains(&retries), "{err}");

    // What would fail again is not retried: --retries does not apply to INVALID_ARGUMENT.
    repo.set_unavailable(false);
    let (code, _, err) = run_client(
        &server.url,
        &["-add", r#"{"id":0,"deployment_id":1,"message":"bad id"}"#],
    )
    .await;
    assert_eq!(code, 1, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("code = InvalidArgument"), "{err}");
    assert!(repo.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn the_client_waits_for_a_server_that_is_not_up_yet() {
    // A free port, where the server will start only after the client's first attempts.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = tokio::spawn(async move {
        let port = port.to_string();
        let argv = [
            "activity-client",
            "-port",
            &port,
            "--retries",
            "30",
            "--retry-delay",
            "50ms",
            "--json",
            "-add",
            r#"{"id":1,"deployment_id":1,"message":"early bird"}"#,
        ];
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = activity::client::main_with(argv, &mut out, &mut err).await;
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let repo = Arc::new(InMemoryEventRepo::new());
    let server = start(Settings { port, ..settings() }, repo.clone()).await;
    let (code, out, err) = tokio::time::timeout(Duration::from_secs(30), client)
        .await
        .expect("the client ends within 30 s")
        .unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(
        err.lines().all(|line| line.contains("code = Unavailable")),
        "{err}"
    );
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let retries = line["retries"].as_u64().unwrap();
    assert!(retries >= 1, "{out}");
    assert_eq!(
        usize::try_from(retries).unwrap(),
        err.lines().count(),
        "{err}"
    );
    assert_eq!(repo.len(), 1);
    server.stop().await;

    // Nothing listens any more: a create-only run gives up after its retries, like the
    // original's "Could not create Event".
    let (code, _, err) = run_client(
        &format!("http://127.0.0.1:{port}"),
        &[
            "--retries",
            "2",
            "--retry-delay",
            "10ms",
            "-add",
            r#"{"id":2,"deployment_id":1,"message":"m"}"#,
        ],
    )
    .await;
    assert_eq!(code, 1, "{err}");
    let reason = err.lines().last().unwrap_or_default();
    assert!(
        reason.starts_with("Could not create Event: rpc error: code = Unavailable"),
        "{err}"
    );
    assert!(reason.ends_with("(gave up after 2 retries)"), "{err}");
}
