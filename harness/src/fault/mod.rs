//! Faults the robustness features inject: containers stopped, paused, restarted; processes killed.
//!
//! Small, bounded functions over ids the harness already holds ([`crate::backing::redis::Redis::container_id`],
//! [`crate::launch::process::ChildService::pid`]); waiting for a service to be healthy again is
//! the service's business (e.g. [`crate::backing::redis::Redis::wait_until_ready`]).

pub mod container;
pub mod signal;
