//! The benchmarks whose services run inside the `bench` binary (the event pipeline, the cinema
//! services): build `bench` in release, provision the store (Redis, MongoDB), run `bench events`
//! or `bench cinema` against it, remove the store, print the step summary.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use backing::mongo::Mongo;
use backing::redis::Redis;

use super::{timed, EventsOptions, Load};
use crate::cmd::Cmd;
use crate::paths;
use crate::runner::Runner;
use crate::stores::{HarnessServer, UpServer};
use crate::summary::{Status, Summary};

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
        .args(options.load.args())
        .env_secret("BENCH_REDIS_URL", redis_url)
}

/// The `bench cinema` command line against the MongoDB at `mongodb_url` (passed secretly).
pub fn cinema_bench_cmd(bench: &Path, load: &Load, mongodb_url: &str) -> Cmd {
    Cmd::new(bench.display().to_string())
        .arg("cinema")
        .args(load.args())
        .env_secret("BENCH_MONGODB_URL", mongodb_url)
}

/// `cargo xtask bench events`: build `bench`, provision Redis, run `bench events`, clean up.
pub async fn bench_events(runner: &dyn Runner, options: &EventsOptions) -> Result<()> {
    let bench_cmd = |target_dir: &Path, url: &str| {
        events_bench_cmd(&paths::binary(target_dir, "release", "bench"), options, url)
    };
    bench_in_process::<Redis>(runner, "redis", bench_cmd).await
}

/// `cargo xtask bench cinema`: build `bench`, provision MongoDB, run `bench cinema`, clean up.
pub async fn bench_cinema(runner: &dyn Runner, load: &Load) -> Result<()> {
    let bench_cmd = |target_dir: &Path, url: &str| {
        cinema_bench_cmd(&paths::binary(target_dir, "release", "bench"), load, url)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::TEST_LOAD as LOAD;

    #[test]
    fn events_builds_only_bench_and_passes_the_redis_url_secretly() {
        assert_eq!(
            events_build().line(),
            "cargo build --release -p harness --bin bench"
        );
        let options = EventsOptions {
            load: LOAD,
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
        let cmd = cinema_bench_cmd(
            Path::new("/t/release/bench"),
            &LOAD,
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
}
