//! `cargo xtask bench accountd|activity|events|cinema`: how fast a service answers on this
//! machine, measured by the harness's `bench` binary against a release build of the service on a
//! fresh MySQL (or, for the events and the cinema, in-process services on a fresh Redis or
//! MongoDB).
//!
//! Both benchmarks follow the same steps ([`bench`]): build the service and `bench` in release,
//! provision MySQL with a database for the service, start the release service on free ports and
//! wait until it is ready, run `bench <service> …` (which drives the load with `harness::load` and
//! prints the table), and clean everything up, printing a step summary. A [`Target`] says what
//! differs: the builds, the service's command line and readiness URL, and the `bench` command line.
//!
//! - accountd: `GET /users/{id}` through accountd next to the same point select straight to MySQL.
//! - activity: CreateEvent at a fixed concurrency, then many events seeded into one deployment
//!   (bulk INSERTs into the server's database) and streamed back by one ListEvents call while the
//!   server's memory is sampled (its pid is passed to `bench`).
//!
//! The events benchmark has no service process: [`bench_events`] builds `bench` in release,
//! provisions Redis and runs `bench events`, which starts the producer and the consumers in its
//! own process, drives `POST /event` with the simulator engine next to the same XADD straight to
//! Redis, and reports the rate ratio and the end-to-end lag.
//!
//! The cinema benchmark works the same way ([`bench_cinema`]): build `bench` in release,
//! provision MongoDB and run `bench cinema`, which loads the seed data into a fresh database,
//! starts the four cinema services in its own process and measures `GET /movies/{id}` and
//! `GET /users/{id}/suggestions` next to the same `find_one` straight to MongoDB.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use backing::mongo::Mongo;
use backing::mysql::DbParts;
use backing::redis::Redis;

use crate::backing::{Database, HarnessServer, UpServer};
use crate::cmd::Cmd;
use crate::paths;
use crate::runner::{Runner, Spawned};
use crate::service;
use crate::summary::{Status, Summary};

/// Load shape for the accountd benchmark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BenchOptions {
    /// Concurrent workers per target.
    pub concurrency: usize,
    /// Measured seconds per target.
    pub duration: u64,
    /// Warm-up seconds per target.
    pub warmup: u64,
    /// The user fetched (`GET /users/{id}`, `WHERE id = ?`).
    pub user_id: u32,
}

/// Load shape for the activity benchmark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityOptions {
    /// Concurrent CreateEvent workers.
    pub concurrency: usize,
    /// Measured seconds of CreateEvent load.
    pub duration: u64,
    /// Warm-up seconds before it.
    pub warmup: u64,
    /// Events seeded into one deployment and streamed back by one ListEvents call.
    pub stream_events: u64,
}

/// Load shape for the events benchmark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventsOptions {
    /// Concurrent `POST /event` callers, and concurrent direct XADDs.
    pub concurrency: usize,
    /// Measured seconds per target.
    pub duration: u64,
    /// Warm-up seconds per target.
    pub warmup: u64,
    /// Event consumers processing what the producer accepts.
    pub consumers: u32,
}

/// Load shape for the cinema benchmark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CinemaOptions {
    /// Concurrent workers per target.
    pub concurrency: usize,
    /// Measured seconds per target.
    pub duration: u64,
    /// Warm-up seconds per target.
    pub warmup: u64,
}

/// The release build of `bench` (the events and cinema services run inside it).
pub fn events_build() -> Cmd {
    Cmd::cargo(["build", "--release", "-p", "harness", "--bin", "bench"]).dir(paths::repo_root())
}

/// The `bench events` command line against the Redis at `redis_url` (passed secretly).
pub fn events_bench_cmd(bench: &Path, options: &EventsOptions, redis_url: &str) -> Cmd {
    Cmd::new(bench.display().to_string())
        .args([
            "events".to_string(),
            "--consumers".to_string(),
            options.consumers.to_string(),
        ])
        .args(load_args(
            options.concurrency,
            options.duration,
            options.warmup,
        ))
        .env_secret("BENCH_REDIS_URL", redis_url)
}

/// The `bench cinema` command line against the MongoDB at `mongodb_url` (passed secretly).
pub fn cinema_bench_cmd(bench: &Path, options: &CinemaOptions, mongodb_url: &str) -> Cmd {
    Cmd::new(bench.display().to_string())
        .arg("cinema")
        .args(load_args(
            options.concurrency,
            options.duration,
            options.warmup,
        ))
        .env_secret("BENCH_MONGODB_URL", mongodb_url)
}

