//! The smoke test of one image: the engine starts it (labelled, a unique name; next to a MariaDB
//! container when it needs MySQL), its liveness endpoint must answer 200 through a `127.0.0.1`
//! port mapping (or `--version` must exit 0) within [`Arch::smoke_timeout`], and the containers
//! are removed whatever happened.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use backing::images::{ensure_image, MARIADB, MARIADB_CREDENTIALS};
use backing::mysql::DbParts;
use backing::wait::{wait_until, Attempt, WaitError};

use super::Arch;
use crate::cmd::Cmd;
use crate::deployables::{Deployable, Health};
use crate::probe;
use crate::runner::Runner;
use crate::service;

/// The label on every container xtask starts.
pub const CONTAINER_LABEL: &str = "mockvideo.xtask=1";

/// The `-e` arguments pointing a deployable with `prefix` at the MariaDB test image's database,
/// reached on 127.0.0.1 inside the shared network namespace.
pub fn mysql_env_args(prefix: &str) -> Vec<String> {
    let (user, password) = MARIADB_CREDENTIALS;
    let db = DbParts {
        host: "127.0.0.1".to_string(),
        port: 3306,
        name: "test".to_string(),
        user: user.to_string(),
        password: password.to_string(),
    };
    service::db_vars(prefix, &db)
        .into_iter()
        .flat_map(|(key, value)| ["-e".to_string(), format!("{key}={value}")])
        .collect()
}

/// `docker run -d` of `image` for the smoke test, labelled: either with its health port mapped
/// on 127.0.0.1, or (`network` = a database container) in that container's network namespace,
/// where the database container maps the port; `--version` for [`Health::Version`].
pub fn smoke_run_cmd(
    docker: &str,
    container: &str,
    image: &str,
    arch: Arch,
    deployable: &Deployable,
    network: Option<&str>,
) -> Cmd {
    let mut cmd = run_labelled(docker, container).args(["--platform", arch.platform()]);
    match (network, deployable.mysql_env_prefix) {
        (Some(network), Some(prefix)) => {
            cmd = cmd
                .arg(format!("--network=container:{network}"))
                .args(mysql_env_args(prefix));
        }
        (Some(network), None) => cmd = cmd.arg(format!("--network=container:{network}")),
        (None, _) => {
            if let Health::Http { port, .. } = deployable.health {
                cmd = cmd.args(["-p", &format!("127.0.0.1::{port}")]);
            }
        }
    }
    match deployable.health {
        Health::Http { .. } => cmd.arg(image),
        Health::Version => cmd.args([image, "--version"]),
    }
}

/// `docker run -d` of the MariaDB test image that a deployable needing MySQL shares its network
/// namespace with; it maps the deployable's `port` on 127.0.0.1.
pub fn database_run_cmd(docker: &str, container: &str, image: &str, port: u16) -> Cmd {
    run_labelled(docker, container).args(["-p", &format!("127.0.0.1::{port}"), image])
}

/// `docker run -d --name CONTAINER --label mockvideo.xtask=1`, the start of every smoke container.
fn run_labelled(docker: &str, container: &str) -> Cmd {
    Cmd::new(docker).args(["run", "-d", "--name", container, "--label", CONTAINER_LABEL])
}

/// The host port from `docker port NAME PORT/tcp` output (`127.0.0.1:49153`).
pub fn parse_mapped_port(output: &str) -> Option<u16> {
    output
        .lines()
        .filter_map(|line| line.trim().strip_prefix("127.0.0.1:"))
        .find_map(|port| port.parse().ok())
}

/// Starts `image` (labelled, a unique name), waits up to [`Arch::smoke_timeout`] for its
/// liveness check, and removes the container whatever happened. Returns what answered.
/// Deployables that need MySQL to start ([`Deployable::mysql_env_prefix`]) get a MariaDB container
/// next to them (the harness's `local/mockvideo-mariadb` image, built if missing).
pub async fn smoke(
    runner: &dyn Runner,
    docker: &str,
    arch: Arch,
    deployable: &Deployable,
    image: &str,
) -> Result<String> {
    let container = format!(
        "mockvideo-smoke-{}-{}-{}",
        deployable.name,
        arch.name(),
        std::process::id()
    );
    let database = format!("{container}-db");
    let with_database = deployable.mysql_env_prefix.is_some();
    let outcome = async {
        let network = if with_database {
            start_database(runner, docker, deployable, &database).await?;
            Some(database.as_str())
        } else {
            None
        };
        runner.read(&smoke_run_cmd(
            docker, &container, image, arch, deployable, network,
        ))?;
        let answered = wait_alive(runner, docker, arch, deployable, &container, network).await?;
        Ok(if with_database {
            format!("{answered} (next to MariaDB)")
        } else {
            answered
        })
    }
    .await;
    runner.probe(&Cmd::new(docker).args(["rm", "-f", "-v", &container]));
    if with_database {
        runner.probe(&Cmd::new(docker).args(["rm", "-f", "-v", &database]));
    }
    outcome
}

