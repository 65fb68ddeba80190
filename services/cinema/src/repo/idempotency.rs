//! [`MongoIdempotencyStore`]: the writes' `Idempotency-Key`s (see [`platform::idempotency`]) in
//! the service's own MongoDB database, collection `idempotency_keys`, with the semantics of the
//! platform's MySQL store.
//!
//! One document per key and service: `_id` is `<service>/<key>` (the four services share one
//! database, and a key is one client's name for one request to one service), then `service`,
//! `key`, `fingerprint` (32 bytes), `token` (the holder's), `lease_until`, `expires_at`, and once
//! answered `status`, `headers` (JSON text) and `body`.
//!
//! A key is claimed by inserting its document (the unique `_id` makes that insert-if-absent).
//! A key that exists is read, and taken over (expired, or its holder's lease ran out) with an
//! update conditional on the token read, and on the key still being unanswered when it was read
//! unanswered: two requests with one key never both run, and a holder that finishes while its
//! abandoned key is being taken over keeps its answer. [`Store::finish`] and
//! [`Store::release`] only touch a document that still carries their lease's token.
//!
//! Expired keys: a TTL index on `expires_at` deletes them (the server sweeps about once a
//! minute; until then a claim treats them as expired). Where the server refuses the TTL index,
//! the store deletes expired keys itself, a hundred at a time, on one claim in 64 (as the MySQL
//! store does). Times are the service's clock (an insert cannot take the server's): replicas
//! whose clocks disagree by `d` see a lease `d` longer or shorter.
//!
//! Every write uses the database's write concern ([`super::write_concern`]).

use std::{
    future::Future,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::Duration,
};

use futures::{future::BoxFuture, TryStreamExt as _};
use mongodb::{
    bson::{doc, spec::BinarySubtype, Binary, Bson, DateTime, Document},
    options::IndexOptions,
    Collection, Database, IndexModel,
};
use platform::idempotency::{Answer, Begun, Fingerprint, Key, Lease, Policy, Store, StoreError};

use super::mongo::{is_duplicate, MongoError};

/// The collection.
pub const COLLECTION: &str = "idempotency_keys";

/// The TTL index's name.
pub const TTL_INDEX: &str = "expires_at_ttl";

/// Claims between two purges of expired keys (without a TTL index).
const PURGE_EVERY: u64 = 64;

/// Expired keys deleted by one purge, at most.
const PURGE_BATCH: i64 = 100;

/// Rounds of insert, read, take over before a claim gives up (each round lost a race to
/// another request with the same key, which changed the document in between).
const CLAIM_ROUNDS: usize = 8;

/// Keys in MongoDB.
#[derive(Debug)]
pub struct MongoIdempotencyStore {
    collection: Collection<Document>,
    service: &'static str,
    timeout: Duration,
    claims: AtomicU64,
    ttl_index: AtomicBool,
}

impl MongoIdempotencyStore {
    /// The keys of `service` in `database` (whose write concern every write uses); each call
    /// may take `timeout`. Until [`MongoIdempotencyStore::create_ttl_index`] succeeds, expired
    /// keys are purged by the claims.
    pub fn new(database: &Database, service: &'static str, timeout: Duration) -> Self {
        Self {
            collection: database.collection(COLLECTION),
            service,
            timeout,
            claims: AtomicU64::new(0),
            ttl_index: AtomicBool::new(false),
        }
    }

    /// Creates the TTL index on `expires_at`. `Ok(true)`: it is in place and the server
    /// deletes expired keys; `Ok(false)`: the server refused it (logged), the claims purge
    /// them; `Err`: the server could not be asked (retry).
    pub async fn create_ttl_index(&self) -> Result<bool, MongoError> {
        let model = IndexModel::builder()
            .keys(doc! { "expires_at": 1 })
            .options(
                IndexOptions::builder()
                    .name(TTL_INDEX.to_owned())
                    .expire_after(Duration::ZERO)
                    .build(),
            )
            .build();
        match self.collection.create_index(model).await {
            Ok(_) => {
                self.ttl_index.store(true, Ordering::SeqCst);
                Ok(true)
            }
            Err(error) if matches!(*error.kind, mongodb::error::ErrorKind::Command(_)) => {
                tracing::warn!(
                    %error,
                    "the server refused a TTL index on {COLLECTION}; expired keys are purged by the service"
                );
                Ok(false)
            }
            Err(error) => Err(error),
        }
    }

    /// Whether the TTL index is in place (else the claims purge expired keys).
    pub fn has_ttl_index(&self) -> bool {
        self.ttl_index.load(Ordering::SeqCst)
    }

    /// The document id of `key`: `<service>/<key>`.
    pub fn id_of(&self, key: &Key) -> String {
        format!("{}/{}", self.service, key.as_str())
    }

