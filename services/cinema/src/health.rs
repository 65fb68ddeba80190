//! Health endpoints, all on the service port:
//!
//! - `GET /healthz`: liveness, 200 `ok` (text), as the original;
//! - `GET /healthy`: readiness, 200 `ok` when MongoDB answers a ping (and indexes exist),
//!   else 503 JSON naming the reason (the original's `500 error: <err>` was a defect);
//! - `GET /livez`, `GET /readyz`: the platform's, like every other service;
//! - `GET /metrics`: Prometheus text.
//!
//! Each also answers `HEAD` (axum's `get`).

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use platform::{health::Readiness, openapi::Routes};

/// The health and metrics routes.
pub fn routes(readiness: Readiness) -> Routes {
    Routes::new()
        .route("/healthz", get(healthz))
        .route("/healthy", get(healthy).with_state(readiness.clone()))
        .route("/metrics", get(platform::metrics::handler))
        .route("/livez", get(platform::health::livez))
        .route(
            "/readyz",
            get(platform::health::readyz).with_state(readiness),
        )
}

fn ok() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok",
    )
        .into_response()
}

/// `GET /healthz`: 200 `ok` whenever the process answers.
async fn healthz() -> Response {
    ok()
}

/// `GET /healthy`: 200 `ok` when ready, else 503 JSON.
async fn healthy(State(readiness): State<Readiness>) -> Response {
    match readiness.check().await {
        Ok(()) => ok(),
        Err(not_ready) => not_ready.into_api_error().into_response(),
    }
}
