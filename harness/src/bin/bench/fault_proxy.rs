//! `bench fault-proxy`: what the harness's TCP fault proxy ([`harness::fault::proxy`]) costs with
//! no toxic, in one run: the same MySQL point select and the same Redis `GET`, by the same load
//! tool at the same concurrency for the same time, straight to the server and through a proxy.
//!
//! The proxy runs in this process on a runtime of its own (`--proxy-threads` worker threads named
//! `fault-proxy`), so its CPU is told apart from the load tool's: the run time the kernel counts
//! for those threads (`/proc/self/task/<tid>/schedstat`) over a proxied run, divided by the
//! requests of that run, is the proxy's CPU per request.
//!
//! Each store is measured twice over, straight and through the proxy: in a closed loop (every
//! worker sends its next request when the last is answered: the most each path carries, hence
//! the rate ratio), then in an open model at a fixed rate well below that ([`FIXED_RATE`], or
//! `--rate`; latency counts from when each request was due), whose p50 and p99 are what the
//! proxy adds to a request, without the queueing a closed loop at saturation mixes in.
//!
//! Both pools skip the per-acquire ping (`test_before_acquire(false)`), which would double the
//! MySQL round trips of a point select on both paths alike.
//!
//! Printed: requests, req/s, p50, p99 and errors per run; per store the proxied/direct rate
//! ratio, the p50 and p99 the proxy adds at the fixed rate, its CPU per request and the cores it
//! kept busy, next to the bar (< 100 µs added at p50, ≥ 80% of the direct rate). The
//! figures are reported, never asserted.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use anyhow::{bail, Context, Result};
use clap::Args;
use harness::{
    fault::{
        network,
        proxy::{Proxies, ProxyConfig},
    },
    load::{self, format_latency, LoadReport, LoadSpec},
};
use redis::AsyncCommands as _;
use sqlx::mysql::MySqlPoolOptions;

use crate::{load_row, table, LoadArgs, LOAD_HEADER};

/// The name of the proxy runtime's threads (a thread's `comm` holds at most 15 bytes).
const PROXY_THREAD: &str = "fault-proxy";

/// The table the point select reads, created in the given database.
const CREATE_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS bench_point (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL)";
/// Its one row.
const INSERT_ROW: &str = "INSERT IGNORE INTO bench_point (id, name) VALUES (1, 'one')";
/// The point select.
const POINT_SELECT: &str = "SELECT id, name FROM bench_point WHERE id = ?";

/// The key the Redis `GET` reads.
const REDIS_KEY: &str = "bench:fault-proxy:key";

/// The default rate of the latency runs: one request due per millisecond, the resolution of the
/// runtime's timer, so the arrivals never bunch into bursts that would queue behind each other.
const FIXED_RATE: u32 = 1_000;

/// The bar: the most the proxy may add at p50.
const ADDED_P50_BAR: Duration = Duration::from_micros(100);
/// The bar: the least share of the direct rate the proxy must keep.
const RATE_BAR: f64 = 0.80;

/// Direct vs proxied MySQL and Redis.
#[derive(Debug, Args)]
pub struct FaultProxyArgs {
    /// A MySQL database the bench may create a table in (with credentials).
    #[arg(
        long,
        env = "BENCH_MYSQL_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    mysql_url: String,

    /// A Redis the bench may write one key to.
    #[arg(
        long,
        env = "BENCH_REDIS_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    redis_url: String,

    /// Worker threads of the proxy's own runtime.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=16))]
    proxy_threads: u32,

    #[command(flatten)]
    load: LoadArgs,
}

/// One store measured straight and through the proxy.
#[derive(Debug)]
struct Pair {
    /// `MySQL` or `Redis`.
    store: &'static str,
    /// The closed loop, straight to the store.
    direct: LoadReport,
    /// The closed loop, through the proxy.
    proxied: LoadReport,
    /// CPU time of the proxy's threads over the closed proxied run.
    proxy_cpu: Duration,
    /// The fixed rate of the latency runs, per second.
    rate: u32,
    /// At that rate, straight to the store.
    direct_at_rate: LoadReport,
    /// At that rate, through the proxy.
    proxied_at_rate: LoadReport,
}

