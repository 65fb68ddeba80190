//! The `accountd` binary: telemetry → command line → settings → app → serve until SIGTERM.

use accountd::{cli::Cli, App, Settings};
use platform::config::Load as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::telemetry::init("accountd");
    let cli = Cli::parse_args();
    let settings = Settings::load(cli.config_file().as_deref(), cli.secrets_dir().as_deref())?;
    let app = App::build(settings).await?;
    if cli.load_test_data {
        accountd::db::load_test_data(app.pool()).await?;
    }
    app.run_until_stopped(platform::shutdown::shutdown_signal())
        .await
}
