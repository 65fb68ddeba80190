//! The idempotency key `(deployment_id, id)` against a real MySQL: deployments number their
//! events independently, a re-sent event (any `timestamp.send`) is the same event, a different
//! message under a used key is ALREADY_EXISTS, concurrent bursts store one row, and migration
//! 0002 moves the key without losing the rows stored under the old one.
#![allow(clippy::unwrap_used)]

mod support;

use std::{collections::BTreeSet, path::Path, time::Duration};

use activity::proto::{EventRequest, EventResponse, Timestamp};
use support::{event, ids, list, now_ns, TestDb, TestServer};
use tonic::Code;

/// `event(id, deployment, message)` sent `ago` before now.
fn sent_ago(id: i32, deployment: i32, message: &str, ago: Duration) -> EventRequest {
    let ago = i64::try_from(ago.as_nanos()).unwrap();
    EventRequest {
        timestamp: Some(Timestamp {
            send: now_ns() - ago,
            receive: 0,
        }),
        ..event(id, deployment, message)
    }
}

/// Every row's `(deployment_id, id, message)`, in insertion order.
async fn rows(db: &TestDb) -> Vec<(i32, i32, String)> {
    sqlx::query_as("SELECT deployment_id, id, message FROM activity_event ORDER BY seq")
        .fetch_all(&db.pool().await)
        .await
        .unwrap()
}

