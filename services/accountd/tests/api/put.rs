//! PUT `/users/{id}` and `/users`: 200 with an empty body, the target from the URL else the
//! body, 404 for unknown users, 400 and 409 for invalid ones.

use axum::http::StatusCode;

use crate::helpers::{app, get, golden, post, put, seeded, BRIAN, BRIAN_PUT};

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
