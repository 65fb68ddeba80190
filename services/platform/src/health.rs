//! Liveness and readiness.
//!
//! [`Readiness`] is a cheap, cloneable flag plus a list of named checks (e.g. a database ping).
//! It reports "not ready" as soon as shutdown starts ([`Readiness::start_draining`]), so a load
//! balancer stops sending new requests while in-flight ones drain. [`routes`] serves
//! `GET /livez` (the process answers) and `GET /readyz` (not draining and every check passes).
//!
//! A service whose requests need its store also watches it ([`Readiness::watch`]): the checks
//! run in the background every [`WATCH_INTERVAL`], and while the last round failed the
//! requests are refused at once ([`refuse_while_unreachable`]: 503 with `Retry-After`) instead
//! of each waiting out the store's timeouts; the first round that passes lets them through
//! again, with no restart.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, RwLock,
    },
    time::Duration,
};

use axum::{extract::State, http::StatusCode, response::IntoResponse, routing::get, Router};
use futures::future::BoxFuture;

use crate::http::ApiError;

/// How long one readiness check may take before it counts as failed: within a probe's own
/// timeout (the charts' `timeoutSeconds` is 2), and short enough that a store which stops
/// answering is reported within 2 s of it.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// How often [`Readiness::watch`] runs the checks in the background.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(250);

/// The `Retry-After` (seconds) of a request refused while the store is unreachable.
pub const UNREACHABLE_RETRY_AFTER_SECS: u64 = 1;

type CheckFn = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Runs `check`, bounded by [`CHECK_TIMEOUT`]. A check that answers with an error is asked
/// once more at once, within the same bound: a pooled connection the store closed while idle
/// fails one call, a store that is down fails both; the time to notice is unchanged.
async fn run_check(check: &CheckFn) -> Result<(), String> {
    let attempts = async {
        match check().await {
            Ok(()) => Ok(()),
            Err(_) => check().await,
        }
    };
    match tokio::time::timeout(CHECK_TIMEOUT, attempts).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("timed out after {CHECK_TIMEOUT:?}")),
    }
}

struct Check {
    name: String,
    run: CheckFn,
    /// Run by the background watch too (a store); else only on readiness probes.
    watched: bool,
}

#[derive(Default)]
struct Inner {
    draining: AtomicBool,
    checks: RwLock<Vec<Check>>,
    /// Why the last background round failed ([`Readiness::watch`]); `None` when it passed.
    unreachable: RwLock<Option<NotReady>>,
    /// A background watch runs: `GET /readyz` answers from its last round.
    watched: AtomicBool,
}

/// Whether this process should receive traffic. Clones share the same state.
#[derive(Clone, Default)]
pub struct Readiness {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness")
            .field("draining", &self.is_draining())
            .field("checks", &self.check_names())
            .finish()
    }
}

/// Why the process is not ready.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    /// Shutdown has started.
    #[error("shutting down")]
    Draining,
    /// A readiness check failed or timed out.
    #[error("readiness check {name:?} failed: {reason}")]
    CheckFailed {
        /// The check's name.
        name: String,
        /// Its error message.
        reason: String,
    },
}

impl Readiness {
    /// A ready flag with no checks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a check run on every readiness probe, bounded by [`CHECK_TIMEOUT`].
    pub fn add_check<F, Fut>(&self, name: impl Into<String>, check: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.push_check(name.into(), Arc::new(move || Box::pin(check())), true);
    }

    /// Registers a check run on every readiness probe but not by the background watch
    /// ([`Readiness::watch`]), so that it never refuses requests: for a state of the process's
    /// own (e.g. indexes still being created) rather than a store's reachability.
    pub fn add_probe_check<F, Fut>(&self, name: impl Into<String>, check: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.push_check(name.into(), Arc::new(move || Box::pin(check())), false);
    }

    fn push_check(&self, name: String, run: CheckFn, watched: bool) {
        let check = Check { name, run, watched };
        match self.inner.checks.write() {
            Ok(mut checks) => checks.push(check),
            Err(poisoned) => poisoned.into_inner().push(check),
        }
    }

    /// Marks the process as shutting down: from now on it is never ready again.
    pub fn start_draining(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }

