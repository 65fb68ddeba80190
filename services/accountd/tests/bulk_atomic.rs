//! Bulk requests against a real MySQL/MariaDB: a batch is committed whole or not at all.
//!
//! - `MySqlUserRepo::apply_batch`: a write refused for its own values (duplicate e-mail, too
//!   long, unknown id) is skipped alone and the others are committed; a batch whose connection
//!   is killed, whose deadline passes, or whose caller stops waiting stores nothing.
//! - The whole service over HTTP: one duplicate → 409 and the others stored; the transaction
//!   killed → 503 + `Retry-After` and nothing stored; the prepare phase over its budget → 503 +
//!   `Retry-After` and nothing stored.
//!
//! To stop a batch in the middle honestly, a second connection (the "blocker") inserts a user
//! with the e-mail of a later write of the batch and does not commit: the batch's INSERT of that
//! e-mail then waits for the blocker's row lock (InnoDB must know whether the row will exist),
//! after having written the earlier users. The test then kills the batch's connection, lets its
//! deadline pass, or drops its caller. Each test has its own database on the harness's shared
//! server (`MYSQL_URL`, else a container, else a local `mariadbd`).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use accountd::{
    db,
    domain::password::HashLimits,
    repo::{BatchOp, MySqlUserRepo, NewUser, RepoError, UserRepo},
    App, Settings,
};
use harness::backing::mysql::ScratchDatabase;
use platform::http::Limits;
use serde_json::{json, Value};
use sqlx::{Connection as _, MySqlConnection, MySqlPool};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a test waits for the batch to reach the blocker's lock, or to end, at most.
const WAIT_LIMIT: Duration = Duration::from_secs(10);

/// A fresh, migrated database, dropped (best effort) when this goes out of scope.
struct TestDb {
    parts: ScratchDatabase,
    pool: MySqlPool,
}

impl TestDb {
    async fn create() -> TestDb {
        let parts = ScratchDatabase::create("accountd_bulk")
            .await
            .expect("a database on the harness's MySQL");
        let pool = db::connect(&harness::launch::db_settings(&parts))
            .await
            .unwrap();
        db::migrate(&pool).await.unwrap();
        TestDb { parts, pool }
    }

    /// A store on a pool of its own (so that its connections are told apart from the test's).
    async fn repo(&self) -> MySqlUserRepo {
        let pool = db::connect(&harness::launch::db_settings(&self.parts))
            .await
            .unwrap();
        MySqlUserRepo::new(pool)
    }

    async fn connection(&self) -> MySqlConnection {
        MySqlConnection::connect(&self.parts.url()).await.unwrap()
    }

    /// The stored e-mail addresses, by id.
    async fn emails(&self) -> Vec<String> {
        sqlx::query_scalar("SELECT `email` FROM `user` ORDER BY `id`")
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }

