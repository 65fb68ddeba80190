//! `bench activity`: the activity server over gRPC.
//!
//! 1. **CreateEvent** at a fixed concurrency for a fixed time (after a warm-up), every event with a
//!    unique id, through `harness::load`: requests, req/s, p50, p99, errors.
//! 2. **Seed** `--stream-events` events into one deployment of their own: by default with
//!    multi-row `INSERT`s straight into the server's table ([`crate::bulk_insert`], needs
//!    `BENCH_MYSQL_URL`), or with `--seed grpc` through CreateEvent at `--seed-concurrency`.
//! 3. **ListEvents**: one stream for that deployment, drained to the end: events, time to the
//!    first event, total time, events/s — while the server's `VmRSS` is read from
//!    `/proc/<pid>/status` every 20 ms. Its peak (`VmHWM`) is read before the stream, reset, and
//!    read again after it, so the table shows the peak before and during the stream.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use activity::proto::activity_events_client::ActivityEventsClient;
use activity::proto::{Deployment, EventRequest, Timestamp};
use anyhow::{bail, ensure, Context, Result};
use clap::{Args, ValueEnum};
use harness::load::{self, format_latency, LoadReport, LoadSpec};
use tonic::transport::Channel;

use crate::bulk_insert;
use crate::memory::{self, mib, Memory, Sampler, Samples};
use crate::{load_row, table, LoadArgs, LOAD_HEADER};

/// How often the server's memory is read during the stream.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// Longest the stream may take to drain before the run fails.
const STREAM_TIMEOUT: Duration = Duration::from_secs(600);

/// Longest the seeding may take before the run fails.
const SEED_TIMEOUT: Duration = Duration::from_secs(1800);

/// CreateEvent rate and ListEvents streaming against a running activity server.
#[derive(Debug, Args)]
pub struct ActivityArgs {
    /// The server's gRPC address.
    #[arg(long, value_name = "HOST:PORT")]
    addr: String,

    /// The server's process id, to sample its memory during the stream (omit to skip memory).
    #[arg(long, value_name = "PID")]
    server_pid: Option<u32>,

    /// Events seeded into one deployment and then streamed back by one ListEvents call.
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    stream_events: u64,

    /// How the events to stream are stored.
    #[arg(long, value_enum, default_value_t = Seed::Sql)]
    seed: Seed,

    /// The server's MySQL database, for `--seed sql`.
    #[arg(
        long,
        env = "BENCH_MYSQL_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    mysql_url: Option<String>,

    /// Concurrent CreateEvent calls for `--seed grpc`.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    seed_concurrency: u32,

    /// HTTP/2 connections the callers share (round robin).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    connections: u32,

    /// The first event id used; the run uses consecutive ids from there (each id is stored once,
    /// so against a database that already holds events, start above the ids it holds).
    #[arg(long, value_name = "ID", default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..))]
    first_id: i32,

    /// Deployment id of the CreateEvent load.
    #[arg(long, value_name = "ID", default_value_t = 1)]
    load_deployment: i32,

    /// Deployment id seeded and streamed (should hold nothing else).
    #[arg(long, value_name = "ID", default_value_t = 2)]
    stream_deployment: i32,

    #[command(flatten)]
    load: LoadArgs,
}

/// How the events to stream are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Seed {
    /// Multi-row INSERTs straight into the server's `activity_event` table (fast).
    Sql,
    /// One CreateEvent per event, through the server.
    Grpc,
}

/// How the seeding went.
#[derive(Clone, Debug, PartialEq)]
pub enum Seeded {
    /// Through CreateEvent.
    Grpc(LoadReport),
    /// Through bulk INSERTs.
    Sql(bulk_insert::Inserted),
}

impl Seeded {
    /// Events stored (all calls, for CreateEvent: the run fails if any failed).
    pub fn events(&self) -> u64 {
        match self {
            Seeded::Grpc(report) => report.requests,
            Seeded::Sql(inserted) => inserted.rows,
        }
    }

    /// How, in a few words.
    pub fn how(&self) -> String {
        match self {
            Seeded::Grpc(_) => "CreateEvent".to_string(),
            Seeded::Sql(inserted) => format!(
                "{} bulk INSERTs of ≤{} rows",
                inserted.statements,
                bulk_insert::BATCH_ROWS
            ),
        }
    }

    /// How long it took.
    pub fn took(&self) -> Duration {
        match self {
            Seeded::Grpc(report) => report.elapsed,
            Seeded::Sql(inserted) => inserted.took,
        }
    }
}

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

/// Unique event ids for the whole run (the server keeps one event per id).
#[derive(Debug)]
struct Ids(AtomicI32);

impl Ids {
    /// Ids `first`, `first + 1`, …
    fn starting_at(first: i32) -> Self {
        Self(AtomicI32::new(first))
    }

