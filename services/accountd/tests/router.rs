//! Router tests: the whole HTTP contract (contracts §1 with the §5 departures) over the
//! in-memory store, through `router(state).oneshot(..)`, with the seed's golden bodies.
#![allow(clippy::unwrap_used)]

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use accountd::{
    repo::{InMemoryUserRepo, NewUser, RepoError, UserRepo},
    router, AppState,
};
use axum::{
    body::{Body, Bytes},
    http::{header, HeaderMap, Method, Request, StatusCode},
    Router,
};
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const MALFORMED_URL: &str =
    "Malformed URL, URL must be of the form /users, /users/{id}, /accountdhealth, or /metrics";
const JSON_DECODING: &str = "JSON Decoding Error, possibly malformed JSON object";

const BRIAN: &str = r#"{"accountid":1,"name":"Brian Wilson","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"}"#;
const BRIAN_PUT: &str = r#"{"accountid":1,"id":6,"name":"BeachBoy Brian Wilson","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"}"#;
const FRANK: &str = r#"{"accountid":1,"name":"Frank Zappa","email":"donteatyellowsnow@gmail.com","role":1,"password":"searsponcho"}"#;

fn golden(name: &str) -> String {
    let path = format!("{}/tests/golden/{name}.golden", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A router over the seed's five users, and the store (to inspect password hashes).
fn seeded() -> (Router, Arc<InMemoryUserRepo>) {
    platform::telemetry::init_for_tests();
    let repo = Arc::new(InMemoryUserRepo::with_seed_users());
    (router(AppState::new(repo.clone())), repo)
}

fn app() -> Router {
    seeded().0
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }

    /// Asserts an error body: JSON content type, this status and code, a message containing
    /// `fragment`.
    fn assert_error(&self, status: StatusCode, code: &str, fragment: &str) {
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

    fn assert_malformed_url(&self) {
        self.assert_error(StatusCode::BAD_REQUEST, "malformed_url", MALFORMED_URL);
    }
}

async fn send(
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

async fn get(app: &Router, uri: &str) -> Reply {
    send(app, Method::GET, uri, &[], Body::empty()).await
}

async fn post(app: &Router, uri: &str, body: &str) -> Reply {
    send(app, Method::POST, uri, &[], body.to_owned()).await
}

async fn put(app: &Router, uri: &str, body: &str) -> Reply {
    send(app, Method::PUT, uri, &[], body.to_owned()).await
}

async fn bulk(app: &Router, method: Method, uri: &str, body: &str) -> Reply {
    send(
        app,
        method,
        uri,
        &[("Bulk-Request", "true")],
        body.to_owned(),
    )
    .await
}

fn user(name: &str, email: &str) -> Value {
    json!({"accountid": 1, "name": name, "email": email, "role": 1, "password": "pw"})
}

// ---- GET ----------------------------------------------------------------------------------

#[tokio::test]
async fn get_all_users_matches_the_seed_golden_file() {
    let reply = get(&app(), "/users").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(reply.text(), golden("testGetAllUsersSuccess"));
    let reply = get(&app(), "/users/").await;
    assert_eq!(reply.text(), golden("testGetAllUsersSuccess"));
}

#[tokio::test]
async fn get_one_user_matches_the_seed_golden_file() {
    let app = app();
    for uri in ["/users/1", "/users/1/", "/users/01", "/users/+1"] {
        let reply = get(&app, uri).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}");
        assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(reply.text(), golden("testGetOneUsersSuccess"), "{uri}");
    }
}

#[tokio::test]
async fn seed_roles_outside_the_valid_range_are_returned_as_stored() {
    let reply = get(&app(), "/users/2").await;
    assert_eq!(reply.json()["role"], 3);
}

#[tokio::test]
async fn get_unknown_user_is_404_json() {
    let app = app();
    for uri in ["/users/42", "/users/0", "/users/-1", "/users/9999999999"] {
        get(&app, uri)
            .await
            .assert_error(StatusCode::NOT_FOUND, "user_not_found", "not found");
    }
}

#[tokio::test]
async fn bad_ids_and_extra_path_nodes_are_400_malformed_url() {
    let app = app();
    for uri in [
        "/users/abc",
        "/users/1.5",
        "/users/99999999999999999999",
        "/users/1/extraNode",
        "/users/1/2/",
        "/users//1",
        "/users/%20",
    ] {
        get(&app, uri).await.assert_malformed_url();
    }
}

#[tokio::test]
async fn unknown_paths_are_400_malformed_url() {
    let app = app();
    for uri in [
        "/xxx",
        "/",
        "/unexpectedresource",
        "/user",
        "/usersx",
        "/accountdhealth/x",
    ] {
        get(&app, uri).await.assert_malformed_url();
        send(&app, Method::POST, uri, &[], "{}")
            .await
            .assert_malformed_url();
    }
}

#[tokio::test]
async fn empty_table_lists_an_empty_array() {
    let app = router(AppState::in_memory());
    let reply = get(&app, "/users").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), r#"{"users":[]}"#);
}

// ---- POST ---------------------------------------------------------------------------------

#[tokio::test]
async fn post_creates_with_201_location_and_empty_body() {
    let (app, repo) = seeded();
    let reply = post(&app, "/users", BRIAN).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(reply.headers[header::LOCATION], "/users/6");
    assert!(reply.body.is_empty());
    let reply = get(&app, "/users/6").await;
    assert_eq!(reply.text(), golden("testPOSTUserSuccess"));
    // The password is stored hashed and never returned.
    let hash = repo.password_hash(6).unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(accountd::domain::password::verify("helpmerhonda", &hash));
    assert!(!get(&app, "/users").await.text().contains("password"));
}

#[tokio::test]
async fn post_with_trailing_slash_and_go_style_keys() {
    let app = app();
    let reply = post(&app, "/users/", BRIAN).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let reply = post(
        &app,
        "/users",
        r#"{"AccountID":1,"Name":"Mike Love","eMail":"mike@love.com","ROLE":0,"Password":"kokomo"}"#,
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(reply.headers[header::LOCATION], "/users/7");
    assert_eq!(get(&app, "/users/7").await.json()["email"], "mike@love.com");
}

#[tokio::test]
async fn post_duplicate_email_is_409() {
    let app = app();
    assert_eq!(
        post(&app, "/users", BRIAN).await.status,
        StatusCode::CREATED
    );
    let reply = post(&app, "/users", BRIAN).await;
    reply.assert_error(
        StatusCode::CONFLICT,
        "duplicate_user",
        "attempt to insert duplicate user",
    );
    assert!(!reply.headers.contains_key(header::LOCATION));
    let taken = r#"{"accountid":1,"name":"Brian Wilson","email":"mickeyd@gmail.com","role":1,"password":"helpmerhonda"}"#;
    post(&app, "/users", taken).await.assert_error(
        StatusCode::CONFLICT,
        "duplicate_user",
        "duplicate user",
    );
}

#[tokio::test]
async fn post_with_an_id_is_400_with_the_seed_text() {
    let body = r#"{"accountid":1,"id":4,"name":"x","email":"x@x","role":1,"password":"p"}"#;
    post(&app(), "/users", body).await.assert_error(
        StatusCode::BAD_REQUEST,
        "unexpected_id",
        "expected User.ID > 0, got User.ID = 4",
    );
}

#[tokio::test]
async fn invalid_users_are_400_db_insert_or_update_failed() {
    let app = app();
    let cases = [
        (
            json!({"accountid": 0, "name": "n", "email": "n@x", "role": 1, "password": "p"}),
            "accountid",
        ),
        (
            json!({"name": "n", "email": "n@x", "role": 1, "password": "p"}),
            "accountid",
        ),
        (
            json!({"accountid": 1, "name": "", "email": "n@x", "role": 1, "password": "p"}),
            "name",
        ),
        (
            json!({"accountid": 1, "name": "n", "email": "", "role": 1, "password": "p"}),
            "email",
        ),
        (
            json!({"accountid": 1, "name": "n", "email": "nobody", "role": 1, "password": "p"}),
            "'@'",
        ),
        (
            json!({"accountid": 1, "name": "n", "email": "n@x", "role": 3, "password": "p"}),
            "role",
        ),
        (
            json!({"accountid": 1, "name": "n", "email": "n@x", "role": -1, "password": "p"}),
            "role",
        ),
        (
            json!({"accountid": 1, "name": "n", "email": "n@x", "role": 1}),
            "password",
        ),
        (
            json!({"accountid": 1, "name": "x".repeat(256), "email": "n@x", "role": 1, "password": "p"}),
            "at most 255",
        ),
        (
            json!({"accountid": 1, "name": "n", "email": format!("{}@x.com", "e".repeat(300)), "role": 1, "password": "p"}),
            "email",
        ),
        (
            json!({"accountid": 1, "name": "n", "email": "n@x", "role": 1, "password": "p".repeat(256)}),
            "password",
        ),
        (
            json!({"accountid": 3_000_000_000_i64, "name": "n", "email": "n@x", "role": 1, "password": "p"}),
            "accountid",
        ),
        (Value::Null, "name"),
    ];
    for (body, fragment) in cases {
        let reply = post(&app, "/users", &body.to_string()).await;
        reply.assert_error(
            StatusCode::BAD_REQUEST,
            "invalid_user",
            "DB insert or update failed",
        );
        assert!(reply.text().contains(fragment), "{body}: {}", reply.text());
    }
    // A 255-character name (multi-byte) is fine.
    let body = json!({"accountid": 1, "name": "é".repeat(255), "email": "long@x", "role": 2, "password": "p"});
    assert_eq!(
        post(&app, "/users", &body.to_string()).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn post_to_a_user_path_is_400_malformed_url() {
    let app = app();
    post(&app, "/users/1", BRIAN).await.assert_malformed_url();
    post(&app, "/users/abc", BRIAN).await.assert_malformed_url();
}

#[tokio::test]
async fn undecodable_bodies_are_400_json_decoding_error() {
    let app = app();
    let bodies = [
        "{bad",
        "",
        "   ",
        "[1,2]",
        "\"user\"",
        "42",
        r#"{"accountid":"1","name":"n","email":"n@x","role":1,"password":"p"}"#,
        r#"{"accountid":1,"name":7,"email":"n@x","role":1,"password":"p"}"#,
        r#"{"accountid":1.5,"name":"n","email":"n@x","role":1,"password":"p"}"#,
        r#"{"accountid":1,"name":"n","email":"n@x","role":true,"password":"p"}"#,
        r#"{"accountid":1,"name":"n","email":"n@x","role":1,"password":"p","nickname":"x"}"#,
        r#"{"ID": 1, "users": []}"#,
        r#"{"accountid":1,"name":"n","email":"n@x","role":1,"password":"p"} trailing"#,
        r#"{"accountid":99999999999999999999,"name":"n","email":"n@x","role":1,"password":"p"}"#,
        "{\"name\":\"\\ud800\"}",
    ];
    for body in bodies {
        for (method, uri) in [
            (Method::POST, "/users"),
            (Method::PUT, "/users/1"),
            (Method::PUT, "/users"),
        ] {
            send(&app, method, uri, &[], body.to_owned())
                .await
                .assert_error(StatusCode::BAD_REQUEST, "invalid_json", JSON_DECODING);
        }
    }
    // Invalid UTF-8 is not JSON either.
    send(&app, Method::POST, "/users", &[], vec![0xff_u8, 0xfe])
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_json", JSON_DECODING);
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_json() {
    let app = app();
    let huge = format!(
        r#"{{"accountid":1,"name":"{}","email":"big@x","role":1,"password":"p"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    for (method, uri) in [(Method::POST, "/users"), (Method::PUT, "/users/1")] {
        let reply = send(&app, method.clone(), uri, &[], huge.clone()).await;
        reply.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "limit");
        let length = huge.len().to_string();
        let reply = send(
            &app,
            method,
            uri,
            &[("content-length", length.as_str())],
            huge.clone(),
        )
        .await;
        reply.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "limit");
    }
}

// ---- PUT ----------------------------------------------------------------------------------

#[tokio::test]
async fn put_updates_with_200_and_empty_body() {
    let (app, repo) = seeded();
    assert_eq!(
        post(&app, "/users", BRIAN).await.status,
        StatusCode::CREATED
    );
    let before = repo.password_hash(6).unwrap();
    let reply = put(&app, "/users/6", BRIAN_PUT).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert!(reply.body.is_empty());
    assert_eq!(
        get(&app, "/users/6").await.text(),
        golden("testPUTUserSuccess")
    );
    assert_ne!(
        repo.password_hash(6).unwrap(),
        before,
        "re-hashed with a new salt"
    );
}

#[tokio::test]
async fn put_target_is_the_url_id_else_the_body_id() {
    let app = app();
    // No id in the body: the URL names the user.
    let body =
        r#"{"accountid":1,"name":"Mickey","email":"mickeyd@gmail.com","role":1,"password":"p"}"#;
    assert_eq!(put(&app, "/users/1", body).await.status, StatusCode::OK);
    assert_eq!(get(&app, "/users/1").await.json()["name"], "Mickey");
    // No URL id: the body names the user.
    let body =
        r#"{"accountid":2,"id":5,"name":"Cass","email":"mama@gmail.com","role":0,"password":"p"}"#;
    assert_eq!(put(&app, "/users", body).await.status, StatusCode::OK);
    assert_eq!(put(&app, "/users/", body).await.status, StatusCode::OK);
    assert_eq!(get(&app, "/users/5").await.json()["name"], "Cass");
    // Both, different: refused.
    put(&app, "/users/4", body).await.assert_error(
        StatusCode::BAD_REQUEST,
        "id_mismatch",
        "differs",
    );
    // Neither: refused.
    let body = r#"{"accountid":2,"name":"Cass","email":"mama@gmail.com","role":0,"password":"p"}"#;
    put(&app, "/users", body).await.assert_error(
        StatusCode::BAD_REQUEST,
        "missing_id",
        "attempted update on a non-existent user",
    );
}

#[tokio::test]
async fn put_of_an_unknown_user_is_404() {
    let app = app();
    for uri in ["/users/6", "/users/0", "/users/-3"] {
        put(&app, uri, BRIAN).await.assert_error(
            StatusCode::NOT_FOUND,
            "user_not_found",
            "attempted update on a non-existent user",
        );
    }
    put(&app, "/users", BRIAN_PUT).await.assert_error(
        StatusCode::NOT_FOUND,
        "user_not_found",
        "attempted update on a non-existent user",
    );
}

#[tokio::test]
async fn put_validation_failures_are_400_and_email_collisions_409() {
    let app = app();
    let body = r#"{"accountid":1,"name":"","email":"mickeyd@gmail.com","role":1,"password":"p"}"#;
    put(&app, "/users/1", body).await.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_user",
        "DB insert or update failed",
    );
    let body =
        r#"{"accountid":1,"name":"Peter","email":"mickeyd@gmail.com","role":1,"password":"p"}"#;
    put(&app, "/users/2", body).await.assert_error(
        StatusCode::CONFLICT,
        "duplicate_user",
        "attempt to insert duplicate user",
    );
    put(&app, "/users/abc", body).await.assert_malformed_url();
    put(&app, "/users/1/2", body).await.assert_malformed_url();
}

// ---- DELETE -------------------------------------------------------------------------------

#[tokio::test]
async fn delete_is_200_empty_whether_or_not_the_user_existed() {
    let app = app();
    assert_eq!(
        post(&app, "/users", BRIAN).await.status,
        StatusCode::CREATED
    );
    for _ in 0..2 {
        let reply = send(&app, Method::DELETE, "/users/6", &[], Body::empty()).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.body.is_empty());
        assert_eq!(reply.text(), golden("testDELETEUserSuccess"));
    }
    get(&app, "/users/6")
        .await
        .assert_error(StatusCode::NOT_FOUND, "user_not_found", "6");
    // PUT of the deleted user: 404 (the README's word; the seed said 400).
    put(&app, "/users/6", BRIAN_PUT).await.assert_error(
        StatusCode::NOT_FOUND,
        "user_not_found",
        "non-existent",
    );
    // The next create does not reuse id 6.
    let reply = post(&app, "/users", BRIAN).await;
    assert_eq!(reply.headers[header::LOCATION], "/users/7");
}

#[tokio::test]
async fn delete_of_the_collection_or_a_bad_id_is_400_malformed_url() {
    let app = app();
    for uri in ["/users", "/users/", "/users/abc", "/users/1/x"] {
        send(&app, Method::DELETE, uri, &[], Body::empty())
            .await
            .assert_malformed_url();
    }
    assert_eq!(
        get(&app, "/users").await.text(),
        golden("testGetAllUsersSuccess")
    );
}

// ---- Methods, health, metrics ---------------------------------------------------------------

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
    get(&app, "/readyz").await.assert_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
        "connection refused",
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

// ---- Bulk ---------------------------------------------------------------------------------

#[tokio::test]
async fn bulk_post_of_two_users_is_201_with_results_in_request_order() {
    let app = app();
    let body = format!(r#"{{"users":[{BRIAN},{FRANK}]}}"#);
    let reply = bulk(&app, Method::POST, "/users/", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
    assert!(!reply.headers.contains_key(header::LOCATION));
    assert!(!reply.text().contains("password"), "{}", reply.text());
    let json = reply.json();
    assert_eq!(json["overallstatus"], 201);
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for ((result, name), id) in results
        .iter()
        .zip(["Brian Wilson", "Frank Zappa"])
        .zip([6, 7])
    {
        assert_eq!(result["httpstatus"], 201);
        assert_eq!(result["errmsg"], "");
        assert_eq!(result["user"]["name"], name);
        assert_eq!(result["user"]["id"], id, "ids follow the request order");
        assert_eq!(result["user"]["href"], format!("/users/{id}"));
        assert_eq!(
            get(&app, &format!("/users/{id}")).await.json()["name"],
            name
        );
    }
    // Key order of each result and user is the seed's.
    let text = reply.text();
    assert!(text.starts_with(r#"{"overallstatus":201,"results":[{"httpstatus":201,"errmsg":"","user":{"accountid":1,"href":"/users/"#), "{text}");
    assert_eq!(
        get(&app, "/users").await.json()["users"]
            .as_array()
            .unwrap()
            .len(),
        7
    );
}

#[tokio::test]
async fn bulk_post_with_failures_is_409_with_per_user_results() {
    let app = app();
    let body = json!({"Users": [
        user("Ok One", "one@x.com"),
        user("Dup", "mickeyd@gmail.com"),
        {"accountid": 1, "id": 3, "name": "Has Id", "email": "id@x", "role": 1, "password": "p"},
        {"accountid": 1, "name": "", "email": "bad", "role": 9, "password": "p"},
        user("Ok Two", "two@x.com"),
        user("Dup Within", "one@x.com"),
    ]});
    let reply = bulk(&app, Method::POST, "/users", &body.to_string()).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text());
    let json = reply.json();
    assert_eq!(json["overallstatus"], 409);
    let results = json["results"].as_array().unwrap();
    let names: Vec<&str> = results
        .iter()
        .map(|r| r["user"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Ok One", "Dup", "Has Id", "", "Ok Two", "Dup Within"]
    );
    assert_eq!(results[1]["httpstatus"], 400);
    assert_eq!(results[1]["errmsg"], "attempt to insert duplicate user");
    assert_eq!(results[1]["user"]["id"], 0);
    assert_eq!(results[1]["user"]["href"], "");
    assert_eq!(results[2]["httpstatus"], 400);
    assert_eq!(
        results[2]["errmsg"],
        "expected User.ID > 0, got User.ID = 3"
    );
    assert_eq!(results[2]["user"]["id"], 3);
    assert_eq!(results[3]["httpstatus"], 400);
    assert!(results[3]["errmsg"]
        .as_str()
        .unwrap()
        .starts_with("DB insert or update failed"));
    assert_eq!(results[4]["httpstatus"], 201);
    // Users are stored in request order: ids follow it, and of two users with the same
    // e-mail the first wins.
    assert_eq!(results[0]["httpstatus"], 201);
    assert_eq!(results[0]["user"]["id"], 6);
    assert_eq!(results[4]["user"]["id"], 7);
    assert_eq!(results[5]["httpstatus"], 400);
    assert_eq!(results[5]["errmsg"], "attempt to insert duplicate user");
    assert!(!reply.text().contains("password"));
}

#[tokio::test]
async fn bulk_put_updates_each_user_and_reports_missing_ones() {
    let app = app();
    let body = json!({"users": [
        {"accountid": 1, "id": 1, "name": "Solo Mickey", "email": "mickeyd@gmail.com", "role": 1, "password": "p"},
        {"accountid": 1, "id": 2, "name": "Solo Peter", "email": "petertd@gmail.com", "role": 2, "password": "p"},
    ]});
    let reply = bulk(&app, Method::PUT, "/users/", &body.to_string()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let json = reply.json();
    assert_eq!(json["overallstatus"], 200);
    assert_eq!(json["results"][0]["httpstatus"], 200);
    assert_eq!(json["results"][0]["user"]["name"], "Solo Mickey");
    assert_eq!(get(&app, "/users/2").await.json()["name"], "Solo Peter");

    // The URL id is ignored on bulk PUT; unknown, missing-id and colliding users fail alone.
    let body = json!({"users": [
        {"accountid": 1, "id": 99, "name": "Ghost", "email": "ghost@x", "role": 1, "password": "p"},
        {"accountid": 1, "name": "No Id", "email": "noid@x", "role": 1, "password": "p"},
        {"accountid": 1, "id": 3, "name": "Davy", "email": "mama@gmail.com", "role": 1, "password": "p"},
        {"accountid": 1, "id": 4, "name": "Nez", "email": "joanne@gmail.com", "role": 1, "password": "p"},
    ]});
    let reply = bulk(&app, Method::PUT, "/users/1", &body.to_string()).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text());
    let json = reply.json();
    assert_eq!(json["overallstatus"], 409);
    let statuses: Vec<i64> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["httpstatus"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [404, 400, 400, 200]);
    assert_eq!(
        json["results"][0]["errmsg"],
        "attempted update on a non-existent user"
    );
    assert_eq!(
        json["results"][2]["errmsg"],
        "attempt to insert duplicate user"
    );
    assert_eq!(get(&app, "/users/1").await.json()["name"], "Solo Mickey");
    assert_eq!(get(&app, "/users/4").await.json()["name"], "Nez");
}

#[tokio::test]
async fn bulk_with_no_users_is_success_with_empty_results() {
    let app = app();
    let reply = bulk(&app, Method::POST, "/users", r#"{"users":[]}"#).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.text(), r#"{"overallstatus":201,"results":[]}"#);
    let reply = bulk(&app, Method::PUT, "/users", r#"{"users":[]}"#).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), r#"{"overallstatus":200,"results":[]}"#);
}

#[tokio::test]
async fn bulk_header_values_follow_go_parse_bool() {
    let app = app();
    let body = format!(r#"{{"users":[{BRIAN}]}}"#);
    for value in ["1", "t", "T", "TRUE", "true", "True"] {
        let reply = send(
            &app,
            Method::POST,
            "/users",
            &[("Bulk-Request", value)],
            body.clone(),
        )
        .await;
        assert!(
            reply.status == StatusCode::CREATED || reply.status == StatusCode::CONFLICT,
            "{value}: {}",
            reply.text()
        );
        assert!(reply.json()["overallstatus"].is_number(), "{value}");
    }
    for value in ["0", "f", "F", "FALSE", "false", "False"] {
        let reply = send(
            &app,
            Method::POST,
            "/users",
            &[("Bulk-Request", value)],
            FRANK,
        )
        .await;
        assert!(
            reply.status == StatusCode::CREATED || reply.status == StatusCode::CONFLICT,
            "{value}: {}",
            reply.text()
        );
        assert!(
            reply.body.is_empty() || reply.json()["error"].is_object(),
            "{value}"
        );
    }
    for value in ["ShouldBeTrueOrFalse", "yes", "2"] {
        for method in [Method::POST, Method::PUT] {
            send(
                &app,
                method,
                "/users",
                &[("Bulk-Request", value)],
                body.clone(),
            )
            .await
            .assert_error(
                StatusCode::BAD_REQUEST,
                "invalid_bulk_header",
                &format!("Expected 'true' or 'false' value for 'Bulk-Request' header, got {value}"),
            );
        }
    }
}

#[tokio::test]
async fn bulk_and_single_bodies_do_not_mix() {
    let app = app();
    // A bulk body without the header (the seed's testBulkPOSTHeaderNotSet).
    let body = format!(r#"{{"users":[{BRIAN}]}}"#);
    send(
        &app,
        Method::POST,
        "/users",
        &[("Some-Random-Header", "SomeValue")],
        body.clone(),
    )
    .await
    .assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_json",
        "unknown field `users`",
    );
    // A single user under the header.
    bulk(&app, Method::POST, "/users", BRIAN)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_json", "unknown field");
    bulk(&app, Method::PUT, "/users/6", BRIAN_PUT)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_json", JSON_DECODING);
    // A malformed item rejects the whole request.
    bulk(
        &app,
        Method::POST,
        "/users",
        r#"{"users":[{"name":"a"},{"name":1}]}"#,
    )
    .await
    .assert_error(StatusCode::BAD_REQUEST, "invalid_json", "users[1]");
    bulk(&app, Method::POST, "/users", "{bad")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_json", JSON_DECODING);
    // Nothing was created.
    assert_eq!(
        get(&app, "/users").await.text(),
        golden("testGetAllUsersSuccess")
    );
}

#[tokio::test]
async fn bulk_requests_over_the_cap_are_413() {
    let state = AppState::in_memory();
    let cap = state.max_bulk_users;
    let app = router(state);
    let users: Vec<Value> = (0..=cap).map(|i| user("n", &format!("{i}@x"))).collect();
    let body = json!({ "users": users }).to_string();
    bulk(&app, Method::POST, "/users", &body)
        .await
        .assert_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "bulk_request_too_large",
            "at most",
        );
}

/// A store that counts how many creates run at once.
struct CountingRepo {
    inner: InMemoryUserRepo,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl UserRepo for CountingRepo {
    fn list(&self) -> BoxFuture<'_, Result<Vec<accountd::domain::User>, RepoError>> {
        self.inner.list()
    }
    fn get(&self, id: i64) -> BoxFuture<'_, Result<Option<accountd::domain::User>, RepoError>> {
        self.inner.get(id)
    }
    fn create<'a>(&'a self, user: &'a NewUser) -> BoxFuture<'a, Result<i64, RepoError>> {
        Box::pin(async move {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            let result = self.inner.create(user).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            result
        })
    }
    fn update<'a>(&'a self, id: i64, user: &'a NewUser) -> BoxFuture<'a, Result<(), RepoError>> {
        self.inner.update(id, user)
    }
    fn delete(&self, id: i64) -> BoxFuture<'_, Result<bool, RepoError>> {
        self.inner.delete(id)
    }
    fn ping(&self) -> BoxFuture<'_, Result<(), RepoError>> {
        self.inner.ping()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bulk_stores_users_one_at_a_time_in_request_order() {
    let repo = Arc::new(CountingRepo {
        inner: InMemoryUserRepo::new(),
        in_flight: AtomicUsize::new(0),
        max_in_flight: AtomicUsize::new(0),
    });
    let mut state = AppState::new(repo.clone());
    state.max_concurrent_bulk_operations = 3;
    let app = router(state);
    let users: Vec<Value> = (0..20)
        .map(|i| user(&format!("user {i}"), &format!("u{i}@x")))
        .collect();
    let reply = bulk(
        &app,
        Method::POST,
        "/users",
        &json!({ "users": users }).to_string(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let json = reply.json();
    let names: Vec<String> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["user"]["name"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (0..20).map(|i| format!("user {i}")).collect();
    assert_eq!(names, expected);
    let ids: Vec<i64> = json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["user"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, (1..=20).collect::<Vec<i64>>());
    // Hashing runs concurrently (see the pipeline unit test in src/routes/bulk.rs); the store
    // sees one user at a time.
    assert_eq!(repo.max_in_flight.load(Ordering::SeqCst), 1);
}

// ---- OpenAPI ------------------------------------------------------------------------------

const PROBE_METHODS: [Method; 7] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::HEAD,
    Method::OPTIONS,
];

/// Whether `method uri` reaches a handler that does something (not 405, not MalformedURL).
async fn is_routed(app: &Router, method: Method, uri: &str) -> bool {
    let reply = send(app, method, uri, &[], Body::empty()).await;
    if reply.status == StatusCode::METHOD_NOT_ALLOWED {
        return false;
    }
    !(reply.status == StatusCode::BAD_REQUEST
        && serde_json::from_slice::<Value>(&reply.body)
            .is_ok_and(|body| body["error"]["code"] == "malformed_url"))
}

#[tokio::test]
async fn openapi_documents_exactly_the_routes() {
    let app = app();
    let reply = get(&app, "/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert_eq!(doc, accountd::routes::openapi::document());
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();

    // Every documented path and method is routed.
    for (path, item) in paths {
        let uri = path.replace("{id}", "1");
        for method in item.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            assert!(
                is_routed(&app, method.clone(), &uri).await,
                "documented {method} {path} is not routed"
            );
        }
    }

    // Every routed /users method is documented (and nothing else under /users is routed).
    for (path, uri) in [("/users", "/users"), ("/users/{id}", "/users/1")] {
        for method in PROBE_METHODS {
            let documented = paths[path].get(method.as_str().to_lowercase()).is_some();
            let routed = is_routed(&app, method.clone(), uri).await;
            assert_eq!(
                routed, documented,
                "{method} {path}: routed {routed}, documented {documented}"
            );
        }
    }
}
