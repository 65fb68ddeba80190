//! Reads straight from the scenario's Redis: stream entries, the Notification Messages in them,
//! the consumer groups' progress and the processed record (through the follower when the
//! consumers trim it).

use std::time::Duration;

use events::{
    consumer::record::{read_processed, ProcessedRecord},
    notification::EVENT_FIELD,
};
use harness::backing::wait::{wait_until, Attempt};
use redis::{
    aio::MultiplexedConnection,
    streams::{StreamId, StreamInfoGroupsReply, StreamInfoStreamReply, StreamRangeReply},
    AsyncCommands as _,
};
use serde_json::Value;

use crate::steps::world::events::{EventsState, GROUP};

/// Longest a functional check waits for the consumers to catch up.
pub(super) const SETTLE_LIMIT: Duration = Duration::from_secs(30);

/// Every entry of `key`, oldest first.
pub(super) async fn entries(state: &EventsState, key: &str) -> Vec<StreamId> {
    let mut conn = state.conn().await;
    let reply: StreamRangeReply = conn
        .xrange_all(key)
        .await
        .unwrap_or_else(|error| panic!("XRANGE {key}: {error}"));
    reply.ids
}

/// A field of a stream entry as text.
pub(super) fn field(entry: &StreamId, name: &str) -> Option<String> {
    entry.get::<String>(name)
}

/// The Notification Messages in the scenario's stream, oldest first, with their entry ids.
pub(super) async fn notifications(state: &EventsState) -> Vec<(String, Value)> {
    entries(state, &state.stream)
        .await
        .iter()
        .filter_map(|entry| {
            let text = field(entry, EVENT_FIELD)?;
            let nm = serde_json::from_str(&text)
                .unwrap_or_else(|error| panic!("entry {} holds {text:?}: {error}", entry.id));
            Some((entry.id.clone(), nm))
        })
        .collect()
}

/// The consumer group's state: pending entries and whether it has read up to the stream's end.
pub(super) async fn group_state(
    conn: &mut MultiplexedConnection,
    stream: &str,
    group_name: &str,
) -> Option<(usize, bool)> {
    let stream_info: StreamInfoStreamReply = conn.xinfo_stream(stream).await.ok()?;
    let groups: StreamInfoGroupsReply = conn.xinfo_groups(stream).await.ok()?;
    let group = groups
        .groups
        .into_iter()
        .find(|group| group.name == group_name)?;
    Some((
        group.pending,
        group.last_delivered_id == stream_info.last_generated_id,
    ))
}

/// Waits (bounded) until the group has read every entry and acknowledged it (processed, seen
/// as a duplicate, or dead-lettered).
pub(super) async fn wait_until_settled(state: &EventsState) {
    wait_until_settled_in(state, state.group()).await;
}

/// [`wait_until_settled`] for the group `group`.
pub(super) async fn wait_until_settled_in(state: &EventsState, group: &str) {
    let conn = state.conn().await;
    let what = format!("consumers of {group} settled: (pending, read to the end) = (0, true)");
    wait_until(&what, SETTLE_LIMIT, Duration::from_millis(100), || {
        let mut conn = conn.clone();
        async move {
            match group_state(&mut conn, &state.stream, group).await {
                Some((0, true)) => Attempt::Ready(()),
                last => Attempt::Pending(format!("(pending, read to the end) = {last:?}")),
            }
        }
    })
    .await
    .unwrap_or_else(|error| panic!("{error}"));
}

/// The processed record of the scenario's stream.
pub(super) async fn processed(state: &EventsState) -> Vec<ProcessedRecord> {
    processed_in(state, state.group()).await
}

/// The processed record of `group`: every record the follower saw when it follows that group
/// (a step failure if the trimming took any before it read them), else the whole list.
pub(super) async fn processed_in(state: &EventsState, group: &str) -> Vec<ProcessedRecord> {
    if let Some(follower) = state.follower.as_ref().filter(|_| group == GROUP) {
        let (records, missed, _) = follower
            .catch_up()
            .await
            .unwrap_or_else(|error| panic!("{error:#}"));
        assert_eq!(
            missed, 0,
            "the processed list was trimmed past {missed} records before they were read"
        );
        return records;
    }
    let mut conn = state.conn().await;
    read_processed(&mut conn, &state.stream, group)
        .await
        .unwrap_or_else(|error| panic!("reading the processed record: {error}"))
}
