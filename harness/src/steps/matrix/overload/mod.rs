//! Overload cells: requests at 4× the measured capacity, at a fixed arrival rate.
//!
//! A cell measures before it judges, on the machine it runs on:
//!
//! 1. **capacity**: the workload in a closed loop with enough workers for a few seconds, after
//!    a warm-up; the capacity is the successful requests a second (a worker refused with 429
//!    backs off 20 ms, so refusals do not eat the cores the service needs);
//! 2. **unloaded p99**: the workload at a fixed rate of a fifth of the capacity;
//! 3. **overload**: the workload at a fixed rate of four times the capacity (open model: the
//!    latency of a request counts from when it was due, so a lagging generator or a queue in
//!    the service cannot hide), while the service's resident size is sampled.
//!
//! Every answer is classified: a success, `429` (only with `Retry-After`; without it the class
//! is `429 without Retry-After`), gRPC `RESOURCE_EXHAUSTED`, another status or code, or a
//! transport error (`timeout`, `refused`, `reset`, as the matrix's process helpers name them). The then-steps hold the bounds: the excess is
//! refused with 429 + `Retry-After` (gRPC `RESOURCE_EXHAUSTED`) and nothing else fails; the p99
//! of the served requests stays under twice the unloaded p99 plus 50 ms; the resident size
//! stays under the chart's memory limit; the service still runs and is ready. When the
//! generator could not offer the rate (the machine is too small for it), the cell fails and
//! says so with numbers rather than measuring something else.
//!
//! event-consumer pulls, so nobody can be refused: its cell offers a backlog at four times its
//! measured consumption rate, straight into its stream, and checks that it drains, with every
//! event processed once, within the memory limit.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use cucumber::{then, when};
use harness::{
    load::{self, format_latency, LoadReport, LoadSpec},
    memory, wire,
};

mod backlog;

use super::super::world::{
    matrix::{grpc_class, io_class, MatrixProcess},
    MockVideoWorld,
};

/// Calibration in a closed loop: warm-up, then the measured window.
const CAPACITY_WARMUP: Duration = Duration::from_secs(1);
const CAPACITY_WINDOW: Duration = Duration::from_secs(3);
/// The light run that gives the unloaded p99, at this share of the capacity.
const UNLOADED_SHARE: f64 = 0.2;
const UNLOADED_WINDOW: Duration = Duration::from_secs(3);
/// The overload's multiple of the capacity (the 4×).
const OVERLOAD_FACTOR: f64 = 4.0;
/// Requests in flight at most from the generator during the open-model runs: far more than any
/// service admits, below the services' connection cap (1024).
const MAX_IN_FLIGHT: usize = 512;
/// Longest a single request may take before it counts as `timeout`.
const OP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a worker refused during the capacity measurement waits before its next request.
const REFUSED_BACKOFF: Duration = Duration::from_millis(20);
/// How often the resident size is read during the overload.
const RSS_INTERVAL: Duration = Duration::from_millis(20);
/// The generator must offer at least this share of the due requests, or the rate was not
/// generatable here.
const OFFERED_SHARE: f64 = 0.9;
/// The error class of a refusal with `Retry-After`.
const REFUSED: &str = "429";
/// The gRPC refusal.
const EXHAUSTED: &str = "RESOURCE_EXHAUSTED";

/// What the cell sends: one kind of request per service, chosen so that its capacity is what
/// the service is for and that four times it can be generated on this machine (see each
/// feature's description).
#[derive(Clone)]
enum Workload {
    /// An HTTP request over the lean client's keep-alive connections; `make` builds request
    /// number `n`.
    Http { pool: wire::Pool, make: MakeRequest },
    /// activity-server's `CreateEvent` over a few channels.
    Grpc {
        clients: Vec<ActivityClient>,
        deployment: i32,
        first_id: i32,
    },
}

/// Builds request number `n`.
type MakeRequest = Arc<dyn Fn(u64) -> wire::Request + Send + Sync>;

