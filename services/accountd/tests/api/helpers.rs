//! What the router tests share: the seed's users as request bodies, the golden files, a router
//! over the in-memory store, and one request sent with `oneshot` and its [`Reply`] read whole.

use std::sync::Arc;

use accountd::{repo::InMemoryUserRepo, router, AppState};
use axum::{
    body::{Body, Bytes},
    http::{header, HeaderMap, Method, Request, StatusCode},
    Router,
};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

/// The seed's 400 message for a path that is not a route.
pub const MALFORMED_URL: &str =
    "Malformed URL, URL must be of the form /users, /users/{id}, /accountdhealth, or /metrics";
/// The seed's 400 message for a body that cannot be decoded.
pub const JSON_DECODING: &str = "JSON Decoding Error, possibly malformed JSON object";

/// The seed's test user for POST.
pub const BRIAN: &str = r#"{"accountid":1,"name":"Brian Wilson","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"}"#;
/// [`BRIAN`] as the seed's PUT body (id 6, renamed).
pub const BRIAN_PUT: &str = r#"{"accountid":1,"id":6,"name":"BeachBoy Brian Wilson","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"}"#;
/// A second new user.
pub const FRANK: &str = r#"{"accountid":1,"name":"Frank Zappa","email":"donteatyellowsnow@gmail.com","role":1,"password":"searsponcho"}"#;

/// The seed's golden body `tests/golden/<name>.golden`.
pub fn golden(name: &str) -> String {
    let path = format!("{}/tests/golden/{name}.golden", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A router over the seed's five users, and the store (to inspect password hashes).
pub fn seeded() -> (Router, Arc<InMemoryUserRepo>) {
    platform::telemetry::init_for_tests();
    let repo = Arc::new(InMemoryUserRepo::with_seed_users());
    (router(AppState::new(repo.clone())), repo)
}

/// A router over the seed's five users.
pub fn app() -> Router {
    seeded().0
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The body as text.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    /// The body as JSON, or a failure that shows it.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }

    /// Asserts an error body: JSON content type, this status and code, a message containing
    /// `fragment`.
    pub fn assert_error(&self, status: StatusCode, code: &str, fragment: &str) {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(
            self.headers[header::CONTENT_TYPE],
            "application/json",
            "{}",
            self.text()
        );
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
    }

    /// Asserts the seed's 400 `MalformedURL` body.
    pub fn assert_malformed_url(&self) {
        self.assert_error(StatusCode::BAD_REQUEST, "malformed_url", MALFORMED_URL);
    }
}

/// Sends `method uri` with these headers and body through `app`.
pub async fn send(
    app: &Router,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(body.into()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

/// `GET uri`.
pub async fn get(app: &Router, uri: &str) -> Reply {
    send(app, Method::GET, uri, &[], Body::empty()).await
}

/// `POST uri` with `body`.
pub async fn post(app: &Router, uri: &str, body: &str) -> Reply {
    send(app, Method::POST, uri, &[], body.to_owned()).await
}

/// `PUT uri` with `body`.
pub async fn put(app: &Router, uri: &str, body: &str) -> Reply {
    send(app, Method::PUT, uri, &[], body.to_owned()).await
}

/// A bulk request: `method uri` with `Bulk-Request: true` and `body`.
pub async fn bulk(app: &Router, method: Method, uri: &str, body: &str) -> Reply {
    send(
        app,
        method,
        uri,
        &[("Bulk-Request", "true")],
        body.to_owned(),
    )
    .await
}

/// A valid new user as JSON.
pub fn user(name: &str, email: &str) -> Value {
    json!({"accountid": 1, "name": name, "email": email, "role": 1, "password": "pw"})
}
