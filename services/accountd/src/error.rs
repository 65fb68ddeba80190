//! accountd's errors and how each becomes an HTTP answer: a [`platform::http::ApiError`] for
//! single requests, a status + `errmsg` pair for each item of a bulk request.

use axum::http::StatusCode;
use platform::http::ApiError;

use crate::{
    domain::{messages, Invalid},
    repo::RepoError,
};

/// 400 with the seed's MalformedURL text.
pub fn malformed_url() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "malformed_url",
        messages::MALFORMED_URL,
    )
}

/// 404 for `GET /users/{id}` of an unknown user.
pub fn user_not_found(id: i64) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "user_not_found",
        format!("user {id} not found"),
    )
}

/// Why creating or updating one user failed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// A create carried a non-zero id.
    #[error("{}", messages::unexpected_id(*.0))]
    UnexpectedId(i64),
    /// An update named no user.
    #[error(
        "{}: the user id must be given in the URL (/users/{{id}}) or the body",
        messages::NON_EXISTENT_USER
    )]
    MissingId,
    /// An update's URL id and body id differ.
    #[error("the id in the URL ({url}) differs from the id in the body ({body})")]
    IdMismatch {
        /// From the URL.
        url: i64,
        /// From the body.
        body: i64,
    },
    /// Validation failed (or the database refused a value).
    #[error("{}: {}", messages::UPSERT_FAILED, .0)]
    Invalid(Invalid),
    /// The user to update does not exist.
    #[error("{}", messages::NON_EXISTENT_USER)]
    NotFound,
    /// The e-mail address belongs to another user.
    #[error("{}", messages::DUPLICATE_USER)]
    Duplicate,
    /// Too many passwords are being hashed (the process's bound): retry later.
    #[error("too many passwords are being hashed; retry later")]
    Overloaded,
    /// The database is unreachable or overloaded.
    #[error("the database is unavailable")]
    Unavailable,
    /// Anything else (already logged).
    #[error("internal server error")]
    Internal,
}

impl From<RepoError> for UserError {
    fn from(error: RepoError) -> Self {
        match error {
            RepoError::Duplicate => Self::Duplicate,
            RepoError::NotFound => Self::NotFound,
            RepoError::Invalid(reason) => Self::Invalid(Invalid(vec![reason])),
            RepoError::Unavailable(source) => {
                tracing::warn!(error = %source, "user store unavailable");
                Self::Unavailable
            }
            RepoError::Other(source) => {
                tracing::error!(error = %source, "user store failed");
                Self::Internal
            }
            RepoError::TimedOut => {
                tracing::warn!("user store batch rolled back: its deadline passed");
                Self::Unavailable
            }
        }
    }
}

impl UserError {
    /// The status and stable code of this error.
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::UnexpectedId(_) => (StatusCode::BAD_REQUEST, "unexpected_id"),
            Self::MissingId => (StatusCode::BAD_REQUEST, "missing_id"),
            Self::IdMismatch { .. } => (StatusCode::BAD_REQUEST, "id_mismatch"),
            Self::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_user"),
            Self::NotFound => (StatusCode::NOT_FOUND, "user_not_found"),
            Self::Duplicate => (StatusCode::CONFLICT, "duplicate_user"),
            Self::Overloaded => (StatusCode::TOO_MANY_REQUESTS, "overloaded"),
            Self::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable"),
            Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    /// The answer to a single (non-bulk) request.
    pub fn into_api_error(self, retry_after_secs: u64) -> ApiError {
        let (status, code) = self.status_and_code();
        let error = ApiError::new(status, code, self.to_string());
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
            error.with_retry_after(retry_after_secs)
        } else {
            error
        }
    }

    /// The `httpstatus` and `errmsg` of a bulk item. As in the seed, a duplicate e-mail is a
    /// 400 with exactly `attempt to insert duplicate user`.
    pub fn bulk_status(&self) -> (u16, String) {
        let status = match self {
            Self::Duplicate => StatusCode::BAD_REQUEST,
            other => other.status_and_code().0,
        };
        (status.as_u16(), self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_the_seed_texts() {
        assert_eq!(
            UserError::UnexpectedId(4).to_string(),
            "expected User.ID > 0, got User.ID = 4"
        );
        assert!(
            UserError::Invalid(Invalid(vec!["name must not be empty".into()]))
                .to_string()
                .starts_with("DB insert or update failed: name")
        );
        assert!(UserError::MissingId
            .to_string()
            .starts_with(messages::NON_EXISTENT_USER));
        assert_eq!(
            UserError::Duplicate.bulk_status(),
            (400, "attempt to insert duplicate user".to_owned())
        );
        assert_eq!(UserError::NotFound.bulk_status().0, 404);
        assert_eq!(
            UserError::Duplicate.into_api_error(1).status(),
            StatusCode::CONFLICT
        );
    }
}
