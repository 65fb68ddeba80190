//! `bench events`: the event pipeline over Redis streams.
//!
//! Against one Redis (`BENCH_REDIS_URL`, else one provisioned by the harness), with the event
//! producer and `--consumers` event consumers started in this process on a stream of their own:
//!
//! 1. **XADD straight to Redis**: the producer's command (`XADD <stream> * EventStream <NM JSON>`,
//!    a fresh Notification Message of the same size every time) sent by this tool at the same
//!    concurrency for the same time, on a second stream no consumer reads: the ceiling.
//! 2. **Through the producer**: `POST /event` at a fixed concurrency for a fixed time, unthrottled,
//!    by the simulator engine (`events::simulator::run`), while the consumers process what is
//!    accepted: accepted events/s, p50, p99.
//! 3. Their **ratio**.
//! 4. **End-to-end lag** from accept (the NM timestamp) to processed (the consumer's record),
//!    p50/p99/max, once the consumers have drained the stream (bounded wait).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use clap::Args;
use events::consumer::record;
use events::notification::{NotificationMessage, EVENT_FIELD};
use events::simulator;
use harness::backing::redis::Redis;
use harness::backing::wait::{wait_until, Attempt, WaitError};
use harness::launch::{self, RunningService};
use harness::load::{self, format_latency, LoadReport, LoadSpec};
use hdrhistogram::Histogram;

use crate::{load_row, table, LoadArgs, LOAD_HEADER};

/// The consumer group of the bench's consumers.
const GROUP: &str = "bench";

/// The description of every event; `{seq}` is the event's sequence number (both targets send
/// NMs of the same size).
const DESCRIPTION: &str = "bench event {seq}";

/// How often the drain is polled.
const DRAIN_POLL: Duration = Duration::from_millis(100);

/// Producer vs direct XADD throughput and the end-to-end lag.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Redis to use (its keys go under a fresh `bench:<time>:` prefix); without it the harness
    /// provisions one (REDIS_URL, a container or a local redis-server) and removes it afterwards.
    #[arg(
        long,
        env = "BENCH_REDIS_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    redis_url: Option<String>,

    /// Event consumers (one group) processing what the producer accepts.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    consumers: u32,

    /// Longest wait, after the load, for the consumers to process every accepted event.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    drain_timeout: u64,

    #[command(flatten)]
    load: LoadArgs,
}

/// The keys of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Keys {
    /// The stream the producer writes and the consumers read.
    stream: String,
    /// The stream of the direct XADDs (no consumer).
    direct: String,
}

impl Keys {
    /// Keys under `bench:<suffix>:`.
    fn new(suffix: &str) -> Self {
        Self {
            stream: format!("bench:{suffix}:NotificationStream"),
            direct: format!("bench:{suffix}:direct"),
        }
    }

    /// Every key the run may create.
    fn all(&self) -> Vec<String> {
        vec![
            self.stream.clone(),
            self.direct.clone(),
            record::processed_key(&self.stream, GROUP),
            record::processed_count_key(&self.stream, GROUP),
            record::seen_key(&self.stream, GROUP),
            record::dead_letter_key(&self.stream),
        ]
    }
}

/// End-to-end lag of the processed events.
#[derive(Clone, Debug, PartialEq)]
struct Lag {
    /// Events measured.
    events: u64,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

impl Lag {
    /// From lags in microseconds.
    fn from_micros(lags: impl IntoIterator<Item = u64>) -> Result<Self> {
        let mut histogram =
            Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).context("lag histogram")?;
        for lag in lags {
            histogram.saturating_record(lag.max(1));
        }
        let at = |q: f64| Duration::from_micros(histogram.value_at_quantile(q));
        Ok(Self {
            events: histogram.len(),
            p50: at(0.5),
            p99: at(0.99),
            max: Duration::from_micros(histogram.max()),
        })
    }

    /// The table row.
    fn row(&self) -> Vec<String> {
        vec![
            "accept → processed".to_string(),
            self.events.to_string(),
            format_latency(self.p50),
            format_latency(self.p99),
            format_latency(self.max),
        ]
    }
}

