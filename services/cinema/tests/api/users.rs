//! The users service: `/users` post, list, delete and bad input.

use axum::{
    body::Body,
    http::{header, Method, StatusCode},
};
use cinema::Service;
use serde_json::{json, Value};

use crate::helpers::{assert_is_object_id, empty, seeded, UNKNOWN_ID};

#[tokio::test]
async fn users_post_list_delete() {
    let app = empty(Service::Users);
    assert_eq!(app.get("/users").await.text, r#"{"data":null}"#);
    let answer = app
        .post(
            "/users",
            r#"{"data":{"name":"Manuel","lastname":"Morejón"}}"#,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let data = answer.json()["data"].clone();
    let id = assert_is_object_id(&data["id"]);
    assert_eq!(
        answer.text,
        format!(r#"{{"data":{{"id":"{id}","name":"Manuel","lastname":"Morejón"}}}}"#)
    );
    assert_eq!(app.get("/users/").await.json()["data"][0], data);
    assert_eq!(
        app.delete(&format!("/users/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    app.delete(&format!("/users/{id}.json"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    assert!(app.users.documents().is_empty());
}

#[tokio::test]
async fn users_bad_input() {
    let app = seeded(Service::Users);
    let names: Vec<Value> = app.get("/users").await.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["name"].clone())
        .collect();
    assert_eq!(names, [json!("Manuel"), json!("Ramón"), json!("Cristina")]);
    app.post("/users", r#"{"data":{"name":{"first":"x"}}}"#)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_json");
    app.delete("/users/0")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_id");
    app.delete(&format!("/users/{UNKNOWN_ID}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    let answer = app.send(Method::PATCH, "/users", Body::empty()).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers[header::ALLOW], "GET, POST");
    assert_eq!(app.users.documents().len(), 3);
}