/// How long the MariaDB container may take to say it is ready.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(60);

async fn start_database(
    runner: &dyn Runner,
    docker: &str,
    deployable: &Deployable,
    container: &str,
) -> Result<()> {
    let Health::Http { port, .. } = deployable.health else {
        bail!("{} has no HTTP health port to map", deployable.name);
    };
    let image = ensure_image(&MARIADB)
        .await
        .context("the MariaDB test image (try `cargo xtask bootstrap`)")?;
    runner.read(&database_run_cmd(docker, container, &image, port))?;
    let ready = wait_until(
        "\"ready for connections\" from MariaDB",
        DATABASE_TIMEOUT,
        Duration::from_millis(500),
        || {
            let log = runner
                .read(&logs_cmd(docker, container, None))
                .unwrap_or_default();
            std::future::ready(if log.contains("ready for connections") {
                Attempt::Ready(())
            } else {
                Attempt::Pending("not yet".to_string())
            })
        },
    )
    .await;
    ready.map_err(|error| {
        anyhow!(
            "{error}; its log:\n{}",
            container_log(runner, docker, container)
        )
    })
}

/// Polls until `container` answers its liveness check (the port is mapped on `port_owner`,
/// the database container when there is one), exits, or [`Arch::smoke_timeout`] passes.
async fn wait_alive(
    runner: &dyn Runner,
    docker: &str,
    arch: Arch,
    deployable: &Deployable,
    container: &str,
    port_owner: Option<&str>,
) -> Result<String> {
    let started = Instant::now();
    let url = match deployable.health {
        Health::Http { port, path } => {
            let mapped = runner.read(&Cmd::new(docker).args([
                "port",
                port_owner.unwrap_or(container),
                &format!("{port}/tcp"),
            ]))?;
            let host_port = parse_mapped_port(&mapped)
                .with_context(|| format!("`docker port` printed no 127.0.0.1 port: {mapped:?}"))?;
            Some(format!("http://127.0.0.1:{host_port}{path}"))
        }
        Health::Version => None,
    };
    let client = probe::client()?;
    let (url, client) = (url.as_deref(), &client);
    let alive = wait_until(
        "liveness answer",
        arch.smoke_timeout(),
        Duration::from_millis(250),
        || async move {
            let state = match runner.read(&Cmd::new(docker).args([
                "inspect",
                "-f",
                "{{.State.Status}} {{.State.ExitCode}}",
                container,
            ])) {
                Ok(state) => state,
                Err(error) => return Attempt::Failed(error),
            };
            let mut words = state.split_whitespace();
            let (status, code) = (words.next().unwrap_or_default(), words.next());
            match (url, status) {
                (None, "exited") if code == Some("0") => {
                    match runner.read(&logs_cmd(docker, container, None)) {
                        Ok(printed) => Attempt::Ready(format!("--version: {}", printed.trim())),
                        Err(error) => Attempt::Failed(error),
                    }
                }
                (_, "exited" | "dead") => Attempt::Failed(anyhow!(
                    "the container exited (code {}) after {:.1} s; its log:\n{}",
                    code.unwrap_or("?"),
                    started.elapsed().as_secs_f64(),
                    container_log(runner, docker, container)
                )),
                (Some(url), _) => {
                    probe::get(client, url, |status, _| {
                        if status == reqwest::StatusCode::OK {
                            Ok(format!(
                                "200 from /{} in {:.1} s",
                                url.rsplit_once('/').map_or("", |(_, path)| path),
                                started.elapsed().as_secs_f64()
                            ))
                        } else {
                            Err(format!("HTTP {status}"))
                        }
                    })
                    .await
                }
                (None, _) => Attempt::Pending(format!("still {status}")),
            }
        },
    )
    .await;
    alive.map_err(|error| match error {
        WaitError::Failed(error) => error,
        timed_out @ WaitError::TimedOut { .. } => anyhow!(
            "{timed_out}; its log:\n{}",
            container_log(runner, docker, container)
        ),
    })
}

/// `docker logs [--tail N] CONTAINER` with stderr merged into stdout (services and MariaDB log
/// to stderr; [`Runner::read`] returns stdout).
pub fn logs_cmd(docker: &str, container: &str, tail: Option<u32>) -> Cmd {
    let mut cmd = Cmd::new("sh").args(["-c", "exec \"$0\" logs \"$@\" 2>&1", docker]);
    if let Some(lines) = tail {
        cmd = cmd.args(["--tail".to_string(), lines.to_string()]);
    }
    cmd.arg(container)
}

