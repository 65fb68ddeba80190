//! Notifications over Redis streams: the event producer (HTTP → XADD), the consumer group
//! worker and the traffic simulator.
//!
//! - [`notification`]: the Notification Message and the stream entry format;
//! - [`redis_link`]: Redis connection settings and the one (re)connect helper;
//! - [`producer`]: `event-producer`, `POST /event` → `XADD`;
//! - [`consumer`]: `event-consumer`, a consumer-group worker with exactly-once effect;
//! - [`simulator`]: `event-simulator`, user traffic and the load engine of the bench.

pub mod consumer;
pub mod notification;
pub mod producer;
pub mod redis_link;
pub mod simulator;
pub mod stop;
