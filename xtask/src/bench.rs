//! `cargo xtask bench accountd`: how fast accountd serves `GET /users/1`, next to how fast MySQL
//! answers the same point select, on this machine.
//!
//! Builds accountd and the harness's `bench` binary in release, provisions MySQL with the test
//! users, starts the release accountd, runs `bench` (which drives both targets with
//! `harness::load` and prints the table) and cleans everything up, printing a step summary.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::backing::Database;
use crate::cmd::Cmd;
use crate::paths;
use crate::runner::{Runner, Spawned};
use crate::service;
use crate::summary::{Status, Summary};

/// Load shape for the benchmark.
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

/// The release builds the benchmark needs.
pub fn build_cmds() -> Vec<Cmd> {
    let root = paths::repo_root();
    vec![
        Cmd::cargo(["build", "--release", "-p", "accountd", "--bin", "accountd"]).dir(&root),
        Cmd::cargo(["build", "--release", "-p", "harness", "--bin", "bench"]).dir(&root),
    ]
}

/// The `bench` command line against accountd at `base_url` and MySQL at `mysql_url`.
pub fn bench_cmd(binary: &Path, base_url: &str, mysql_url: &str, options: &BenchOptions) -> Cmd {
    Cmd::new(binary.display().to_string())
        .args([
            "--http-url".to_string(),
            format!("{base_url}/users/{}", options.user_id),
            "--user-id".to_string(),
            options.user_id.to_string(),
            "--concurrency".to_string(),
            options.concurrency.to_string(),
            "--duration".to_string(),
            options.duration.to_string(),
            "--warmup".to_string(),
            options.warmup.to_string(),
        ])
        .env_secret("BENCH_MYSQL_URL", mysql_url)
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
    let mut summary = Summary::default();
    let mut database: Option<Database> = None;
    let mut process: Option<Spawned> = None;
    let outcome = run(runner, options, &mut summary, &mut database, &mut process).await;

    // Clean up whatever was started, whatever happened.
    let started = Instant::now();
    let mut cleaned = Vec::new();
    if let Some(mut process) = process {
        cleaned.push(
            process
                .terminate(runner, Duration::from_secs(15))
                .map(|how| format!("accountd: {how}"))
                .unwrap_or_else(|e| format!("accountd: {e:#}")),
        );
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
    options: &BenchOptions,
    summary: &mut Summary,
    database: &mut Option<Database>,
    process: &mut Option<Spawned>,
) -> Result<()> {
    timed(summary, "build (release)", async {
        for cmd in build_cmds() {
            runner.run(&cmd)?;
        }
        Ok(())
    })
    .await?;
    let target_dir = paths::cargo_target_dir(runner)?;
    let db = timed(summary, "mysql", async {
        let started = database.insert(Database::start("bench").await?);
        Ok(started.parts.clone())
    })
    .await?;
    let base_url = timed(summary, "start accountd", async {
        let port = service::pick_port(None)?;
        let log = paths::repo_target().join("bench").join("accountd.log");
        std::fs::create_dir_all(paths::repo_target().join("bench"))
            .context("creating target/bench")?;
        std::fs::write(&log, "").with_context(|| format!("truncating {}", log.display()))?;
        let binary = paths::binary(&target_dir, "release", "accountd");
        let spawned = process.insert(runner.spawn(
            &service::accountd_cmd(&binary, port, &db).dir(paths::repo_root()),
            &log,
        )?);
        let url = format!("http://127.0.0.1:{port}");
        service::wait_ready(&format!("{url}/readyz"), spawned, Duration::from_secs(60)).await?;
        Ok(url)
    })
    .await?;
    timed(summary, "load", async {
        let binary = paths::binary(&target_dir, "release", "bench");
        runner.run_visible(&bench_cmd(&binary, &base_url, &db.url(), options))
    })
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn builds_accountd_and_bench_in_release() {
        let lines: Vec<String> = build_cmds().iter().map(Cmd::line).collect();
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
        let options = BenchOptions {
            concurrency: 32,
            duration: 10,
            warmup: 2,
            user_id: 1,
        };
        let cmd = bench_cmd(
            Path::new("/t/release/bench"),
            "http://127.0.0.1:40000",
            "mysql://test:pw@127.0.0.1:3306/bench_1",
            &options,
        );
        assert_eq!(
            cmd.line(),
            "/t/release/bench --http-url http://127.0.0.1:40000/users/1 --user-id 1 \
             --concurrency 32 --duration 10 --warmup 2"
        );
        assert!(!cmd.to_string().contains("pw@"));
        assert_eq!(cmd.env[0].key, "BENCH_MYSQL_URL");
    }
}