fn container_log(runner: &dyn Runner, docker: &str, container: &str) -> String {
    runner
        .read(&logs_cmd(docker, container, Some(20)))
        .unwrap_or_else(|error| format!("(no log: {error:#})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployables;
    use crate::runner::recording::{Kind, RecordingRunner};

    #[test]
    fn smoke_containers_are_labelled_and_mapped_on_loopback_only() {
        let movies = deployables::find("movies").unwrap();
        let cmd = smoke_run_cmd("docker", "c1", "img", Arch::Armv7, movies, None);
        assert_eq!(
            cmd.line(),
            "docker run -d --name c1 --label mockvideo.xtask=1 --platform linux/arm/v7 \
             -p 127.0.0.1::8080 img"
        );
        let simulator = deployables::find("event-simulator").unwrap();
        let cmd = smoke_run_cmd("docker", "c2", "img", Arch::Amd64, simulator, None);
        assert!(
            cmd.line().ends_with("linux/amd64 img --version"),
            "{}",
            cmd.line()
        );
    }

    #[test]
    fn a_deployable_needing_mysql_shares_the_databases_namespace_and_port() {
        let accountd = deployables::find("accountd").unwrap();
        assert_eq!(accountd.mysql_env_prefix, Some("ACCOUNTD"));
        assert_eq!(deployables::find("users").unwrap().mysql_env_prefix, None);
        let cmd = smoke_run_cmd("docker", "c", "img", Arch::Armv7, accountd, Some("c-db"));
        assert_eq!(
            cmd.line(),
            "docker run -d --name c --label mockvideo.xtask=1 --platform linux/arm/v7 \
             --network=container:c-db -e ACCOUNTD__DB__HOST=127.0.0.1 -e ACCOUNTD__DB__PORT=3306 \
             -e ACCOUNTD__DB__NAME=test -e ACCOUNTD__DB__USER=test -e ACCOUNTD__DB__PASSWORD=test \
             img"
        );
        assert_eq!(
            database_run_cmd("docker", "c-db", "local/mockvideo-mariadb:1", 5000).line(),
            "docker run -d --name c-db --label mockvideo.xtask=1 -p 127.0.0.1::5000 \
             local/mockvideo-mariadb:1"
        );
    }

    #[test]
    fn the_mapped_port_is_the_loopback_one() {
        assert_eq!(parse_mapped_port("127.0.0.1:49153\n"), Some(49153));
        assert_eq!(parse_mapped_port("0.0.0.0:1\n[::]:2\n"), None);
        assert_eq!(parse_mapped_port(""), None);
    }

    /// A runner for which container `c` has exited with `code` and `docker logs <logs_args>`
    /// prints `log`.
    fn exited_container(code: &str, logs_args: &str, log: &str) -> RecordingRunner {
        RecordingRunner::new()
            .read_answer(
                "docker inspect -f '{{.State.Status}} {{.State.ExitCode}}' c",
                &format!("exited {code}\n"),
            )
            .read_answer(
                &format!(r#"sh -c 'exec "$0" logs "$@" 2>&1' docker {logs_args}"#),
                log,
            )
    }

    #[tokio::test]
    async fn a_container_that_exits_fails_the_smoke_test_and_is_removed() {
        let movies = deployables::find("movies").unwrap();
        let runner = exited_container("1", "--tail 20 c", "mongo.url: invalid\n")
            .read_answer("docker port c 8080/tcp", "127.0.0.1:1\n");
        let error = wait_alive(&runner, "docker", Arch::Amd64, movies, "c", None)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("exited (code 1)"), "{error}");
        assert!(error.contains("mongo.url: invalid"), "{error}");

        let runner = RecordingRunner::new();
        let _ = smoke(&runner, "docker", Arch::Amd64, movies, "img").await;
        let probes = runner.lines(Kind::Probe);
        assert_eq!(probes.len(), 1);
        assert!(probes[0].starts_with("docker rm -f -v mockvideo-smoke-movies-amd64-"));
    }

    #[tokio::test]
    async fn the_simulator_passes_when_version_exits_zero() {
        let simulator = deployables::find("event-simulator").unwrap();
        let runner = exited_container("0", "c", "event-simulator 0.1.0\n");
        let answered = wait_alive(&runner, "docker", Arch::Amd64, simulator, "c", None)
            .await
            .unwrap();
        assert_eq!(answered, "--version: event-simulator 0.1.0");
    }
}
