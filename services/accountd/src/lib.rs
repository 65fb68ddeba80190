//! accountd: MockVideo's users CRUD over MySQL, with bulk requests.
//!
//! - [`Settings`] (layered config) → [`App::build`] (connect, migrate, bind) →
//!   [`App::run_until_stopped`] (serve, drain on shutdown).
//! - [`router`] is the whole HTTP surface; tests call `router(AppState::in_memory())`.
//! - `domain` holds the user types and validation, `repo` the storage, `routes` the handlers,
//!   `service` the create/update logic shared by single and bulk requests.

pub mod app;
pub mod cli;
pub mod db;
pub mod domain;
pub mod error;
pub mod metrics;
pub mod repo;
pub mod routes;
pub mod service;
pub mod settings;

pub use app::{App, AppState};
pub use routes::router;
pub use settings::{DbSettings, Settings};
