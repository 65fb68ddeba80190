//! What Redis holds for the pipeline, and its bounds: the consumers' seen window, processed
//! list and stream trimming as the scenario configures them, a follower that reads the
//! processed list while it is trimmed, a consumer group left behind, and the sizes and memory
//! read back from Redis (printed for the closing note).

use std::time::Duration;

use cucumber::{given, then, when};
use events::consumer::record::{processed_count_key, processed_key, seen_key};
use harness::backing::wait::{wait_until, Attempt};
use redis::{aio::MultiplexedConnection, streams::StreamPendingReply, AsyncCommands as _};

use super::reads::wait_until_settled;
use crate::steps::world::{
    events::{ConsumerBounds, Follower, GROUP},
    MockVideoWorld,
};

/// Longest a bounds check waits for a trim round or an expiry.
const BOUND_WAIT: Duration = Duration::from_secs(30);

fn duration(text: &str) -> Duration {
    platform::http::parse_duration(text).unwrap_or_else(|error| panic!("{text:?}: {error}"))
}

#[given(
    expr = "consumers that keep a seen window of {string}, at most {int} processed records and trim the stream every {string}"
)]
async fn bounded_consumers(
    world: &mut MockVideoWorld,
    window: String,
    processed: u64,
    interval: String,
) {
    world.events.bounds = ConsumerBounds {
        seen_window: duration(&window),
        processed_max_len: processed,
        trim_interval: Some(duration(&interval)),
    };
}

#[given(expr = "consumers that trim the stream every {string}")]
async fn trimming_consumers(world: &mut MockVideoWorld, interval: String) {
    world.events.bounds.trim_interval = Some(duration(&interval));
}

#[given("the processed record is followed as the consumers trim it")]
async fn follow_processed(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let follower = Follower::start(&world.events.url(), &world.events.stream, GROUP).await?;
    world.events.follower = Some(follower);
    Ok(())
}

#[when(expr = "consumer {string} stops")]
async fn consumer_stops(world: &mut MockVideoWorld, name: String) -> anyhow::Result<()> {
    let consumer = world
        .events
        .consumers
        .remove(&name)
        .unwrap_or_else(|| panic!("no consumer {name}"));
    tokio::time::timeout(BOUND_WAIT, consumer.stop())
        .await
        .map_err(|_| anyhow::anyhow!("consumer {name} did not stop within {BOUND_WAIT:?}"))?
}

#[when(expr = "a reader of group {string} takes {int} entries without acknowledging them")]
async fn reader_takes(world: &mut MockVideoWorld, group: String, count: usize) {
    let mut conn = world.events.conn().await;
    let reply: redis::streams::StreamReadReply = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(&group)
        .arg("reader")
        .arg("COUNT")
        .arg(count)
        .arg("STREAMS")
        .arg(&world.events.stream)
        .arg(">")
        .query_async(&mut conn)
        .await
        .unwrap_or_else(|error| panic!("XREADGROUP as reader of {group}: {error}"));
    let taken: usize = reply.keys.iter().map(|key| key.ids.len()).sum();
    assert_eq!(taken, count, "the reader took {taken} entries");
}

/// The smallest id pending in `group`.
async fn first_pending(conn: &mut MultiplexedConnection, stream: &str, group: &str) -> String {
    let reply: StreamPendingReply = conn
        .xpending(stream, group)
        .await
        .unwrap_or_else(|error| panic!("XPENDING {stream} {group}: {error}"));
    match reply {
        StreamPendingReply::Data(data) if data.count > 0 => data.start_id,
        _ => panic!("nothing is pending in group {group}"),
    }
}

/// The id of the first entry of `stream`, if it has any.
async fn first_entry(conn: &mut MultiplexedConnection, stream: &str) -> Option<String> {
    let reply: redis::streams::StreamRangeReply = conn
        .xrange_count(stream, "-", "+", 1)
        .await
        .unwrap_or_else(|error| panic!("XRANGE {stream}: {error}"));
    reply.ids.into_iter().next().map(|entry| entry.id)
}

#[then(expr = "the stream is trimmed to the first entry group {string} has not acknowledged")]
async fn trimmed_to_laggard(world: &mut MockVideoWorld, group: String) {
    let stream = world.events.stream.clone();
    let mut conn = world.events.conn().await;
    let want = first_pending(&mut conn, &stream, &group).await;
    let (stream_ref, want_ref) = (&stream, &want);
    let trimmed = wait_until(
        &format!("{stream} trimmed to {want}"),
        BOUND_WAIT,
        Duration::from_millis(100),
        || {
            let mut conn = conn.clone();
            async move {
                match first_entry(&mut conn, stream_ref).await {
                    Some(first) if &first == want_ref => Attempt::Ready(()),
                    other => Attempt::Pending(format!("first entry {other:?}")),
                }
            }
        },
    )
    .await;
    let len: u64 = conn.xlen(&stream).await.unwrap_or(0);
    let info: redis::streams::StreamInfoGroupsReply =
        conn.xinfo_groups(&stream).await.unwrap_or_default();
    let behind = info
        .groups
        .iter()
        .find(|g| g.name == group)
        .map(|g| (g.pending, g.lag));
    println!(
        "[events] stream trimmed to {want} (the first entry {group} has not acknowledged): \
         XLEN {len}, {group} (pending, lag) = {behind:?}"
    );
    trimmed.unwrap_or_else(|error| panic!("{error}"));
    // Still pending entries are in the stream with their fields, not just in the PEL.
    let entry: redis::streams::StreamRangeReply = conn
        .xrange(&stream, &want, &want)
        .await
        .unwrap_or_else(|error| panic!("XRANGE {want}: {error}"));
    assert_eq!(entry.ids.len(), 1, "{want} is gone from the stream");
}

