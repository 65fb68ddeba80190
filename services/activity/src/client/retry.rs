//! Retrying a `CreateEvent`: exponential backoff with jitter ([`backon`]), bounded in retries and
//! in time.
//!
//! A create may be retried safely because it is idempotent: the server identifies an event by
//! `(deployment_id, id)` and answers the same event again with the first call's result, whatever
//! its `timestamp.send`. So a call that failed in a way that may pass is sent again:
//!
//! | status | why it may pass |
//! |---|---|
//! | `UNAVAILABLE` | the server or its store is down for a moment (restart, failover) |
//! | `RESOURCE_EXHAUSTED` | the server is at its call limit; except a request over the size limit, which never fits |
//! | `DEADLINE_EXCEEDED`, and the client's own timeout (`CANCELLED` "Timeout expired") | slow for a moment; if the first call did store the event, the retry gets its answer |
//!
//! Everything else (`INVALID_ARGUMENT`, `ALREADY_EXISTS`, …) would fail again: it is returned at
//! once.

use std::{
    future::Future,
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use backon::{ExponentialBuilder, Retryable as _};
use tonic::{Code, Status};

/// How a failed call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0: none).
    pub max_retries: usize,
    /// The first backoff delay; each next one doubles, up to [`RetryPolicy::max_delay`]. Jitter
    /// adds a random part of up to the same again, so clients that failed together spread out.
    pub first_delay: Duration,
    /// The longest backoff delay (before jitter).
    pub max_delay: Duration,
    /// No retry starts later than this after the first attempt began.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 5,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            budget: Duration::from_secs(20),
        }
    }
}

/// The outcome of [`retry`]: what the last attempt gave, and how many retries it took.
#[derive(Debug)]
pub struct Retried<T> {
    /// The last attempt's result.
    pub result: Result<T, Status>,
    /// Retries made (attempts − 1).
    pub retries: usize,
}

/// tonic's text for a call that ran past the channel's timeout (`Endpoint::timeout`).
const CLIENT_TIMEOUT: &str = "Timeout expired";

/// tonic's text for a request over the server's size limit (the server says
/// `RESOURCE_EXHAUSTED`, as the gRPC spec does).
const OVERSIZED: &str = "Error, decoded message length too large";

/// Whether a create that failed with `status` may pass if sent again (see the module docs).
pub fn is_retryable(status: &Status) -> bool {
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded => true,
        Code::ResourceExhausted => !status.message().starts_with(OVERSIZED),
        Code::Cancelled => status.message() == CLIENT_TIMEOUT,
        _ => false,
    }
}

