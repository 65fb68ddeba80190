//! `GET /users/{id}/suggestions` over real HTTP: the movies, showtimes and bookings services run
//! on loopback ports over in-memory stores (or are replaced by misbehaving stand-ins: a refused
//! port, a listener that never answers, 5xx, garbage), and the users router calls them.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
    routing::get,
    Router,
};
use cinema::{
    build_router, repo::InMemoryRepo, router, seed, settings::SuggestionSettings,
    users::suggestions::upstream::Upstream, Repos, Service,
};
use harness::backing::port::free_port;
use platform::{health::Readiness, http::Limits};
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::helpers::{call, seeded_repos, Answer};

/// Serves `app` on a free loopback port for the rest of the test; returns its base URL.
async fn serve(app: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// The real movies, showtimes and bookings services over `repos`.
async fn serve_dependencies(repos: &Repos) -> SuggestionSettings {
    let mut urls = Vec::new();
    for service in [Service::Movies, Service::Showtimes, Service::Bookings] {
        urls.push(serve(router(service, repos, Readiness::new(), &Limits::default())).await);
    }
    SuggestionSettings {
        movies_url: urls[0].clone(),
        showtimes_url: urls[1].clone(),
        bookings_url: urls[2].clone(),
        timeout: Duration::from_millis(800),
        attempts: 3,
        retry_backoff: Duration::from_millis(20),
        ..SuggestionSettings::default()
    }
}

/// `GET path` on the users service over `repos`, calling the others as `settings` say.
async fn ask(repos: &Repos, settings: SuggestionSettings, method: Method, path: &str) -> Answer {
    let users = build_router(
        Service::Users,
        repos,
        Readiness::new(),
        &Limits::default(),
        None,
        Arc::new(Upstream::new(settings)),
    );
    let request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .unwrap();
    call(&users, request).await
}

fn suggestions_path(user: &str) -> String {
    format!("/users/{user}/suggestions")
}

/// `(title, score)` of each suggestion, in order.
fn ranked(answer: &Answer) -> Vec<(String, u64)> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.json()["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no list: {}", answer.text))
        .iter()
        .map(|movie| {
            (
                movie["title"].as_str().unwrap().to_owned(),
                movie["score"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, u64)]) -> Vec<(String, u64)> {
    expected
        .iter()
        .map(|(title, score)| ((*title).to_owned(), *score))
        .collect()
}

fn assert_error(answer: &Answer, status: StatusCode, code: &str, mentions: &str) {
    assert_eq!(answer.status, status, "{}", answer.text);
    let body: Value = answer.json();
    assert_eq!(body["error"]["code"], code, "{}", answer.text);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains(mentions), "{message}");
}

#[tokio::test]
async fn seeded_users_get_the_movies_their_co_bookers_booked() {
    let repos = seeded_repos();
    let settings = serve_dependencies(&repos).await;
    let cristina = ask(
        &repos,
        settings.clone(),
        Method::GET,
        &suggestions_path(seed::USER_CRISTINA),
    )
    .await;
    assert_eq!(
        ranked(&cristina),
        pairs(&[("El padrino", 2), ("Vampiros en La Habana", 1)])
    );
    let first = &cristina.json()["data"][0];
    assert_eq!(
        first,
        &json!({
            "id": seed::MOVIE_PADRINO,
            "title": "El padrino",
            "director": "Francis Ford Coppola",
            "rating": "9.2",
            "createdon": "2016-08-16T22:00:00Z",
            "score": 2,
            "showtimes": ["2016-08-15", "2016-08-18"],
        })
    );
    let manuel = ask(
        &repos,
        settings,
        Method::GET,
        &suggestions_path(seed::USER_MANUEL),
    )
    .await;
    assert_eq!(ranked(&manuel), pairs(&[("Fresa y Chocolate", 2)]));
}

#[tokio::test]
async fn a_user_who_booked_everything_gets_an_empty_list_not_null() {
    let repos = seeded_repos();
    let settings = serve_dependencies(&repos).await;
    let everything = seed::movies()
        .iter()
        .map(|movie| movie.id.to_hex())
        .collect::<Vec<_>>();
    let mut bookings = seed::bookings();
    bookings[0].movies = Some(everything);
    let repos = Repos {
        bookings: Arc::new(InMemoryRepo::with(bookings)),
        ..repos
    };
    let settings = SuggestionSettings {
        bookings_url: serve(router(
            Service::Bookings,
            &repos,
            Readiness::new(),
            &Limits::default(),
        ))
        .await,
        ..settings
    };
    let answer = ask(
        &repos,
        settings,
        Method::GET,
        &suggestions_path(seed::USER_MANUEL),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.text, r#"{"data":[]}"#);
}

#[tokio::test]
async fn malformed_and_unknown_users_and_other_methods_are_4xx() {
    let repos = seeded_repos();
    let settings = serve_dependencies(&repos).await;
    let malformed = ask(
        &repos,
        settings.clone(),
        Method::GET,
        "/users/nope/suggestions",
    )
    .await;
    assert_error(&malformed, StatusCode::BAD_REQUEST, "invalid_id", "nope");
    let unknown = ask(
        &repos,
        settings.clone(),
        Method::GET,
        &suggestions_path("0123456789abcdef01234567"),
    )
    .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "not_found", "user");
    let post = ask(
        &repos,
        settings,
        Method::POST,
        &suggestions_path(seed::USER_MANUEL),
    )
    .await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED, "{}", post.text);
}

