//! cinema: the movies, showtimes, bookings and users services over MongoDB (contract §3).
//!
//! - Each binary is `App::build(Service::X, Settings::load(Service::X, ..)?)` →
//!   [`App::run_until_stopped`]; [`app::router`] is the whole HTTP surface, so tests call
//!   `router(Service::Movies, &Repos::in_memory(), ..).oneshot(..)`.
//! - `movies`, `showtimes`, `bookings`, `users`: each service's model and routes; [`crud`] the
//!   handlers they share; [`repo`] the storage trait, its MongoDB and in-memory stores.
//! - [`envelope`] (`{"data": ...}`), [`object_id`] (path ids: 400 malformed, 404 unknown),
//!   [`timestamp`] (`createdon`), [`health`], [`settings`], [`seed`] (the §3.3 seed data).
//! - [`users::suggestions`]: `GET /users/{id}/suggestions`, ranked from the other three
//!   services' lists, fetched over HTTP with a deadline and bounded retries (502/504, never a
//!   hang).
//! - [`openapi`]: each service's OpenAPI document, served at `/openapi.json` and committed
//!   under `docs/openapi/`.
//! - Auth: [`platform::auth`] (HS256 bearer tokens, audience = the service's name) on every
//!   write when a JWT secret is configured; `mockvideo-token` mints them.
//! - Retries: every write takes an `Idempotency-Key` ([`platform::idempotency`]; keys kept in
//!   MongoDB by [`repo::MongoIdempotencyStore`]); a `POST` with a key stores its document under
//!   an id derived from the key ([`crud::id_for_key`]), so a retry never stores a second one; every
//!   write waits for write concern `{w: "majority", j: true, wtimeout}` ([`repo::write_concern`]).

pub mod app;
pub mod bookings;
pub mod cli;
pub mod crud;
pub mod envelope;
pub mod error;
pub mod health;
pub mod metrics;
pub mod movies;
pub mod object_id;
pub mod openapi;
pub mod repo;
pub mod seed;
pub mod service;
pub mod settings;
pub mod showtimes;
pub mod timestamp;
pub mod users;

pub use app::{audience, build_router, build_routes, router, router_with_auth, App, Repos};
pub use service::Service;
pub use settings::Settings;
