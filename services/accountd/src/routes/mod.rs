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
//!
//! With a JWT secret configured, every request but those to [`OPEN_PATHS`] needs a bearer token
//! for the audience `accountd` (401 JSON otherwise; see [`platform::auth`]): the users' reads
//! are personal data too.

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
use platform::{auth::Guard, http::ApiError, openapi::Routes};

pub use bulk::{parse_go_bool, BulkResponse, BulkResult, BULK_HEADER};
pub use users::{UsersBody, ALLOWED_METHODS};

use crate::{app::AppState, domain::messages, error::malformed_url};

/// The service name used in logs and metric labels.
pub const SERVICE: &str = "accountd";

/// The paths open without a token when auth is on: health, metrics and the OpenAPI document.
pub const OPEN_PATHS: &[&str] = &[
    "/accountdhealth",
    "/healthz",
    "/livez",
    "/readyz",
    "/metrics",
    "/openapi.json",
];

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

/// Every route with its handler and state, `document` served at `/openapi.json`, and the paths
/// routed (the OpenAPI document's tests hold the two to each other); no fallback,
/// authentication or middleware yet.
pub fn routes(state: AppState, document: &utoipa::openapi::OpenApi) -> Routes {
    let users = Routes::new()
        .route("/users", users_collection())
        .route("/users/", users_collection())
        .route("/users/{id}", users_item())
        .route("/users/{id}/", users_item())
        .map(|users| {
            users
                // Inside the timing, so a replayed answer is timed too.
                .route_layer(middleware::from_fn_with_state(
                    state.idempotency.clone(),
                    platform::idempotency::idempotent,
                ))
                // Outside the idempotency layer: its key store is MySQL too.
                .route_layer(middleware::from_fn_with_state(
                    state.readiness.clone(),
                    platform::health::refuse_while_unreachable,
                ))
                .route_layer(middleware::from_fn(record_user_request))
        });
    Routes::new()
        .merge(users)
        .route("/accountdhealth", any(health))
        .route(
            "/metrics",
            get(platform::metrics::handler).fallback(get_only),
        )
        .route(
            platform::openapi::DOCUMENT_PATH,
            platform::openapi::route(document),
        )
        .route("/livez", get(platform::health::livez).fallback(get_only))
        .route("/readyz", get(platform::health::readyz).fallback(get_only))
        .with_state(state)
}

/// The complete application: routes, state and the platform middleware stack (request ids,
/// tracing, metrics, limits). Tests drive it with `router(state).oneshot(request)`.
pub fn router(state: AppState) -> Router {
    let limits = state.limits.clone();
    let verifier = state.verifier.clone();
    let document = openapi::document();
    let (app, _) = routes(state, &document).into_parts();
    let app = platform::auth::protect(
        app.fallback(fallback),
        verifier,
        Guard::AllBut(OPEN_PATHS),
        &document,
    );
    platform::http::with_middleware(app, SERVICE, &limits)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::{body::Body, http::Request};
    use platform::auth::{self, Audience, AuthSettings, Claims, DEFAULT_ISSUER};
    use secrecy::SecretString;
    use tower::ServiceExt as _;

    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn app(secured: bool) -> Router {
        let mut state = AppState::in_memory();
        if secured {
            state.verifier =
                AuthSettings::with_secret(SecretString::from(SECRET)).verifier(Audience::Accountd);
        }
        router(state)
    }

    fn token(audiences: &[Audience]) -> String {
        let claims = Claims::new("tester", audiences, DEFAULT_ISSUER, Duration::from_secs(60));
        auth::issue(&SecretString::from(SECRET), &claims)
    }

    async fn status(app: Router, method: &str, uri: &str, token: Option<&str>) -> StatusCode {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = app
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        response.status()
    }

    #[tokio::test]
    async fn with_a_secret_every_route_but_the_open_ones_needs_an_accountd_token() {
        for (method, uri) in [
            ("GET", "/users"),
            ("GET", "/users/1"),
            ("POST", "/users"),
            ("PUT", "/users/1"),
            ("DELETE", "/users/1"),
            ("GET", "/nowhere"),
        ] {
            assert_eq!(
                status(app(true), method, uri, None).await,
                StatusCode::UNAUTHORIZED,
                "{method} {uri}"
            );
        }
        let cinema = token(&Audience::CINEMA);
        assert_eq!(
            status(app(true), "GET", "/users", Some(&cinema)).await,
            StatusCode::UNAUTHORIZED
        );
        let good = token(&[Audience::Accountd]);
        assert_eq!(
            status(app(true), "GET", "/users", Some(&good)).await,
            StatusCode::OK
        );
        for uri in OPEN_PATHS.iter().filter(|uri| **uri != "/healthz") {
            assert_ne!(
                status(app(true), "GET", uri, None).await,
                StatusCode::UNAUTHORIZED,
                "{uri}"
            );
        }
    }

    #[tokio::test]
    async fn without_a_secret_everything_is_open() {
        assert_eq!(
            status(app(false), "GET", "/users", None).await,
            StatusCode::OK
        );
    }
}
