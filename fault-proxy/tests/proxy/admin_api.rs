//! The admin API: Toxiproxy's JSON for what works, a 4xx `{"error", "status"}` naming the problem
//! for what does not, and nothing in flight disturbed by a refused change.

use std::time::Duration;

use axum::{body::Body, http::Request};
use fault_proxy::{admin, Proxies};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::helpers::{connect, echo, proxy_to, round_trip, PROXY};

/// `method uri` with `body` through the admin API over `proxies`: the status and the JSON body
/// (`null` when there is none).
async fn call(proxies: &Proxies, method: &str, uri: &str, body: &str) -> (u16, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let response = admin::router(proxies.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Asserts a refusal: `status`, in Toxiproxy's shape, with an error that mentions `words`.
fn assert_refused((status, body): (u16, Value), expected: u16, words: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["status"], expected, "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(words),
        "{error:?} does not mention {words:?}"
    );
}

#[tokio::test]
async fn proxies_and_toxics_round_trip_in_toxiproxys_json() {
    let proxies = Proxies::new();
    let upstream = echo().await.to_string();
    let created = call(
        &proxies,
        "POST",
        "/proxies",
        &json!({"name": "echo", "listen": "127.0.0.1:0", "upstream": upstream}).to_string(),
    )
    .await;
    assert_eq!(created.0, 201);
    assert_eq!(created.1["enabled"], true);
    assert_eq!(created.1["toxics"], json!([]));
    assert_ne!(
        created.1["listen"], "127.0.0.1:0",
        "the bound port is reported"
    );

    let toxic = call(
        &proxies,
        "POST",
        "/proxies/echo/toxics",
        r#"{"type": "latency", "attributes": {"latency": 50}}"#,
    )
    .await;
    assert_eq!(toxic.0, 200);
    assert_eq!(toxic.1["name"], "latency_downstream");
    assert_eq!(toxic.1["attributes"], json!({"latency": 50, "jitter": 0}));

    let updated = call(
        &proxies,
        "POST",
        "/proxies/echo/toxics/latency_downstream",
        r#"{"attributes": {"jitter": 5}, "toxicity": 0.5}"#,
    )
    .await;
    assert_eq!(updated.0, 200);
    assert_eq!(updated.1["attributes"], json!({"latency": 50, "jitter": 5}));
    assert_eq!(updated.1["toxicity"], 0.5);

    let listed = call(&proxies, "GET", "/proxies", "").await;
    assert_eq!(listed.1["echo"]["toxics"][0]["type"], "latency");

    let disabled = call(&proxies, "POST", "/proxies/echo", r#"{"enabled": false}"#).await;
    assert_eq!((disabled.0, &disabled.1["enabled"]), (200, &json!(false)));
    assert_eq!(call(&proxies, "POST", "/reset", "").await.0, 204);
    let shown = call(&proxies, "GET", "/proxies/echo", "").await;
    assert_eq!(
        (&shown.1["enabled"], &shown.1["toxics"]),
        (&json!(true), &json!([]))
    );

    let populated = call(
        &proxies,
        "POST",
        "/populate",
        &json!([{"name": "other", "listen": "127.0.0.1:0", "upstream": upstream}]).to_string(),
    )
    .await;
    assert_eq!(populated.0, 201);
    assert_eq!(populated.1["proxies"][0]["name"], "other");
    assert_eq!(call(&proxies, "DELETE", "/proxies/other", "").await.0, 204);
    assert_eq!(call(&proxies, "GET", "/version", "").await.0, 200);
}

#[tokio::test]
async fn bad_input_gets_a_4xx_naming_the_problem() {
    let (proxies, _) = proxy_to(echo().await).await;
    let toxics = format!("/proxies/{PROXY}/toxics");
    assert_refused(
        call(&proxies, "POST", &toxics, r#"{"type": "frobnicate"}"#).await,
        400,
        "invalid toxic type",
    );
    assert_refused(
        call(
            &proxies,
            "POST",
            &toxics,
            r#"{"type": "latency", "attributes": {"latency": -100}}"#,
        )
        .await,
        400,
        "latency",
    );
    assert_refused(
        call(
            &proxies,
            "POST",
            &toxics,
            r#"{"type": "latency", "toxicity": 1.5}"#,
        )
        .await,
        400,
        "toxicity",
    );
    assert_refused(
        call(
            &proxies,
            "POST",
            &toxics,
            r#"{"type": "latency", "stream": "sideways"}"#,
        )
        .await,
        400,
        "stream",
    );
    assert_refused(
        call(&proxies, "POST", &toxics, "{\"type\": ").await,
        400,
        "bad request body",
    );
    assert_refused(
        call(
            &proxies,
            "POST",
            "/proxies",
            r#"{"name": "x", "upstream": 7}"#,
        )
        .await,
        400,
        "bad request body",
    );
    assert_refused(
        call(&proxies, "POST", "/proxies", r#"{"name": "x"}"#).await,
        400,
        "upstream",
    );
    assert_refused(
        call(
            &proxies,
            "POST",
            "/proxies",
            r#"{"name": "x", "listen": "nowhere", "upstream": "127.0.0.1:1"}"#,
        )
        .await,
        400,
        "listen",
    );
    assert_refused(
        call(&proxies, "POST", "/populate", r#"{"name": "not a list"}"#).await,
        400,
        "bad request body",
    );

    assert_refused(
        call(&proxies, "GET", "/proxies/nope", "").await,
        404,
        "nope",
    );
    assert_refused(
        call(&proxies, "DELETE", "/proxies/nope", "").await,
        404,
        "nope",
    );
    assert_refused(
        call(
            &proxies,
            "POST",
            "/proxies/nope/toxics",
            r#"{"type": "latency"}"#,
        )
        .await,
        404,
        "nope",
    );
    assert_refused(
        call(&proxies, "DELETE", &format!("{toxics}/nothing"), "").await,
        404,
        "nothing",
    );

    let duplicate = json!({"name": PROXY, "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"});
    assert_refused(
        call(&proxies, "POST", "/proxies", &duplicate.to_string()).await,
        409,
        "already exists",
    );
    call(&proxies, "POST", &toxics, r#"{"type": "latency"}"#).await;
    assert_refused(
        call(&proxies, "POST", &toxics, r#"{"type": "latency"}"#).await,
        409,
        "latency_downstream",
    );
}

#[tokio::test]
async fn a_listen_address_taken_is_a_409_and_leaves_open_connections_alone() {
    let (proxies, listen) = proxy_to(echo().await).await;
    let mut open = connect(listen).await;
    round_trip(&mut open).await;

    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    let create = json!({"name": "another", "listen": taken, "upstream": "127.0.0.1:1"});
    assert_refused(
        call(&proxies, "POST", "/proxies", &create.to_string()).await,
        409,
        &taken,
    );
    let moved = json!({"listen": taken});
    assert_refused(
        call(
            &proxies,
            "POST",
            &format!("/proxies/{PROXY}"),
            &moved.to_string(),
        )
        .await,
        409,
        &taken,
    );

    let info = proxies.get(PROXY).await.unwrap();
    assert_eq!(
        info.listen,
        listen.to_string(),
        "the refused move changed nothing"
    );
    assert!(
        round_trip(&mut open).await < Duration::from_millis(50),
        "still connected"
    );
}
