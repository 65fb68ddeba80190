//! [`InMemoryRepo`]: a collection in a `Vec`, for router unit tests. It can be told to fail
//! ([`InMemoryRepo::fail_with`]) so tests can see how store errors are answered.

use std::sync::{Arc, Mutex, MutexGuard};

use futures::future::BoxFuture;
use mongodb::bson::{oid::ObjectId, Bson};

use super::{to_document, Record, Repo, RepoError};

/// How the store fails, when told to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Every call answers [`RepoError::Unavailable`].
    Unavailable,
    /// Every call answers [`RepoError::Other`].
    Other,
}

#[derive(Debug)]
struct State<D> {
    documents: Vec<D>,
    failure: Option<Failure>,
}

/// A collection kept in memory. Clones share the same documents.
#[derive(Debug, Clone)]
pub struct InMemoryRepo<D> {
    state: Arc<Mutex<State<D>>>,
}

impl<D> Default for InMemoryRepo<D> {
    fn default() -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                documents: Vec::new(),
                failure: None,
            })),
        }
    }
}

impl<D: Record> InMemoryRepo<D> {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// A collection holding `documents`.
    pub fn with(documents: impl IntoIterator<Item = D>) -> Self {
        let repo = Self::new();
        repo.lock().documents.extend(documents);
        repo
    }

    /// From now on every call fails this way (`None`: works again).
    pub fn fail_with(&self, failure: Option<Failure>) {
        self.lock().failure = failure;
    }

    /// A copy of the stored documents.
    pub fn documents(&self) -> Vec<D> {
        self.lock().documents.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State<D>> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The state, or the error this store was told to answer.
    fn checked(&self) -> Result<MutexGuard<'_, State<D>>, RepoError> {
        let state = self.lock();
        match state.failure {
            None => Ok(state),
            Some(Failure::Unavailable) => Err(RepoError::Unavailable(
                "in-memory store told to be unavailable".into(),
            )),
            Some(Failure::Other) => Err(RepoError::Other("in-memory store told to fail".into())),
        }
    }
}

impl<D: Record> Repo<D> for InMemoryRepo<D> {
    fn list(&self) -> BoxFuture<'_, Result<Vec<D>, RepoError>> {
        Box::pin(async move { Ok(self.checked()?.documents.clone()) })
    }

    fn find(&self, id: ObjectId) -> BoxFuture<'_, Result<Option<D>, RepoError>> {
        Box::pin(async move {
            Ok(self
                .checked()?
                .documents
                .iter()
                .find(|document| document.id() == id)
                .cloned())
        })
    }

    fn find_first<'a>(
        &'a self,
        field: &'static str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<Option<D>, RepoError>> {
        Box::pin(async move {
            let state = self.checked()?;
            for document in &state.documents {
                if to_document(document)?.get(field) == Some(&Bson::String(value.to_owned())) {
                    return Ok(Some(document.clone()));
                }
            }
            Ok(None)
        })
    }

    fn insert<'a>(&'a self, document: &'a D) -> BoxFuture<'a, Result<(), RepoError>> {
        Box::pin(async move {
            let mut state = self.checked()?;
            if state
                .documents
                .iter()
                .any(|stored| stored.id() == document.id())
            {
                return Err(RepoError::Duplicate(
                    format!("E11000 duplicate key error: _id {}", document.id()).into(),
                ));
            }
            state.documents.push(document.clone());
            Ok(())
        })
    }

    fn delete(&self, id: ObjectId) -> BoxFuture<'_, Result<bool, RepoError>> {
        Box::pin(async move {
            let mut state = self.checked()?;
            let before = state.documents.len();
            state.documents.retain(|document| document.id() != id);
            Ok(state.documents.len() != before)
        })
    }
}
