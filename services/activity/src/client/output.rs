//! What the client prints on stdout: the original's lines, or one JSON object per line
//! (`--json`) for scripts.
//!
//! | what | text (the original's) | `--json` |
//! |---|---|---|
//! | a listed event | `Event: <compact text form>` | `{"event":"listed","id":…,"deployment_id":…,"message":…,"timestamp":{"send":…,"receive":…}}` |
//! | a created event | `An event created with id [<id>] for deployment_id [<dep>] in <ms> ms` | `{"event":"created","id":…,"deployment_id":…,"success":true,"execution_time_ms":…,"retries":…}` |
//!
//! The text line stays the original's; the retries a create needed are noted on stderr.

use serde_json::json;

use crate::{
    proto::{EventRequest, EventResponse},
    text_format::event_text,
};

/// The line for one streamed event.
pub fn listed_line(event: &EventRequest, as_json: bool) -> String {
    if as_json {
        let timestamp = event.timestamp.unwrap_or_default();
        json!({
            "event": "listed",
            "id": event.id,
            "deployment_id": event.deployment_id,
            "message": event.message,
            "timestamp": {"send": timestamp.send, "receive": timestamp.receive},
        })
        .to_string()
    } else {
        format!("Event: {}", event_text(event))
    }
}

/// The line for a created event: `response` from the server, `deployment_id` as sent, after
/// `retries` retries.
pub fn created_line(
    response: &EventResponse,
    deployment_id: i32,
    retries: usize,
    as_json: bool,
) -> String {
    if as_json {
        json!({
            "event": "created",
            "id": response.id,
            "deployment_id": deployment_id,
            "success": response.success,
            "execution_time_ms": response.execution_time,
            "retries": retries,
        })
        .to_string()
    } else {
        format!(
            "An event created with id [{}] for deployment_id [{deployment_id}] in {} ms",
            response.id, response.execution_time
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::Timestamp;

    #[test]
    fn text_lines_are_the_originals() {
        let response = EventResponse {
            id: 1,
            success: true,
            execution_time: 4,
        };
        assert_eq!(
            created_line(&response, 1, 2, false),
            "An event created with id [1] for deployment_id [1] in 4 ms"
        );
        let event = EventRequest {
            id: 1,
            message: "m".to_owned(),
            timestamp: Some(Timestamp {
                send: 1,
                receive: 2,
            }),
            deployment_id: 1,
        };
        assert_eq!(
            listed_line(&event, false),
            "Event: id:1 message:\"m\" timestamp:<send:1 receive:2 > deployment_id:1"
        );
    }

    #[test]
    fn json_lines_are_objects_with_an_id() {
        let line = created_line(
            &EventResponse {
                id: 3,
                success: true,
                execution_time: 0,
            },
            2,
            1,
            true,
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["event"], "created");
        assert_eq!(value["retries"], 1);
        assert_eq!(value["id"], 3);
        assert_eq!(value["deployment_id"], 2);
        let line = listed_line(
            &EventRequest {
                id: 4,
                message: "a \"quoted\" é".to_owned(),
                ..EventRequest::default()
            },
            true,
        );
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["message"], "a \"quoted\" é");
        assert_eq!(value["timestamp"]["send"], 0);
    }
}
