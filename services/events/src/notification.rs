//! The Notification Message (NM) the producer writes and the consumer reads, and the stream
//! entry format (contract §4.2):
//!
//! - an event is an entry with one field [`EVENT_FIELD`] (`EventStream`) holding the NM JSON
//!   `{"id":<int>,"description":<string>,"timestamp":"<RFC 3339, nanoseconds>"}`;
//! - the producer marks start-up and every reconnect with an entry [`CREATE_FIELD`]
//!   (`CreateStream`) = [`CREATE_VALUE`] (`stream created`).

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};

/// The entry field holding the NM JSON.
pub const EVENT_FIELD: &str = "EventStream";
/// The field of the producer's marker entry.
pub const CREATE_FIELD: &str = "CreateStream";
/// The value of the marker entry.
pub const CREATE_VALUE: &str = "stream created";
/// The stream name of the documentation and the Robot suites (the seed's Helm chart said
/// `NotificationMessageStream`; set `REDIS_STREAM` for that).
pub const DEFAULT_STREAM: &str = "NotificationStream";

/// A Notification Message: what one accepted event becomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationMessage {
    /// Random non-negative 63-bit integer (like Go's `rand.Int()`; not guaranteed unique).
    pub id: u64,
    /// The event's description, as posted.
    pub description: String,
    /// Receipt time, RFC 3339 with nanoseconds (Go's `RFC3339Nano`), UTC.
    pub timestamp: String,
}

impl NotificationMessage {
    /// New NM: id = random non-negative 63-bit integer, timestamp = now, RFC 3339 with
    /// nanoseconds, trailing fractional zeros trimmed (Go's RFC3339Nano), UTC `Z`.
    pub fn new(description: String) -> Self {
        Self {
            id: rand::random::<u64>() >> 1,
            description,
            timestamp: rfc3339_nano(OffsetDateTime::now_utc()),
        }
    }

    /// The NM as the JSON text stored in the stream.
    pub fn to_json(&self) -> String {
        // Serialising a number and two strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The timestamp, parsed (`None` when it is not RFC 3339).
    pub fn time(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(
            &self.timestamp,
            &time::format_description::well_known::Rfc3339,
        )
        .ok()
    }
}

/// Formats `t` in UTC like Go's `time.RFC3339Nano`: `2025-02-25T22:23:03.181361595Z`, the
/// fraction without trailing zeros and left out when zero.
pub fn rfc3339_nano(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    let mut text = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let nanos = t.nanosecond();
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn timestamps_trim_trailing_zeros_like_go() {
        assert_eq!(
            rfc3339_nano(datetime!(2025-02-25 22:23:03.181361595 UTC)),
            "2025-02-25T22:23:03.181361595Z"
        );
        assert_eq!(
            rfc3339_nano(datetime!(2025-02-25 22:06:25.4783104 UTC)),
            "2025-02-25T22:06:25.4783104Z"
        );
        assert_eq!(
            rfc3339_nano(datetime!(2025-02-25 22:06:25.5 UTC)),
            "2025-02-25T22:06:25.5Z"
        );
        assert_eq!(
            rfc3339_nano(datetime!(2025-02-25 22:06:25 UTC)),
            "2025-02-25T22:06:25Z"
        );
        assert_eq!(
            rfc3339_nano(datetime!(2025-02-25 23:06:25.000000001 +01:00)),
            "2025-02-25T22:06:25.000000001Z"
        );
    }

    #[test]
    fn new_message_has_a_63_bit_id_and_a_parsable_timestamp() {
        for _ in 0..100 {
            let nm = NotificationMessage::new("hello world".to_owned());
            assert!(nm.id <= i64::MAX as u64);
            assert!(nm.timestamp.ends_with('Z'));
            assert!(nm.time().is_some(), "{}", nm.timestamp);
        }
    }

    #[test]
    fn json_has_the_seed_field_order() {
        let nm = NotificationMessage {
            id: 3082736038337373727,
            description: "hello world".to_owned(),
            timestamp: "2025-02-25T22:23:03.181361595Z".to_owned(),
        };
        assert_eq!(
            nm.to_json(),
            r#"{"id":3082736038337373727,"description":"hello world","timestamp":"2025-02-25T22:23:03.181361595Z"}"#
        );
        let back: NotificationMessage = serde_json::from_str(&nm.to_json()).unwrap();
        assert_eq!(back, nm);
    }
}
