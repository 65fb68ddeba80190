//! Idempotent writes: the `Idempotency-Key` request header of the IETF httpapi draft
//! (`draft-ietf-httpapi-idempotency-key-header`), for every HTTP write of every service.
//!
//! A write (POST, PUT, PATCH, DELETE) that carries the header is executed once per key:
//!
//! | the key is | the request is | answer |
//! |---|---|---|
//! | new (or expired) | any | executed; its answer (status, headers, body) kept with the key and a fingerprint of the request |
//! | done | the same (method, path, body) | the kept answer, not executed again, with `Idempotent-Replayed: true` |
//! | done or running | a different one | 422 `idempotency_key_reused` |
//! | running (another request holds it) | the same | 409 `idempotency_key_in_use` with `Retry-After` |
//!
//! An answer that refuses the write (5xx, 429) is not kept: the key is released, so the retry
//! executes afresh, and the service guarantees a refused write stored nothing. A keyed write runs
//! to its end in a task of its own, even when its client goes away or the request timeout
//! answers 503 first: its answer is kept, and the retry gets it rather than a second execution. A holder that
//! dies mid-request leaves a lease ([`Policy::lease`]) that expires, after which a retry takes
//! the key over. Keys expire after [`Policy::ttl`] (24 h by default). Writes without the header
//! behave as before.
//!
//! The pieces: [`Key`] (the header's value), [`Fingerprint`] (the request), [`Answer`] (what is
//! replayed), the [`Store`] trait with one implementation per service's database ([`MySqlStore`]
//! here, the events and cinema crates theirs for Redis and MongoDB, [`MemoryStore`] for router
//! tests), and the middleware [`layer::idempotent`] that ties them together.

pub mod layer;
mod memory;
mod mysql;

use std::time::Duration;

use axum::{
    body::Body,
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use futures::future::BoxFuture;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::http::ApiError;

pub use layer::{idempotent, Idempotency};
pub use memory::MemoryStore;
pub use mysql::MySqlStore;

/// The request header.
pub const HEADER: HeaderName = HeaderName::from_static("idempotency-key");
/// The header a replayed answer carries.
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// The longest key accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 255;

/// The response headers kept with an answer (the others are the transport's or the
/// middleware's, and are set again on replay).
const KEPT_HEADERS: [HeaderName; 3] = [
    axum::http::header::CONTENT_TYPE,
    axum::http::header::LOCATION,
    HeaderName::from_static("bulk-request"),
];

/// How keys are kept (`idempotency.*` in a service's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// How long a key and its answer are kept (`24h`).
    #[serde(deserialize_with = "crate::http::deserialize_duration")]
    pub ttl: Duration,
    /// How long a running request holds its key before a retry may take it over: longer than
    /// the request timeout (`30s`).
    #[serde(deserialize_with = "crate::http::deserialize_duration")]
    pub lease: Duration,
    /// The largest request body fingerprinted (larger ones are refused with 413).
    pub max_body_bytes: usize,
    /// The largest answer kept; a larger one is still answered, but its key is released.
    pub max_answer_bytes: usize,
}

impl Policy {
    /// Checks the policy against the service's request timeout: a lease shorter than a request
    /// may last would let a retry run beside the request it retries.
    pub fn validate(&self, request_timeout: Duration) -> Result<(), crate::config::ConfigError> {
        let reason = if self.ttl.is_zero() {
            "idempotency.ttl must be greater than zero".to_owned()
        } else if self.lease <= request_timeout {
            format!(
                "idempotency.lease ({:?}) must be longer than limits.request_timeout ({request_timeout:?})",
                self.lease
            )
        } else if self.max_body_bytes == 0 || self.max_answer_bytes == 0 {
            "idempotency.max_body_bytes and max_answer_bytes must be greater than zero".to_owned()
        } else {
            return Ok(());
        };
        Err(crate::config::ConfigError::invalid("idempotency", reason))
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(24 * 3600),
            lease: Duration::from_secs(30),
            max_body_bytes: 1024 * 1024,
            max_answer_bytes: 1024 * 1024,
        }
    }
}

/// An `Idempotency-Key` value: 1 to 255 visible ASCII characters, as an sf-string (`"…"`) or bare.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(String);

