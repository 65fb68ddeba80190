//! POST `/users`: 201 with `Location`, 409 for duplicate e-mails, 400 for invalid users and
//! undecodable bodies, 413 over the body limit.

use axum::http::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{app, get, golden, post, seeded, send, BRIAN, JSON_DECODING};

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
