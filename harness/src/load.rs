//! The load generator shared by every benchmark: a closed loop, or an open model at a fixed
//! arrival rate.
//!
//! [`run`] starts `concurrency` workers. In the closed loop (the default), each worker calls the
//! operation, waits for it to finish, records its latency and calls it again, until the measured
//! window ends or `max_requests` operations have been started. With [`LoadSpec::rate`] set, the
//! operations are due at a fixed rate instead (operation `i` at `start + i / rate`), taken in
//! turn by whichever worker is free; an operation that is due while every worker is busy is
//! started late and its latency counts from when it was due, so a slow system cannot slow the
//! arrivals down and hide its own queueing (no coordinated omission). When a free worker waits
//! for an operation's due time, the latency counts from when it woke (the timer's lateness,
//! under a millisecond, is the load tool's, not the system's). An optional warm-up runs the same loop first without recording
//! anything. The operation is any async closure returning `Result`, so the same generator drives an
//! HTTP GET, a raw MySQL select, a gRPC call or a Redis command:
//!
//! ```no_run
//! # async fn demo() -> Result<(), harness::load::LoadError> {
//! use std::time::Duration;
//! use harness::load::{run, LoadSpec};
//!
//! let client = reqwest::Client::new();
//! let spec = LoadSpec::new(32, Duration::from_secs(10));
//! let report = run(spec, move || {
//!     let client = client.clone();
//!     async move {
//!         client.get("http://127.0.0.1:5000/users/1").send().await?.error_for_status()?;
//!         Ok::<(), reqwest::Error>(())
//!     }
//! })
//! .await?;
//! println!("{report}");
//! # Ok(())
//! # }
//! ```
//!
//! Latencies are recorded in microseconds in an [`hdrhistogram::Histogram`] per worker and merged at
//! the end, so workers never contend on a lock. Errors are counted by class: an operation's
//! error text is its class (so an operation that fails with `"429"` or `"reset"` is counted
//! under that name), up to [`MAX_ERROR_CLASSES`] distinct classes, the rest under `other`.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Highest latency the histogram can hold (one hour, in µs); longer operations are clamped.
const MAX_TRACKABLE_MICROS: u64 = 3_600_000_000;
/// Distinct error classes a report keeps; further ones are counted as [`OTHER_CLASS`].
pub const MAX_ERROR_CLASSES: usize = 16;
/// The class of errors beyond [`MAX_ERROR_CLASSES`], and of error texts longer than 80 bytes.
pub const OTHER_CLASS: &str = "other";
/// The class of operations abandoned after `op_timeout`.
pub const TIMEOUT_CLASS: &str = "timeout";

/// What to run: how many workers, for how long, and at most how many operations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadSpec {
    /// Number of workers, each with at most one operation in flight (closed loop).
    pub concurrency: usize,
    /// Length of the measured window, after the warm-up.
    pub duration: Duration,
    /// Stop after this many measured operations have been started, even before `duration`.
    pub max_requests: Option<u64>,
    /// Time spent running the operation before measuring (connection pools fill, caches warm).
    pub warmup: Duration,
    /// Longest a single operation may take; a slower one is abandoned and counted as an error.
    pub op_timeout: Duration,
    /// Operations per second, due at fixed intervals (the open model); `None` for the closed
    /// loop. `concurrency` then bounds how many are in flight at once.
    pub rate: Option<u32>,
}

impl LoadSpec {
    /// `concurrency` workers for `duration`, no warm-up, no request cap, 10 s per-operation timeout.
    pub fn new(concurrency: usize, duration: Duration) -> Self {
        Self {
            concurrency,
            duration,
            ..Self::default()
        }
    }
}

impl Default for LoadSpec {
    fn default() -> Self {
        Self {
            concurrency: 1,
            duration: Duration::from_secs(10),
            max_requests: None,
            warmup: Duration::ZERO,
            op_timeout: Duration::from_secs(10),
            rate: None,
        }
    }
}