/// Runs the four targets and prints the tables.
pub async fn run(args: &FaultProxyArgs) -> Result<()> {
    let spec = args.load.spec();
    eprintln!(
        "bench: {} workers, {} s warm-up + {} s measured per target, proxy on {} thread(s)",
        spec.concurrency, args.load.warmup, args.load.duration, args.proxy_threads
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.proxy_threads as usize)
        .thread_name(PROXY_THREAD)
        .enable_all()
        .build()
        .context("starting the proxy's runtime")?;
    let proxies = {
        // Anything the registry itself spawns belongs on the proxy's runtime too.
        let _entered = runtime.enter();
        Proxies::new()
    };
    let outcome = measure(args, &spec, &runtime, &proxies).await;
    // A runtime may not be dropped inside another one; its tasks are only sockets.
    runtime.shutdown_background();
    let pairs = outcome?;

    println!();
    let rows: Vec<Vec<String>> = pairs
        .iter()
        .flat_map(|pair| {
            let name = target_name(pair.store);
            let rate = pair.rate;
            [
                load_row(&format!("{name}, direct"), &pair.direct),
                load_row(&format!("{name}, through the proxy"), &pair.proxied),
                load_row(&format!("{name} at {rate}/s, direct"), &pair.direct_at_rate),
                load_row(
                    &format!("{name} at {rate}/s, through the proxy"),
                    &pair.proxied_at_rate,
                ),
            ]
        })
        .collect();
    print!("{}", table::render(&LOAD_HEADER, &rows));
    println!();
    print!(
        "{}",
        table::render(
            &OVERHEAD_HEADER,
            &pairs.iter().map(overhead_row).collect::<Vec<_>>()
        )
    );
    println!(
        "\nbar (issue 15): the proxy adds < {} at p50 and keeps ≥ {:.0}% of the direct rate",
        format_latency(ADDED_P50_BAR),
        RATE_BAR * 100.0
    );
    for pair in &pairs {
        println!("  {}: {}", pair.store, verdict(pair));
    }
    if pairs.iter().any(|pair| {
        [
            &pair.direct,
            &pair.proxied,
            &pair.direct_at_rate,
            &pair.proxied_at_rate,
        ]
        .iter()
        .any(|report| report.errors > 0)
    }) {
        bail!("some requests failed (see the errors column)");
    }
    Ok(())
}

/// Opens the proxies on `runtime` and measures MySQL, then Redis.
async fn measure(
    args: &FaultProxyArgs,
    spec: &LoadSpec,
    runtime: &tokio::runtime::Runtime,
    proxies: &Proxies,
) -> Result<Vec<Pair>> {
    let mysql_via = open_proxy(runtime, proxies, "mysql", &args.mysql_url).await?;
    let redis_via = open_proxy(runtime, proxies, "redis", &args.redis_url).await?;

    prepare_mysql(&args.mysql_url).await?;
    let mysql = measure_store(
        "MySQL",
        args,
        spec,
        |url, spec| bench_mysql(url.to_owned(), spec),
        &args.mysql_url,
        &mysql_via,
    )
    .await?;
    prepare_redis(&args.redis_url).await?;
    let redis = measure_store(
        "Redis",
        args,
        spec,
        |url, spec| bench_redis(url.to_owned(), spec),
        &args.redis_url,
        &redis_via,
    )
    .await?;
    Ok(vec![mysql, redis])
}

/// One store: the closed loop straight and proxied, then both at a fixed rate.
async fn measure_store<B, F>(
    store: &'static str,
    args: &FaultProxyArgs,
    spec: &LoadSpec,
    bench: B,
    direct_url: &str,
    proxied_url: &str,
) -> Result<Pair>
where
    B: Fn(&str, LoadSpec) -> F,
    F: std::future::Future<Output = Result<LoadReport>>,
{
    let closed = LoadSpec {
        rate: None,
        ..spec.clone()
    };
    let direct = bench(direct_url, closed.clone()).await?;
    eprintln!("bench: {store} direct   {direct}");
    let (proxied, proxy_cpu) = with_proxy_cpu(bench(proxied_url, closed)).await?;
    eprintln!("bench: {store} proxied  {proxied}");
    let rate = args.load.rate.unwrap_or(FIXED_RATE);
    let open = LoadSpec {
        rate: Some(rate),
        ..spec.clone()
    };
    let direct_at_rate = bench(direct_url, open.clone()).await?;
    eprintln!("bench: {store} direct at {rate}/s   {direct_at_rate}");
    let proxied_at_rate = bench(proxied_url, open).await?;
    eprintln!("bench: {store} proxied at {rate}/s  {proxied_at_rate}");
    Ok(Pair {
        store,
        direct,
        proxied,
        proxy_cpu,
        rate,
        direct_at_rate,
        proxied_at_rate,
    })
}

