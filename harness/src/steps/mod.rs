//! Cucumber step definitions, one module per capability, over one [`world::MockVideoWorld`].
//!
//! Compiled into each cucumber runner with `#[path]` (see the crate docs for why).
//!
//! Imports run one way: [`world`] (with each capability's part of it) imports no steps; every
//! step module imports [`world`], the shared [`http`] helpers and helper modules of its own
//! capability, never one that imports it back.

pub mod accountd;
pub mod activity;
pub mod auth;
pub mod big_body;
pub mod cinema;
pub mod cluster;
pub mod events;
pub mod http;
pub mod matrix;
pub mod network;
pub mod world;
