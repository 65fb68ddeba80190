//! The cinema users service as a child process of the robustness features (the fault matrix's
//! suggestions cells SIGTERM and SIGKILL it). The same code as the `users` binary; it lives here
//! because Cargo only tells a package's own tests where its own binaries are
//! (`CARGO_BIN_EXE_harness-users`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cinema::cli::main_for(cinema::Service::Users).await
}
