//! Bulk requests (`Bulk-Request: true`): many users in one POST or PUT, stored all together or
//! not at all, inside the request's time budget.
//!
//! A bulk request runs in two phases:
//!
//! 1. **Prepare** — every user's slow half: validation, for an update the check that the user
//!    exists, then password hashing. At most `max_concurrent_bulk_operations` users at a time;
//!    nothing is stored. A user refused here (invalid, unknown id, hashing refused as busy)
//!    gets its own result and is left out of phase 2.
//! 2. **Store** — one database transaction applies every prepared user in request order
//!    ([`UserRepo::apply_batch`](crate::repo::UserRepo::apply_batch)), so new ids follow the
//!    request order and, of two users with the same e-mail, the first one wins. A user refused
//!    by the database for its own values (duplicate e-mail, a user deleted meanwhile, a value
//!    too long) gets its own result, and the others are still committed together.
//!
//! Results come back in request order (the seed returned completion order), with the seed's
//! `httpstatus`/`errmsg`. The status line equals `overallstatus`: 201 (POST) or 200 (PUT) when
//! every user succeeded, else 409.
//!
//! # All or nothing
//!
//! When the bulk cannot be completed, the answer is 503 `service_unavailable` with
//! `Retry-After`, and **nothing of the request is stored**, so the client's retry meets no
//! 409s of its own making (and an `Idempotency-Key` is released for it):
//!
//! - the store failed as a whole (connection lost, deadlock, table gone, no connection in time):
//!   the transaction is rolled back;
//! - the prepare phase did not end within its budget (below): it is abandoned before anything
//!   reached the database.
//!
//! # The time budget
//!
//! The platform's request timeout (`limits.request_timeout`, outermost) answers 503 on its own
//! when it fires, dropping the handler wherever it is. The handler does not leave it to chance:
//! counting from when the bulk starts, with `T` the request timeout and the margin
//! `M = min(T / 4, 2 s)` ([`Budget::margin`]),
//!
//! - the prepare phase must end by `T − M` (8 s of the default 10 s), else the handler itself
//!   answers 503, having stored nothing;
//! - the transaction must have applied every write and be ready to COMMIT by `T − M/2`, else it
//!   is rolled back and the answer is 503. A transaction of 100 single-row writes takes
//!   milliseconds, so `M/2` is ample; the last `M/2` is left for the COMMIT itself, the answer,
//!   and whatever ran before the handler (reading the body, the `Idempotency-Key` lookup),
//!   which the handler cannot see and does not count.
//!
//! Why the outer timeout cannot leave a half-applied batch even so: the transaction runs on a
//! task of its own that owns the connection (see [`crate::repo::MySqlUserRepo`]); dropping the
//! handler only closes the channel the task answers on. Before sending COMMIT the task checks
//! that the channel is still open (someone will answer the client) and that the deadline has not
//! passed; if not, it rolls back. A COMMIT once sent is seen through to its end and answered.
//! The one window left is the outer timeout firing during the COMMIT's own round trip: then the
//! batch is stored while the client hears 503, and the task logs it at `error`.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use axum::{
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use futures::{stream, StreamExt};
use platform::http::{ApiError, Json};
use serde::Serialize;

use crate::{
    app::AppState,
    domain::{messages, password::Patience, User, UserInput},
    error::UserError,
    repo::BatchOp,
    service,
};
/// The header that turns a POST or PUT into a bulk request.
pub const BULK_HEADER: &str = "bulk-request";

/// The response body of a bulk request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BulkResponse {
    /// 201/200 when every item succeeded, else 409.
    pub overallstatus: u16,
    /// One entry per submitted user, in request order.
    pub results: Vec<BulkResult>,
}

/// The outcome for one user of a bulk request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BulkResult {
    /// The status this user alone would have had (a duplicate e-mail is 400, as in the seed).
    pub httpstatus: u16,
    /// Empty on success, else the seed's message.
    pub errmsg: String,
    /// The user: with its new id and href for a created one, as submitted otherwise. Never a
    /// password.
    pub user: User,
}

/// Which bulk operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// POST: create every user.
    Create,
    /// PUT: update every user (each body names its id).
    Update,
}

impl Operation {
    fn success(self) -> StatusCode {
        match self {
            Self::Create => StatusCode::CREATED,
            Self::Update => StatusCode::OK,
        }
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// Whether the request is a bulk request; 400 when the header is not a Go boolean. An absent
/// or empty header means no (Go's `Header.Get` cannot tell them apart).
pub fn is_bulk(headers: &HeaderMap) -> Result<bool, ApiError> {
    let Some(value) = headers.get(BULK_HEADER) else {
        return Ok(false);
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    if text.is_empty() {
        return Ok(false);
    }
    parse_go_bool(&text).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_bulk_header",
            messages::bad_bulk_header(&text),
        )
    })
}

