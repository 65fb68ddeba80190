//! Events: a validated [`NewEvent`], a [`StoredEvent`] as the store returns it, and the
//! idempotency rule for a repeated event ([`replay`]).
//!
//! An event is identified by its key, `(deployment_id, id)` ([`EventKey`]): deployments number
//! their events independently. What the event *says* is its `message`, and nothing else: of
//! `EventRequest`'s fields, `id` and `deployment_id` are the key, `timestamp.send` is when this
//! copy was sent (a client re-run or a retry stamps a new one), and `timestamp.receive` is the
//! server's. So the same key with the same message (byte for byte) is the same event whatever
//! its `send` time; the same key with another message is a conflict.

use super::{Problem, ValidationError};
use crate::proto::{EventRequest, EventResponse, Timestamp};

/// A `CreateEvent` request that passed validation. Only [`NewEvent::parse`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    id: i32,
    deployment_id: i32,
    message: String,
    send_ns: i64,
}

impl NewEvent {
    /// Validates a request: a timestamp with `send` > 0, `id` > 0 (with the deployment, the key),
    /// `deployment_id` ≥ 0, a message of 1 to `max_message_chars` characters. Every problem
    /// is reported, not just the first. `timestamp.receive` is ignored: the server sets it.
    pub fn parse(request: EventRequest, max_message_chars: usize) -> Result<Self, ValidationError> {
        let mut problems = Vec::new();
        if request.id <= 0 {
            problems.push(Problem::IdNotPositive(request.id));
        }
        if request.deployment_id < 0 {
            problems.push(Problem::NegativeDeploymentId(request.deployment_id));
        }
        if request.message.is_empty() {
            problems.push(Problem::EmptyMessage);
        } else {
            let chars = request.message.chars().count();
            if chars > max_message_chars {
                problems.push(Problem::MessageTooLong {
                    chars,
                    max: max_message_chars,
                });
            }
        }
        let send_ns = match request.timestamp {
            None => {
                problems.push(Problem::MissingTimestamp);
                0
            }
            Some(Timestamp { send, .. }) => {
                if send <= 0 {
                    problems.push(Problem::SendNotPositive(send));
                }
                send
            }
        };
        match ValidationError::from_problems(problems) {
            Some(error) => Err(error),
            None => Ok(Self {
                id: request.id,
                deployment_id: request.deployment_id,
                message: request.message,
                send_ns,
            }),
        }
    }

    /// The event id (> 0), unique within its deployment.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// What identifies the event: `(deployment_id, id)`.
    pub fn key(&self) -> EventKey {
        EventKey {
            deployment_id: self.deployment_id,
            id: self.id,
        }
    }

    /// The deployment id (≥ 0).
    pub fn deployment_id(&self) -> i32 {
        self.deployment_id
    }

    /// The message (1 to the limit's characters).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The client's send time, Unix ns (> 0).
    pub fn send_ns(&self) -> i64 {
        self.send_ns
    }

    /// The event as stored when received at `receive_ns`.
    pub fn received_at(&self, receive_ns: i64) -> StoredEvent {
        StoredEvent {
            id: self.id,
            deployment_id: self.deployment_id,
            message: self.message.clone(),
            send_ns: self.send_ns,
            receive_ns,
        }
    }
}

/// What identifies an event, and the idempotency key of `CreateEvent`: an event id is unique
/// within its deployment only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventKey {
    /// The deployment the event belongs to.
    pub deployment_id: i32,
    /// The event id within that deployment.
    pub id: i32,
}

impl std::fmt::Display for EventKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "event {} of deployment {}", self.id, self.deployment_id)
    }
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// The event id.
    pub id: i32,
    /// The deployment id.
    pub deployment_id: i32,
    /// The message.
    pub message: String,
    /// Client send time, Unix ns.
    pub send_ns: i64,
    /// Server receive time, Unix ns.
    pub receive_ns: i64,
}

impl StoredEvent {
    /// What identifies the event: `(deployment_id, id)`.
    pub fn key(&self) -> EventKey {
        EventKey {
            deployment_id: self.deployment_id,
            id: self.id,
        }
    }

    /// Milliseconds from send to receive (see [`execution_time_ms`]).
    pub fn execution_time_ms(&self) -> i64 {
        execution_time_ms(self.send_ns, self.receive_ns)
    }

    /// The event on the wire, both timestamps set.
    pub fn to_proto(&self) -> EventRequest {
        EventRequest {
            id: self.id,
            message: self.message.clone(),
            timestamp: Some(Timestamp {
                send: self.send_ns,
                receive: self.receive_ns,
            }),
            deployment_id: self.deployment_id,
        }
    }

    /// The `CreateEvent` answer for this event: its id, success, its execution time (from the
    /// stored `send` and `receive`, so every retry gets the first call's answer).
    pub fn response(&self) -> EventResponse {
        EventResponse {
            id: self.id,
            success: true,
            execution_time: self.execution_time_ms(),
        }
    }
}

/// The original's `(receive - send) / 1_000_000`: whole milliseconds, truncated toward zero.
/// Negative when the client's clock is ahead of the server's (as in the original).
pub fn execution_time_ms(send_ns: i64, receive_ns: i64) -> i64 {
    receive_ns.saturating_sub(send_ns) / 1_000_000
}

/// What a create of a key that is already stored amounts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// The same event again (same key, same message; any `send` time): a retry or a client
    /// re-run. Answer success with the stored event's execution time; store nothing.
    Same,
    /// A different event under a used key: refuse it.
    Conflict,
}

