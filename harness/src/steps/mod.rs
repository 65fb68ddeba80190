//! Cucumber step definitions, one module per capability, over one [`world::MockVideoWorld`].
//!
//! Compiled into each cucumber runner with `#[path]` (see the crate docs for why).

pub mod accountd;
pub mod activity;
pub mod cinema;
pub mod cluster;
pub mod events;
pub mod http;
pub mod world;