/// Runs `call` until it succeeds, fails with a status that is not [retryable](is_retryable), or
/// the policy's retries or time budget run out. `on_retry(status, retry, delay)` is told about
/// each retry (1-based) before its backoff sleep.
pub async fn retry<T, F, Fut>(
    policy: &RetryPolicy,
    call: F,
    mut on_retry: impl FnMut(&Status, usize, Duration),
) -> Retried<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    let started = Instant::now();
    // Atomic rather than a `Cell` only so the future stays `Send` (it is never shared).
    let retries = AtomicUsize::new(0);
    let backoff = ExponentialBuilder::default()
        .with_min_delay(policy.first_delay)
        .with_max_delay(policy.max_delay)
        .with_factor(2.0)
        .with_max_times(policy.max_retries)
        .with_jitter();
    let budget = policy.budget;
    let result = call
        .retry(backoff)
        .when(is_retryable)
        // The time bound: a retry whose sleep would end past the budget is not made.
        .adjust(|_, delay| delay.filter(|delay| started.elapsed() + *delay <= budget))
        .notify(|status, delay| {
            let retry = retries.fetch_add(1, Ordering::Relaxed) + 1;
            on_retry(status, retry, delay);
        })
        .await;
    Retried {
        result,
        retries: retries.into_inner(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(max_retries: usize) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            first_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
            budget: Duration::from_secs(10),
        }
    }

    /// A call that fails with `failures` in turn, then answers `Ok(attempt number)`.
    async fn run(policy: &RetryPolicy, failures: Vec<Status>) -> (Retried<usize>, Vec<usize>) {
        let calls = AtomicUsize::new(0);
        let failures = std::sync::Mutex::new(failures.into_iter());
        let mut noted = Vec::new();
        let retried = retry(
            policy,
            || {
                let attempt = calls.fetch_add(1, Ordering::SeqCst) + 1;
                let next = failures
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .next();
                async move { next.map_or(Ok(attempt), Err) }
            },
            |_, retry, _| noted.push(retry),
        )
        .await;
        (retried, noted)
    }

    #[test]
    fn transient_statuses_are_retried_and_the_rest_are_not() {
        for status in [
            Status::unavailable("store down"),
            Status::deadline_exceeded("slow"),
            Status::resource_exhausted("the server is handling its limit of 256 calls"),
            Status::cancelled("Timeout expired"),
        ] {
            assert!(is_retryable(&status), "{status:?}");
        }
        for status in [
            Status::invalid_argument("id must be greater than 0"),
            Status::already_exists("event 1 of deployment 1 already exists"),
            Status::resource_exhausted(
                "Error, decoded message length too large: found 70000 bytes, the limit is: 65536",
            ),
            Status::cancelled("the client went away"),
            Status::internal("internal error"),
        ] {
            assert!(!is_retryable(&status), "{status:?}");
        }
    }

    #[tokio::test]
    async fn transient_failures_are_retried_until_the_call_passes() {
        let (retried, noted) = run(
            &fast(5),
            vec![Status::unavailable("a"), Status::resource_exhausted("b")],
        )
        .await;
        assert_eq!(retried.result.unwrap(), 3);
        assert_eq!(retried.retries, 2);
        assert_eq!(noted, [1, 2]);
    }

    #[tokio::test]
    async fn a_permanent_failure_is_returned_at_once() {
        let (retried, noted) = run(&fast(5), vec![Status::already_exists("taken")]).await;
        assert_eq!(retried.result.unwrap_err().code(), Code::AlreadyExists);
        assert_eq!(retried.retries, 0);
        assert!(noted.is_empty());
    }

    #[tokio::test]
    async fn retries_are_bounded_in_number() {
        let failures = vec![Status::unavailable("down"); 10];
        let (retried, noted) = run(&fast(3), failures).await;
        assert_eq!(retried.result.unwrap_err().code(), Code::Unavailable);
        assert_eq!(retried.retries, 3);
        assert_eq!(noted, [1, 2, 3]);
        let (retried, _) = run(&fast(0), vec![Status::unavailable("down")]).await;
        assert_eq!(retried.retries, 0);
    }

    #[tokio::test]
    async fn retries_are_bounded_in_time() {
        let policy = RetryPolicy {
            max_retries: 100,
            first_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(40),
            budget: Duration::from_millis(200),
        };
        let started = Instant::now();
        let (retried, _) = run(&policy, vec![Status::unavailable("down"); 100]).await;
        assert_eq!(retried.result.unwrap_err().code(), Code::Unavailable);
        // Delays of 20 to 80 ms (with jitter): at least 2 retries fit, at most 10.
        assert!((2..=10).contains(&retried.retries), "{}", retried.retries);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn the_backoff_grows_and_has_jitter() {
        let policy = RetryPolicy {
            max_retries: 4,
            first_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(8),
            budget: Duration::from_secs(10),
        };
        let mut delays = Vec::new();
        let _ = retry(
            &policy,
            || async { Err::<(), _>(Status::unavailable("down")) },
            |_, _, delay| delays.push(delay),
        )
        .await;
        assert_eq!(delays.len(), 4);
        // Base 2, 4, 8, 8 ms, each plus a jitter of up to the same again.
        for (delay, base) in delays.iter().zip([2, 4, 8, 8]) {
            let base = Duration::from_millis(base);
            assert!(*delay >= base && *delay <= base * 2, "{delays:?}");
        }
    }
}