    /// Whether shutdown has started.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// The names of the registered checks.
    pub fn check_names(&self) -> Vec<String> {
        self.snapshot()
            .into_iter()
            .map(|(name, _, _)| name)
            .collect()
    }

    /// Ready when not draining and every check passes within [`CHECK_TIMEOUT`].
    pub async fn check(&self) -> Result<(), NotReady> {
        self.run_checks(|_| true).await
    }

    /// [`Readiness::check`] over the checks `wanted` picks (by whether the watch runs them).
    async fn run_checks(&self, wanted: impl Fn(bool) -> bool) -> Result<(), NotReady> {
        if self.is_draining() {
            return Err(NotReady::Draining);
        }
        for (name, run, _) in self
            .snapshot()
            .into_iter()
            .filter(|(_, _, watched)| wanted(*watched))
        {
            let Err(reason) = run_check(&run).await else {
                continue;
            };
            return Err(NotReady::CheckFailed { name, reason });
        }
        if self.is_draining() {
            return Err(NotReady::Draining);
        }
        Ok(())
    }

    /// Runs the checks every `interval` in the background (each bounded by [`CHECK_TIMEOUT`])
    /// and remembers whether the last round failed ([`Readiness::unreachable`]). The task ends
    /// by itself once every clone of this `Readiness` is gone or shutdown starts.
    pub fn watch(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.inner);
        self.inner.watched.store(true, Ordering::SeqCst);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let readiness = Readiness { inner };
                if readiness.is_draining() {
                    readiness.set_unreachable(None);
                    return;
                }
                let outcome = match readiness.run_checks(|watched| watched).await {
                    Ok(()) | Err(NotReady::Draining) => None,
                    Err(failed) => Some(failed),
                };
                let was = readiness.unreachable().is_some();
                match (&outcome, was) {
                    (Some(failed), false) => {
                        tracing::warn!(reason = %failed, "store unreachable: refusing requests")
                    }
                    (None, true) => tracing::info!("store reachable again: serving requests"),
                    _ => {}
                }
                readiness.set_unreachable(outcome);
            }
        })
    }

    /// Why the last background round of checks failed, while it did ([`Readiness::watch`]);
    /// `None` when it passed, or when nothing watches.
    pub fn unreachable(&self) -> Option<NotReady> {
        match self.inner.unreachable.read() {
            Ok(slot) => slot.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// What `GET /readyz` answers: not ready while draining; then, when a background watch
    /// runs, its last round (so that readiness false and requests refused at once go
    /// together); else every check now ([`Readiness::check`]).
    pub async fn status(&self) -> Result<(), NotReady> {
        if self.is_draining() {
            return Err(NotReady::Draining);
        }
        if self.inner.watched.load(Ordering::SeqCst) {
            if let Some(failed) = self.unreachable() {
                return Err(failed);
            }
            return self.run_checks(|watched| !watched).await;
        }
        self.check().await
    }

    fn set_unreachable(&self, value: Option<NotReady>) {
        match self.inner.unreachable.write() {
            Ok(mut slot) => *slot = value,
            Err(poisoned) => *poisoned.into_inner() = value,
        }
    }

    fn snapshot(&self) -> Vec<(String, CheckFn, bool)> {
        let read = |checks: &Vec<Check>| {
            checks
                .iter()
                .map(|check| (check.name.clone(), check.run.clone(), check.watched))
                .collect()
        };
        match self.inner.checks.read() {
            Ok(checks) => read(&checks),
            Err(poisoned) => read(&poisoned.into_inner()),
        }
    }
}

/// `GET /livez` and `GET /readyz`, for any router state.
pub fn routes<S>(readiness: Readiness) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .with_state(readiness)
}

/// `GET /livez`: 200 `ok` whenever the process can answer at all.
pub async fn livez() -> &'static str {
    "ok"
}

impl NotReady {
    /// The 503 answer: it names the failed check, never the backend's own error text (which
    /// can carry hosts, users or internals); that goes to the log.
    pub fn into_api_error(self) -> ApiError {
        let message = match self {
            NotReady::Draining => "shutting down".to_owned(),
            NotReady::CheckFailed { name, reason } => {
                tracing::warn!(check = %name, %reason, "not ready");
                format!("readiness check {name:?} failed")
            }
        };
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", message)
    }
}

