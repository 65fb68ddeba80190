//! The cinema services against a real MongoDB-wire server (the harness's: `MONGODB_URL`, a
//! container, or a local server), each test on a database of its own: documents round-trip,
//! the seed data loads idempotently, indexes exist, and bad input still gets 4xx.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use cinema::{App, Service, Settings};
use harness::backing::{
    mongo::Mongo,
    wait::{wait_until, Attempt},
};
use mongodb::bson::doc;
use secrecy::SecretString;
use serde_json::{json, Value};

/// A running service on a fresh database, and what the test needs to reach and clean it.
struct Running {
    base: String,
    database: String,
    mongo: &'static Mongo,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    async fn start(service: Service, test: &str) -> Running {
        platform::telemetry::init_for_tests();
        let mongo = Mongo::shared()
            .await
            .expect("a MongoDB-wire server from the harness");
        let database = mongo.unique_database(test);
        let mut settings = Settings {
            port: 0,
            ..Settings::default()
        };
        settings.mongo.url = SecretString::from(mongo.url().to_owned());
        settings.mongo.database = database.clone();
        let app = App::build(service, settings).await.unwrap();
        let base = format!("http://127.0.0.1:{}", app.local_addr().port());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        let running = Running {
            base,
            database,
            mongo,
            stop,
            task,
        };
        running.wait_ready().await;
        running
    }

    /// Waits (at most 30 s) until `/readyz` answers 200: MongoDB pinged, indexes created.
    async fn wait_ready(&self) {
        let url = format!("{}/readyz", self.base);
        wait_until(
            "GET /readyz answering 200",
            Duration::from_secs(30),
            Duration::from_millis(100),
            || {
                let response = reqwest::get(url.clone());
                async move {
                    match response.await.map(|response| response.status().as_u16()) {
                        Ok(200) => Attempt::Ready(()),
                        status => Attempt::Pending(format!("{status:?}")),
                    }
                }
            },
        )
        .await
        .unwrap_or_else(|error| panic!("service not ready within 30 s: {error}"));
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, String) {
        let client = reqwest::Client::new();
        let mut request = client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
        self.mongo.drop_database(&self.database).await.unwrap();
    }
}

#[tokio::test]
async fn movies_round_trip_through_the_store() {
    let movies = Running::start(Service::Movies, "movies_round_trip").await;
    let (status, body) = movies.send(reqwest::Method::GET, "/movies", None).await;
    assert_eq!((status, body.as_str()), (200, r#"{"data":null}"#));

    let posted =
        json!({"data": {"title": "Zootopia", "director": "Byron Howard", "rating": "8.0"}});
    let (status, body) = movies
        .send(reqwest::Method::POST, "/movies", Some(posted))
        .await;
    assert_eq!(status, 200, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 24);
    assert_eq!(created["data"]["title"], "Zootopia");

    let (status, body) = movies
        .send(reqwest::Method::GET, &format!("/movies/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), created);

    let (status, body) = movies.send(reqwest::Method::GET, "/movies", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["data"],
        json!([created["data"].clone()])
    );

    let (status, body) = movies
        .send(reqwest::Method::DELETE, &format!("/movies/{id}"), None)
        .await;
    assert_eq!((status, body.as_str()), (204, ""));
    let (status, _) = movies
        .send(reqwest::Method::DELETE, &format!("/movies/{id}"), None)
        .await;
    assert_eq!(status, 404);
    let (status, body) = movies
        .send(reqwest::Method::GET, &format!("/movies/{id}"), None)
        .await;
    assert_eq!(status, 404);
    assert!(body.contains("\"error\""), "{body}");
    let (status, _) = movies
        .send(reqwest::Method::GET, "/movies/not-an-object-id", None)
        .await;
    assert_eq!(status, 400);
    movies.stop().await;
}

#[tokio::test]
async fn seed_data_loads_once_and_showtimes_are_found_by_date() {
    let showtimes = Running::start(Service::Showtimes, "seed_showtimes").await;
    let client = mongodb::Client::with_uri_str(showtimes.mongo.url())
        .await
        .unwrap();
    let database = client.database(&showtimes.database);
    cinema::seed::load(&database).await.unwrap();
    cinema::seed::load(&database).await.unwrap();
    for (collection, expected) in [
        ("movies", cinema::seed::movies().len()),
        ("users", cinema::seed::users().len()),
        ("showtimes", cinema::seed::showtimes().len()),
        ("bookings", cinema::seed::bookings().len()),
    ] {
        let count = database
            .collection::<mongodb::bson::Document>(collection)
            .count_documents(doc! {})
            .await
            .unwrap();
        assert_eq!(count as usize, expected, "{collection} after loading twice");
    }

    let (status, body) = showtimes
        .send(reqwest::Method::GET, "/showtimes/2016-08-15", None)
        .await;
    assert_eq!(status, 200, "{body}");
    let found: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(found["data"]["date"], "2016-08-15");
    let (status, _) = showtimes
        .send(reqwest::Method::GET, "/showtimes/1999-01-01", None)
        .await;
    assert_eq!(status, 404);

    let indexes = database
        .collection::<mongodb::bson::Document>("showtimes")
        .list_index_names()
        .await
        .unwrap();
    assert!(
        indexes.iter().any(|name| name.contains("date")),
        "showtimes indexes: {indexes:?}"
    );
    showtimes.stop().await;
}
