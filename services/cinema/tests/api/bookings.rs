//! The bookings service: `/bookings` echoes without `createdOn`, bad input, delete.

use axum::http::{header, StatusCode};
use cinema::{repo::Record as _, seed, Service};

use crate::helpers::{assert_is_object_id, empty, seeded};

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
