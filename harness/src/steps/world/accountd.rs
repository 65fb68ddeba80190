//! The accountd scenarios' own state: accountd as a child process (so its memory can be read
//! from `/proc`), what each user of a flood was answered, and the request timeout it runs with.

use harness::launch::process::ChildService;

/// accountd's part of the world.
#[derive(Debug, Default)]
pub struct AccountdState {
    /// accountd started as a process of its own, stopped in teardown.
    pub process: Option<ChildService>,
    /// Each flooded user's e-mail and the `httpstatus` its bulk result gave.
    pub answers: Vec<(String, u16)>,
    /// Slow connections of a slowloris scenario, each with when accountd closed it after it
    /// was opened (`None`: still open when the scenario stopped waiting).
    pub slow_connections: Vec<Option<std::time::Duration>>,
    /// Statuses of the ordinary requests sent while the slow connections were open.
    pub answered_meanwhile: Vec<u16>,
    /// `limits.request_timeout` of the accountd the scenario starts, when not the default.
    pub request_timeout: Option<std::time::Duration>,
}

impl AccountdState {
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
