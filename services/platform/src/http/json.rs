//! [`Json`]: a JSON extractor and response whose rejections are [`ApiError`] bodies.
//!
//! Like the Go originals it accepts any `Content-Type`. A body that is not valid JSON, or does
//! not fit the target type, is a 400 whose message starts with [`JSON_DECODING_ERROR`] (the
//! seed's text) followed by the decoder's detail; a body over the limit is a 413.
//!
//! Bodies are decoded straight into their types, never through an untyped
//! [`serde_json::Value`] tree (which costs about 32 bytes per array element: a 1 MiB `[0,0,…]`
//! body became 16 MiB). For hand-written decoders this module also has the pieces they share:
//! [`decode_seed`] (one value, nothing but whitespace after it), [`ObjectOrNull`] (an object or
//! `null`, anything else refused before it is read) and [`go_key_matches`] (Go's
//! case-insensitive key matching).

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::{
    de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor},
    Serialize,
};

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
        Value::Null => KIND_NULL,
        Value::Bool(_) => KIND_BOOLEAN,
        Value::Number(_) => KIND_NUMBER,
        Value::String(_) => KIND_STRING,
        Value::Array(_) => KIND_ARRAY,
        Value::Object(_) => KIND_OBJECT,
    }
}

const KIND_NULL: &str = "null";
const KIND_BOOLEAN: &str = "a boolean";
const KIND_NUMBER: &str = "a number";
const KIND_STRING: &str = "a string";
const KIND_ARRAY: &str = "an array";
const KIND_OBJECT: &str = "an object";

/// Decodes `bytes` as a `T`, mapping failures to [`decoding_error`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(decoding_error)
}

/// Decodes `bytes` with a hand-written `seed`, like [`serde_json::from_slice`]: one JSON value,
/// then nothing but whitespace. The error is the decoder's (map it with [`decoding_error`]).
pub fn decode_seed<'de, S: DeserializeSeed<'de>>(
    bytes: &'de [u8],
    seed: S,
) -> Result<S::Value, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = seed.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(value)
}

/// Whether the JSON key `key` names the field `field` the way Go's `encoding/json` matches them:
/// ignoring case (`AccountID`, `eMail`, `DESCRIPTION`). Compares without allocating.
pub fn go_key_matches(key: &str, field: &str) -> bool {
    key.chars()
        .flat_map(char::to_lowercase)
        .eq(field.chars().flat_map(char::to_lowercase))
}

/// A [`Visitor`] for a value that must be a JSON object or `null`: an object goes to the inner
/// visitor's `visit_map`, `null` to its `visit_unit`, and any other value is refused as
/// `expected <what>, got <kind>` (kinds as [`json_kind`] names them) before its contents are
/// read, so a huge array costs nothing. Drive it with `deserialize_any`.
#[derive(Debug, Clone, Copy)]
pub struct ObjectOrNull<V> {
    what: &'static str,
    inner: V,
}

impl<V> ObjectOrNull<V> {
    /// `inner`, expecting `what` (e.g. `a user (a JSON object)`) in error messages.
    pub fn new(what: &'static str, inner: V) -> Self {
        Self { what, inner }
    }

    fn refuse<E: de::Error, T>(&self, kind: &str) -> Result<T, E> {
        Err(E::custom(format_args!(
            "expected {}, got {kind}",
            self.what
        )))
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for ObjectOrNull<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.what)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.inner.visit_map(map)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        self.refuse(KIND_BOOLEAN)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        self.refuse(KIND_NUMBER)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        self.refuse(KIND_NUMBER)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        self.refuse(KIND_NUMBER)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        self.refuse(KIND_STRING)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        self.refuse(KIND_ARRAY)
    }
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

    /// Counts an object's members without keeping them; `null` is `None`.
    struct Members;

    impl<'de> Visitor<'de> for Members {
        type Value = Option<usize>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut count = 0;
            while map
                .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                .is_some()
            {
                count += 1;
            }
            Ok(Some(count))
        }
    }

    struct MembersSeed;

    impl<'de> DeserializeSeed<'de> for MembersSeed {
        type Value = Option<usize>;

        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(ObjectOrNull::new("a thing (a JSON object)", Members))
        }
    }

    #[test]
    fn object_or_null_refuses_other_values_by_kind() {
        let decode = |body: &str| decode_seed(body.as_bytes(), MembersSeed);
        assert_eq!(decode(r#" {"a": [1, 2], "b": {}} "#).unwrap(), Some(2));
        assert_eq!(decode("null").unwrap(), None);
        for (body, kind) in [
            ("[0,0,0]", "an array"),
            ("true", "a boolean"),
            ("-1", "a number"),
            ("1.5", "a number"),
            (r#""x""#, "a string"),
        ] {
            let error = decode(body).unwrap_err().to_string();
            assert!(
                error.starts_with(&format!("expected a thing (a JSON object), got {kind}")),
                "{body}: {error}"
            );
        }
        assert!(decode("{} trailing").is_err());
        assert!(decode(r#"{"a":"#).unwrap_err().is_eof());
    }

    #[test]
    fn keys_match_like_go() {
        assert!(go_key_matches("AccountID", "accountid"));
        assert!(go_key_matches("DESCRIPTION", "description"));
        assert!(go_key_matches("description", "description"));
        assert!(!go_key_matches("descriptions", "description"));
        assert!(!go_key_matches("", "description"));
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
