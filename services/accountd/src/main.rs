//! The `accountd` binary: telemetry → command line → settings → app → serve until SIGTERM
//! ([`accountd::app::main_from_env`]).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    accountd::app::main_from_env().await
}
