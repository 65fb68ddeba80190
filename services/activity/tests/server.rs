//! activity-server over gRPC against a real MySQL: create/list, idempotency under concurrency,
//! restarts, bad input, limits, health, reflection, metrics, streaming and graceful drain.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use activity::proto::{Deployment, EventRequest};
use futures::StreamExt as _;
use support::{event, ids, list, TestDb, TestServer};
use tonic::Code;
use tonic_health::pb::{
    health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
};

#[tokio::test]
async fn created_events_are_listed_per_deployment_in_insertion_order() {
    let db = TestDb::create().await;
    let server = TestServer::start(db.settings()).await;
    let mut client = server.client().await;
    for (id, deployment, message) in [(30, 2, "third"), (10, 1, "first"), (20, 2, "second")] {
        let response = client
            .create_event(event(id, deployment, message))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.id, id);
        assert!(response.success);
        assert!(response.execution_time >= 0, "{response:?}");
    }
    assert_eq!(ids(&list(&mut client, 2).await.unwrap()), [30, 20]);
    let all = list(&mut client, 0).await.unwrap();
    assert_eq!(ids(&all), [30, 10, 20]);
    for listed in &all {
        let timestamp = listed.timestamp.unwrap();
        assert!(
            timestamp.send > 0 && timestamp.receive >= timestamp.send,
            "{listed:?}"
        );
    }
    assert_eq!(all[1].message, "first");
    assert_eq!(all[1].deployment_id, 1);
    assert!(list(&mut client, 77).await.unwrap().is_empty());
    let status = list(&mut client, -1).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("deployment"), "{status:?}");
    server.stop().await;
}

#[tokio::test]
async fn the_same_event_twice_is_stored_once_and_a_different_one_is_already_exists() {
    let db = TestDb::create().await;
    let server = TestServer::start(db.settings()).await;
    let mut client = server.client().await;
    let sent = event(7, 1, "retry me");
    let first = client
        .create_event(sent.clone())
        .await
        .unwrap()
        .into_inner();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let again = client
        .create_event(sent.clone())
        .await
        .unwrap()
        .into_inner();
    // The retry gets the first answer, execution time included.
    assert_eq!(first, again);

    let impostor = EventRequest {
        message: "impostor".to_owned(),
        ..sent.clone()
    };
    let status = client.create_event(impostor).await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    assert!(status.message().contains("event 7"), "{status:?}");
    // The same id in another deployment is another event (ids are per deployment).
    let elsewhere = EventRequest {
        deployment_id: 2,
        ..sent
    };
    client.create_event(elsewhere).await.unwrap();

    let listed = list(&mut client, 1).await.unwrap();
    assert_eq!(ids(&listed), [7]);
    assert_eq!(listed[0].message, "retry me");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM activity_event")
        .fetch_one(&db.pool().await)
        .await
        .unwrap();
    assert_eq!(rows, 2);
    server.stop().await;
}

#[tokio::test]
async fn fifty_concurrent_creates_of_one_event_store_exactly_one_row() {
    let db = TestDb::create().await;
    let server = TestServer::start(db.settings()).await;
    let sent = event(9, 4, "thundering herd");
    let mut calls = Vec::new();
    for _ in 0..50 {
        // Separate connections, so the calls really race in the server and the database.
        let mut client = server.client().await;
        let sent = sent.clone();
        calls.push(tokio::spawn(async move {
            client
                .create_event(sent)
                .await
                .map(tonic::Response::into_inner)
        }));
    }
    let mut responses = Vec::new();
    for call in calls {
        responses.push(
            call.await
                .unwrap()
                .expect("every concurrent create succeeds"),
        );
    }
    assert!(responses.iter().all(|response| *response == responses[0]));
    assert!(responses[0].success);

    // Different events racing for one id: exactly one wins, the rest are ALREADY_EXISTS.
    let mut racers = Vec::new();
    for n in 0..20 {
        let mut client = server.client().await;
        racers.push(tokio::spawn(async move {
            client
                .create_event(event(10, 4, &format!("racer {n}")))
                .await
        }));
    }
    let mut won = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(_) => won += 1,
            Err(status) => assert_eq!(status.code(), Code::AlreadyExists, "{status:?}"),
        }
    }
    assert_eq!(won, 1);

    let pool = db.pool().await;
    let rows: Vec<(i32, i64)> =
        sqlx::query_as("SELECT id, COUNT(*) FROM activity_event GROUP BY id ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows, [(9, 1), (10, 1)]);
    server.stop().await;
}

#[tokio::test]
async fn events_survive_a_restart() {
    let db = TestDb::create().await;
    let server = TestServer::start(db.settings()).await;
    let mut client = server.client().await;
    client
        .create_event(event(5, 3, "before the restart"))
        .await
        .unwrap();
    drop(client);
    server.stop().await;

    let server = TestServer::start(db.settings()).await;
    let mut client = server.client().await;
    let listed = list(&mut client, 3).await.unwrap();
    assert_eq!(ids(&listed), [5]);
    assert_eq!(listed[0].message, "before the restart");
    // Migrations ran twice without complaint, and the id is still taken.
    let status = client.create_event(event(5, 3, "after")).await.unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists);
    server.stop().await;
}

