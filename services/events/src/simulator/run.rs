//! The engine: sends `POST <producer_url>/event` at the configured rate (a schedule of one
//! event every `1 / events_per_second`, without catch-up bursts after a stall; 0 = no pacing)
//! with at most `concurrency` requests in flight, until `stop` resolves, `duration` has passed
//! or `max_events` were sent. Requests in flight at the end are awaited (each is bounded by
//! `request_timeout`).
//!
//! With `retries` above 0, every event carries an `Idempotency-Key` (`sim-<run>-<seq>`, the run
//! a random 64-bit id), and one answered 503 or 429, or not answered, is sent again with the same
//! key up to `retries` times after an exponential backoff with jitter ([`backon`]): the producer
//! stores it once, however many attempts reached it. With 0, each event is posted once, without
//! a key (what the benchmarks and the ledgers of the features measure).

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use backon::{ExponentialBuilder, Retryable as _};
use secrecy::ExposeSecret as _;
use tokio::{sync::Semaphore, task::JoinSet};

use super::{Report, Settings};

/// How often a long run logs its progress.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(10);
/// A schedule this far behind is restarted rather than caught up.
const MAX_LAG: Duration = Duration::from_secs(1);

/// The first pause before a retry; it doubles each time.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest pause before a retry.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// One finished event (every attempt).
struct Outcome {
    seq: u64,
    status: Option<u16>,
    latency: Duration,
    retries: u32,
}

/// Runs the simulator (see the module docs) and returns its report.
pub async fn run(
    settings: &Settings,
    stop: impl Future<Output = ()> + Send,
) -> anyhow::Result<Report> {
    settings.validate().context("invalid simulator settings")?;
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(token) = &settings.token {
        let mut value =
            reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
                .context("invalid setting token: not a valid header value")?;
        value.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, value);
    }
    let client = reqwest::Client::builder()
        .default_headers(headers)
        .timeout(settings.request_timeout)
        .pool_max_idle_per_host(settings.concurrency)
        .build()
        .context("building the HTTP client")?;
    let url: Arc<str> = Arc::from(format!(
        "{}/event",
        settings.producer_url.trim_end_matches('/')
    ));
    let interval = (settings.events_per_second > 0.0)
        .then(|| Duration::from_secs_f64(1.0 / settings.events_per_second));
    let semaphore = Arc::new(Semaphore::new(settings.concurrency));
    let run_id = format!("{:016x}", rand::random::<u64>());
    let retries = settings.retries;
    let mut tasks: JoinSet<Outcome> = JoinSet::new();
    let mut report = Report::default();

    let started = Instant::now();
    let deadline = settings
        .duration
        .map(|duration| tokio::time::Instant::from_std(started + duration));
    let ended = async {
        match deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stop, ended);
    tracing::info!(url = %url, events_per_second = settings.events_per_second, concurrency = settings.concurrency, duration = ?settings.duration, max_events = ?settings.max_events, "simulator starting");

    let mut schedule_start = tokio::time::Instant::now();
    let mut scheduled: u64 = 0;
    let mut next_progress = started + PROGRESS_INTERVAL;
    let mut seq: u64 = 0;
    loop {
        if settings.max_events.is_some_and(|max| seq >= max) {
            break;
        }
        if let Some(interval) = interval {
            let mut target = schedule_start + interval.mul_f64(scheduled as f64);
            let now = tokio::time::Instant::now();
            if now > target + MAX_LAG {
                schedule_start = now;
                scheduled = 0;
                target = now;
            }
            tokio::select! {
                () = &mut stop => break,
                () = &mut ended => break,
                () = tokio::time::sleep_until(target) => {}
            }
        }
        let permit = tokio::select! {
            () = &mut stop => break,
            () = &mut ended => break,
            permit = semaphore.clone().acquire_owned() => permit.context("the request semaphore closed")?,
        };
        while let Some(done) = tasks.try_join_next() {
            record(&mut report, done);
        }
        let description = settings.description.replace("{seq}", &seq.to_string());
        let client = client.clone();
        let url = url.clone();
        let this = seq;
        let key = (retries > 0).then(|| format!("sim-{run_id}-{seq}"));
        tasks.spawn(async move {
            let outcome = send(&client, &url, &description, key.as_deref(), retries, this).await;
            drop(permit);
            outcome
        });
        seq += 1;
        scheduled += 1;
        if Instant::now() >= next_progress {
            next_progress += PROGRESS_INTERVAL;
            tracing::info!(
                sent = seq,
                accepted = report.accepted,
                failed = report.failed,
                "simulator progress"
            );
        }
    }
    while let Some(done) = tasks.join_next().await {
        record(&mut report, done);
    }
    report.elapsed = started.elapsed();
    report.accepted_seqs.sort_unstable();
    tracing::info!(summary = %report.summary(), "simulator finished");
    Ok(report)
}