/// Middleware for the routes that need the store: while the last background round of checks
/// failed ([`Readiness::watch`]), 503 `store_unavailable` with `Retry-After` at once, naming
/// the check (never the backend's error text); otherwise the request goes on.
pub async fn refuse_while_unreachable(
    State(readiness): State<Readiness>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match readiness.unreachable() {
        None => next.run(request).await,
        Some(failed) => {
            ApiError::service_unavailable(failed.public_message(), UNREACHABLE_RETRY_AFTER_SECS)
                .into_response()
        }
    }
}

impl NotReady {
    /// What a caller may be told: the failed check's name, not its reason.
    pub fn public_message(&self) -> String {
        match self {
            NotReady::Draining => "shutting down".to_owned(),
            NotReady::CheckFailed { name, .. } => {
                format!("the store is unreachable (readiness check {name:?} failed); retry later")
            }
        }
    }
}

/// `GET /readyz`: 200 `ready`, or 503 JSON naming the check that failed.
pub async fn readyz(State(readiness): State<Readiness>) -> axum::response::Response {
    match readiness.status().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(not_ready) => not_ready.into_api_error().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ready_until_draining() {
        let readiness = Readiness::new();
        assert_eq!(readiness.check().await, Ok(()));
        readiness.clone().start_draining();
        assert_eq!(readiness.check().await, Err(NotReady::Draining));
    }

    #[test]
    fn the_answer_names_the_check_but_not_the_backend_error() {
        let error = NotReady::CheckFailed {
            name: "db".to_owned(),
            reason: "access denied for user 'admin'@'10.0.0.7'".to_owned(),
        }
        .into_api_error();
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.code(), "not_ready");
        let text = error.to_string();
        assert!(text.contains("\"db\""), "{text}");
        assert!(
            !text.contains("admin") && !text.contains("10.0.0.7"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_watched_store_that_fails_refuses_and_recovers_by_itself() {
        let readiness = Readiness::new();
        let up = Arc::new(AtomicBool::new(true));
        let flag = up.clone();
        readiness.add_check("db", move || {
            let up = flag.load(Ordering::SeqCst);
            async move {
                if up {
                    Ok(())
                } else {
                    Err("refused".to_owned())
                }
            }
        });
        let task = readiness.watch(Duration::from_millis(10));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(readiness.unreachable(), None);
        up.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let failed = readiness
            .unreachable()
            .expect("unreachable after a failed round");
        assert_eq!(readiness.status().await, Err(failed.clone()));
        assert!(!failed.public_message().contains("refused"), "{failed:?}");
        up.store(true, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(readiness.unreachable(), None);
        drop(readiness);
        tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .expect("the watch ends with its readiness")
            .unwrap();
    }

    #[tokio::test]
    async fn failing_check_is_named() {
        let readiness = Readiness::new();
        readiness.add_check("db", || async { Err("connection refused".to_owned()) });
        assert_eq!(
            readiness.check().await,
            Err(NotReady::CheckFailed {
                name: "db".to_owned(),
                reason: "connection refused".to_owned()
            })
        );
        assert_eq!(readiness.check_names(), vec!["db".to_owned()]);
    }

    #[tokio::test]
    async fn one_failed_answer_is_asked_again_and_a_second_one_counts() {
        use std::sync::atomic::AtomicUsize;
        let calls = Arc::new(AtomicUsize::new(0));
        let readiness = Readiness::new();
        let counter = calls.clone();
        // Fails every other call: a stale pooled connection, then a fresh one.
        readiness.add_check("db", move || {
            let call = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if call.is_multiple_of(2) {
                    Err("unexpected end of file".to_owned())
                } else {
                    Ok(())
                }
            }
        });
        assert_eq!(readiness.check().await, Ok(()));
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        let down = Readiness::new();
        let counter = calls.clone();
        down.add_check("db", move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Err("connection refused".to_owned()) }
        });
        assert!(down.check().await.is_err());
        assert_eq!(
            calls.load(Ordering::SeqCst),
            4,
            "asked twice, then reported"
        );
    }
}
