//! event-producer's HTTP shape with `oneshot`, no Redis needed (it points at a closed port):
//! the seed's error bodies next to the platform's, 405 with `Allow`, 413, 503 + `Retry-After`.
#![allow(clippy::unwrap_used)]

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
    Router,
};
use events::producer::{App, Settings};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

async fn router() -> Router {
    platform::telemetry::init_for_tests();
    let port = harness::backing::port::free_port().unwrap();
    let mut settings =
        harness::launch::events::producer_settings(&format!("redis://127.0.0.1:{port}"), "unused");
    settings.limits.body_limit_bytes = 1024;
    App::build(settings).await.unwrap().router()
}

async fn call(
    router: &Router,
    method: &str,
    path: &str,
    body: &str,
) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    let response = router
        .clone()
        .oneshot(
            Request::builder()
                .method(method)
                .uri(path)
                .body(Body::from(body.to_owned()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, headers, json)
}

#[tokio::test]
async fn unknown_paths_are_404_endpoint_not_found() {
    let router = router().await;
    for (method, path) in [("GET", "/"), ("POST", "/event/"), ("DELETE", "/nope")] {
        let (status, headers, body) = call(&router, method, path, "").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            body,
            serde_json::json!({
                "error": {"code": "not_found", "message": "Endpoint Not Found"},
                "status": 404,
                "title": "Endpoint Not Found",
                "description": "Endpoint Not Found",
            })
        );
    }
}

#[tokio::test]
async fn other_methods_on_event_are_405_titled_with_the_method() {
    let router = router().await;
    for method in ["PUT", "GET", "DELETE", "PATCH"] {
        let (status, headers, body) =
            call(&router, method, "/event", r#"{"description":"123"}"#).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(headers[header::ALLOW], "POST");
        assert_eq!(body["status"], 405);
        assert_eq!(body["title"], method);
        assert_eq!(body["description"], "Method Not Allowed");
        assert_eq!(body["error"]["code"], "method_not_allowed");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Method Not Allowed"));
    }
}

#[tokio::test]
async fn undecodable_bodies_are_400_with_the_decoder_error() {
    let router = router().await;
    let (status, _, body) = call(&router, "POST", "/event", r#"{"description":123}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let text = "json: cannot unmarshal number into Go struct field EventMessage.description of type string";
    assert_eq!(
        body,
        serde_json::json!({
            "error": {"code": "bad_request", "message": text},
            "status": 400,
            "title": "Error unmarshalling body",
            "description": text,
        })
    );
    for bad in ["", "{", "[]", "\"x\"", "nope"] {
        let (status, _, body) = call(&router, "POST", "/event", bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(body["title"], "Error unmarshalling body");
        assert_eq!(body["description"], body["error"]["message"]);
    }
    let (_, _, body) = call(&router, "POST", "/event", "").await;
    assert_eq!(body["description"], "EOF");
}

#[tokio::test]
async fn oversized_bodies_are_413_json() {
    let router = router().await;
    let big = format!(r#"{{"description":"{}"}}"#, "x".repeat(4096));
    let (status, headers, body) = call(&router, "POST", "/event", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(body["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn valid_events_without_redis_are_503_with_retry_after() {
    let router = router().await;
    for body in [r#"{"description":"hello world"}"#, "{}", "null"] {
        let (status, headers, json) = call(&router, "POST", "/event", body).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(headers[header::RETRY_AFTER], "1");
        assert_eq!(json["status"], 503);
        assert_eq!(json["title"], "Redis Client error");
        assert_eq!(json["error"]["code"], "service_unavailable");
    }
    let (status, _, _) = call(&router, "GET", "/readyz", "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, _, _) = call(&router, "GET", "/livez", "").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn metrics_name_the_event_counters() {
    let router = router().await;
    let _ = call(&router, "POST", "/event", "{").await;
    let response = router
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(text.contains("events_produced_total"), "{text}");
    assert!(
        text.contains("events_rejected_total{reason=\"bad_request\"}"),
        "{text}"
    );
    let _ = Settings::default();
}
