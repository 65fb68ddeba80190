//! A TCP fault proxy with the semantics and the HTTP admin API of Toxiproxy 2.x, in Rust.
//!
//! Each proxy listens on one address and forwards every connection to an upstream address; what
//! happens to the bytes on the way is decided by its *toxics*, per direction (`upstream`: client
//! to server, `downstream`: server to client), each applying to a share of the connections (its
//! `toxicity`, drawn per connection):
//!
//! | toxic | attributes | effect |
//! |---|---|---|
//! | `latency` | `latency`, `jitter` (ms) | delays every chunk |
//! | `bandwidth` | `rate` (KB/s) | caps the throughput |
//! | `slow_close` | `delay` (ms) | delays the close |
//! | `timeout` | `timeout` (ms) | passes no data; closes after the time-out (0: never) |
//! | `reset_peer` | `timeout` (ms) | at the first data, waits, then resets (RST) the connection |
//! | `slicer` | `average_size`, `size_variation` (bytes), `delay` (µs) | splits chunks into small writes |
//! | `limit_data` | `bytes` | closes the connection after that many bytes |
//!
//! A disabled proxy cuts its open connections and refuses new ones (a partition); enabling it
//! heals it. Removing a `timeout` toxic closes the connections it swallowed data on (they cannot
//! go on without it), as in Toxiproxy. Toxics added to a live connection take effect on it, as in Toxiproxy; with no toxic
//! a connection is a plain copy loop with one reused buffer per direction.
//!
//! - [`Proxies`]: the registry, driven from Rust;
//! - [`admin`]: the same registry over Toxiproxy's HTTP API, so existing Toxiproxy clients work;
//! - the `fault-proxy` binary serves that API (`fault-proxy --help`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), fault_proxy::ProxyError> {
//! use fault_proxy::{Direction, ProxyConfig, Proxies, Toxic, ToxicKind};
//!
//! let proxies = Proxies::new();
//! let redis = proxies
//!     .create(ProxyConfig::new("redis", "127.0.0.1:0", "127.0.0.1:6379"))
//!     .await?;
//! // Point the client at `redis.listen`, then:
//! let slow = Toxic::new(ToxicKind::Latency { latency: 800, jitter: 0 }, Direction::Downstream);
//! proxies.add_toxic("redis", slow).await?;
//! proxies.set_enabled("redis", false).await?; // the link is cut
//! proxies.reset().await; // every toxic gone, every proxy enabled
//! # Ok(()) }
//! ```

pub mod admin;
mod error;
mod link;
mod proxy;
mod registry;
mod toxic;

pub use error::ProxyError;
pub use registry::{Proxies, ProxyConfig, ProxyInfo, ProxyPatch};
pub use toxic::{Direction, Toxic, ToxicKind};

/// The version the admin API reports at `GET /version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