/// Compares the stored event with a new one under the same key (see the module docs): the same
/// event when the key and the message (byte for byte) match. `timestamp.send` is not compared
/// (a re-run stamps a new one) and `receive` is the server's.
pub fn replay(stored: &StoredEvent, incoming: &NewEvent) -> Replay {
    let same = stored.key() == incoming.key() && stored.message == incoming.message;
    if same {
        Replay::Same
    } else {
        Replay::Conflict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 10;

    fn request(id: i32, deployment_id: i32, message: &str, send: Option<i64>) -> EventRequest {
        EventRequest {
            id,
            message: message.to_owned(),
            timestamp: send.map(|send| Timestamp { send, receive: 0 }),
            deployment_id,
        }
    }

    fn problems(request: EventRequest) -> Vec<Problem> {
        NewEvent::parse(request, MAX)
            .unwrap_err()
            .problems()
            .to_vec()
    }

    #[test]
    fn a_valid_event_parses_and_ignores_the_client_receive_time() {
        let mut valid = request(1, 0, "deployed", Some(5));
        if let Some(timestamp) = valid.timestamp.as_mut() {
            timestamp.receive = 99;
        }
        let event = NewEvent::parse(valid, MAX).unwrap();
        assert_eq!(
            (
                event.id(),
                event.deployment_id(),
                event.message(),
                event.send_ns()
            ),
            (1, 0, "deployed", 5)
        );
        assert_eq!(event.received_at(7).receive_ns, 7);
    }

    #[test]
    fn a_missing_timestamp_is_a_problem_not_a_crash() {
        assert_eq!(
            problems(request(1, 1, "m", None)),
            [Problem::MissingTimestamp]
        );
        assert_eq!(
            problems(request(1, 1, "m", Some(0))),
            [Problem::SendNotPositive(0)]
        );
        assert_eq!(
            problems(request(1, 1, "m", Some(-4))),
            [Problem::SendNotPositive(-4)]
        );
    }

    #[test]
    fn ids_deployments_and_messages_are_checked() {
        assert_eq!(
            problems(request(0, 1, "m", Some(1))),
            [Problem::IdNotPositive(0)]
        );
        assert_eq!(
            problems(request(-5, -1, "", None)),
            [
                Problem::IdNotPositive(-5),
                Problem::NegativeDeploymentId(-1),
                Problem::EmptyMessage,
                Problem::MissingTimestamp,
            ]
        );
        assert_eq!(
            problems(request(1, 1, "01234567890", Some(1))),
            [Problem::MessageTooLong { chars: 11, max: 10 }]
        );
    }

    #[test]
    fn the_message_limit_counts_characters_not_bytes() {
        // Ten characters, twenty bytes.
        assert!(NewEvent::parse(request(1, 1, "éééééééééé", Some(1)), MAX).is_ok());
        assert!(NewEvent::parse(request(1, 1, "ééééééééééé", Some(1)), MAX).is_err());
    }

    #[test]
    fn execution_time_is_truncated_whole_milliseconds() {
        assert_eq!(execution_time_ms(1_000_000_000, 1_004_999_999), 4);
        assert_eq!(execution_time_ms(1_004_999_999, 1_000_000_000), -4);
        assert_eq!(execution_time_ms(1, i64::MAX), (i64::MAX - 1) / 1_000_000);
    }

    #[test]
    fn a_replay_is_the_same_with_the_same_message_whatever_its_send_time() {
        let event = NewEvent::parse(request(3, 1, "m", Some(10)), MAX).unwrap();
        let stored = event.received_at(2_000_010);
        assert_eq!(replay(&stored, &event), Replay::Same);
        assert_eq!(stored.response().execution_time, 2);
        // A re-run of the client: a new send time, the same event.
        let rerun = NewEvent::parse(request(3, 1, "m", Some(9_999_999_999)), MAX).unwrap();
        assert_eq!(rerun.key(), stored.key());
        assert_eq!(replay(&stored, &rerun), Replay::Same);
        for other in [
            request(3, 1, "m ", Some(10)),
            request(3, 1, "M", Some(10)),
            // Another key is another event, never "the same" (the store looks up by key).
            request(3, 2, "m", Some(10)),
            request(4, 1, "m", Some(10)),
        ] {
            let other = NewEvent::parse(other, MAX).unwrap();
            assert_eq!(replay(&stored, &other), Replay::Conflict, "{other:?}");
        }
    }

    #[test]
    fn keys_name_the_deployment_and_the_id() {
        let event = NewEvent::parse(request(1, 2, "m", Some(1)), MAX).unwrap();
        assert_eq!(
            event.key(),
            EventKey {
                deployment_id: 2,
                id: 1
            }
        );
        assert_eq!(event.key().to_string(), "event 1 of deployment 2");
        assert_eq!(event.received_at(5).key(), event.key());
    }

    #[test]
    fn stored_events_carry_both_timestamps_on_the_wire() {
        let stored = StoredEvent {
            id: 1,
            deployment_id: 2,
            message: "m".to_owned(),
            send_ns: 3,
            receive_ns: 4,
        };
        let wire = stored.to_proto();
        assert_eq!(
            wire.timestamp,
            Some(Timestamp {
                send: 3,
                receive: 4
            })
        );
        assert_eq!(wire.deployment_id, 2);
        assert!(stored.response().success);
    }
}
