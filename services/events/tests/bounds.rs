//! The consumer's bounds on Redis against a real Redis (the harness's): the seen window drops
//! old ids and still catches a repeat inside it, the processed list keeps its length and counts
//! what it dropped, an entry acknowledged elsewhere is not applied again, and the stream is
//! trimmed exactly below what every group is done with, never further.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{create_group, eventually, redis};
use events::{
    consumer::{
        record::{processed_count_key, processed_key, seen_key},
        reply::{parse_read_reply, Entry},
        trim::{read_progress, trim, trim_point, StreamId},
        worker::Worker,
    },
    notification::{NotificationMessage, EVENT_FIELD},
};
use harness::launch::events::{consumer_settings, start_consumer};
use redis::aio::MultiplexedConnection;

const GROUP: &str = "bounds_group";

async fn add(
    connection: &mut MultiplexedConnection,
    stream: &str,
    nm: &NotificationMessage,
) -> String {
    redis::cmd("XADD")
        .arg(stream)
        .arg("*")
        .arg(EVENT_FIELD)
        .arg(nm.to_json())
        .query_async(connection)
        .await
        .unwrap()
}

async fn add_events(connection: &mut MultiplexedConnection, stream: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(
            add(
                connection,
                stream,
                &NotificationMessage::new(format!("e{i}")),
            )
            .await,
        );
    }
    ids
}

/// `XREADGROUP … COUNT n … >` as `consumer`: the entries, now pending.
async fn read_new(
    connection: &mut MultiplexedConnection,
    stream: &str,
    group: &str,
    consumer: &str,
    n: usize,
) -> Vec<Entry> {
    let reply: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(group)
        .arg(consumer)
        .arg("COUNT")
        .arg(n)
        .arg("STREAMS")
        .arg(stream)
        .arg(">")
        .query_async(connection)
        .await
        .unwrap();
    parse_read_reply(&reply).unwrap()
}

async fn ack(connection: &mut MultiplexedConnection, stream: &str, group: &str, ids: &[&str]) {
    let _: u64 = redis::cmd("XACK")
        .arg(stream)
        .arg(group)
        .arg(ids)
        .query_async(connection)
        .await
        .unwrap();
}

async fn number(connection: &mut MultiplexedConnection, command: &str, key: &str) -> u64 {
    redis::cmd(command)
        .arg(key)
        .query_async(connection)
        .await
        .unwrap()
}

async fn first_entry(connection: &mut MultiplexedConnection, stream: &str) -> Option<String> {
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query_async(connection)
        .await
        .unwrap();
    entries.into_iter().next().map(|(id, _)| id)
}

#[tokio::test]
async fn the_seen_window_forgets_old_ids_and_the_processed_list_keeps_its_length() {
    let (redis, stream, mut connection) = redis("bounds_window").await;
    create_group(&mut connection, &stream, GROUP).await;
    let mut settings = consumer_settings(redis.url(), &stream, GROUP, "w");
    // Below the start-up minimum on purpose: the worker is driven directly, never started.
    settings.seen_window = Duration::from_millis(300);
    settings.processed_max_len = 3;
    let worker = Worker::new(&settings).unwrap();
    let seen = seen_key(&stream, GROUP);
    let processed = processed_key(&stream, GROUP);
    let count = processed_count_key(&stream, GROUP);

    let repeated = NotificationMessage::new("repeated".to_owned());
    add(&mut connection, &stream, &repeated).await;
    add_events(&mut connection, &stream, 4).await;
    let entries = read_new(&mut connection, &stream, GROUP, "w", 100).await;
    let outcome = worker.process(&mut connection, &entries).await.unwrap();
    assert_eq!(outcome.processed, 5);
    assert_eq!(number(&mut connection, "ZCARD", &seen).await, 5);
    assert_eq!(number(&mut connection, "LLEN", &processed).await, 3);
    let appended: u64 = redis::cmd("GET")
        .arg(&count)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(appended, 5);
    let ttl = number(&mut connection, "PTTL", &seen).await;
    assert!(ttl > 0 && ttl <= 300, "the window's expiry: {ttl} ms");

    // The same NM id again inside the window: a duplicate.
    add(&mut connection, &stream, &repeated).await;
    let entries = read_new(&mut connection, &stream, GROUP, "w", 100).await;
    let outcome = worker.process(&mut connection, &entries).await.unwrap();
    assert_eq!((outcome.processed, outcome.duplicates), (0, 1));

    // Once the window has passed, the next batch drops the old ids.
    tokio::time::sleep(Duration::from_millis(400)).await;
    add_events(&mut connection, &stream, 2).await;
    let entries = read_new(&mut connection, &stream, GROUP, "w", 100).await;
    let outcome = worker.process(&mut connection, &entries).await.unwrap();
    assert_eq!(outcome.processed, 2);
    assert_eq!(number(&mut connection, "ZCARD", &seen).await, 2);
    assert_eq!(number(&mut connection, "LLEN", &processed).await, 3);
    let appended: u64 = redis::cmd("GET")
        .arg(&count)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(appended, 7);

    // Without a processed record nothing is appended, but the count still goes on.
    settings.processed_record = false;
    let worker = Worker::new(&settings).unwrap();
    add_events(&mut connection, &stream, 1).await;
    let entries = read_new(&mut connection, &stream, GROUP, "w", 100).await;
    assert_eq!(
        worker
            .process(&mut connection, &entries)
            .await
            .unwrap()
            .processed,
        1
    );
    assert_eq!(number(&mut connection, "LLEN", &processed).await, 3);
    let appended: u64 = redis::cmd("GET")
        .arg(&count)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(appended, 8);
}

