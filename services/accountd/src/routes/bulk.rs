//! Bulk requests (`Bulk-Request: true`): many users in one POST or PUT.
//!
//! Each user is processed on its own. The slow half (validation and password hashing) runs for
//! at most `max_concurrent_bulk_operations` users at a time; the quick database statement then
//! runs in request order, so new ids follow the request order and, of two users with the same
//! e-mail, the first one wins. Results come back in request order (the seed returned
//! completion order). The status line equals `overallstatus`: 201 (POST) or 200 (PUT) when
//! every user succeeded, else 409.

use std::future::Future;

use axum::{
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use futures::{stream, StreamExt};
use platform::http::{ApiError, Json};
use serde::Serialize;

use crate::{
    app::AppState,
    domain::{messages, User, UserInput},
    error::UserError,
    repo::NewUser,
    service,
};

/// The header that turns a POST or PUT into a bulk request.
pub const BULK_HEADER: &str = "bulk-request";

/// The response body of a bulk request.
#[derive(Debug, Serialize)]
pub struct BulkResponse {
    /// 201/200 when every item succeeded, else 409.
    pub overallstatus: u16,
    /// One entry per submitted user, in request order.
    pub results: Vec<BulkResult>,
}

/// The outcome for one user of a bulk request.
#[derive(Debug, Serialize)]
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

/// A bulk item after its slow half: what to store, or why not.
struct Staged {
    echo: User,
    job: Result<Job, UserError>,
}

enum Job {
    Create(NewUser),
    Update(i64, NewUser),
}

async fn prepare(state: &AppState, operation: Operation, input: UserInput) -> Staged {
    let echo = input.echo();
    let job = match operation {
        Operation::Create => service::prepare_create(state, input).await.map(Job::Create),
        Operation::Update => service::prepare_update(state, None, input)
            .await
            .map(|(id, user)| Job::Update(id, user)),
    };
    Staged { echo, job }
}

async fn store(state: &AppState, operation: Operation, staged: Staged) -> BulkResult {
    let Staged { echo, job } = staged;
    let outcome = match job {
        Ok(Job::Create(user)) => service::store_create(state, user).await,
        Ok(Job::Update(id, user)) => service::store_update(state, id, user)
            .await
            .map(|_| echo.clone()),
        Err(error) => Err(error),
    };
    match outcome {
        Ok(user) => BulkResult {
            httpstatus: operation.success().as_u16(),
            errmsg: String::new(),
            user,
        },
        Err(error) => {
            let (httpstatus, errmsg) = error.bulk_status();
            BulkResult {
                httpstatus,
                errmsg,
                user: echo,
            }
        }
    }
}

/// Runs `prepare` on at most `limit` items at a time and `finish` on each prepared item one
/// after the other, in the items' order; returns the outputs in that order.
pub(crate) async fn ordered_pipeline<T, U, V, P, PF, F, FF>(
    items: Vec<T>,
    limit: usize,
    prepare: P,
    finish: F,
) -> Vec<V>
where
    P: FnMut(T) -> PF,
    PF: Future<Output = U>,
    F: FnMut(U) -> FF,
    FF: Future<Output = V>,
{
    stream::iter(items)
        .map(prepare)
        .buffered(limit.max(1))
        .then(finish)
        .collect()
        .await
}

/// 413 `bulk_request_too_large`: a bulk request of `got` users when at most `max` are allowed.
pub fn too_many_users(max: usize, got: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "bulk_request_too_large",
        format!("a bulk request may hold at most {max} users, got {got}"),
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
    let results = ordered_pipeline(
        users,
        state.max_concurrent_bulk_operations,
        |input| prepare(state, operation, input),
        |staged| store(state, operation, staged),
    )
    .await;
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
    async fn pipeline_bounds_the_slow_half_and_keeps_order() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::time::Duration;

        let preparing = AtomicUsize::new(0);
        let max_preparing = AtomicUsize::new(0);
        let finishing = AtomicUsize::new(0);
        let max_finishing = AtomicUsize::new(0);
        let items: Vec<u64> = (0..12).collect();
        let out = ordered_pipeline(
            items,
            3,
            |i| {
                let (preparing, max_preparing) = (&preparing, &max_preparing);
                async move {
                    let now = preparing.fetch_add(1, Ordering::SeqCst) + 1;
                    max_preparing.fetch_max(now, Ordering::SeqCst);
                    // Later items finish preparing first: the output order must not care.
                    tokio::time::sleep(Duration::from_millis(40 - 3 * i)).await;
                    preparing.fetch_sub(1, Ordering::SeqCst);
                    i * 10
                }
            },
            |n| {
                let (finishing, max_finishing) = (&finishing, &max_finishing);
                async move {
                    let now = finishing.fetch_add(1, Ordering::SeqCst) + 1;
                    max_finishing.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    finishing.fetch_sub(1, Ordering::SeqCst);
                    n + 1
                }
            },
        )
        .await;
        assert_eq!(out, (0..12).map(|i| i * 10 + 1).collect::<Vec<_>>());
        assert_eq!(max_preparing.load(Ordering::SeqCst), 3);
        assert_eq!(max_finishing.load(Ordering::SeqCst), 1);
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
