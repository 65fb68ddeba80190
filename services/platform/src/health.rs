//! Liveness and readiness.
//!
//! [`Readiness`] is a cheap, cloneable flag plus a list of named checks (e.g. a database ping).
//! It reports "not ready" as soon as shutdown starts ([`Readiness::start_draining`]), so a load
//! balancer stops sending new requests while in-flight ones drain. [`routes`] serves
//! `GET /livez` (the process answers) and `GET /readyz` (not draining and every check passes).

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

/// How long one readiness check may take before it counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

type CheckFn = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

struct Check {
    name: String,
    run: CheckFn,
}

#[derive(Default)]
struct Inner {
    draining: AtomicBool,
    checks: RwLock<Vec<Check>>,
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
        let run: CheckFn = Arc::new(move || Box::pin(check()));
        let check = Check {
            name: name.into(),
            run,
        };
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
        self.snapshot().into_iter().map(|(name, _)| name).collect()
    }

    /// Ready when not draining and every check passes within [`CHECK_TIMEOUT`].
    pub async fn check(&self) -> Result<(), NotReady> {
        if self.is_draining() {
            return Err(NotReady::Draining);
        }
        for (name, run) in self.snapshot() {
            let reason = match tokio::time::timeout(CHECK_TIMEOUT, run()).await {
                Ok(Ok(())) => continue,
                Ok(Err(reason)) => reason,
                Err(_) => format!("timed out after {CHECK_TIMEOUT:?}"),
            };
            return Err(NotReady::CheckFailed { name, reason });
        }
        if self.is_draining() {
            return Err(NotReady::Draining);
        }
        Ok(())
    }

    fn snapshot(&self) -> Vec<(String, CheckFn)> {
        let read = |checks: &Vec<Check>| {
            checks
                .iter()
                .map(|check| (check.name.clone(), check.run.clone()))
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

/// `GET /readyz`: 200 `ready`, or 503 JSON naming the check that failed.
pub async fn readyz(State(readiness): State<Readiness>) -> axum::response::Response {
    match readiness.check().await {
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
}
