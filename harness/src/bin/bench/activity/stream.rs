//! The ListEvents side of `bench activity`: one stream drained to the end, timed at every tenth,
//! while the server's memory is sampled, and the table that shows it.

use std::time::{Duration, Instant};

use activity::proto::Deployment;
use anyhow::{ensure, Context, Result};
use harness::load::format_latency;

use super::calls::Clients;
use super::seed::Seeded;
use crate::table;
use harness::memory::{self, mib, Memory, Sampler, Samples};

/// How often the server's memory is read during the stream.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// Longest the stream may take to drain before the run fails.
const STREAM_TIMEOUT: Duration = Duration::from_secs(600);

/// What draining one ListEvents stream measured.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamReport {
    /// Events received.
    pub events: u64,
    /// From the call to the first event.
    pub first_event: Option<Duration>,
    /// From the call to the end of the stream.
    pub total: Duration,
    /// Events per progress mark (a tenth of those expected).
    pub step: u64,
    /// Time from the call to every `step`-th event.
    pub tenths: Vec<Duration>,
}

impl StreamReport {
    /// Events per second over the whole stream.
    pub fn rate(&self) -> f64 {
        if self.total.is_zero() {
            0.0
        } else {
            self.events as f64 / self.total.as_secs_f64()
        }
    }

    /// Events per second over the first and over the last progress step, if there were two.
    pub fn first_and_last_rate(&self) -> Option<(f64, f64)> {
        let rate = |chunk: Duration| self.step as f64 / chunk.as_secs_f64().max(1e-9);
        match (self.tenths.first(), self.tenths.as_slice()) {
            (Some(first), [.., before_last, last]) => {
                Some((rate(*first), rate(last.saturating_sub(*before_last))))
            }
            _ => None,
        }
    }
}

/// The server's memory around the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryReport {
    /// Just before the stream (`hwm_kib` is the peak of the run so far: load and seeding).
    pub before: Memory,
    /// Whether the peak was reset before the stream (then `after.hwm_kib` is the stream's peak).
    pub peak_reset: bool,
    /// `VmRSS` read every [`SAMPLE_EVERY`] during the stream.
    pub during: Samples,
    /// Just after the stream.
    pub after: Memory,
}

/// Opens one ListEvents stream for `deployment` and reads it to the end, noting the time at each
/// tenth of the `expected` events (to show whether the rate holds along the stream).
async fn drain(clients: &Clients, deployment: i32, expected: u64) -> Result<StreamReport> {
    let mut client = clients.pick();
    let step = (expected / 10).max(1);
    let started = Instant::now();
    let mut stream = client
        .list_events(Deployment { id: deployment })
        .await
        .context("ListEvents")?
        .into_inner();
    let mut events = 0u64;
    let mut first_event = None;
    let mut tenths = Vec::with_capacity(10);
    let mut next_mark = step;
    while let Some(event) = stream
        .message()
        .await
        .context("reading the ListEvents stream")?
    {
        if first_event.is_none() {
            first_event = Some(started.elapsed());
        }
        ensure!(
            event.deployment_id == deployment,
            "ListEvents({deployment}) streamed an event of deployment {}",
            event.deployment_id
        );
        events += 1;
        if events == next_mark {
            next_mark += step;
            let at = started.elapsed();
            let chunk = at.saturating_sub(tenths.last().copied().unwrap_or_default());
            eprintln!(
                "bench:   {events} events after {:.2} s ({:.0} events/s over the last {step})",
                at.as_secs_f64(),
                step as f64 / chunk.as_secs_f64().max(1e-9)
            );
            tenths.push(at);
        }
    }
    Ok(StreamReport {
        events,
        first_event,
        total: started.elapsed(),
        step,
        tenths,
    })
}

/// Drains the stream while sampling the server's memory.
pub(super) async fn drain_measured(
    clients: &Clients,
    deployment: i32,
    expected: u64,
    pid: Option<u32>,
) -> Result<(StreamReport, Option<MemoryReport>)> {
    let Some(pid) = pid else {
        let stream = tokio::time::timeout(STREAM_TIMEOUT, drain(clients, deployment, expected))
            .await
            .context("the ListEvents stream did not end in time")??;
        return Ok((stream, None));
    };
    let before = memory::read(pid).context("reading the server's memory")?;
    let peak_reset = memory::reset_peak(pid);
    let sampler = Sampler::start(pid, SAMPLE_EVERY);
    let stream = tokio::time::timeout(STREAM_TIMEOUT, drain(clients, deployment, expected)).await;
    let during = tokio::task::spawn_blocking(move || sampler.finish())
        .await
        .context("joining the memory sampler")?;
    let stream = stream.context("the ListEvents stream did not end in time")??;
    let after = memory::read(pid).context("reading the server's memory")?;
    Ok((
        stream,
        Some(MemoryReport {
            before,
            peak_reset,
            during,
            after,
        }),
    ))
}

