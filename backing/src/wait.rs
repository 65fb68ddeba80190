//! Waiting until something is so: the one poller behind every "until ready" loop of xtask, the
//! harness and the service tests. Each attempt says whether it is done, not yet (and why), or
//! never will be; the wait ends at the first success, the first give-up or the deadline, and a
//! time-out names what was awaited, for how long, and the last reason it was not yet.
//!
//! ```no_run
//! # async fn demo() -> Result<(), backing::wait::WaitError> {
//! use std::time::Duration;
//! use backing::wait::{wait_until, Attempt};
//! let body = wait_until("GET /readyz answering 200", Duration::from_secs(10), Duration::from_millis(100), || async {
//!     Attempt::from(std::fs::read_to_string("/tmp/ready"))
//! })
//! .await?;
//! # let _ = body; Ok(()) }
//! ```

use std::{
    fmt,
    future::Future,
    time::{Duration, Instant},
};

/// One attempt's outcome.
#[derive(Debug)]
pub enum Attempt<T> {
    /// Done: the wait ends with this value.
    Ready(T),
    /// Not yet; the text says why (the last one is in the time-out message).
    Pending(String),
    /// It never will be (the process died, the answer is final): the wait ends with this error.
    Failed(anyhow::Error),
}

impl<T, E: fmt::Display> From<Result<T, E>> for Attempt<T> {
    /// `Ok` is ready, `Err` is not yet.
    fn from(result: Result<T, E>) -> Self {
        match result {
            Ok(value) => Attempt::Ready(value),
            Err(error) => Attempt::Pending(error.to_string()),
        }
    }
}

/// Why a wait ended without a value.
#[derive(Debug)]
pub enum WaitError {
    /// The deadline passed.
    TimedOut {
        /// What was awaited, e.g. `` `SELECT 1` answering ``.
        what: String,
        /// How long it waited.
        waited: Duration,
        /// How many attempts were made.
        attempts: u32,
        /// The last reason an attempt gave for not being ready.
        last: String,
    },
    /// An attempt gave up.
    Failed(anyhow::Error),
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::TimedOut {
                what,
                waited,
                attempts,
                last,
            } => write!(
                f,
                "no {what} within {:.1} s ({attempts} attempts; last error: {last})",
                waited.as_secs_f64()
            ),
            WaitError::Failed(error) => write!(f, "{error:#}"),
        }
    }
}

impl std::error::Error for WaitError {}

/// Runs `attempt` every `interval` until it is [`Attempt::Ready`] (its value is returned), it
/// [`Attempt::Failed`], or `timeout` has passed since the first attempt. `what` names what is
/// awaited in the time-out message. At least one attempt is made, and the last one no later
/// than the deadline.
pub async fn wait_until<T, F, Fut>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut attempt: F,
) -> Result<T, WaitError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Attempt<T>>,
{
    let mut poll = Poll::new(what, timeout, interval);
    loop {
        match poll.next(attempt().await) {
            Step::Done(result) => return result,
            Step::Sleep(pause) => tokio::time::sleep(pause).await,
        }
    }
}

/// [`wait_until`] for code without a runtime: `attempt` is called on this thread, which sleeps
/// in between.
pub fn wait_until_blocking<T>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut attempt: impl FnMut() -> Attempt<T>,
) -> Result<T, WaitError> {
    let mut poll = Poll::new(what, timeout, interval);
    loop {
        match poll.next(attempt()) {
            Step::Done(result) => return result,
            Step::Sleep(pause) => std::thread::sleep(pause),
        }
    }
}

/// The bookkeeping both pollers share.
struct Poll<'a> {
    what: &'a str,
    started: Instant,
    timeout: Duration,
    interval: Duration,
    attempts: u32,
}

/// What to do after an attempt.
enum Step<T> {
    Done(Result<T, WaitError>),
    Sleep(Duration),
}

impl<'a> Poll<'a> {
    fn new(what: &'a str, timeout: Duration, interval: Duration) -> Self {
        Self {
            what,
            started: Instant::now(),
            timeout,
            interval,
            attempts: 0,
        }
    }

    fn next<T>(&mut self, outcome: Attempt<T>) -> Step<T> {
        self.attempts = self.attempts.saturating_add(1);
        let last = match outcome {
            Attempt::Ready(value) => return Step::Done(Ok(value)),
            Attempt::Failed(error) => return Step::Done(Err(WaitError::Failed(error))),
            Attempt::Pending(last) => last,
        };
        let waited = self.started.elapsed();
        match self.timeout.checked_sub(waited) {
            Some(left) if !left.is_zero() => Step::Sleep(self.interval.min(left)),
            _ => Step::Done(Err(WaitError::TimedOut {
                what: self.what.to_owned(),
                waited,
                attempts: self.attempts,
                last,
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICK: Duration = Duration::from_millis(5);

    #[tokio::test]
    async fn returns_the_first_ready_value() {
        let mut calls = 0;
        let value = wait_until("three calls", Duration::from_secs(5), TICK, || {
            calls += 1;
            let now = calls;
            async move {
                if now < 3 {
                    Attempt::Pending(format!("call {now}"))
                } else {
                    Attempt::Ready(now)
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(value, 3);
    }

    #[tokio::test]
    async fn a_time_out_names_what_and_the_last_error() {
        let error = wait_until::<(), _, _>("the moon", Duration::from_millis(30), TICK, || async {
            Attempt::Pending("still night".to_owned())
        })
        .await
        .unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("no the moon within 0."), "{text}");
        assert!(text.contains("last error: still night"), "{text}");
        assert!(matches!(error, WaitError::TimedOut { attempts, .. } if attempts >= 2));
    }

    #[test]
    fn a_failed_attempt_ends_the_wait_at_once() {
        let mut calls = 0;
        let error = wait_until_blocking::<()>("never", Duration::from_secs(60), TICK, || {
            calls += 1;
            Attempt::Failed(anyhow::anyhow!("the process exited"))
        })
        .unwrap_err();
        assert_eq!(calls, 1);
        assert_eq!(error.to_string(), "the process exited");
    }

    #[test]
    fn results_convert_to_attempts() {
        let ready: Attempt<u8> = Ok::<u8, String>(1).into();
        assert!(matches!(ready, Attempt::Ready(1)));
        let pending: Attempt<u8> = Err::<u8, _>("refused").into();
        assert!(matches!(pending, Attempt::Pending(text) if text == "refused"));
    }
}
