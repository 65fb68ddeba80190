//! Router tests: the whole HTTP contract (contracts §1 with the §5 departures) over the
//! in-memory store, through `router(state).oneshot(..)`, with the seed's golden bodies. One
//! test binary, a module per area.
#![allow(clippy::unwrap_used)]

mod bulk;
mod delete;
mod get;
mod helpers;
mod operations;
mod post;
mod put;
