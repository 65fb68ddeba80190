//! Waiting until a server answers a real request (not just a log line), bounded in time, and
//! giving up early when the container or process behind it has died. Shared by every backing
//! service; each brings its own probe (`SELECT 1`, `PING`, …).

use std::{
    future::Future,
    path::Path,
    process::Child,
    time::{Duration, Instant},
};

use super::{
    docker,
    wait::{self, Attempt, WaitError},
};

/// How one kind of server is asked whether it is ready: the request that must succeed and the
/// URL a server started by the harness on `127.0.0.1:port` has.
pub(crate) trait Probe {
    /// Prefix of the progress lines, e.g. `redis`.
    const KIND: &'static str;
    /// Name in error messages, e.g. `Redis`.
    const DISPLAY: &'static str;
    /// The request in messages, e.g. `PING`.
    const REQUEST: &'static str;

    /// The URL of a server the harness started on `127.0.0.1:port`.
    fn local_url(port: u16) -> String;

    /// One request to `url`, bounded in time; the error says what went wrong.
    fn check(url: &str) -> impl Future<Output = Result<(), String>> + Send;

    /// Polls [`Probe::check`] on `url` every 100 ms until it succeeds, `limit` passes, or the
    /// server dies.
    fn wait(
        url: &str,
        limit: Duration,
        liveness: Liveness<'_>,
    ) -> impl Future<Output = Result<Duration, NotReady>> {
        async move {
            let what = format!("`{}`", Self::REQUEST);
            wait_until(&what, limit, liveness, || Self::check(url)).await
        }
    }
}

/// What runs the server, checked now and then while waiting.
pub(crate) enum Liveness<'a> {
    /// Nothing to check (an external server).
    External,
    /// A container, by id.
    Container(&'a str),
    /// A local process and its log.
    Process(&'a mut Child, &'a Path),
}

/// Why waiting failed.
pub(crate) enum NotReady {
    /// The container or process exited; the text holds its last log lines.
    Died(String),
    /// No probe succeeded in time; the text holds the last error.
    TimedOut(String),
}

impl NotReady {
    /// The report as an error.
    pub(crate) fn into_error(self) -> anyhow::Error {
        match self {
            NotReady::Died(report) | NotReady::TimedOut(report) => anyhow::anyhow!(report),
        }
    }
}

/// Runs `probe` every 100 ms until it succeeds, `limit` passes, or the server dies (checked
/// every tenth attempt), through [`crate::wait::wait_until`]. `what` names the probe in the
/// time-out message (e.g. `` `SELECT 1` ``). Returns how long it took.
pub(crate) async fn wait_until<F, Fut>(
    what: &str,
    limit: Duration,
    liveness: Liveness<'_>,
    mut probe: F,
) -> Result<Duration, NotReady>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let started = Instant::now();
    let liveness = &tokio::sync::Mutex::new(liveness);
    let mut attempts = 0u32;
    let what = format!("successful {what}");
    let waited = wait::wait_until(&what, limit, Duration::from_millis(100), || {
        attempts = attempts.wrapping_add(1);
        let check_liveness = attempts.is_multiple_of(10);
        let probe = probe();
        async move {
            let last_error = match probe.await {
                Ok(()) => return Attempt::Ready(started.elapsed()),
                Err(error) => error,
            };
            if check_liveness {
                if let Some(report) = died(&mut *liveness.lock().await).await {
                    return Attempt::Failed(anyhow::anyhow!(report));
                }
            }
            Attempt::Pending(last_error)
        }
    })
    .await;
    waited.map_err(|error| match error {
        WaitError::Failed(report) => NotReady::Died(report.to_string()),
        timed_out @ WaitError::TimedOut { .. } => NotReady::TimedOut(timed_out.to_string()),
    })
}

/// `Some(report)` when the server behind `liveness` has exited.
async fn died(liveness: &mut Liveness<'_>) -> Option<String> {
    match liveness {
        Liveness::External => None,
        Liveness::Container(id) => docker::exit_report(id).await,
        Liveness::Process(child, log) => match child.try_wait() {
            Ok(Some(status)) => Some(format!(
                "the server exited ({status}); last lines of {}:\n{}",
                log.display(),
                crate::launch::tail(log, 20)
            )),
            _ => None,
        },
    }
}
