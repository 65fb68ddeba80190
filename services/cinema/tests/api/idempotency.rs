//! `Idempotency-Key` on the four services' writes, over in-memory stores: a retried POST stores
//! one document and gets the first answer (`Idempotent-Replayed: true`), the same key on another
//! body is a 422, a POST whose first answer was never kept finds its document by the id the key
//! names (also when the store answered 503 for an insert it had made after all), a retried
//! DELETE gets its 204 again, and a POST without a key works as before.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use cinema::{
    app::in_memory_keys,
    crud::id_for_key,
    movies::{InMemoryMovieRepo, Movie},
    repo::{InMemoryRepo, Record, Repo, RepoError},
    router,
    users::User,
    Repos, Service,
};
use futures::future::BoxFuture;
use mongodb::bson::{oid::ObjectId, DateTime};
use platform::{health::Readiness, http::Limits, idempotency::Key};

use crate::helpers::{call, empty, seeded, Answer, TestApp};

/// `method uri` with `Idempotency-Key: key` and `body`.
async fn send_with_key(app: &TestApp, method: Method, uri: &str, key: &str, body: &str) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    call(&app.router, request).await
}

fn replayed(answer: &Answer) -> Option<&str> {
    answer
        .headers
        .get("idempotent-replayed")
        .map(|value| value.to_str().unwrap())
}

const ZOOTOPIA: &str = r#"{"data":{"title":"Zootopia","director":"Byron Howard","rating":"8.0"}}"#;

#[tokio::test]
async fn a_retried_post_stores_one_movie_and_gets_the_first_answer() {
    let app = empty(Service::Movies);
    let first = send_with_key(&app, Method::POST, "/movies", "k-1", ZOOTOPIA).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(replayed(&first), None);
    let again = send_with_key(&app, Method::POST, "/movies", "k-1", ZOOTOPIA).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(replayed(&again), Some("true"));
    assert_eq!(again.text, first.text);
    assert_eq!(again.content_type(), "application/json");
    assert_eq!(app.movies.documents().len(), 1);
    let key = Key::parse(&"k-1".parse().unwrap()).unwrap();
    assert_eq!(
        first.json()["data"]["id"],
        id_for_key(&key, Movie::COLLECTION).to_hex(),
        "the id follows from the key"
    );
}

#[tokio::test]
async fn the_same_key_on_another_body_is_a_422() {
    let app = empty(Service::Movies);
    send_with_key(&app, Method::POST, "/movies", "k-2", ZOOTOPIA).await;
    let other = send_with_key(
        &app,
        Method::POST,
        "/movies",
        "k-2",
        r#"{"data":{"title":"Alien"}}"#,
    )
    .await;
    other.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    assert_eq!(app.movies.documents().len(), 1);
}

#[tokio::test]
async fn a_post_whose_answer_was_not_kept_finds_its_document_by_the_key() {
    // The first try stored the user, then the process died before keeping its answer: only
    // the document is there, under the id the key names.
    let app = empty(Service::Users);
    let key = Key::parse(&"lost-answer".parse().unwrap()).unwrap();
    let id = id_for_key(&key, User::COLLECTION);
    let stored = User {
        id,
        name: "Ada".to_owned(),
        lastname: "Lovelace".to_owned(),
    };
    app.users.insert(&stored).await.unwrap();

    let retry = send_with_key(
        &app,
        Method::POST,
        "/users",
        "lost-answer",
        r#"{"data":{"name":"Ada","lastname":"Lovelace"}}"#,
    )
    .await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.text);
    assert_eq!(retry.json()["data"]["id"], id.to_hex());
    assert_eq!(app.users.documents().len(), 1);

    let other = send_with_key(
        &app,
        Method::POST,
        "/users",
        "lost-answer",
        r#"{"data":{"name":"Grace","lastname":"Hopper"}}"#,
    )
    .await;
    other.assert_error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    assert_eq!(app.users.documents().len(), 1);
}

#[tokio::test]
async fn a_lost_answer_keeps_the_stored_createdon() {
    let app = empty(Service::Movies);
    let key = Key::parse(&"lost-movie".parse().unwrap()).unwrap();
    let id = id_for_key(&key, Movie::COLLECTION);
    let stored = Movie {
        id,
        title: "Zootopia".to_owned(),
        director: "Byron Howard".to_owned(),
        rating: "8.0".to_owned(),
        createdon: Some(DateTime::from_millis(1_500_000_000_000)),
    };
    app.movies.insert(&stored).await.unwrap();
    let retry = send_with_key(&app, Method::POST, "/movies", "lost-movie", ZOOTOPIA).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.text);
    assert_eq!(retry.json()["data"]["createdon"], "2017-07-14T02:40:00Z");
}

