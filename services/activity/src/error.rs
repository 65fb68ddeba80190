//! [`DomainError`]: why a call failed, and its one mapping to a gRPC status.

use tonic::Status;

use crate::{
    domain::{EventKey, ValidationError},
    repo::{Cause, RepoError},
};

/// Why a `CreateEvent` or `ListEvents` call failed.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The request is malformed: `INVALID_ARGUMENT` with every problem named.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Another event (another message) is stored under this key: `ALREADY_EXISTS`.
    #[error(
        "{key} already exists with a different message; an event id is unique within its \
         deployment: send a new id (sending the same event again is fine, whatever its \
         timestamp.send)"
    )]
    Conflict {
        /// The event's deployment and id.
        key: EventKey,
    },
    /// The server's drain deadline passed while a stream was still open: `UNAVAILABLE`.
    #[error(
        "the server is shutting down and its drain deadline passed; the list is incomplete, \
         list again"
    )]
    ShuttingDown,
    /// As many `ListEvents` streams as allowed are open: `RESOURCE_EXHAUSTED`, worth a retry.
    #[error("too many ListEvents streams are open on this server (at most {limit}); retry later")]
    TooManyStreams {
        /// The configured bound.
        limit: usize,
    },
    /// The client took no event from its `ListEvents` stream for this long: `DEADLINE_EXCEEDED`.
    #[error(
        "the client read nothing from this ListEvents stream for {} s, so the server ended it; \
         the list is incomplete, list again and read as you go",
        waited.as_secs_f64()
    )]
    SlowReader {
        /// The send timeout that passed.
        waited: std::time::Duration,
    },
    /// The store cannot be reached now: `UNAVAILABLE`, worth a retry. Details are logged.
    #[error("the event store is unavailable: {0}")]
    Unavailable(#[source] Cause),
    /// Anything else: `INTERNAL` with an opaque message. Details are logged.
    #[error("internal error: {0}")]
    Internal(#[source] Cause),
}

impl From<RepoError> for DomainError {
    fn from(error: RepoError) -> Self {
        match error {
            RepoError::Unavailable(reason) => Self::Unavailable(reason),
            RepoError::Failed(reason) => Self::Internal(reason),
        }
    }
}

impl From<DomainError> for Status {
    fn from(error: DomainError) -> Status {
        match error {
            DomainError::Invalid(_) => Status::invalid_argument(error.to_string()),
            DomainError::Conflict { .. } => Status::already_exists(error.to_string()),
            DomainError::ShuttingDown => Status::unavailable(error.to_string()),
            DomainError::TooManyStreams { .. } => Status::resource_exhausted(error.to_string()),
            DomainError::SlowReader { .. } => Status::deadline_exceeded(error.to_string()),
            DomainError::Unavailable(reason) => {
                tracing::warn!(%reason, "event store unavailable");
                Status::unavailable("the event store is unavailable; retry later")
            }
            DomainError::Internal(reason) => {
                tracing::error!(%reason, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;
    use crate::domain::Problem;

    #[test]
    fn each_error_has_its_code_and_store_details_stay_in_the_logs() {
        let invalid: Status =
            DomainError::from(ValidationError::one(Problem::MissingTimestamp)).into();
        assert_eq!(invalid.code(), Code::InvalidArgument);
        assert!(invalid.message().contains("timestamp"));

        let conflict: Status = DomainError::Conflict {
            key: EventKey {
                deployment_id: 3,
                id: 8,
            },
        }
        .into();
        assert_eq!(conflict.code(), Code::AlreadyExists);
        assert!(
            conflict
                .message()
                .starts_with("event 8 of deployment 3 already exists with a different message; "),
            "{conflict:?}"
        );

        let unavailable: Status =
            DomainError::from(RepoError::Unavailable("pool timed out at 10.0.0.1".into())).into();
        assert_eq!(unavailable.code(), Code::Unavailable);
        assert!(!unavailable.message().contains("10.0.0.1"));

        let busy: Status = DomainError::TooManyStreams { limit: 2 }.into();
        assert_eq!(busy.code(), Code::ResourceExhausted);
        assert!(busy.message().contains("at most 2"), "{busy:?}");

        let slow: Status = DomainError::SlowReader {
            waited: std::time::Duration::from_secs(30),
        }
        .into();
        assert_eq!(slow.code(), Code::DeadlineExceeded);
        assert!(slow.message().contains("30 s"), "{slow:?}");

        let internal: Status = DomainError::from(RepoError::Failed("syntax error".into())).into();
        assert_eq!(internal.code(), Code::Internal);
        assert_eq!(internal.message(), "internal error");
    }
}
