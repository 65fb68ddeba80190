//! The library every MockVideo service builds on: settings, telemetry, metrics, health,
//! graceful shutdown, request limits, the one JSON error body, the MySQL pool and Go-style
//! command lines.
//!
//! A service's `main` is typically:
//!
//! ```text
//! platform::telemetry::init("accountd");
//! let settings = Settings::load(..)?;           // platform::config::Load
//! App::build(settings).await?.run_until_stopped(platform::shutdown::shutdown_signal()).await
//! ```
//!
//! and its `App` wraps its router with [`http::with_middleware`] and serves it with
//! [`serve::serve`].

pub mod adaptive;
pub mod auth;
pub mod cli;
pub mod config;
pub mod health;
pub mod http;
pub mod idempotency;
pub mod metrics;
pub mod mysql;
pub mod openapi;
pub mod serve;
pub mod shutdown;
pub mod telemetry;