fn record(report: &mut Report, done: Result<Outcome, tokio::task::JoinError>) {
    match done {
        Ok(outcome) => {
            // The first failure of each kind is worth a line; the rest are in the summary.
            let first_transport_error = outcome.status.is_none() && report.transport_errors == 0;
            let first_rejection = outcome.status.is_some_and(|status| status != 200)
                && report.failed == report.transport_errors;
            if first_transport_error {
                tracing::warn!(
                    seq = outcome.seq,
                    "the producer did not answer (further transport errors are only counted)"
                );
            } else if first_rejection {
                tracing::warn!(seq = outcome.seq, status = ?outcome.status, "the producer refused an event (further refusals are only counted)");
            }
            report.record(outcome.seq, outcome.status, outcome.latency);
            report.retries += u64::from(outcome.retries);
        }
        Err(error) => {
            tracing::error!(%error, "a request task failed");
            report.record(u64::MAX, None, Duration::ZERO);
        }
    }
}

/// Sends one event, with retries (see the module docs).
async fn send(
    client: &reqwest::Client,
    url: &str,
    description: &str,
    key: Option<&str>,
    retries: u32,
    seq: u64,
) -> Outcome {
    let body = serde_json::json!({ "description": description }).to_string();
    let started = Instant::now();
    let attempts = std::sync::atomic::AtomicU32::new(0);
    let attempt = || async {
        attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut request = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone());
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let answer = request.send().await;
        match answer {
            Ok(response) => {
                let status = response.status().as_u16();
                // Read the body so the connection can be reused.
                let _ = response.bytes().await;
                if matches!(status, 429 | 503) {
                    Err(Some(status))
                } else {
                    Ok(status)
                }
            }
            Err(error) => {
                tracing::debug!(seq, %error, "event not sent");
                Err(None)
            }
        }
    };
    let backoff = ExponentialBuilder::default()
        .with_min_delay(FIRST_BACKOFF)
        .with_max_delay(MAX_BACKOFF)
        .with_max_times(retries as usize)
        .with_jitter();
    let status = match attempt.retry(backoff).await {
        Ok(status) => Some(status),
        Err(last) => last,
    };
    tracing::debug!(seq, ?status, "event sent");
    Outcome {
        seq,
        status,
        latency: started.elapsed(),
        retries: attempts
            .load(std::sync::atomic::Ordering::Relaxed)
            .saturating_sub(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn closed_port_counts_transport_errors_and_stops_at_max_events() {
        let port = harness::backing::port::free_port().unwrap();
        let settings = Settings {
            producer_url: format!("http://127.0.0.1:{port}"),
            events_per_second: 0.0,
            concurrency: 4,
            max_events: Some(10),
            request_timeout: Duration::from_secs(2),
            ..Settings::default()
        };
        let report = tokio::time::timeout(
            Duration::from_secs(30),
            run(&settings, std::future::pending()),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(report.sent, 10);
        assert_eq!(report.accepted, 0);
        assert_eq!(report.transport_errors, 10);
        assert_eq!(report.failed, 10);
        // Each event was tried 1 + 3 times.
        assert_eq!(report.retries, 30);
    }

    #[tokio::test]
    async fn refused_events_are_retried_with_their_key_until_accepted() {
        use std::{
            collections::HashMap,
            sync::{Arc, Mutex},
        };

        use axum::{http::HeaderMap, routing::post, Router};

        // Answers 503 to the first two attempts of each key, 200 to the third.
        let seen: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
        let counts = seen.clone();
        let app = Router::new().route(
            "/event",
            post(move |headers: HeaderMap| {
                let counts = counts.clone();
                async move {
                    let key = headers["idempotency-key"].to_str().unwrap().to_owned();
                    let mut counts = counts.lock().unwrap();
                    let attempts = counts.entry(key).or_default();
                    *attempts += 1;
                    if *attempts < 3 {
                        axum::http::StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        axum::http::StatusCode::OK
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let settings = Settings {
            producer_url: format!("http://{address}"),
            events_per_second: 0.0,
            concurrency: 4,
            max_events: Some(8),
            ..Settings::default()
        };
        let report = tokio::time::timeout(
            Duration::from_secs(30),
            run(&settings, std::future::pending()),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!((report.sent, report.accepted, report.retries), (8, 8, 16));
        // Eight keys, each sent three times.
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 8);
        assert!(seen.values().all(|&attempts| attempts == 3), "{seen:?}");
    }

    #[tokio::test]
    async fn stop_ends_an_unbounded_run() {
        let settings = Settings {
            producer_url: "http://127.0.0.1:9".to_owned(),
            events_per_second: 1.0,
            ..Settings::default()
        };
        let report = tokio::time::timeout(
            Duration::from_secs(30),
            run(&settings, tokio::time::sleep(Duration::from_millis(100))),
        )
        .await
        .unwrap()
        .unwrap();
        assert!(report.sent <= 1, "{}", report.summary());
    }
}
