//! Router tests: every route of the four services over in-memory stores, with `oneshot`
//! (status, headers and JSON bodies, including every class of bad input).

#![allow(clippy::unwrap_used)]

mod common;

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
    Router,
};
use cinema::{
    bookings::{Booking, InMemoryBookingRepo},
    movies::{InMemoryMovieRepo, Movie},
    repo::{memory::Failure, InMemoryRepo, Record},
    router, seed,
    showtimes::{InMemoryShowtimeRepo, Showtime},
    users::{InMemoryUserRepo, User},
    Repos, Service,
};
use common::Answer;
use platform::{health::Readiness, http::Limits};
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt as _;

/// In-memory stores (pre-loaded with the seed) and the router of one service over them.
struct TestApp {
    router: Router,
    movies: InMemoryMovieRepo,
    showtimes: InMemoryShowtimeRepo,
    bookings: InMemoryBookingRepo,
    users: InMemoryUserRepo,
}

fn repos_of(
    movies: &InMemoryMovieRepo,
    showtimes: &InMemoryShowtimeRepo,
    bookings: &InMemoryBookingRepo,
    users: &InMemoryUserRepo,
) -> Repos {
    Repos {
        movies: Arc::new(movies.clone()),
        showtimes: Arc::new(showtimes.clone()),
        bookings: Arc::new(bookings.clone()),
        users: Arc::new(users.clone()),
    }
}

fn limits() -> Limits {
    Limits {
        body_limit_bytes: 4096,
        retry_after_secs: 3,
        ..Limits::default()
    }
}

fn app_with(service: Service, seeded: bool, readiness: Readiness) -> TestApp {
    let (movies, showtimes, bookings, users) = if seeded {
        (
            InMemoryRepo::with(seed::movies()),
            InMemoryRepo::with(seed::showtimes()),
            InMemoryRepo::with(seed::bookings()),
            InMemoryRepo::with(seed::users()),
        )
    } else {
        (
            InMemoryRepo::new(),
            InMemoryRepo::new(),
            InMemoryRepo::new(),
            InMemoryRepo::new(),
        )
    };
    let repos = repos_of(&movies, &showtimes, &bookings, &users);
    TestApp {
        router: router(service, &repos, readiness, &limits()),
        movies,
        showtimes,
        bookings,
        users,
    }
}

fn empty(service: Service) -> TestApp {
    app_with(service, false, Readiness::new())
}

fn seeded(service: Service) -> TestApp {
    app_with(service, true, Readiness::new())
}

impl Answer {
    fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .map_or("", |value| value.to_str().unwrap())
    }

    fn assert_error(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.content_type(), "application/json", "{}", self.text);
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "{}", self.text);
        assert!(body["error"]["message"].is_string(), "{}", self.text);
    }
}

impl TestApp {
    async fn send(&self, method: Method, uri: &str, body: impl Into<Body>) -> Answer {
        let response = self
            .router
            .clone()
            .oneshot(
                Request::builder()
                    .method(method)
                    .uri(uri)
                    .body(body.into())
                    .unwrap(),
            )
            .await
            .unwrap();
        Answer::read(response).await
    }

    async fn get(&self, uri: &str) -> Answer {
        self.send(Method::GET, uri, Body::empty()).await
    }

    async fn post(&self, uri: &str, body: &str) -> Answer {
        self.send(Method::POST, uri, body.to_owned()).await
    }

    async fn delete(&self, uri: &str) -> Answer {
        self.send(Method::DELETE, uri, Body::empty()).await
    }
}

const UNKNOWN_ID: &str = "5c3d9b2e8f1a4b0001a1b2c3";

fn assert_is_object_id(value: &Value) -> String {
    let id = value.as_str().unwrap().to_owned();
    assert_eq!(id.len(), 24, "{id}");
    assert!(
        id.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "{id}"
    );
    id
}

/// RFC 3339 in UTC with at most millisecond precision, as Mongo stores it.
fn assert_is_stored_time(value: &Value) {
    let text = value.as_str().unwrap();
    assert!(text.ends_with('Z'), "{text}");
    let parsed =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap();
    assert_eq!(parsed.nanosecond() % 1_000_000, 0, "{text}");
}

// ---------------------------------------------------------------- movies

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

// ---------------------------------------------------------------- showtimes

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

// ---------------------------------------------------------------- bookings

#[tokio::test]
async fn bookings_post_echoes_without_createdon() {
    let app = empty(Service::Bookings);
    assert_eq!(app.get("/bookings/").await.text, r#"{"data":null}"#);
    let answer = app
        .post(
            "/bookings",
            r#"{"data":{"userid":"57b378da202bba0005a61b87","showtimeid":"57b37e39d88780000587358a","movies":["57b37b7c377dd100054f9f91"]}}"#,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let data = answer.json()["data"].clone();
    let id = assert_is_object_id(&data["id"]);
    assert_eq!(
        answer.text,
        format!(
            r#"{{"data":{{"id":"{id}","userid":"57b378da202bba0005a61b87","showtimeid":"57b37e39d88780000587358a","movies":["57b37b7c377dd100054f9f91"]}}}}"#
        )
    );
    assert_eq!(app.get("/bookings").await.json()["data"][0], data);
    assert_eq!(app.bookings.documents().len(), 1);
}

#[tokio::test]
async fn bookings_bad_input_and_delete() {
    let app = seeded(Service::Bookings);
    assert_eq!(
        app.get("/bookings").await.json()["data"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    app.post("/bookings", r#"{"data":{"userid":7}}"#)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_json");
    let first = seed::bookings()[0].id().to_hex();
    assert_eq!(
        app.delete(&format!("/bookings/{first}")).await.status,
        StatusCode::NO_CONTENT
    );
    app.delete(&format!("/bookings/{first}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found");
    app.delete("/bookings/xyz")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_id");
    let answer = app.get(&format!("/bookings/{first}")).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.headers[header::ALLOW], "DELETE");
    assert_eq!(app.bookings.documents().len(), 4);
}

// ---------------------------------------------------------------- users

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

// ---------------------------------------------------------------- health

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

/// Keeps the record types in use so the imports above document what each service stores.
#[test]
fn collections_are_named_as_in_the_original() {
    assert_eq!(Movie::COLLECTION, "movies");
    assert_eq!(Showtime::COLLECTION, "showtimes");
    assert_eq!(Booking::COLLECTION, "bookings");
    assert_eq!(User::COLLECTION, "users");
}
