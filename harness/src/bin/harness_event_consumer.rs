//! The event consumer as a child process of the robustness features, which SIGKILL it at
//! random moments. The same code as the `event-consumer` binary of the `events` crate; it lives
//! here because Cargo only tells a package's own tests where its own binaries are
//! (`CARGO_BIN_EXE_harness-event-consumer`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    events::consumer::main_from_env().await
}
