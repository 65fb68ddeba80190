//! event-producer's Prometheus metrics (on `/metrics`, next to the platform's
//! `http_requests_total` and `http_request_duration_seconds`):
//!
//! - `events_produced_total`: events accepted (XADD returned an id);
//! - `events_rejected_total{reason}`: events refused, `reason` one of `bad_request`,
//!   `redis_unavailable`, `redis_error`;
//! - `events_xadd_duration_seconds` (histogram): time of each event's XADD;
//! - `events_redis_connected` (gauge): 1 while the producer holds a working Redis connection.

use std::time::Duration;

/// Events accepted.
pub const EVENTS_PRODUCED: &str = "events_produced_total";
/// Events refused, by reason.
pub const EVENTS_REJECTED: &str = "events_rejected_total";
/// XADD durations.
pub const XADD_DURATION: &str = "events_xadd_duration_seconds";
/// 1 while connected to Redis.
pub const REDIS_CONNECTED: &str = "events_redis_connected";

/// `reason` of a malformed body.
pub const REASON_BAD_REQUEST: &str = "bad_request";
/// `reason` when Redis is unreachable or slow.
pub const REASON_UNAVAILABLE: &str = "redis_unavailable";
/// `reason` when Redis refused the command.
pub const REASON_REDIS_ERROR: &str = "redis_error";

/// Describes the metrics and shows the counters at 0 before the first event.
pub fn register() {
    metrics::describe_counter!(
        EVENTS_PRODUCED,
        "Events accepted (XADD returned an entry id)"
    );
    metrics::describe_counter!(EVENTS_REJECTED, "Events refused, by reason");
    metrics::describe_histogram!(
        XADD_DURATION,
        metrics::Unit::Seconds,
        "Duration of the XADD of one event"
    );
    metrics::describe_gauge!(
        REDIS_CONNECTED,
        "1 while the producer is connected to Redis"
    );
    metrics::counter!(EVENTS_PRODUCED).increment(0);
    for reason in [REASON_BAD_REQUEST, REASON_UNAVAILABLE, REASON_REDIS_ERROR] {
        metrics::counter!(EVENTS_REJECTED, "reason" => reason).increment(0);
    }
}

/// Counts one accepted event.
pub fn produced() {
    metrics::counter!(EVENTS_PRODUCED).increment(1);
}

/// Counts one refused event.
pub fn rejected(reason: &'static str) {
    metrics::counter!(EVENTS_REJECTED, "reason" => reason).increment(1);
}

/// Records one XADD.
pub fn xadd_duration(elapsed: Duration) {
    metrics::histogram!(XADD_DURATION).record(elapsed.as_secs_f64());
}

/// Sets the connection gauge.
pub fn set_connected(connected: bool) {
    metrics::gauge!(REDIS_CONNECTED).set(if connected { 1.0 } else { 0.0 });
}
