//! event-producer as a child process of the robustness features, which read its memory from
//! `/proc/<pid>/status` under a flood of big bodies. The same code as the `event-producer`
//! binary (settings from the environment); it lives here because Cargo only tells a package's
//! own tests where its own binaries are (`CARGO_BIN_EXE_harness-event-producer`).

use events::producer::{App, Settings};
use platform::config::Load as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::telemetry::init("event-producer");
    let settings = Settings::load(None, None)?;
    App::build(settings)
        .await?
        .run_until_stopped(platform::shutdown::shutdown_signal())
        .await
}
