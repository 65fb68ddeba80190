//! The movies service: `/movies` and `/movies/{id}`, the seed's golden body, every class of
//! bad input, 405 with `Allow`, 404 for unknown paths, 413, and store failures (503, 500).

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
};
use cinema::{repo::memory::Failure, seed, Service};
use tower::ServiceExt as _;

use crate::helpers::{assert_is_object_id, assert_is_stored_time, empty, seeded, UNKNOWN_ID};

#[tokio::test]
async fn empty_movie_list_is_data_null() {
    let app = empty(Service::Movies);
    for uri in ["/movies", "/movies/", "/movies.json"] {
        let answer = app.get(uri).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}");
        assert_eq!(answer.content_type(), "application/json");
        assert_eq!(answer.text, r#"{"data":null}"#);
    }
}

#[tokio::test]
async fn seeded_movie_has_the_golden_body() {
    let app = seeded(Service::Movies);
    let answer = app.get(&format!("/movies/{}", seed::MOVIE_ZOOTOPIA)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type(), "application/json");
    assert_eq!(
        answer.text,
        r#"{"data":{"id":"57b37b7c377dd100054f9f92","title":"Zootopia","director":"Byron Howard","rating":"8.0","createdon":"2016-08-16T22:00:00Z"}}"#
    );
    let list = app.get("/movies").await.json();
    assert_eq!(list["data"].as_array().unwrap().len(), 4);
    assert_eq!(list["data"][0]["title"], "El padrino");
}

#[tokio::test]
async fn post_movie_answers_200_with_the_stored_document() {
    let app = empty(Service::Movies);
    let answer = app
        .post(
            "/movies",
            r#"{"data":{"id":"57b37b7c377dd100054f9f91","title":"Zootopia","director":"Byron Howard","rating":"8.0","createdon":"2001-01-01T00:00:00Z","extra":1}}"#,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.content_type(), "application/json");
    let data = answer.json()["data"].clone();
    let id = assert_is_object_id(&data["id"]);
    assert_ne!(
        id, "57b37b7c377dd100054f9f91",
        "the client's id is replaced"
    );
    assert_eq!(data["title"], "Zootopia");
    assert_eq!(data["director"], "Byron Howard");
    assert_eq!(data["rating"], "8.0");
    assert_is_stored_time(&data["createdon"]);
    assert_ne!(data["createdon"], "2001-01-01T00:00:00Z");
    assert_eq!(
        data.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["id", "title", "director", "rating", "createdon"]
    );

    // Read back: the same document, byte for byte, by id and with a format suffix.
    let again = app.get(&format!("/movies/{id}")).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["data"], data);
    assert_eq!(
        app.get(&format!("/movies/{id}.json")).await.json()["data"],
        data
    );
    assert_eq!(app.get("/movies/").await.json()["data"][0], data);
    assert_eq!(app.movies.documents().len(), 1);
}

#[tokio::test]
async fn post_movie_without_data_stores_an_empty_document() {
    let app = empty(Service::Movies);
    for body in ["{}", "null", r#"{"data":null}"#] {
        let answer = app.post("/movies/", body).await;
        assert_eq!(answer.status, StatusCode::OK, "{body}: {}", answer.text);
        let data = answer.json()["data"].clone();
        assert_eq!(data["title"], "");
        assert_eq!(data["rating"], "");
    }
    assert_eq!(app.movies.documents().len(), 3);
}

#[tokio::test]
async fn malformed_or_mistyped_movie_bodies_are_400_and_store_nothing() {
    let app = empty(Service::Movies);
    for body in [
        "",
        "{",
        "not json",
        "[]",
        r#"{"data":[]}"#,
        r#"{"data":{"title":5}}"#,
        r#"{"data":{"rating":8.0}}"#,
        r#"{"data":{"director":["x"]}}"#,
        r#"{"data":{"id":"not-an-object-id"}}"#,
        r#"{"data":{"id":12}}"#,
        r#"{"data":{"createdon":"yesterday"}}"#,
    ] {
        app.post("/movies", body)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_json");
    }
    assert!(app.movies.documents().is_empty());
}

