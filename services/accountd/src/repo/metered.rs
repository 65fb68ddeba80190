//! [`Metered`]: times every store call into the seed's histogram
//! `mockvideo_database_db_request_duration_seconds{target="userTbl",operation,result}`; a
//! batch is one call, `operation="bulk"`.

use std::{future::Future, sync::Arc, time::Instant};

use futures::future::BoxFuture;

use super::{BatchOp, BatchOutcome, NewUser, RepoError, UserRepo};
use crate::{domain::User, metrics};

/// Wraps a store and records the duration and outcome of each call.
#[derive(Clone)]
pub struct Metered {
    inner: Arc<dyn UserRepo>,
}

impl Metered {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn UserRepo>) -> Self {
        Self { inner }
    }
}

async fn timed<T>(
    operation: &'static str,
    call: impl Future<Output = Result<T, RepoError>>,
) -> Result<T, RepoError> {
    let start = Instant::now();
    let result = call.await;
    metrics::record_db_request(operation, result.is_ok(), start.elapsed());
    result
}

impl UserRepo for Metered {
    fn list(&self) -> BoxFuture<'_, Result<Vec<User>, RepoError>> {
        Box::pin(timed("readAll", self.inner.list()))
    }

    fn get(&self, id: i64) -> BoxFuture<'_, Result<Option<User>, RepoError>> {
        Box::pin(timed("readOne", self.inner.get(id)))
    }

    fn create<'a>(&'a self, user: &'a NewUser) -> BoxFuture<'a, Result<i64, RepoError>> {
        Box::pin(timed("create", self.inner.create(user)))
    }

    fn update<'a>(&'a self, id: i64, user: &'a NewUser) -> BoxFuture<'a, Result<(), RepoError>> {
        Box::pin(timed("update", self.inner.update(id, user)))
    }

    fn apply_batch(
        &self,
        batch: Vec<BatchOp>,
        deadline: Instant,
    ) -> BoxFuture<'_, Result<Vec<BatchOutcome>, RepoError>> {
        Box::pin(timed("bulk", self.inner.apply_batch(batch, deadline)))
    }

    fn delete(&self, id: i64) -> BoxFuture<'_, Result<bool, RepoError>> {
        Box::pin(timed("delete", self.inner.delete(id)))
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), RepoError>> {
        self.inner.ping()
    }
}
