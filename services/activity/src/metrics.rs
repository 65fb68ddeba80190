//! activity-server's Prometheus metrics (served on the admin port's `/metrics`):
//!
//! - `activity_events_created_total`: events stored;
//! - `activity_events_duplicates_total`: repeated creates of a stored event (answered with
//!   success, not stored again);
//! - `activity_events_conflicts_total`: creates refused because the id holds another event;
//! - `activity_events_streamed_total`: events sent by `ListEvents`;
//! - `activity_list_streams_refused_total`: `ListEvents` calls refused because as many streams
//!   as allowed were open;
//! - `activity_list_streams_timed_out_total`: `ListEvents` streams ended because the client
//!   read nothing for the send timeout;
//! - `grpc_server_handled_total{grpc_service,grpc_method,grpc_code}` and
//!   `grpc_server_handling_seconds{grpc_service,grpc_method,grpc_code}` (histogram): every
//!   gRPC call (health and reflection included) by its final status, with go-grpc-prometheus's
//!   names and code names; a stream's duration runs until its last message.

use std::time::Duration;

/// Events stored.
pub const EVENTS_CREATED: &str = "activity_events_created_total";
/// Repeated creates of a stored event.
pub const EVENTS_DUPLICATES: &str = "activity_events_duplicates_total";
/// Creates refused because the id holds another event.
pub const EVENTS_CONFLICTS: &str = "activity_events_conflicts_total";
/// Events streamed by `ListEvents`.
pub const EVENTS_STREAMED: &str = "activity_events_streamed_total";
/// `ListEvents` calls refused at the stream bound.
pub const LIST_STREAMS_REFUSED: &str = "activity_list_streams_refused_total";
/// `ListEvents` streams ended because the client read nothing.
pub const LIST_STREAMS_TIMED_OUT: &str = "activity_list_streams_timed_out_total";
/// gRPC calls by service, method and final code.
pub const GRPC_HANDLED: &str = "grpc_server_handled_total";
/// gRPC call durations by service, method and final code.
pub const GRPC_HANDLING_SECONDS: &str = "grpc_server_handling_seconds";

/// Describes the metrics and makes the counters visible (at 0) before the first call.
pub fn register() {
    metrics::describe_counter!(EVENTS_CREATED, "Activity events stored");
    metrics::describe_counter!(
        EVENTS_DUPLICATES,
        "CreateEvent calls repeating a stored event (answered with success, not stored again)"
    );
    metrics::describe_counter!(
        EVENTS_CONFLICTS,
        "CreateEvent calls refused because the id holds a different event"
    );
    metrics::describe_counter!(EVENTS_STREAMED, "Events sent by ListEvents");
    metrics::describe_counter!(
        LIST_STREAMS_REFUSED,
        "ListEvents calls refused because as many streams as allowed were open"
    );
    metrics::describe_counter!(
        LIST_STREAMS_TIMED_OUT,
        "ListEvents streams ended because the client read nothing for the send timeout"
    );
    metrics::describe_counter!(GRPC_HANDLED, "gRPC calls completed, by final status code");
    metrics::describe_histogram!(
        GRPC_HANDLING_SECONDS,
        metrics::Unit::Seconds,
        "gRPC call duration until the final status (streams: until the last message)"
    );
    for counter in [
        EVENTS_CREATED,
        EVENTS_DUPLICATES,
        EVENTS_CONFLICTS,
        EVENTS_STREAMED,
        LIST_STREAMS_REFUSED,
        LIST_STREAMS_TIMED_OUT,
    ] {
        metrics::counter!(counter).increment(0);
    }
}

/// Counts one stored event.
pub fn event_created() {
    metrics::counter!(EVENTS_CREATED).increment(1);
}

/// Counts one repeated create of a stored event.
pub fn event_duplicate() {
    metrics::counter!(EVENTS_DUPLICATES).increment(1);
}

/// Counts one create refused for a used id.
pub fn event_conflict() {
    metrics::counter!(EVENTS_CONFLICTS).increment(1);
}

/// Counts one streamed event.
pub fn event_streamed() {
    metrics::counter!(EVENTS_STREAMED).increment(1);
}

/// Counts one `ListEvents` call refused at the stream bound.
pub fn list_stream_refused() {
    metrics::counter!(LIST_STREAMS_REFUSED).increment(1);
}

/// Counts one `ListEvents` stream ended because its client read nothing.
pub fn list_stream_timed_out() {
    metrics::counter!(LIST_STREAMS_TIMED_OUT).increment(1);
}

/// Records one finished gRPC call.
pub fn grpc_handled(
    service: &'static str,
    method: &'static str,
    code: tonic::Code,
    elapsed: Duration,
) {
    let code = crate::codes::name(code);
    metrics::counter!(GRPC_HANDLED, "grpc_service" => service, "grpc_method" => method, "grpc_code" => code)
        .increment(1);
    metrics::histogram!(GRPC_HANDLING_SECONDS, "grpc_service" => service, "grpc_method" => method, "grpc_code" => code)
        .record(elapsed.as_secs_f64());
}