/// The longest margin kept for the transaction phase (see [`Budget::margin`]).
pub const MAX_MARGIN: Duration = Duration::from_secs(2);

/// The time a bulk request gives itself inside the request timeout (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    started: Instant,
    timeout: Duration,
}

impl Budget {
    /// A budget for a request with this timeout, counted from now.
    pub fn starting_now(timeout: Duration) -> Self {
        Self {
            started: Instant::now(),
            timeout,
        }
    }

    /// The part of the request timeout `timeout` kept for the transaction phase, the COMMIT and
    /// the answer: a quarter of it, at most [`MAX_MARGIN`].
    pub fn margin(timeout: Duration) -> Duration {
        (timeout / 4).min(MAX_MARGIN)
    }

    /// When the prepare phase must have ended: `T − M`.
    pub fn prepare_by(&self) -> Instant {
        self.started + self.timeout.saturating_sub(Self::margin(self.timeout))
    }

    /// When the transaction must be ready to COMMIT: `T − M/2`.
    pub fn commit_by(&self) -> Instant {
        self.started + self.timeout.saturating_sub(Self::margin(self.timeout) / 2)
    }
}

/// A bulk item after its slow half: what to store, or why not.
struct Staged {
    echo: User,
    job: Result<BatchOp, UserError>,
}

async fn prepare(state: &AppState, operation: Operation, input: UserInput) -> Staged {
    let echo = input.echo();
    let job = match operation {
        Operation::Create => service::prepare_create(state, input, Patience::Queue)
            .await
            .map(BatchOp::Create),
        Operation::Update => service::prepare_update(state, None, input, Patience::Queue)
            .await
            .map(|(id, user)| BatchOp::Update(id, user)),
    };
    Staged { echo, job }
}

/// Runs `prepare` on at most `limit` items at a time; returns the outputs in the items' order.
pub(crate) async fn prepare_in_order<T, U, P, PF>(items: Vec<T>, limit: usize, prepare: P) -> Vec<U>
where
    P: FnMut(T) -> PF,
    PF: Future<Output = U>,
{
    stream::iter(items)
        .map(prepare)
        .buffered(limit.max(1))
        .collect()
        .await
}

fn success(operation: Operation, user: User) -> BulkResult {
    BulkResult {
        httpstatus: operation.success().as_u16(),
        errmsg: String::new(),
        user,
    }
}

fn failure(error: &UserError, echo: User) -> BulkResult {
    let (httpstatus, errmsg) = error.bulk_status();
    BulkResult {
        httpstatus,
        errmsg,
        user: echo,
    }
}

/// The result of a user that reached the transaction, given its outcome there.
fn stored_result(
    operation: Operation,
    op: &BatchOp,
    echo: User,
    outcome: Option<Result<i64, UserError>>,
) -> BulkResult {
    match (op, outcome) {
        (BatchOp::Create(new_user), Some(Ok(id))) => {
            success(operation, service::created_user(new_user, id))
        }
        (BatchOp::Update(..), Some(Ok(_))) => success(operation, echo),
        (_, Some(Err(error))) => failure(&error, echo),
        // `store_batch` answers one outcome per write; this cannot happen.
        (_, None) => failure(&UserError::Internal, echo),
    }
}

/// 413 `bulk_request_too_large`: a bulk request of `got` users when at most `max` are allowed.
pub fn too_many_users(max: usize, got: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "bulk_request_too_large",
        format!("a bulk request may hold at most {max} users, got {got}"),
    )
}

/// 503 + `Retry-After`: the prepare phase overran its budget; nothing was stored.
fn over_budget(state: &AppState, users: usize) -> ApiError {
    let timeout = state.limits.request_timeout;
    ApiError::service_unavailable(
        format!(
            "the bulk request of {users} users could not be prepared within its time budget \
             ({:?} of the {timeout:?} request timeout); nothing was stored",
            timeout.saturating_sub(Budget::margin(timeout))
        ),
        state.limits.retry_after_secs,
    )
}

/// 503 + `Retry-After`: the transaction failed as a whole and was rolled back.
fn not_stored(state: &AppState) -> ApiError {
    ApiError::service_unavailable(
        "the bulk request could not be stored (the database failed or was too slow); \
         nothing was stored",
        state.limits.retry_after_secs,
    )
}

