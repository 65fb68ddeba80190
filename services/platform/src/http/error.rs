//! [`ApiError`]: the one error body every HTTP service returns,
//! `{"error":{"code":"<snake_case>","message":"<text>"}}`.

use std::borrow::Cow;

use axum::{
    http::{header, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// An HTTP error: a status, a stable snake_case code, a human message and optional headers.
///
/// Its response is `application/json`: `{"error":{"code":..,"message":..}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: Cow<'static, str>,
    message: String,
    headers: Vec<(HeaderName, HeaderValue)>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error with any status and code.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 409 `conflict`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 405 `method_not_allowed` with an `Allow` header listing `allow` (e.g. `GET, POST`).
    pub fn method_not_allowed(allow: &'static str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("method not allowed; allowed methods: {allow}"),
        )
        .with_header(header::ALLOW, HeaderValue::from_static(allow))
    }

    /// 413 `payload_too_large`.
    pub fn payload_too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    /// 429 `too_many_requests` with `Retry-After: <retry_after_secs>`.
    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "server busy, retry after the Retry-After delay",
        )
        .with_retry_after(retry_after_secs)
    }

    /// 503 `service_unavailable` with `Retry-After: <retry_after_secs>`.
    pub fn service_unavailable(message: impl Into<String>, retry_after_secs: u64) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            message,
        )
        .with_retry_after(retry_after_secs)
    }

    /// 500 `internal` with a deliberately opaque message; log the cause where it happened.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error",
        )
    }

    /// Adds a response header.
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Adds `Retry-After: <secs>`.
    #[must_use]
    pub fn with_retry_after(self, secs: u64) -> Self {
        self.with_header(header::RETRY_AFTER, HeaderValue::from(secs))
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The snake_case code.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON body, as sent.
    pub fn body(&self) -> String {
        let body = Body {
            error: Detail {
                code: &self.code,
                message: &self.message,
            },
        };
        // Serialising two strings cannot fail; keep a literal fallback rather than panic.
        serde_json::to_string(&body).unwrap_or_else(|_| {
            r#"{"error":{"code":"internal","message":"internal server error"}}"#.to_owned()
        })
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut response = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response();
        for (name, value) in self.headers {
            response.headers_mut().append(name, value);
        }
        response
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn body_has_code_and_message() {
        let response = ApiError::conflict("attempt to insert duplicate user").into_response();
        assert_eq!(response.status(), StatusCode::CONFLICT);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            HeaderValue::from_static("application/json")
        );
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            r#"{"error":{"code":"conflict","message":"attempt to insert duplicate user"}}"#
        );
    }

    #[test]
    fn messages_are_json_escaped() {
        let error = ApiError::bad_request("quote \" and\nnewline");
        let value: serde_json::Value = serde_json::from_str(&error.body()).unwrap();
        assert_eq!(value["error"]["message"], "quote \" and\nnewline");
        assert_eq!(value["error"]["code"], "bad_request");
    }

    #[test]
    fn retry_after_and_allow_headers() {
        let response = ApiError::too_many_requests(3).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        let response = ApiError::method_not_allowed("GET, POST").into_response();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET, POST");
    }

    #[test]
    fn display_names_status_and_code() {
        assert_eq!(
            ApiError::not_found("no user 7").to_string(),
            "404 not_found: no user 7"
        );
    }
}
