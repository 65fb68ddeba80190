//! The showtimes service: `/showtimes`, the first showtime of a date, bad bodies, delete.

use axum::{
    body::Body,
    http::{header, Method, StatusCode},
};
use cinema::{seed, Service};
use serde_json::{json, Value};

use crate::helpers::{assert_is_object_id, assert_is_stored_time, empty, seeded};

#[tokio::test]
async fn showtimes_list_post_and_first_by_date() {
    let app = empty(Service::Showtimes);
    assert_eq!(app.get("/showtimes").await.text, r#"{"data":null}"#);
    let first = app
        .post(
            "/showtimes",
            r#"{"data":{"date":"2016-08-15","movies":["57b37c7b377dd100054f9f94"]}}"#,
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let first = first.json()["data"].clone();
    assert_is_object_id(&first["id"]);
    assert_is_stored_time(&first["createdon"]);
    assert_eq!(first["date"], "2016-08-15");
    assert_eq!(first["movies"], json!(["57b37c7b377dd100054f9f94"]));
    assert_eq!(
        first.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["id", "date", "createdon", "movies"]
    );
    let second = app
        .post("/showtimes/", r#"{"data":{"date":"2016-08-15"}}"#)
        .await;
    assert_eq!(second.json()["data"]["movies"], Value::Null);

    let by_date = app.get("/showtimes/2016-08-15").await;
    assert_eq!(by_date.status, StatusCode::OK);
    assert_eq!(
        by_date.json()["data"],
        first,
        "the first showtime of that day"
    );
    assert_eq!(
        app.get("/showtimes").await.json()["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(app.showtimes.documents().len(), 2);
}

#[tokio::test]
async fn unknown_showtime_date_is_404() {
    let app = seeded(Service::Showtimes);
    let answer = app.get("/showtimes/2016-08-16.json").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.text,
        r#"{"data":{"id":"57b37e39d88780000587358b","date":"2016-08-16","createdon":"2016-08-16T22:00:00Z","movies":["57b37b7c377dd100054f9f92","57b37b7c377dd100054f9f93"]}}"#
    );
    app.get("/showtimes/2020-01-01")
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn bad_showtime_bodies_are_400() {
    let app = empty(Service::Showtimes);
    for body in [
        "{x",
        r#"{"data":{"date":20160815}}"#,
        r#"{"data":{"movies":"x"}}"#,
        r#"{"data":{"movies":[1]}}"#,
    ] {
        app.post("/showtimes", body)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_json");
    }
    assert!(app.showtimes.documents().is_empty());
}

#[tokio::test]
async fn delete_showtime_by_id() {
    let app = seeded(Service::Showtimes);
    let uri = format!("/showtimes/{}", seed::SHOWTIMES[0]);
    assert_eq!(app.delete(&uri).await.status, StatusCode::NO_CONTENT);
    app.delete(&uri)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.delete("/showtimes/2016-08-15")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_id");
    app.get("/showtimes/2016-08-15")
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    let answer = app.send(Method::PUT, &uri, Body::empty()).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers[header::ALLOW], "GET, DELETE");
}
