//! ObjectIds in paths and bodies: 24 hexadecimal digits.
//!
//! In a path, a malformed id is a 400 JSON error (the original panicked: 500) and a valid but
//! unknown one is a 404 JSON error. In a body, a client `id` must be empty or well-formed (the
//! Go original's `bson.ObjectId` decoding) even though the server replaces it.

use axum::http::StatusCode;
use mongodb::bson::oid::ObjectId;
use platform::http::ApiError;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// Parses a path segment as an ObjectId (either case of hex digits).
pub fn parse(text: &str) -> Result<ObjectId, ApiError> {
    if text.len() == 24 {
        if let Ok(id) = ObjectId::parse_str(text) {
            return Ok(id);
        }
    }
    Err(ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_id",
        format!("{text:?} is not an ObjectId (24 hexadecimal digits)"),
    ))
}

/// 404 for a well-formed id that names no document of `what` (`movie`, `user`, …).
pub fn not_found(what: &str, id: ObjectId) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no {what} has the id {id}"),
    )
}

/// Serialises an ObjectId as its 24 lower-case hex digits (`serialize_with`).
pub fn serialize_hex<S: Serializer>(id: &ObjectId, serializer: S) -> Result<S::Ok, S::Error> {
    id.to_hex().serialize(serializer)
}

/// A client-supplied `id` in a request body: `""`, `null` or 24 hex digits, else a decoding
/// error (400). The server assigns its own id anyway.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientId(pub Option<ObjectId>);

impl<'de> Deserialize<'de> for ClientId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
        if text.is_empty() {
            return Ok(Self(None));
        }
        parse(&text)
            .map(|id| Self(Some(id)))
            .map_err(|_| de::Error::custom(format!("invalid ObjectId in JSON: {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_ids_parse_and_others_are_400() {
        let id = parse("57b37b7c377dd100054f9f91").unwrap();
        assert_eq!(id.to_hex(), "57b37b7c377dd100054f9f91");
        assert_eq!(parse("57B37B7C377DD100054F9F91").unwrap(), id);
        for bad in [
            "",
            "abc",
            "57b37b7c377dd100054f9f9",
            "57b37b7c377dd100054f9f9z",
            "57b37b7c377dd100054f9f910",
        ] {
            let error = parse(bad).unwrap_err();
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(error.code(), "invalid_id");
        }
        assert_eq!(not_found("movie", id).status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn client_ids_are_empty_or_well_formed() {
        let parse = |json: &str| serde_json::from_str::<ClientId>(json);
        assert_eq!(parse("null").unwrap(), ClientId(None));
        assert_eq!(parse(r#""""#).unwrap(), ClientId(None));
        assert!(parse(r#""57b37b7c377dd100054f9f91""#).unwrap().0.is_some());
        assert!(parse(r#""nope""#).is_err());
        assert!(parse("12").is_err());
    }
}
