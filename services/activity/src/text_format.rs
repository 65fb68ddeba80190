//! The protobuf compact text form of an event, as the original client printed it with
//! golang/protobuf 1.3 (`Event: id:1 message:"…" timestamp:<send:… receive:… > deployment_id:1`).
//!
//! Rules kept from that library: fields in field-number order, proto3 zero values left out,
//! a nested message as `name:<field:value … >` (each inner field followed by a space), and
//! strings quoted byte by byte: `\n`, `\r`, `\t`, `\"` and `\\` escaped, every other byte
//! outside printable ASCII written as a three-digit octal escape (so UTF-8 text shows as
//! `\303\251`). Unlike the library, no trailing space follows the last top-level field.

use std::fmt::Write as _;

use crate::proto::EventRequest;

/// The compact text form of `event`.
pub fn event_text(event: &EventRequest) -> String {
    let mut fields = Vec::with_capacity(4);
    if event.id != 0 {
        fields.push(format!("id:{}", event.id));
    }
    if !event.message.is_empty() {
        fields.push(format!("message:{}", quote(&event.message)));
    }
    if let Some(timestamp) = &event.timestamp {
        let mut inner = String::new();
        if timestamp.send != 0 {
            let _ = write!(inner, "send:{} ", timestamp.send);
        }
        if timestamp.receive != 0 {
            let _ = write!(inner, "receive:{} ", timestamp.receive);
        }
        fields.push(format!("timestamp:<{inner}>"));
    }
    if event.deployment_id != 0 {
        fields.push(format!("deployment_id:{}", event.deployment_id));
    }
    fields.join(" ")
}

/// A string in the text format's quotes, escaped byte by byte.
pub fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for byte in text.bytes() {
        match byte {
            b'\n' => quoted.push_str("\\n"),
            b'\r' => quoted.push_str("\\r"),
            b'\t' => quoted.push_str("\\t"),
            b'"' => quoted.push_str("\\\""),
            b'\\' => quoted.push_str("\\\\"),
            0x20..=0x7e => quoted.push(char::from(byte)),
            other => {
                let _ = write!(quoted, "\\{other:03o}");
            }
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Timestamp;

    #[test]
    fn the_readme_example() {
        let event = EventRequest {
            id: 1,
            message: "Deployment has beed created successfully".to_owned(),
            timestamp: Some(Timestamp {
                send: 1_569_500_037_894_488_000,
                receive: 1_569_500_037_898_843_000,
            }),
            deployment_id: 1,
        };
        assert_eq!(
            event_text(&event),
            "id:1 message:\"Deployment has beed created successfully\" \
             timestamp:<send:1569500037894488000 receive:1569500037898843000 > deployment_id:1"
        );
    }

    #[test]
    fn zero_values_are_left_out() {
        assert_eq!(event_text(&EventRequest::default()), "");
        let event = EventRequest {
            id: -3,
            timestamp: Some(Timestamp::default()),
            ..EventRequest::default()
        };
        assert_eq!(event_text(&event), "id:-3 timestamp:<>");
        let event = EventRequest {
            timestamp: Some(Timestamp {
                send: 0,
                receive: 5,
            }),
            deployment_id: 2,
            ..EventRequest::default()
        };
        assert_eq!(event_text(&event), "timestamp:<receive:5 > deployment_id:2");
    }

    #[test]
    fn strings_are_escaped_like_golang_protobuf() {
        assert_eq!(quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quote("line\nnext\ttab\r"), r#""line\nnext\ttab\r""#);
        assert_eq!(quote("it's"), r#""it's""#);
        assert_eq!(quote("café"), r#""caf\303\251""#);
        assert_eq!(quote("\u{7f}\u{1}"), r#""\177\001""#);
    }
}
