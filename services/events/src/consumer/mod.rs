//! `event-consumer`: a consumer-group worker with at-least-once delivery and exactly-once
//! effect (see [`worker`] for the algorithm).
//!
//! - [`settings`]: what it reads from the environment (the seed's names included);
//! - [`worker`]: the read/claim/process loop and the dead-letter move;
//! - [`reply`]: the Redis replies it reads (stream entries, delivery counts), parsed;
//! - [`record`]: the processed record (what the features and the bench check) and its keys;
//! - [`trim`]: trimming the stream below what every consumer group is done with;
//! - [`app`]: the admin listener (`/metrics`, `/livez`, `/readyz`) and [`main_from_env`].

pub mod app;
pub mod cli;
pub mod metrics;
pub mod record;
pub mod reply;
pub mod scripts;
pub mod settings;
pub mod trim;
pub mod worker;

pub use app::{main_from_env, App};
pub use settings::Settings;