/// The simulator's report as a load report: requests = answered calls, errors = failed ones,
/// rate = accepted events per second.
fn as_load_report(report: &simulator::Report) -> LoadReport {
    LoadReport {
        requests: report.accepted + report.failed,
        errors: report.failed,
        elapsed: report.elapsed,
        rps: report.accepted_per_second(),
        p50: report.p50(),
        p90: report.quantile(0.9),
        p99: report.p99(),
        max: report.quantile(1.0),
        first_error: None,
        errors_by_class: std::collections::BTreeMap::from([("failed".to_owned(), report.failed)])
            .into_iter()
            .filter(|(_, count)| *count > 0)
            .collect(),
    }
}

/// Producer rate divided by direct rate.
fn ratio(producer: &LoadReport, direct: &LoadReport) -> Option<f64> {
    (direct.rps > 0.0).then(|| producer.rps / direct.rps)
}

/// Runs the benchmark and prints the tables.
pub async fn run(args: &EventsArgs) -> Result<()> {
    let provisioned = match &args.redis_url {
        Some(_) => None,
        None => Some(Redis::start().await.context("provisioning Redis")?),
    };
    let url = match (&args.redis_url, &provisioned) {
        (Some(url), _) => url.clone(),
        (None, Some(redis)) => redis.url().to_string(),
        (None, None) => bail!("no Redis"),
    };
    let suffix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
        .to_string();
    let keys = Keys::new(&suffix);
    let client = redis::Client::open(url.as_str()).context("parsing the Redis URL")?;
    let conn = client
        .get_connection_manager()
        .await
        .context("connecting to Redis")?;

    let mut services = Vec::new();
    let outcome = measure(args, &url, &keys, conn.clone(), &mut services).await;

    // Clean up whatever happened: services, keys, the server if it is ours.
    for service in services {
        let name = service.name();
        if let Err(error) = service.stop().await {
            eprintln!("bench: stopping {name}: {error:#}");
        }
    }
    let mut cleanup = conn;
    if let Err(error) = redis::cmd("DEL")
        .arg(keys.all())
        .query_async::<u64>(&mut cleanup)
        .await
    {
        eprintln!("bench: deleting the bench keys: {error}");
    }
    if let Some(redis) = provisioned {
        redis.stop().await.context("stopping Redis")?;
    }
    outcome
}

