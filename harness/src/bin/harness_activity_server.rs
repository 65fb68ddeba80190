//! activity-server as a child process of the robustness features (the fault matrix SIGTERMs
//! and SIGKILLs it). The same code as the `activity-server` binary of the `activity` crate; it
//! lives here because Cargo only tells a package's own tests where its own binaries are
//! (`CARGO_BIN_EXE_harness-activity-server`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    activity::cli::server_main().await
}