/// Runs a bulk request and builds its response.
pub async fn run(
    state: &AppState,
    operation: Operation,
    users: Vec<UserInput>,
) -> Result<Response, ApiError> {
    if users.len() > state.max_bulk_users {
        return Err(too_many_users(state.max_bulk_users, users.len()));
    }
    let budget = Budget::starting_now(state.limits.request_timeout);
    let count = users.len();

    // Phase 1: prepare every user; nothing is stored.
    let prepared = tokio::time::timeout_at(
        budget.prepare_by().into(),
        prepare_in_order(users, state.max_concurrent_bulk_operations, |input| {
            prepare(state, operation, input)
        }),
    )
    .await;
    let Ok(staged) = prepared else {
        tracing::warn!(
            users = count,
            "bulk request over its time budget while preparing; nothing stored"
        );
        return Err(over_budget(state, count));
    };

    // Phase 2: one transaction for every prepared user.
    let batch: Vec<BatchOp> = staged
        .iter()
        .filter_map(|item| item.job.as_ref().ok().cloned())
        .collect();
    let mut outcomes = if batch.is_empty() {
        Vec::new()
    } else {
        match service::store_batch(state, &batch, budget.commit_by()).await {
            Ok(outcomes) => outcomes,
            Err(error) => {
                tracing::warn!(users = count, %error, "bulk request rolled back; nothing stored");
                return Err(not_stored(state));
            }
        }
    }
    .into_iter();

    let results: Vec<BulkResult> = staged
        .into_iter()
        .map(|Staged { echo, job }| match job {
            Ok(op) => stored_result(operation, &op, echo, outcomes.next()),
            Err(error) => failure(&error, echo),
        })
        .collect();
    let all_ok = results
        .iter()
        .all(|result| result.httpstatus == operation.success().as_u16());
    let overall = if all_ok {
        operation.success()
    } else {
        StatusCode::CONFLICT
    };
    Ok((
        overall,
        Json(BulkResponse {
            overallstatus: overall.as_u16(),
            results,
        }),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_booleans() {
        for yes in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_go_bool(yes), Some(true), "{yes}");
        }
        for no in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_go_bool(no), Some(false), "{no}");
        }
        for bad in ["yes", "tRUE", " true", "2", "ShouldBeTrueOrFalse"] {
            assert_eq!(parse_go_bool(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn prepare_is_bounded_and_keeps_the_request_order() {
        use std::sync::atomic::{AtomicUsize, Ordering};

        let preparing = AtomicUsize::new(0);
        let max_preparing = AtomicUsize::new(0);
        let items: Vec<u64> = (0..12).collect();
        let out = prepare_in_order(items, 3, |i| {
            let (preparing, max_preparing) = (&preparing, &max_preparing);
            async move {
                let now = preparing.fetch_add(1, Ordering::SeqCst) + 1;
                max_preparing.fetch_max(now, Ordering::SeqCst);
                // Later items finish preparing first: the output order must not care.
                tokio::time::sleep(Duration::from_millis(40 - 3 * i)).await;
                preparing.fetch_sub(1, Ordering::SeqCst);
                i * 10
            }
        })
        .await;
        assert_eq!(out, (0..12).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(max_preparing.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn the_budget_keeps_a_quarter_of_the_timeout_at_most_two_seconds_for_the_store() {
        assert_eq!(
            Budget::margin(Duration::from_secs(10)),
            Duration::from_secs(2)
        );
        assert_eq!(
            Budget::margin(Duration::from_secs(60)),
            Duration::from_secs(2)
        );
        assert_eq!(
            Budget::margin(Duration::from_millis(400)),
            Duration::from_millis(100)
        );
        let budget = Budget::starting_now(Duration::from_secs(10));
        assert_eq!(budget.prepare_by() - budget.started, Duration::from_secs(8));
        assert_eq!(budget.commit_by() - budget.started, Duration::from_secs(9));
        assert!(budget.commit_by() < budget.started + Duration::from_secs(10));
    }

    #[test]
    fn bad_header_names_the_value() {
        let mut headers = HeaderMap::new();
        headers.insert(BULK_HEADER, "maybe".parse().unwrap());
        let error = is_bulk(&headers).unwrap_err();
        assert_eq!(
            error.message(),
            "Expected 'true' or 'false' value for 'Bulk-Request' header, got maybe"
        );
        headers.insert(BULK_HEADER, "".parse().unwrap());
        assert!(!is_bulk(&headers).unwrap());
    }
}
