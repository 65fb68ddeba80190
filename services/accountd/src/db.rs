//! The MySQL side of start-up: connecting, migrating (`sql/migrations`, embedded at compile
//! time) and loading the seed's test data (`sql/testdata.sql`).

use std::time::Duration;

use anyhow::Context as _;
use secrecy::ExposeSecret;
use sqlx::{
    mysql::{MySqlConnectOptions, MySqlPoolOptions},
    ConnectOptions as _, MySqlPool,
};

use crate::settings::DbSettings;

/// Connections in the pool.
pub const MAX_CONNECTIONS: u32 = 16;

/// How long a request waits for a pooled connection before it fails (503).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The seed's test data: five users, two accounts, products and bundles.
pub const TEST_DATA: &str = include_str!("../../../sql/testdata.sql");

/// The schema migrations.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../sql/migrations");

/// Connection options for `db` (nothing is logged, the password least of all).
pub fn connect_options(db: &DbSettings) -> MySqlConnectOptions {
    MySqlConnectOptions::new()
        .host(&db.host)
        .port(db.port)
        .username(&db.user)
        .password(db.password.expose_secret())
        .database(&db.name)
}

/// Opens the pool and checks that the database answers.
pub async fn connect(db: &DbSettings) -> anyhow::Result<MySqlPool> {
    let context = || {
        format!(
            "connecting to MySQL database {:?} at {}:{} as {:?}",
            db.name, db.host, db.port, db.user
        )
    };
    let result = MySqlPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(connect_options(db))
        .await;
    match result {
        Ok(pool) => Ok(pool),
        // The pool retries until its timeout and then forgets why; one direct attempt tells
        // the operator (connection refused, unknown host, …).
        Err(sqlx::Error::PoolTimedOut) => {
            let attempt =
                tokio::time::timeout(ACQUIRE_TIMEOUT, connect_options(db).connect()).await;
            let cause = match attempt {
                Ok(Err(error)) => error.to_string(),
                Ok(Ok(_)) => "the database answered only after the pool gave up".to_owned(),
                Err(_) => format!("no answer within {ACQUIRE_TIMEOUT:?}"),
            };
            Err(anyhow::anyhow!(cause).context(context()))
        }
        Err(error) => Err(error).with_context(context),
    }
}

/// Applies the pending migrations.
pub async fn migrate(pool: &MySqlPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("applying the migrations in sql/migrations")
}

/// Inserts the seed's test data (users 1..5 and the rest) when the `user` table is empty;
/// does nothing otherwise, so it is safe to call at every start.
pub async fn load_test_data(pool: &MySqlPool) -> anyhow::Result<()> {
    let mut tx = pool
        .begin()
        .await
        .context("starting the test data transaction")?;
    // Lock the table's rows so two concurrent loaders cannot both see it empty.
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM `user` FOR UPDATE")
        .fetch_one(&mut *tx)
        .await
        .context("counting users (are the migrations applied?)")?;
    if count > 0 {
        tracing::info!(
            users = count,
            "test data not loaded: the user table is not empty"
        );
        return Ok(());
    }
    sqlx::raw_sql(TEST_DATA)
        .execute(&mut *tx)
        .await
        .context("running sql/testdata.sql")?;
    tx.commit().await.context("committing the test data")?;
    tracing::info!("loaded the seed's test data (users 1..5)");
    Ok(())
}