    /// Runs one store call within the timeout.
    async fn call<T>(
        &self,
        future: impl Future<Output = Result<T, MongoError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, future).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(StoreError(error.to_string())),
            Err(_) => Err(StoreError(format!("no answer within {:?}", self.timeout))),
        }
    }

    /// Deletes at most [`PURGE_BATCH`] expired keys.
    async fn purge(&self) -> Result<(), MongoError> {
        let now = DateTime::now();
        let expired: Vec<Document> = self
            .collection
            .find(doc! { "expires_at": { "$lt": now } })
            .projection(doc! { "_id": 1 })
            .limit(PURGE_BATCH)
            .await?
            .try_collect()
            .await?;
        let ids: Vec<Bson> = expired
            .into_iter()
            .filter_map(|mut document| document.remove("_id"))
            .collect();
        if !ids.is_empty() {
            self.collection
                .delete_many(doc! { "_id": { "$in": ids }, "expires_at": { "$lt": now } })
                .await?;
        }
        Ok(())
    }

    async fn claim(
        &self,
        key: &Key,
        fingerprint: Fingerprint,
        policy: &Policy,
    ) -> Result<Begun, MongoError> {
        if !self.has_ttl_index()
            && self
                .claims
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(PURGE_EVERY)
        {
            self.purge().await?;
        }
        let id = self.id_of(key);
        let lease = Lease::new(key.clone());
        let token = stored_token(&lease);
        for _ in 0..CLAIM_ROUNDS {
            let now = DateTime::now();
            let (lease_until, expires_at) = (later(now, policy.lease), later(now, policy.ttl));
            let inserted = self
                .collection
                .insert_one(doc! {
                    "_id": &id,
                    "service": self.service,
                    "key": key.as_str(),
                    "fingerprint": binary(&fingerprint.0),
                    "token": token,
                    "lease_until": lease_until,
                    "expires_at": expires_at,
                })
                .await;
            match inserted {
                Ok(_) => return Ok(Begun::Fresh(lease)),
                Err(error) if is_duplicate(&error) => {}
                Err(error) => return Err(error),
            }
            let Some(stored) = self.collection.find_one(doc! { "_id": &id }).await? else {
                // Released or purged since the insert: claim it again.
                continue;
            };
            if stored.get_i64("token") == Ok(token) {
                // Our own insert, whose answer was lost and which the driver's retry then found.
                return Ok(Begun::Fresh(lease));
            }
            let now = DateTime::now();
            let expired = stored
                .get_datetime("expires_at")
                .map_or(true, |at| *at < now);
            let abandoned = stored
                .get_datetime("lease_until")
                .map_or(true, |at| *at < now);
            let same = stored
                .get_binary_generic("fingerprint")
                .is_ok_and(|stored| stored[..] == fingerprint.0[..]);
            let status = stored
                .get_i32("status")
                .ok()
                .and_then(|status| u16::try_from(status).ok());
            if !expired && !same {
                return Ok(Begun::Mismatch);
            }
            if let (false, Some(status)) = (expired, status) {
                return Ok(Begun::Replay(Answer {
                    status,
                    headers: Answer::headers_from_json(stored.get_str("headers").unwrap_or("[]")),
                    body: stored
                        .get_binary_generic("body")
                        .cloned()
                        .unwrap_or_default(),
                }));
            }
            if !expired && !abandoned {
                return Ok(Begun::InFlight);
            }
            // Expired, or its holder died: this request takes the key over, unless another
            // changed it since it was read (then look again).
            let mut unchanged = doc! { "_id": &id };
            match stored.get("token") {
                Some(held) => unchanged.insert("token", held.clone()),
                None => unchanged.insert("token", doc! { "$exists": false }),
            };
            if status.is_none() {
                unchanged.insert("status", doc! { "$exists": false });
            }
            let taken = self
                .collection
                .update_one(
                    unchanged,
                    doc! {
                        "$set": {
                            "fingerprint": binary(&fingerprint.0),
                            "token": token,
                            "lease_until": lease_until,
                            "expires_at": expires_at,
                        },
                        "$unset": { "status": "", "headers": "", "body": "" },
                    },
                )
                .await?;
            if taken.matched_count == 1 {
                return Ok(Begun::Fresh(lease));
            }
        }
        Err(MongoError::custom(format!(
            "the key {id} changed under {CLAIM_ROUNDS} claims in a row"
        )))
    }
}

/// The token as stored (BSON has no unsigned 64-bit integer: the same bits as an `i64`).
fn stored_token(lease: &Lease) -> i64 {
    i64::from_be_bytes(lease.token.to_be_bytes())
}

/// `now` plus `duration`, saturating.
fn later(now: DateTime, duration: Duration) -> DateTime {
    let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
    DateTime::from_millis(now.timestamp_millis().saturating_add(millis))
}

fn binary(bytes: &[u8]) -> Binary {
    Binary {
        subtype: BinarySubtype::Generic,
        bytes: bytes.to_vec(),
    }
}

impl Store for MongoIdempotencyStore {
    fn begin<'a>(
        &'a self,
        key: &'a Key,
        fingerprint: Fingerprint,
        policy: &'a Policy,
    ) -> BoxFuture<'a, Result<Begun, StoreError>> {
        Box::pin(self.call(self.claim(key, fingerprint, policy)))
    }

    fn finish<'a>(
        &'a self,
        lease: &'a Lease,
        answer: &'a Answer,
        _policy: &'a Policy,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.call(async move {
            self.collection
                .update_one(
                    doc! { "_id": self.id_of(&lease.key), "token": stored_token(lease) },
                    doc! { "$set": {
                        "status": i32::from(answer.status),
                        "headers": answer.headers_json(),
                        "body": binary(&answer.body),
                    } },
                )
                .await
                .map(|_| ())
        }))
    }

    fn release<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.call(async move {
            self.collection
                .delete_one(doc! {
                    "_id": self.id_of(&lease.key),
                    "token": stored_token(lease),
                    "status": { "$exists": false },
                })
                .await
                .map(|_| ())
        }))
    }
}
