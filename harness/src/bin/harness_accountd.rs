//! accountd as a child process of the robustness features, which read its memory from
//! `/proc/<pid>/status` under a flood. The same code as the `accountd` binary; it lives here
//! because Cargo only tells a package's own tests where its own binaries are
//! (`CARGO_BIN_EXE_harness-accountd`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    accountd::app::main_from_env().await
}