/// The seeding, the stream figures and the server's memory as a two-column table.
pub fn stream_table(
    deployment: i32,
    seeded: &Seeded,
    stream: &StreamReport,
    memory: Option<&MemoryReport>,
) -> String {
    let mut rows = vec![
        vec!["events seeded".to_string(), seeded.events().to_string()],
        vec![
            format!("time to seed them ({})", seeded.how()),
            format_latency(seeded.took()),
        ],
        vec!["events streamed".to_string(), stream.events.to_string()],
        vec!["events/s".to_string(), format!("{:.0}", stream.rate())],
        vec![
            "time to first event".to_string(),
            stream
                .first_event
                .map(format_latency)
                .unwrap_or_else(|| "n/a".into()),
        ],
        vec![
            "total time to drain".to_string(),
            format_latency(stream.total),
        ],
    ];
    if let Some((first, last)) = stream.first_and_last_rate() {
        rows.push(vec![
            format!("events/s over the first {}", stream.step),
            format!("{first:.0}"),
        ]);
        rows.push(vec![
            format!("events/s over the last {}", stream.step),
            format!("{last:.0}"),
        ]);
    }
    match memory {
        Some(memory) => {
            rows.push(vec![
                "server RSS before the stream".into(),
                mib(memory.before.rss_kib),
            ]);
            rows.push(vec![
                "server peak RSS before the stream (VmHWM)".into(),
                mib(memory.before.hwm_kib),
            ]);
            rows.push(vec![
                format!(
                    "server peak RSS during the stream ({} samples, every {} ms)",
                    memory.during.count,
                    SAMPLE_EVERY.as_millis()
                ),
                mib(memory.during.max_rss_kib),
            ]);
            rows.push(vec![
                if memory.peak_reset {
                    "server peak RSS during the stream (VmHWM, reset before it)".into()
                } else {
                    "server peak RSS of the whole run (VmHWM at the end)".into()
                },
                mib(memory.after.hwm_kib),
            ]);
            rows.push(vec![
                "server RSS after the stream".into(),
                mib(memory.after.rss_kib),
            ]);
        }
        None => rows.push(vec![
            "server memory".into(),
            "not sampled (no --server-pid)".into(),
        ]),
    }
    table::render(
        &[&format!("ListEvents (deployment {deployment})"), "value"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bulk_insert;

    #[test]
    fn stream_rate_is_events_over_total_time() {
        let stream = StreamReport {
            events: 100_000,
            first_event: Some(Duration::from_millis(3)),
            total: Duration::from_secs(2),
            step: 10_000,
            // 10 000 events in the first 0.1 s, the last 10 000 in 0.5 s.
            tenths: [100, 200, 300, 400, 500, 600, 700, 800, 1_500, 2_000]
                .map(Duration::from_millis)
                .to_vec(),
        };
        assert!((stream.rate() - 50_000.0).abs() < 1e-9);
        let (first, last) = stream.first_and_last_rate().unwrap();
        assert!((first - 100_000.0).abs() < 1e-6, "{first}");
        assert!((last - 20_000.0).abs() < 1e-6, "{last}");
        let empty = StreamReport {
            events: 0,
            first_event: None,
            total: Duration::ZERO,
            step: 1,
            tenths: Vec::new(),
        };
        assert_eq!(empty.rate(), 0.0);
        assert_eq!(empty.first_and_last_rate(), None);
    }

    #[test]
    fn stream_table_shows_rate_times_and_memory() {
        let stream = StreamReport {
            events: 100_000,
            first_event: Some(Duration::from_micros(2_500)),
            total: Duration::from_millis(1_250),
            step: 50_000,
            tenths: vec![Duration::from_millis(500), Duration::from_millis(1_250)],
        };
        let memory = MemoryReport {
            before: Memory {
                rss_kib: 20 * 1024,
                hwm_kib: 30 * 1024,
            },
            peak_reset: true,
            during: Samples {
                count: 62,
                max_rss_kib: 25 * 1024,
                last_rss_kib: 21 * 1024,
            },
            after: Memory {
                rss_kib: 21 * 1024,
                hwm_kib: 26 * 1024,
            },
        };
        let seeded = Seeded::Sql(bulk_insert::Inserted {
            rows: 100_000,
            statements: 100,
            took: Duration::from_secs(2),
        });
        let text = stream_table(2, &seeded, &stream, Some(&memory));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ListEvents (deployment 2)"));
        assert!(lines[2].starts_with("events seeded") && lines[2].ends_with("100000"));
        assert!(
            lines[3].starts_with("time to seed them (100 bulk INSERTs of ≤1000 rows)")
                && lines[3].ends_with("2.00s"),
            "{text}"
        );
        assert!(lines[4].starts_with("events streamed") && lines[4].ends_with("100000"));
        assert!(lines[5].ends_with("80000"), "{text}");
        assert!(lines[6].ends_with("2.50ms"));
        assert!(lines[7].ends_with("1.25s"));
        assert!(
            lines[8].starts_with("events/s over the first 50000") && lines[8].ends_with("100000")
        );
        assert!(
            lines[9].starts_with("events/s over the last 50000") && lines[9].ends_with("66667")
        );
        assert!(text.contains("before the stream (VmHWM)"));
        assert!(text.contains("(62 samples, every 20 ms)"));
        let peak = lines
            .iter()
            .find(|l| l.contains("reset before it"))
            .unwrap();
        assert!(peak.ends_with("26.0 MiB"), "{peak}");
        let unsampled = stream_table(2, &seeded, &stream, None);
        assert!(unsampled.contains("not sampled"));
    }
}
