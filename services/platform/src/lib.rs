//! The library every MockVideo service builds on: settings, telemetry, metrics, health,
//! graceful shutdown, request limits and the one JSON error body.
//!
//! A service's `main` is typically:
//!
//! ```text
//! platform::telemetry::init("accountd");
//! let settings = Settings::load(..)?;           // built on platform::config::Layered
//! App::build(settings).await?.run_until_stopped(platform::shutdown::shutdown_signal()).await
//! ```
//!
//! and its `App` wraps its router with [`http::with_middleware`] and serves it with
//! [`serve::serve`].

pub mod config;
pub mod health;
pub mod http;
pub mod metrics;
pub mod serve;
pub mod shutdown;
pub mod telemetry;
