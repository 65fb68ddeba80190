//! `MySqlUserRepo`, the migrations, the test data and `App` against a real MySQL/MariaDB.
//!
//! The server is the harness's shared one (`MYSQL_URL`, else a container, else a local
//! `mariadbd`; see `harness::backing::mysql`); each test works in its own fresh database, dropped
//! afterwards. A server that cannot be provisioned fails the tests with what to install.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use accountd::{
    db,
    repo::{MySqlUserRepo, NewUser, RepoError, UserRepo},
    App, DbSettings, Settings,
};
use harness::backing::mysql::{DbParts, ScratchDatabase};
use sqlx::MySqlPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A fresh database, dropped (best effort) when this goes out of scope.
struct TestDb {
    parts: ScratchDatabase,
    pool: MySqlPool,
}

impl TestDb {
    async fn create(migrate: bool) -> TestDb {
        let parts = ScratchDatabase::create("accountd_repo")
            .await
            .expect("a database on the harness's MySQL");
        let pool = db::connect(&TestDb::settings_for(&parts)).await.unwrap();
        if migrate {
            db::migrate(&pool).await.unwrap();
        }
        TestDb { parts, pool }
    }

    fn settings_for(parts: &DbParts) -> DbSettings {
        harness::launch::db_settings(parts)
    }

    fn settings(&self) -> DbSettings {
        Self::settings_for(&self.parts)
    }

