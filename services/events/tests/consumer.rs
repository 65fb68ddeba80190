//! event-consumer against a real Redis (the harness's): once-only processing, duplicates,
//! dead letters, XAUTOCLAIM of a dead consumer's entries, own pending entries first, clean stop.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use common::{create_group, eventually, read_unacknowledged, redis};
use events::{
    consumer::record::{processed_key, read_processed, seen_key, ProcessedRecord},
    notification::{NotificationMessage, CREATE_FIELD, CREATE_VALUE, EVENT_FIELD},
};
use harness::launch::events::{consumer_settings, start_consumer};
use redis::aio::MultiplexedConnection;

const GROUP: &str = "test_group";

async fn xadd(
    connection: &mut MultiplexedConnection,
    stream: &str,
    field: &str,
    value: &str,
) -> String {
    redis::cmd("XADD")
        .arg(stream)
        .arg("*")
        .arg(field)
        .arg(value)
        .query_async(connection)
        .await
        .unwrap()
}

async fn add_event(
    connection: &mut MultiplexedConnection,
    stream: &str,
    nm: &NotificationMessage,
) -> String {
    xadd(connection, stream, EVENT_FIELD, &nm.to_json()).await
}

async fn pending_count(connection: &mut MultiplexedConnection, stream: &str) -> u64 {
    let summary: redis::Value = redis::cmd("XPENDING")
        .arg(stream)
        .arg(GROUP)
        .query_async(connection)
        .await
        .unwrap();
    match summary {
        redis::Value::Array(parts) => match parts.first() {
            Some(redis::Value::Int(n)) => u64::try_from(*n).unwrap(),
            other => panic!("unexpected XPENDING reply {other:?}"),
        },
        other => panic!("unexpected XPENDING reply {other:?}"),
    }
}

/// Waits until `n` records are processed and nothing is pending; returns the records.
async fn wait_processed(
    connection: &MultiplexedConnection,
    stream: &str,
    n: usize,
) -> Vec<ProcessedRecord> {
    eventually(
        &format!("{n} processed records and nothing pending"),
        || {
            let mut connection = connection.clone();
            let stream = stream.to_owned();
            async move {
                let records = read_processed(&mut connection, &stream, GROUP).await.ok()?;
                (records.len() >= n && pending_count(&mut connection, &stream).await == 0)
                    .then_some(records)
            }
        },
    )
    .await
}

#[tokio::test]
async fn every_event_is_processed_once_and_markers_are_only_acknowledged() {
    let (redis, stream, mut connection) = redis("consumer_once").await;
    xadd(&mut connection, &stream, CREATE_FIELD, CREATE_VALUE).await;
    let mut sent = Vec::new();
    for i in 0..25 {
        let nm = NotificationMessage::new(format!("event {i}"));
        let entry_id = add_event(&mut connection, &stream, &nm).await;
        sent.push((nm, entry_id));
    }
    let consumer = start_consumer(consumer_settings(redis.url(), &stream, GROUP, "c1"))
        .await
        .unwrap();
    let records = wait_processed(&connection, &stream, 25).await;
    assert_eq!(records.len(), 25);
    for ((nm, entry_id), record) in sent.iter().zip(&records) {
        assert_eq!(record.id, nm.id);
        assert_eq!(&record.description, &nm.description);
        assert_eq!(&record.entry_id, entry_id);
        assert_eq!(record.consumer, "c1");
    }
    // Events written while it runs are processed too.
    let late = NotificationMessage::new("late".to_owned());
    add_event(&mut connection, &stream, &late).await;
    let records = wait_processed(&connection, &stream, 26).await;
    assert_eq!(records.last().unwrap().id, late.id);
    let seen: u64 = redis::cmd("ZCARD")
        .arg(seen_key(&stream, GROUP))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(seen, 26);
    // A clean stop.
    tokio::time::timeout(common::WAIT, consumer.stop())
        .await
        .unwrap()
        .unwrap();
    let len: u64 = redis::cmd("LLEN")
        .arg(processed_key(&stream, GROUP))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(len, 26);
}

#[tokio::test]
async fn a_repeated_notification_id_is_acknowledged_but_processed_once() {
    let (redis, stream, mut connection) = redis("consumer_duplicates").await;
    let nm = NotificationMessage::new("twice".to_owned());
    add_event(&mut connection, &stream, &nm).await;
    add_event(&mut connection, &stream, &nm).await;
    let other = NotificationMessage::new("other".to_owned());
    add_event(&mut connection, &stream, &other).await;
    let consumer = start_consumer(consumer_settings(redis.url(), &stream, GROUP, "c1"))
        .await
        .unwrap();
    let records = wait_processed(&connection, &stream, 2).await;
    let ids: Vec<u64> = records.iter().map(|record| record.id).collect();
    assert_eq!(ids, vec![nm.id, other.id]);
    consumer.stop().await.unwrap();
}