/// The service a benchmark started, as `bench` needs to know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Running {
    /// The ports it listens on, in the order [`Target::ports`] asked for them.
    pub ports: Vec<u16>,
    /// Its process id (for memory sampling).
    pub pid: u32,
    /// Its database.
    pub db: DbParts,
}

/// What one benchmark measures and how its service runs.
pub trait Target {
    /// The service binary, e.g. `accountd`; also names its log (`target/bench/<name>.log`).
    fn service(&self) -> &'static str;

    /// The release builds (the service and the `bench` binary).
    fn builds(&self) -> Vec<Cmd>;

    /// Prefix of the service's database.
    fn db_prefix(&self) -> &'static str;

    /// How many free ports the service needs.
    fn ports(&self) -> usize;

    /// The service's command line.
    fn service_cmd(&self, binary: &Path, ports: &[u16], db: &DbParts) -> Cmd;

    /// The URL answering 200 once the service is ready.
    fn ready_url(&self, ports: &[u16]) -> String;

    /// The `bench` command line against the running service.
    fn bench_cmd(&self, bench: &Path, running: &Running) -> Cmd;
}

/// `bench accountd`: HTTP vs raw MySQL.
pub struct Accountd(pub BenchOptions);

impl Target for Accountd {
    fn service(&self) -> &'static str {
        "accountd"
    }

    fn builds(&self) -> Vec<Cmd> {
        let root = paths::repo_root();
        vec![
            Cmd::cargo(["build", "--release", "-p", "accountd", "--bin", "accountd"]).dir(&root),
            Cmd::cargo(["build", "--release", "-p", "harness", "--bin", "bench"]).dir(&root),
        ]
    }

    fn db_prefix(&self) -> &'static str {
        "bench"
    }

    fn ports(&self) -> usize {
        1
    }

    fn service_cmd(&self, binary: &Path, ports: &[u16], db: &DbParts) -> Cmd {
        service::accountd_cmd(binary, ports[0], db)
    }

    fn ready_url(&self, ports: &[u16]) -> String {
        format!("http://127.0.0.1:{}/readyz", ports[0])
    }

    fn bench_cmd(&self, bench: &Path, running: &Running) -> Cmd {
        let options = &self.0;
        Cmd::new(bench.display().to_string())
            .args([
                "accountd".to_string(),
                "--http-url".to_string(),
                format!(
                    "http://127.0.0.1:{}/users/{}",
                    running.ports[0], options.user_id
                ),
                "--user-id".to_string(),
                options.user_id.to_string(),
            ])
            .args(load_args(
                options.concurrency,
                options.duration,
                options.warmup,
            ))
            .env_secret("BENCH_MYSQL_URL", running.db.url())
    }
}

/// `bench activity`: CreateEvent rate, then streaming.
pub struct Activity(pub ActivityOptions);

impl Target for Activity {
    fn service(&self) -> &'static str {
        "activity-server"
    }

    fn builds(&self) -> Vec<Cmd> {
        // One invocation: the server and `bench` share most dependencies, and one feature
        // resolution keeps cargo from compiling them twice.
        vec![Cmd::cargo([
            "build",
            "--release",
            "-p",
            "activity",
            "-p",
            "harness",
            "--bin",
            "activity-server",
            "--bin",
            "bench",
        ])
        .dir(paths::repo_root())]
    }

    fn db_prefix(&self) -> &'static str {
        "bench_activity"
    }

    fn ports(&self) -> usize {
        2
    }

    fn service_cmd(&self, binary: &Path, ports: &[u16], db: &DbParts) -> Cmd {
        service::activity_cmd(binary, ports[0], ports[1], db)
    }

    fn ready_url(&self, ports: &[u16]) -> String {
        format!("http://127.0.0.1:{}/readyz", ports[1])
    }

    fn bench_cmd(&self, bench: &Path, running: &Running) -> Cmd {
        let options = &self.0;
        Cmd::new(bench.display().to_string())
            .args([
                "activity".to_string(),
                "--addr".to_string(),
                format!("127.0.0.1:{}", running.ports[0]),
                "--server-pid".to_string(),
                running.pid.to_string(),
                "--stream-events".to_string(),
                options.stream_events.to_string(),
            ])
            .args(load_args(
                options.concurrency,
                options.duration,
                options.warmup,
            ))
            .env_secret("BENCH_MYSQL_URL", running.db.url())
    }
}