/// An integer reply, 0 when the key is missing.
async fn integer(conn: &mut MultiplexedConnection, command: &str, key: &str) -> u64 {
    redis::cmd(command)
        .arg(key)
        .query_async::<Option<u64>>(conn)
        .await
        .ok()
        .flatten()
        .unwrap_or(0)
}

/// `MEMORY USAGE <key>` in bytes (0 when the key is missing).
async fn memory(conn: &mut MultiplexedConnection, key: &str) -> u64 {
    redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .query_async::<Option<u64>>(conn)
        .await
        .ok()
        .flatten()
        .unwrap_or(0)
}

/// `used_memory` of `INFO memory`, in bytes.
async fn used_memory(conn: &mut MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(conn)
        .await
        .unwrap_or_default();
    info.lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0)
}

/// Waits (bounded) until `stream` holds no entry.
async fn wait_until_trimmed_to_nothing(
    conn: &MultiplexedConnection,
    stream: &str,
) -> Result<(), harness::backing::wait::WaitError> {
    wait_until(
        "the stream trimmed to nothing",
        BOUND_WAIT,
        Duration::from_millis(100),
        || {
            let mut conn = conn.clone();
            async move {
                match conn.xlen::<_, u64>(stream).await {
                    Ok(0) => Attempt::Ready(()),
                    other => Attempt::Pending(format!("XLEN {other:?}")),
                }
            }
        },
    )
    .await
}

#[then("the stream is trimmed to nothing")]
async fn trimmed_to_nothing(world: &mut MockVideoWorld) {
    let conn = world.events.conn().await;
    wait_until_trimmed_to_nothing(&conn, &world.events.stream)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

#[then("the stream, the seen window and the processed list stay within their bounds")]
async fn within_bounds(world: &mut MockVideoWorld) {
    let bounds = world.events.bounds;
    let stream = world.events.stream.clone();
    let keys = [
        stream.clone(),
        seen_key(&stream, GROUP),
        processed_key(&stream, GROUP),
        processed_count_key(&stream, GROUP),
    ];
    wait_until_settled(&world.events).await;
    let mut conn = world.events.conn().await;
    let (_, missed, peaks) = world
        .events
        .follower
        .as_ref()
        .expect("the processed record is followed (add that step)")
        .catch_up()
        .await
        .unwrap_or_else(|error| panic!("{error:#}"));
    assert_eq!(missed, 0, "records trimmed before they were read");

    // Everything is acknowledged by the only group: the next trim round empties the stream.
    let emptied = wait_until_trimmed_to_nothing(&conn, &stream).await;

    let appended = integer(&mut conn, "GET", &keys[3]).await;
    let sizes = [
        integer(&mut conn, "XLEN", &keys[0]).await,
        integer(&mut conn, "ZCARD", &keys[1]).await,
        integer(&mut conn, "LLEN", &keys[2]).await,
    ];
    let mut bytes = [0; 4];
    for (slot, key) in bytes.iter_mut().zip(&keys) {
        *slot = memory(&mut conn, key).await;
    }
    let dbsize: u64 = redis::cmd("DBSIZE")
        .query_async(&mut conn)
        .await
        .unwrap_or(0);
    let used = used_memory(&mut conn).await;
    println!(
        "[events] Redis after {appended} events applied: stream XLEN {} ({}), seen window ZCARD {} \
         ({}), processed LLEN {} ({}), count key {}; DBSIZE {dbsize}, used_memory {}",
        sizes[0],
        kib(bytes[0]),
        sizes[1],
        kib(bytes[1]),
        sizes[2],
        kib(bytes[2]),
        kib(bytes[3]),
        kib(used)
    );
    println!(
        "[events] peaks over {} samples during the flow: stream XLEN {}, seen window ZCARD {} \
         (oldest id {:.1} s old; window {:?}), processed LLEN {} (bound {})",
        peaks.samples,
        peaks.stream,
        peaks.seen,
        peaks.seen_age_ms as f64 / 1000.0,
        bounds.seen_window,
        peaks.processed,
        bounds.processed_max_len
    );
    emptied.unwrap_or_else(|error| panic!("{error}"));

    assert!(
        peaks.processed <= bounds.processed_max_len,
        "the processed list reached {} records (bound {})",
        peaks.processed,
        bounds.processed_max_len
    );
    assert_eq!(sizes[2], appended.min(bounds.processed_max_len));
    assert!(
        peaks.seen < appended,
        "the seen window held every id ({} of {appended}): it forgets nothing",
        peaks.seen
    );
    assert!(
        peaks.stream < appended,
        "the stream held every entry ({} of {appended}): it was never trimmed",
        peaks.stream
    );

    // With no batch for a whole window, the seen window expires as a key.
    let seen = &keys[1];
    wait_until(
        "the seen window expired",
        bounds.seen_window + BOUND_WAIT,
        Duration::from_millis(250),
        || {
            let mut conn = conn.clone();
            async move {
                match conn.exists::<_, bool>(seen).await {
                    Ok(false) => Attempt::Ready(()),
                    other => Attempt::Pending(format!("EXISTS {other:?}")),
                }
            }
        },
    )
    .await
    .unwrap_or_else(|error| panic!("{error}"));
    println!(
        "[events] the seen window expired as a key within {:?} of the last batch; DBSIZE now {}",
        bounds.seen_window,
        redis::cmd("DBSIZE")
            .query_async::<u64>(&mut conn)
            .await
            .unwrap_or(0)
    );
}
