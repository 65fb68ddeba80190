//! Why a request was refused: every [`Problem`] found, so a client fixes them all at once.

use std::fmt;

/// One thing wrong with a request. The messages say what to send instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// `timestamp` is absent (the original server crashed on this).
    #[error("timestamp is missing: set timestamp.send to the time the event was sent (Unix ns)")]
    MissingTimestamp,
    /// `timestamp.send` is zero or negative.
    #[error("timestamp.send must be a Unix time in nanoseconds greater than 0, got {0}")]
    SendNotPositive(i64),
    /// The event id is zero or negative.
    #[error(
        "id must be greater than 0 (with deployment_id, the event id is the idempotency key), got {0}"
    )]
    IdNotPositive(i32),
    /// The event's deployment id is negative.
    #[error("deployment_id must be 0 or greater, got {0}")]
    NegativeDeploymentId(i32),
    /// The message is empty.
    #[error("message must not be empty")]
    EmptyMessage,
    /// The message has more characters than the server accepts.
    #[error("message is {chars} characters long; at most {max} are accepted")]
    MessageTooLong {
        /// Its length in characters (Unicode scalar values).
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// `ListEvents` was asked for a negative deployment id.
    #[error("deployment id must be 0 (all events) or greater, got {0}")]
    NegativeListDeployment(i32),
}

/// A refused request: one or more [`Problem`]s, shown joined with `; `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    problems: Vec<Problem>,
}

impl ValidationError {
    /// An error with these problems; `None` when there are none.
    pub fn from_problems(problems: Vec<Problem>) -> Option<Self> {
        (!problems.is_empty()).then_some(Self { problems })
    }

    /// A single problem.
    pub fn one(problem: Problem) -> Self {
        Self {
            problems: vec![problem],
        }
    }

    /// Every problem found, in field order.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_joined() {
        assert_eq!(ValidationError::from_problems(Vec::new()), None);
        let error =
            ValidationError::from_problems(vec![Problem::IdNotPositive(0), Problem::EmptyMessage]);
        let text = error.map(|error| error.to_string()).unwrap_or_default();
        assert_eq!(
            text,
            "id must be greater than 0 (with deployment_id, the event id is the idempotency key), \
             got 0; \
             message must not be empty"
        );
    }
}