#[tokio::test]
async fn a_retried_delete_gets_its_204_again_not_a_404() {
    let app = seeded(Service::Movies);
    let uri = format!("/movies/{}", cinema::seed::MOVIE_ZOOTOPIA);
    let first = send_with_key(&app, Method::DELETE, &uri, "d-1", "").await;
    assert_eq!(first.status, StatusCode::NO_CONTENT, "{}", first.text);
    let again = send_with_key(&app, Method::DELETE, &uri, "d-1", "").await;
    assert_eq!(again.status, StatusCode::NO_CONTENT, "{}", again.text);
    assert_eq!(replayed(&again), Some("true"));
    // Without the key the second DELETE is a 404, as before.
    assert_eq!(app.delete(&uri).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn posts_without_a_key_each_store_a_document() {
    let app = empty(Service::Bookings);
    let body = r#"{"data":{"userid":"u","showtimeid":"s","movies":["m"]}}"#;
    let first = app.post("/bookings", body).await;
    let second = app.post("/bookings", body).await;
    assert_eq!(
        (first.status, second.status),
        (StatusCode::OK, StatusCode::OK)
    );
    assert_ne!(first.json()["data"]["id"], second.json()["data"]["id"]);
    assert_eq!(replayed(&second), None);
    assert_eq!(app.bookings.documents().len(), 2);
}

#[tokio::test]
async fn a_malformed_key_is_a_400_and_stores_nothing() {
    let app = empty(Service::Showtimes);
    let answer = send_with_key(
        &app,
        Method::POST,
        "/showtimes",
        "a b",
        r#"{"data":{"date":"2016-08-15"}}"#,
    )
    .await;
    answer.assert_error(StatusCode::BAD_REQUEST, "invalid_idempotency_key");
    assert!(app.showtimes.documents().is_empty());
}

/// Movies whose next insert is stored but answered as unavailable (the store's answer was
/// lost, or came after the operation timeout).
struct AnswerLost {
    movies: InMemoryMovieRepo,
    lose_next: AtomicBool,
}

impl Repo<Movie> for AnswerLost {
    fn list(&self) -> BoxFuture<'_, Result<Vec<Movie>, RepoError>> {
        self.movies.list()
    }

    fn find(&self, id: ObjectId) -> BoxFuture<'_, Result<Option<Movie>, RepoError>> {
        self.movies.find(id)
    }

    fn find_first<'a>(
        &'a self,
        field: &'static str,
        value: &'a str,
    ) -> BoxFuture<'a, Result<Option<Movie>, RepoError>> {
        self.movies.find_first(field, value)
    }

    fn insert<'a>(&'a self, document: &'a Movie) -> BoxFuture<'a, Result<(), RepoError>> {
        Box::pin(async move {
            self.movies.insert(document).await?;
            if self.lose_next.swap(false, Ordering::SeqCst) {
                return Err(RepoError::Unavailable("the answer was lost".into()));
            }
            Ok(())
        })
    }

    fn delete(&self, id: ObjectId) -> BoxFuture<'_, Result<bool, RepoError>> {
        self.movies.delete(id)
    }
}

/// The movies router over a store whose next insert loses its answer, and its documents.
fn losing_the_next_answer() -> (axum::Router, InMemoryMovieRepo) {
    let movies = InMemoryMovieRepo::new();
    let repos = Repos {
        movies: Arc::new(AnswerLost {
            movies: movies.clone(),
            lose_next: AtomicBool::new(true),
        }),
        showtimes: Arc::new(InMemoryRepo::new()),
        bookings: Arc::new(InMemoryRepo::new()),
        users: Arc::new(InMemoryRepo::new()),
        idempotency: in_memory_keys(),
    };
    let router = router(
        Service::Movies,
        &repos,
        Readiness::new(),
        &Limits::default(),
    );
    (router, movies)
}

async fn post_to(router: &axum::Router, key: Option<&str>, body: &str) -> Answer {
    let mut request = Request::post("/movies").header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    call(router, request.body(Body::from(body.to_owned())).unwrap()).await
}

#[tokio::test]
async fn an_insert_answered_503_but_stored_is_found_by_the_retry_with_its_key() {
    let (router, movies) = losing_the_next_answer();
    let first = post_to(&router, Some("stored-then-503"), ZOOTOPIA).await;
    first.assert_error(StatusCode::SERVICE_UNAVAILABLE, "service_unavailable");
    assert!(first.headers.contains_key("retry-after"));
    assert_eq!(movies.documents().len(), 1, "stored after all");
    // The 503 released the key: the retry executes, finds the document and answers it.
    let retry = post_to(&router, Some("stored-then-503"), ZOOTOPIA).await;
    assert_eq!(retry.status, StatusCode::OK, "{}", retry.text);
    assert_eq!(replayed(&retry), None);
    let key = Key::parse(&"stored-then-503".parse().unwrap()).unwrap();
    assert_eq!(
        retry.json()["data"]["id"],
        id_for_key(&key, Movie::COLLECTION).to_hex()
    );
    assert_eq!(movies.documents().len(), 1);
    let again = post_to(&router, Some("stored-then-503"), ZOOTOPIA).await;
    assert_eq!(replayed(&again), Some("true"));
    assert_eq!(again.text, retry.text);
}

#[tokio::test]
async fn without_a_key_such_a_retry_stores_a_second_document_as_before() {
    let (router, movies) = losing_the_next_answer();
    let first = post_to(&router, None, ZOOTOPIA).await;
    assert_eq!(first.status, StatusCode::SERVICE_UNAVAILABLE);
    let retry = post_to(&router, None, ZOOTOPIA).await;
    assert_eq!(retry.status, StatusCode::OK);
    assert_eq!(movies.documents().len(), 2);
}