    fn next(&self) -> Result<i32> {
        let id = self.0.fetch_add(1, Ordering::Relaxed);
        ensure!(
            id > 0 && id < i32::MAX,
            "ran out of unique int32 event ids (start lower with --first-id)"
        );
        Ok(id)
    }
}

/// Round-robin over a few connections.
#[derive(Clone)]
struct Clients {
    clients: Arc<Vec<ActivityEventsClient<Channel>>>,
    turn: Arc<AtomicI32>,
}

impl Clients {
    async fn connect(addr: &str, connections: u32) -> Result<Self> {
        let url = format!("http://{addr}");
        let mut clients = Vec::new();
        for _ in 0..connections {
            let client = tokio::time::timeout(
                Duration::from_secs(10),
                ActivityEventsClient::connect(url.clone()),
            )
            .await
            .with_context(|| format!("connecting to {url}: timed out"))?
            .with_context(|| format!("connecting to {url}"))?;
            clients.push(client);
        }
        Ok(Self {
            clients: Arc::new(clients),
            turn: Arc::default(),
        })
    }

    fn pick(&self) -> ActivityEventsClient<Channel> {
        let turn = self.turn.fetch_add(1, Ordering::Relaxed).unsigned_abs() as usize;
        self.clients[turn % self.clients.len()].clone()
    }
}

/// Now, in Unix nanoseconds (the protocol's `Timestamp.send`).
fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// The text of bench event `id`.
fn message(id: i32, deployment: i32) -> String {
    format!("bench event {id} for deployment {deployment}")
}

/// One event with a fresh id for `deployment`.
fn event(id: i32, deployment: i32) -> EventRequest {
    EventRequest {
        id,
        message: message(id, deployment),
        timestamp: Some(Timestamp {
            send: now_ns(),
            receive: 0,
        }),
        deployment_id: deployment,
    }
}