type ActivityClient =
    activity::proto::activity_events_client::ActivityEventsClient<tonic::transport::Channel>;

impl Workload {
    /// Request number `n`: `Ok` when served, else the class of its failure. With `backoff`, a
    /// refusal waits [`REFUSED_BACKOFF`] before it returns.
    async fn send(&self, n: u64, backoff: bool) -> Result<(), String> {
        let outcome = match self {
            Workload::Http { pool, make } => classify_http(pool.send(&make(n)).await),
            Workload::Grpc {
                clients,
                deployment,
                first_id,
            } => {
                // Calls spread over the channels in turn.
                let mut client = clients[(n % clients.len() as u64) as usize].clone();
                let id = first_id.saturating_add(i32::try_from(n).unwrap_or(i32::MAX));
                let request = activity::proto::EventRequest {
                    id,
                    message: format!("overload {n}"),
                    timestamp: Some(activity::proto::Timestamp {
                        send: 1,
                        receive: 0,
                    }),
                    deployment_id: *deployment,
                };
                match client.create_event(request).await {
                    Ok(_) => Ok(()),
                    Err(status) => Err(grpc_class(&status)),
                }
            }
        };
        if backoff
            && outcome
                .as_ref()
                .is_err_and(|class| class == REFUSED || class == EXHAUSTED)
        {
            tokio::time::sleep(REFUSED_BACKOFF).await;
        }
        outcome
    }
}

/// The class of an HTTP answer (see the module docs).
fn classify_http(sent: std::io::Result<wire::Answer>) -> Result<(), String> {
    let answer = sent.map_err(|error| io_class(&error))?;
    match answer.status {
        200..=299 => Ok(()),
        429 if answer.retry_after => Err(REFUSED.into()),
        429 => Err("429 without Retry-After".into()),
        other => Err(other.to_string()),
    }
}

/// Runs `workload` as `spec` says, numbering the requests from a shared counter.
async fn run(
    workload: &Workload,
    spec: LoadSpec,
    backoff: bool,
    counter: &Arc<AtomicU64>,
) -> LoadReport {
    let workload = workload.clone();
    let counter = Arc::clone(counter);
    load::run(spec, move || {
        let workload = workload.clone();
        let n = counter.fetch_add(1, Ordering::Relaxed);
        async move { workload.send(n, backoff).await }
    })
    .await
    .expect("the load generator runs")
}

