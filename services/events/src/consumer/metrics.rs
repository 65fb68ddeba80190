//! event-consumer's Prometheus metrics (on the admin port's `/metrics`):
//!
//! - `events_consumed_total`: events processed (recorded for the first time);
//! - `events_duplicates_total`: deliveries of an event already processed (acknowledged, not
//!   applied again);
//! - `events_dead_lettered_total`: entries moved to the dead-letter stream;
//! - `events_claimed_total`: entries taken over with `XAUTOCLAIM`;
//! - `events_processing_failures_total`: deliveries that could not be processed (left pending);
//! - `events_stream_trimmed_total`: entries trimmed from the stream (done by every group);
//! - `events_redis_errors_total`: Redis errors that made the worker reconnect;
//! - `events_end_to_end_lag_seconds` (histogram): processing time minus the NM timestamp.

use std::time::Duration;

/// Events processed.
pub const EVENTS_CONSUMED: &str = "events_consumed_total";
/// Duplicate deliveries.
pub const EVENTS_DUPLICATES: &str = "events_duplicates_total";
/// Entries dead-lettered.
pub const EVENTS_DEAD_LETTERED: &str = "events_dead_lettered_total";
/// Entries claimed from other consumers.
pub const EVENTS_CLAIMED: &str = "events_claimed_total";
/// Deliveries that could not be processed.
pub const PROCESSING_FAILURES: &str = "events_processing_failures_total";
/// Entries trimmed from the stream.
pub const STREAM_TRIMMED: &str = "events_stream_trimmed_total";
/// Redis errors.
pub const REDIS_ERRORS: &str = "events_redis_errors_total";
/// End-to-end lag.
pub const END_TO_END_LAG: &str = "events_end_to_end_lag_seconds";

/// Describes the metrics and shows the counters at 0.
pub fn register() {
    metrics::describe_counter!(EVENTS_CONSUMED, "Events processed (first time)");
    metrics::describe_counter!(
        EVENTS_DUPLICATES,
        "Deliveries of already processed events (acknowledged, not applied again)"
    );
    metrics::describe_counter!(
        EVENTS_DEAD_LETTERED,
        "Entries moved to the dead-letter stream"
    );
    metrics::describe_counter!(EVENTS_CLAIMED, "Entries taken over with XAUTOCLAIM");
    metrics::describe_counter!(
        PROCESSING_FAILURES,
        "Deliveries that could not be processed (left pending)"
    );
    metrics::describe_counter!(
        STREAM_TRIMMED,
        "Entries trimmed from the stream (read and acknowledged by every group)"
    );
    metrics::describe_counter!(REDIS_ERRORS, "Redis errors that made the worker reconnect");
    metrics::describe_histogram!(
        END_TO_END_LAG,
        metrics::Unit::Seconds,
        "Processing time minus the Notification Message timestamp"
    );
    for name in [
        EVENTS_CONSUMED,
        EVENTS_DUPLICATES,
        EVENTS_DEAD_LETTERED,
        EVENTS_CLAIMED,
        PROCESSING_FAILURES,
        STREAM_TRIMMED,
        REDIS_ERRORS,
    ] {
        metrics::counter!(name).increment(0);
    }
}

/// Adds to a counter.
pub fn count(name: &'static str, n: u64) {
    if n > 0 {
        metrics::counter!(name).increment(n);
    }
}

/// Records one end-to-end lag.
pub fn lag(lag: Duration) {
    metrics::histogram!(END_TO_END_LAG).record(lag.as_secs_f64());
}
