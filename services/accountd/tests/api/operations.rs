//! What every route shares: 405 with `Allow`, `/accountdhealth`, `/livez` and `/readyz`,
//! `/metrics` and the request id.

use accountd::{router, AppState};
use axum::{
    body::Body,
    http::{header, Method, StatusCode},
};

use crate::helpers::{app, get, post, send, BRIAN};

#[tokio::test]
async fn unsupported_methods_are_405_json_with_allow() {
    let app = app();
    for uri in ["/users", "/users/", "/users/1", "/users/1/"] {
        for method in [Method::PATCH, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            let reply = send(&app, method.clone(), uri, &[], Body::empty()).await;
            assert_eq!(
                reply.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {uri}"
            );
            assert_eq!(reply.headers[header::ALLOW], "GET, POST, PUT, DELETE");
            if method != Method::HEAD {
                reply.assert_error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    "GET, POST, PUT, DELETE",
                );
            }
        }
    }
    let reply = send(&app, Method::POST, "/metrics", &[], Body::empty()).await;
    reply.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "GET");
    assert_eq!(reply.headers[header::ALLOW], "GET");
}

#[tokio::test]
async fn accountdhealth_answers_any_method() {
    let app = app();
    for method in [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
    ] {
        let reply = send(&app, method, "/accountdhealth", &[], Body::empty()).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.text(), "I'm Healthy!");
        assert!(reply.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
    }
}

#[tokio::test]
async fn livez_and_readyz_follow_draining() {
    let state = AppState::in_memory();
    let readiness = state.readiness.clone();
    let app = router(state);
    assert_eq!(get(&app, "/livez").await.status, StatusCode::OK);
    assert_eq!(get(&app, "/readyz").await.status, StatusCode::OK);
    readiness.start_draining();
    get(&app, "/readyz").await.assert_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
        "shutting down",
    );
    assert_eq!(get(&app, "/livez").await.status, StatusCode::OK);
}

#[tokio::test]
async fn readyz_fails_when_a_check_fails() {
    let state = AppState::in_memory();
    state
        .readiness
        .add_check("mysql", || async { Err("connection refused".to_owned()) });
    let app = router(state);
    let answer = get(&app, "/readyz").await;
    answer.assert_error(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "\"mysql\"");
    // The backend's own error text stays in the log.
    assert!(
        !answer.text().contains("connection refused"),
        "{}",
        answer.text()
    );
}

#[tokio::test]
async fn metrics_expose_the_seed_names_and_the_created_counter() {
    platform::metrics::install();
    accountd::metrics::register();
    let app = app();
    assert_eq!(
        post(&app, "/users", BRIAN).await.status,
        StatusCode::CREATED
    );
    get(&app, "/users/1").await;
    get(&app, "/users/42").await;
    let reply = get(&app, "/metrics").await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = reply.text();
    for expected in [
        "mockvideo_user_user_request_duration_seconds_bucket{rqstStatus=\"201\"",
        "mockvideo_user_user_request_duration_seconds_bucket{rqstStatus=\"200\"",
        "mockvideo_user_user_request_duration_seconds_bucket{rqstStatus=\"404\"",
        "mockvideo_database_db_request_duration_seconds_bucket{target=\"userTbl\",operation=\"create\",result=\"ok\"",
        "mockvideo_database_db_request_duration_seconds_bucket{target=\"userTbl\",operation=\"readOne\",result=\"ok\"",
        "accountd_users_created_total ",
        "http_requests_total{service=\"accountd\",method=\"GET\",route=\"/users/{id}\",status=\"404\"}",
        "http_request_duration_seconds_bucket{service=\"accountd\",method=\"POST\",route=\"/users\",status=\"201\"",
    ] {
        assert!(text.contains(expected), "missing {expected}");
    }
}

#[tokio::test]
async fn every_response_has_a_request_id() {
    let app = app();
    let reply = get(&app, "/users").await;
    assert!(reply.headers.contains_key("x-request-id"));
    let reply = send(
        &app,
        Method::GET,
        "/xxx",
        &[("x-request-id", "trace-me")],
        Body::empty(),
    )
    .await;
    assert_eq!(reply.headers["x-request-id"], "trace-me");
}
