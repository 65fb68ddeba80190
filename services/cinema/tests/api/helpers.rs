//! What the HTTP tests share: in-memory stores holding the §3.3 seed (or nothing), the router
//! of one service over them, one request sent with `oneshot` and its [`Answer`] read whole,
//! and the checks of the stored shapes.

use std::sync::Arc;

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
    response::Response,
    Router,
};
use cinema::{
    bookings::InMemoryBookingRepo, movies::InMemoryMovieRepo, repo::InMemoryRepo, router, seed,
    showtimes::InMemoryShowtimeRepo, users::InMemoryUserRepo, Repos, Service,
};
use http_body_util::BodyExt as _;
use platform::{health::Readiness, http::Limits};
use serde_json::Value;
use tower::ServiceExt as _;

/// An id no seed document has.
pub const UNKNOWN_ID: &str = "5c3d9b2e8f1a4b0001a1b2c3";

/// In-memory stores holding the §3.3 seed.
pub fn seeded_repos() -> Repos {
    let (movies, showtimes, bookings, users) = stores(true);
    repos_of(&movies, &showtimes, &bookings, &users)
}

/// The four stores, holding the seed or empty.
fn stores(
    seeded: bool,
) -> (
    InMemoryMovieRepo,
    InMemoryShowtimeRepo,
    InMemoryBookingRepo,
    InMemoryUserRepo,
) {
    if seeded {
        (
            InMemoryRepo::with(seed::movies()),
            InMemoryRepo::with(seed::showtimes()),
            InMemoryRepo::with(seed::bookings()),
            InMemoryRepo::with(seed::users()),
        )
    } else {
        (
            InMemoryRepo::new(),
            InMemoryRepo::new(),
            InMemoryRepo::new(),
            InMemoryRepo::new(),
        )
    }
}

fn repos_of(
    movies: &InMemoryMovieRepo,
    showtimes: &InMemoryShowtimeRepo,
    bookings: &InMemoryBookingRepo,
    users: &InMemoryUserRepo,
) -> Repos {
    Repos {
        movies: Arc::new(movies.clone()),
        showtimes: Arc::new(showtimes.clone()),
        bookings: Arc::new(bookings.clone()),
        users: Arc::new(users.clone()),
        idempotency: cinema::app::in_memory_keys(),
    }
}

/// In-memory stores (pre-loaded with the seed) and the router of one service over them.
pub struct TestApp {
    pub router: Router,
    pub movies: InMemoryMovieRepo,
    pub showtimes: InMemoryShowtimeRepo,
    pub bookings: InMemoryBookingRepo,
    pub users: InMemoryUserRepo,
}

/// Small limits, so that tests can exceed them: a 4 KiB body, `Retry-After: 3`.
fn limits() -> Limits {
    Limits {
        body_limit_bytes: 4096,
        retry_after_secs: 3,
        ..Limits::default()
    }
}

/// `service` over the seed (or empty stores), ready as `readiness` says.
pub fn app_with(service: Service, seeded: bool, readiness: Readiness) -> TestApp {
    let (movies, showtimes, bookings, users) = stores(seeded);
    let repos = repos_of(&movies, &showtimes, &bookings, &users);
    TestApp {
        router: router(service, &repos, readiness, &limits()),
        movies,
        showtimes,
        bookings,
        users,
    }
}

/// `service` over empty stores.
pub fn empty(service: Service) -> TestApp {
    app_with(service, false, Readiness::new())
}

/// `service` over the seed.
pub fn seeded(service: Service) -> TestApp {
    app_with(service, true, Readiness::new())
}

impl TestApp {
    /// `method uri` with `body`.
    pub async fn send(&self, method: Method, uri: &str, body: impl Into<Body>) -> Answer {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(body.into())
            .unwrap();
        call(&self.router, request).await
    }

    /// `GET uri`.
    pub async fn get(&self, uri: &str) -> Answer {
        self.send(Method::GET, uri, Body::empty()).await
    }

    /// `POST uri` with `body`.
    pub async fn post(&self, uri: &str, body: &str) -> Answer {
        self.send(Method::POST, uri, body.to_owned()).await
    }

    /// `DELETE uri`.
    pub async fn delete(&self, uri: &str) -> Answer {
        self.send(Method::DELETE, uri, Body::empty()).await
    }
}

/// Sends `request` through `router` with `oneshot` and reads the answer whole.
pub async fn call(router: &Router, request: Request<Body>) -> Answer {
    Answer::read(router.clone().oneshot(request).await.unwrap()).await
}

/// A response, with its body read as text.
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
}

impl Answer {
    /// Reads `response` whole.
    pub async fn read(response: Response) -> Answer {
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

    /// The `Content-Type`, or "" without one.
    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .map_or("", |value| value.to_str().unwrap())
    }

    /// Asserts a JSON error body with this status and code, and a message.
    pub fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.content_type(), "application/json", "{}", self.text);
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "{}", self.text);
        assert!(body["error"]["message"].is_string(), "{}", self.text);
    }
}

/// Asserts `value` is an ObjectId in lower-case hex and returns it.
pub fn assert_is_object_id(value: &Value) -> String {
    let id = value.as_str().unwrap().to_owned();
    assert_eq!(id.len(), 24, "{id}");
    assert!(
        id.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "{id}"
    );
    id
}

/// RFC 3339 in UTC with at most millisecond precision, as Mongo stores it.
pub fn assert_is_stored_time(value: &Value) {
    let text = value.as_str().unwrap();
    assert!(text.ends_with('Z'), "{text}");
    let parsed =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(parsed.nanosecond() % 1_000_000, 0, "{text}");
}
