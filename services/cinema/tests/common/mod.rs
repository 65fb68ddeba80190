//! What the cinema test files share: one answer from the router, read whole, and in-memory
//! stores holding the seed.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use axum::http::StatusCode;
use cinema::{repo::InMemoryRepo, seed, Repos};
use serde_json::Value;

/// In-memory stores holding the §3.3 seed.
pub fn seeded_repos() -> Repos {
    Repos {
        movies: Arc::new(InMemoryRepo::with(seed::movies())),
        showtimes: Arc::new(InMemoryRepo::with(seed::showtimes())),
        bookings: Arc::new(InMemoryRepo::with(seed::bookings())),
        users: Arc::new(InMemoryRepo::with(seed::users())),
    }
}

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