impl Key {
    /// Parses the header's value; a 400 `invalid_idempotency_key` naming the rule otherwise.
    pub fn parse(value: &HeaderValue) -> Result<Key, ApiError> {
        let invalid = |why: &str| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                format!("the Idempotency-Key header {why}"),
            )
        };
        let text = value
            .to_str()
            .map_err(|_| invalid("must be visible ASCII"))?
            .trim();
        let text = text
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
            .unwrap_or(text);
        if text.is_empty() {
            return Err(invalid("is empty"));
        }
        if text.len() > MAX_KEY_BYTES {
            return Err(invalid(&format!("is longer than {MAX_KEY_BYTES} bytes")));
        }
        if !text.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(invalid(
                "must be visible ASCII without spaces or inner quotes",
            ));
        }
        if text.contains('"') {
            return Err(invalid("must not contain a quote inside"));
        }
        Ok(Key(text.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A 128-bit digest of the key, for stores that derive an identifier from it (an event id,
    /// a document id): the same key always gives the same value.
    pub fn digest(&self, scope: &str) -> [u8; 16] {
        let mut hasher = Sha256::new();
        hasher.update(scope.as_bytes());
        hasher.update([0]);
        hasher.update(self.0.as_bytes());
        let full = hasher.finalize();
        let mut out = [0_u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }
}

/// What makes two requests with one key the same request: method, path and query, body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The SHA-256 of the method, the path and query and the body, each length-prefixed.
    pub fn of(method: &Method, uri: &Uri, body: &[u8]) -> Fingerprint {
        let mut hasher = Sha256::new();
        let path = uri.path_and_query().map_or("/", |pq| pq.as_str());
        for part in [method.as_str().as_bytes(), path.as_bytes(), body] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part);
        }
        Fingerprint(hasher.finalize().into())
    }
}

impl Fingerprint {
    /// The fingerprint as 64 lowercase hex digits (for stores that keep text).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

/// 422 `idempotency_key_reused`: the key was first used for a different request.
pub fn key_reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        "this Idempotency-Key was used for a different request (method, path or body); \
         use a new key for a new request",
    )
}

/// 409 `idempotency_key_in_use` with `Retry-After: 1`: the first request with the key runs.
pub fn key_in_use() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "idempotency_key_in_use",
        "a request with this Idempotency-Key is still running; retry once it is answered",
    )
    .with_retry_after(1)
}

/// Marks `response` as a replay of a kept answer (`Idempotent-Replayed: true`).
pub fn mark_replayed(response: &mut Response) {
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
}

/// A kept answer: what a replay sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The kept headers (content type, location, …), in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The kept parts of a response (see `KEPT_HEADERS`).
    pub fn of(status: StatusCode, headers: &HeaderMap, body: Vec<u8>) -> Answer {
        let headers = KEPT_HEADERS
            .iter()
            .flat_map(|name| {
                headers.get_all(name).iter().filter_map(move |value| {
                    value
                        .to_str()
                        .ok()
                        .map(|value| (name.as_str().to_owned(), value.to_owned()))
                })
            })
            .collect();
        Answer {
            status: status.as_u16(),
            headers,
            body,
        }
    }

    /// The headers as one JSON text (how the stores keep them).
    pub fn headers_json(&self) -> String {
        serde_json::to_string(&self.headers).unwrap_or_else(|_| "[]".to_owned())
    }

    /// Headers kept as [`Answer::headers_json`] made them; an unreadable text gives none.
    pub fn headers_from_json(text: &str) -> Vec<(String, String)> {
        serde_json::from_str(text).unwrap_or_default()
    }

    /// As a response, marked as replayed when `replayed`.
    pub fn into_response(self, replayed: bool) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let mut response = (status, Body::from(self.body)).into_response();
        let headers = response.headers_mut();
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.append(name, value);
            }
        }
        if replayed {
            mark_replayed(&mut response);
        }
        response
    }
}

/// Who holds a running key: its key and a token no other holder has, so that a holder whose
/// lease was taken over cannot overwrite or release the new holder's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The key held.
    pub key: Key,
    /// The holder's token.
    pub token: u64,
}