/// Why a load run could not produce a report.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// `concurrency` was zero.
    #[error("load spec needs at least one worker (concurrency was 0)")]
    NoWorkers,
    /// The arrival rate was zero.
    #[error("an open-model load needs a rate of at least 1 a second (it was 0)")]
    ZeroRate,
    /// A worker task panicked or was cancelled.
    #[error("a load worker stopped abnormally: {0}")]
    Worker(#[from] tokio::task::JoinError),
    /// The latency histogram could not be created or merged.
    #[error("latency histogram: {0}")]
    Histogram(String),
}

/// The outcome of a load run: counts, rate and latency percentiles of the measured window.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadReport {
    /// Operations completed in the measured window (successes and errors).
    pub requests: u64,
    /// Operations among `requests` that returned `Err` or timed out.
    pub errors: u64,
    /// Wall-clock length of the measured window, until the last worker stopped.
    pub elapsed: Duration,
    /// `requests / elapsed`, in operations per second.
    pub rps: f64,
    /// Median latency of successful operations.
    pub p50: Duration,
    /// 90th percentile latency of successful operations.
    pub p90: Duration,
    /// 99th percentile latency of successful operations.
    pub p99: Duration,
    /// Slowest successful operation.
    pub max: Duration,
    /// The first error seen, to explain a non-zero `errors`.
    pub first_error: Option<String>,
    /// `errors` by class (the operation's error text, [`TIMEOUT_CLASS`] or [`OTHER_CLASS`]).
    pub errors_by_class: BTreeMap<String, u64>,
}

impl LoadReport {
    /// Successful operations in the measured window.
    pub fn successes(&self) -> u64 {
        self.requests - self.errors
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} requests ({} errors) in {:.2} s = {:.0} req/s; latency p50 {} p90 {} p99 {} max {}",
            self.requests,
            self.errors,
            self.elapsed.as_secs_f64(),
            self.rps,
            format_latency(self.p50),
            format_latency(self.p90),
            format_latency(self.p99),
            format_latency(self.max),
        )?;
        if let Some(error) = &self.first_error {
            write!(f, "; first error: {error}")?;
        }
        Ok(())
    }
}

/// A latency for humans: `850µs`, `1.25ms`, `2.10s`.
pub fn format_latency(latency: Duration) -> String {
    let micros = latency.as_micros();
    if micros < 1_000 {
        format!("{micros}µs")
    } else if micros < 1_000_000 {
        format!("{:.2}ms", latency.as_secs_f64() * 1e3)
    } else {
        format!("{:.2}s", latency.as_secs_f64())
    }
}

/// The due times of an open-model run: operation `i` is due at `origin + i * interval`.
struct Schedule {
    origin: Instant,
    interval: Duration,
    /// The next operation to hand out.
    next: AtomicU64,
}

impl Schedule {
    /// The due time of the next operation, which the caller now owns.
    fn take(&self) -> Instant {
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        let offset = self.interval.as_secs_f64() * index as f64;
        self.origin + Duration::from_secs_f64(offset)
    }
}

/// What one worker measured.
struct WorkerTally {
    histogram: Histogram<u64>,
    requests: u64,
    errors: u64,
    classes: BTreeMap<String, u64>,
}

/// Counts one error of `class` in `classes`, keeping at most [`MAX_ERROR_CLASSES`] names.
fn count_class(classes: &mut BTreeMap<String, u64>, class: &str, count: u64) {
    let known = classes.contains_key(class);
    let key = if class.len() > 80 || (!known && classes.len() >= MAX_ERROR_CLASSES) {
        OTHER_CLASS
    } else {
        class
    };
    *classes.entry(key.to_owned()).or_default() += count;
}

