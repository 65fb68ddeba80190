//! [`Json`]: a JSON extractor and response whose rejections are [`ApiError`] bodies.
//!
//! Like the Go originals it accepts any `Content-Type`. A body that is not valid JSON, or does
//! not fit the target type, is a 400 whose message starts with [`JSON_DECODING_ERROR`] (the
//! seed's text) followed by the decoder's detail; a body over the limit is a 413.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::{de::DeserializeOwned, Serialize};

use super::ApiError;

/// The seed's message for any request body that cannot be decoded.
pub const JSON_DECODING_ERROR: &str = "JSON Decoding Error, possibly malformed JSON object";

/// A JSON request body or response body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

/// The 400 for a body that cannot be decoded: `JSON Decoding Error, possibly malformed JSON
/// object: <detail>`, code `invalid_json`.
pub fn decoding_error(detail: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_json",
        format!("{JSON_DECODING_ERROR}: {detail}"),
    )
}

/// What kind of JSON value `value` is, as error messages say it: `null`, `a boolean`,
/// `a number`, `a string`, `an array` or `an object`.
pub fn json_kind(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;

    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Decodes `bytes` as a `T`, mapping failures to [`decoding_error`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(decoding_error)
}

/// Reads the whole request body, honouring the router's body limit (413 when over it).
pub async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::payload_too_large("request body is larger than the limit")
        } else {
            ApiError::bad_request(format!("cannot read the request body: {rejection}"))
        }
    })
}

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        decode(&bytes).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(bytes) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                bytes,
            )
                .into_response(),
            Err(error) => {
                tracing::error!(%error, "cannot serialise a JSON response");
                ApiError::internal().into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{body::Body, routing::post, Router};
    use http_body_util::BodyExt;
    use serde::Deserialize;
    use tower::ServiceExt;

    #[derive(Debug, Deserialize, Serialize)]
    #[serde(deny_unknown_fields)]
    struct Thing {
        n: i64,
    }

    async fn echo(Json(thing): Json<Thing>) -> Json<Thing> {
        Json(thing)
    }

    async fn call(body: &'static str) -> (StatusCode, serde_json::Value) {
        let app = Router::new().route("/", post(echo));
        let response = app
            .oneshot(
                Request::post("/")
                    .header("content-type", "text/plain")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[test]
    fn json_kinds_read_as_in_a_sentence() {
        let kinds: Vec<&str> = [
            serde_json::json!(null),
            serde_json::json!(true),
            serde_json::json!(1.5),
            serde_json::json!("x"),
            serde_json::json!([1]),
            serde_json::json!({"a": 1}),
        ]
        .iter()
        .map(json_kind)
        .collect();
        assert_eq!(
            kinds,
            [
                "null",
                "a boolean",
                "a number",
                "a string",
                "an array",
                "an object"
            ]
        );
    }

    #[tokio::test]
    async fn accepts_any_content_type() {
        let (status, body) = call(r#"{"n": 3}"#).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["n"], 3);
    }

    #[tokio::test]
    async fn malformed_json_is_400_with_seed_text() {
        for bad in [
            "{bad",
            "",
            r#"{"n": "three"}"#,
            r#"{"n": 1, "m": 2}"#,
            "{} x",
        ] {
            let (status, body) = call(bad).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(body["error"]["code"], "invalid_json");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(message.starts_with(JSON_DECODING_ERROR), "{message}");
        }
    }
}
