//! Starts activity-server in-process against a database the harness provisioned.

use anyhow::Context as _;

use super::RunningService;
use crate::backing::mysql::DbParts;

/// Settings for an activity-server on free gRPC and admin ports against `db`.
pub fn settings_for(db: &DbParts) -> activity::Settings {
    activity::Settings {
        port: 0,
        admin_port: 0,
        db: super::db_settings(db),
        ..activity::Settings::default()
    }
}

/// Starts activity-server on `db`; its gRPC address is the service address, and the admin
/// listener (metrics, health) is recorded alongside.
pub async fn start(db: &DbParts) -> anyhow::Result<RunningService> {
    start_with(settings_for(db)).await
}

/// Starts activity-server with `settings` (e.g. [`settings_for`] with tighter limits), as
/// [`start`] does.
pub async fn start_with(settings: activity::Settings) -> anyhow::Result<RunningService> {
    let app = activity::App::build(settings)
        .await
        .context("starting activity-server in-process")?;
    let grpc_addr = app.grpc_addr();
    let admin_addr = app.admin_addr();
    Ok(
        RunningService::spawn("activity-server", grpc_addr, move |shutdown| {
            app.run_until_stopped(shutdown)
        })
        .with_admin_addr(admin_addr),
    )
}