/// Ramón's suggestions with the real showtimes and bookings services and the movies service at
/// `movies_url` (a stand-in), optionally with another suggestions timeout.
async fn ramon_with_movies_at(movies_url: String, timeout: Option<Duration>) -> Answer {
    let repos = seeded_repos();
    let defaults = serve_dependencies(&repos).await;
    let settings = SuggestionSettings {
        movies_url,
        timeout: timeout.unwrap_or(defaults.timeout),
        ..defaults
    };
    ask(
        &repos,
        settings,
        Method::GET,
        &suggestions_path(seed::USER_RAMON),
    )
    .await
}

/// A loopback port with nothing listening on it.
async fn refused_url() -> String {
    format!("http://127.0.0.1:{}", free_port().unwrap())
}

#[tokio::test]
async fn an_unreachable_movies_service_is_a_502_naming_it() {
    let answer = ramon_with_movies_at(refused_url().await, None).await;
    assert_error(&answer, StatusCode::BAD_GATEWAY, "bad_gateway", "movies");
}

#[tokio::test]
async fn a_movies_service_that_never_answers_is_a_504() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts connections and holds them without a word until the test ends.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let answer =
        ramon_with_movies_at(format!("http://{addr}"), Some(Duration::from_millis(300))).await;
    assert_error(
        &answer,
        StatusCode::GATEWAY_TIMEOUT,
        "gateway_timeout",
        "movies",
    );
}

/// A stand-in movies service answering `GET /movies` with `answers[n]` on the n-th call (the
/// last one from then on); returns its URL and the call count.
async fn scripted_movies(answers: Vec<(StatusCode, &'static str)>) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = Router::new().route(
        "/movies",
        get(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let (status, body) = answers[n.min(answers.len() - 1)];
            async move { (status, body) }
        }),
    );
    (serve(app).await, calls)
}

#[tokio::test]
async fn a_failing_movies_service_is_retried_a_bounded_number_of_times_then_502() {
    let (url, calls) = scripted_movies(vec![(StatusCode::INTERNAL_SERVER_ERROR, "boom")]).await;
    let answer = ramon_with_movies_at(url, None).await;
    assert_error(&answer, StatusCode::BAD_GATEWAY, "bad_gateway", "500");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn one_503_is_retried_and_the_answer_is_whole() {
    let (url, calls) = scripted_movies(vec![
        (StatusCode::SERVICE_UNAVAILABLE, "later"),
        (
            StatusCode::OK,
            r#"{"data":[{"id":"57b37b7c377dd100054f9f93","title":"Vampiros en La Habana","rating":"7.4"}]}"#,
        ),
    ])
    .await;
    let answer = ramon_with_movies_at(url, None).await;
    assert_eq!(ranked(&answer), pairs(&[("Vampiros en La Habana", 1)]));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_garbled_answer_is_a_502_without_retries() {
    let (url, calls) = scripted_movies(vec![(StatusCode::OK, "<html>not json</html>")]).await;
    let answer = ramon_with_movies_at(url, None).await;
    assert_error(
        &answer,
        StatusCode::BAD_GATEWAY,
        "bad_gateway",
        "not a list of movies",
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// A loopback listener that accepts connections and holds them without a word; its URL.
async fn silent_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn suggestions_beyond_the_computation_bound_are_429_with_retry_after() {
    let repos = seeded_repos();
    let defaults = serve_dependencies(&repos).await;
    // One computation at a time, none waiting; the first one hangs on a silent movies service.
    let settings = SuggestionSettings {
        movies_url: silent_url().await,
        timeout: Duration::from_millis(1500),
        concurrent: 1,
        queue: 0,
        ..defaults
    };
    let users = build_router(
        Service::Users,
        &repos,
        Readiness::new(),
        &Limits::default(),
        None,
        Arc::new(Upstream::new(settings)),
    );
    let get = || {
        Request::builder()
            .uri(suggestions_path(seed::USER_RAMON))
            .body(Body::empty())
            .unwrap()
    };
    let first = tokio::spawn({
        let users = users.clone();
        let request = get();
        async move { call(&users, request).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = tokio::time::Instant::now();
    let busy = call(&users, get()).await;
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "refused at once"
    );
    assert_error(
        &busy,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        "retry",
    );
    assert_eq!(busy.headers["retry-after"], "1");
    // The first one ends as it would have (504), and frees its slot.
    assert_eq!(first.await.unwrap().status, StatusCode::GATEWAY_TIMEOUT);
    let after = call(&users, get()).await;
    assert_eq!(after.status, StatusCode::GATEWAY_TIMEOUT, "{}", after.text);
}

#[tokio::test]
async fn a_waiting_suggestion_request_gets_the_freed_slot() {
    let repos = seeded_repos();
    let settings = SuggestionSettings {
        concurrent: 1,
        queue: 8,
        queue_wait: Duration::from_secs(5),
        upstream_calls: 1,
        ..serve_dependencies(&repos).await
    };
    let users = build_router(
        Service::Users,
        &repos,
        Readiness::new(),
        &Limits::default(),
        None,
        Arc::new(Upstream::new(settings)),
    );
    let answers = futures::future::join_all((0..4).map(|_| {
        let request = Request::builder()
            .uri(suggestions_path(seed::USER_RAMON))
            .body(Body::empty())
            .unwrap();
        let users = users.clone();
        async move { call(&users, request).await }
    }))
    .await;
    for answer in answers {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    }
}
