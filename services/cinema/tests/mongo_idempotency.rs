//! Retries are safe on every cinema write, against the harness's real MongoDB-wire server, each
//! test on a database of its own:
//!
//! - over HTTP: a retried POST with its `Idempotency-Key` stores one document and gets the
//!   first body again (`Idempotent-Replayed: true`); the key on another body is a 422; a retried
//!   DELETE gets its 204 again, not a 404; a POST without a key works as before; a POST whose
//!   first try stored the document but never kept its answer (its holder died) finds the
//!   document by the id the key names;
//! - the key store ([`MongoIdempotencyStore`]) claim by claim: fresh, in flight, mismatch,
//!   replay, release, a dead holder's key taken over (its late answer then dropped), an expired
//!   key taken over, the TTL index, and the purge when there is none;
//! - write concern: every insert, delete and update of the documents and the keys is sent with
//!   `{w: "majority", j: true, wtimeout}`, and the server acknowledges it.

#![allow(clippy::unwrap_used)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::http::{Method, Uri};
use cinema::{
    app::open_database,
    crud::id_for_key,
    movies::Movie,
    repo::{
        idempotency::{COLLECTION, TTL_INDEX},
        MongoIdempotencyStore, MongoRepo, Record, Repo,
    },
    settings::MongoSettings,
    App, Service, Settings,
};
use harness::backing::{
    mongo::Mongo,
    wait::{wait_until, Attempt},
};
use mongodb::{
    bson::{doc, DateTime, Document},
    event::{command::CommandEvent, EventHandler},
    options::ClientOptions,
    Client,
};
use platform::idempotency::{Answer, Begun, Fingerprint, Key, Policy, Store};
use secrecy::SecretString;
use serde_json::Value;

/// A running service on a fresh database.
struct Running {
    base: String,
    database: String,
    mongo: &'static Mongo,
    client: Client,
    http: reqwest::Client,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// One answer, read whole.
struct Reply {
    status: u16,
    replayed: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|error| panic!("{error}: {}", self.body))
    }
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
            client: Client::with_uri_str(mongo.url()).await.unwrap(),
            http: reqwest::Client::new(),
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

    async fn send(&self, method: Method, path: &str, key: Option<&str>, body: &str) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_str().as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(Duration::from_secs(20));
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        if !body.is_empty() {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let replayed = response
            .headers()
            .get("idempotent-replayed")
            .map(|value| value.to_str().unwrap().to_owned());
        Reply {
            status,
            replayed,
            body: response.text().await.unwrap(),
        }
    }

    /// How many documents `collection` holds.
    async fn count(&self, collection: &str) -> u64 {
        self.client
            .database(&self.database)
            .collection::<Document>(collection)
            .count_documents(doc! {})
            .await
            .unwrap()
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
        self.client.shutdown().await;
        self.mongo.drop_database(&self.database).await.unwrap();
    }
}

const ZOOTOPIA: &str = r#"{"data":{"title":"Zootopia","director":"Byron Howard","rating":"8.0"}}"#;

fn key(text: &str) -> Key {
    Key::parse(&text.parse().unwrap()).unwrap()
}

#[tokio::test]
async fn a_retried_post_stores_one_document_and_gets_the_same_body() {
    let movies = Running::start(Service::Movies, "idem_post_retry").await;
    let first = movies
        .send(Method::POST, "/movies", Some("retry-1"), ZOOTOPIA)
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.replayed, None);
    let again = movies
        .send(Method::POST, "/movies", Some("retry-1"), ZOOTOPIA)
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.replayed.as_deref(), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(movies.count("movies").await, 1);
    assert_eq!(
        first.json()["data"]["id"],
        id_for_key(&key("retry-1"), Movie::COLLECTION).to_hex()
    );
    // The key is kept in the service's own name, with its answer.
    let kept = movies
        .client
        .database(&movies.database)
        .collection::<Document>(COLLECTION)
        .find_one(doc! { "_id": "movies/retry-1" })
        .await
        .unwrap()
        .expect("the key's document");
    assert_eq!(kept.get_i32("status").unwrap(), 200);
    assert_eq!(kept.get_str("key").unwrap(), "retry-1");
    movies.stop().await;
}

#[tokio::test]
async fn the_same_key_on_another_body_is_a_422_and_stores_nothing_more() {
    let users = Running::start(Service::Users, "idem_post_reused").await;
    let ada = r#"{"data":{"name":"Ada","lastname":"Lovelace"}}"#;
    let first = users
        .send(Method::POST, "/users", Some("reused"), ada)
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let other = users
        .send(
            Method::POST,
            "/users",
            Some("reused"),
            r#"{"data":{"name":"Grace","lastname":"Hopper"}}"#,
        )
        .await;
    assert_eq!(other.status, 422, "{}", other.body);
    assert_eq!(other.json()["error"]["code"], "idempotency_key_reused");
    assert_eq!(users.count("users").await, 1);
    users.stop().await;
}

