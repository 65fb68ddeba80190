//! [`MongoRepo`]: one MongoDB collection through the official driver.
//!
//! Every call is bounded by the operation timeout on top of the client's
//! `server_selection_timeout`, so a request never waits for a database that is down: it gets
//! [`RepoError::Unavailable`] (503). The driver reconnects by itself once the server is back.
//! The collection comes from a database whose write concern is [`super::write_concern`]
//! (set by [`crate::App::build`]), so inserts and deletes wait for a journaled majority.

use std::{
    future::{Future, IntoFuture as _},
    time::{Duration, Instant},
};

use futures::{future::BoxFuture, TryStreamExt as _};
use mongodb::{
    bson::{doc, oid::ObjectId},
    error::{ErrorKind, WriteFailure},
    Collection, Database,
};

use super::{Record, Repo, RepoError};

/// A driver error, classified.
pub type MongoError = mongodb::error::Error;

/// One collection of a MongoDB database.
#[derive(Debug, Clone)]
pub struct MongoRepo<D: Send + Sync> {
    collection: Collection<D>,
    timeout: Duration,
}

impl<D: Record> MongoRepo<D> {
    /// The collection [`Record::COLLECTION`] of `database`; each call may take `timeout`.
    pub fn new(database: &Database, timeout: Duration) -> Self {
        Self {
            collection: database.collection(D::COLLECTION),
            timeout,
        }
    }

    /// Runs one driver call within the timeout, timing it for `/metrics`.
    async fn call<T>(
        &self,
        operation: &'static str,
        future: impl Future<Output = Result<T, MongoError>>,
    ) -> Result<T, RepoError> {
        let start = Instant::now();
        let result = match tokio::time::timeout(self.timeout, future).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(classify(error)),
            Err(_) => Err(RepoError::Unavailable(
                format!("no answer within {:?}", self.timeout).into(),
            )),
        };
        crate::metrics::record_db_call(D::COLLECTION, operation, result.is_ok(), start.elapsed());
        result
    }
}

/// The server's code for a duplicate key.
const DUPLICATE_KEY: i32 = 11000;

/// Unreachable or restarting servers, and writes whose write concern was not satisfied in time
/// (applied, maybe, but not confirmed), are [`RepoError::Unavailable`]; a duplicate key is
/// [`RepoError::Duplicate`]; the rest is [`RepoError::Other`].
pub fn classify(error: MongoError) -> RepoError {
    if is_duplicate(&error) {
        return RepoError::Duplicate(Box::new(error));
    }
    let unavailable = matches!(
        *error.kind,
        ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::DnsResolve { .. }
            | ErrorKind::Write(WriteFailure::WriteConcernError(_))
    ) || error.contains_label("RetryableWriteError");
    if unavailable {
        RepoError::Unavailable(Box::new(error))
    } else {
        RepoError::Other(Box::new(error))
    }
}

/// Whether `error` is a duplicate key (E11000) refusing a write.
pub fn is_duplicate(error: &MongoError) -> bool {
    match error.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(write)) => write.code == DUPLICATE_KEY,
        ErrorKind::Command(command) => command.code == DUPLICATE_KEY,
        _ => false,
    }
}

impl<D: Record> Repo<D> for MongoRepo<D> {
    fn list(&self) -> BoxFuture<'_, Result<Vec<D>, RepoError>> {
        Box::pin(self.call("list", async move {
            self.collection.find(doc! {}).await?.try_collect().await
        }))
    }

    fn find(&self, id: ObjectId) -> BoxFuture<'_, Result<Option<D>, RepoError>> {
        Box::pin(self.call(
            "find",
            self.collection.find_one(doc! { "_id": id }).into_future(),
        ))
    }

    fn find_first<'a>(
        &'a self,
        field: &'static str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<Option<D>, RepoError>> {
        Box::pin(
            self.call(
                "find_first",
                self.collection
                    .find_one(doc! { field: value })
                    .into_future(),
            ),
        )
    }

    fn insert<'a>(&'a self, document: &'a D) -> BoxFuture<'a, Result<(), RepoError>> {
        Box::pin(self.call("insert", async move {
            self.collection.insert_one(document).await.map(|_| ())
        }))
    }

    fn delete(&self, id: ObjectId) -> BoxFuture<'_, Result<bool, RepoError>> {
        Box::pin(self.call("delete", async move {
            let result = self.collection.delete_one(doc! { "_id": id }).await?;
            Ok(result.deleted_count > 0)
        }))
    }
}
