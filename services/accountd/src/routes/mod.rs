//! The HTTP surface: which path and method go to which handler.
//!
//! | path | methods |
//! |---|---|
//! | `/users`, `/users/` | GET list, POST create (or bulk), PUT update by body id (or bulk); DELETE → 400 MalformedURL |
//! | `/users/{id}`, `/users/{id}/` | GET, PUT (or bulk), DELETE; POST → 400 MalformedURL |
//! | `/accountdhealth` | any: 200 `I'm Healthy!` |
//! | `/livez`, `/readyz`, `/metrics`, `/openapi.json` | GET |
//!
//! Other methods on these paths: 405 JSON with `Allow`. Any other path: 400 JSON with the seed's
//! MalformedURL text.

mod bulk;
pub mod decode;
pub mod openapi;
mod users;

use std::time::Instant;

use axum::{
    extract::Request,
    http::{header, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{any, get, MethodRouter},
    Router,
};
use platform::http::ApiError;

pub use bulk::{parse_go_bool, BulkResponse, BulkResult, BULK_HEADER};
pub use users::{UsersBody, ALLOWED_METHODS};

use crate::{app::AppState, domain::messages, error::malformed_url};

/// The service name used in logs and metric labels.
pub const SERVICE: &str = "accountd";

fn users_collection() -> MethodRouter<AppState> {
    get(users::list)
        .post(users::create)
        .put(users::update)
        .delete(users::malformed)
        // Without this, axum would answer HEAD with the GET handler.
        .head(users::method_not_allowed)
        .fallback(users::method_not_allowed)
}

fn users_item() -> MethodRouter<AppState> {
    get(users::get_one)
        .put(users::update_at)
        .delete(users::delete)
        .post(users::malformed)
        .head(users::method_not_allowed)
        .fallback(users::method_not_allowed)
}

async fn get_only() -> ApiError {
    ApiError::method_not_allowed("GET")
}

/// `/accountdhealth`, any method.
async fn health() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        messages::HEALTHY,
    )
        .into_response()
}

async fn fallback() -> ApiError {
    malformed_url()
}

/// Records `mockvideo_user_user_request_duration_seconds{rqstStatus}` for `/users*` requests.
async fn record_user_request(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let response = next.run(req).await;
    crate::metrics::record_user_request(response.status().as_u16(), start.elapsed());
    response
}

/// The complete application: routes, state and the platform middleware stack (request ids,
/// tracing, metrics, limits). Tests drive it with `router(state).oneshot(request)`.
pub fn router(state: AppState) -> Router {
    let limits = state.limits.clone();
    let users = Router::new()
        .route("/users", users_collection())
        .route("/users/", users_collection())
        .route("/users/{id}", users_item())
        .route("/users/{id}/", users_item())
        .route_layer(middleware::from_fn(record_user_request));
    let app = Router::new()
        .merge(users)
        .route("/accountdhealth", any(health))
        .route(
            "/metrics",
            get(platform::metrics::handler).fallback(get_only),
        )
        .route("/openapi.json", get(openapi::handler).fallback(get_only))
        .route("/livez", get(platform::health::livez).fallback(get_only))
        .route("/readyz", get(platform::health::readyz).fallback(get_only))
        .fallback(fallback)
        .with_state(state);
    platform::http::with_middleware(app, SERVICE, &limits)
}
