//! HTTP tests of the four services' routers, over in-memory stores with `oneshot` (status,
//! headers and JSON bodies, including every class of bad input), and of the users service's
//! suggestions over real loopback HTTP, and `Idempotency-Key` on the writes. One test binary, a
//! module per area.

#![allow(clippy::unwrap_used)]

mod auth;
mod bookings;
mod health;
mod helpers;
mod idempotency;
mod movies;
mod showtimes;
mod suggestions;
mod users;

use cinema::{bookings::Booking, movies::Movie, repo::Record, showtimes::Showtime, users::User};

/// Keeps the record types in use so the imports above document what each service stores.
#[test]
fn collections_are_named_as_in_the_original() {
    assert_eq!(Movie::COLLECTION, "movies");
    assert_eq!(Showtime::COLLECTION, "showtimes");
    assert_eq!(Booking::COLLECTION, "bookings");
    assert_eq!(User::COLLECTION, "users");
}
