//! Bulk requests (`Bulk-Request: true`): per-user results in request order, 201/200 or 409
//! overall, the header's Go `ParseBool` values, the cap, every prepared user stored in one
//! batch, and a 503 that stored nothing when the store fails or the budget runs out.

use accountd::{
    repo::{BatchOp, BatchOutcome, InMemoryUserRepo, NewUser, RepoError, UserRepo},
    router, AppState,
};
use axum::http::{header, Method, StatusCode};
use futures::future::BoxFuture;
use serde_json::{json, Value};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use crate::helpers::{
    app, bulk, get, golden, seeded, send, user, BRIAN, BRIAN_PUT, FRANK, JSON_DECODING,
};

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

/// A store that records what bulk requests ask of it, with an optional delay on `get` (the
/// existence check of a bulk PUT's prepare phase).
struct RecordingRepo {
    inner: InMemoryUserRepo,
    get_delay: Duration,
    single_writes: AtomicUsize,
    batches: Mutex<Vec<usize>>,
}

impl RecordingRepo {
    fn new(inner: InMemoryUserRepo, get_delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            inner,
            get_delay,
            single_writes: AtomicUsize::new(0),
            batches: Mutex::new(Vec::new()),
        })
    }

    fn batches(&self) -> Vec<usize> {
        self.batches.lock().unwrap().clone()
    }
}

impl UserRepo for RecordingRepo {
    fn list(&self) -> BoxFuture<'_, Result<Vec<accountd::domain::User>, RepoError>> {
        self.inner.list()
    }
    fn get(&self, id: i64) -> BoxFuture<'_, Result<Option<accountd::domain::User>, RepoError>> {
        Box::pin(async move {
            tokio::time::sleep(self.get_delay).await;
            self.inner.get(id).await
        })
    }
    fn create<'a>(&'a self, user: &'a NewUser) -> BoxFuture<'a, Result<i64, RepoError>> {
        self.single_writes.fetch_add(1, Ordering::SeqCst);
        self.inner.create(user)
    }
    fn update<'a>(&'a self, id: i64, user: &'a NewUser) -> BoxFuture<'a, Result<(), RepoError>> {
        self.single_writes.fetch_add(1, Ordering::SeqCst);
        self.inner.update(id, user)
    }
    fn apply_batch(
        &self,
        batch: Vec<BatchOp>,
        deadline: Instant,
    ) -> BoxFuture<'_, Result<Vec<BatchOutcome>, RepoError>> {
        self.batches.lock().unwrap().push(batch.len());
        self.inner.apply_batch(batch, deadline)
    }
    fn delete(&self, id: i64) -> BoxFuture<'_, Result<bool, RepoError>> {
        self.inner.delete(id)
    }
    fn ping(&self) -> BoxFuture<'_, Result<(), RepoError>> {
        self.inner.ping()
    }
}

fn names_and_ids(json: &Value) -> Vec<(String, i64)> {
    json["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["user"]["name"].as_str().unwrap().to_owned(),
                r["user"]["id"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bulk_prepares_concurrently_then_stores_one_batch_in_request_order() {
    let repo = RecordingRepo::new(InMemoryUserRepo::new(), Duration::ZERO);
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
    let expected: Vec<(String, i64)> = (0..20).map(|i| (format!("user {i}"), i + 1)).collect();
    assert_eq!(names_and_ids(&reply.json()), expected);
    // Hashing runs concurrently (see the prepare unit test in src/routes/bulk.rs); the store
    // sees one batch of every user, and no single write.
    assert_eq!(repo.batches(), [20]);
    assert_eq!(repo.single_writes.load(Ordering::SeqCst), 0);

    // A bulk whose every user is refused before the store does not touch it.
    let body = json!({"users": [{"accountid": 1, "id": 3, "name": "n", "email": "e@x", "role": 1, "password": "p"}]});
    let reply = bulk(&app, Method::POST, "/users", &body.to_string()).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text());
    assert_eq!(repo.batches(), [20]);
}

#[tokio::test]
async fn bulk_put_applies_users_in_request_order() {
    // Mickey moves to a new address, then Peter takes Mickey's old one: fine in this order...
    let app = app();
    let mickey_moves = json!({"accountid": 1, "id": 1, "name": "Mickey", "email": "mickey@new.com", "role": 1, "password": "p"});
    let peter_takes = json!({"accountid": 1, "id": 2, "name": "Peter", "email": "mickeyd@gmail.com", "role": 1, "password": "p"});
    let body = json!({ "users": [mickey_moves, peter_takes] }).to_string();
    let reply = bulk(&app, Method::PUT, "/users", &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        get(&app, "/users/2").await.json()["email"],
        "mickeyd@gmail.com"
    );

    // ...but in the other order Peter meets Mickey's address still taken, and only he fails.
    let app = crate::helpers::app();
    let body = json!({ "users": [peter_takes, mickey_moves] }).to_string();
    let reply = bulk(&app, Method::PUT, "/users", &body).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text());
    let json = reply.json();
    assert_eq!(json["results"][0]["httpstatus"], 400);
    assert_eq!(
        json["results"][0]["errmsg"],
        "attempt to insert duplicate user"
    );
    assert_eq!(json["results"][1]["httpstatus"], 200);
    assert_eq!(
        get(&app, "/users/1").await.json()["email"],
        "mickey@new.com"
    );
    assert_eq!(
        get(&app, "/users/2").await.json()["email"],
        "petertd@gmail.com"
    );
}

#[tokio::test]
async fn bulk_with_a_duplicate_stores_every_other_user() {
    let (app, _repo) = seeded();
    let body = json!({"users": [
        user("First", "first@x.com"),
        user("Dup", "mickeyd@gmail.com"),
        user("Third", "third@x.com"),
    ]});
    let reply = bulk(&app, Method::POST, "/users", &body.to_string()).await;
    assert_eq!(reply.status, StatusCode::CONFLICT, "{}", reply.text());
    let statuses: Vec<i64> = reply.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["httpstatus"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 400, 201]);
    let users = get(&app, "/users").await.json();
    let names: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 7);
    assert_eq!(names[5..], ["First", "Third"]);
}

