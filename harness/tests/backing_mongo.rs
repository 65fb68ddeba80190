//! The MongoDB-wire backing service end to end, through the official driver: provisioning
//! (shared per test binary), one database per test, a unique index answering duplicates with
//! code 11000, the ownership labels and loopback-only publishing, a container that keeps its
//! data across `restart`, and clean-up by `stop`. Needs a provider (`cargo xtask bootstrap` sets
//! up Docker and the SecantusDB image); the label and restart checks need the Docker provider.

#[path = "support/docker.rs"]
mod support_docker;
#[path = "support/fixed_port.rs"]
mod support_fixed_port;

use harness::backing::mongo::Mongo;
use mongodb::{
    bson::{doc, Document},
    error::{ErrorKind, WriteFailure},
    options::IndexOptions,
    Client, IndexModel,
};
use support_docker::container_exists;
use support_fixed_port::{
    assert_at_most_shared_left, assert_labelled_on_loopback, container_or_skip,
};

async fn connect(url: &str) -> Client {
    Client::with_uri_str(url).await.expect("a MongoDB client")
}

/// The server's code of a write error, if it is one.
fn write_error_code(error: &mongodb::error::Error) -> Option<i32> {
    match error.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(write)) => Some(write.code),
        ErrorKind::InsertMany(insert_many) => insert_many
            .write_errors
            .as_ref()
            .and_then(|errors| errors.first())
            .map(|write| write.code),
        _ => None,
    }
}

#[tokio::test]
async fn a_document_inserted_in_its_own_database_is_found_there_only() {
    let mongo = Mongo::shared().await.expect("a MongoDB server");
    assert!(mongo.url().starts_with("mongodb://"), "{}", mongo.url());
    let first = mongo.unique_database("backing test");
    let second = mongo.unique_database("backing test");
    assert_ne!(first, second);
    let client = connect(mongo.url()).await;
    let movies = client.database(&first).collection::<Document>("movies");
    let inserted = movies
        .insert_one(doc! { "title": "Alien", "year": 1979 })
        .await
        .expect("insert_one");
    let found = movies
        .find_one(doc! { "_id": inserted.inserted_id.clone() })
        .await
        .expect("find_one")
        .expect("the inserted document");
    assert_eq!(found.get_str("title").expect("a title"), "Alien");
    assert_eq!(found.get_i32("year").expect("a year"), 1979);
    let elsewhere = client
        .database(&second)
        .collection::<Document>("movies")
        .find_one(doc! { "title": "Alien" })
        .await
        .expect("find_one");
    assert_eq!(elsewhere, None);

    mongo.drop_database(&first).await.expect("drop_database");
    let names = client
        .list_database_names()
        .await
        .expect("list_database_names");
    assert!(!names.contains(&first), "{first} still listed: {names:?}");
}

#[tokio::test]
async fn a_duplicate_under_a_unique_index_fails_with_code_11000() {
    let mongo = Mongo::shared().await.expect("a MongoDB server");
    let database = mongo.unique_database("unique index");
    let client = connect(mongo.url()).await;
    let users = client.database(&database).collection::<Document>("users");
    users
        .create_index(
            IndexModel::builder()
                .keys(doc! { "email": 1 })
                .options(
                    IndexOptions::builder()
                        .unique(true)
                        .name("email_unique".to_owned())
                        .build(),
                )
                .build(),
        )
        .await
        .expect("create_index");
    users
        .insert_one(doc! { "email": "ada@example.com" })
        .await
        .expect("the first insert");
    let error = users
        .insert_one(doc! { "email": "ada@example.com" })
        .await
        .expect_err("a duplicate is refused");
    assert_eq!(write_error_code(&error), Some(11000), "{error}");
    assert_eq!(users.count_documents(doc! {}).await.expect("count"), 1);
    mongo.drop_database(&database).await.expect("drop_database");
}

#[tokio::test]
async fn the_container_is_labelled_and_published_on_loopback_only() {
    let mongo = Mongo::shared().await.expect("a MongoDB server");
    let Some(id) = container_or_skip(mongo.server(), "the container checks") else {
        return;
    };
    assert_labelled_on_loopback(id, "mongo", mongo.server().port());
    assert!(
        mongo
            .url()
            .starts_with(&format!("mongodb://127.0.0.1:{}", mongo.server().port())),
        "{}",
        mongo.url()
    );
}

#[tokio::test]
async fn a_container_keeps_its_data_across_a_restart_and_is_removed_by_stop() {
    let mongo = Mongo::start().await.expect("a MongoDB server");
    let Some(id) = container_or_skip(mongo.server(), "the restart check").map(str::to_owned) else {
        mongo.stop().await.expect("stop");
        return;
    };
    let database = mongo.unique_database("durable");
    let client = connect(mongo.url()).await;
    let inserted = client
        .database(&database)
        .collection::<Document>("bookings")
        .insert_one(doc! { "seat": "A7" })
        .await
        .expect("insert_one");
    client.shutdown().await;

    let started = std::time::Instant::now();
    mongo.restart().await.expect("restart");
    eprintln!(
        "restart to ping took {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let client = connect(mongo.url()).await;
    let found = client
        .database(&database)
        .collection::<Document>("bookings")
        .find_one(doc! { "_id": inserted.inserted_id })
        .await
        .expect("find_one after the restart")
        .expect("the document survived the restart");
    assert_eq!(found.get_str("seat").expect("a seat"), "A7");
    client.shutdown().await;

    mongo.stop().await.expect("stop");
    assert!(!container_exists(&id), "stop removed container {id}");
    let shared = Mongo::shared().await.ok();
    assert_at_most_shared_left(
        "mongo",
        shared.and_then(|shared| shared.server().container_id()),
    );
}