#[tokio::test]
async fn a_retried_delete_gets_the_original_answer_not_a_404() {
    let showtimes = Running::start(Service::Showtimes, "idem_delete").await;
    let created = showtimes
        .send(
            Method::POST,
            "/showtimes",
            None,
            r#"{"data":{"date":"2016-08-15","movies":["a"]}}"#,
        )
        .await;
    let id = created.json()["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/showtimes/{id}");
    let first = showtimes
        .send(Method::DELETE, &path, Some("delete-1"), "")
        .await;
    assert_eq!((first.status, first.body.as_str()), (204, ""));
    let again = showtimes
        .send(Method::DELETE, &path, Some("delete-1"), "")
        .await;
    assert_eq!((again.status, again.body.as_str()), (204, ""));
    assert_eq!(again.replayed.as_deref(), Some("true"));
    // A DELETE without the key (or with a new one) sees the document gone, as before.
    let plain = showtimes.send(Method::DELETE, &path, None, "").await;
    assert_eq!(plain.status, 404);
    assert_eq!(showtimes.count("showtimes").await, 0);
    showtimes.stop().await;
}

#[tokio::test]
async fn a_post_without_a_key_behaves_as_before() {
    let bookings = Running::start(Service::Bookings, "idem_no_key").await;
    let body = r#"{"data":{"userid":"u1","showtimeid":"s1","movies":["m1"]}}"#;
    let first = bookings.send(Method::POST, "/bookings", None, body).await;
    let second = bookings.send(Method::POST, "/bookings", None, body).await;
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!((&first.replayed, &second.replayed), (&None, &None));
    assert_ne!(first.json()["data"]["id"], second.json()["data"]["id"]);
    assert_eq!(bookings.count("bookings").await, 2);
    assert_eq!(bookings.count(COLLECTION).await, 0, "no key, nothing kept");
    bookings.stop().await;
}

#[tokio::test]
async fn a_post_whose_holder_died_after_the_insert_finds_its_document() {
    let movies = Running::start(Service::Movies, "idem_lost_answer").await;
    // The first try: its key claimed (a lease that has run out), its document inserted under
    // the key's id, and then the process died before keeping the answer.
    let database = movies.client.database(&movies.database);
    let id = id_for_key(&key("lost"), Movie::COLLECTION);
    let long_ago = DateTime::from_millis(DateTime::now().timestamp_millis() - 60_000);
    let in_a_day = DateTime::from_millis(DateTime::now().timestamp_millis() + 86_400_000);
    let fingerprint = Fingerprint::of(
        &axum::http::Method::POST,
        &Uri::from_static("/movies"),
        ZOOTOPIA.as_bytes(),
    );
    database
        .collection::<Document>(COLLECTION)
        .insert_one(doc! {
            "_id": "movies/lost",
            "service": "movies",
            "key": "lost",
            "fingerprint": mongodb::bson::Binary {
                subtype: mongodb::bson::spec::BinarySubtype::Generic,
                bytes: fingerprint.0.to_vec(),
            },
            "token": 7_i64,
            "lease_until": long_ago,
            "expires_at": in_a_day,
        })
        .await
        .unwrap();
    let created = DateTime::from_millis(1_500_000_000_000);
    database
        .collection::<Document>("movies")
        .insert_one(doc! {
            "_id": id, "title": "Zootopia", "director": "Byron Howard", "rating": "8.0",
            "createdon": created,
        })
        .await
        .unwrap();

    let retry = movies
        .send(Method::POST, "/movies", Some("lost"), ZOOTOPIA)
        .await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    assert_eq!(retry.replayed, None, "executed again, not replayed");
    assert_eq!(retry.json()["data"]["id"], id.to_hex());
    assert_eq!(retry.json()["data"]["createdon"], "2017-07-14T02:40:00Z");
    assert_eq!(movies.count("movies").await, 1);
    // Now the answer is kept: the next retry is a replay.
    let again = movies
        .send(Method::POST, "/movies", Some("lost"), ZOOTOPIA)
        .await;
    assert_eq!(again.replayed.as_deref(), Some("true"));
    assert_eq!(again.body, retry.body);
    movies.stop().await;
}

/// A store on a fresh database of the shared server, its database and the database's name.
async fn store(test: &str) -> (MongoIdempotencyStore, mongodb::Database, String) {
    let mongo = Mongo::shared().await.unwrap();
    let name = mongo.unique_database(test);
    let settings = MongoSettings {
        database: name.clone(),
        ..MongoSettings::default()
    };
    let client = Client::with_uri_str(mongo.url()).await.unwrap();
    let database = open_database(&client, &settings);
    let store = MongoIdempotencyStore::new(&database, "movies", Duration::from_secs(5));
    (store, database, name)
}

