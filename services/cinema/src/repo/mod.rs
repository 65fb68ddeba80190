//! Storage shared by the four services: the [`Repo`] trait over one collection of [`Record`]s,
//! its MongoDB implementation [`MongoRepo`] and an in-memory one ([`InMemoryRepo`], for router
//! unit tests only). Each service names its own instances (`MongoMovieRepo`, …).
//! [`idempotency`] keeps the writes' `Idempotency-Key`s in MongoDB ([`MongoIdempotencyStore`]).
//!
//! Every write (insert, delete, the idempotency store's) is acknowledged with write concern
//! `{w: "majority", j: true, wtimeout}` ([`write_concern`]): a 200 means the document is on a
//! majority of the replica set, in its journal.

pub mod idempotency;
pub mod memory;
mod mongo;

use std::time::Duration;

use futures::future::BoxFuture;
use mongodb::bson::{oid::ObjectId, Document};
use serde::{de::DeserializeOwned, Serialize};

pub use idempotency::MongoIdempotencyStore;
pub use memory::InMemoryRepo;
pub use mongo::{classify, MongoError, MongoRepo};

/// The write concern of every write: acknowledged by a majority of the replica set, in its
/// journal, within `wtimeout` (past it the write may still land: the request gets 503 and a
/// retry with its `Idempotency-Key` finds it).
pub fn write_concern(wtimeout: Duration) -> mongodb::options::WriteConcern {
    mongodb::options::WriteConcern::builder()
        .w(mongodb::options::Acknowledgment::Majority)
        .journal(true)
        .w_timeout(wtimeout)
        .build()
}

/// A document of one collection: serialised to BSON as stored (`_id`, the seed's field names).
pub trait Record: Serialize + DeserializeOwned + Clone + Send + Sync + Unpin + 'static {
    /// The collection name (`movies`, `showtimes`, `bookings`, `users`).
    const COLLECTION: &'static str;

    /// The document's `_id`.
    fn id(&self) -> ObjectId;
}

/// What a [`RepoError`] wraps: the driver's error, or a description where there is none.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why a store operation failed; the cause stays in the source chain.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The database could not be reached in time (down, restarting, overloaded).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// An insert found a document with its `_id` already there (E11000).
    #[error("duplicate _id: {0}")]
    Duplicate(#[source] Cause),
    /// Any other database failure (a refused write, an undecodable document, …).
    #[error("database error: {0}")]
    Other(#[source] Cause),
}

/// One collection. Object-safe (boxed futures), so apps hold an `Arc<dyn Repo<D>>`.
pub trait Repo<D: Record>: Send + Sync + 'static {
    /// Every document, in natural (insertion) order.
    fn list(&self) -> BoxFuture<'_, Result<Vec<D>, RepoError>>;

    /// The document with this `_id`, if any.
    fn find(&self, id: ObjectId) -> BoxFuture<'_, Result<Option<D>, RepoError>>;

    /// The first document (natural order) whose string field `field` equals `value`.
    fn find_first<'a>(
        &'a self,
        field: &'static str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<Option<D>, RepoError>>;

    /// Stores a new document; an error means it was not stored (or may not have been), and
    /// [`RepoError::Duplicate`] that a document with its `_id` exists.
    fn insert<'a>(&'a self, document: &'a D) -> BoxFuture<'a, Result<(), RepoError>>;

    /// Deletes the document with this `_id`; returns whether it existed.
    fn delete(&self, id: ObjectId) -> BoxFuture<'_, Result<bool, RepoError>>;
}

/// The BSON form of a record (what Mongo stores), used by the in-memory store's queries.
pub(crate) fn to_document<D: Record>(record: &D) -> Result<Document, RepoError> {
    mongodb::bson::to_document(record).map_err(|error| RepoError::Other(Box::new(error)))
}