    async fn count(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM `user`")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// The id of the one connection to this database, other than the test's and `except`,
    /// that is running a statement; waits for it (bounded).
    async fn busy_connection(&self, except: i64) -> i64 {
        let started = Instant::now();
        loop {
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT CAST(`ID` AS SIGNED) FROM information_schema.PROCESSLIST \
                 WHERE `DB` = DATABASE() AND `ID` <> CONNECTION_ID() AND `ID` <> ? \
                 AND `COMMAND` <> 'Sleep'",
            )
            .bind(except)
            .fetch_all(&self.pool)
            .await
            .unwrap();
            if let [id] = ids.as_slice() {
                return *id;
            }
            assert!(
                started.elapsed() < WAIT_LIMIT,
                "no statement waiting on the blocker's lock: {ids:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Waits (bounded) until no connection of `pool` is in use: whatever ran on it has ended
/// (committed and returned, or rolled back and closed).
async fn until_idle(pool: &MySqlPool) {
    let started = Instant::now();
    while pool.num_idle() != pool.size() as usize {
        assert!(started.elapsed() < WAIT_LIMIT, "the pool is still in use");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A connection holding an uncommitted user with `email`: a batch writing that e-mail waits.
struct Blocker {
    connection: MySqlConnection,
    id: i64,
}

impl Blocker {
    async fn holding(test: &TestDb, email: &str) -> Blocker {
        let mut connection = test.connection().await;
        let id: i64 = sqlx::query_scalar("SELECT CAST(CONNECTION_ID() AS SIGNED)")
            .fetch_one(&mut connection)
            .await
            .unwrap();
        sqlx::query("BEGIN").execute(&mut connection).await.unwrap();
        sqlx::query(
            "INSERT INTO `user` (`accountID`, `name`, `email`, `role`, `password`) \
             VALUES (1, 'blocker', ?, 1, 'x')",
        )
        .bind(email)
        .execute(&mut connection)
        .await
        .unwrap();
        Blocker { connection, id }
    }

    async fn finish(mut self, commit: bool) {
        let statement = if commit { "COMMIT" } else { "ROLLBACK" };
        sqlx::query(statement)
            .execute(&mut self.connection)
            .await
            .unwrap();
    }
}

fn new_user(name: &str, email: &str) -> NewUser {
    NewUser {
        account_id: 1,
        name: name.to_owned(),
        email: email.to_owned(),
        role: 1,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
    }
}

fn creates(emails: &[&str]) -> Vec<BatchOp> {
    emails
        .iter()
        .map(|email| BatchOp::Create(new_user(email, email)))
        .collect()
}

fn in_secs(secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(secs)
}

#[tokio::test]
async fn a_batch_skips_the_writes_refused_for_their_values_and_commits_the_others() {
    let test = TestDb::create().await;
    let repo = test.repo().await;
    let existing = repo.create(&new_user("old", "dup@x.com")).await.unwrap();
    let outcomes = repo
        .apply_batch(
            vec![
                BatchOp::Create(new_user("a", "a@x.com")),
                BatchOp::Create(new_user("dup", "DUP@x.com")),
                BatchOp::Create(new_user(&"x".repeat(300), "long@x.com")),
                BatchOp::Update(existing, new_user("renamed", "dup@x.com")),
                BatchOp::Update(999, new_user("ghost", "ghost@x.com")),
                BatchOp::Create(new_user("b", "b@x.com")),
                // The same e-mail twice in one batch: the first wins.
                BatchOp::Create(new_user("b again", "b@x.com")),
            ],
            in_secs(20),
        )
        .await
        .unwrap();
    let kinds: Vec<String> = outcomes
        .iter()
        .map(|outcome| match outcome {
            Ok(_) => "ok".to_owned(),
            Err(RepoError::Duplicate) => "duplicate".to_owned(),
            Err(RepoError::Invalid(_)) => "invalid".to_owned(),
            Err(RepoError::NotFound) => "not found".to_owned(),
            Err(other) => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "ok",
            "duplicate",
            "invalid",
            "ok",
            "not found",
            "ok",
            "duplicate"
        ]
    );
    assert_eq!(outcomes[3].as_ref().unwrap(), &existing);
    // New ids follow the request order.
    assert!(outcomes[0].as_ref().unwrap() < outcomes[5].as_ref().unwrap());
    assert_eq!(test.emails().await, ["dup@x.com", "a@x.com", "b@x.com"]);
    let renamed: String = sqlx::query_scalar("SELECT `name` FROM `user` WHERE `id` = ?")
        .bind(existing)
        .fetch_one(&test.pool)
        .await
        .unwrap();
    assert_eq!(renamed, "renamed");
}

#[tokio::test]
async fn a_batch_whose_connection_is_killed_midway_stores_nothing() {
    let test = TestDb::create().await;
    let repo = test.repo().await;
    let blocker = Blocker::holding(&test, "third@x.com").await;
    let batch = creates(&["first@x.com", "second@x.com", "third@x.com", "fourth@x.com"]);
    let running = tokio::spawn(async move { repo.apply_batch(batch, in_secs(20)).await });
    // The batch has written first and second and waits on third.
    let victim = test.busy_connection(blocker.id).await;
    sqlx::query(&format!("KILL {victim}"))
        .execute(&test.pool)
        .await
        .unwrap();
    let result = tokio::time::timeout(WAIT_LIMIT, running)
        .await
        .unwrap()
        .unwrap();
    match result {
        Err(error) => assert!(!error.is_per_item(), "{error:?}"),
        Ok(outcomes) => panic!("a killed batch was answered {outcomes:?}"),
    }
    blocker.finish(false).await;
    assert_eq!(test.count().await, 0, "{:?}", test.emails().await);
}

#[tokio::test]
async fn a_batch_still_waiting_at_its_deadline_is_rolled_back_and_releases_its_locks() {
    let test = TestDb::create().await;
    let repo = test.repo().await;
    let blocker = Blocker::holding(&test, "third@x.com").await;
    let started = Instant::now();
    let result = repo
        .apply_batch(
            creates(&["first@x.com", "second@x.com", "third@x.com"]),
            Instant::now() + Duration::from_millis(800),
        )
        .await;
    assert!(matches!(result, Err(RepoError::TimedOut)), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The batch's locks went with it: the blocker commits its own user at once.
    tokio::time::timeout(WAIT_LIMIT, blocker.finish(true))
        .await
        .unwrap();
    assert_eq!(test.emails().await, ["third@x.com"]);
}

#[tokio::test]
async fn a_batch_whose_caller_stops_waiting_is_rolled_back_not_committed() {
    let test = TestDb::create().await;
    let repo = test.repo().await;
    let blocker = Blocker::holding(&test, "third@x.com").await;
    let batch = creates(&["first@x.com", "second@x.com", "third@x.com", "fourth@x.com"]);
    // The caller gives up (as the request timeout would) while the batch waits on third.
    let abandoned = tokio::time::timeout(
        Duration::from_millis(500),
        repo.apply_batch(batch, in_secs(20)),
    )
    .await;
    assert!(abandoned.is_err(), "the batch should still be waiting");
    test.busy_connection(blocker.id).await;
    // Let the orphaned batch go on: it gets its lock and could now COMMIT, but must not.
    blocker.finish(false).await;
    until_idle(repo.pool()).await;
    assert_eq!(test.count().await, 0, "{:?}", test.emails().await);
}

/// accountd over the test's database, serving on a loopback port until the sender is used.
struct Served {
    addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Served {
    async fn start(test: &TestDb, tune: impl FnOnce(&mut Settings)) -> Served {
        let mut settings = Settings {
            port: 0,
            db: harness::launch::db_settings(&test.parts),
            ..Settings::default()
        };
        tune(&mut settings);
        let app = App::build(settings).await.unwrap();
        db::load_test_data(app.pool()).await.unwrap();
        let addr = app.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
        }));
        Served { addr, stop, server }
    }

    /// A bulk POST of `users`; the status, the response head and the body.
    async fn bulk_post(&self, users: &[Value]) -> (u16, String, String) {
        let body = json!({ "users": users }).to_string();
        let request = format!(
            "POST /users HTTP/1.1\r\nhost: x\r\nconnection: close\r\nbulk-request: true\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.addr.port()))
            .await
            .unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        tokio::time::timeout(
            WAIT_LIMIT + WAIT_LIMIT,
            stream.read_to_string(&mut response),
        )
        .await
        .unwrap()
        .unwrap();
        let status = response[9..12].parse().unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        (status, head.to_ascii_lowercase(), body.to_owned())
    }

    async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(15), self.server)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

fn user(name: &str, email: &str) -> Value {
    json!({"accountid": 1, "name": name, "email": email, "role": 1, "password": "pw"})
}

#[tokio::test]
async fn over_http_a_bulk_with_one_duplicate_stores_the_others() {
    let test = TestDb::create().await;
    let served = Served::start(&test, |_| {}).await;
    let (status, _, body) = served
        .bulk_post(&[
            user("First", "first@x.com"),
            user("Dup", "mickeyd@gmail.com"),
            user("Third", "third@x.com"),
        ])
        .await;
    assert_eq!(status, 409, "{body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    let results = json["results"].as_array().unwrap();
    let statuses: Vec<i64> = results
        .iter()
        .map(|r| r["httpstatus"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 400, 201]);
    assert_eq!(results[1]["errmsg"], "attempt to insert duplicate user");
    assert_eq!(results[0]["user"]["id"], 6);
    let emails = test.emails().await;
    assert_eq!(emails.len(), 7, "{emails:?}");
    assert_eq!(emails[5..], ["first@x.com", "third@x.com"]);
    served.stop().await;
}

#[tokio::test]
async fn over_http_a_bulk_whose_transaction_is_killed_answers_503_and_stores_nothing() {
    let test = TestDb::create().await;
    let served = Served::start(&test, |_| {}).await;
    let blocker = Blocker::holding(&test, "u2@x.com").await;
    let users: Vec<Value> = (0..4)
        .map(|i| user(&format!("user {i}"), &format!("u{i}@x.com")))
        .collect();
    let request = {
        let served = &served;
        async move { served.bulk_post(&users).await }
    };
    let kill = async {
        // The pool's idle connections sleep; the only busy one is the batch's, on u2.
        let victim = test.busy_connection(blocker.id).await;
        sqlx::query(&format!("KILL {victim}"))
            .execute(&test.pool)
            .await
            .unwrap();
    };
    let ((status, head, body), ()) = tokio::join!(request, kill);
    assert_eq!(status, 503, "{body}");
    assert!(head.contains("\r\nretry-after: 1"), "{head}");
    assert!(body.contains("nothing was stored"), "{body}");
    blocker.finish(false).await;
    // Only the seed's five users.
    assert_eq!(test.count().await, 5, "{:?}", test.emails().await);
    served.stop().await;
}

#[tokio::test]
async fn over_http_a_bulk_over_its_prepare_budget_answers_503_and_stores_nothing() {
    let test = TestDb::create().await;
    // One password hashed at a time (tens of milliseconds each): 100 users need seconds, the
    // budget of a 1 s request timeout is 750 ms.
    let served = Served::start(&test, |settings| {
        settings.limits = Limits {
            request_timeout: Duration::from_secs(1),
            retry_after_secs: 2,
            ..Limits::default()
        };
        settings.hashing = HashLimits {
            concurrent: 1,
            ..HashLimits::default()
        };
        settings.max_concurrent_bulk_operations = 2;
    })
    .await;
    let users: Vec<Value> = (0..100)
        .map(|i| user(&format!("user {i}"), &format!("u{i}@x.com")))
        .collect();
    let started = Instant::now();
    let (status, head, body) = served.bulk_post(&users).await;
    assert_eq!(status, 503, "{body}");
    assert!(head.contains("\r\nretry-after: 2"), "{head}");
    // The handler's own answer, not the platform's timeout ("did not complete within").
    assert!(
        body.contains("could not be prepared within its time budget (750ms of the 1s request timeout); nothing was stored"),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(test.count().await, 5, "{:?}", test.emails().await);
    served.stop().await;
}
