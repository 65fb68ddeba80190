//! `event-simulator`: user traffic for the producer, and the load engine of `cargo xtask bench
//! events`.
//!
//! - [`settings`]: rate, concurrency, bounds (every setting has a default);
//! - [`run`]: the engine ([`run()`](run::run));
//! - [`report`]: what a run did (counts, statuses, latency percentiles);
//! - [`cli`]: the command line.

pub mod cli;
pub mod report;
pub mod run;
pub mod settings;

pub use report::Report;
pub use run::run;
pub use settings::Settings;