#[tokio::test]
async fn bad_input_is_invalid_argument_and_the_server_keeps_serving() {
    let db = TestDb::create().await;
    let server = TestServer::start(db.settings()).await;
    let mut client = server.client().await;
    let no_timestamp = EventRequest {
        timestamp: None,
        ..event(1, 1, "no clock")
    };
    let status = client.create_event(no_timestamp).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("timestamp"), "{status:?}");

    for (request, needle) in [
        (event(0, 1, "hello"), "id must be greater than 0"),
        (event(-5, 1, "hello"), "idempotency key"),
        (event(1, -1, "hello"), "deployment_id"),
        (event(1, 1, ""), "message must not be empty"),
        (event(1, 1, &"m".repeat(5000)), "at most 4096"),
    ] {
        let status = client.create_event(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains(needle), "{needle}: {status:?}");
    }

    // Over the message size limit (64 KiB): refused by the transport, not a crash.
    let status = client
        .create_event(event(1, 1, &"m".repeat(70 * 1024)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");

    // Still serving, on the same connection and on a new one.
    client
        .create_event(event(2, 1, "still here"))
        .await
        .unwrap();
    let mut fresh = server.client().await;
    assert_eq!(ids(&list(&mut fresh, 1).await.unwrap()), [2]);
    server.stop().await;
}

#[tokio::test]
async fn health_is_serving_then_not_serving_as_soon_as_shutdown_starts() {
    let db = TestDb::create().await;
    let mut settings = db.settings();
    settings.limits.drain_deadline = Duration::from_secs(1);
    let mut server = TestServer::start(settings).await;
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", "activityevents.ActivityEvents"] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.status(), ServingStatus::Serving, "{service:?}");
    }
    let ready = reqwest::get(server.admin_url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);

    // A watcher opened before the shutdown sees the change.
    let mut watch = health
        .watch(HealthCheckRequest {
            service: "activityevents.ActivityEvents".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.next().await.unwrap().unwrap();
    assert_eq!(first.status(), ServingStatus::Serving);

    let task = server.begin_stop();
    let next = tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .expect("a status change within 5 s")
        .unwrap()
        .unwrap();
    assert_eq!(next.status(), ServingStatus::NotServing);
    // The admin port still answers during the drain, and says why it is not ready.
    let not_ready = reqwest::get(server.admin_url("/readyz")).await.unwrap();
    assert_eq!(not_ready.status(), 503);
    assert!(not_ready.text().await.unwrap().contains("shutting down"));

    // The open watch is cut at the drain deadline (1 s) and the server ends.
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the server stops within the deadline and its grace")
        .unwrap()
        .unwrap();
    assert!(
        server_refuses(&server.url()).await,
        "the gRPC port is closed after the stop"
    );
}

async fn server_refuses(url: &str) -> bool {
    tonic::transport::Channel::from_shared(url.to_owned())
        .unwrap()
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .is_err()
}

#[tokio::test]
async fn server_reflection_lists_the_service() {
    use tonic_reflection::pb::v1::{
        server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        ServerReflectionRequest,
    };
    let db = TestDb::create().await;
    let server = TestServer::start(db.settings()).await;
    let mut reflection = ServerReflectionClient::new(server.channel().await);
    let requests = [
        MessageRequest::ListServices(String::new()),
        MessageRequest::FileContainingSymbol("activityevents.ActivityEvents".to_owned()),
    ]
    .map(|request| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    });
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let names: Vec<String> = match answers.next().await.unwrap().unwrap().message_response {
        Some(MessageResponse::ListServicesResponse(list)) => list
            .service
            .into_iter()
            .map(|service| service.name)
            .collect(),
        other => panic!("unexpected answer {other:?}"),
    };
    for expected in [
        "activityevents.ActivityEvents",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(
            names.iter().any(|name| name == expected),
            "{expected} in {names:?}"
        );
    }
    match answers.next().await.unwrap().unwrap().message_response {
        Some(MessageResponse::FileDescriptorResponse(files)) => {
            assert!(!files.file_descriptor_proto.is_empty());
        }
        other => panic!("unexpected answer {other:?}"),
    }
    server.stop().await;
}

#[tokio::test]
async fn the_admin_port_serves_metrics_with_event_and_grpc_counters() {
    let db = TestDb::create().await;
    let server = TestServer::start(db.settings()).await;
    let mut client = server.client().await;
    client.create_event(event(1, 1, "counted")).await.unwrap();
    client
        .create_event(event(1, 1, "conflict"))
        .await
        .unwrap_err();
    list(&mut client, 1).await.unwrap();
    assert_eq!(
        reqwest::get(server.admin_url("/livez"))
            .await
            .unwrap()
            .status(),
        200
    );
    let metrics = reqwest::get(server.admin_url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "activity_events_created_total",
        "activity_events_duplicates_total",
        "activity_events_streamed_total",
        "grpc_server_handling_seconds_bucket",
    ] {
        assert!(metrics.contains(name), "{name} missing:\n{metrics}");
    }
    // Counters are process-wide (tests share the recorder), so look for labelled series.
    for series in [
        r#"grpc_server_handled_total{grpc_service="activityevents.ActivityEvents",grpc_method="CreateEvent",grpc_code="OK"}"#,
        r#"grpc_server_handled_total{grpc_service="activityevents.ActivityEvents",grpc_method="CreateEvent",grpc_code="AlreadyExists"}"#,
        r#"grpc_server_handled_total{grpc_service="activityevents.ActivityEvents",grpc_method="ListEvents",grpc_code="OK"}"#,
    ] {
        assert!(metrics.contains(series), "{series} missing:\n{metrics}");
    }
    server.stop().await;
}

/// Inserts `count` events straight into the table (ids 1..=count, deployment `id % 3 + 1`),
/// a thousand rows per statement.
async fn seed_events(db: &TestDb, count: i32) {
    let pool = db.pool().await;
    let send = support::now_ns();
    for chunk_start in (1..=count).step_by(1000) {
        let chunk_end = (chunk_start + 999).min(count);
        let mut builder = sqlx::QueryBuilder::<sqlx::MySql>::new(
            "INSERT INTO activity_event (id, deployment_id, message, send_ns, receive_ns) ",
        );
        builder.push_values(chunk_start..=chunk_end, |mut row, id| {
            row.push_bind(id)
                .push_bind(id % 3 + 1)
                .push_bind(format!("event number {id}"))
                .push_bind(send)
                .push_bind(send + 1_000_000);
        });
        builder.build().execute(&pool).await.unwrap();
    }
}

#[tokio::test]
async fn ten_thousand_events_stream_in_order() {
    let db = TestDb::create().await;
    let server = TestServer::start(db.settings()).await;
    seed_events(&db, 10_000).await;
    let mut client = server.client().await;
    let all = list(&mut client, 0).await.unwrap();
    assert_eq!(all.len(), 10_000);
    assert_eq!(ids(&all), (1..=10_000).collect::<Vec<_>>());
    assert_eq!(all[9_999].message, "event number 10000");
    let two = list(&mut client, 2).await.unwrap();
    assert_eq!(
        ids(&two),
        (1..=10_000)
            .filter(|id| id % 3 + 1 == 2)
            .collect::<Vec<_>>()
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_stream_finish() {
    let db = TestDb::create().await;
    let mut settings = db.settings();
    settings.limits.drain_deadline = Duration::from_secs(20);
    let mut server = TestServer::start(settings).await;
    seed_events(&db, 3_000).await;
    let mut client = server.client().await;
    let mut stream = client
        .list_events(Deployment { id: 0 })
        .await
        .unwrap()
        .into_inner();
    let mut received = vec![stream.next().await.unwrap().unwrap()];
    let task = server.begin_stop();
    // Read slowly at first, so the drain has to wait for this stream.
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Some(item) = stream.next().await {
        received.push(item.expect("the stream finishes normally during the drain"));
    }
    assert_eq!(ids(&received), (1..=3_000).collect::<Vec<_>>());
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("the server stops once the stream is done")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn streams_still_open_at_the_drain_deadline_end_with_unavailable() {
    let db = TestDb::create().await;
    let mut settings = db.settings();
    settings.limits.drain_deadline = Duration::from_millis(500);
    let mut server = TestServer::start(settings).await;
    // About 8 MB of events: more than HTTP/2 windows and buffers hold, so the server is
    // still sending when the deadline passes.
    let pool = db.pool().await;
    let big = "x".repeat(4000);
    let send = support::now_ns();
    for chunk in 0..4 {
        let mut builder = sqlx::QueryBuilder::<sqlx::MySql>::new(
            "INSERT INTO activity_event (id, deployment_id, message, send_ns, receive_ns) ",
        );
        builder.push_values(1..=500, |mut row, n| {
            row.push_bind(chunk * 500 + n)
                .push_bind(1)
                .push_bind(&big)
                .push_bind(send)
                .push_bind(send);
        });
        builder.build().execute(&pool).await.unwrap();
    }
    let mut client = server.client().await;
    let mut stream = client
        .list_events(Deployment { id: 1 })
        .await
        .unwrap()
        .into_inner();
    stream.next().await.unwrap().unwrap();
    let task = server.begin_stop();
    // The client stalls past the deadline.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut received = 1;
    let mut failure = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(_) => received += 1,
            Err(status) => {
                failure = Some(status);
                break;
            }
        }
    }
    assert!(received < 2_000, "{received}");
    let status = failure.expect("the cut stream ends with an error, not OK");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the server stops within deadline and grace")
        .unwrap()
        .unwrap();
}
