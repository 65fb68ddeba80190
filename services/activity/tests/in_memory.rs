//! activity-server over an in-memory store (no MySQL needed): what needs a store that can be
//! switched off or filled instantly — health following the store, and the concurrency limit.
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
