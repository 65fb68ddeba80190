//! `event-producer`: `POST /event` (contract §4.2) → one `XADD` of the Notification Message to
//! the stream; `/metrics`, `/livez`, `/readyz` on the same port.
//!
//! - [`settings`]: what it reads from the environment (the seed's names included);
//! - [`writer`]: the stream writer and its reconnect supervisor (marker entry at start-up and
//!   after every reconnect; readiness);
//! - [`routes`]: the HTTP surface and the seed-compatible error bodies;
//! - [`openapi`]: the OpenAPI document, served at `/openapi.json`;
//! - [`app`]: binding and serving; [`cli`]: the command line.

pub mod app;
pub mod cli;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod settings;
pub mod writer;

pub use app::App;
pub use settings::Settings;