/// `--concurrency N --duration SECS --warmup SECS`.
fn load_args(concurrency: usize, duration: u64, warmup: u64) -> [String; 6] {
    [
        "--concurrency".to_string(),
        concurrency.to_string(),
        "--duration".to_string(),
        duration.to_string(),
        "--warmup".to_string(),
        warmup.to_string(),
    ]
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

/// `cargo xtask bench accountd`.
pub async fn bench_accountd(runner: &dyn Runner, options: &BenchOptions) -> Result<()> {
    bench(runner, &Accountd(options.clone())).await
}

/// `cargo xtask bench activity`.
pub async fn bench_activity(runner: &dyn Runner, options: &ActivityOptions) -> Result<()> {
    bench(runner, &Activity(options.clone())).await
}

/// `cargo xtask bench events`: build `bench`, provision Redis, run `bench events`, clean up.
pub async fn bench_events(runner: &dyn Runner, options: &EventsOptions) -> Result<()> {
    let bench_cmd = |target_dir: &Path, url: &str| {
        events_bench_cmd(&paths::binary(target_dir, "release", "bench"), options, url)
    };
    bench_in_process::<Redis>(runner, "redis", bench_cmd).await
}

/// `cargo xtask bench cinema`: build `bench`, provision MongoDB, run `bench cinema`, clean up.
pub async fn bench_cinema(runner: &dyn Runner, options: &CinemaOptions) -> Result<()> {
    let bench_cmd = |target_dir: &Path, url: &str| {
        cinema_bench_cmd(&paths::binary(target_dir, "release", "bench"), options, url)
    };
    bench_in_process::<Mongo>(runner, "mongodb", bench_cmd).await
}

/// A benchmark whose services run inside `bench`: build `bench` in release, provision the
/// server (step `server_step`), run `bench_cmd(target_dir, url)`, stop the server, print the
/// summary.
async fn bench_in_process<S: HarnessServer>(
    runner: &dyn Runner,
    server_step: &str,
    bench_cmd: impl Fn(&Path, &str) -> Cmd,
) -> Result<()> {
    let mut summary = Summary::default();
    let mut server: Option<UpServer<S>> = None;
    let outcome = run_in_process(runner, server_step, &bench_cmd, &mut summary, &mut server).await;
    let started = Instant::now();
    let cleaned = match server {
        Some(server) => server.stop().await.unwrap_or_else(|e| format!("{e:#}")),
        None => String::new(),
    };
    summary.push("clean up", Status::Ok, started.elapsed(), cleaned);
    println!("\nbench summary\n{summary}");
    outcome
}

async fn run_in_process<S: HarnessServer>(
    runner: &dyn Runner,
    server_step: &str,
    bench_cmd: &dyn Fn(&Path, &str) -> Cmd,
    summary: &mut Summary,
    server: &mut Option<UpServer<S>>,
) -> Result<()> {
    timed(summary, "build (release)", async {
        runner.run(&events_build())
    })
    .await?;
    let target_dir = paths::cargo_target_dir(runner)?;
    let url = timed(summary, server_step, async {
        let started = server.insert(UpServer::<S>::start().await?);
        Ok(started.url().to_string())
    })
    .await?;
    timed(summary, "load", async {
        runner.run_visible(&bench_cmd(&target_dir, &url))
    })
    .await
}

/// Builds, provisions, starts, measures and cleans up for `target`.
pub async fn bench(runner: &dyn Runner, target: &dyn Target) -> Result<()> {
    let mut summary = Summary::default();
    let mut database: Option<Database> = None;
    let mut process: Option<Spawned> = None;
    let outcome = run(runner, target, &mut summary, &mut database, &mut process).await;

    // Clean up whatever was started, whatever happened.
    let started = Instant::now();
    let mut cleaned = Vec::new();
    match service::stop(runner, target.service(), &mut process) {
        Ok(Some(line)) => cleaned.push(line),
        Ok(None) => {}
        Err(error) => cleaned.push(format!("{}: {error:#}", target.service())),
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

async fn run(
    runner: &dyn Runner,
    target: &dyn Target,
    summary: &mut Summary,
    database: &mut Option<Database>,
    process: &mut Option<Spawned>,
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
        let log = paths::repo_target()
            .join("bench")
            .join(format!("{name}.log"));
        let binary = paths::binary(&target_dir, "release", name);
        let spawned = service::launch(
            runner,
            &target
                .service_cmd(&binary, &ports, &db)
                .dir(paths::repo_root()),
            &log,
            &target.ready_url(&ports),
            process,
        )
        .await?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn running(ports: &[u16]) -> Running {
        Running {
            ports: ports.to_vec(),
            pid: 4242,
            db: DbParts {
                host: "127.0.0.1".into(),
                port: 3306,
                name: "bench_1".into(),
                user: "test".into(),
                password: "pw".into(),
            },
        }
    }

    fn accountd() -> Accountd {
        Accountd(BenchOptions {
            concurrency: 32,
            duration: 10,
            warmup: 2,
            user_id: 1,
        })
    }

    fn activity() -> Activity {
        Activity(ActivityOptions {
            concurrency: 32,
            duration: 10,
            warmup: 2,
            stream_events: 100_000,
        })
    }

    #[test]
    fn events_builds_only_bench_and_passes_the_redis_url_secretly() {
        assert_eq!(
            events_build().line(),
            "cargo build --release -p harness --bin bench"
        );
        let options = EventsOptions {
            concurrency: 32,
            duration: 10,
            warmup: 2,
            consumers: 2,
        };
        let cmd = events_bench_cmd(
            Path::new("/t/release/bench"),
            &options,
            "redis://:pw@127.0.0.1:6379",
        );
        assert_eq!(
            cmd.line(),
            "/t/release/bench events --consumers 2 --concurrency 32 --duration 10 --warmup 2"
        );
        assert_eq!(cmd.env[0].key, "BENCH_REDIS_URL");
        assert!(!cmd.to_string().contains("pw@"));
    }

    #[test]
    fn cinema_runs_bench_cinema_with_the_load_shape_and_the_mongodb_url_secretly() {
        let options = CinemaOptions {
            concurrency: 32,
            duration: 10,
            warmup: 2,
        };
        let cmd = cinema_bench_cmd(
            Path::new("/t/release/bench"),
            &options,
            "mongodb://root:pw@127.0.0.1:27017/?directConnection=true",
        );
        assert_eq!(
            cmd.line(),
            "/t/release/bench cinema --concurrency 32 --duration 10 --warmup 2"
        );
        assert_eq!(cmd.env.len(), 1);
        assert_eq!(cmd.env[0].key, "BENCH_MONGODB_URL");
        assert!(!cmd.to_string().contains("pw@"));
    }

    #[test]
    fn builds_accountd_and_bench_in_release() {
        let lines: Vec<String> = accountd().builds().iter().map(Cmd::line).collect();
        assert_eq!(
            lines,
            [
                "cargo build --release -p accountd --bin accountd",
                "cargo build --release -p harness --bin bench"
            ]
        );
    }

    #[test]
    fn bench_gets_the_url_and_load_shape_and_mysql_url_secretly() {
        let cmd = accountd().bench_cmd(Path::new("/t/release/bench"), &running(&[40000]));
        assert_eq!(
            cmd.line(),
            "/t/release/bench accountd --http-url http://127.0.0.1:40000/users/1 --user-id 1 \
             --concurrency 32 --duration 10 --warmup 2"
        );
        assert!(!cmd.to_string().contains("pw@"));
        assert_eq!(cmd.env[0].key, "BENCH_MYSQL_URL");
        assert_eq!(
            accountd().ready_url(&[40000]),
            "http://127.0.0.1:40000/readyz"
        );
    }

    #[test]
    fn builds_activity_server_and_bench_in_one_release_build() {
        let lines: Vec<String> = activity().builds().iter().map(Cmd::line).collect();
        assert_eq!(
            lines,
            ["cargo build --release -p activity -p harness --bin activity-server --bin bench"]
        );
    }

    #[test]
    fn activity_server_gets_grpc_and_admin_ports_and_is_ready_on_admin() {
        let target = activity();
        assert_eq!(target.ports(), 2);
        let cmd = target.service_cmd(
            Path::new("/t/release/activity-server"),
            &[40001, 40002],
            &running(&[]).db,
        );
        assert_eq!(cmd.line(), "/t/release/activity-server");
        assert!(cmd.to_string().starts_with(
            "ACTIVITY__PORT=40001 ACTIVITY__ADMIN_PORT=40002 ACTIVITY__DB__HOST=127.0.0.1"
        ));
        assert_eq!(
            target.ready_url(&[40001, 40002]),
            "http://127.0.0.1:40002/readyz"
        );
    }

    #[test]
    fn activity_bench_gets_the_address_pid_and_load_shape() {
        let cmd = activity().bench_cmd(Path::new("/t/release/bench"), &running(&[40001, 40002]));
        assert_eq!(
            cmd.line(),
            "/t/release/bench activity --addr 127.0.0.1:40001 --server-pid 4242 \
             --stream-events 100000 --concurrency 32 --duration 10 --warmup 2"
        );
        // The events to stream are seeded straight into the server's database.
        assert!(!cmd.to_string().contains("pw@"));
        assert_eq!(cmd.env[0].key, "BENCH_MYSQL_URL");
    }
}