/// CPU time (user + system) a process has used, from `/proc/<pid>/stat` (`self` for ours);
/// zero when it cannot be read. Ticks are taken as 100 a second (Linux's `USER_HZ`).
fn cpu_time(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command (which may contain spaces) in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command.
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// The service's adaptive concurrency limit now, from its `/metrics` (HTTP services).
async fn concurrency_limit(world: &MockVideoWorld) -> Option<String> {
    let process = world.matrix.process.as_ref()?;
    let url = format!("{}/metrics", process.admin_url);
    let text = world.http.get(&url).send().await.ok()?.text().await.ok()?;
    text.lines()
        .find(|line| line.starts_with("http_concurrency_limit"))
        .and_then(|line| line.split_whitespace().last())
        .map(str::to_owned)
}

/// One line of numbers, printed and kept in the cell's notes.
fn note(world: &mut MockVideoWorld, line: String) {
    println!("[overload] {line}");
    world.cell.note(line);
}

/// The workload named `name` against the scenario's service.
async fn workload(world: &MockVideoWorld, name: &str) -> anyhow::Result<Workload> {
    let process = matrix_process(world);
    let base = process.base_url.clone();
    let run = process.run.clone();
    let url = url::Url::parse(&base)?;
    let addr = url
        .socket_addrs(|| None)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("{base} has no address"))?;
    let host = addr.to_string();
    let make: MakeRequest = match name {
        // accountd: a user with a password: one argon2id hash, CPU-bound.
        "creates" => Arc::new(move |n| {
            let user = serde_json::json!({
                "accountid": 1,
                "name": format!("Overload {n}"),
                "email": format!("overload-{run}-{n}@example.com"),
                "role": 1,
                "password": format!("pw-{run}-{n}"),
            });
            wire::Request::post_json(&host, "/users", user.to_string().as_bytes())
        }),
        // event-producer: one event, one XADD.
        "events" => Arc::new(move |n| {
            let event = serde_json::json!({ "description": format!("overload {run} {n}") });
            wire::Request::post_json(&host, "/event", event.to_string().as_bytes())
        }),
        // movies: the list of the seed's movies, a read of the store.
        "reads" => Arc::new(move |_| wire::Request::get(&host, "/movies")),
        // users: the suggestions of the seed's user, over its links to movies, showtimes and
        // bookings.
        "suggestions" => {
            let path = format!("/users/{}/suggestions", cinema::seed::USER_MANUEL);
            Arc::new(move |_| wire::Request::get(&host, &path))
        }
        // activity-server: CreateEvent with fresh ids.
        "calls" => {
            let url = base.clone();
            let mut clients = Vec::new();
            for _ in 0..GRPC_CHANNELS {
                let channel = tonic::transport::Channel::from_shared(url.clone())?
                    .connect()
                    .await?;
                clients.push(ActivityClient::new(channel));
            }
            return Ok(Workload::Grpc {
                clients,
                deployment: process.deployment,
                first_id: FIRST_EVENT_ID,
            });
        }
        other => anyhow::bail!(
            "no overload workload {other:?} (creates, events, reads, suggestions, calls)"
        ),
    };
    Ok(Workload::Http {
        pool: wire::Pool::new(addr),
        make,
    })
}

/// gRPC channels (HTTP/2 connections) the generator spreads its calls over: tonic queues the
/// calls over 64 per connection before the server's own limit sees them.
const GRPC_CHANNELS: usize = 8;

/// activity-server's first event id: above those of the other steps of a scenario.
const FIRST_EVENT_ID: i32 = 1_000_000;

/// The scenario's service, started by "Given <service> runs as a process of its own".
fn matrix_process(world: &MockVideoWorld) -> &MatrixProcess {
    world
        .matrix
        .process
        .as_ref()
        .expect("the service does not run as a process of its own: add the Given step")
}

#[when(expr = "its capacity for {word} is measured with {int} workers")]
async fn measure_capacity(
    world: &mut MockVideoWorld,
    name: String,
    workers: usize,
) -> anyhow::Result<()> {
    world.overload.workload = name.clone();
    let workload = workload(world, &name).await?;
    let spec = LoadSpec {
        warmup: CAPACITY_WARMUP,
        op_timeout: OP_TIMEOUT,
        max_requests: Some(1_000_000),
        ..LoadSpec::new(workers, CAPACITY_WINDOW)
    };
    let report = run(&workload, spec, true, &world.overload.next).await;
    let capacity = report.successes() as f64 / report.elapsed.as_secs_f64();
    anyhow::ensure!(
        capacity >= 1.0,
        "no capacity measured for {name}: {report}; errors {:?}",
        report.errors_by_class
    );
    world.overload.capacity = capacity;
    note(
        world,
        format!(
            "capacity {capacity:.0}/s ({name}, closed loop of {workers}; p50 {}, p99 {}; refused {})",
            format_latency(report.p50),
            format_latency(report.p99),
            report.errors
        ),
    );
    Ok(())
}

/// The open-model spec for `rate` a second over `window`, bounded in count.
fn open_spec(rate: u32, window: Duration) -> LoadSpec {
    let due = (f64::from(rate) * window.as_secs_f64()).ceil() as u64;
    LoadSpec {
        rate: Some(rate),
        op_timeout: OP_TIMEOUT,
        max_requests: Some(due + 1),
        ..LoadSpec::new(MAX_IN_FLIGHT, window)
    }
}

/// The service's concurrency limit before and after a run, as `/metrics` said (`?` when it
/// did not: activity-server's gRPC limit is not published there).
struct LimitSpan {
    before: Option<String>,
    after: Option<String>,
}

