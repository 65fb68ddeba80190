//! Waiting until a server answers a real `SELECT 1` (not just a log line), bounded in time, and
//! giving up early when the container or process behind it has died.

use std::{
    path::Path,
    process::Child,
    time::{Duration, Instant},
};

use sqlx::Connection as _;

use crate::backing::{docker, images};

/// What runs the server, checked now and then while waiting.
pub(super) enum Liveness<'a> {
    /// Nothing to check (an external server).
    External,
    /// A container, by id.
    Container(&'a str),
    /// A local process and its error log.
    Process(&'a mut Child, &'a Path),
}

/// Why waiting failed.
pub(super) enum NotReady {
    /// The container or process exited; the text holds its last log lines.
    Died(String),
    /// No `SELECT 1` succeeded in time; the text holds the last connection error.
    TimedOut(String),
}

impl NotReady {
    pub(super) fn into_error(self) -> anyhow::Error {
        match self {
            NotReady::Died(report) | NotReady::TimedOut(report) => anyhow::anyhow!(report),
        }
    }
}

/// Polls `SELECT 1` on `url` every 100 ms until it succeeds, `limit` passes, or the server dies.
pub(super) async fn wait_for_select_1(
    url: &str,
    limit: Duration,
    mut liveness: Liveness<'_>,
) -> Result<Duration, NotReady> {
    let started = Instant::now();
    for attempt in 1u32.. {
        let last_error = match select_1(url).await {
            Ok(()) => return Ok(started.elapsed()),
            Err(error) => error,
        };
        if attempt % 10 == 0 {
            if let Some(report) = died(&mut liveness).await {
                return Err(NotReady::Died(report));
            }
        }
        if started.elapsed() >= limit {
            return Err(NotReady::TimedOut(format!(
                "no successful `SELECT 1` within {} s (last error: {last_error})",
                limit.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(NotReady::TimedOut("attempt counter overflowed".to_owned()))
}

/// One `SELECT 1` on a fresh connection, bounded to 5 s.
pub(super) async fn select_1(url: &str) -> Result<(), String> {
    let attempt = async {
        let mut connection = sqlx::MySqlConnection::connect(url).await?;
        sqlx::query("SELECT 1").execute(&mut connection).await?;
        connection.close().await
    };
    match tokio::time::timeout(Duration::from_secs(5), attempt).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("no answer within 5 s".to_owned()),
    }
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
                images::tail(log, 20)
            )),
            _ => None,
        },
    }
}