impl Lease {
    /// A lease on `key` with a fresh random token.
    pub fn new(key: Key) -> Lease {
        Lease {
            key,
            token: uuid::Uuid::new_v4().as_u64_pair().0,
        }
    }
}

/// What [`Store::begin`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    /// The key is this request's now: execute it, then [`Store::finish`] or [`Store::release`].
    Fresh(Lease),
    /// The same request was answered before: send this again.
    Replay(Answer),
    /// The key belongs to a different request.
    Mismatch,
    /// The same request is running and holds the key.
    InFlight,
}

/// A store could not be asked: the write is refused (503), nothing executed.
#[derive(Debug, thiserror::Error)]
#[error("the idempotency store failed: {0}")]
pub struct StoreError(pub String);

/// Where keys and answers are kept. Object-safe (boxed futures).
pub trait Store: Send + Sync + 'static {
    /// Claims `key` for a request with `fingerprint`, or says why not (see [`Begun`]).
    fn begin<'a>(
        &'a self,
        key: &'a Key,
        fingerprint: Fingerprint,
        policy: &'a Policy,
    ) -> BoxFuture<'a, Result<Begun, StoreError>>;

    /// Keeps `answer` for the key `lease` holds (a no-op if the lease was taken over).
    fn finish<'a>(
        &'a self,
        lease: &'a Lease,
        answer: &'a Answer,
        policy: &'a Policy,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Gives the key of `lease` up (the write was refused): a retry executes afresh.
    fn release<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<(), StoreError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_quoted_or_bare() {
        let parse = |text: &str| Key::parse(&HeaderValue::from_str(text).unwrap());
        assert_eq!(parse("abc-123").unwrap().as_str(), "abc-123");
        assert_eq!(
            parse("\"8e03978e-40d5\"").unwrap().as_str(),
            "8e03978e-40d5"
        );
        for bad in ["", "\"\"", "a b", "a\"b"] {
            let error = parse(bad).unwrap_err();
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{bad:?}");
            assert_eq!(error.code(), "invalid_idempotency_key");
        }
        assert!(parse(&"k".repeat(256)).is_err());
        assert!(parse(&"k".repeat(255)).is_ok());
    }

    #[test]
    fn fingerprints_tell_method_path_and_body_apart() {
        let uri: Uri = "/users".parse().unwrap();
        let one = Fingerprint::of(&Method::POST, &uri, b"{}");
        assert_eq!(one, Fingerprint::of(&Method::POST, &uri, b"{}"));
        assert_ne!(one, Fingerprint::of(&Method::PUT, &uri, b"{}"));
        assert_ne!(
            one,
            Fingerprint::of(&Method::POST, &"/users/1".parse().unwrap(), b"{}")
        );
        assert_ne!(one, Fingerprint::of(&Method::POST, &uri, b"{ }"));
    }

    #[test]
    fn answers_keep_only_their_own_headers_and_replay_marked() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("location", HeaderValue::from_static("/users/7"));
        headers.insert("x-request-id", HeaderValue::from_static("r1"));
        let answer = Answer::of(StatusCode::CREATED, &headers, b"{}".to_vec());
        assert_eq!(
            answer.headers,
            [
                ("content-type".to_owned(), "application/json".to_owned()),
                ("location".to_owned(), "/users/7".to_owned())
            ]
        );
        assert_eq!(
            Answer::headers_from_json(&answer.headers_json()),
            answer.headers
        );
        let response = answer.into_response(true);
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()[REPLAYED], "true");
        assert_eq!(response.headers()["location"], "/users/7");
    }

    #[test]
    fn a_lease_must_outlast_a_request() {
        let policy = Policy::default();
        assert!(policy.validate(Duration::from_secs(10)).is_ok());
        let error = policy.validate(Duration::from_secs(30)).unwrap_err();
        assert!(error.to_string().contains("idempotency.lease"), "{error}");
    }

    #[test]
    fn digests_are_stable_per_scope() {
        let key = Key("k1".to_owned());
        assert_eq!(key.digest("event"), key.digest("event"));
        assert_ne!(key.digest("event"), key.digest("movie"));
    }
}