/// Opens a proxy named `name` on `runtime` to the server of `url` (no toxic); returns `url`
/// aimed at it.
async fn open_proxy(
    runtime: &tokio::runtime::Runtime,
    proxies: &Proxies,
    name: &str,
    url: &str,
) -> Result<String> {
    let upstream = network::upstream_of(url)?;
    let config = ProxyConfig {
        name: name.to_owned(),
        listen: "127.0.0.1:0".to_owned(),
        upstream: upstream.clone(),
        enabled: true,
    };
    // Created on the proxy's runtime: its listener and connections are served there.
    let registry = proxies.clone();
    let info = runtime
        .spawn(async move { registry.create(config).await })
        .await
        .context("the proxy's runtime stopped")?
        .with_context(|| format!("opening a proxy to {upstream}"))?;
    eprintln!("bench: proxy {name}: {} → {upstream}", info.listen);
    network::through(url, &info.listen)
}

/// Runs `run`, returning its report and the CPU the proxy's threads used meanwhile.
async fn with_proxy_cpu(
    run: impl std::future::Future<Output = Result<LoadReport>>,
) -> Result<(LoadReport, Duration)> {
    let before = proxy_cpu()?;
    let report = run.await?;
    let after = proxy_cpu()?;
    Ok((report, after.saturating_sub(before)))
}

/// The run time of this process's `fault-proxy` threads, summed.
fn proxy_cpu() -> Result<Duration> {
    let mut total = 0u64;
    let tasks = std::fs::read_dir("/proc/self/task").context("listing /proc/self/task")?;
    for task in tasks {
        let dir = task.context("reading /proc/self/task")?.path();
        // A thread that ended between the listing and the read is skipped.
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        if !comm.trim_end().starts_with(PROXY_THREAD) {
            continue;
        }
        let Ok(schedstat) = std::fs::read_to_string(dir.join("schedstat")) else {
            continue;
        };
        total += run_time_nanos(&schedstat)?;
    }
    Ok(Duration::from_nanos(total))
}

/// The first field of a `schedstat` line: nanoseconds spent on a CPU.
fn run_time_nanos(schedstat: &str) -> Result<u64> {
    schedstat
        .split_whitespace()
        .next()
        .and_then(|field| field.parse().ok())
        .with_context(|| format!("unexpected schedstat {schedstat:?}"))
}

/// Creates the table of the point select and its row.
async fn prepare_mysql(url: &str) -> Result<()> {
    let pool = MySqlPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
        .context("connecting to MySQL (BENCH_MYSQL_URL)")?;
    sqlx::query(CREATE_TABLE)
        .execute(&pool)
        .await
        .context("creating the bench table")?;
    sqlx::query(INSERT_ROW)
        .execute(&pool)
        .await
        .context("inserting the bench row")?;
    pool.close().await;
    Ok(())
}

/// The point select over a pool with one connection per worker.
async fn bench_mysql(url: String, spec: LoadSpec) -> Result<LoadReport> {
    let pool = MySqlPoolOptions::new()
        .max_connections(u32::try_from(spec.concurrency).unwrap_or(u32::MAX))
        .min_connections(u32::try_from(spec.concurrency).unwrap_or(u32::MAX))
        .acquire_timeout(spec.op_timeout)
        .test_before_acquire(false)
        .connect(&url)
        .await
        .context("connecting to MySQL")?;
    let bench_pool = pool.clone();
    let report = load::run(spec, move || {
        let pool = bench_pool.clone();
        async move {
            sqlx::query(POINT_SELECT)
                .bind(1)
                .fetch_one(&pool)
                .await
                .map(|_| ())
        }
    })
    .await?;
    pool.close().await;
    Ok(report)
}

/// Sets the key the `GET` reads.
async fn prepare_redis(url: &str) -> Result<()> {
    let mut conn = redis_connection(url).await?;
    conn.set::<_, _, ()>(REDIS_KEY, "sixteen byte val")
        .await
        .context("setting the bench key")
}

/// A connection to `url`, bounded to 10 s.
async fn redis_connection(url: &str) -> Result<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(url).context("the Redis URL")?;
    tokio::time::timeout(
        Duration::from_secs(10),
        client.get_multiplexed_async_connection(),
    )
    .await
    .context("connecting to Redis timed out")?
    .context("connecting to Redis")
}

/// `GET`, one connection per worker (taken in turn), as a pool would.
async fn bench_redis(url: String, spec: LoadSpec) -> Result<LoadReport> {
    let mut connections = Vec::with_capacity(spec.concurrency);
    for _ in 0..spec.concurrency {
        connections.push(redis_connection(&url).await?);
    }
    let connections = Arc::new(connections);
    let next = Arc::new(AtomicUsize::new(0));
    let report = load::run(spec, move || {
        let index = next.fetch_add(1, Ordering::Relaxed) % connections.len();
        let mut conn = connections[index].clone();
        async move { conn.get::<_, Option<String>>(REDIS_KEY).await.map(|_| ()) }
    })
    .await?;
    Ok(report)
}