#[tokio::test]
async fn movie_ids_malformed_are_400_and_unknown_are_404() {
    let app = seeded(Service::Movies);
    for uri in [
        "/movies/abc",
        "/movies/57b37b7c377dd100054f9f9z",
        "/movies/57b37b7c377dd100054f9f91aa",
    ] {
        app.get(uri)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_id");
        app.delete(uri)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "invalid_id");
    }
    let unknown = format!("/movies/{UNKNOWN_ID}");
    app.get(&unknown)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.delete(&unknown)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_path_id_that_is_not_utf8_is_a_json_400() {
    let app = seeded(Service::Movies);
    app.get("/movies/%FF")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_path");
    app.delete("/movies/%FF")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_path");
}

#[tokio::test]
async fn delete_movie_is_204_then_404() {
    let app = seeded(Service::Movies);
    let uri = format!("/movies/{}", seed::MOVIE_FRESA);
    let answer = app.delete(&uri).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert!(answer.text.is_empty());
    app.delete(&uri)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.get(&uri)
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.movies.documents().len(), 3);
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow() {
    let app = empty(Service::Movies);
    for (method, uri, allow) in [
        (Method::PUT, "/movies", "GET, POST"),
        (Method::DELETE, "/movies/", "GET, POST"),
        (Method::HEAD, "/movies", "GET, POST"),
        (
            Method::PUT,
            "/movies/57b37b7c377dd100054f9f91",
            "GET, DELETE",
        ),
        (
            Method::POST,
            "/movies/57b37b7c377dd100054f9f91",
            "GET, DELETE",
        ),
    ] {
        let answer = app.send(method.clone(), uri, Body::empty()).await;
        assert_eq!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}"
        );
        assert_eq!(answer.headers[header::ALLOW], allow, "{method} {uri}");
        if method != Method::HEAD {
            answer.assert_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        }
    }
}

#[tokio::test]
async fn unknown_paths_are_404_json() {
    let app = empty(Service::Movies);
    for uri in ["/", "/nope", "/showtimes", "/users", "/movies/a/b"] {
        let answer = app.get(uri).await;
        answer.assert_error(StatusCode::NOT_FOUND, "not_found");
        assert!(answer.headers.contains_key("x-request-id"));
    }
}

#[tokio::test]
async fn oversized_body_is_413() {
    let app = empty(Service::Movies);
    let title = "x".repeat(10_000);
    let body = format!(r#"{{"data":{{"title":"{title}"}}}}"#);
    let request = Request::post("/movies")
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body.clone()))
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Without Content-Length the limit applies while reading.
    app.post("/movies", &body)
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(app.movies.documents().is_empty());
}

#[tokio::test]
async fn an_unavailable_store_is_503_with_retry_after() {
    let app = seeded(Service::Movies);
    app.movies.fail_with(Some(Failure::Unavailable));
    for answer in [
        app.get("/movies").await,
        app.get(&format!("/movies/{}", seed::MOVIE_PADRINO)).await,
        app.post("/movies", r#"{"data":{"title":"X"}}"#).await,
        app.delete(&format!("/movies/{}", seed::MOVIE_PADRINO))
            .await,
    ] {
        answer.assert_error(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
        assert_eq!(answer.headers[header::RETRY_AFTER], "3");
    }
}

#[tokio::test]
async fn a_failed_insert_is_500_never_a_false_200() {
    let app = empty(Service::Movies);
    app.movies.fail_with(Some(Failure::Other));
    let answer = app.post("/movies", r#"{"data":{"title":"X"}}"#).await;
    answer.assert_error(StatusCode::INTERNAL_SERVER_ERROR, "internal");
    assert_eq!(answer.json()["error"]["message"], "internal server error");
    app.movies.fail_with(None);
    assert_eq!(app.get("/movies").await.text, r#"{"data":null}"#);
}
