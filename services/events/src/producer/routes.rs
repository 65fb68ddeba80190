//! event-producer's HTTP surface (contract §4.2), one port:
//!
//! | request | response |
//! |---|---|
//! | `POST /event` `{"description": "<string>"}` | 200, empty body, no `Content-Type`; one `XADD` |
//! | `POST /event` with an `Idempotency-Key` seen before, same body | 200, `Idempotent-Replayed: true`; nothing appended |
//! | `POST /event` with an `Idempotency-Key` seen before, another body | 422 `idempotency_key_reused` |
//! | `POST /event` with a malformed `Idempotency-Key` | 400 `invalid_idempotency_key` |
//! | `POST /event` undecodable body | 400 `Error unmarshalling body` |
//! | `/event`, any other method | 405 (`title` = the method), `Allow: POST` |
//! | body over `limits.body_limit_bytes` | 413 |
//! | description over `max_description_bytes` (default 64 KiB) | 413 naming the limit |
//! | Redis unreachable or slow | 503 + `Retry-After` |
//! | Redis refused the write | 500 `Redis Client error` |
//! | `GET /metrics`, `/livez`, `/readyz` | Prometheus text, liveness, readiness |
//! | `GET /openapi.json` | the OpenAPI document ([`super::openapi`]) |
//! | anything else | 404 `Endpoint Not Found` |
//!
//! Error bodies carry both the platform's `{"error":{"code","message"}}` and the seed's
//! `status`, `title` and `description`.
//!
//! Decoding is as lenient as the seed's Go `json.Decoder`: the first JSON value counts (trailing
//! data is ignored), unknown keys are ignored, keys match case-insensitively, `{}`, `null` and
//! `{"description":null}` mean an empty description; an empty body, malformed JSON, a
//! non-string description or a non-object value is a 400 whose description is the decoder's
//! error, in Go's words where the seed documents them. The body is decoded straight into the
//! description (other members skipped unread, no JSON tree), so a request costs about its
//! body's size whatever its shape.

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use platform::{
    health::Readiness,
    http::{go_key_matches, ApiError},
    idempotency::{self, Fingerprint, Key as IdempotencyKey},
    openapi::{Routes, DOCUMENT_PATH},
};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{
    metrics,
    writer::{Appended, StreamWriter, WriteError},
};
use crate::notification::NotificationMessage;

/// The seed's title for undecodable bodies.
pub const TITLE_UNMARSHAL: &str = "Error unmarshalling body";
/// The title of a 413 (a body over the body limit, or a description over its cap).
pub const TITLE_TOO_LARGE: &str = "Payload Too Large";
/// The seed's title and description for unknown paths.
pub const NOT_FOUND: &str = "Endpoint Not Found";
/// The seed's description for other methods on `/event`.
pub const METHOD_NOT_ALLOWED: &str = "Method Not Allowed";
/// The seed's title and description when Redis fails.
pub const REDIS_CLIENT_ERROR: &str = "Redis Client error";

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The stream writer.
    pub writer: StreamWriter,
    /// `Retry-After` for 503 answers.
    pub retry_after_secs: u64,
}

/// The paths [`platform::health::routes`] serves (`GET` each). That is a plain [`Router`], not
/// a [`Routes`], so its paths are listed here, next to the one place it is merged, for
/// [`platform::openapi::check_routes`].
pub const HEALTH_PATHS: [&str; 2] = ["/livez", "/readyz"];

/// The router without middleware: `/event`, `/metrics`, `/livez`, `/readyz`, `/openapi.json`
/// (serving `doc`), 404 elsewhere; and every path it routes.
pub fn router(
    state: AppState,
    readiness: Readiness,
    doc: &utoipa::openapi::OpenApi,
) -> (Router, Vec<&'static str>) {
    let (router, mut paths) = Routes::new()
        .route("/event", post(post_event).fallback(other_method))
        .route("/metrics", get(platform::metrics::handler))
        .route(DOCUMENT_PATH, platform::openapi::route(doc))
        .with_state(state)
        .map(|router| {
            router
                .merge(platform::health::routes(readiness))
                .fallback(not_found)
        })
        .into_parts();
    paths.extend(HEALTH_PATHS);
    (router, paths)
}

/// An [`ApiError`] with the seed's `status`, `title` and `description` members.
pub fn seed_error(error: ApiError, title: &str, description: &str) -> ApiError {
    let status = error.status().as_u16();
    error
        .with_member("status", status)
        .with_member("title", title.to_owned())
        .with_member("description", description.to_owned())
}

