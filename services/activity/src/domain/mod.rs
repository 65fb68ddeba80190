//! The activity domain without I/O: what a valid event is ([`NewEvent`]), what a stored one
//! looks like ([`StoredEvent`]), which events a `ListEvents` call wants ([`DeploymentFilter`]),
//! how an event is identified ([`EventKey`]: deployment and id) and how a repeated one is
//! judged ([`replay`]).

mod event;
mod filter;
mod validation;

pub use event::{execution_time_ms, replay, EventKey, NewEvent, Replay, StoredEvent};
pub use filter::DeploymentFilter;
pub use validation::{Problem, ValidationError};