#[tokio::test]
async fn two_deployments_both_create_event_1_and_both_list_their_event_1() {
    let db = TestDb::create().await;
    let server = TestServer::start(db.settings()).await;
    let mut client = server.client().await;
    for (deployment, message) in [(1, "deployed to staging"), (2, "deployed to production")] {
        let response = client
            .create_event(event(1, deployment, message))
            .await
            .unwrap()
            .into_inner();
        assert_eq!((response.id, response.success), (1, true));
    }
    let staging = list(&mut client, 1).await.unwrap();
    let production = list(&mut client, 2).await.unwrap();
    assert_eq!(ids(&staging), [1]);
    assert_eq!(ids(&production), [1]);
    assert_eq!(
        (staging[0].deployment_id, staging[0].message.as_str()),
        (1, "deployed to staging")
    );
    assert_eq!(
        (production[0].deployment_id, production[0].message.as_str()),
        (2, "deployed to production")
    );
    // Deployment 0 lists both, each with its own deployment.
    let all = list(&mut client, 0).await.unwrap();
    let keys: Vec<(i32, i32)> = all.iter().map(|e| (e.deployment_id, e.id)).collect();
    assert_eq!(keys, [(1, 1), (2, 1)]);
    // A re-send in either deployment is still recognised as that deployment's event 1.
    client
        .create_event(event(1, 2, "deployed to production"))
        .await
        .unwrap();
    let status = client
        .create_event(event(1, 2, "deployed to staging"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    assert!(
        status.message().contains("event 1 of deployment 2"),
        "{status:?}"
    );
    assert_eq!(rows(&db).await.len(), 2);
    server.stop().await;
}

#[tokio::test]
async fn the_same_create_run_twice_with_new_send_times_succeeds_once_stored_with_the_first_time() {
    let db = TestDb::create().await;
    let server = TestServer::start(db.settings()).await;
    let mut client = server.client().await;
    // The first run was sent 3 s before it arrived; the re-run's send time is now.
    let first = client
        .create_event(sent_ago(
            4,
            1,
            "migrated the schema",
            Duration::from_secs(3),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(first.execution_time >= 3_000, "{first:?}");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let rerun = client
        .create_event(event(4, 1, "migrated the schema"))
        .await
        .unwrap()
        .into_inner();
    // The first call's answer, execution time included (the re-run alone would be ~0 ms).
    assert_eq!(rerun, first);
    assert_eq!(rows(&db).await, [(1, 4, "migrated the schema".to_owned())]);
    // What is stored is the first call's send time.
    let listed = list(&mut client, 1).await.unwrap();
    let timestamp = listed[0].timestamp.unwrap();
    assert_eq!(
        (timestamp.receive - timestamp.send) / 1_000_000,
        first.execution_time
    );
    server.stop().await;
}

#[tokio::test]
async fn the_same_key_with_a_different_message_is_already_exists_and_stores_nothing() {
    let db = TestDb::create().await;
    let server = TestServer::start(db.settings()).await;
    let mut client = server.client().await;
    client.create_event(event(8, 3, "original")).await.unwrap();
    for message in ["impostor", "original ", "Original"] {
        let status = client.create_event(event(8, 3, message)).await.unwrap_err();
        assert_eq!(
            status.code(),
            Code::AlreadyExists,
            "{message:?}: {status:?}"
        );
        assert!(
            status
                .message()
                .starts_with("event 8 of deployment 3 already exists with a different message"),
            "{status:?}"
        );
    }
    assert_eq!(rows(&db).await, [(3, 8, "original".to_owned())]);
    server.stop().await;
}

#[tokio::test]
async fn twenty_concurrent_identical_creates_with_different_send_times_store_one_row_and_all_succeed(
) {
    let db = TestDb::create().await;
    let server = TestServer::start(db.settings()).await;
    let mut calls = Vec::new();
    for n in 0..20_u64 {
        // Separate connections, so the calls race in the server and in the database; every
        // one has its own send time, as twenty re-runs of the client would.
        let mut client = server.client().await;
        calls.push(tokio::spawn(async move {
            let request = sent_ago(9, 4, "thundering herd", Duration::from_millis(n * 10));
            client
                .create_event(request)
                .await
                .map(tonic::Response::into_inner)
        }));
    }
    let mut responses: Vec<EventResponse> = Vec::new();
    for call in calls {
        responses.push(call.await.unwrap().expect("every create succeeds"));
    }
    // One of them was stored; all got its answer.
    let distinct: BTreeSet<i64> = responses.iter().map(|r| r.execution_time).collect();
    assert_eq!(distinct.len(), 1, "{responses:?}");
    assert!(responses.iter().all(|r| r.id == 9 && r.success));
    assert_eq!(rows(&db).await, [(4, 9, "thundering herd".to_owned())]);
    server.stop().await;
}

#[tokio::test]
async fn a_concurrent_burst_over_two_deployments_stores_one_row_per_deployment() {
    let db = TestDb::create().await;
    let server = TestServer::start(db.settings()).await;
    let mut calls = Vec::new();
    for n in 0..20 {
        let mut client = server.client().await;
        let deployment = n % 2 + 1;
        calls.push(tokio::spawn(async move {
            client
                .create_event(event(1, deployment, &format!("deployment {deployment}")))
                .await
        }));
    }
    for call in calls {
        call.await.unwrap().expect("every create succeeds");
    }
    assert_eq!(
        rows(&db)
            .await
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>(),
        [
            (1, 1, "deployment 1".to_owned()),
            (2, 1, "deployment 2".to_owned())
        ]
    );
    server.stop().await;
}

/// Where the migrations are in the repository.
fn migrations_dir() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../sql/activity/migrations"
    ))
}

#[tokio::test]
async fn rows_stored_under_the_old_unique_id_survive_the_migration_to_the_per_deployment_key() {
    let db = TestDb::create().await;
    let pool = db.pool().await;

    // The schema as it was: migration 0001 alone (the same file, so its checksum matches).
    let old = tempfile::tempdir().unwrap();
    std::fs::copy(
        migrations_dir().join("0001_activity_events.sql"),
        old.path().join("0001_activity_events.sql"),
    )
    .unwrap();
    sqlx::migrate::Migrator::new(old.path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let mut stored = Vec::new();
    for (id, deployment) in [(1, 1), (2, 1), (3, 2), (4, 0)] {
        let message = format!("old event {id}");
        sqlx::query(
            "INSERT INTO activity_event (id, deployment_id, message, send_ns, receive_ns) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(deployment)
        .bind(&message)
        .bind(1_000_000_000_i64 * i64::from(id))
        .bind(1_000_000_000_i64 * i64::from(id) + 7_000_000)
        .execute(&pool)
        .await
        .unwrap();
        stored.push((deployment, id, message));
    }
    // Under the old key, id 1 could not be used by a second deployment.
    let refused = sqlx::query(
        "INSERT INTO activity_event (id, deployment_id, message, send_ns, receive_ns) \
         VALUES (1, 2, 'x', 1, 2)",
    )
    .execute(&pool)
    .await
    .unwrap_err();
    assert!(
        refused
            .as_database_error()
            .is_some_and(|error| error.is_unique_violation()),
        "{refused:?}"
    );
    let seqs_before: Vec<u64> = sqlx::query_scalar("SELECT seq FROM activity_event ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();

    // The server migrates at start-up (0002 only: 0001 is recorded as applied).
    let server = TestServer::start(db.settings()).await;
    assert_eq!(rows(&db).await, stored);
    let seqs_after: Vec<u64> = sqlx::query_scalar("SELECT seq FROM activity_event ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(seqs_after, seqs_before);
    let keys: Vec<(String, String)> = sqlx::query_as(
        "SELECT index_name, column_name FROM information_schema.statistics \
         WHERE table_schema = DATABASE() AND table_name = 'activity_event' AND non_unique = 0 \
         ORDER BY index_name, seq_in_index",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let keys: Vec<(&str, &str)> = keys
        .iter()
        .map(|(index, column)| (index.as_str(), column.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("activity_event_deployment_id", "deployment_id"),
            ("activity_event_deployment_id", "id"),
            ("PRIMARY", "seq"),
        ]
    );

    // The old rows are served as before, keep their answers, and deployment 2 may now use id 1.
    let mut client = server.client().await;
    assert_eq!(ids(&list(&mut client, 1).await.unwrap()), [1, 2]);
    let answer = client
        .create_event(event(2, 1, "old event 2"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.execution_time, 7);
    client
        .create_event(event(1, 2, "new event 1 of deployment 2"))
        .await
        .unwrap();
    assert_eq!(ids(&list(&mut client, 2).await.unwrap()), [3, 1]);
    assert_eq!(rows(&db).await.len(), 5);
    server.stop().await;
}

/// The privileges `sql/grants.sql` (and the chart's in-cluster MySQL) give the activity user.
fn activity_grants() -> String {
    let script =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../sql/grants.sql"))
            .unwrap();
    let line = script
        .lines()
        .find(|line| line.starts_with("GRANT ") && line.contains("TO 'activity'"))
        .expect("a GRANT for the activity user in sql/grants.sql");
    let (privileges, _) = line
        .trim_start_matches("GRANT ")
        .split_once(" ON ")
        .unwrap();
    privileges.to_owned()
}

#[tokio::test]
async fn every_migration_runs_with_only_the_privileges_the_grant_script_gives() {
    let db = TestDb::create().await;
    let admin = db.pool().await;
    let user = format!("narrow{}", std::process::id());
    let password = "narrow-password";
    for statement in [
        format!("DROP USER IF EXISTS '{user}'@'%'"),
        format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"),
        format!(
            "GRANT {} ON `{}`.* TO '{user}'@'%'",
            activity_grants(),
            db.parts.name
        ),
    ] {
        sqlx::query(&statement).execute(&admin).await.unwrap();
    }
    let url = format!(
        "mysql://{user}:{password}@{}:{}/{}",
        db.parts.host, db.parts.port, db.parts.name
    );
    let narrow = sqlx::MySqlPool::connect(&url).await.unwrap();
    let migrated = activity::repo::MIGRATOR.run(&narrow).await;
    narrow.close().await;
    sqlx::query(&format!("DROP USER IF EXISTS '{user}'@'%'"))
        .execute(&admin)
        .await
        .unwrap();
    migrated.unwrap_or_else(|error| {
        panic!("the migrations need more than sql/grants.sql gives ({error})")
    });
}
