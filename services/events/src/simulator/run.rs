//! The engine: sends `POST <producer_url>/event` at the configured rate (a schedule of one
//! event every `1 / events_per_second`, without catch-up bursts after a stall; 0 = no pacing)
//! with at most `concurrency` requests in flight, until `stop` resolves, `duration` has passed
//! or `max_events` were sent. Requests in flight at the end are awaited (each is bounded by
//! `request_timeout`).

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use secrecy::ExposeSecret as _;
use tokio::{sync::Semaphore, task::JoinSet};

use super::{Report, Settings};

/// How often a long run logs its progress.
const PROGRESS_INTERVAL: Duration = Duration::from_secs(10);
/// A schedule this far behind is restarted rather than caught up.
const MAX_LAG: Duration = Duration::from_secs(1);

/// One finished request.
struct Outcome {
    seq: u64,
    status: Option<u16>,
    latency: Duration,
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
        tasks.spawn(async move {
            let outcome = send(&client, &url, &description, this).await;
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
        }
        Err(error) => {
            tracing::error!(%error, "a request task failed");
            report.record(u64::MAX, None, Duration::ZERO);
        }
    }
}

async fn send(client: &reqwest::Client, url: &str, description: &str, seq: u64) -> Outcome {
    let body = serde_json::json!({ "description": description }).to_string();
    let started = Instant::now();
    let result = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let status = match result {
        Ok(response) => {
            let status = response.status().as_u16();
            // Read the body so the connection can be reused.
            let _ = response.bytes().await;
            tracing::debug!(seq, status, "event sent");
            Some(status)
        }
        Err(error) => {
            tracing::debug!(seq, %error, "event not sent");
            None
        }
    };
    Outcome {
        seq,
        status,
        latency: started.elapsed(),
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
