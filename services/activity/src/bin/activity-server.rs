//! The `activity-server` binary: telemetry → command line → settings → app → serve until
//! SIGTERM ([`activity::cli::server_main`]).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    activity::cli::server_main().await
}
