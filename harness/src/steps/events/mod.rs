//! events steps: a stream of its own per scenario on the suite's Redis (or on a Redis of its own
//! for faults), the event-producer and event-consumers started by the scenario, the stream and
//! the processed record read straight from Redis, and the faults of the robustness features
//! (Redis stopped, paused, restarted; the producer restarted; consumer processes SIGKILLed)
//! with the exactly-once accounting they end with.
//!
//! [`reads`] reads the scenario's Redis (its part of the world is
//! [`crate::steps::world::events`]); the steps are grouped by what they do: [`start`], [`post`],
//! [`stream`], [`consumers`], [`admin`], [`faults`], [`flows`] and [`bounds`] (what Redis holds
//! for the pipeline, and its bounds).

mod admin;
mod bounds;
mod consumers;
mod faults;
mod flows;
mod post;
mod reads;
pub(crate) mod start;
mod stream;

pub use admin::wait_for_readiness;
pub(crate) use flows::exactly_once_in;
pub use flows::{record_report, simulator_settings};
pub use start::use_deployed;
pub(crate) use start::{producer_on_fresh_stream, start_consumer};
