//! The `showtimes` binary: telemetry → command line → settings → app → serve until SIGTERM.

use cinema::{cli::Cli, App, Service, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let service = Service::Showtimes;
    platform::telemetry::init(service.name());
    let cli = Cli::parse_for(service);
    let settings = Settings::load(
        service,
        cli.config_file.as_deref(),
        cli.secrets_dir.as_deref(),
    )?;
    let app = App::build(service, settings).await?;
    if cli.load_seed_data {
        cinema::seed::load(app.database()).await?;
    }
    app.run_until_stopped(platform::shutdown::shutdown_signal())
        .await
}
