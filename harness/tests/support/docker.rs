//! Docker CLI helpers shared by the backing-service tests (`backing_mysql`, `backing_redis`,
//! `backing_mongo`).

use std::process::{Command, Output};

use harness::backing::docker;

/// Runs the docker CLI and returns its output.
pub fn docker_cli(args: &[&str]) -> Output {
    Command::new(docker::cli())
        .args(args)
        .output()
        .expect("run the docker CLI")
}

/// Whether a container with this id or name exists (running or not).
pub fn container_exists(id: &str) -> bool {
    docker_cli(&["container", "inspect", id]).status.success()
}
