//! The handlers the four services share, generic over the document type: list, create,
//! get by id, delete by id. Each service module supplies the model ([`Resource`]) and its
//! router; the answers follow contract §3.3 with the §5 fixes.
//!
//! Every write also takes an `Idempotency-Key` ([`platform::idempotency`], applied by
//! [`crate::app::build_router`]): a retry gets the first answer. A `POST` with a key stores its
//! document under an id that follows from the key ([`id_for_key`]), so even a retry whose first
//! answer could not be kept (the process died between the insert and keeping the answer, or the
//! insert timed out after all) finds the document instead of storing a second one.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use mongodb::bson::{oid::ObjectId, DateTime};
use platform::{
    http::{ApiError, Path},
    idempotency::{self, Key},
};
use serde::{de::DeserializeOwned, Serialize};
use utoipa::ToSchema;

use crate::{
    envelope::{self, Incoming},
    error::store_error,
    object_id,
    repo::{to_document, Record, Repo, RepoError},
};

/// The fields of a stored document that the server chose, not the client's input.
const SERVER_FIELDS: [&str; 2] = ["_id", "createdon"];

/// A document type served over HTTP.
pub trait Resource: Record {
    /// The singular noun used in error messages (`movie`, `showtime`, …).
    const NOUN: &'static str;
    /// The JSON shape (`id` as hex, `createdon` as RFC 3339).
    type Json<'a>: Serialize + ToSchema
    where
        Self: 'a;
    /// What a `POST` body's `data` may hold; `Default` is the all-empty document.
    type Input: DeserializeOwned + Default + Send + ToSchema + 'static;

    /// The JSON view of this document.
    fn to_json(&self) -> Self::Json<'_>;

    /// The document to store for `input`, with the server's id and time.
    fn from_input(input: Self::Input, id: ObjectId, now: DateTime) -> Self;

    /// Whether `stored` holds what this new document holds, but for what the server chose
    /// (`_id`, `createdon`): the same create, retried.
    fn same_content(&self, stored: &Self) -> bool {
        let content = |document: &Self| {
            to_document(document).ok().map(|mut fields| {
                for field in SERVER_FIELDS {
                    fields.remove(field);
                }
                fields
            })
        };
        matches!((content(self), content(stored)), (Some(new), Some(old)) if new == old)
    }
}

/// The id of the document a `POST` with `key` creates in `collection`: the first 12 bytes of
/// [`Key::digest`] scoped by the collection (the same key always names the same document).
pub fn id_for_key(key: &Key, collection: &str) -> ObjectId {
    let digest = key.digest(collection);
    let mut bytes = [0_u8; 12];
    bytes.copy_from_slice(&digest[..12]);
    ObjectId::from_bytes(bytes)
}

/// The request's `Idempotency-Key`, if it has one (400 when malformed).
fn idempotency_key(headers: &HeaderMap) -> Result<Option<Key>, ApiError> {
    headers.get(idempotency::HEADER).map(Key::parse).transpose()
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
///
/// With an `Idempotency-Key` the id follows from the key ([`id_for_key`]). When a document with
/// that id exists already, an earlier try with the key stored it: the same content is answered
/// as that try's success (the stored document); different content is a 422
/// `idempotency_key_reused`.
pub async fn create<D: Resource>(
    State(store): State<Collection<D>>,
    headers: HeaderMap,
    Incoming(input): Incoming<D::Input>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let id = key
        .as_ref()
        .map_or_else(ObjectId::new, |key| id_for_key(key, D::COLLECTION));
    let document = D::from_input(input, id, DateTime::now());
    match store.repo.insert(&document).await {
        Ok(()) => {
            crate::metrics::created(D::COLLECTION);
            Ok(envelope::one(document.to_json()))
        }
        Err(RepoError::Duplicate(_)) if key.is_some() => {
            match store.repo.find(id).await {
                Ok(Some(stored)) if document.same_content(&stored) => {
                    Ok(envelope::one(stored.to_json()))
                }
                Ok(Some(_)) => Err(idempotency::key_reused()),
                // Deleted since the insert found it: this key's document is gone for good.
                Ok(None) => Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "idempotency_key_conflict",
                    format!(
                        "the {} created with this Idempotency-Key was deleted meanwhile; \
                         use a new key for a new one",
                        D::NOUN
                    ),
                )),
                Err(error) => Err(store_error(error, store.retry_after_secs)),
            }
        }
        Err(error) => Err(store_error(error, store.retry_after_secs)),
    }
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
