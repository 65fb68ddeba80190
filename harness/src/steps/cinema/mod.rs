//! Cinema steps: the movies, showtimes, bookings and users services on a database of the
//! scenario's own (on the suite's shared MongoDB, or on a server of the scenario's own when it
//! restarts MongoDB), the `{"data": ...}` envelope, ids remembered from one answer and used in
//! the next request's path or body, and recovery after the database restarts.
//!
//! A remembered id is written `{name}` in a path or body: `"/movies/{zootopia}"`.
//!
//! Auth: "… with auth on" starts the services with the scenario's random JWT secret;
//! "I use a valid token" (and the other token steps of [`crate::steps::auth`]) sets the
//! `Authorization` header that the "… to the {word} service at …" request steps send.
//!
//! The users service is always started last and pointed at the scenario's movies, showtimes and
//! bookings services, so its suggestions go through all four ([`suggestions`] has their steps).
//!
//! The steps are grouped by what they do: [`services`] (starting them), [`requests`],
//! [`data`] (the envelope and remembered documents), [`outage`] (MongoDB stopped or restarted),
//! [`retries`] (answers lost on the wire or by the service, and what a collection holds) and
//! [`suggestions`]; the scenario's part of the world is [`crate::steps::world::cinema`].

pub mod data;
pub mod outage;
pub mod requests;
pub mod retries;
pub mod services;
pub mod suggestions;
