//! The `event-producer` binary: telemetry → command line → settings → app → serve until
//! SIGTERM.

use clap::Parser as _;
use events::producer::{cli::Cli, App, Settings};
use platform::config::Load as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::telemetry::init("event-producer");
    let cli = Cli::parse();
    let settings = Settings::load(cli.config_file().as_deref(), cli.secrets_dir().as_deref())?;
    App::build(settings)
        .await?
        .run_until_stopped(platform::shutdown::shutdown_signal())
        .await
}
