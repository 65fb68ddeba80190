//! Prometheus metrics: one global recorder per process and the `GET /metrics` handler.
//!
//! [`install`] is idempotent and returns a cheap handle, so many `App`s in one process (e.g.
//! in-process test servers) share one registry. Histograms get buckets, so they are exposed as
//! Prometheus histograms (`_bucket`, `_sum`, `_count`) and the dashboards can use
//! `histogram_quantile`:
//!
//! - metrics whose names start with `mockvideo_` use the seed's linear buckets (0.001 s, width
//!   0.004 s, 50 buckets), as the original dashboards expect;
//! - every other histogram uses [`DEFAULT_BUCKETS`].

use std::{sync::OnceLock, time::Duration};

use axum::{
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Buckets (seconds) for latency histograms other than the seed's `mockvideo_*` ones.
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often histogram samples are folded into buckets between scrapes (bounds memory).
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The seed's buckets: linear, start 0.001 s, width 0.004 s, 50 buckets.
pub fn seed_buckets() -> Vec<f64> {
    // Computed as integers over 1000 so that the `le` labels print exactly (0.005, not 0.005000000000000001).
    (0..50).map(|i| f64::from(1 + 4 * i) / 1000.0).collect()
}

/// Installs the global Prometheus recorder (once) and returns a handle to it.
///
/// If some other recorder was installed first, a detached recorder's handle is returned: it
/// renders an empty page rather than failing the service.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(DEFAULT_BUCKETS)
                .and_then(|builder| {
                    builder.set_buckets_for_metric(
                        Matcher::Prefix("mockvideo_".to_owned()),
                        &seed_buckets(),
                    )
                });
            let builder = match builder {
                Ok(builder) => builder,
                // Only reachable with empty bucket lists, which the constants above are not.
                Err(error) => {
                    tracing::error!(%error, "invalid histogram buckets; using summaries");
                    PrometheusBuilder::new()
                }
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if let Err(error) = metrics::set_global_recorder(recorder) {
                tracing::warn!(%error, "a metrics recorder was already installed");
            }
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".to_owned())
                .spawn(move || loop {
                    std::thread::sleep(UPKEEP_INTERVAL);
                    upkeep.run_upkeep();
                });
            if let Err(error) = spawned {
                tracing::warn!(%error, "no metrics upkeep thread; histograms drain on scrape");
            }
            handle
        })
        .clone()
}

/// Renders the Prometheus text exposition of every metric recorded in this process.
pub fn render() -> String {
    install().render()
}

/// Axum handler for `GET /metrics`.
pub async fn handler() -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_is_idempotent_and_renders_recorded_metrics() {
        let first = install();
        let second = install();
        metrics::counter!("platform_metrics_test_total", "kind" => "unit").increment(2);
        metrics::histogram!("mockvideo_platform_test_seconds").record(0.002);
        let text = second.render();
        assert!(
            text.contains("platform_metrics_test_total{kind=\"unit\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("mockvideo_platform_test_seconds_bucket{le=\"0.005\"} 1"),
            "{text}"
        );
        assert_eq!(first.render().is_empty(), text.is_empty());
    }

    #[test]
    fn seed_buckets_are_linear() {
        let buckets = seed_buckets();
        assert_eq!(buckets.len(), 50);
        assert!((buckets[0] - 0.001).abs() < 1e-12);
        assert!((buckets[49] - 0.197).abs() < 1e-9);
    }
}
