//! The handlers the four services share, generic over the document type: list, create,
//! get by id, delete by id. Each service module supplies the model ([`Resource`]) and its
//! router; the answers follow contract §3.3 with the §5 fixes.

use std::sync::Arc;

use axum::{extract::State, http::StatusCode, response::Response};
use mongodb::bson::{oid::ObjectId, DateTime};
use platform::http::{ApiError, Path};
use serde::{de::DeserializeOwned, Serialize};

use crate::{
    envelope::{self, Incoming},
    error::store_error,
    object_id,
    repo::{Record, Repo},
};

/// A document type served over HTTP.
pub trait Resource: Record {
    /// The singular noun used in error messages (`movie`, `showtime`, …).
    const NOUN: &'static str;
    /// The JSON shape (`id` as hex, `createdon` as RFC 3339).
    type Json<'a>: Serialize
    where
        Self: 'a;
    /// What a `POST` body's `data` may hold; `Default` is the all-empty document.
    type Input: DeserializeOwned + Default + Send + 'static;

    /// The JSON view of this document.
    fn to_json(&self) -> Self::Json<'_>;

    /// The document to store for `input`, with the server's id and time.
    fn from_input(input: Self::Input, id: ObjectId, now: DateTime) -> Self;
}

/// One collection and how to answer when it fails: the state of a service's router.
pub struct Collection<D: Record> {
    /// The store.
    pub repo: Arc<dyn Repo<D>>,
    /// `Retry-After` seconds on 503.
    pub retry_after_secs: u64,
}

impl<D: Record> Clone for Collection<D> {
    fn clone(&self) -> Self {
        Self {
            repo: self.repo.clone(),
            retry_after_secs: self.retry_after_secs,
        }
    }
}

/// `GET /<collection>`: 200 `{"data":[...]}`, or `{"data":null}` when empty.
pub async fn list<D: Resource>(State(store): State<Collection<D>>) -> Result<Response, ApiError> {
    let documents = store
        .repo
        .list()
        .await
        .map_err(|error| store_error(error, store.retry_after_secs))?;
    Ok(envelope::list(documents.iter().map(D::to_json).collect()))
}

/// `POST /<collection>`: stores the document under a new id (and time) and answers 200 with it
/// as stored; a failed insert is a 503/500, never a 200.
pub async fn create<D: Resource>(
    State(store): State<Collection<D>>,
    Incoming(input): Incoming<D::Input>,
) -> Result<Response, ApiError> {
    let document = D::from_input(input, ObjectId::new(), DateTime::now());
    store
        .repo
        .insert(&document)
        .await
        .map_err(|error| store_error(error, store.retry_after_secs))?;
    crate::metrics::created(D::COLLECTION);
    Ok(envelope::one(document.to_json()))
}

/// `GET /<collection>/{id}`: 200 `{"data":<doc>}`; 400 for a malformed id, 404 for an unknown one.
pub async fn get<D: Resource>(
    State(store): State<Collection<D>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = object_id::parse(&id)?;
    match store.repo.find(id).await {
        Ok(Some(document)) => Ok(envelope::one(document.to_json())),
        Ok(None) => Err(object_id::not_found(D::NOUN, id)),
        Err(error) => Err(store_error(error, store.retry_after_secs)),
    }
}

/// `DELETE /<collection>/{id}`: 204 empty; 400 for a malformed id, 404 for an unknown one.
pub async fn delete<D: Resource>(
    State(store): State<Collection<D>>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = object_id::parse(&id)?;
    match store.repo.delete(id).await {
        Ok(true) => {
            crate::metrics::deleted(D::COLLECTION);
            Ok(StatusCode::NO_CONTENT)
        }
        Ok(false) => Err(object_id::not_found(D::NOUN, id)),
        Err(error) => Err(store_error(error, store.retry_after_secs)),
    }
}

/// The 405 answer for a path whose methods are `allow`.
pub fn method_not_allowed(allow: &'static str) -> ApiError {
    ApiError::method_not_allowed(allow)
}
