//! The movies service as a child process of the robustness features, which read its memory
//! from `/proc/<pid>/status` under a flood of big bodies. The same code as the `movies` binary;
//! it lives here because Cargo only tells a package's own tests where its own binaries are
//! (`CARGO_BIN_EXE_harness-movies`).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cinema::cli::main_for(cinema::Service::Movies).await
}
