//! The seed's `{"data": ...}` wrapper, both ways.
//!
//! Out: a document is `{"data": <doc>}`, a list `{"data": [<doc>, ...]}`, and an empty list
//! `{"data": null}` (the Go original's nil slice). In: `{"data": {...}}`; as with Go's
//! `encoding/json`, a missing or `null` `data` (or a `null` body) means an all-empty document
//! and unknown keys are ignored.

use axum::response::{IntoResponse, Response};
use platform::http::{decoding_error, json_kind, ApiError, Json};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;

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

/// Decodes a request body `{"data": {...}}` into the document type `T`.
///
/// A `null` body, a missing `data` or `"data": null` is the all-empty `T::default()`; unknown
/// keys are ignored; anything that is not an object where one is expected, or a field of the
/// wrong type, is a 400 `invalid_json`.
pub fn decode_incoming<T: DeserializeOwned + Default>(body: Value) -> Result<T, ApiError> {
    let data = match body {
        Value::Null => return Ok(T::default()),
        Value::Object(mut members) => members.remove("data").unwrap_or(Value::Null),
        other => {
            return Err(decoding_error(format!(
                "expected a JSON object, got {}",
                json_kind(&other)
            )))
        }
    };
    match data {
        Value::Null => Ok(T::default()),
        Value::Object(_) => serde_json::from_value(data).map_err(decoding_error),
        other => Err(decoding_error(format!(
            "\"data\" must be a JSON object, got {}",
            json_kind(&other)
        ))),
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
        let decode = |body: &str| decode_incoming::<Thing>(serde_json::from_str(body).unwrap());
        for body in ["null", "{}", r#"{"data":null}"#, r#"{"other":1}"#] {
            assert_eq!(decode(body).unwrap(), Thing::default(), "{body}");
        }
        let thing = decode(r#"{"data":{"name":"x","extra":true}}"#).unwrap();
        assert_eq!(thing.name.as_deref(), Some("x"));
        for bad in [
            "[]",
            "3",
            r#""x""#,
            r#"{"data":[]}"#,
            r#"{"data":["x"]}"#,
            r#"{"data":{"name":1}}"#,
        ] {
            let error = decode(bad).unwrap_err();
            assert_eq!(error.code(), "invalid_json", "{bad}");
        }
    }
}
