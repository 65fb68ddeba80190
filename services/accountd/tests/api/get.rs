//! GET `/users` and `/users/{id}`: the seed's golden bodies, 404 for unknown users and
//! 400 `MalformedURL` for bad ids and unknown paths.

use accountd::{router, AppState};
use axum::http::{header, Method, StatusCode};

use crate::helpers::{app, get, golden, send};

#[tokio::test]
async fn get_all_users_matches_the_seed_golden_file() {
    let reply = get(&app(), "/users").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(reply.text(), golden("testGetAllUsersSuccess"));
    let reply = get(&app(), "/users/").await;
    assert_eq!(reply.text(), golden("testGetAllUsersSuccess"));
}

#[tokio::test]
async fn get_one_user_matches_the_seed_golden_file() {
    let app = app();
    for uri in ["/users/1", "/users/1/", "/users/01", "/users/+1"] {
        let reply = get(&app, uri).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}");
        assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(reply.text(), golden("testGetOneUsersSuccess"), "{uri}");
    }
}

#[tokio::test]
async fn seed_roles_outside_the_valid_range_are_returned_as_stored() {
    let reply = get(&app(), "/users/2").await;
    assert_eq!(reply.json()["role"], 3);
}

#[tokio::test]
async fn get_unknown_user_is_404_json() {
    let app = app();
    for uri in ["/users/42", "/users/0", "/users/-1", "/users/9999999999"] {
        get(&app, uri)
            .await
            .assert_error(StatusCode::NOT_FOUND, "user_not_found", "not found");
    }
}

#[tokio::test]
async fn bad_ids_and_extra_path_nodes_are_400_malformed_url() {
    let app = app();
    for uri in [
        "/users/abc",
        "/users/1.5",
        "/users/99999999999999999999",
        "/users/1/extraNode",
        "/users/1/2/",
        "/users//1",
        "/users/%20",
    ] {
        get(&app, uri).await.assert_malformed_url();
    }
}

#[tokio::test]
async fn unknown_paths_are_400_malformed_url() {
    let app = app();
    for uri in [
        "/xxx",
        "/",
        "/unexpectedresource",
        "/user",
        "/usersx",
        "/accountdhealth/x",
    ] {
        get(&app, uri).await.assert_malformed_url();
        send(&app, Method::POST, uri, &[], "{}")
            .await
            .assert_malformed_url();
    }
}

#[tokio::test]
async fn empty_table_lists_an_empty_array() {
    let app = router(AppState::in_memory());
    let reply = get(&app, "/users").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.text(), r#"{"users":[]}"#);
}
