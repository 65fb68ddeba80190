//! Event storage: the [`EventRepo`] trait, its MySQL implementation and an in-memory one for
//! unit tests.
//!
//! The store keeps events in insertion order (a sequence number) and makes the event key
//! `(deployment_id, id)` unique ([`crate::domain::EventKey`]): an id is unique within its
//! deployment only. [`EventRepo::insert`] never stores a second event under a key: it reports
//! the stored one instead ([`Inserted::Existing`]) and leaves the judgement to
//! [`crate::domain::replay`]. The only lookup of one event is that read-back, by key; the
//! gRPC API itself has no lookup by id (ListEvents selects by deployment). Listing is keyset-paginated on the sequence number
//! ([`EventRepo::page`]), so a stream never holds the table (or a pooled connection) for long.

mod memory;
mod mysql;

use futures::future::BoxFuture;

pub use memory::InMemoryEventRepo;
pub use mysql::{MySqlEventRepo, MIGRATIONS_DIR, MIGRATOR};

use crate::domain::{DeploymentFilter, NewEvent, StoredEvent};

/// Position of an event in insertion order (MySQL `AUTO_INCREMENT`; 0 = before the first).
pub type Seq = u64;

/// The outcome of [`EventRepo::insert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// Stored now.
    New(StoredEvent),
    /// An event with this key (deployment and id) was already stored (possibly by a concurrent
    /// call); here it is, unchanged.
    Existing(StoredEvent),
}

/// What a [`RepoError`] wraps: the driver's error, or a description where there is none.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why a store operation failed; the cause stays in the source chain.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The store cannot be reached (connection refused, pool timed out, …): transient.
    #[error("event store unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// Any other failure.
    #[error("event store failure: {0}")]
    Failed(#[source] Cause),
}

/// Where events are kept. Object-safe (boxed futures), so the app holds an `Arc<dyn EventRepo>`.
pub trait EventRepo: Send + Sync + 'static {
    /// Stores `event` as received at `receive_ns`, unless its key `(deployment_id, id)` is
    /// taken: then the stored event is returned. Safe under concurrent calls with the same key
    /// (one row, ever).
    fn insert<'a>(
        &'a self,
        event: &'a NewEvent,
        receive_ns: i64,
    ) -> BoxFuture<'a, Result<Inserted, RepoError>>;

    /// The newest sequence number (0 when empty): where a listing that starts now ends.
    fn last_seq(&self) -> BoxFuture<'_, Result<Seq, RepoError>>;

    /// Up to `limit` events matching `filter` with `after < seq <= up_to`, in `seq` order.
    fn page(
        &self,
        filter: DeploymentFilter,
        after: Seq,
        up_to: Seq,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<(Seq, StoredEvent)>, RepoError>>;

    /// Checks that the store answers (health and readiness).
    fn ping(&self) -> BoxFuture<'_, Result<(), RepoError>>;

    /// Releases the store's resources (closes the pool) at shutdown.
    fn close(&self) -> BoxFuture<'_, ()>;
}
