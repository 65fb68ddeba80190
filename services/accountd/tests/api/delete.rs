//! DELETE `/users/{id}`: 200 and an empty body whether or not the user existed; 400 for the
//! collection or a bad id.

use axum::{
    body::Body,
    http::{header, Method, StatusCode},
};

use crate::helpers::{app, get, golden, post, put, send, BRIAN, BRIAN_PUT};

#[tokio::test]
async fn delete_is_200_empty_whether_or_not_the_user_existed() {
    let app = app();
    assert_eq!(
        post(&app, "/users", BRIAN).await.status,
        StatusCode::CREATED
    );
    for _ in 0..2 {
        let reply = send(&app, Method::DELETE, "/users/6", &[], Body::empty()).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.body.is_empty());
        assert_eq!(reply.text(), golden("testDELETEUserSuccess"));
    }
    get(&app, "/users/6")
        .await
        .assert_error(StatusCode::NOT_FOUND, "user_not_found", "6");
    // PUT of the deleted user: 404 (the README's word; the seed said 400).
    put(&app, "/users/6", BRIAN_PUT).await.assert_error(
        StatusCode::NOT_FOUND,
        "user_not_found",
        "non-existent",
    );
    // The next create does not reuse id 6.
    let reply = post(&app, "/users", BRIAN).await;
    assert_eq!(reply.headers[header::LOCATION], "/users/7");
}

#[tokio::test]
async fn delete_of_the_collection_or_a_bad_id_is_400_malformed_url() {
    let app = app();
    for uri in ["/users", "/users/", "/users/abc", "/users/1/x"] {
        send(&app, Method::DELETE, uri, &[], Body::empty())
            .await
            .assert_malformed_url();
    }
    assert_eq!(
        get(&app, "/users").await.text(),
        golden("testGetAllUsersSuccess")
    );
}
