//! The big-body scenarios' own state: the service under test as a child process (so its memory
//! can be read from `/proc`), its idle size, and what the last flood was answered.

use harness::launch::process::ChildService;

/// The big-body part of the world.
#[derive(Debug, Default)]
pub struct BigBodyState {
    /// The service (event-producer or movies) started as a process of its own, stopped in
    /// teardown.
    pub process: Option<ChildService>,
    /// Its base URL.
    pub base_url: String,
    /// Its resident memory once started and warmed up, in KiB (the baseline of its peak).
    pub idle_rss_kib: u64,
    /// Status and error code (if the body was a JSON error) of each request of the last flood.
    pub answers: Vec<(u16, Option<String>)>,
}

impl BigBodyState {
    /// Stops the process, keeping its log when the scenario `failed`.
    pub async fn teardown(&mut self, failed: bool) {
        if let Some(process) = self.process.take() {
            let name = process.name().to_owned();
            if let Err(error) = process.stop(failed).await {
                eprintln!("[harness] {name} stopped with an error: {error:#}");
            }
        }
    }
}