/// The event id an `Idempotency-Key` gives: a non-negative 63-bit integer, like a random one.
pub fn event_id(key: &IdempotencyKey) -> u64 {
    let digest = key.digest("event-producer/event");
    let mut high = [0_u8; 8];
    high.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(high) >> 1
}

/// 400 for an undecodable body; `detail` is the decoder's text.
pub fn unmarshal_error(detail: &str) -> ApiError {
    seed_error(
        ApiError::bad_request(detail.to_owned()),
        TITLE_UNMARSHAL,
        detail,
    )
}

async fn post_event(State(state): State<AppState>, request: Request) -> Response {
    let key = match request
        .headers()
        .get(idempotency::HEADER)
        .map(IdempotencyKey::parse)
    {
        None => None,
        Some(Ok(key)) => Some(key),
        Some(Err(error)) => {
            metrics::rejected(metrics::REASON_BAD_REQUEST);
            return error.into_response();
        }
    };
    let fingerprint_of =
        |body: &[u8]| Fingerprint::of(&Method::POST, &Uri::from_static("/event"), body);
    let body = match platform::http::read_body(request, &()).await {
        Ok(body) => body,
        Err(error) => {
            let message = error.message().to_owned();
            let title = if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
                TITLE_TOO_LARGE
            } else {
                TITLE_UNMARSHAL
            };
            return seed_error(error, title, &message).into_response();
        }
    };
    let description = match decode_description(&body) {
        Ok(description) => description,
        Err(detail) => {
            metrics::rejected(metrics::REASON_BAD_REQUEST);
            tracing::debug!(%detail, "undecodable event body");
            return unmarshal_error(&detail).into_response();
        }
    };
    let limit = state.writer.max_description_bytes();
    if description.len() > limit {
        metrics::rejected(metrics::REASON_BAD_REQUEST);
        return description_too_large(description.len(), limit).into_response();
    }
    let mut nm = NotificationMessage::new(description);
    let written = match &key {
        None => state.writer.append(&nm).await.map(Appended::New),
        Some(key) => {
            // The event id follows from the key: should a retry ever be appended again, the
            // consumers' de-duplication by id still applies it once.
            nm.id = event_id(key);
            let fingerprint = fingerprint_of(&body).to_hex();
            state
                .writer
                .append_once(&nm, key.as_str(), &fingerprint)
                .await
        }
    };
    match written {
        Ok(Appended::New(entry_id)) => {
            metrics::produced();
            tracing::debug!(%entry_id, id = nm.id, "event accepted");
            StatusCode::OK.into_response()
        }
        Ok(Appended::Replayed) => {
            tracing::debug!(
                id = nm.id,
                "event accepted before (Idempotency-Key replayed)"
            );
            let mut response = StatusCode::OK.into_response();
            idempotency::mark_replayed(&mut response);
            response
        }
        Ok(Appended::KeyReused) => {
            metrics::rejected(metrics::REASON_BAD_REQUEST);
            idempotency::key_reused().into_response()
        }
        Err(WriteError::Unavailable(reason)) => {
            metrics::rejected(metrics::REASON_UNAVAILABLE);
            tracing::debug!(%reason, "event refused: Redis unavailable");
            seed_error(
                ApiError::service_unavailable(
                    format!("{REDIS_CLIENT_ERROR}: Redis is unavailable; retry after the Retry-After delay"),
                    state.retry_after_secs,
                ),
                REDIS_CLIENT_ERROR,
                REDIS_CLIENT_ERROR,
            )
            .into_response()
        }
        Err(WriteError::Refused(error)) => {
            metrics::rejected(metrics::REASON_REDIS_ERROR);
            tracing::error!(%error, "event refused: Redis rejected the XADD");
            seed_error(
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    REDIS_CLIENT_ERROR,
                ),
                REDIS_CLIENT_ERROR,
                REDIS_CLIENT_ERROR,
            )
            .into_response()
        }
    }
}

async fn other_method(method: Method) -> Response {
    seed_error(
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{METHOD_NOT_ALLOWED}; allowed methods: POST"),
        )
        .with_header(header::ALLOW, HeaderValue::from_static("POST")),
        method.as_str(),
        METHOD_NOT_ALLOWED,
    )
    .into_response()
}

async fn not_found() -> Response {
    seed_error(ApiError::not_found(NOT_FOUND), NOT_FOUND, NOT_FOUND).into_response()
}

