//! The MySQL side of start-up: connecting (the shared [`platform::mysql`] pool), migrating
//! (`sql/migrations`, embedded at compile time) and loading the seed's test data
//! (`sql/testdata.sql`).

use anyhow::Context as _;
pub use platform::mysql::{connect, connect_options, ACQUIRE_TIMEOUT, MAX_CONNECTIONS};
use sqlx::MySqlPool;

/// The seed's test data: five users, two accounts, products and bundles.
pub const TEST_DATA: &str = include_str!("../../../sql/testdata.sql");

/// The schema migrations.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../sql/migrations");

/// Applies the pending migrations.
pub async fn migrate(pool: &MySqlPool) -> anyhow::Result<()> {
    platform::mysql::migrate(pool, &MIGRATOR, "sql/migrations").await?;
    Ok(())
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
