//! What the cinema test files share: one answer from the router, read whole.

#![allow(dead_code, clippy::unwrap_used)]

use axum::http::StatusCode;
use serde_json::Value;

/// A response, with its body read as text.
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Answer {
    /// Reads `response` whole.
    pub async fn read(response: axum::response::Response) -> Answer {
        use http_body_util::BodyExt as _;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            text: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    /// The body as JSON, or a failure that shows it.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|error| panic!("{error}: {}", self.text))
    }
}