/// Decodes an Event Message body like the seed's `json.NewDecoder(body).Decode(&em)`; the
/// error is the decoder's text.
///
/// The first JSON value is read straight into the description: other members are skipped
/// unread ([`IgnoredAny`]) and no JSON tree is built, so a body costs about its own size.
pub fn decode_description(body: &[u8]) -> Result<String, String> {
    let mut values = serde_json::Deserializer::from_slice(body).into_iter::<EventMessage>();
    match values.next() {
        None => Err("EOF".to_owned()),
        Some(Err(error)) if error.is_eof() => Err("unexpected EOF".to_owned()),
        Some(Err(error)) => Err(error.to_string()),
        Some(Ok(EventMessage::Description(description))) => Ok(description),
        Some(Ok(EventMessage::NotAnObject(kind))) => Err(format!(
            "json: cannot unmarshal {kind} into Go value of type schema.EventMessage"
        )),
        Some(Ok(EventMessage::DescriptionNotAString(kind))) => Err(format!(
            "json: cannot unmarshal {kind} into Go struct field EventMessage.description of type string"
        )),
    }
}

/// The 413 for a description longer than `limit` bytes, naming the limit.
pub fn description_too_large(length: usize, limit: usize) -> ApiError {
    let message = format!("the description is {length} bytes long; the limit is {limit} bytes");
    seed_error(
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "description_too_large",
            message.clone(),
        ),
        TITLE_TOO_LARGE,
        &message,
    )
}

/// What the first JSON value of an Event Message body came to. Go's decoder reads the whole
/// value before it reports a type mismatch, so a mismatched value is still read to its end
/// (a syntax error inside it wins), though never kept.
enum EventMessage {
    /// An object (its `description`, `""` when absent or `null`) or `null`.
    Description(String),
    /// Another kind of value, in Go's words (`array`, `string`, …).
    NotAnObject(&'static str),
    /// An object whose `description` is not a string (the kind, in Go's words).
    DescriptionNotAString(&'static str),
}

impl<'de> Deserialize<'de> for EventMessage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EventMessageVisitor)
    }
}

/// The value of a `description` member.
enum Description {
    Text(String),
    Null,
    /// Not a string: the kind, in Go's words.
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Description {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DescriptionVisitor)
    }
}

struct EventMessageVisitor;

