//! activity against hostile and careless clients: bytes that are no protobuf message,
//! `ListEvents` streams opened and never read, and more of them than the server allows.

use std::time::{Duration, Instant};

use activity::codec::RawCodec;
use activity::proto::{activity_events_client::ActivityEventsClient, Deployment, EventResponse};
use cucumber::{given, then, when};
use futures::StreamExt as _;
use tonic::{transport::Channel, Status};

use super::{
    super::world::MockVideoWorld, channel, client, code_named, event, grpc_url, listed,
    start_server_with,
};

/// The HTTP/2 receive window of a client that does not read: small, so the server's sends
/// block after a few events rather than after megabytes.
const UNREAD_WINDOW: u32 = 1024;

/// Longest a step reads one stream, so a server that never ends it fails the scenario in time.
const READ_LIMIT: Duration = Duration::from_secs(15);

#[given(
    expr = "the activity server is running on a fresh database with at most {int} ListEvents streams and a {int} s send timeout"
)]
async fn limited_server(
    world: &mut MockVideoWorld,
    streams: usize,
    send_timeout_secs: u64,
) -> anyhow::Result<()> {
    let mysql = harness::suite::mysql().await?;
    let db = mysql.create_database("activity_limits").await?;
    world.databases.push(db.clone());
    world.activity.db = Some(db.clone());
    let mut settings = harness::launch::activity::settings_for(&db);
    settings.limits.max_list_streams = streams;
    settings.limits.stream_send_timeout = Duration::from_secs(send_timeout_secs);
    start_server_with(world, settings).await
}

#[given(expr = "deployment {int} has {int} events of {int} characters")]
async fn many_events(world: &mut MockVideoWorld, deployment: i32, count: i32, length: usize) {
    let message = "e".repeat(length);
    let grpc = client(world).await;
    for chunk in (1..=count).collect::<Vec<_>>().chunks(10) {
        let creates = chunk.iter().map(|id| {
            let mut grpc = grpc.clone();
            let request = event(*id, deployment, &message);
            async move { grpc.create_event(request).await }
        });
        for outcome in futures::future::join_all(creates).await {
            if let Err(status) = outcome {
                panic!("creating the events: {status:?}");
            }
        }
    }
}

#[when(expr = "I open {int} ListEvents stream(s) for deployment {int} and read nothing")]
async fn open_unread(world: &mut MockVideoWorld, streams: usize, deployment: i32) {
    let url = grpc_url(world);
    for _ in 0..streams {
        // A connection of its own with a small window: nothing read, nothing more sent.
        let channel = Channel::from_shared(url.clone())
            .expect("a valid gRPC URL")
            .initial_stream_window_size(Some(UNREAD_WINDOW))
            .connect()
            .await
            .unwrap_or_else(|error| panic!("connecting to {url}: {error}"));
        let stream = ActivityEventsClient::new(channel)
            .list_events(Deployment { id: deployment })
            .await
            .unwrap_or_else(|status| panic!("opening a ListEvents stream: {status:?}"))
            .into_inner();
        world.activity.unread.push(stream);
    }
}

#[when(expr = "{int} s pass")]
async fn seconds_pass(_world: &mut MockVideoWorld, seconds: u64) {
    tokio::time::sleep(Duration::from_secs(seconds)).await;
}

#[then(
    expr = "reading the first unread stream gives fewer than {int} events and then {word} mentioning {string}"
)]
async fn unread_stream_ended(
    world: &mut MockVideoWorld,
    total: usize,
    code: String,
    needle: String,
) {
    assert!(
        !world.activity.unread.is_empty(),
        "no unread stream was opened in this scenario"
    );
    let mut stream = world.activity.unread.remove(0);
    let started = Instant::now();
    let mut events = 0;
    let ending = tokio::time::timeout(READ_LIMIT, async {
        while let Some(item) = stream.next().await {
            match item {
                Ok(_) => events += 1,
                Err(status) => return Some(status),
            }
        }
        None
    })
    .await
    .unwrap_or_else(|_| panic!("the stream did not end within {READ_LIMIT:?}"));
    println!(
        "[activity] the unread stream delivered {events} buffered events of {total}, then ended in {:.2} s with {:?}",
        started.elapsed().as_secs_f64(),
        ending.as_ref().map(Status::code)
    );
    let status = ending.unwrap_or_else(|| panic!("the stream ended OK after {events} events"));
    assert!(
        events < total,
        "{events} events: the stream was read in full"
    );
    assert_eq!(status.code(), code_named(&code), "{status:?}");
    assert!(status.message().contains(&needle), "{status:?}");
}

#[then(expr = "{int} events are listed")]
fn count_listed(world: &mut MockVideoWorld, count: usize) {
    assert_eq!(listed(world).len(), count);
}

#[then(expr = "listing deployment {int} fails with {word} mentioning {string}")]
fn list_fails_mentioning(
    world: &mut MockVideoWorld,
    _deployment: i32,
    code: String,
    needle: String,
) {
    match world
        .activity
        .listed
        .as_ref()
        .expect("no ListEvents call in this scenario")
    {
        Ok(events) => panic!("ListEvents succeeded with {} events", events.len()),
        Err(status) => {
            assert_eq!(status.code(), code_named(&code), "{status:?}");
            assert!(status.message().contains(&needle), "{status:?}");
        }
    }
}

#[when("I send bytes that are not an EventRequest to CreateEvent")]
async fn send_malformed(world: &mut MockVideoWorld) {
    let mut grpc = tonic::client::Grpc::new(channel(world).await);
    grpc.ready()
        .await
        .unwrap_or_else(|error| panic!("the gRPC channel is not ready: {error}"));
    // A truncated varint where the first field's tag should be.
    let outcome = grpc
        .unary(
            tonic::Request::new(vec![0xff, 0xff, 0xff]),
            tonic::codegen::http::uri::PathAndQuery::from_static(
                "/activityevents.ActivityEvents/CreateEvent",
            ),
            RawCodec,
        )
        .await;
    let outcome: Result<EventResponse, Status> = match outcome {
        Ok(answer) => panic!(
            "the server accepted bytes that are no EventRequest and answered {:?}",
            answer.into_inner()
        ),
        Err(status) => Err(status),
    };
    world.activity.last_call = Some(outcome);
}
