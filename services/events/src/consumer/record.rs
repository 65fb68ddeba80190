//! What the consumer processed, kept in Redis so features and the bench can check it:
//!
//! - [`processed_key`] `<stream>:<group>:processed`: a LIST of [`ProcessedRecord`] JSON, one per
//!   event processed (never two for one NM id), the newest `processed_max_len` only;
//! - [`processed_count_key`] `<stream>:<group>:processed-count`: how many records were ever
//!   appended to that list (so a reader following it knows what the trimming took);
//! - [`seen_key`] `<stream>:<group>:seen-window`: a sorted set of the NM ids processed in the
//!   last `seen_window`, scored by when (milliseconds, the Redis server's clock): the
//!   de-duplication. (Versions before it kept an unbounded SET at `<stream>:<group>:seen`; that
//!   key is no longer written and may be deleted.)
//! - [`dead_letter_key`] `<stream>:dead`: the default dead-letter stream.
//!
//! The bounds and their defaults are explained in [`super::settings`].

use redis::aio::ConnectionLike;
use serde::{Deserialize, Serialize};

/// `<stream>:<group>:processed` (a LIST of [`ProcessedRecord`] JSON).
pub fn processed_key(stream: &str, group: &str) -> String {
    format!("{stream}:{group}:processed")
}

/// `<stream>:<group>:processed-count` (an integer: records ever appended to the list).
pub fn processed_count_key(stream: &str, group: &str) -> String {
    format!("{stream}:{group}:processed-count")
}

/// `<stream>:<group>:seen-window` (a sorted set: NM id → when it was applied, in ms).
pub fn seen_key(stream: &str, group: &str) -> String {
    format!("{stream}:{group}:seen-window")
}

/// `<stream>:dead`.
pub fn dead_letter_key(stream: &str) -> String {
    format!("{stream}:dead")
}

/// One processed event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProcessedRecord {
    /// The NM id.
    pub id: u64,
    /// The NM description.
    pub description: String,
    /// The stream entry id it came in.
    pub entry_id: String,
    /// The consumer that processed it.
    pub consumer: String,
    /// Processing time minus the NM timestamp, in microseconds (0 when the timestamp is not
    /// RFC 3339 or lies in the future).
    pub lag_us: u64,
}

/// Decodes one record of the processed list.
pub fn decode_processed(item: &str) -> redis::RedisResult<ProcessedRecord> {
    serde_json::from_str(item).map_err(|error| {
        redis::RedisError::from((
            redis::ErrorKind::TypeError,
            "undecodable processed record",
            format!("{error}: {item}"),
        ))
    })
}

/// Every record `stream`/`group` still keeps (the newest `processed_max_len`), in processing
/// order.
pub async fn read_processed(
    conn: &mut impl ConnectionLike,
    stream: &str,
    group: &str,
) -> redis::RedisResult<Vec<ProcessedRecord>> {
    let items: Vec<String> = redis::cmd("LRANGE")
        .arg(processed_key(stream, group))
        .arg(0)
        .arg(-1)
        .query_async(conn)
        .await?;
    items.iter().map(|item| decode_processed(item)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names() {
        assert_eq!(processed_key("s", "g"), "s:g:processed");
        assert_eq!(processed_count_key("s", "g"), "s:g:processed-count");
        assert_eq!(seen_key("s", "g"), "s:g:seen-window");
        assert_eq!(dead_letter_key("s"), "s:dead");
    }
}