impl<'de> Visitor<'de> for EventMessageVisitor {
    type Value = EventMessage;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an Event Message (a JSON object)")
    }

    fn visit_unit<E: de::Error>(self) -> Result<EventMessage, E> {
        Ok(EventMessage::Description(String::new()))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<EventMessage, E> {
        Ok(EventMessage::NotAnObject("bool"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<EventMessage, E> {
        Ok(EventMessage::NotAnObject("number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<EventMessage, E> {
        Ok(EventMessage::NotAnObject("number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<EventMessage, E> {
        Ok(EventMessage::NotAnObject("number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<EventMessage, E> {
        Ok(EventMessage::NotAnObject("string"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EventMessage, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(EventMessage::NotAnObject("array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventMessage, A::Error> {
        // The exact key wins, else the last case-insensitive match; a member of the wrong type
        // under any matching key refuses the message (as Go's decoder reports it, even when a
        // later member overwrites the field).
        let mut exact = None;
        let mut folded = None;
        let mut mistyped = None;
        while let Some(key) = map.next_key::<Key>()? {
            let slot = match key {
                Key::Exact => &mut exact,
                Key::Folded => &mut folded,
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            let value = map.next_value::<Description>()?;
            if let Description::Other(kind) = value {
                mistyped.get_or_insert(kind);
            }
            *slot = Some(value);
        }
        if let Some(kind) = mistyped {
            return Ok(EventMessage::DescriptionNotAString(kind));
        }
        Ok(match exact.or(folded) {
            None | Some(Description::Null) => EventMessage::Description(String::new()),
            Some(Description::Text(text)) => EventMessage::Description(text),
            Some(Description::Other(kind)) => EventMessage::DescriptionNotAString(kind),
        })
    }
}

struct DescriptionVisitor;

impl<'de> Visitor<'de> for DescriptionVisitor {
    type Value = Description;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Description, E> {
        Ok(Description::Text(text.to_owned()))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Description, E> {
        Ok(Description::Text(text))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Description, E> {
        Ok(Description::Null)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Description, E> {
        Ok(Description::Other("bool"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Description, E> {
        Ok(Description::Other("number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Description, E> {
        Ok(Description::Other("number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Description, E> {
        Ok(Description::Other("number"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Description, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Description::Other("array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Description, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Description::Other("object"))
    }
}

/// How a member's key relates to `description`.
enum Key {
    Exact,
    Folded,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(if key == "description" {
                    Key::Exact
                } else if go_key_matches(key, "description") {
                    Key::Folded
                } else {
                    Key::Other
                })
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::body::Body;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    /// `POST /event` with `body` to a producer whose descriptions may hold `limit` bytes (Redis
    /// never connected, so an accepted event is a 503).
    async fn post_with_limit(limit: usize, body: String) -> (StatusCode, serde_json::Value) {
        let settings = super::super::Settings {
            max_description_bytes: limit,
            ..Default::default()
        };
        let state = AppState {
            writer: StreamWriter::new(&settings).unwrap(),
            retry_after_secs: 1,
        };
        let response = router(
            state,
            Readiness::new(),
            &super::super::openapi::document(limit),
        )
        .0
        .oneshot(
            axum::http::Request::post("/event")
                .body(Body::from(body))
                .unwrap(),
        )
        .await
        .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn descriptions_over_the_cap_are_413_naming_the_limit() {
        let (status, body) = post_with_limit(8, r#"{"description":"123456789"}"#.to_owned()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["error"]["code"], "description_too_large");
        assert_eq!(body["status"], 413);
        assert_eq!(body["title"], TITLE_TOO_LARGE);
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("limit is 8 bytes"), "{message}");
        assert_eq!(body["description"], message);
        // At the cap the event is accepted (and meets the absent Redis).
        let (status, _) = post_with_limit(8, r#"{"description":"12345678"}"#.to_owned()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[test]
    fn a_big_array_is_refused_without_keeping_it() {
        let body = format!("[{}0]", "0,".repeat(500_000));
        assert_eq!(
            decode_description(body.as_bytes()).unwrap_err(),
            "json: cannot unmarshal array into Go value of type schema.EventMessage"
        );
    }

    #[test]
    fn lenient_decoding_like_go() {
        let ok = |body: &str| decode_description(body.as_bytes()).unwrap();
        assert_eq!(ok(r#"{"description":"hello world"}"#), "hello world");
        assert_eq!(ok(r#"{"description":"x","other":[1,2]}"#), "x");
        assert_eq!(ok("{}"), "");
        assert_eq!(ok("null"), "");
        assert_eq!(ok(r#"{"description":null}"#), "");
        assert_eq!(ok(r#" {"description":"a"} trailing garbage {"#), "a");
        assert_eq!(ok(r#"{"Description":"case"}"#), "case");
        assert_eq!(ok(r#"{"DESCRIPTION":"b","description":"exact"}"#), "exact");
        assert_eq!(ok(r#"{"description":"exact","DESCRIPTION":"b"}"#), "exact");
        assert_eq!(ok(r#"{"DESCRIPTION":"b","Description":"c"}"#), "c");
        assert_eq!(ok(r#"{"description":"a","description":"b"}"#), "b");
        assert_eq!(ok(r#"{"description":"a\u00e9\n"}"#), "a\u{e9}\n");
        assert_eq!(
            ok(r#"{"other":{"a":[1,{"b":null}]},"description":"x"}"#),
            "x"
        );
    }

    #[test]
    fn decoding_errors_use_go_words() {
        let err = |body: &str| decode_description(body.as_bytes()).unwrap_err();
        assert_eq!(err(""), "EOF");
        assert_eq!(err("  \n"), "EOF");
        assert_eq!(
            err(r#"{"description":123}"#),
            "json: cannot unmarshal number into Go struct field EventMessage.description of type string"
        );
        // Go reports the earliest mistyped member even when a later one sets the field.
        assert_eq!(
            err(r#"{"Description":5,"description":"x"}"#),
            "json: cannot unmarshal number into Go struct field EventMessage.description of type string"
        );
        assert_eq!(
            err(r#"{"description":"x","DESCRIPTION":{}}"#),
            "json: cannot unmarshal object into Go struct field EventMessage.description of type string"
        );
        assert_eq!(
            err(r#"{"description":true}"#),
            "json: cannot unmarshal bool into Go struct field EventMessage.description of type string"
        );
        assert_eq!(
            err(r#"[{"description":"x"}]"#),
            "json: cannot unmarshal array into Go value of type schema.EventMessage"
        );
        assert_eq!(
            err(r#""text""#),
            "json: cannot unmarshal string into Go value of type schema.EventMessage"
        );
        assert_eq!(
            err(r#"{"description":{"a":1}}"#),
            "json: cannot unmarshal object into Go struct field EventMessage.description of type string"
        );
        assert_eq!(
            err("[0,0,0]"),
            "json: cannot unmarshal array into Go value of type schema.EventMessage"
        );
        assert_eq!(
            err("12"),
            "json: cannot unmarshal number into Go value of type schema.EventMessage"
        );
        assert_eq!(err("[0,0,"), "unexpected EOF");
        assert!(
            err("[0,0,}").contains("expected value"),
            "{}",
            err("[0,0,}")
        );
        assert_eq!(err(r#"{"description":"x""#), "unexpected EOF");
        assert!(!err("{nope}").is_empty());
    }
}
