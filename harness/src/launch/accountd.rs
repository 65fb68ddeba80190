//! Starts accountd in-process against a database the harness provisioned.

use anyhow::Context as _;

use super::RunningService;
use crate::backing::mysql::DbParts;

/// Settings for an accountd on a free port against `db`, migrations applied at start-up.
pub fn settings_for(db: &DbParts) -> accountd::Settings {
    accountd::Settings {
        port: 0,
        db: super::db_settings(db),
        ..accountd::Settings::default()
    }
}

/// Starts accountd on `db`; with `test_data`, loads the seed's five users first.
pub async fn start(db: &DbParts, test_data: bool) -> anyhow::Result<RunningService> {
    start_with(settings_for(db), db, test_data).await
}

/// Starts accountd with `settings` (e.g. [`settings_for`] `db` with a JWT secret) on `db`; with
/// `test_data`, loads the seed's five users first.
pub async fn start_with(
    settings: accountd::Settings,
    db: &DbParts,
    test_data: bool,
) -> anyhow::Result<RunningService> {
    let app = accountd::App::build(settings)
        .await
        .context("starting accountd in-process")?;
    if test_data {
        let pool = sqlx::MySqlPool::connect(&db.url())
            .await
            .with_context(|| format!("connecting to database {} to load the test data", db.name))?;
        accountd::db::load_test_data(&pool)
            .await
            .context("loading the seed's test data")?;
        pool.close().await;
    }
    let addr = app.local_addr();
    Ok(RunningService::spawn("accountd", addr, move |shutdown| {
        app.run_until_stopped(shutdown)
    }))
}
