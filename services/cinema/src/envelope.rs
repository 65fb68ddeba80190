//! The seed's `{"data": ...}` wrapper, both ways.
//!
//! Out: a document is `{"data": <doc>}`, a list `{"data": [<doc>, ...]}`, and an empty list
//! `{"data": null}` (the Go original's nil slice). In: `{"data": {...}}`; as with Go's
//! `encoding/json`, a missing or `null` `data` (or a `null` body) means an all-empty document
//! and unknown keys are ignored. The body is decoded straight into the document type, the
//! other members skipped unread: no JSON tree is built, so a request costs about its body's
//! size whatever its shape.

use std::{fmt, marker::PhantomData};

use axum::{
    extract::{FromRequest, Request},
    response::{IntoResponse, Response},
};
use platform::http::{decode_seed, decoding_error, ApiError, Json, ObjectOrNull};
use serde::{
    de::{
        self, value::MapAccessDeserializer, DeserializeOwned, DeserializeSeed, Deserializer,
        IgnoredAny, MapAccess, Visitor,
    },
    Deserialize, Serialize,
};

/// `{"data": <T>}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Data<T> {
    /// The payload.
    pub data: T,
}

/// A `200 application/json` `{"data": <value>}` response.
pub fn one<T: Serialize>(value: T) -> Response {
    Json(Data { data: value }).into_response()
}

/// A `200 application/json` list response: `{"data":[...]}`, or `{"data":null}` when empty.
pub fn list<T: Serialize>(values: Vec<T>) -> Response {
    Json(Data {
        data: (!values.is_empty()).then_some(values),
    })
    .into_response()
}

/// An extractor for a request body `{"data": {...}}`, decoded by [`decode_incoming`] (a 413
/// over the body limit, a 400 `invalid_json` when it cannot be decoded).
#[derive(Debug)]
pub struct Incoming<T>(pub T);

impl<T, S> FromRequest<S> for Incoming<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let body = platform::http::read_body(req, state).await?;
        decode_incoming(&body).map(Incoming)
    }
}

/// Decodes a request body `{"data": {...}}` into the document type `T`.
///
/// A `null` body, a missing `data` or `"data": null` is the all-empty `T::default()`; unknown
/// keys are ignored; anything that is not an object where one is expected, or a field of the
/// wrong type, is a 400 `invalid_json`.
pub fn decode_incoming<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    decode_seed(body, Envelope(PhantomData)).map_err(decoding_error)
}

/// The body: an object whose `data` member is the document (other members skipped), or `null`.
struct Envelope<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de> + Default> DeserializeSeed<'de> for Envelope<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_any(ObjectOrNull::new("a JSON object", self))
    }
}

impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for Envelope<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut document = None;
        while let Some(key) = map.next_key::<EnvelopeKey>()? {
            match key {
                // A repeated `data` replaces the earlier one, as in Go.
                EnvelopeKey::Data => document = Some(map.next_value_seed(Document(PhantomData))?),
                EnvelopeKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(document.unwrap_or_default())
    }
}

/// `data`, or any other member name.
enum EnvelopeKey {
    Data,
    Other,
}

impl<'de> Deserialize<'de> for EnvelopeKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Key;
        impl Visitor<'_> for Key {
            type Value = EnvelopeKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<EnvelopeKey, E> {
                Ok(if key == "data" {
                    EnvelopeKey::Data
                } else {
                    EnvelopeKey::Other
                })
            }
        }
        deserializer.deserialize_str(Key)
    }
}

/// The `data` member: the document's object, or `null` for the all-empty document.
struct Document<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de> + Default> DeserializeSeed<'de> for Document<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_any(ObjectOrNull::new("\"data\" to be a JSON object", self))
    }
}

impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for Document<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"data\" to be a JSON object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    async fn text(response: Response) -> String {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn empty_list_is_data_null() {
        assert_eq!(text(list(Vec::<u8>::new())).await, r#"{"data":null}"#);
        assert_eq!(text(list(vec![1, 2])).await, r#"{"data":[1,2]}"#);
        assert_eq!(text(one("x")).await, r#"{"data":"x"}"#);
    }

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(default)]
    struct Thing {
        name: Option<String>,
    }

    #[test]
    fn missing_or_null_data_is_the_empty_document() {
        let decode = |body: &str| decode_incoming::<Thing>(body.as_bytes());
        for body in [
            "null",
            "{}",
            r#"{"data":null}"#,
            r#"{"other":1}"#,
            r#"{"other":[0,0,{"data":{"name":1}}]}"#,
        ] {
            assert_eq!(decode(body).unwrap(), Thing::default(), "{body}");
        }
        let thing = decode(r#"{"data":{"name":"x","extra":true}}"#).unwrap();
        assert_eq!(thing.name.as_deref(), Some("x"));
        let thing = decode(r#"{"data":{"name":"x"},"data":{"name":"y"}}"#).unwrap();
        assert_eq!(thing.name.as_deref(), Some("y"));
        let error = decode(&format!("[{}0]", "0,".repeat(100_000))).unwrap_err();
        assert!(
            error
                .message()
                .contains("expected a JSON object, got an array"),
            "{}",
            error.message()
        );
        for bad in [
            "[]",
            "3",
            r#""x""#,
            r#"{"data":[]}"#,
            r#"{"data":["x"]}"#,
            r#"{"data":{"name":1}}"#,
            r#"{"data":{"name":"x"}} trailing"#,
            "",
        ] {
            let error = decode(bad).unwrap_err();
            assert_eq!(error.code(), "invalid_json", "{bad}");
        }
    }
}
