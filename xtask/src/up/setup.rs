//! What `up` needs before it starts anything: the same idempotent bootstrap as `ci` (the Docker
//! engine, the images of MySQL, Redis and MongoDB), run only when something is missing and
//! saying why. `--no-bootstrap` keeps the old check instead, which only names what is missing.

use anyhow::{bail, Context, Result};
use backing::images;

use crate::bootstrap::engine_probe;
use crate::runner::{find_program, Runner};

/// The environment variables that point `up` at servers of its own, so it needs no engine.
const SERVER_URLS: [&str; 3] = ["MYSQL_URL", "REDIS_URL", "MONGODB_URL"];

/// Makes sure `up` can provision its stores: bootstraps when something is missing, unless
/// `no_bootstrap`, in which case it only checks that MySQL can be had at all.
pub async fn prepare(runner: &dyn Runner, no_bootstrap: bool) -> Result<()> {
    if no_bootstrap {
        return check_engine(runner);
    }
    let Some(reason) = missing(runner).await else {
        return Ok(());
    };
    eprintln!(
        "up: {reason}; running the bootstrap first (`cargo xtask bootstrap`: idempotent; \
         `--no-bootstrap` skips it)"
    );
    crate::bootstrap::bootstrap(runner, false)
        .await
        .context("bootstrapping before `up` (`cargo xtask doctor` shows what is missing)")
}

/// Why the bootstrap must run first, or `None` when the engine runs and every image is built
/// (or every store comes from a URL).
async fn missing(runner: &dyn Runner) -> Option<String> {
    if SERVER_URLS.iter().all(|name| is_set(name)) {
        return None;
    }
    if find_program("docker").is_none() {
        return Some("the Docker client is not installed".to_owned());
    }
    if !runner.probe(&engine_probe()) {
        return Some("the Docker engine is not running".to_owned());
    }
    let docker = match backing::docker::connect().await {
        Ok(docker) => docker,
        Err(error) => return Some(format!("the Docker engine does not answer ({error:#})")),
    };
    let mut absent = Vec::new();
    for recipe in images::RECIPES {
        let reference = recipe.reference();
        if !images::image_exists(&docker, &reference)
            .await
            .unwrap_or(false)
        {
            absent.push(reference);
        }
    }
    (!absent.is_empty()).then(|| format!("the images {} are not built", absent.join(", ")))
}

/// True if the environment variable `name` is set and not empty.
fn is_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|value| !value.is_empty())
}

/// The check without bootstrap: MySQL needs the engine unless `MYSQL_URL` or a local mariadbd
/// provides it. (Redis and MongoDB have the same providers; if one cannot be provisioned, its
/// component fails with the harness's message saying what to install.)
pub fn check_engine(runner: &dyn Runner) -> Result<()> {
    if is_set("MYSQL_URL") {
        eprintln!("up: MYSQL_URL is set; MySQL comes from there");
        return Ok(());
    }
    if find_program("docker").is_some() && runner.probe(&engine_probe()) {
        return Ok(());
    }
    if find_program("mariadbd").is_some() || find_program("mysqld").is_some() {
        eprintln!("up: the Docker engine is not reachable; MySQL will be a local mariadbd");
        return Ok(());
    }
    bail!(
        "the Docker engine is not reachable (`docker info` failed) and neither MYSQL_URL nor a \
         local mariadbd can provide MySQL; run `cargo xtask up` without `--no-bootstrap` (or \
         `cargo xtask bootstrap`) to install it (`cargo xtask doctor` shows what is missing)"
    )
}