#[tokio::test]
async fn an_entry_acknowledged_by_another_consumer_meanwhile_is_not_applied_again() {
    let (redis, stream, mut connection) = redis("bounds_claimed").await;
    create_group(&mut connection, &stream, GROUP).await;
    let worker = Worker::new(&consumer_settings(redis.url(), &stream, GROUP, "slow")).unwrap();
    add_events(&mut connection, &stream, 2).await;
    let entries = read_new(&mut connection, &stream, GROUP, "slow", 100).await;
    // While "slow" holds the batch, another consumer claimed the first entry and applied it.
    ack(&mut connection, &stream, GROUP, &[entries[0].id.as_str()]).await;
    let outcome = worker.process(&mut connection, &entries).await.unwrap();
    assert_eq!((outcome.processed, outcome.duplicates), (1, 1));
    assert_eq!(
        number(&mut connection, "LLEN", &processed_key(&stream, GROUP)).await,
        1
    );
}

#[tokio::test]
async fn the_trim_point_keeps_whatever_any_group_has_not_acknowledged() {
    let (_redis, stream, mut connection) = redis("bounds_trim").await;
    let ids = add_events(&mut connection, &stream, 10).await;
    let id = |i: usize| ids[i].parse::<StreamId>().unwrap();

    // No group: nothing is trimmed.
    let outcome = trim(&mut connection, &stream).await.unwrap();
    assert_eq!((outcome.point, outcome.removed), (None, 0));
    assert_eq!(number(&mut connection, "XLEN", &stream).await, 10);

    // "fast" read everything and acknowledged it; "slow" read 6 and acknowledged 0..=1 and 3.
    create_group(&mut connection, &stream, "fast").await;
    create_group(&mut connection, &stream, "slow").await;
    let all = read_new(&mut connection, &stream, "fast", "f", 100).await;
    let all_ids: Vec<&str> = all.iter().map(|entry| entry.id.as_str()).collect();
    ack(&mut connection, &stream, "fast", &all_ids).await;
    read_new(&mut connection, &stream, "slow", "s", 6).await;
    ack(
        &mut connection,
        &stream,
        "slow",
        &[&ids[0], &ids[1], &ids[3]],
    )
    .await;

    let progress = read_progress(&mut connection, &stream).await.unwrap();
    assert_eq!(progress.len(), 2);
    let slow = progress.iter().find(|group| group.name == "slow").unwrap();
    assert_eq!(slow.first_pending, Some(id(2)));
    assert_eq!(slow.last_delivered, id(5));
    assert_eq!(trim_point(&progress), Some(id(2)));

    let outcome = trim(&mut connection, &stream).await.unwrap();
    assert_eq!((outcome.point, outcome.removed), (Some(id(2)), 2));
    assert_eq!(
        first_entry(&mut connection, &stream).await,
        Some(ids[2].clone())
    );

    // "slow" acknowledges what it holds: it is done up to its last delivered entry, and the
    // four it has not read stay.
    ack(
        &mut connection,
        &stream,
        "slow",
        &[&ids[2], &ids[4], &ids[5]],
    )
    .await;
    let outcome = trim(&mut connection, &stream).await.unwrap();
    assert_eq!(outcome.point, id(5).next());
    assert_eq!(outcome.removed, 4);
    assert_eq!(
        first_entry(&mut connection, &stream).await,
        Some(ids[6].clone())
    );
    assert_eq!(number(&mut connection, "XLEN", &stream).await, 4);

    // A group that has read nothing keeps everything that is left.
    create_group(&mut connection, &stream, "new").await;
    let outcome = trim(&mut connection, &stream).await.unwrap();
    assert_eq!(outcome.removed, 0);
    assert_eq!(number(&mut connection, "XLEN", &stream).await, 4);
}

#[tokio::test]
async fn a_running_consumer_trims_what_it_is_done_with_but_not_what_a_lagging_group_needs() {
    let (redis, stream, mut connection) = redis("bounds_running").await;
    create_group(&mut connection, &stream, GROUP).await;
    create_group(&mut connection, &stream, "lagging").await;
    let ids = add_events(&mut connection, &stream, 30).await;
    // The lagging group has read and acknowledged the first 10 only.
    read_new(&mut connection, &stream, "lagging", "l", 10).await;
    let first_ten: Vec<&str> = ids[..10].iter().map(String::as_str).collect();
    ack(&mut connection, &stream, "lagging", &first_ten).await;

    let mut settings = consumer_settings(redis.url(), &stream, GROUP, "trimmer");
    settings.trim_interval = Duration::from_millis(100);
    let consumer = start_consumer(settings).await.unwrap();
    let first = eventually(
        "the stream trimmed to the lagging group's first unread entry",
        || {
            let mut connection = connection.clone();
            let stream = stream.clone();
            let want = ids[10].clone();
            async move {
                let first = first_entry(&mut connection, &stream).await;
                (first.as_deref() == Some(want.as_str())).then_some(first)
            }
        },
    )
    .await;
    assert_eq!(first, Some(ids[10].clone()));
    // Rounds later, still nothing the lagging group has not read is gone.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(number(&mut connection, "XLEN", &stream).await, 20);
    let llen = number(&mut connection, "LLEN", &processed_key(&stream, GROUP)).await;
    assert_eq!(llen, 30);
    consumer.stop().await.unwrap();

    // Without the lagging group the next trim empties the stream (every entry acknowledged).
    let _: u64 = redis::cmd("XGROUP")
        .arg("DESTROY")
        .arg(&stream)
        .arg("lagging")
        .query_async(&mut connection)
        .await
        .unwrap();
    trim(&mut connection, &stream).await.unwrap();
    assert_eq!(number(&mut connection, "XLEN", &stream).await, 0);
}
