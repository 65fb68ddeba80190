//! [`Report`]: what a simulator run did.

use std::{collections::BTreeMap, time::Duration};

use hdrhistogram::Histogram;

/// Highest latency the histogram tracks exactly (longer ones are recorded as this), µs.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// Counts, statuses and latencies of a run.
#[derive(Debug, Clone)]
pub struct Report {
    /// Requests started.
    pub sent: u64,
    /// Answered 200.
    pub accepted: u64,
    /// Non-200 answers plus transport errors.
    pub failed: u64,
    /// Answers by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests without an answer (connection refused, timeout, …).
    pub transport_errors: u64,
    /// Latency in microseconds, accepted and failed requests alike.
    pub latency: Histogram<u64>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Sequence numbers answered 200.
    pub accepted_seqs: Vec<u64>,
    /// Requests sent again after a 503, a 429 or no answer (not counted in `sent`).
    pub retries: u64,
}

/// An empty latency histogram (1 µs – 1 h, 3 significant digits).
pub fn latency_histogram() -> Histogram<u64> {
    // Constant, valid bounds: this cannot fail; the auto-resizing form is the fallback anyway.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
        .or_else(|_| Histogram::new(3))
        .unwrap_or_else(|_| unreachable!("3 significant digits are supported"))
}

impl Default for Report {
    fn default() -> Self {
        Self {
            sent: 0,
            accepted: 0,
            failed: 0,
            statuses: BTreeMap::new(),
            transport_errors: 0,
            latency: latency_histogram(),
            elapsed: Duration::ZERO,
            accepted_seqs: Vec::new(),
            retries: 0,
        }
    }
}

impl Report {
    /// Records one finished event: its last status (`None` = transport error), its latency
    /// (all attempts) and how many times it was sent again.
    pub fn record(&mut self, seq: u64, status: Option<u16>, latency: Duration) {
        self.sent += 1;
        match status {
            Some(200) => {
                self.accepted += 1;
                self.accepted_seqs.push(seq);
            }
            Some(_) => self.failed += 1,
            None => {
                self.failed += 1;
                self.transport_errors += 1;
            }
        }
        if let Some(status) = status {
            *self.statuses.entry(status).or_default() += 1;
        }
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency
            .saturating_record(micros.clamp(1, MAX_LATENCY_US));
    }

    /// Median latency.
    pub fn p50(&self) -> Duration {
        self.quantile(0.5)
    }

    /// 99th percentile latency.
    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }

    /// Latency at quantile `q` (0 when nothing was recorded).
    pub fn quantile(&self, q: f64) -> Duration {
        if self.latency.is_empty() {
            return Duration::ZERO;
        }
        Duration::from_micros(self.latency.value_at_quantile(q))
    }

    /// Accepted events per second of wall time.
    pub fn accepted_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.accepted as f64 / secs
        } else {
            0.0
        }
    }

    /// One line for people: counts, statuses, rate and percentiles.
    pub fn summary(&self) -> String {
        let statuses = if self.statuses.is_empty() {
            "none".to_owned()
        } else {
            self.statuses
                .iter()
                .map(|(status, count)| format!("{status}: {count}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "sent {}, accepted {}, failed {} (statuses {statuses}; transport errors {}; retries {}) in {:.1} s: {:.1} accepted/s, latency p50 {:.2} ms, p99 {:.2} ms",
            self.sent,
            self.accepted,
            self.failed,
            self.transport_errors,
            self.retries,
            self.elapsed.as_secs_f64(),
            self.accepted_per_second(),
            self.p50().as_secs_f64() * 1000.0,
            self.p99().as_secs_f64() * 1000.0,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_percentiles() {
        let mut report = Report::default();
        assert_eq!(report.p50(), Duration::ZERO);
        for seq in 0..98 {
            report.record(seq, Some(200), Duration::from_millis(1));
        }
        report.record(98, Some(503), Duration::from_millis(100));
        report.record(99, None, Duration::from_millis(100));
        report.elapsed = Duration::from_secs(2);
        assert_eq!((report.sent, report.accepted, report.failed), (100, 98, 2));
        assert_eq!(report.transport_errors, 1);
        assert_eq!(report.statuses.get(&200), Some(&98));
        assert_eq!(report.statuses.get(&503), Some(&1));
        assert_eq!(report.accepted_seqs.len(), 98);
        assert!(
            report.p50() < Duration::from_millis(2),
            "{:?}",
            report.p50()
        );
        assert!(
            report.p99() >= Duration::from_millis(99),
            "{:?}",
            report.p99()
        );
        assert!((report.accepted_per_second() - 49.0).abs() < 1e-9);
        let summary = report.summary();
        assert!(
            summary.contains("sent 100, accepted 98, failed 2"),
            "{summary}"
        );
        assert!(summary.contains("503: 1"), "{summary}");
    }
}
