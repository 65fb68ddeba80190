//! The cinema services' own metrics, next to the platform's `http_requests_total` /
//! `http_request_duration_seconds`:
//!
//! - `cinema_documents_created_total{collection}` and `cinema_documents_deleted_total{collection}`;
//! - `cinema_mongo_operation_duration_seconds{collection,operation,result}` with `operation`
//!   one of `list`, `find`, `find_first`, `insert`, `delete` and `result` `ok` or `error`.

use std::time::Duration;

/// Documents created through `POST`.
pub const DOCUMENTS_CREATED: &str = "cinema_documents_created_total";
/// Documents deleted through `DELETE`.
pub const DOCUMENTS_DELETED: &str = "cinema_documents_deleted_total";
/// Duration of each MongoDB call.
pub const MONGO_OPERATION_DURATION: &str = "cinema_mongo_operation_duration_seconds";

/// Describes the metrics and shows the counters (at 0) for `collection` before the first write.
pub fn register(collection: &'static str) {
    metrics::describe_counter!(DOCUMENTS_CREATED, "Documents created");
    metrics::describe_counter!(DOCUMENTS_DELETED, "Documents deleted");
    metrics::describe_histogram!(
        MONGO_OPERATION_DURATION,
        metrics::Unit::Seconds,
        "Duration of MongoDB operations"
    );
    metrics::counter!(DOCUMENTS_CREATED, "collection" => collection).increment(0);
    metrics::counter!(DOCUMENTS_DELETED, "collection" => collection).increment(0);
}

/// Counts one created document.
pub fn created(collection: &'static str) {
    metrics::counter!(DOCUMENTS_CREATED, "collection" => collection).increment(1);
}

/// Counts one deleted document.
pub fn deleted(collection: &'static str) {
    metrics::counter!(DOCUMENTS_DELETED, "collection" => collection).increment(1);
}

/// Records one MongoDB call.
pub fn record_db_call(
    collection: &'static str,
    operation: &'static str,
    ok: bool,
    elapsed: Duration,
) {
    metrics::histogram!(
        MONGO_OPERATION_DURATION,
        "collection" => collection,
        "operation" => operation,
        "result" => if ok { "ok" } else { "error" },
    )
    .record(elapsed.as_secs_f64());
}
