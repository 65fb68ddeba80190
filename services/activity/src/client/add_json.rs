//! The `-add` argument: an event as JSON, read the way the original client's Go
//! `encoding/json` read it into the generated struct.
//!
//! Keys `id`, `message`, `deployment_id` and `timestamp` match case-insensitively (`"ID"`
//! works), unknown keys and `null` values are ignored, numbers must be integers that fit
//! 32 bits. The timestamp is ignored: the client sets `send` to the current time.

use platform::http::json_kind;
use serde_json::Value;

use crate::proto::EventRequest;

/// Parses `-add`'s JSON; the error says what is wrong (the caller adds the text).
pub fn parse_event(text: &str) -> Result<EventRequest, String> {
    let value: Value = serde_json::from_str(text).map_err(|error| error.to_string())?;
    let Value::Object(fields) = value else {
        return Err(format!("expected a JSON object, got {}", json_kind(&value)));
    };
    let mut event = EventRequest::default();
    for (key, value) in &fields {
        if value.is_null() {
            continue;
        }
        let field = key.to_ascii_lowercase();
        match field.as_str() {
            "id" => event.id = int32(key, value)?,
            "deployment_id" => event.deployment_id = int32(key, value)?,
            "message" => {
                event.message = value
                    .as_str()
                    .ok_or_else(|| format!("{key}: expected a string, got {}", json_kind(value)))?
                    .to_owned();
            }
            "timestamp" if !value.is_object() => {
                return Err(format!(
                    "{key}: expected an object, got {}",
                    json_kind(value)
                ));
            }
            _ => {}
        }
    }
    Ok(event)
}

fn int32(key: &str, value: &Value) -> Result<i32, String> {
    value
        .as_i64()
        .and_then(|number| i32::try_from(number).ok())
        .ok_or_else(|| {
            format!(
                "{key}: expected an integer from {} to {}, got {value}",
                i32::MIN,
                i32::MAX
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_example_parses() {
        let event = parse_event(
            r#"{"id":1, "deployment_id": 1, "message":"Deployment has beed created successfully"}"#,
        )
        .unwrap();
        assert_eq!(
            (event.id, event.deployment_id, event.message.as_str()),
            (1, 1, "Deployment has beed created successfully")
        );
        assert_eq!(event.timestamp, None);
    }

    #[test]
    fn keys_match_like_go_and_extras_are_ignored() {
        let event = parse_event(
            r#"{"ID":2,"Message":"m","Deployment_ID":3,"extra":[1],"timestamp":{"send":5},"id2":9}"#,
        )
        .unwrap();
        assert_eq!(
            (event.id, event.deployment_id, event.message.as_str()),
            (2, 3, "m")
        );
        assert_eq!(event.timestamp, None);
        let event = parse_event(r#"{"id":null,"message":"x"}"#).unwrap();
        assert_eq!(event.id, 0);
    }

    #[test]
    fn bad_json_and_bad_types_are_explained() {
        assert!(parse_event("{not json").is_err());
        assert!(parse_event("[1]").unwrap_err().contains("an array"));
        assert!(parse_event(r#"{"id":"1"}"#)
            .unwrap_err()
            .contains("id: expected an integer"));
        assert!(parse_event(r#"{"id":1.5}"#).is_err());
        assert!(parse_event(r#"{"id":2147483648}"#).is_err());
        assert!(parse_event(r#"{"message":3}"#)
            .unwrap_err()
            .contains("expected a string"));
        assert!(parse_event(r#"{"timestamp":3}"#).is_err());
    }
}