/// Starts the services (kept in `services` for the caller to stop), runs both targets, waits for
/// the drain, prints the tables.
async fn measure(
    args: &EventsArgs,
    url: &str,
    keys: &Keys,
    conn: redis::aio::ConnectionManager,
    services: &mut Vec<RunningService>,
) -> Result<()> {
    let spec = args.load.spec();
    let producer =
        launch::events::start_producer(launch::events::producer_settings(url, &keys.stream))
            .await
            .context("starting the event producer")?;
    let producer_url = producer.base_url();
    services.push(producer);
    for index in 1..=args.consumers {
        let consumer = launch::events::start_consumer(launch::events::consumer_settings(
            url,
            &keys.stream,
            GROUP,
            &format!("bench-consumer-{index}"),
        ))
        .await
        .with_context(|| format!("starting event consumer {index}"))?;
        services.push(consumer);
    }
    eprintln!(
        "bench: producer {producer_url}, {} consumer(s) in group `{GROUP}` on {}",
        args.consumers, keys.stream
    );
    eprintln!(
        "bench: {} workers, {} s warm-up + {} s measured per target",
        spec.concurrency, args.load.warmup, args.load.duration
    );

    eprintln!("bench: XADD {} * {EVENT_FIELD} <NM JSON> …", keys.direct);
    let direct = bench_direct(conn.clone(), &keys.direct, spec.clone()).await?;
    eprintln!("bench: direct   {direct}");

    eprintln!("bench: POST {producer_url}/event (simulator engine, unthrottled) …");
    let mut settings = simulator::Settings {
        producer_url: producer_url.clone(),
        events_per_second: 0.0,
        concurrency: spec.concurrency,
        duration: Some(spec.warmup),
        max_events: None,
        description: DESCRIPTION.to_string(),
        request_timeout: spec.op_timeout,
        token: None,
        // The producer's own rate: each event posted once, without a key.
        retries: 0,
    };
    let mut baseline = 0;
    if !spec.warmup.is_zero() {
        let warm = simulator::run(&settings, std::future::pending()).await?;
        eprintln!("bench: warm-up  {}", warm.summary());
        let drained = drain(conn.clone(), keys, warm.accepted, args.drain_timeout).await?;
        baseline = drained.processed;
    }
    settings.duration = Some(spec.duration);
    settings.max_events = spec.max_requests;
    let report = simulator::run(&settings, std::future::pending()).await?;
    eprintln!("bench: producer {}", report.summary());
    let through = as_load_report(&report);

    eprintln!(
        "bench: waiting (≤{} s) for the consumers to process {} accepted events …",
        args.drain_timeout, report.accepted
    );
    let drained = drain(
        conn.clone(),
        keys,
        baseline + report.accepted,
        args.drain_timeout,
    )
    .await?;
    let mut reader = conn;
    let records = record::read_processed(&mut reader, &keys.stream, GROUP)
        .await
        .context("reading the processed records")?;
    // The list is capped (`processed_max_len`): the lag is taken from its newest records, at
    // most the measured run's.
    let measured_count = usize::try_from(report.accepted)?.min(records.len());
    let measured = records.iter().skip(records.len() - measured_count);
    let lag = Lag::from_micros(measured.map(|r| r.lag_us))?;

    println!();
    print!(
        "{}",
        table::render(
            &LOAD_HEADER,
            &[
                load_row("POST /event → producer → XADD", &through),
                load_row("XADD straight to Redis", &direct),
            ]
        )
    );
    match ratio(&through, &direct) {
        Some(ratio) => println!(
            "\nproducer/direct rate: {ratio:.2} (through the producer, {:.0}% of the XADDs Redis \
             alone takes at this concurrency; {} consumer(s) were processing meanwhile)",
            ratio * 100.0,
            args.consumers
        ),
        None => println!("\nproducer/direct rate: n/a (no direct XADD completed)"),
    }
    println!();
    print!(
        "{}",
        table::render(
            &["end-to-end lag", "events", "p50", "p99", "max"],
            &[lag.row()]
        )
    );
    println!(
        "\nprocessed {} of {} accepted events in {:.1} s after the load ended",
        drained.processed - baseline,
        report.accepted,
        drained.waited.as_secs_f64()
    );
    if !drained.complete {
        bail!(
            "the consumers processed {} of {} accepted events within {} s",
            drained.processed - baseline,
            report.accepted,
            args.drain_timeout
        );
    }
    if through.errors > 0 || direct.errors > 0 {
        bail!("some requests failed (see the errors column)");
    }
    Ok(())
}

/// `XADD <stream> * EventStream <NM JSON>` in a closed loop, a fresh NM each time.
async fn bench_direct(
    conn: redis::aio::ConnectionManager,
    stream: &str,
    spec: LoadSpec,
) -> Result<LoadReport> {
    let seq = Arc::new(AtomicU64::new(0));
    let stream = stream.to_string();
    let report = load::run(spec, move || {
        let mut conn = conn.clone();
        let stream = stream.clone();
        let seq = seq.fetch_add(1, Ordering::Relaxed);
        async move {
            let message = NotificationMessage::new(DESCRIPTION.replace("{seq}", &seq.to_string()));
            let json = serde_json::to_string(&message)?;
            redis::cmd("XADD")
                .arg(&stream)
                .arg("*")
                .arg(EVENT_FIELD)
                .arg(json)
                .query_async::<String>(&mut conn)
                .await?;
            Ok::<(), anyhow::Error>(())
        }
    })
    .await?;
    Ok(report)
}

/// How far the consumers got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Drained {
    /// Processed records appended so far (the running count).
    processed: u64,
    /// Whether it reached the target.
    complete: bool,
    /// How long it took.
    waited: Duration,
}

