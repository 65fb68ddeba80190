//! `GET /users/{id}/suggestions`: the movies a user has not booked yet, best first, built from
//! the bookings, movies and showtimes services' lists fetched concurrently over HTTP
//! ([`upstream`]) and ranked by co-booking ([`rank`]).
//!
//! Answers: 200 `{"data":[{<movie>, "score": n, "showtimes": ["YYYY-MM-DD", ...]}, ...]}`
//! (`[]` when there is nothing to suggest); 400 for a malformed id; 404 for an unknown user;
//! 502 when a dependency is unreachable or answers wrongly (after bounded retries); 504 when the
//! dependencies take longer than `suggestions.timeout` altogether. Never a hang.

pub mod rank;
pub mod upstream;

use std::sync::Arc;

use axum::{extract::State, response::Response};
use platform::http::{ApiError, Path};
use tokio::time::Instant;

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
    let deadline = Instant::now() + upstream.budget();
    let (bookings, movies, showtimes) = tokio::try_join!(
        upstream.list::<BookingView>(Service::Bookings, deadline),
        upstream.list::<MovieView>(Service::Movies, deadline),
        upstream.list::<ShowtimeView>(Service::Showtimes, deadline),
    )?;
    let ranked = rank::rank(&id.to_hex(), &bookings, movies, &showtimes);
    Ok(envelope::one(ranked))
}
