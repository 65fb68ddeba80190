//! `bench`: drives accountd's `GET /users/{id}` and the same point select straight to MySQL with
//! `harness::load`, one after the other, at the same concurrency and duration, and prints a table
//! with the HTTP/MySQL rate ratio. Normally run by `cargo xtask bench accountd`, which starts
//! MySQL and a release accountd first.
//!
//! ```text
//! BENCH_MYSQL_URL=mysql://test:test@127.0.0.1:13306/bench \
//!   target/release/bench --http-url http://127.0.0.1:5000/users/1 --concurrency 32 --duration 10
//! ```

use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use harness::load::{self, format_latency, LoadReport, LoadSpec};
use sqlx::mysql::MySqlPoolOptions;

/// The point select accountd runs for `GET /users/{id}`.
const POINT_SELECT: &str = "SELECT accountID, id, name, email, role FROM user WHERE id = ?";

/// HTTP vs raw MySQL throughput for one user lookup.
#[derive(Debug, Parser)]
#[command(name = "bench", version, about)]
struct Args {
    /// URL fetched by every HTTP request.
    #[arg(long, value_name = "URL")]
    http_url: String,

    /// MySQL database holding the `user` table (with credentials).
    #[arg(
        long,
        env = "BENCH_MYSQL_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    mysql_url: String,

    /// The `id` bound to the point select.
    #[arg(long, default_value_t = 1)]
    user_id: u32,

    /// Concurrent workers per target.
    #[arg(short, long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    concurrency: u32,

    /// Measured seconds per target.
    #[arg(short, long, value_name = "SECS", default_value_t = 10)]
    duration: u64,

    /// Warm-up seconds per target.
    #[arg(short, long, value_name = "SECS", default_value_t = 2)]
    warmup: u64,

    /// Stop each target after this many measured requests.
    #[arg(long)]
    max_requests: Option<u64>,
}

