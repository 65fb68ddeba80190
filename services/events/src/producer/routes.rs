//! event-producer's HTTP surface (contract §4.2), one port:
//!
//! | request | response |
//! |---|---|
//! | `POST /event` `{"description": "<string>"}` | 200, empty body, no `Content-Type`; one `XADD` |
//! | `POST /event` undecodable body | 400 `Error unmarshalling body` |
//! | `/event`, any other method | 405 (`title` = the method), `Allow: POST` |
//! | body over `limits.body_limit_bytes` | 413 |
//! | Redis unreachable or slow | 503 + `Retry-After` |
//! | Redis refused the write | 500 `Redis Client error` |
//! | `GET /metrics`, `/livez`, `/readyz` | Prometheus text, liveness, readiness |
//! | anything else | 404 `Endpoint Not Found` |
//!
//! Error bodies carry both the platform's `{"error":{"code","message"}}` and the seed's
//! `status`, `title` and `description`.
//!
//! Decoding is as lenient as the seed's Go `json.Decoder`: the first JSON value counts (trailing
//! data is ignored), unknown keys are ignored, keys match case-insensitively, `{}`, `null` and
//! `{"description":null}` mean an empty description; an empty body, malformed JSON, a
//! non-string description or a non-object value is a 400 whose description is the decoder's
//! error, in Go's words where the seed documents them.

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use platform::{health::Readiness, http::ApiError};
use serde_json::Value;

use super::{
    metrics,
    writer::{StreamWriter, WriteError},
};
use crate::notification::NotificationMessage;

/// The seed's title for undecodable bodies.
pub const TITLE_UNMARSHAL: &str = "Error unmarshalling body";
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

/// The router without middleware: `/event`, `/metrics`, `/livez`, `/readyz`, 404 elsewhere.
pub fn router(state: AppState, readiness: Readiness) -> Router {
    Router::new()
        .route("/event", post(post_event).fallback(other_method))
        .route("/metrics", get(platform::metrics::handler))
        .with_state(state)
        .merge(platform::health::routes(readiness))
        .fallback(not_found)
}

/// An [`ApiError`] with the seed's `status`, `title` and `description` members.
pub fn seed_error(error: ApiError, title: &str, description: &str) -> ApiError {
    let status = error.status().as_u16();
    error
        .with_member("status", status)
        .with_member("title", title.to_owned())
        .with_member("description", description.to_owned())
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
    let body = match platform::http::read_body(request, &()).await {
        Ok(body) => body,
        Err(error) => {
            let message = error.message().to_owned();
            let title = if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
                "Payload Too Large"
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
    let nm = NotificationMessage::new(description);
    match state.writer.append(&nm).await {
        Ok(entry_id) => {
            metrics::produced();
            tracing::debug!(%entry_id, id = nm.id, "event accepted");
            StatusCode::OK.into_response()
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
pub fn decode_description(body: &[u8]) -> Result<String, String> {
    let mut values = serde_json::Deserializer::from_slice(body).into_iter::<Value>();
    let value = match values.next() {
        None => return Err("EOF".to_owned()),
        Some(Err(error)) if error.is_eof() => return Err("unexpected EOF".to_owned()),
        Some(Err(error)) => return Err(error.to_string()),
        Some(Ok(value)) => value,
    };
    match value {
        Value::Null => Ok(String::new()),
        Value::Object(members) => {
            // Go prefers the exact key, else any case-insensitive match.
            let field = members.get("description").or_else(|| {
                members
                    .iter()
                    .filter(|(key, _)| key.eq_ignore_ascii_case("description"))
                    .map(|(_, value)| value)
                    .next_back()
            });
            match field {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(text)) => Ok(text.clone()),
                Some(other) => Err(format!(
                    "json: cannot unmarshal {} into Go struct field EventMessage.description of type string",
                    go_kind(other)
                )),
            }
        }
        other => Err(format!(
            "json: cannot unmarshal {} into Go value of type schema.EventMessage",
            go_kind(&other)
        )),
    }
}

/// How Go's decoder names a JSON value's kind in type errors.
fn go_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(err(r#"{"description":"x""#), "unexpected EOF");
        assert!(!err("{nope}").is_empty());
    }
}