/// The row name of a store's operation.
fn target_name(store: &str) -> String {
    match store {
        "MySQL" => "MySQL point select".to_owned(),
        other => format!("{other} GET"),
    }
}

/// Column titles of the overhead table.
const OVERHEAD_HEADER: [&str; 7] = [
    "store",
    "proxied/direct rate",
    "fixed rate",
    "added p50",
    "added p99",
    "proxy CPU/request",
    "proxy cores busy",
];

/// One row of the overhead table.
fn overhead_row(pair: &Pair) -> Vec<String> {
    let per_request = cpu_per_request(pair).map_or("n/a".to_owned(), |cpu| {
        format!("{:.1}µs", cpu.as_secs_f64() * 1e6)
    });
    let cores = pair.proxy_cpu.as_secs_f64() / pair.proxied.elapsed.as_secs_f64().max(1e-9);
    vec![
        pair.store.to_owned(),
        rate_ratio(pair).map_or("n/a".to_owned(), |ratio| format!("{ratio:.2}")),
        format!("{}/s", pair.rate),
        signed_latency(pair.proxied_at_rate.p50, pair.direct_at_rate.p50),
        signed_latency(pair.proxied_at_rate.p99, pair.direct_at_rate.p99),
        per_request,
        format!("{cores:.2}"),
    ]
}

/// Proxied rate divided by direct rate.
fn rate_ratio(pair: &Pair) -> Option<f64> {
    (pair.direct.rps > 0.0).then(|| pair.proxied.rps / pair.direct.rps)
}

/// The proxy's CPU per proxied request (the warm-up's requests are not counted, its CPU is not
/// either: both are read around the whole run, so the figure is slightly high).
fn cpu_per_request(pair: &Pair) -> Option<Duration> {
    let requests = u32::try_from(pair.proxied.requests).ok()?;
    (requests > 0).then(|| pair.proxy_cpu / requests)
}

/// `later - earlier` with its sign: `+45µs`, `-3µs`.
fn signed_latency(later: Duration, earlier: Duration) -> String {
    if later >= earlier {
        format!("+{}", format_latency(later - earlier))
    } else {
        format!("-{}", format_latency(earlier - later))
    }
}

/// Whether a store's figures meet the bar, in words.
fn verdict(pair: &Pair) -> String {
    let added = pair
        .proxied_at_rate
        .p50
        .saturating_sub(pair.direct_at_rate.p50);
    let ratio = rate_ratio(pair).unwrap_or(0.0);
    let p50 = if added < ADDED_P50_BAR {
        "meets"
    } else {
        "misses"
    };
    let rate = if ratio >= RATE_BAR { "meets" } else { "misses" };
    format!(
        "added p50 {} at {}/s ({p50} the bar), {:.0}% of the direct rate ({rate} the bar)",
        format_latency(added),
        pair.rate,
        ratio * 100.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::report;

    fn pair() -> Pair {
        let mut proxied_at_rate = report(50_000, 5_000.0);
        proxied_at_rate.p50 = Duration::from_micros(950);
        Pair {
            store: "Redis",
            direct: report(100_000, 10_000.0),
            proxied: report(90_000, 9_000.0),
            proxy_cpu: Duration::from_millis(900),
            rate: 5_000,
            direct_at_rate: report(50_000, 5_000.0),
            proxied_at_rate,
        }
    }

    #[test]
    fn overhead_rows_give_ratio_added_latency_and_cpu() {
        assert_eq!(
            overhead_row(&pair()),
            ["Redis", "0.90", "5000/s", "+50µs", "+0µs", "10.0µs", "0.09"]
        );
        assert!(verdict(&pair()).contains("at 5000/s (meets the bar), 90%"));
    }

    #[test]
    fn schedstat_gives_nanoseconds_on_cpu() -> Result<()> {
        assert_eq!(run_time_nanos("323360614 39655863 60\n")?, 323_360_614);
        assert!(run_time_nanos("").is_err());
        assert!(proxy_cpu().is_ok());
        Ok(())
    }

    #[test]
    fn signed_latencies_keep_their_sign() {
        assert_eq!(
            signed_latency(Duration::from_micros(10), Duration::from_micros(13)),
            "-3µs"
        );
        assert_eq!(target_name("MySQL"), "MySQL point select");
    }
}