    fn repo(&self) -> MySqlUserRepo {
        MySqlUserRepo::new(self.pool.clone())
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

#[tokio::test]
async fn create_read_update_delete_round_trip() {
    let test = TestDb::create(true).await;
    let repo = test.repo();
    assert!(repo.list().await.unwrap().is_empty());
    let id = repo
        .create(&new_user("Brian Wilson", "b@x.com"))
        .await
        .unwrap();
    assert_eq!(id, 1);
    let user = repo.get(id).await.unwrap().unwrap();
    assert_eq!(user.name, "Brian Wilson");
    assert_eq!(user.href, "/users/1");
    assert_eq!(repo.get(2).await.unwrap(), None);
    assert_eq!(repo.get(-1).await.unwrap(), None);

    let mut changed = new_user("BeachBoy Brian Wilson", "b@x.com");
    changed.role = 2;
    repo.update(id, &changed).await.unwrap();
    // Updating with identical values is still a success (the row exists).
    repo.update(id, &changed).await.unwrap();
    let user = repo.get(id).await.unwrap().unwrap();
    assert_eq!(
        (user.name.as_str(), user.role),
        ("BeachBoy Brian Wilson", 2)
    );

    let second = repo.create(&new_user("Frank", "f@x.com")).await.unwrap();
    let ids: Vec<i64> = repo.list().await.unwrap().iter().map(|u| u.id).collect();
    assert_eq!(ids, vec![id, second]);
    assert!(repo.delete(id).await.unwrap());
    assert!(!repo.delete(id).await.unwrap());
    repo.ping().await.unwrap();
}

#[tokio::test]
async fn duplicate_email_is_duplicate() {
    let test = TestDb::create(true).await;
    let repo = test.repo();
    repo.create(&new_user("a", "dup@x.com")).await.unwrap();
    for email in ["dup@x.com", "DUP@X.com"] {
        assert!(
            matches!(
                repo.create(&new_user("b", email)).await,
                Err(RepoError::Duplicate)
            ),
            "{email}"
        );
    }
    let other = repo.create(&new_user("c", "other@x.com")).await.unwrap();
    assert!(matches!(
        repo.update(other, &new_user("c", "dup@x.com")).await,
        Err(RepoError::Duplicate)
    ));
}

#[tokio::test]
async fn update_of_an_unknown_user_is_not_found() {
    let test = TestDb::create(true).await;
    assert!(matches!(
        test.repo().update(42, &new_user("x", "x@x")).await,
        Err(RepoError::NotFound)
    ));
}

#[tokio::test]
async fn values_the_columns_cannot_hold_are_invalid_not_internal() {
    let test = TestDb::create(true).await;
    let repo = test.repo();
    let too_long = new_user(&"x".repeat(300), "long@x.com");
    match repo.create(&too_long).await {
        Err(RepoError::Invalid(message)) => assert!(message.contains("too long"), "{message}"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    let mut out_of_range = new_user("n", "range@x.com");
    out_of_range.account_id = i64::from(i32::MAX) + 1;
    assert!(matches!(
        repo.create(&out_of_range).await,
        Err(RepoError::Invalid(_))
    ));
    let id = repo.create(&new_user("n", "ok@x.com")).await.unwrap();
    assert!(matches!(
        repo.update(id, &new_user("n", &format!("{}@x.com", "e".repeat(300))))
            .await,
        Err(RepoError::Invalid(_))
    ));
}

#[tokio::test]
async fn load_test_data_is_idempotent_and_matches_the_seed() {
    let test = TestDb::create(true).await;
    db::load_test_data(&test.pool).await.unwrap();
    db::load_test_data(&test.pool).await.unwrap();
    let repo = test.repo();
    let users = repo.list().await.unwrap();
    let golden = std::fs::read_to_string(format!(
        "{}/tests/golden/testGetAllUsersSuccess.golden",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert_eq!(
        serde_json::to_string(&accountd::routes::UsersBody { users }).unwrap(),
        golden
    );
    let hash: String = sqlx::query_scalar("SELECT `password` FROM `user` WHERE `id` = 1")
        .fetch_one(&test.pool)
        .await
        .unwrap();
    assert!(accountd::domain::password::verify(
        "alksdf98423)*(&#",
        &hash
    ));
    // The next user gets id 6, as in the seed's golden files.
    assert_eq!(repo.create(&new_user("Brian", "b@x.com")).await.unwrap(), 6);
    // Not empty any more: nothing is loaded again.
    repo.delete(1).await.unwrap();
    db::load_test_data(&test.pool).await.unwrap();
    assert_eq!(repo.list().await.unwrap().len(), 5);
    // Migrations are idempotent too.
    db::migrate(&test.pool).await.unwrap();
}

async fn http(addr: std::net::SocketAddr, request: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", addr.port()))
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        stream.read_to_string(&mut response),
    )
    .await
    .unwrap()
    .unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn app_serves_users_from_mysql_and_stops_cleanly() {
    let test = TestDb::create(false).await;
    let settings = Settings {
        port: 0,
        db: test.settings(),
        ..Settings::default()
    };
    let app = App::build(settings).await.unwrap();
    db::load_test_data(app.pool()).await.unwrap();
    let addr = app.local_addr();
    let readiness = app.readiness();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));

    let (status, body) = http(
        addr,
        "GET /readyz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!((status, body.as_str()), (200, "ready"));
    let (status, body) = http(
        addr,
        "GET /users/1 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        r#"{"accountid":1,"href":"/users/1","id":1,"name":"mickey dolenz","email":"mickeyd@gmail.com","role":1}"#
    );
    let brian = r#"{"accountid":1,"name":"Brian Wilson","email":"goodvibrations@gmail.com","role":1,"password":"helpmerhonda"}"#;
    let post = format!(
        "POST /users HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{brian}",
        brian.len()
    );
    assert_eq!(http(addr, &post).await.0, 201);
    let (status, body) = http(addr, &post).await;
    assert_eq!(status, 409, "{body}");
    let long = format!(
        r#"{{"accountid":1,"name":"{}","email":"l@x","role":1,"password":"p"}}"#,
        "x".repeat(256)
    );
    let post_long = format!(
        "POST /users HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{long}",
        long.len()
    );
    assert_eq!(http(addr, &post_long).await.0, 400);

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(15), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(readiness.is_draining());
}