impl Args {
    fn spec(&self) -> LoadSpec {
        LoadSpec {
            concurrency: self.concurrency as usize,
            duration: Duration::from_secs(self.duration),
            max_requests: self.max_requests,
            warmup: Duration::from_secs(self.warmup),
            op_timeout: Duration::from_secs(10),
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let spec = args.spec();
    eprintln!(
        "bench: {} workers, {} s warm-up + {} s measured per target",
        spec.concurrency, args.warmup, args.duration
    );

    let http = bench_http(&args, spec.clone()).await?;
    eprintln!("bench: HTTP  {http}");
    let mysql = bench_mysql(&args, spec).await?;
    eprintln!("bench: MySQL {mysql}");

    println!();
    print!(
        "{}",
        table(&[
            (format!("GET {}", path_of(&args.http_url)), &http),
            ("MySQL point select".to_string(), &mysql),
        ])
    );
    match ratio(&http, &mysql) {
        Some(ratio) => println!(
            "\nHTTP/MySQL rate: {ratio:.2} (over HTTP, {:.0}% of the lookups MySQL alone answers)",
            ratio * 100.0
        ),
        None => println!("\nHTTP/MySQL rate: n/a (MySQL completed no request)"),
    }
    if http.errors > 0 || mysql.errors > 0 {
        bail!("some requests failed (see the errors column)");
    }
    Ok(())
}

/// `GET http_url` in a closed loop; anything but a 2xx is an error.
async fn bench_http(args: &Args, spec: LoadSpec) -> Result<LoadReport> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(spec.concurrency)
        .timeout(spec.op_timeout)
        .build()
        .context("building the HTTP client")?;
    let url = args.http_url.clone();
    // Fail early and clearly if the target is wrong.
    let probe = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    if !probe.status().is_success() {
        bail!("GET {url} answered {} before the run", probe.status());
    }
    eprintln!("bench: HTTP GET {url} …");
    let report = load::run(spec, move || {
        let client = client.clone();
        let url = url.clone();
        async move {
            let response = client.get(&url).send().await?;
            let status = response.status();
            // Read the body: a real client would.
            response.bytes().await?;
            if !status.is_success() {
                bail!("HTTP {status}");
            }
            Ok(())
        }
    })
    .await?;
    Ok(report)
}

/// The point select in a closed loop over a pool with one connection per worker.
async fn bench_mysql(args: &Args, spec: LoadSpec) -> Result<LoadReport> {
    let pool = MySqlPoolOptions::new()
        .max_connections(u32::try_from(spec.concurrency).unwrap_or(u32::MAX))
        .acquire_timeout(Duration::from_secs(10))
        .connect(&args.mysql_url)
        .await
        .context("connecting to MySQL (BENCH_MYSQL_URL)")?;
    let user_id = args.user_id;
    let found = sqlx::query(POINT_SELECT)
        .bind(user_id)
        .fetch_optional(&pool)
        .await
        .context("running the point select once")?;
    if found.is_none() {
        bail!("no user with id {user_id} in the database; load the test data first");
    }
    eprintln!("bench: MySQL {POINT_SELECT} …");
    let bench_pool = pool.clone();
    let report = load::run(spec, move || {
        let pool = bench_pool.clone();
        async move {
            sqlx::query(POINT_SELECT)
                .bind(user_id)
                .fetch_one(&pool)
                .await
                .map(|_| ())
        }
    })
    .await?;
    pool.close().await;
    Ok(report)
}

/// HTTP rate divided by MySQL rate.
fn ratio(http: &LoadReport, mysql: &LoadReport) -> Option<f64> {
    (mysql.rps > 0.0).then(|| http.rps / mysql.rps)
}

/// The path of a URL, for the table (`/users/1`).
fn path_of(url: &str) -> &str {
    url.split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or(url)
}

/// The results as a text table.
fn table(rows: &[(String, &LoadReport)]) -> String {
    let header = ["target", "requests", "req/s", "p50", "p99", "errors"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|(target, report)| {
            [
                target.clone(),
                report.requests.to_string(),
                format!("{:.0}", report.rps),
                format_latency(report.p50),
                format_latency(report.p99),
                report.errors.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i == 0 {
                out.push_str(&format!("{cell:<width$}"));
            } else {
                out.push_str(&format!("  {cell:>width$}"));
            }
        }
        out.push('\n');
        out
    };
    let mut out = line(&header.map(String::from));
    out.push_str(&line(&widths.map(|w| "-".repeat(w))));
    for row in &cells {
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn report(requests: u64, rps: f64) -> LoadReport {
        LoadReport {
            requests,
            errors: 0,
            elapsed: Duration::from_secs(10),
            rps,
            p50: Duration::from_micros(900),
            p90: Duration::from_millis(2),
            p99: Duration::from_millis(5),
            max: Duration::from_millis(9),
            first_error: None,
        }
    }

    #[test]
    fn table_has_one_row_per_target() {
        let http = report(41_000, 4_100.0);
        let mysql = report(123_000, 12_300.0);
        let text = table(&[
            ("GET /users/1".into(), &http),
            ("MySQL point select".into(), &mysql),
        ]);
        assert_eq!(
            text,
            "\
target              requests  req/s    p50     p99  errors
------------------  --------  -----  -----  ------  ------
GET /users/1           41000   4100  900µs  5.00ms       0
MySQL point select    123000  12300  900µs  5.00ms       0
"
        );
        let ratio = ratio(&http, &mysql).unwrap();
        assert!((ratio - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn ratio_needs_a_mysql_rate() {
        assert_eq!(ratio(&report(1, 1.0), &report(0, 0.0)), None);
    }

    #[test]
    fn path_of_strips_scheme_and_host() {
        assert_eq!(path_of("http://127.0.0.1:5000/users/1"), "/users/1");
        assert_eq!(path_of("nonsense"), "nonsense");
    }

    #[test]
    fn args_parse_with_defaults() {
        let args = Args::try_parse_from([
            "bench",
            "--http-url",
            "http://h/users/1",
            "--mysql-url",
            "mysql://u:p@h/db",
        ])
        .unwrap();
        let spec = args.spec();
        assert_eq!(spec.concurrency, 32);
        assert_eq!(spec.duration, Duration::from_secs(10));
        assert_eq!(spec.warmup, Duration::from_secs(2));
        assert_eq!(spec.max_requests, None);
    }
}
