//! The `activity-server` binary: telemetry → command line → settings → app → serve until
//! SIGTERM.

use activity::{cli::ServerCli, App, Settings};
use platform::config::Load as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::telemetry::init("activity-server");
    let cli = ServerCli::parse_args();
    let settings = Settings::load(cli.config_file().as_deref(), cli.secrets_dir().as_deref())?;
    App::build(settings)
        .await?
        .run_until_stopped(platform::shutdown::shutdown_signal())
        .await
}
