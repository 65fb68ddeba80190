//! The local-process provider's common part: start attempts on fresh free ports, spawning the
//! server with its pid recorded in the scratch directory, waiting until its [`Probe`] succeeds,
//! and handing the process to a clean-up guard (or killing it when it never got ready).

use std::{
    future::Future,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::Context as _;

use super::{
    cleanup::{Guard, Resource},
    launch::tail,
    port::free_port,
    providers::Provisioned,
    ready::{Liveness, NotReady, Probe},
    scratch,
};

/// Attempts with a fresh port when another process grabbed the one picked.
const PORT_ATTEMPTS: usize = 3;
/// Upper bound for a local server to answer its probe.
const READY_LIMIT: Duration = Duration::from_secs(30);

/// A failed start attempt, and whether a retry on another port may help.
pub(crate) type AttemptError = (anyhow::Error, bool);

/// Runs `attempt` with a free port until it succeeds or fails for a reason other than a taken
/// port (at most [`PORT_ATTEMPTS`] times). On failure, removes the scratch directory `dir`.
pub(crate) async fn on_free_port<T, F, Fut>(
    server: &Path,
    dir: &Path,
    mut attempt: F,
) -> anyhow::Result<T>
where
    F: FnMut(u16) -> Fut,
    Fut: Future<Output = Result<T, AttemptError>>,
{
    let mut last_error = None;
    for _ in 0..PORT_ATTEMPTS {
        let port = match free_port() {
            Ok(port) => port,
            Err(error) => {
                last_error = Some(error);
                break;
            }
        };
        match attempt(port).await {
            Ok(provisioned) => return Ok(provisioned),
            Err((error, port_taken)) => {
                last_error = Some(error);
                if !port_taken {
                    break;
                }
            }
        }
    }
    let _ = scratch::remove_dir(dir);
    Err(last_error
        .unwrap_or_else(|| anyhow::anyhow!("the local {} did not start", server.display())))
}

/// A server process to start in a scratch directory.
pub(crate) struct LocalServer<'a> {
    /// The program (for messages).
    pub server: &'a Path,
    /// The scratch directory it runs in.
    pub dir: &'a Path,
    /// The port it was told to listen on.
    pub port: u16,
    /// The log checked while waiting, whose tail explains an early exit.
    pub log: &'a Path,
    /// Every log searched for "address already in use" when it fails.
    pub logs: Vec<PathBuf>,
}

impl LocalServer<'_> {
    /// Spawns `command` (arguments and stdio set), records its pid, and waits until
    /// [`Probe::check`] succeeds on [`Probe::local_url`]. On failure the process is killed.
    pub(crate) async fn spawn<P: Probe>(
        &self,
        command: &mut Command,
    ) -> Result<Provisioned<String>, AttemptError> {
        let server = self.server.display();
        let dir = self.dir;
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {server}"))
            .map_err(|error| (error, false))?;
        let _ = std::fs::write(dir.join(scratch::SERVER_PID_FILE), child.id().to_string());
        let url = P::local_url(self.port);
        let waited = P::wait(&url, READY_LIMIT, Liveness::Process(&mut child, self.log)).await;
        match waited {
            Ok(waited) => {
                eprintln!(
                    "[harness] {}: {server} answered {} after {:.2} s",
                    P::KIND,
                    P::REQUEST,
                    waited.as_secs_f64()
                );
                let guard = Guard::register(Resource::Process {
                    child,
                    dir: dir.to_path_buf(),
                    name: format!("local {server} in {}", dir.display()),
                });
                Ok(Provisioned {
                    host: "127.0.0.1".to_owned(),
                    port: self.port,
                    provider: format!("local {server} (dir {})", dir.display()),
                    container_id: None,
                    guard: Some(guard),
                    extra: url,
                })
            }
            Err(not_ready) => {
                let _ = child.kill();
                let _ = child.wait();
                let output: String = self.logs.iter().map(|log| tail(log, 20)).collect();
                let port_taken = matches!(&not_ready, NotReady::Died(_))
                    && output
                        .to_ascii_lowercase()
                        .contains("address already in use");
                Err((not_ready.into_error(), port_taken))
            }
        }
    }
}
