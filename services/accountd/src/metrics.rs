//! accountd's own metrics, next to the platform's `http_requests_total` /
//! `http_request_duration_seconds`:
//!
//! - `mockvideo_user_user_request_duration_seconds{rqstStatus}`: every `/users` request, by its
//!   real status code (the seed's name; its dashboards query it);
//! - `mockvideo_database_db_request_duration_seconds{target="userTbl",operation,result}` with
//!   `operation` one of `create`, `update`, `readAll`, `readOne`, `delete` and `result` `ok` or
//!   `error` (the seed's name);
//! - `accountd_users_created_total`: users created, single or bulk.

use std::time::Duration;

/// The seed's per-request histogram.
pub const USER_REQUEST_DURATION: &str = "mockvideo_user_user_request_duration_seconds";
/// The seed's per-query histogram.
pub const DB_REQUEST_DURATION: &str = "mockvideo_database_db_request_duration_seconds";
/// Users created.
pub const USERS_CREATED: &str = "accountd_users_created_total";

/// Describes the metrics and makes the counter visible (at 0) before the first create.
pub fn register() {
    metrics::describe_histogram!(
        USER_REQUEST_DURATION,
        metrics::Unit::Seconds,
        "Duration of /users requests by HTTP status"
    );
    metrics::describe_histogram!(
        DB_REQUEST_DURATION,
        metrics::Unit::Seconds,
        "Duration of user table operations"
    );
    metrics::describe_counter!(USERS_CREATED, "Users created (single and bulk requests)");
    metrics::counter!(USERS_CREATED).increment(0);
}

/// Records one `/users` request.
pub fn record_user_request(status: u16, elapsed: Duration) {
    metrics::histogram!(USER_REQUEST_DURATION, "rqstStatus" => status.to_string())
        .record(elapsed.as_secs_f64());
}

/// Records one store call.
pub fn record_db_request(operation: &'static str, ok: bool, elapsed: Duration) {
    metrics::histogram!(
        DB_REQUEST_DURATION,
        "target" => "userTbl",
        "operation" => operation,
        "result" => if ok { "ok" } else { "error" },
    )
    .record(elapsed.as_secs_f64());
}

/// Counts one created user.
pub fn user_created() {
    metrics::counter!(USERS_CREATED).increment(1);
}
