//! `GET /users/{id}/suggestions`: the movies a user has not booked yet, best first, built from
//! the bookings, movies and showtimes services' lists fetched concurrently over HTTP
//! ([`upstream`]) and ranked by co-booking ([`rank`]).
//!
//! Answers: 200 `{"data":[{<movie>, "score": n, "showtimes": ["YYYY-MM-DD", ...]}, ...]}`
//! (`[]` when there is nothing to suggest); 400 for a malformed id; 404 for an unknown user;
//! 502 when a dependency is unreachable or answers wrongly (after bounded retries); 504 when the
//! dependencies take longer than `suggestions.timeout` altogether; 429 + `Retry-After` when the
//! process already computes `suggestions.concurrent` of them and `suggestions.queue` wait
//! ([`limit`]). One computation makes at most `suggestions.upstream_calls` calls at once.
//! Never a hang.

pub mod limit;
pub mod rank;
pub mod upstream;

use std::{future::Future, sync::Arc};

use axum::{extract::State, response::Response};
use platform::http::{ApiError, Path};
use tokio::{sync::Semaphore, time::Instant};

use self::{
    rank::{BookingView, MovieView, ShowtimeView},
    upstream::Upstream,
};
use super::User;
use crate::{crud::Collection, envelope, error::store_error, object_id, Service};

/// The state of the suggestions route: the users collection and the way to the others.
#[derive(Clone)]
pub struct Suggester {
    /// The users collection (to tell an unknown user from one without bookings).
    pub users: Collection<User>,
    /// The other services.
    pub upstream: Arc<Upstream>,
}

/// `GET /users/{id}/suggestions` (see the module docs).
pub async fn suggestions(
    State(suggester): State<Suggester>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = object_id::parse(&id)?;
    let users = &suggester.users;
    match users.repo.find(id).await {
        Ok(Some(_)) => {}
        Ok(None) => return Err(object_id::not_found("user", id)),
        Err(error) => return Err(store_error(error, users.retry_after_secs)),
    }
    let upstream = &suggester.upstream;
    let _slot = upstream
        .computations()
        .acquire()
        .await
        .map_err(|limit::Busy| ApiError::too_many_requests(users.retry_after_secs))?;
    let deadline = Instant::now() + upstream.budget();
    let calls = Semaphore::new(upstream.calls_at_once());
    let (bookings, movies, showtimes) = tokio::try_join!(
        one_at_a_slot(
            &calls,
            upstream.list::<BookingView>(Service::Bookings, deadline)
        ),
        one_at_a_slot(
            &calls,
            upstream.list::<MovieView>(Service::Movies, deadline)
        ),
        one_at_a_slot(
            &calls,
            upstream.list::<ShowtimeView>(Service::Showtimes, deadline)
        ),
    )?;
    let ranked = rank::rank(&id.to_hex(), &bookings, movies, &showtimes);
    Ok(envelope::one(ranked))
}

/// Runs `call` once it holds one of the computation's `calls` slots.
async fn one_at_a_slot<F: Future>(calls: &Semaphore, call: F) -> F::Output {
    // The semaphore is never closed; were it, the call would simply run unbounded.
    let _slot = calls.acquire().await.ok();
    call.await
}
