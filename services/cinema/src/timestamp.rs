//! `createdon`: stored as a BSON date (milliseconds, as Mongo keeps it), shown as RFC 3339.
//!
//! A document without one shows Go's zero time, `0001-01-01T00:00:00Z`, as the original did.
//! A client-supplied `createdon` must be RFC 3339 (or `null`) even though the server replaces it.

use mongodb::bson::DateTime;
use serde::{de, Deserialize, Deserializer, Serializer};

/// Go's zero `time.Time` in JSON.
pub const ZERO: &str = "0001-01-01T00:00:00Z";

/// The RFC 3339 text of a stored timestamp (UTC, fractional seconds only when non-zero).
pub fn rfc3339(value: Option<DateTime>) -> String {
    match value {
        None => ZERO.to_owned(),
        Some(value) => value
            .try_to_rfc3339_string()
            .unwrap_or_else(|_| ZERO.to_owned()),
    }
}

/// `serialize_with` for an optional stored timestamp.
pub fn serialize<S: Serializer>(
    value: &Option<DateTime>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339(*value))
}

/// A client-supplied `createdon`: `null` or an RFC 3339 string, else a decoding error (400).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientTime(pub Option<DateTime>);

impl<'de> Deserialize<'de> for ClientTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(Self(None)),
            Some(text) => DateTime::parse_rfc3339_str(&text)
                .map(|time| Self(Some(time)))
                .map_err(|_| de::Error::custom(format!("createdon is not RFC 3339: {text:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_milliseconds_in_utc() {
        let time = DateTime::from_millis(1_547_522_430_123);
        assert_eq!(rfc3339(Some(time)), "2019-01-15T03:20:30.123Z");
        assert_eq!(
            rfc3339(Some(DateTime::from_millis(1_471_219_200_000))),
            "2016-08-15T00:00:00Z"
        );
        assert_eq!(rfc3339(None), ZERO);
    }

    #[test]
    fn client_times_are_rfc3339_or_null() {
        let parse = |json: &str| serde_json::from_str::<ClientTime>(json);
        assert_eq!(parse("null").unwrap(), ClientTime(None));
        assert!(parse(r#""2019-01-15T10:20:30.123456789+07:00""#)
            .unwrap()
            .0
            .is_some());
        assert!(parse(r#""yesterday""#).is_err());
        assert!(parse("5").is_err());
    }
}
