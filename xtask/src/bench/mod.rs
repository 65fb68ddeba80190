//! `cargo xtask bench accountd|activity|events|cinema|fault-proxy`: how fast a service answers on this
//! machine, measured by the harness's `bench` binary against a release build of the service on a
//! fresh MySQL (or, for the events and the cinema, in-process services on a fresh Redis or
//! MongoDB).
//!
//! Both service benchmarks follow the same steps ([`bench`]): build the service and `bench` in
//! release, provision MySQL with a database for the service, start the release service on free
//! ports and wait until it is ready, run `bench <service> …` (which drives the load with
//! `harness::load` and prints the table), and clean everything up, printing a step summary. A
//! [`targets::Target`] says what differs: the builds, the service's command line and readiness
//! URL, and the `bench` command line.
//!
//! - accountd: `GET /users/{id}` through accountd next to the same point select straight to MySQL.
//! - activity: CreateEvent at a fixed concurrency, then many events seeded into one deployment
//!   (bulk INSERTs into the server's database) and streamed back by one ListEvents call while the
//!   server's memory is sampled (its pid is passed to `bench`).
//!
//! The events and cinema benchmarks have no service process ([`in_process`]): build `bench` in
//! release, provision Redis or MongoDB and run `bench events` (the producer and the consumers in
//! its own process, `POST /event` next to the same XADD straight to Redis, the rate ratio and the
//! end-to-end lag) or `bench cinema` (the seed data in a fresh database, the four cinema services
//! in its own process, `GET /movies/{id}` and `GET /users/{id}/suggestions` next to the same
//! `find_one` straight to MongoDB).
//!
//! [`fault_proxy`] measures the harness's TCP fault proxy instead of a service: build `bench` in
//! release, provision MySQL and Redis, and run `bench fault-proxy` (a point select and a `GET`
//! straight and through the proxy, the ratio, the latency it adds, its CPU per request).
//!
//! [`args`] holds the command line of each target.

pub mod args;
pub mod fault_proxy;
pub mod in_process;
pub mod targets;

use std::time::Instant;

use anyhow::Result;

use crate::child::Child;
use crate::paths;
use crate::runner::Runner;
use crate::stores::Database;
use crate::summary::{Status, Summary};
use args::BenchTarget;
use targets::{Running, Target};

/// The load shape of every target: closed-loop concurrency, measured time, warm-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Load {
    /// Concurrent workers (one request in flight each).
    pub concurrency: usize,
    /// Measured seconds per target.
    pub duration: u64,
    /// Warm-up seconds per target.
    pub warmup: u64,
    /// Requests per second (the open model); `None` for the closed loop.
    pub rate: Option<u32>,
}

impl Load {
    /// `--concurrency N --duration SECS --warmup SECS [--rate R]`, as `bench` takes them.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec![
            "--concurrency".to_string(),
            self.concurrency.to_string(),
            "--duration".to_string(),
            self.duration.to_string(),
            "--warmup".to_string(),
            self.warmup.to_string(),
        ];
        if let Some(rate) = self.rate {
            args.extend(["--rate".to_string(), rate.to_string()]);
        }
        args
    }
}

/// The command line's default load, for the unit tests.
#[cfg(test)]
pub const TEST_LOAD: Load = Load {
    concurrency: 32,
    duration: 10,
    warmup: 2,
    rate: None,
};

/// The accountd benchmark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountdOptions {
    /// The load on each target.
    pub load: Load,
    /// The user fetched (`GET /users/{id}`, `WHERE id = ?`).
    pub user_id: u32,
}

/// The activity benchmark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityOptions {
    /// The CreateEvent load.
    pub load: Load,
    /// Events seeded into one deployment and streamed back by one ListEvents call.
    pub stream_events: u64,
}

/// The events benchmark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventsOptions {
    /// The load of `POST /event` callers, and of direct XADDs.
    pub load: Load,
    /// Event consumers processing what the producer accepts.
    pub consumers: u32,
}

/// `cargo xtask bench <target>`.
pub async fn run(runner: &dyn Runner, target: &BenchTarget) -> Result<()> {
    match target {
        BenchTarget::Accountd(args) => bench(runner, &targets::Accountd(args.options())).await,
        BenchTarget::Activity(args) => bench(runner, &targets::Activity(args.options())).await,
        BenchTarget::Events(args) => in_process::bench_events(runner, &args.options()).await,
        BenchTarget::Cinema(args) => in_process::bench_cinema(runner, &args.load.load()).await,
        BenchTarget::FaultProxy(args) => fault_proxy::bench(runner, &args.load.load()).await,
    }
}

/// Runs one step, timing it into `summary`.
async fn timed<T>(
    summary: &mut Summary,
    name: &str,
    step: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    let started = Instant::now();
    let result = step.await;
    match &result {
        Ok(_) => summary.push(name, Status::Ok, started.elapsed(), ""),
        Err(error) => summary.push(
            name,
            Status::Failed,
            started.elapsed(),
            format!("{error:#}"),
        ),
    }
    result
}

/// Builds, provisions, starts, measures and cleans up for `target`.
pub async fn bench(runner: &dyn Runner, target: &dyn Target) -> Result<()> {
    let mut summary = Summary::default();
    let mut database: Option<Database> = None;
    let name = target.service();
    let log = paths::repo_target()
        .join("bench")
        .join(format!("{name}.log"));
    let mut child = Child::new(name, log);
    let outcome = run_target(runner, target, &mut summary, &mut database, &mut child).await;

    // Clean up whatever was started, whatever happened.
    let started = Instant::now();
    let mut cleaned = Vec::new();
    match child.stop().await {
        Ok(Some(line)) => cleaned.push(line),
        Ok(None) => {}
        Err(error) => cleaned.push(format!("{name}: {error:#}")),
    }
    if let Some(database) = database {
        cleaned.push(database.stop().await.unwrap_or_else(|e| format!("{e:#}")));
    }
    summary.push(
        "clean up",
        Status::Ok,
        started.elapsed(),
        cleaned.join("; "),
    );
    println!("\nbench summary\n{summary}");
    outcome
}

async fn run_target(
    runner: &dyn Runner,
    target: &dyn Target,
    summary: &mut Summary,
    database: &mut Option<Database>,
    child: &mut Child,
) -> Result<()> {
    timed(summary, "build (release)", async {
        for cmd in target.builds() {
            runner.run(&cmd)?;
        }
        Ok(())
    })
    .await?;
    let target_dir = paths::cargo_target_dir(runner)?;
    let db = timed(summary, "mysql", async {
        let started = database.insert(Database::start(target.db_prefix()).await?);
        Ok(started.parts.clone())
    })
    .await?;
    let name = target.service();
    let running = timed(summary, &format!("start {name}"), async {
        let ports = backing::port::pick_ports(&vec![None; target.ports()])?;
        let binary = paths::binary(&target_dir, "release", name);
        let cmd = target.service_cmd(&binary, &ports, &db);
        let spawned = child.launch(runner, cmd, &target.ready_url(&ports)).await?;
        Ok(Running {
            ports,
            pid: spawned.pid(),
            db: db.clone(),
        })
    })
    .await?;
    timed(summary, "load", async {
        let binary = paths::binary(&target_dir, "release", "bench");
        runner.run_visible(&target.bench_cmd(&binary, &running))
    })
    .await
}
