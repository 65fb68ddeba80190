//! Request bodies decoded the way the Go original decoded them.
//!
//! Go's `encoding/json` matches keys case-insensitively (`AccountID`, `eMail` work) and the
//! original rejected unknown keys. So: parse to a JSON value, lower-case every object key, then
//! deserialise with `deny_unknown_fields`. A JSON `null` body is an empty user, as in Go. Every
//! failure is a 400 whose message starts with the seed's `JSON Decoding Error, possibly
//! malformed JSON object` and ends with the detail.

use axum::extract::Request;
use platform::http::{decoding_error, json_kind, ApiError};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::UserInput;

/// Reads the body as JSON (400 if it is not JSON, 413 if it is over the body limit).
pub async fn read_json(req: Request) -> Result<Value, ApiError> {
    let bytes = platform::http::read_body(req, &()).await?;
    platform::http::decode(&bytes)
}

/// Lower-cases the keys of every object in `value`. When two keys differ only by case the
/// later one wins, as in Go.
pub fn lowercase_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| (key.to_lowercase(), lowercase_keys(value)))
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(lowercase_keys).collect()),
        other => other,
    }
}

/// `value` if it is an object; an empty object for `null`; otherwise an error. (Serde would
/// otherwise accept an array as a struct's fields in order.)
fn object(value: Value, what: &str) -> Result<Value, String> {
    match value {
        Value::Null => Ok(Value::Object(Map::new())),
        Value::Object(_) => Ok(value),
        other => Err(format!(
            "expected {what} (a JSON object), got {}",
            json_kind(&other)
        )),
    }
}

fn user_from(value: Value) -> Result<UserInput, String> {
    let value = object(lowercase_keys(value), "a user")?;
    serde_json::from_value(value).map_err(|error| error.to_string())
}

/// One user, as a non-bulk POST or PUT carries it.
pub fn user(value: Value) -> Result<UserInput, ApiError> {
    user_from(value).map_err(decoding_error)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkBody {
    users: Option<Vec<Value>>,
}

/// The users of a bulk request body, `{"users":[...]}` (or `Users`), in request order.
pub fn bulk(value: Value) -> Result<Vec<UserInput>, ApiError> {
    let value = object(lowercase_keys(value), "{\"users\":[...]}").map_err(decoding_error)?;
    let body: BulkBody = serde_json::from_value(value).map_err(decoding_error)?;
    body.users
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            user_from(item).map_err(|detail| decoding_error(format!("users[{index}]: {detail}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_match_case_insensitively() {
        let input = user(json!({
            "AccountID": 1, "Name": "Brian", "eMail": "b@x", "ROLE": 1, "Password": "pw", "HREF": ""
        }))
        .unwrap();
        assert_eq!(input.accountid, Some(1));
        assert_eq!(input.email.as_deref(), Some("b@x"));
        assert_eq!(input.password.unwrap().expose_secret(), "pw");
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_decoding_errors() {
        for bad in [
            json!({"nickname": "x"}),
            json!({"accountid": "1"}),
            json!({"accountid": 1.5}),
            serde_json::from_str(r#"{"role": 99999999999999999999}"#).unwrap(),
            json!({"name": 7}),
            json!([1, "x"]),
            json!("user"),
            json!({"users": []}),
        ] {
            let error = user(bad.clone()).unwrap_err();
            assert_eq!(error.status(), 400, "{bad}");
            assert!(
                error
                    .message()
                    .starts_with(platform::http::JSON_DECODING_ERROR),
                "{bad}: {}",
                error.message()
            );
        }
    }

    #[test]
    fn null_is_an_empty_user() {
        let input = user(Value::Null).unwrap();
        assert_eq!(input.id(), 0);
        assert!(input.name.is_none());
    }

    #[test]
    fn bulk_bodies() {
        let users = bulk(json!({"Users": [{"name": "a"}, {"NAME": "b"}]})).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[1].name.as_deref(), Some("b"));
        assert!(bulk(json!({"users": []})).unwrap().is_empty());
        assert!(bulk(json!({})).unwrap().is_empty());
        let error = bulk(json!({"accountid": 1, "name": "single"})).unwrap_err();
        assert!(
            error.message().contains("unknown field"),
            "{}",
            error.message()
        );
        let error = bulk(json!({"users": [{"name": "a"}, {"bogus": 1}]})).unwrap_err();
        assert!(error.message().contains("users[1]"), "{}", error.message());
        assert!(bulk(json!({"users": {"name": "a"}})).is_err());
    }
}
