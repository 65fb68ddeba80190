//! activity: activity events over gRPC, the Rust successor of idestis/ori-service.
//!
//! - `activity-server`: [`Settings`] (layered config) → [`App::build`] (connect MySQL, migrate,
//!   bind the gRPC and admin ports) → [`App::run_until_stopped`] (serve, drain on SIGTERM).
//!   The wire contract is `proto/activityevents.proto`, unchanged ([`proto`]).
//! - `activity-client`: [`client`], the original's flags and output lines, plus `--json`.
//!
//! Modules: [`domain`] (validation, idempotency), [`repo`] (MySQL store, keyset listing),
//! [`service`] (the gRPC methods), [`middleware`] (concurrency limit, gRPC metrics),
//! [`health`] (gRPC health with a store pinger), [`error`] (the one status mapping).

pub mod app;
pub mod cli;
pub mod client;
pub mod codec;
pub mod codes;
pub mod domain;
pub mod error;
pub mod health;
pub mod metrics;
pub mod middleware;
pub mod proto;
pub mod repo;
pub mod service;
pub mod settings;
pub mod text_format;

pub use app::App;
pub use settings::{GrpcLimits, GrpcServer, Settings};
