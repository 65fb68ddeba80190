//! The MockVideo harness: provisions backing services, launches our services and generates load.
//!
//! The Gherkin step definitions live in `src/steps/` and are compiled into each cucumber runner
//! (`tests/functional.rs`) rather than into this library: cucumber collects steps through
//! link-time registration, which only sees code linked into the runner itself.

/// MySQL, Redis and MongoDB provisioning: the `backing` crate, shared with `cargo xtask`.
pub use ::backing;
pub mod cluster;
pub mod fault;
pub mod launch;
pub mod load;
pub mod matrix;
pub mod memory;
pub mod suite;
pub mod wire;