/// CreateEvent with fresh ids for `deployment`, in a closed loop as `spec` says.
async fn create_events(
    clients: &Clients,
    ids: &Arc<Ids>,
    deployment: i32,
    spec: LoadSpec,
) -> Result<LoadReport> {
    let clients = clients.clone();
    let ids = Arc::clone(ids);
    let report = load::run(spec, move || {
        let mut client = clients.pick();
        let id = ids.next();
        async move {
            let id = id?;
            let response = client
                .create_event(event(id, deployment))
                .await
                .map_err(|status| anyhow::anyhow!("{:?}: {}", status.code(), status.message()))?
                .into_inner();
            ensure!(
                response.success && response.id == id,
                "CreateEvent {id} answered {response:?}"
            );
            Ok(())
        }
    })
    .await?;
    Ok(report)
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
async fn drain_measured(
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

/// Runs the three phases and prints the tables.
pub async fn run(args: &ActivityArgs) -> Result<()> {
    let spec = args.load.spec();
    let clients = Clients::connect(&args.addr, args.connections).await?;
    let ids = Arc::new(Ids::starting_at(args.first_id));

    // Fail early and clearly if the target is wrong.
    create_events(
        &clients,
        &ids,
        args.load_deployment,
        LoadSpec {
            max_requests: Some(1),
            ..LoadSpec::new(1, Duration::from_secs(10))
        },
    )
    .await
    .and_then(|probe| match probe.first_error {
        Some(error) => bail!(
            "CreateEvent before the run failed: {error} (if the database already holds events, \
             pass a --first-id above their ids)"
        ),
        None => Ok(()),
    })?;

    eprintln!(
        "bench: CreateEvent on {}: {} workers, {} s warm-up + {} s measured …",
        args.addr, spec.concurrency, args.load.warmup, args.load.duration
    );
    let create = create_events(&clients, &ids, args.load_deployment, spec).await?;
    eprintln!("bench: CreateEvent {create}");

    let seeded = seed(args, &clients, &ids).await?;
    eprintln!(
        "bench: seeded {} events ({}) in {}",
        seeded.events(),
        seeded.how(),
        format_latency(seeded.took())
    );

    eprintln!(
        "bench: ListEvents for deployment {} …",
        args.stream_deployment
    );
    let (stream, memory) = drain_measured(
        &clients,
        args.stream_deployment,
        seeded.events(),
        args.server_pid,
    )
    .await?;
    eprintln!(
        "bench: stream {} events in {:.2} s",
        stream.events,
        stream.total.as_secs_f64()
    );

    let mut load_rows = vec![load_row(
        &format!("CreateEvent (c={})", args.load.concurrency),
        &create,
    )];
    if let Seeded::Grpc(report) = &seeded {
        load_rows.push(load_row(
            &format!("seed CreateEvent (c={})", args.seed_concurrency),
            report,
        ));
    }
    println!();
    print!("{}", table::render(&LOAD_HEADER, &load_rows));
    println!();
    print!(
        "{}",
        stream_table(args.stream_deployment, &seeded, &stream, memory.as_ref())
    );

    let seed_errors = match &seeded {
        Seeded::Grpc(report) => report.errors,
        Seeded::Sql(_) => 0,
    };
    if create.errors > 0 || seed_errors > 0 {
        bail!("some CreateEvent calls failed (see the errors column)");
    }
    if stream.events != seeded.events() {
        bail!(
            "ListEvents streamed {} events but {} were seeded",
            stream.events,
            seeded.events()
        );
    }
    Ok(())
}

/// Stores `--stream-events` events for the stream deployment, as `--seed` says.
async fn seed(args: &ActivityArgs, clients: &Clients, ids: &Arc<Ids>) -> Result<Seeded> {
    let deployment = args.stream_deployment;
    eprintln!(
        "bench: seeding {} events into deployment {deployment} ({}) …",
        args.stream_events,
        match args.seed {
            Seed::Sql => format!("bulk INSERT, {} rows each", bulk_insert::BATCH_ROWS),
            Seed::Grpc => format!("{} concurrent CreateEvent calls", args.seed_concurrency),
        }
    );
    match args.seed {
        Seed::Grpc => {
            let spec = LoadSpec {
                concurrency: args.seed_concurrency as usize,
                duration: SEED_TIMEOUT,
                max_requests: Some(args.stream_events),
                ..LoadSpec::default()
            };
            let report = create_events(clients, ids, deployment, spec).await?;
            Ok(Seeded::Grpc(report))
        }
        Seed::Sql => {
            let Some(url) = args.mysql_url.as_deref() else {
                bail!("--seed sql needs the server's database in BENCH_MYSQL_URL (or use --seed grpc)");
            };
            let inserted = tokio::time::timeout(
                SEED_TIMEOUT,
                bulk_insert::insert(url, args.stream_events, |_| {
                    let id = ids.next()?;
                    let now = now_ns();
                    Ok(bulk_insert::Row {
                        id,
                        deployment_id: deployment,
                        message: message(id, deployment),
                        send_ns: now,
                        receive_ns: now,
                    })
                }),
            )
            .await
            .context("seeding through MySQL did not finish in time")??;
            Ok(Seeded::Sql(inserted))
        }
    }
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_positive() {
        let ids = Ids::starting_at(1);
        assert_eq!(ids.next().unwrap(), 1);
        assert_eq!(ids.next().unwrap(), 2);
        assert_eq!(Ids::starting_at(1_000).next().unwrap(), 1_000);
        let exhausted = Ids::starting_at(i32::MAX - 1);
        assert_eq!(exhausted.next().unwrap(), i32::MAX - 1);
        assert!(exhausted.next().is_err());
        // The counter wraps past i32::MAX; negative ids are refused too.
        assert!(exhausted.next().is_err());
    }

    #[test]
    fn events_carry_a_send_time_and_their_deployment() {
        let event = event(7, 2);
        assert_eq!((event.id, event.deployment_id), (7, 2));
        let send = event.timestamp.unwrap().send;
        assert!(send > 1_600_000_000_000_000_000, "{send}");
        assert!(event.message.contains('7'));
    }

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
    fn seeding_says_how_and_how_long() {
        let grpc = Seeded::Grpc(LoadReport {
            requests: 1000,
            errors: 0,
            elapsed: Duration::from_millis(500),
            rps: 2000.0,
            p50: Duration::ZERO,
            p90: Duration::ZERO,
            p99: Duration::ZERO,
            max: Duration::ZERO,
            first_error: None,
        });
        assert_eq!(grpc.events(), 1000);
        assert_eq!(grpc.how(), "CreateEvent");
        assert_eq!(grpc.took(), Duration::from_millis(500));
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

    #[test]
    fn args_parse_with_defaults() {
        let cli = crate::parse(&["activity", "--addr", "127.0.0.1:50051"]).unwrap();
        let crate::Mode::Activity(args) = cli.mode else {
            panic!("expected activity")
        };
        assert_eq!(args.addr, "127.0.0.1:50051");
        assert_eq!(args.stream_events, 100_000);
        assert_eq!(args.seed, Seed::Sql);
        assert_eq!(args.first_id, 1);
        assert_eq!(args.seed_concurrency, 64);
        assert_eq!(args.server_pid, None);
        assert_eq!((args.load_deployment, args.stream_deployment), (1, 2));
        assert_eq!(args.load.spec().concurrency, 32);
        let cli = crate::parse(&[
            "activity",
            "--addr",
            "127.0.0.1:1",
            "--server-pid",
            "42",
            "--stream-events",
            "5",
            "-c",
            "8",
            "--seed",
            "grpc",
        ])
        .unwrap();
        let crate::Mode::Activity(args) = cli.mode else {
            panic!("expected activity")
        };
        assert_eq!(
            (args.server_pid, args.stream_events, args.load.concurrency),
            (Some(42), 5, 8)
        );
        assert_eq!(args.seed, Seed::Grpc);
        assert!(crate::parse(&["activity"]).is_err());
    }
}