impl std::fmt::Display for LimitSpan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "concurrency limit {} before, {} after",
            self.before.as_deref().unwrap_or("?"),
            self.after.as_deref().unwrap_or("?")
        )
    }
}

/// `workload` at `rate` a second over `window` (the open model), with the service's
/// concurrency limit read before and after.
async fn open_run(
    world: &MockVideoWorld,
    workload: &Workload,
    rate: u32,
    window: Duration,
) -> (LoadReport, LimitSpan) {
    let before = concurrency_limit(world).await;
    let report = run(
        workload,
        open_spec(rate, window),
        false,
        &world.overload.next,
    )
    .await;
    let after = concurrency_limit(world).await;
    (report, LimitSpan { before, after })
}

/// Fails when the generator offered less than [`OFFERED_SHARE`] of what was due.
fn ensure_offered(report: &LoadReport, rate: u32, window: Duration) -> anyhow::Result<()> {
    let due = f64::from(rate) * window.as_secs_f64();
    anyhow::ensure!(
        report.requests as f64 >= OFFERED_SHARE * due,
        "the generator offered only {} of {due:.0} requests due at {rate}/s over {window:?} \
         ({:.0}/s): this machine cannot generate the rate next to the service",
        report.requests,
        report.requests as f64 / window.as_secs_f64()
    );
    Ok(())
}

#[when("its unloaded p99 is measured at a fifth of its capacity")]
async fn measure_unloaded(world: &mut MockVideoWorld) -> anyhow::Result<()> {
    let rate = ((world.overload.capacity * UNLOADED_SHARE).round() as u32).max(1);
    let workload = workload(world, &world.overload.workload.clone()).await?;
    let (report, limits) = open_run(world, &workload, rate, UNLOADED_WINDOW).await;
    ensure_offered(&report, rate, UNLOADED_WINDOW)?;
    anyhow::ensure!(
        report.errors == 0,
        "requests failed at a fifth of the capacity ({rate}/s): {:?} (p50 {}, p99 {}, max {}; \
         {limits})",
        report.errors_by_class,
        format_latency(report.p50),
        format_latency(report.p99),
        format_latency(report.max),
    );
    world.overload.unloaded_p99 = Some(report.p99);
    note(
        world,
        format!(
            "unloaded p99 {} at {rate}/s (p50 {})",
            format_latency(report.p99),
            format_latency(report.p50)
        ),
    );
    Ok(())
}

#[when(expr = "{word} arrive at four times its capacity for {int} seconds")]
async fn overload(world: &mut MockVideoWorld, name: String, seconds: u64) -> anyhow::Result<()> {
    anyhow::ensure!(
        name == world.overload.workload,
        "the capacity was measured for {}",
        world.overload.workload
    );
    let window = Duration::from_secs(seconds);
    let rate = (world.overload.capacity * OVERLOAD_FACTOR).round() as u32;
    let workload = workload(world, &name).await?;
    let process = matrix_process(world);
    let limit = process.memory_limit_kib;
    let pid = process
        .child
        .pid()
        .ok_or_else(|| anyhow::anyhow!("{} is not running", process.service))?;
    memory::reset_peak(pid);
    let sampler = memory::Sampler::start(pid, RSS_INTERVAL);
    let begin = Instant::now();
    let (service_cpu, own_cpu) = (cpu_time(&pid.to_string()), cpu_time("self"));
    let (report, limits) = open_run(world, &workload, rate, window).await;
    let took = begin.elapsed();
    let service_cpu = cpu_time(&pid.to_string()).saturating_sub(service_cpu);
    let own_cpu = cpu_time("self").saturating_sub(own_cpu);
    let samples = sampler.finish();
    // The kernel's peak where it could be reset, else the sampler's.
    let peak =
        memory::read(pid).map_or(samples.max_rss_kib, |m| m.hwm_kib.max(samples.max_rss_kib));
    world.overload.rate = rate;
    world.overload.rss_peak_kib = peak;
    let served = report.successes() as f64 / report.elapsed.as_secs_f64();
    world.cell.p99 = Some(report.p99);
    world.cell.errors_from(&report.errors_by_class);
    note(
        world,
        format!(
            "4× = {rate}/s for {window:?} ({:.0}/s offered, in {:.1} s): served {served:.0}/s, p50 {}, p99 {}, max {}; errors {:?}",
            report.requests as f64 / report.elapsed.as_secs_f64(),
            took.as_secs_f64(),
            format_latency(report.p50),
            format_latency(report.p99),
            format_latency(report.max),
            report.errors_by_class
        ),
    );
    note(
        world,
        format!("RSS peak {} of {}", memory::mib(peak), memory::mib(limit)),
    );
    note(
        world,
        format!(
            "CPU during the overload: service {:.1} s, generator (and in-process companions) {:.1} s, of {:.1} s × {} cores; {limits}",
            service_cpu.as_secs_f64(),
            own_cpu.as_secs_f64(),
            took.as_secs_f64(),
            std::thread::available_parallelism().map_or(1, usize::from),
        ),
    );
    let offered = ensure_offered(&report, rate, window);
    world.overload.report = Some(report);
    offered
}

