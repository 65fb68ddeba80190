//! How store errors become HTTP answers: unavailable → 503 + `Retry-After` (logged as a
//! warning), anything else → an opaque 500 (logged as an error). Never a false 200.

use platform::http::ApiError;

use crate::repo::RepoError;

/// The answer to a failed store call.
pub fn store_error(error: RepoError, retry_after_secs: u64) -> ApiError {
    match error {
        RepoError::Unavailable(reason) => {
            tracing::warn!(%reason, "MongoDB unavailable");
            ApiError::service_unavailable("the database is unavailable", retry_after_secs)
        }
        RepoError::Duplicate(reason) | RepoError::Other(reason) => {
            tracing::error!(%reason, "MongoDB call failed");
            ApiError::internal()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    #[test]
    fn unavailable_is_503_with_retry_after_and_others_500() {
        let error = store_error(RepoError::Unavailable("down".into()), 2);
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        let error = store_error(RepoError::Other("E11000".into()), 2);
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.message(), "internal server error");
    }
}
