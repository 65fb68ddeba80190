//! `bench accountd`: accountd's `GET /users/{id}` next to the same point select straight to
//! MySQL, one after the other at the same concurrency and duration, with the HTTP/MySQL rate ratio.

use anyhow::{bail, Context, Result};
use clap::Args;
use harness::load::{self, LoadReport, LoadSpec};
use sqlx::mysql::MySqlPoolOptions;

use crate::{load_row, table, LoadArgs, LOAD_HEADER};

/// The point select accountd runs for `GET /users/{id}`.
const POINT_SELECT: &str = "SELECT accountID, id, name, email, role FROM user WHERE id = ?";

/// HTTP vs raw MySQL throughput for one user lookup.
#[derive(Debug, Args)]
pub struct AccountdArgs {
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

    #[command(flatten)]
    load: LoadArgs,
}

/// Runs both targets and prints the table.
pub async fn run(args: &AccountdArgs) -> Result<()> {
    let spec = args.load.spec();
    eprintln!(
        "bench: {} workers, {} s warm-up + {} s measured per target",
        spec.concurrency, args.load.warmup, args.load.duration
    );

    let http = bench_http(args, spec.clone()).await?;
    eprintln!("bench: HTTP  {http}");
    let mysql = bench_mysql(args, spec).await?;
    eprintln!("bench: MySQL {mysql}");

    println!();
    print!(
        "{}",
        table::render(
            &LOAD_HEADER,
            &[
                load_row(&format!("GET {}", path_of(&args.http_url)), &http),
                load_row("MySQL point select", &mysql),
            ]
        )
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
async fn bench_http(args: &AccountdArgs, spec: LoadSpec) -> Result<LoadReport> {
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
    crate::load_get(client, url, spec).await
}

/// The point select in a closed loop over a pool with one connection per worker.
async fn bench_mysql(args: &AccountdArgs, spec: LoadSpec) -> Result<LoadReport> {
    let pool = MySqlPoolOptions::new()
        .max_connections(u32::try_from(spec.concurrency).unwrap_or(u32::MAX))
        .acquire_timeout(spec.op_timeout)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::report;
    use std::time::Duration;

    #[test]
    fn table_has_one_row_per_target() {
        let http = report(41_000, 4_100.0);
        let mysql = report(123_000, 12_300.0);
        let text = table::render(
            &LOAD_HEADER,
            &[
                load_row("GET /users/1", &http),
                load_row("MySQL point select", &mysql),
            ],
        );
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
        let cli = crate::parse(&[
            "accountd",
            "--http-url",
            "http://h/users/1",
            "--mysql-url",
            "mysql://u:p@h/db",
        ])
        .unwrap();
        let crate::Mode::Accountd(args) = cli.mode else {
            panic!("expected accountd")
        };
        let spec = args.load.spec();
        assert_eq!(spec.concurrency, 32);
        assert_eq!(spec.duration, Duration::from_secs(10));
        assert_eq!(spec.warmup, Duration::from_secs(2));
        assert_eq!(spec.max_requests, None);
        assert_eq!(args.user_id, 1);
    }
}