/// Runs `make_op` as described by `spec` (a closed loop, or at `spec.rate` per second) and
/// reports what was measured.
///
/// `make_op` is called once per operation and returns the future to await; clone whatever the
/// operation needs (an HTTP client, a pool) into the future. Operations started during the warm-up
/// are not counted. Every worker stops at the end of the window or when `max_requests` operations
/// have been started, whichever comes first; an operation slower than `op_timeout` is abandoned and
/// counted as an error, so the run always ends.
pub async fn run<F, Fut, E>(spec: LoadSpec, make_op: F) -> Result<LoadReport, LoadError>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: fmt::Display + Send + 'static,
{
    if spec.concurrency == 0 {
        return Err(LoadError::NoWorkers);
    }
    if spec.rate == Some(0) {
        return Err(LoadError::ZeroRate);
    }
    let make_op = Arc::new(make_op);
    let started = Arc::new(AtomicU64::new(0));
    let first_error: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));

    let origin = Instant::now();
    let warmup_end = origin + spec.warmup;
    let window_end = warmup_end + spec.duration;
    let schedule = spec.rate.map(|rate| Schedule {
        origin,
        interval: Duration::from_secs_f64(1.0 / f64::from(rate)),
        next: AtomicU64::new(0),
    });
    let schedule = Arc::new(schedule);

    let mut workers = Vec::with_capacity(spec.concurrency);
    for _ in 0..spec.concurrency {
        let make_op = Arc::clone(&make_op);
        let started = Arc::clone(&started);
        let first_error = Arc::clone(&first_error);
        let schedule = Arc::clone(&schedule);
        let spec = spec.clone();
        let histogram = new_histogram()?;
        workers.push(tokio::spawn(async move {
            let mut tally = WorkerTally {
                histogram,
                requests: 0,
                errors: 0,
                classes: BTreeMap::new(),
            };
            loop {
                // When this operation counts from, and whether it is measured at all.
                let (begin, measured) = match schedule.as_ref() {
                    None => {
                        let now = Instant::now();
                        (now, now >= warmup_end)
                    }
                    Some(schedule) => {
                        let due = schedule.take();
                        if due >= window_end {
                            break;
                        }
                        let now = Instant::now();
                        let begin = if due > now {
                            tokio::time::sleep_until(due.into()).await;
                            Instant::now()
                        } else {
                            due
                        };
                        (begin, due >= warmup_end)
                    }
                };
                if !measured {
                    // Warm-up: the same operations, nothing recorded.
                    let _ = tokio::time::timeout(spec.op_timeout, make_op()).await;
                    continue;
                }
                if Instant::now() >= window_end {
                    break;
                }
                if let Some(max) = spec.max_requests {
                    // Claim a ticket before starting, so the cap is exact across workers.
                    if started.fetch_add(1, Ordering::Relaxed) >= max {
                        break;
                    }
                }
                let outcome = tokio::time::timeout(spec.op_timeout, make_op()).await;
                let latency = begin.elapsed();
                tally.requests += 1;
                let error = match outcome {
                    Ok(Ok(())) => {
                        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
                        tally.histogram.saturating_record(micros.max(1));
                        None
                    }
                    Ok(Err(error)) => {
                        let error = error.to_string();
                        count_class(&mut tally.classes, &error, 1);
                        Some(error)
                    }
                    Err(_) => {
                        count_class(&mut tally.classes, TIMEOUT_CLASS, 1);
                        Some(format!(
                            "operation timed out after {}",
                            format_latency(spec.op_timeout)
                        ))
                    }
                };
                if let Some(error) = error {
                    tally.errors += 1;
                    if let Ok(mut slot) = first_error.lock() {
                        slot.get_or_insert(error);
                    }
                }
            }
            tally
        }));
    }

    let mut histogram = new_histogram()?;
    let mut requests = 0;
    let mut errors = 0;
    let mut errors_by_class = BTreeMap::new();
    for worker in workers {
        let tally = worker.await?;
        histogram
            .add(&tally.histogram)
            .map_err(|e| LoadError::Histogram(e.to_string()))?;
        requests += tally.requests;
        errors += tally.errors;
        for (class, count) in &tally.classes {
            count_class(&mut errors_by_class, class, *count);
        }
    }
    // The window began at the end of the warm-up (or now, if the warm-up overran and the loop was
    // cut short by max_requests).
    let elapsed = Instant::now().saturating_duration_since(warmup_end);
    let rps = if elapsed.is_zero() {
        0.0
    } else {
        requests as f64 / elapsed.as_secs_f64()
    };
    let percentile = |q: f64| {
        if histogram.is_empty() {
            Duration::ZERO
        } else {
            Duration::from_micros(histogram.value_at_quantile(q))
        }
    };
    let first_error = first_error.lock().ok().and_then(|slot| slot.clone());
    Ok(LoadReport {
        requests,
        errors,
        elapsed,
        rps,
        p50: percentile(0.50),
        p90: percentile(0.90),
        p99: percentile(0.99),
        max: if histogram.is_empty() {
            Duration::ZERO
        } else {
            Duration::from_micros(histogram.max())
        },
        first_error,
        errors_by_class,
    })
}

