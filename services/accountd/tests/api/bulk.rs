//! Bulk requests (`Bulk-Request: true`): per-user results in request order, 201/200 or 409
//! overall, the header's Go `ParseBool` values, the cap, and one user stored at a time.

use accountd::{
    repo::{InMemoryUserRepo, NewUser, RepoError, UserRepo},
    router, AppState,
};
use axum::http::{header, Method, StatusCode};
use futures::future::BoxFuture;
use serde_json::{json, Value};
use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use crate::helpers::{app, bulk, get, golden, send, user, BRIAN, BRIAN_PUT, FRANK, JSON_DECODING};

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
