//! HTTP checks for the pollers ([`backing::wait`]): one bounded `GET`, its answer turned into an
//! [`Attempt`], and the Prometheus sums the readiness checks look for. Shared by the services of
//! `up` and `bench`, the image smoke tests and the local cluster's etcd.

use std::time::Duration;

use anyhow::{Context, Result};
use backing::wait::Attempt;
use reqwest::StatusCode;

/// The client every check uses: each request bounded to 2 s.
pub fn client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .context("building an HTTP client")
}

/// `GET url`: ready with what `accept` makes of the status and body, pending with what it says
/// instead, or with why nothing answered.
pub async fn get<T>(
    client: &reqwest::Client,
    url: &str,
    accept: impl FnOnce(StatusCode, &str) -> std::result::Result<T, String>,
) -> Attempt<T> {
    match client.get(url).send().await {
        Ok(response) => {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            Attempt::from(accept(status, &body))
        }
        Err(error) => Attempt::Pending(error.to_string()),
    }
}

/// `Ok` for a 2xx status, else `HTTP <status>` (what a pending attempt says).
pub fn success(status: StatusCode) -> std::result::Result<(), String> {
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("HTTP {status}"))
    }
}

/// The sum of every sample of the Prometheus metric `name` in an exposition `text` (all label
/// sets), or `None` when it has no sample.
pub fn metric_total(text: &str, name: &str) -> Option<f64> {
    let mut total = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        // `name 3` or `name{label="x"} 3`, not `name_bucket…` or `name_other`.
        if !(rest.starts_with(' ') || rest.starts_with('{')) {
            continue;
        }
        let value = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok());
        if let Some(value) = value {
            *total.get_or_insert(0.0) += value;
        }
    }
    total
}

/// Accepts a 2xx exposition whose metric `name` has reached `at_least` (its value), else says
/// where it stands.
pub fn metric_at_least(
    status: StatusCode,
    text: &str,
    name: &str,
    at_least: f64,
) -> std::result::Result<f64, String> {
    success(status)?;
    match metric_total(text, name) {
        Some(value) if value >= at_least => Ok(value),
        Some(value) => Err(format!("{name} = {value}")),
        None => Err(format!("no {name} yet")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# TYPE events_produced_total counter
events_produced_total 7
events_rejected_total{reason=\"redis\"} 2
events_rejected_total{reason=\"body\"} 3
events_end_to_end_lag_seconds_bucket{le=\"0.1\"} 5
events_end_to_end_lag_seconds_count 5
";

    #[test]
    fn metric_total_sums_every_label_set_of_exactly_that_metric() {
        assert_eq!(metric_total(TEXT, "events_produced_total"), Some(7.0));
        assert_eq!(metric_total(TEXT, "events_rejected_total"), Some(5.0));
        assert_eq!(metric_total(TEXT, "events_end_to_end_lag_seconds"), None);
        assert_eq!(metric_total(TEXT, "events_consumed_total"), None);
    }

    #[test]
    fn a_metric_is_awaited_until_it_reaches_its_bound() {
        let ok = StatusCode::OK;
        assert_eq!(
            metric_at_least(ok, TEXT, "events_produced_total", 1.0),
            Ok(7.0)
        );
        assert_eq!(
            metric_at_least(ok, TEXT, "events_produced_total", 8.0),
            Err("events_produced_total = 7".to_string())
        );
        assert_eq!(
            metric_at_least(ok, TEXT, "events_consumed_total", 1.0),
            Err("no events_consumed_total yet".to_string())
        );
        assert_eq!(
            metric_at_least(StatusCode::SERVICE_UNAVAILABLE, TEXT, "x", 1.0),
            Err("HTTP 503 Service Unavailable".to_string())
        );
    }

    #[tokio::test]
    async fn nothing_listening_is_pending_with_the_reason() {
        let port = backing::port::free_port().unwrap();
        let url = format!("http://127.0.0.1:{port}/readyz");
        let attempt = get(&client().unwrap(), &url, |status, _| success(status)).await;
        assert!(matches!(attempt, Attempt::Pending(why) if !why.is_empty()));
    }
}