#[tokio::test]
async fn bulk_whose_store_fails_is_503_with_retry_after_and_stores_nothing() {
    let (app, repo) = seeded();
    let users: Vec<Value> = (0..4)
        .map(|i| user(&format!("user {i}"), &format!("u{i}@x.com")))
        .collect();
    let body = json!({ "users": users }).to_string();
    // The store fails at the third user, after two were written inside the batch.
    repo.fail_next_batch_at(2);
    let reply = bulk(&app, Method::POST, "/users", &body).await;
    reply.assert_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
        "nothing was stored",
    );
    assert_eq!(reply.headers[header::RETRY_AFTER], "1");
    assert_eq!(
        get(&app, "/users").await.text(),
        golden("testGetAllUsersSuccess")
    );
    // The client's retry is not met by 409s of its own making.
    let reply = bulk(&app, Method::POST, "/users", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(names_and_ids(&reply.json())[0], ("user 0".to_owned(), 6));

    // The same for a bulk PUT: the first update is not kept.
    repo.fail_next_batch_at(1);
    let body = json!({"users": [
        {"accountid": 1, "id": 1, "name": "Solo Mickey", "email": "mickeyd@gmail.com", "role": 1, "password": "p"},
        {"accountid": 1, "id": 2, "name": "Solo Peter", "email": "petertd@gmail.com", "role": 1, "password": "p"},
    ]});
    bulk(&app, Method::PUT, "/users", &body.to_string())
        .await
        .assert_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "nothing was stored",
        );
    assert_eq!(get(&app, "/users/1").await.json()["name"], "mickey dolenz");
}

#[tokio::test]
async fn bulk_over_its_prepare_budget_is_503_from_the_handler_and_stores_nothing() {
    // Each existence check takes 100 ms, one user at a time: 10 users need 1 s, the budget of a
    // 400 ms request timeout is 300 ms.
    let repo = RecordingRepo::new(
        InMemoryUserRepo::with_seed_users(),
        Duration::from_millis(100),
    );
    let mut state = AppState::new(repo.clone());
    state.max_concurrent_bulk_operations = 1;
    state.limits.request_timeout = Duration::from_millis(400);
    state.limits.retry_after_secs = 3;
    let app = router(state);
    let users: Vec<Value> = (0..10)
        .map(|i| json!({"accountid": 1, "id": 1 + i % 5, "name": format!("renamed {i}"), "email": format!("r{i}@x.com"), "role": 1, "password": "p"}))
        .collect();
    let started = Instant::now();
    let reply = bulk(
        &app,
        Method::PUT,
        "/users",
        &json!({ "users": users }).to_string(),
    )
    .await;
    let elapsed = started.elapsed();
    // The handler's own 503 (the platform's timeout says "did not complete within").
    reply.assert_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
        "could not be prepared within its time budget (300ms of the 400ms request timeout); nothing was stored",
    );
    assert_eq!(reply.headers[header::RETRY_AFTER], "3");
    assert!(elapsed < Duration::from_millis(400), "{elapsed:?}");
    assert!(repo.batches().is_empty());
    assert_eq!(repo.single_writes.load(Ordering::SeqCst), 0);
    assert!(repo
        .inner
        .list()
        .await
        .unwrap()
        .iter()
        .all(|user| !user.name.starts_with("renamed")));
}