#[tokio::test]
async fn poison_entries_are_dead_lettered_without_blocking_later_ones() {
    let (redis, stream, mut connection) = redis("consumer_poison").await;
    let bad_json = xadd(&mut connection, &stream, EVENT_FIELD, "{not json").await;
    let no_field = xadd(&mut connection, &stream, "Unknown", "x").await;
    let good = NotificationMessage::new("after the poison".to_owned());
    add_event(&mut connection, &stream, &good).await;
    let mut settings = consumer_settings(redis.url(), &stream, GROUP, "c1");
    settings.max_deliveries = 3;
    let consumer = start_consumer(settings).await.unwrap();
    let records = wait_processed(&connection, &stream, 1).await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].id, good.id);
    let dead = format!("{stream}:dead");
    let dead_entries: Vec<(String, Vec<(String, String)>)> = eventually("two dead letters", || {
        let mut connection = connection.clone();
        let dead = dead.clone();
        async move {
            let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
                .arg(&dead)
                .arg("-")
                .arg("+")
                .query_async(&mut connection)
                .await
                .ok()?;
            (entries.len() >= 2).then_some(entries)
        }
    })
    .await;
    assert_eq!(dead_entries.len(), 2);
    let sources: BTreeSet<String> = dead_entries
        .iter()
        .map(|(_, fields)| {
            let get = |name: &str| {
                fields
                    .iter()
                    .find(|(field, _)| field == name)
                    .map(|(_, value)| value.clone())
                    .unwrap_or_else(|| panic!("no {name} in {fields:?}"))
            };
            assert!(!get("reason").is_empty());
            get("source_id")
        })
        .collect();
    assert_eq!(sources, BTreeSet::from([bad_json, no_field]));
    let (_, first) = &dead_entries
        .iter()
        .find(|(_, fields)| fields.iter().any(|(field, _)| field == EVENT_FIELD))
        .unwrap();
    assert!(first.contains(&(EVENT_FIELD.to_owned(), "{not json".to_owned())));
    assert_eq!(pending_count(&mut connection, &stream).await, 0);
    consumer.stop().await.unwrap();
}

#[tokio::test]
async fn entries_of_a_dead_consumer_are_claimed() {
    let (redis, stream, mut connection) = redis("consumer_claim").await;
    create_group(&mut connection, &stream, GROUP).await;
    let mut sent = Vec::new();
    for i in 0..3 {
        let nm = NotificationMessage::new(format!("orphan {i}"));
        add_event(&mut connection, &stream, &nm).await;
        sent.push(nm.id);
    }
    // "dead" reads them and dies without acknowledging.
    read_unacknowledged(&mut connection, &stream, GROUP, "dead").await;
    assert_eq!(pending_count(&mut connection, &stream).await, 3);
    let consumer = start_consumer(consumer_settings(redis.url(), &stream, GROUP, "alive"))
        .await
        .unwrap();
    let records = wait_processed(&connection, &stream, 3).await;
    assert_eq!(records.iter().map(|r| r.id).collect::<Vec<_>>(), sent);
    assert!(records.iter().all(|record| record.consumer == "alive"));
    consumer.stop().await.unwrap();
}

#[tokio::test]
async fn a_restarted_consumer_reads_its_own_pending_entries_first() {
    let (redis, stream, mut connection) = redis("consumer_own_pending").await;
    create_group(&mut connection, &stream, GROUP).await;
    let nm = NotificationMessage::new("pending".to_owned());
    add_event(&mut connection, &stream, &nm).await;
    read_unacknowledged(&mut connection, &stream, GROUP, "same").await;
    // Claiming would take 10 minutes: only reading its own pending list can process it.
    let mut settings = consumer_settings(redis.url(), &stream, GROUP, "same");
    settings.claim_min_idle = std::time::Duration::from_secs(600);
    // The de-duplication window must outlast the claim idle time (refused at start otherwise).
    settings.seen_window = std::time::Duration::from_secs(900);
    let consumer = start_consumer(settings).await.unwrap();
    let records = wait_processed(&connection, &stream, 1).await;
    assert_eq!(records[0].id, nm.id);
    assert_eq!(records[0].consumer, "same");
    consumer.stop().await.unwrap();
}

#[tokio::test]
async fn consumer_is_ready_with_redis_and_reports_metrics() {
    let (redis, stream, mut connection) = redis("consumer_admin").await;
    let consumer = start_consumer(consumer_settings(redis.url(), &stream, GROUP, "c1"))
        .await
        .unwrap();
    let admin = consumer.admin_url().unwrap();
    common::wait_ready(&admin).await;
    add_event(
        &mut connection,
        &stream,
        &NotificationMessage::new("m".to_owned()),
    )
    .await;
    wait_processed(&connection, &stream, 1).await;
    let metrics = reqwest::get(format!("{admin}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "events_consumed_total",
        "events_duplicates_total",
        "events_dead_lettered_total",
        "events_claimed_total",
        "events_end_to_end_lag_seconds_bucket",
    ] {
        assert!(metrics.contains(name), "{name} missing from\n{metrics}");
    }
    consumer.stop().await.unwrap();
}
