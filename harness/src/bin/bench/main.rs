//! `bench`: load against one of our services, through `harness::load`, printed as tables.
//! Normally run by `cargo xtask bench <service>`, which builds it in release, provisions MySQL and
//! starts the release service first (or, for the events and the cinema, provisions Redis or
//! MongoDB and lets `bench` start the services in-process).
//!
//! - `bench accountd`: accountd's `GET /users/{id}` next to the same point select straight to
//!   MySQL, with the HTTP/MySQL rate ratio ([`accountd`]).
//! - `bench activity`: the activity server's CreateEvent rate, then one ListEvents stream of many
//!   events while the server's memory is sampled ([`activity`]).
//! - `bench events`: accepted events/s through the event producer (in-process, with in-process
//!   consumers) next to the same XADD straight to Redis, their ratio, and the end-to-end lag from
//!   accept to processed ([`events`]).
//! - `bench cinema`: the movies service's `GET /movies/{id}` and the users service's
//!   `GET /users/{id}/suggestions` (the four cinema services in-process, on the seed data) next
//!   to the same `find_one` straight to MongoDB, with the HTTP/`find_one` rate ratio ([`cinema`]).
//! - `bench fault-proxy`: a MySQL point select and a Redis `GET` straight to the server and
//!   through the harness's TCP fault proxy (no toxic), with the rate ratio, the latency it adds
//!   and its CPU per request ([`fault_proxy`]).
//!
//! ```text
//! BENCH_MYSQL_URL=mysql://test:test@127.0.0.1:13306/bench \
//!   target/release/bench accountd --http-url http://127.0.0.1:5000/users/1 -c 32 -d 10
//! BENCH_MYSQL_URL=mysql://test:test@127.0.0.1:13306/activity \
//!   target/release/bench activity --addr 127.0.0.1:50051 --server-pid 1234 --stream-events 100000
//! BENCH_REDIS_URL=redis://127.0.0.1:6379 target/release/bench events -c 32 -d 10
//! BENCH_MONGODB_URL='mongodb://127.0.0.1:27017/?directConnection=true' \
//!   target/release/bench cinema -c 32 -d 10
//! BENCH_MYSQL_URL=mysql://test:test@127.0.0.1:13306/bench BENCH_REDIS_URL=redis://127.0.0.1:6379 \
//!   target/release/bench fault-proxy -c 16 -d 5 -w 1
//! ```

mod accountd;
mod activity;
mod bulk_insert;
mod cinema;
mod events;
mod fault_proxy;
mod table;

use std::time::Duration;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use harness::load::{format_latency, LoadReport, LoadSpec};

/// Load against one of our services.
#[derive(Debug, Parser)]
#[command(name = "bench", version, about)]
struct Cli {
    /// The service measured.
    #[command(subcommand)]
    mode: Mode,
}

/// The services `bench` knows.
#[derive(Debug, Subcommand)]
enum Mode {
    /// accountd `GET /users/{id}` vs the same point select straight to MySQL.
    Accountd(accountd::AccountdArgs),
    /// activity server: CreateEvent rate, then one ListEvents stream with the server's memory.
    Activity(activity::ActivityArgs),
    /// event pipeline: POST /event through the producer vs XADD straight to Redis, and the
    /// end-to-end lag from accept to processed.
    Events(events::EventsArgs),
    /// cinema services: GET /movies/{id} and GET /users/{id}/suggestions vs the same find_one
    /// straight to MongoDB.
    Cinema(cinema::CinemaArgs),
    /// the TCP fault proxy with no toxic: a MySQL point select and a Redis GET straight and
    /// through it, with the rate ratio, the latency it adds and its CPU per request.
    FaultProxy(fault_proxy::FaultProxyArgs),
}

/// The closed-loop load shape shared by the modes.
#[derive(Debug, Args)]
struct LoadArgs {
    /// Concurrent workers (closed loop: one request in flight each).
    #[arg(short, long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    concurrency: u32,

    /// Measured seconds.
    #[arg(short, long, value_name = "SECS", default_value_t = 10)]
    duration: u64,

    /// Warm-up seconds, not measured.
    #[arg(short, long, value_name = "SECS", default_value_t = 2)]
    warmup: u64,

    /// Stop after this many measured requests.
    #[arg(long)]
    max_requests: Option<u64>,

    /// Requests per second, due at fixed intervals (open model: latency counts from when a
    /// request was due, so queueing is not hidden); the workers then bound what is in flight.
    /// Without it, each worker sends its next request when the last one is answered.
    #[arg(long, value_name = "PER_SEC", value_parser = clap::value_parser!(u32).range(1..))]
    rate: Option<u32>,
}

impl LoadArgs {
    fn spec(&self) -> LoadSpec {
        LoadSpec {
            concurrency: self.concurrency as usize,
            duration: Duration::from_secs(self.duration),
            max_requests: self.max_requests,
            warmup: Duration::from_secs(self.warmup),
            op_timeout: Duration::from_secs(10),
            rate: self.rate,
        }
    }
}

/// Column titles of a load table.
const LOAD_HEADER: [&str; 6] = ["target", "requests", "req/s", "p50", "p99", "errors"];

/// One row of a load table.
fn load_row(target: &str, report: &LoadReport) -> Vec<String> {
    vec![
        target.to_string(),
        report.requests.to_string(),
        format!("{:.0}", report.rps),
        format_latency(report.p50),
        format_latency(report.p99),
        report.errors.to_string(),
    ]
}

/// `GET url` in a closed loop over `client`; the body is read whole (a real client would), and
/// anything but a 2xx is an error.
async fn load_get(client: reqwest::Client, url: String, spec: LoadSpec) -> Result<LoadReport> {
    let report = harness::load::run(spec, move || {
        let client = client.clone();
        let url = url.clone();
        async move {
            let response = client.get(&url).send().await?;
            let status = response.status();
            response.bytes().await?;
            if !status.is_success() {
                anyhow::bail!("HTTP {status}");
            }
            Ok(())
        }
    })
    .await?;
    Ok(report)
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().mode {
        Mode::Accountd(args) => accountd::run(&args).await,
        Mode::Activity(args) => activity::run(&args).await,
        Mode::Events(args) => events::run(&args).await,
        Mode::Cinema(args) => cinema::run(&args).await,
        Mode::FaultProxy(args) => fault_proxy::run(&args).await,
    }
}

/// Parses `bench` arguments (without the program name), for tests.
#[cfg(test)]
fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("bench").chain(args.iter().copied()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// A report with fixed latencies, `requests` and `rps`.
    pub(crate) fn report(requests: u64, rps: f64) -> LoadReport {
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
            errors_by_class: Default::default(),
        }
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_mode_is_required() {
        assert!(parse(&[]).is_err());
        assert!(parse(&["--http-url", "http://h/users/1"]).is_err());
    }

    #[test]
    fn load_row_formats_rate_and_latencies() {
        assert_eq!(
            load_row("x", &report(10, 1234.4)),
            ["x", "10", "1234", "900µs", "5.00ms", "0"]
        );
    }
}
