//! Health on every service: `/healthz`, `/healthy`, `/livez`, `/readyz`, `/metrics`, and the
//! request id.

use axum::http::StatusCode;
use cinema::Service;
use platform::health::Readiness;

use crate::helpers::{app_with, empty};

#[tokio::test]
async fn health_endpoints_on_every_service() {
    for service in Service::ALL {
        let app = empty(service);
        for uri in ["/healthz", "/healthy"] {
            let answer = app.get(uri).await;
            assert_eq!(answer.status, StatusCode::OK, "{service} {uri}");
            assert_eq!(answer.text, "ok");
            assert!(answer.content_type().starts_with("text/plain"));
        }
        assert_eq!(app.get("/livez").await.status, StatusCode::OK);
        assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
        let metrics = app.get("/metrics").await;
        assert_eq!(metrics.status, StatusCode::OK);
        assert!(metrics.content_type().starts_with("text/plain"));
    }
}

#[tokio::test]
async fn healthy_is_503_json_while_mongo_is_unreachable() {
    let readiness = Readiness::new();
    readiness.add_check("mongo", || async {
        Err("server selection timeout".to_owned())
    });
    let app = app_with(Service::Movies, false, readiness);
    app.get("/healthy")
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "not_ready");
    app.get("/readyz")
        .await
        .assert_error(StatusCode::SERVICE_UNAVAILABLE, "not_ready");
    let live = app.get("/healthz").await;
    assert_eq!((live.status, live.text.as_str()), (StatusCode::OK, "ok"));
}

#[tokio::test]
async fn requests_carry_a_request_id() {
    let app = empty(Service::Users);
    let answer = app.get("/users").await;
    assert!(answer.headers.contains_key("x-request-id"));
}