/// The overload's report, or a step failure saying it did not run.
fn report(world: &MockVideoWorld) -> &LoadReport {
    world
        .overload
        .report
        .as_ref()
        .expect("no overload ran in this scenario")
}

#[then(expr = "the excess was refused with {word} and nothing else failed")]
fn excess_refused(world: &mut MockVideoWorld, class: String) {
    let report = report(world);
    let others: BTreeMap<&String, &u64> = report
        .errors_by_class
        .iter()
        .filter(|(name, _)| **name != class)
        .collect();
    assert!(
        others.is_empty(),
        "failures other than {class}: {others:?} (first error: {:?})",
        report.first_error
    );
    let refused = report.errors_by_class.get(&class).copied().unwrap_or(0);
    assert!(
        refused > 0,
        "nothing was refused at 4× the capacity ({} served of {}): the capacity was mismeasured",
        report.successes(),
        report.requests
    );
}

#[then("the p99 of the served requests stayed under twice the unloaded p99 plus 50 ms")]
fn p99_bounded(world: &mut MockVideoWorld) {
    let unloaded = world
        .overload
        .unloaded_p99
        .expect("the unloaded p99 was measured");
    let bound = unloaded * 2 + Duration::from_millis(50);
    let p99 = report(world).p99;
    assert!(
        report(world).successes() > 0,
        "nothing was served during the overload"
    );
    assert!(
        p99 < bound,
        "served p99 {} during the overload, over the bound {} (2 × {} + 50 ms)",
        format_latency(p99),
        format_latency(bound),
        format_latency(unloaded)
    );
}

#[then("its resident size stayed under its chart's memory limit")]
fn rss_bounded(world: &mut MockVideoWorld) {
    let limit = matrix_process(world).memory_limit_kib;
    let peak = world.overload.rss_peak_kib;
    assert!(peak > 0, "no resident size was read");
    assert!(
        peak < limit,
        "RSS peaked at {} (limit {})",
        memory::mib(peak),
        memory::mib(limit)
    );
}

#[then("it still runs and is ready")]
async fn still_ready(world: &mut MockVideoWorld) {
    let process = world
        .matrix
        .process
        .as_mut()
        .expect("the service runs as a process of its own");
    let child = &mut process.child;
    assert!(
        child.is_running(),
        "the service exited; log:\n{}",
        child.log_tail(30)
    );
    let url = process.ready_url.clone();
    let status = world
        .http
        .get(&url)
        .send()
        .await
        .map(|answer| answer.status());
    assert!(
        status.as_ref().is_ok_and(reqwest::StatusCode::is_success),
        "{url} answered {status:?} after the overload"
    );
}
