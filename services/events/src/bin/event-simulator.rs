//! The `event-simulator` binary: telemetry → command line and settings → run until the
//! bounds or SIGTERM/Ctrl-C → print the summary.

use clap::Parser as _;
use events::simulator::{cli::Cli, run, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::telemetry::init("event-simulator");
    let cli = Cli::parse();
    let settings = cli.apply(Settings::load(cli.config_file.as_deref())?);
    if let Ok(level) = std::env::var("LOG_LEVEL") {
        if let Err(error) = platform::telemetry::set_default_level(&level) {
            tracing::warn!(%error, "LOG_LEVEL ignored");
        }
    }
    let report = run(&settings, platform::shutdown::shutdown_signal()).await?;
    println!("{}", report.summary());
    Ok(())
}
