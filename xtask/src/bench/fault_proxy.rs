//! `cargo xtask bench fault-proxy`: build `bench` in release, provision MySQL (a fresh database)
//! and Redis, run `bench fault-proxy` against both (the proxy runs inside `bench`, on threads of
//! its own whose CPU it reads), remove both stores, print the step summary.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;

use super::{in_process::events_build, timed, Load};
use crate::cmd::Cmd;
use crate::paths;
use crate::runner::Runner;
use crate::stores::{Database, RedisServer};
use crate::summary::{Status, Summary};

/// The `bench fault-proxy` command line against the MySQL database at `mysql_url` and the Redis
/// at `redis_url` (both passed secretly).
pub fn bench_cmd(bench: &Path, load: &Load, mysql_url: &str, redis_url: &str) -> Cmd {
    Cmd::new(bench.display().to_string())
        .arg("fault-proxy")
        .args(load.args())
        .env_secret("BENCH_MYSQL_URL", mysql_url)
        .env_secret("BENCH_REDIS_URL", redis_url)
}

/// The stores one run provisions.
#[derive(Default)]
struct Stores {
    mysql: Option<Database>,
    redis: Option<RedisServer>,
}

/// Builds, provisions, measures and cleans up.
pub async fn bench(runner: &dyn Runner, load: &Load) -> Result<()> {
    let mut summary = Summary::default();
    let mut stores = Stores::default();
    let outcome = run(runner, load, &mut summary, &mut stores).await;
    let started = Instant::now();
    let mut cleaned = Vec::new();
    if let Some(mysql) = stores.mysql {
        cleaned.push(mysql.stop().await.unwrap_or_else(|e| format!("{e:#}")));
    }
    if let Some(redis) = stores.redis {
        cleaned.push(redis.stop().await.unwrap_or_else(|e| format!("{e:#}")));
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
    load: &Load,
    summary: &mut Summary,
    stores: &mut Stores,
) -> Result<()> {
    timed(summary, "build (release)", async {
        runner.run(&events_build())
    })
    .await?;
    let target_dir = paths::cargo_target_dir(runner)?;
    let mysql_url = timed(summary, "mysql", async {
        let mysql = stores.mysql.insert(Database::start("bench_proxy").await?);
        Ok(mysql.parts.url())
    })
    .await?;
    let redis_url = timed(summary, "redis", async {
        let redis = stores.redis.insert(RedisServer::start().await?);
        Ok(redis.url().to_string())
    })
    .await?;
    let bench = paths::binary(&target_dir, "release", "bench");
    timed(summary, "load", async {
        runner.run_visible(&bench_cmd(&bench, load, &mysql_url, &redis_url))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::TEST_LOAD as LOAD;

    #[test]
    fn bench_gets_the_load_shape_and_both_urls_secretly() {
        let cmd = bench_cmd(
            Path::new("/t/release/bench"),
            &LOAD,
            "mysql://test:pw@127.0.0.1:3306/bench_proxy_1",
            "redis://:pw@127.0.0.1:6379",
        );
        assert_eq!(
            cmd.line(),
            "/t/release/bench fault-proxy --concurrency 32 --duration 10 --warmup 2"
        );
        let keys: Vec<&str> = cmd.env.iter().map(|var| var.key.as_str()).collect();
        assert_eq!(keys, ["BENCH_MYSQL_URL", "BENCH_REDIS_URL"]);
        assert!(!cmd.to_string().contains("pw@"));
    }
}
