//! Errors of the admin API in Toxiproxy's shape: a status and `{"error": "...", "status": N}`.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use crate::ProxyError;

/// A refused request: its status and what was wrong.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    /// A body that is not the JSON asked for (Toxiproxy's `bad request body: …`).
    pub(crate) fn bad_body(error: &serde_json::Error) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("bad request body: {error}"),
        )
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The JSON body: `{"error": message, "status": code}`.
    pub(crate) fn body(&self) -> serde_json::Value {
        json!({"error": self.message, "status": self.status.as_u16()})
    }
}

impl From<ProxyError> for ApiError {
    fn from(error: ProxyError) -> Self {
        let status = match &error {
            ProxyError::NotFound(_) => StatusCode::NOT_FOUND,
            ProxyError::AlreadyExists(_) => StatusCode::CONFLICT,
            ProxyError::Invalid(_) => StatusCode::BAD_REQUEST,
            ProxyError::Bind(_, io) if io.kind() == std::io::ErrorKind::AddrInUse => {
                StatusCode::CONFLICT
            }
            ProxyError::Bind(..) => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        tracing::debug!(status = %self.status, error = %self.message, "admin request refused");
        (self.status, Json(self.body())).into_response()
    }
}
