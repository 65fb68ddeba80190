//! event-producer against a real Redis (the harness's): the stream entry format, the marker,
//! MAXLEN, 503 without Redis, and the simulator's report.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{closed_port, eventually, ready_producer, redis};
use events::{
    notification::{NotificationMessage, CREATE_FIELD, CREATE_VALUE, EVENT_FIELD},
    simulator,
};
use harness::launch::events::{producer_settings, start_producer};
use redis::aio::MultiplexedConnection;

/// `XRANGE <stream> - +` as (id, [(field, value)]).
async fn entries(
    connection: &mut MultiplexedConnection,
    stream: &str,
) -> Vec<(String, Vec<(String, String)>)> {
    redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .query_async(connection)
        .await
        .unwrap()
}

async fn post(base_url: &str, body: &'static str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base_url}/event"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn accepted_event_is_one_event_stream_entry_after_the_marker() {
    let (redis, stream, mut connection) = redis("producer_format").await;
    let producer = ready_producer(producer_settings(redis.url(), &stream)).await;

    let response = post(
        &producer.base_url(),
        r#"{"description":"test_case_running"}"#,
    )
    .await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("content-type").is_none());
    assert!(response.bytes().await.unwrap().is_empty());

    let all = entries(&mut connection, &stream).await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(
        all[0].1,
        vec![(CREATE_FIELD.to_owned(), CREATE_VALUE.to_owned())]
    );
    let (field, json) = &all[1].1[0];
    assert_eq!((field.as_str(), all[1].1.len()), (EVENT_FIELD, 1));
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    let keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 3, "{json}");
    let nm: NotificationMessage = serde_json::from_str(json).unwrap();
    assert_eq!(nm.description, "test_case_running");
    assert!(nm.id <= i64::MAX as u64);
    assert!(nm.time().is_some(), "{}", nm.timestamp);
    assert!(nm.timestamp.ends_with('Z'), "{}", nm.timestamp);
    assert!(json.starts_with(r#"{"id":"#), "{json}");

    // Lenient decoding and the seed's errors, end to end.
    assert_eq!(post(&producer.base_url(), "{}").await.status(), 200);
    let response = post(&producer.base_url(), r#"{"description":123}"#).await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["title"], "Error unmarshalling body");
    assert_eq!(body["status"], 400);
    assert_eq!(entries(&mut connection, &stream).await.len(), 3);
    producer.stop().await.unwrap();
}

#[tokio::test]
async fn max_len_trims_the_stream_exactly() {
    let (redis, stream, mut connection) = redis("producer_maxlen").await;
    let mut settings = producer_settings(redis.url(), &stream);
    settings.max_len = 5;
    let producer = ready_producer(settings).await;
    for _ in 0..12 {
        let response = post(&producer.base_url(), r#"{"description":"x"}"#).await;
        assert_eq!(response.status(), 200);
    }
    let len: u64 = redis::cmd("XLEN")
        .arg(&stream)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(len, 5);
    producer.stop().await.unwrap();
}

#[tokio::test]
async fn unreachable_redis_is_503_with_retry_after_and_not_ready() {
    platform::telemetry::init_for_tests();
    let url = format!("redis://127.0.0.1:{}", closed_port());
    let producer = start_producer(producer_settings(&url, "nowhere"))
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        client
            .post(format!("{}/event", producer.base_url()))
            .body(r#"{"description":"lost?"}"#)
            .send(),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], 503);
    assert_eq!(body["error"]["code"], "service_unavailable");
    let ready = client
        .get(format!("{}/readyz", producer.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let live = client
        .get(format!("{}/livez", producer.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    producer.stop().await.unwrap();
}

#[tokio::test]
async fn simulator_report_counts_what_the_producer_accepted() {
    let (redis, stream, mut connection) = redis("simulator_report").await;
    let producer = ready_producer(producer_settings(redis.url(), &stream)).await;
    let settings = simulator::Settings {
        producer_url: producer.base_url(),
        events_per_second: 0.0,
        concurrency: 4,
        max_events: Some(20),
        description: "sim {seq}".to_owned(),
        ..simulator::Settings::default()
    };
    let report = tokio::time::timeout(
        common::WAIT,
        simulator::run(&settings, std::future::pending()),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!((report.sent, report.accepted, report.failed), (20, 20, 0));
    assert_eq!(report.statuses.get(&200), Some(&20));
    assert_eq!(report.accepted_seqs, (0..20).collect::<Vec<u64>>());
    assert_eq!(report.latency.len(), 20);
    let all = entries(&mut connection, &stream).await;
    let mut descriptions: Vec<String> = all
        .iter()
        .filter(|(_, fields)| fields[0].0 == EVENT_FIELD)
        .map(|(_, fields)| {
            serde_json::from_str::<NotificationMessage>(&fields[0].1)
                .unwrap()
                .description
        })
        .collect();
    descriptions.sort();
    let mut expected: Vec<String> = (0..20).map(|seq| format!("sim {seq}")).collect();
    expected.sort();
    assert_eq!(descriptions, expected);
    producer.stop().await.unwrap();
}

#[tokio::test]
async fn stream_deleted_while_running_gets_the_marker_again() {
    let (redis, stream, mut connection) = redis("producer_recreate").await;
    let producer = ready_producer(producer_settings(redis.url(), &stream)).await;
    let _: u64 = redis::cmd("DEL")
        .arg(&stream)
        .query_async(&mut connection)
        .await
        .unwrap();
    let check = connection.clone();
    let stream_name = stream.clone();
    eventually("the marker written again", || {
        let mut connection = check.clone();
        let stream = stream_name.clone();
        async move {
            let all = entries(&mut connection, &stream).await;
            (all.len() == 1 && all[0].1[0].0 == CREATE_FIELD).then_some(())
        }
    })
    .await;
    producer.stop().await.unwrap();
}

/// `POST /event` with an `Idempotency-Key`.
async fn post_with_key(base_url: &str, key: &str, body: &'static str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base_url}/event"))
        .header("idempotency-key", key)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_idempotency_key_appends_its_event_once() {
    let (redis, stream, mut connection) = redis("producer_idempotent").await;
    let producer = ready_producer(producer_settings(redis.url(), &stream)).await;
    let base = producer.base_url();

    let first = post_with_key(&base, "order-7", r#"{"description":"once"}"#).await;
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let again = post_with_key(&base, "order-7", r#"{"description":"once"}"#).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let other = post_with_key(&base, "order-7", r#"{"description":"another"}"#).await;
    assert_eq!(other.status(), 422);
    assert!(other
        .text()
        .await
        .unwrap()
        .contains("idempotency_key_reused"));
    let bad = post_with_key(&base, "", r#"{"description":"x"}"#).await;
    assert_eq!(bad.status(), 400);

    // The marker and one event, whose id follows from the key.
    let all = entries(&mut connection, &stream).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let nm: NotificationMessage = serde_json::from_str(&all[1].1[0].1).unwrap();
    assert_eq!(nm.description, "once");
    let key = platform::idempotency::Key::parse(&"order-7".parse().unwrap()).unwrap();
    assert_eq!(nm.id, events::producer::routes::event_id(&key));
    // The key is remembered with a lifetime.
    let ttl: i64 = redis::cmd("PTTL")
        .arg(events::producer::writer::key_record(&stream, "order-7"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(ttl > 23 * 3600 * 1000, "{ttl}");
}