fn new_histogram() -> Result<Histogram<u64>, LoadError> {
    Histogram::new_with_bounds(1, MAX_TRACKABLE_MICROS, 3)
        .map_err(|e| LoadError::Histogram(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn counts_add_up_and_errors_are_reported() {
        let calls = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&calls);
        let mut spec = LoadSpec::new(4, Duration::from_secs(30));
        spec.max_requests = Some(200);
        let report = run(spec, move || {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            async move {
                tokio::time::sleep(Duration::from_micros(200)).await;
                if n % 10 == 9 {
                    Err(format!("request {n} failed"))
                } else {
                    Ok(())
                }
            }
        })
        .await
        .unwrap();

        assert_eq!(report.requests, 200);
        assert_eq!(calls.load(Ordering::Relaxed), 200);
        assert_eq!(report.errors, 20);
        assert_eq!(report.successes(), 180);
        assert_eq!(report.errors_by_class.values().sum::<u64>(), 20);
        assert_eq!(
            report.errors_by_class.len(),
            MAX_ERROR_CLASSES + 1,
            "each text is its own class, the 4 beyond the cap are `other`"
        );
        assert!(report.first_error.as_deref().unwrap().contains("failed"));
        assert!(report.p50 >= Duration::from_micros(200), "{report}");
        assert!(report.p50 <= report.p90 && report.p90 <= report.p99);
        assert!(report.p99 <= report.max);
        assert!(report.rps > 0.0);
    }

    #[tokio::test]
    async fn stops_at_the_end_of_the_duration() {
        let spec = LoadSpec::new(3, Duration::from_millis(300));
        let begin = Instant::now();
        let report = run(spec, || async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok::<(), String>(())
        })
        .await
        .unwrap();
        let took = begin.elapsed();

        assert!(
            took >= Duration::from_millis(300),
            "stopped early: {took:?}"
        );
        assert!(took < Duration::from_secs(3), "ran far too long: {took:?}");
        assert!(report.requests > 0);
        // Three workers at ~5 ms per op for 0.3 s cannot exceed 3 * 60 operations.
        assert!(report.requests <= 3 * 61, "{report}");
        assert_eq!(report.errors, 0);
        assert!(report.elapsed >= Duration::from_millis(300));
    }

    #[tokio::test]
    async fn warmup_operations_are_not_counted() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let spec = LoadSpec {
            concurrency: 2,
            duration: Duration::from_secs(30),
            max_requests: Some(10),
            warmup: Duration::from_millis(100),
            ..LoadSpec::default()
        };
        let report = run(spec, move || {
            counter.fetch_add(1, Ordering::Relaxed);
            async {
                tokio::time::sleep(Duration::from_millis(2)).await;
                Ok::<(), String>(())
            }
        })
        .await
        .unwrap();

        assert_eq!(report.requests, 10);
        assert!(
            calls.load(Ordering::Relaxed) > 10,
            "warm-up ran no operation"
        );
    }

    #[tokio::test]
    async fn slow_operations_time_out_as_errors() {
        let spec = LoadSpec {
            concurrency: 2,
            max_requests: Some(4),
            op_timeout: Duration::from_millis(20),
            ..LoadSpec::default()
        };
        let report = run(spec, || async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<(), String>(())
        })
        .await
        .unwrap();

        assert_eq!(report.requests, 4);
        assert_eq!(report.errors, 4);
        assert_eq!(report.p50, Duration::ZERO);
        assert!(report.first_error.unwrap().contains("timed out"));
    }

    #[tokio::test]
    async fn an_open_model_keeps_its_rate() {
        let spec = LoadSpec {
            rate: Some(1_000),
            ..LoadSpec::new(4, Duration::from_millis(500))
        };
        let report = run(spec, || async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Ok::<(), String>(())
        })
        .await
        .unwrap();
        // 500 due in the window; the last few may be cut by its end.
        assert!((480..=500).contains(&report.requests), "{report}");
        assert!(report.p50 < Duration::from_millis(5), "{report}");
    }

    #[tokio::test]
    async fn an_overloaded_open_model_counts_latency_from_the_due_time() {
        // Two workers at 10 ms an operation serve 200 a second; 1,000 a second arrive.
        let spec = LoadSpec {
            rate: Some(1_000),
            ..LoadSpec::new(2, Duration::from_millis(300))
        };
        let report = run(spec, || async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok::<(), String>(())
        })
        .await
        .unwrap();
        // A closed loop would report ~10 ms; the queue behind the workers is counted here.
        assert!(report.p99 > Duration::from_millis(50), "{report}");
        assert!(report.requests <= 70, "{report}");
    }

    #[tokio::test]
    async fn a_rate_must_be_positive() {
        let spec = LoadSpec {
            rate: Some(0),
            ..LoadSpec::new(1, Duration::from_secs(1))
        };
        let outcome = run(spec, || async { Ok::<(), String>(()) }).await;
        assert!(matches!(outcome, Err(LoadError::ZeroRate)));
    }

    #[tokio::test]
    async fn zero_workers_is_an_error() {
        let spec = LoadSpec::new(0, Duration::from_secs(1));
        let outcome = run(spec, || async { Ok::<(), String>(()) }).await;
        assert!(matches!(outcome, Err(LoadError::NoWorkers)));
    }

    #[test]
    fn report_displays_counts_rate_and_percentiles() {
        let report = LoadReport {
            requests: 1000,
            errors: 2,
            elapsed: Duration::from_secs(2),
            rps: 500.0,
            p50: Duration::from_micros(850),
            p90: Duration::from_micros(1_250),
            p99: Duration::from_millis(4),
            max: Duration::from_millis(1_500),
            first_error: Some("HTTP 503".into()),
            errors_by_class: BTreeMap::from([("HTTP 503".to_owned(), 2)]),
        };
        assert_eq!(
            report.to_string(),
            "1000 requests (2 errors) in 2.00 s = 500 req/s; latency p50 850µs p90 1.25ms \
             p99 4.00ms max 1.50s; first error: HTTP 503"
        );
    }

    #[test]
    fn error_classes_are_bounded_in_number_and_length() {
        let mut classes = BTreeMap::new();
        for n in 0..40 {
            count_class(&mut classes, &format!("class {n}"), 1);
        }
        count_class(&mut classes, "class 3", 2);
        count_class(&mut classes, &"x".repeat(81), 1);
        assert_eq!(classes.len(), MAX_ERROR_CLASSES + 1);
        assert_eq!(classes["class 3"], 3);
        assert_eq!(classes[OTHER_CLASS], 40 - MAX_ERROR_CLASSES as u64 + 1);
    }
}
