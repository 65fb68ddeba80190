//! [`ApiError`]: the one error body every HTTP service returns,
//! `{"error":{"code":"<snake_case>","message":"<text>"}}`, optionally followed by extra
//! top-level members for clients of an original service that expect its own fields
//! ([`ApiError::with_member`]).

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
    members: Vec<(Cow<'static, str>, serde_json::Value)>,
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
            members: Vec::new(),
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

    /// Adds a top-level member after `error` (e.g. the seed's `"status"`, `"title"`); a name
    /// given twice keeps the last value, and `error` itself cannot be replaced.
    #[must_use]
    pub fn with_member(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        let name = name.into();
        if name != "error" {
            self.members.retain(|(existing, _)| *existing != name);
            self.members.push((name, value.into()));
        }
        self
    }

    /// The extra top-level members, in order.
    pub fn members(&self) -> &[(Cow<'static, str>, serde_json::Value)] {
        &self.members
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
        // Serialising strings and JSON values cannot fail; keep a literal fallback rather
        // than panic.
        let fallback =
            || r#"{"error":{"code":"internal","message":"internal server error"}}"#.to_owned();
        let Ok(mut text) = serde_json::to_string(&body) else {
            return fallback();
        };
        if !self.members.is_empty() {
            // Splice the members in after `error`, keeping their order.
            text.pop();
            for (name, value) in &self.members {
                let (Ok(name), Ok(value)) =
                    (serde_json::to_string(name), serde_json::to_string(value))
                else {
                    return fallback();
                };
                text.push(',');
                text.push_str(&name);
                text.push(':');
                text.push_str(&value);
            }
            text.push('}');
        }
        text
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
    fn extra_members_follow_error_in_order() {
        let error = ApiError::method_not_allowed("POST")
            .with_member("status", 405)
            .with_member("title", "PUT")
            .with_member("description", "Method Not Allowed")
            .with_member("title", "PATCH")
            .with_member("error", "ignored");
        assert_eq!(
            error.body(),
            r#"{"error":{"code":"method_not_allowed","message":"method not allowed; allowed methods: POST"},"status":405,"description":"Method Not Allowed","title":"PATCH"}"#
        );
        assert_eq!(error.members().len(), 3);
        let value: serde_json::Value = serde_json::from_str(&error.body()).unwrap();
        assert_eq!(value["status"], 405);
    }

    #[test]
    fn display_names_status_and_code() {
        assert_eq!(
            ApiError::not_found("no user 7").to_string(),
            "404 not_found: no user 7"
        );
    }
}