/// Waits until the consumers have appended `target` processed records (the list's running
/// count, which its cap does not shrink), or `timeout_secs` pass.
async fn drain(
    conn: redis::aio::ConnectionManager,
    keys: &Keys,
    target: u64,
    timeout_secs: u64,
) -> Result<Drained> {
    let key = record::processed_count_key(&keys.stream, GROUP);
    let started = Instant::now();
    // The last count read: what a drain that did not complete in time got to.
    let last = AtomicU64::new(0);
    let (key, seen) = (&key, &last);
    let waited = wait_until(
        &format!("{target} processed records"),
        Duration::from_secs(timeout_secs),
        DRAIN_POLL,
        || {
            let mut conn = conn.clone();
            async move {
                let count: redis::RedisResult<Option<u64>> =
                    redis::cmd("GET").arg(key).query_async(&mut conn).await;
                let processed: u64 = match count {
                    Ok(processed) => processed.unwrap_or(0),
                    Err(error) => {
                        let error = anyhow::Error::new(error);
                        return Attempt::Failed(error.context("GET of the processed count"));
                    }
                };
                seen.store(processed, Ordering::Relaxed);
                if processed >= target {
                    Attempt::Ready(())
                } else {
                    Attempt::Pending(format!("{processed} records"))
                }
            }
        },
    )
    .await;
    if let Err(WaitError::Failed(error)) = waited {
        return Err(error);
    }
    let processed = last.load(Ordering::Relaxed);
    Ok(Drained {
        processed,
        complete: processed >= target,
        waited: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::report;

    #[test]
    fn keys_are_under_one_prefix_and_include_the_consumer_records() {
        let keys = Keys::new("17");
        assert_eq!(keys.stream, "bench:17:NotificationStream");
        assert_eq!(keys.direct, "bench:17:direct");
        let all = keys.all();
        assert!(
            all.iter().all(|key| key.starts_with("bench:17:")),
            "{all:?}"
        );
        assert!(all.contains(&record::processed_key(&keys.stream, GROUP)));
    }

    #[test]
    fn lag_percentiles_come_from_the_records() {
        let lag = Lag::from_micros((1..=100).map(|ms| ms * 1000)).unwrap();
        assert_eq!(lag.events, 100);
        assert!((49..=51).contains(&lag.p50.as_millis()), "{lag:?}");
        assert!((98..=100).contains(&lag.p99.as_millis()), "{lag:?}");
        assert_eq!(lag.max.as_millis(), 100);
        assert_eq!(lag.row()[0], "accept → processed");
        assert_eq!(Lag::from_micros([]).unwrap().events, 0);
    }

    #[test]
    fn simulator_report_counts_accepted_events_per_second() {
        let mut latency = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for micros in [500, 1000, 2000] {
            latency.record(micros).unwrap();
        }
        let report = simulator::Report {
            sent: 3,
            accepted: 2,
            failed: 1,
            latency,
            elapsed: Duration::from_secs(2),
            ..simulator::Report::default()
        };
        let load = as_load_report(&report);
        assert_eq!((load.requests, load.errors), (3, 1));
        assert!((load.rps - 1.0).abs() < 1e-9);
        assert!((2000..2010).contains(&load.max.as_micros()), "{load:?}");
    }

    #[test]
    fn ratio_is_producer_over_direct() {
        let r = ratio(&report(1, 500.0), &report(1, 2000.0)).unwrap();
        assert!((r - 0.25).abs() < 1e-9);
        assert_eq!(ratio(&report(1, 1.0), &report(0, 0.0)), None);
    }

    #[test]
    fn args_parse_with_defaults() {
        let cli = crate::parse(&["events", "--redis-url", "redis://127.0.0.1:1"]).unwrap();
        let crate::Mode::Events(args) = cli.mode else {
            panic!("expected events")
        };
        assert_eq!(args.consumers, 2);
        assert_eq!(args.drain_timeout, 120);
        assert_eq!(args.load.spec().concurrency, 32);
        assert_eq!(args.load.spec().duration, Duration::from_secs(10));
    }
}
