//! Toxiproxy's HTTP admin API over a [`Proxies`] registry, so that existing Toxiproxy clients
//! drive it:
//!
//! | route | does |
//! |---|---|
//! | `GET /version` | `{"version": …}` |
//! | `POST /reset` | removes every toxic, enables every proxy (204) |
//! | `GET /proxies` | every proxy, by name |
//! | `POST /proxies` | creates a proxy (201) |
//! | `POST /populate` | creates or replaces a list of proxies (201, `{"proxies": […]}`) |
//! | `GET`, `POST`/`PATCH`, `DELETE /proxies/{proxy}` | shows, updates (`enabled`, `listen`, `upstream`), deletes (204) |
//! | `GET`, `POST /proxies/{proxy}/toxics` | lists, adds a toxic |
//! | `GET`, `POST`/`PATCH`, `DELETE /proxies/{proxy}/toxics/{toxic}` | shows, updates (`attributes`, `toxicity`), removes (204) |
//!
//! Refusals are `{"error": "...", "status": N}`: 400 for a bad body or value, 404 for an unknown
//! proxy or toxic, 409 for a name or an address already taken. Requests from browsers are
//! refused (403), as Toxiproxy does, so a web page cannot drive a proxy on localhost.

mod error;
mod routes;

use std::future::Future;

use axum::{
    extract::Request,
    http::{header::USER_AGENT, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use tokio::net::TcpListener;

use crate::Proxies;
use error::ApiError;

/// The admin API's routes over `proxies`.
pub fn router(proxies: Proxies) -> Router {
    Router::new()
        .route("/version", get(routes::version))
        .route("/reset", post(routes::reset))
        .route("/populate", post(routes::populate))
        .route(
            "/proxies",
            get(routes::list_proxies).post(routes::create_proxy),
        )
        .route(
            "/proxies/{proxy}",
            get(routes::show_proxy)
                .post(routes::update_proxy)
                .patch(routes::update_proxy)
                .delete(routes::delete_proxy),
        )
        .route(
            "/proxies/{proxy}/toxics",
            get(routes::list_toxics).post(routes::create_toxic),
        )
        .route(
            "/proxies/{proxy}/toxics/{toxic}",
            get(routes::show_toxic)
                .post(routes::update_toxic)
                .patch(routes::update_toxic)
                .delete(routes::delete_toxic),
        )
        .fallback(routes::no_route)
        .layer(middleware::from_fn(refuse_browsers))
        .with_state(proxies)
}

/// Serves the admin API on `listener` until `shutdown` resolves.
pub async fn serve(
    proxies: Proxies,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(proxies))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Refuses requests whose user agent is a browser's.
async fn refuse_browsers(request: Request, next: Next) -> Response {
    let browser = request
        .headers()
        .get(USER_AGENT)
        .and_then(|agent| agent.to_str().ok())
        .is_some_and(|agent| agent.starts_with("Mozilla/"));
    if browser {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "user agent not allowed: browsers may not drive the proxy",
        )
        .into_response();
    }
    next.run(request).await
}