fn print(body: &[u8]) -> Fingerprint {
    Fingerprint::of(
        &axum::http::Method::POST,
        &Uri::from_static("/movies"),
        body,
    )
}

fn answer(body: &str) -> Answer {
    Answer {
        status: 200,
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: body.as_bytes().to_vec(),
    }
}

#[tokio::test]
async fn the_store_claims_replays_refuses_and_releases_like_the_mysql_one() {
    let (store, _, name) = store("idem_store_claims").await;
    let policy = Policy::default();
    let Begun::Fresh(lease) = store.begin(&key("a"), print(b"1"), &policy).await.unwrap() else {
        panic!("a new key is fresh")
    };
    assert_eq!(
        store.begin(&key("a"), print(b"1"), &policy).await.unwrap(),
        Begun::InFlight
    );
    assert_eq!(
        store.begin(&key("a"), print(b"2"), &policy).await.unwrap(),
        Begun::Mismatch
    );
    store.finish(&lease, &answer("one"), &policy).await.unwrap();
    assert_eq!(
        store.begin(&key("a"), print(b"1"), &policy).await.unwrap(),
        Begun::Replay(answer("one"))
    );
    assert_eq!(
        store.begin(&key("a"), print(b"2"), &policy).await.unwrap(),
        Begun::Mismatch
    );
    // An answered key is not released.
    store.release(&lease).await.unwrap();
    assert_eq!(
        store.begin(&key("a"), print(b"1"), &policy).await.unwrap(),
        Begun::Replay(answer("one"))
    );
    // A refused write releases its key: the retry executes afresh.
    let Begun::Fresh(refused) = store.begin(&key("b"), print(b"1"), &policy).await.unwrap() else {
        panic!("a new key is fresh")
    };
    store.release(&refused).await.unwrap();
    assert!(matches!(
        store.begin(&key("b"), print(b"1"), &policy).await.unwrap(),
        Begun::Fresh(_)
    ));
    Mongo::shared()
        .await
        .unwrap()
        .drop_database(&name)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_dead_holders_key_is_taken_over_and_its_late_answer_dropped() {
    let (store, _, name) = store("idem_store_takeover").await;
    let short = Policy {
        lease: Duration::from_millis(200),
        ..Policy::default()
    };
    let Begun::Fresh(first) = store.begin(&key("k"), print(b"1"), &short).await.unwrap() else {
        panic!("a new key is fresh")
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The lease ran out: a different request still may not use the key, the same one takes it.
    assert_eq!(
        store.begin(&key("k"), print(b"2"), &short).await.unwrap(),
        Begun::Mismatch
    );
    let Begun::Fresh(second) = store.begin(&key("k"), print(b"1"), &short).await.unwrap() else {
        panic!("an abandoned key is taken over")
    };
    store.finish(&first, &answer("old"), &short).await.unwrap();
    store.release(&first).await.unwrap();
    assert_eq!(
        store
            .begin(&key("k"), print(b"1"), &Policy::default())
            .await
            .unwrap(),
        Begun::InFlight,
        "the old holder could neither answer nor release the new holder's key"
    );
    store.finish(&second, &answer("new"), &short).await.unwrap();
    assert_eq!(
        store.begin(&key("k"), print(b"1"), &short).await.unwrap(),
        Begun::Replay(answer("new"))
    );
    Mongo::shared()
        .await
        .unwrap()
        .drop_database(&name)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_expired_key_is_free_for_any_request() {
    let (store, _, name) = store("idem_store_expiry").await;
    let brief = Policy {
        ttl: Duration::from_millis(200),
        ..Policy::default()
    };
    let Begun::Fresh(lease) = store.begin(&key("e"), print(b"1"), &brief).await.unwrap() else {
        panic!("a new key is fresh")
    };
    store.finish(&lease, &answer("kept"), &brief).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(matches!(
        store.begin(&key("e"), print(b"2"), &brief).await.unwrap(),
        Begun::Fresh(_)
    ));
    Mongo::shared()
        .await
        .unwrap()
        .drop_database(&name)
        .await
        .unwrap();
}

#[tokio::test]
async fn concurrent_claims_of_one_key_let_exactly_one_run() {
    let (store, _, name) = store("idem_store_race").await;
    let store = Arc::new(store);
    let policy = Policy::default();
    let claims = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.begin(&key("race"), print(b"1"), &policy).await })
    });
    let mut fresh = 0;
    for claim in claims {
        match claim.await.unwrap().unwrap() {
            Begun::Fresh(_) => fresh += 1,
            Begun::InFlight => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(fresh, 1);
    Mongo::shared()
        .await
        .unwrap()
        .drop_database(&name)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_ttl_index_is_created_and_without_it_expired_keys_are_purged() {
    let (store, database, name) = store("idem_store_ttl").await;
    let brief = Policy {
        ttl: Duration::from_millis(1),
        ..Policy::default()
    };
    // No TTL index yet: the first claim purges, in a batch, what has expired.
    for text in ["p1", "p2", "p3"] {
        store.begin(&key(text), print(b"1"), &brief).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let keys = database.collection::<Document>(COLLECTION);
    assert_eq!(keys.count_documents(doc! {}).await.unwrap(), 3);
    let purging = MongoIdempotencyStore::new(&database, "movies", Duration::from_secs(5));
    purging
        .begin(&key("p4"), print(b"1"), &Policy::default())
        .await
        .unwrap();
    assert_eq!(
        keys.count_documents(doc! {}).await.unwrap(),
        1,
        "the three expired keys were purged"
    );

    assert!(
        store.create_ttl_index().await.unwrap(),
        "the server keeps a TTL index"
    );
    assert!(store.has_ttl_index());
    let indexes: Vec<_> = {
        use futures::TryStreamExt as _;
        keys.list_indexes()
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
    };
    let ttl = indexes
        .iter()
        .find(|index| {
            index
                .options
                .as_ref()
                .and_then(|options| options.name.as_deref())
                == Some(TTL_INDEX)
        })
        .expect("the TTL index");
    assert_eq!(ttl.keys, doc! { "expires_at": 1 });
    assert_eq!(
        ttl.options.as_ref().unwrap().expire_after,
        Some(Duration::ZERO)
    );
    Mongo::shared()
        .await
        .unwrap()
        .drop_database(&name)
        .await
        .unwrap();
}

#[tokio::test]
async fn every_write_asks_for_a_journaled_majority_and_the_server_acknowledges_it() {
    let mongo = Mongo::shared().await.unwrap();
    let name = mongo.unique_database("idem_write_concern");
    let seen: Arc<Mutex<Vec<Document>>> = Arc::default();
    let mut options = ClientOptions::parse(mongo.url()).await.unwrap();
    let sink = seen.clone();
    options.command_event_handler = Some(EventHandler::callback(move |event| {
        if let CommandEvent::Started(started) = event {
            if ["insert", "delete", "update"].contains(&started.command_name.as_str()) {
                sink.lock().unwrap().push(started.command);
            }
        }
    }));
    let client = Client::with_options(options).unwrap();
    let settings = MongoSettings {
        database: name.clone(),
        write_concern_timeout: Duration::from_millis(1500),
        ..MongoSettings::default()
    };
    let database = open_database(&client, &settings);

    let movies = MongoRepo::<Movie>::new(&database, Duration::from_secs(5));
    let movie = Movie {
        id: mongodb::bson::oid::ObjectId::new(),
        title: "Alien".to_owned(),
        director: "Ridley Scott".to_owned(),
        rating: "8.5".to_owned(),
        createdon: Some(DateTime::now()),
    };
    movies.insert(&movie).await.unwrap();
    assert!(movies.delete(movie.id).await.unwrap());
    let keys = MongoIdempotencyStore::new(&database, "movies", Duration::from_secs(5));
    let policy = Policy::default();
    let Begun::Fresh(lease) = keys.begin(&key("wc"), print(b"1"), &policy).await.unwrap() else {
        panic!("a new key is fresh")
    };
    keys.finish(&lease, &answer("x"), &policy).await.unwrap();
    let Begun::Fresh(released) = keys.begin(&key("wc2"), print(b"1"), &policy).await.unwrap()
    else {
        panic!("a new key is fresh")
    };
    keys.release(&released).await.unwrap();

    let commands = seen.lock().unwrap().clone();
    let names: Vec<_> = commands
        .iter()
        .map(|command| command.keys().next().cloned().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        ["insert", "delete", "insert", "update", "insert", "delete"],
        "{commands:?}"
    );
    for command in &commands {
        let concern = command
            .get_document("writeConcern")
            .unwrap_or_else(|_| panic!("no writeConcern in {command}"));
        assert_eq!(concern.get_str("w").unwrap(), "majority", "{command}");
        assert!(concern.get_bool("j").unwrap(), "{command}");
        let wtimeout = concern
            .get("wtimeout")
            .and_then(mongodb::bson::Bson::as_i64)
            .or_else(|| concern.get_i32("wtimeout").ok().map(i64::from));
        assert_eq!(wtimeout, Some(1500), "{command}");
    }
    client.shutdown().await;
    mongo.drop_database(&name).await.unwrap();
}
