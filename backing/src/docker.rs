//! The Docker engine as the harness uses it: connecting (bollard), the labels put on every
//! container we start, sweeping containers left behind by runs that are gone, and removing a
//! container synchronously (usable from `Drop` and at process exit).

use std::{
    collections::HashMap,
    path::PathBuf,
    process::{Command, Stdio},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::Context as _;
use bollard::{
    query_parameters::{
        KillContainerOptionsBuilder, ListContainersOptionsBuilder, LogsOptionsBuilder,
        RemoveContainerOptionsBuilder, RestartContainerOptionsBuilder, StopContainerOptionsBuilder,
    },
    Docker,
};

use super::owner::{self, Owner};

/// Label on every container the harness starts; its value says what the container is for
/// (`mysql`, …). `docker ps -a --filter label=io.mockvideo.harness` lists them.
pub const LABEL: &str = "io.mockvideo.harness";
/// Label holding the pid of the process that started the container.
pub const OWNER_PID_LABEL: &str = "io.mockvideo.owner-pid";
/// Label holding the owner's start time in clock ticks since boot (guards against pid reuse).
pub const OWNER_START_LABEL: &str = "io.mockvideo.owner-start";
/// Label holding the owner's host name (a daemon may be shared by several hosts or containers).
pub const OWNER_HOST_LABEL: &str = "io.mockvideo.owner-host";
/// Label holding the Unix time (seconds) the container was started.
pub const STARTED_AT_LABEL: &str = "io.mockvideo.started-at";

/// Containers whose owner cannot be checked (another host, missing labels) are removed once
/// they are this old.
pub const STALE_AFTER: Duration = Duration::from_secs(6 * 60 * 60);

/// How long an engine call may take before the engine counts as unavailable.
const ENGINE_TIMEOUT: Duration = Duration::from_secs(10);

/// The labels for a container of `kind` owned by this process.
pub fn owner_labels(kind: &str) -> HashMap<String, String> {
    let me = Owner::current();
    let mut labels = HashMap::from([
        (LABEL.to_owned(), kind.to_owned()),
        (OWNER_PID_LABEL.to_owned(), me.pid.to_string()),
        (OWNER_HOST_LABEL.to_owned(), me.host),
        (STARTED_AT_LABEL.to_owned(), unix_now().to_string()),
    ]);
    if let Some(ticks) = me.start_ticks {
        labels.insert(OWNER_START_LABEL.to_owned(), ticks.to_string());
    }
    labels
}

/// Connects to the local engine (`DOCKER_HOST` or the default socket) and negotiates the API
/// version, so requests never ask for a version newer than the daemon's (20.10 speaks 1.41).
pub async fn connect() -> anyhow::Result<Docker> {
    let docker = Docker::connect_with_local_defaults().context("configuring the Docker client")?;
    let docker = tokio::time::timeout(ENGINE_TIMEOUT, docker.negotiate_version())
        .await
        .context("the Docker engine did not answer within 10 s")?
        .context("the Docker engine is not reachable")?;
    Ok(docker)
}

/// Checks that the engine answers; returns its version (e.g. `20.10.24+dfsg1`, API `1.41`).
pub async fn probe() -> anyhow::Result<String> {
    let docker = connect().await?;
    let version = tokio::time::timeout(ENGINE_TIMEOUT, docker.version())
        .await
        .context("the Docker engine did not answer within 10 s")?
        .context("asking the Docker engine for its version")?;
    Ok(format!(
        "{} (API {})",
        version.version.unwrap_or_else(|| "unknown".to_owned()),
        version.api_version.unwrap_or_else(|| "unknown".to_owned())
    ))
}

/// Whether a Docker engine answers. Blocking (runs the probe on its own thread and runtime), so it
/// can be called from synchronous code and from inside an async runtime alike.
pub fn engine_available() -> bool {
    block_on_own_thread(async { probe().await.is_ok() }).unwrap_or(false)
}

/// Removes every labelled container whose owner is gone: started on this host by a process that
/// no longer runs, or (owner not checkable) older than [`STALE_AFTER`]. Never touches containers
/// without [`LABEL`]. Returns how many were removed.
pub async fn sweep_stale() -> anyhow::Result<usize> {
    let docker = connect().await?;
    let filters = HashMap::from([("label", vec![LABEL])]);
    let options = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    let containers = tokio::time::timeout(ENGINE_TIMEOUT, docker.list_containers(Some(options)))
        .await
        .context("listing containers timed out")?
        .context("listing labelled containers")?;
    let host = owner::hostname();
    let now = unix_now();
    let mut removed = 0;
    for container in containers {
        let Some(id) = container.id else { continue };
        let labels = container.labels.unwrap_or_default();
        let created = container.created.unwrap_or(0);
        let Some(reason) = stale_reason(&labels, created, now, &host, owner::is_alive) else {
            continue;
        };
        let name = container
            .names
            .and_then(|names| names.into_iter().next())
            .map(|name| name.trim_start_matches('/').to_owned())
            .unwrap_or_else(|| id.chars().take(12).collect());
        match remove_with(&docker, &id).await {
            Ok(false) => {}
            Ok(true) => {
                eprintln!("[harness] docker: removed stale container {name} ({reason})");
                removed += 1;
            }
            Err(error) => {
                eprintln!("[harness] docker: could not remove stale container {name}: {error:#}")
            }
        }
    }
    Ok(removed)
}

/// Why a labelled container is stale, or `None` when it must be kept. `alive(pid, start_ticks)`
/// tells whether an owner on this host still runs.
fn stale_reason(
    labels: &HashMap<String, String>,
    created_unix: i64,
    now_unix: i64,
    this_host: &str,
    alive: impl Fn(u32, Option<u64>) -> bool,
) -> Option<String> {
    let pid = labels
        .get(OWNER_PID_LABEL)
        .and_then(|pid| pid.parse::<u32>().ok());
    let ticks = labels
        .get(OWNER_START_LABEL)
        .and_then(|ticks| ticks.parse::<u64>().ok());
    let same_host = labels
        .get(OWNER_HOST_LABEL)
        .is_some_and(|host| host == this_host);
    if let (Some(pid), true) = (pid, same_host) {
        return (!alive(pid, ticks)).then(|| format!("owner pid {pid} is gone"));
    }
    let started = labels
        .get(STARTED_AT_LABEL)
        .and_then(|at| at.parse::<i64>().ok())
        .unwrap_or(created_unix);
    let age = now_unix.saturating_sub(started);
    let limit = i64::try_from(STALE_AFTER.as_secs()).unwrap_or(i64::MAX);
    (age > limit).then(|| format!("owner not checkable from this host, {} h old", age / 3600))
}

/// `Some(report)` with the exit code and last log lines once the container has stopped; `None`
/// while it runs or when the engine cannot tell.
pub async fn exit_report(id: &str) -> Option<String> {
    let docker = connect().await.ok()?;
    let info = tokio::time::timeout(ENGINE_TIMEOUT, docker.inspect_container(id, None))
        .await
        .ok()?
        .ok()?;
    let state = info.state?;
    if state.running != Some(false) {
        return None;
    }
    let logs = last_log_lines(&docker, id, 30).await;
    Some(format!(
        "container {id} exited (code {}); last log lines:\n{logs}",
        state
            .exit_code
            .map_or_else(|| "unknown".to_owned(), |code| code.to_string())
    ))
}

/// The last `lines` lines of a container's stdout and stderr (bounded to 5 s).
pub async fn last_log_lines(docker: &Docker, id: &str, lines: usize) -> String {
    use futures::StreamExt as _;
    let options = LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .tail(&lines.to_string())
        .build();
    let mut stream = docker.logs(id, Some(options));
    let mut text = String::new();
    let collect = async {
        while let Some(Ok(chunk)) = stream.next().await {
            text.push_str(&chunk.to_string());
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), collect).await;
    text
}

/// Image name and tag; a `:` inside a registry host (`127.0.0.1:5000/x`) is not a tag.
pub fn split_reference(image: &str) -> (String, String) {
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.to_owned(), tag.to_owned()),
        _ => (image.to_owned(), "latest".to_owned()),
    }
}

/// Restarts a container (`docker restart -t SECONDS`): a graceful stop bounded by
/// `stop_timeout`, then a start. Bounded to that plus 60 s.
pub async fn restart_container(id: &str, stop_timeout: Duration) -> anyhow::Result<()> {
    let docker = connect().await?;
    let seconds = i32::try_from(stop_timeout.as_secs()).unwrap_or(i32::MAX);
    let options = RestartContainerOptionsBuilder::new().t(seconds).build();
    tokio::time::timeout(
        stop_timeout + Duration::from_secs(60),
        docker.restart_container(id, Some(options)),
    )
    .await
    .with_context(|| format!("restarting container {id} timed out"))?
    .with_context(|| format!("restarting container {id}"))
}

/// Bounds an engine call that changes a container's state, naming the action in its errors.
async fn bounded<T>(
    action: &str,
    id: &str,
    limit: Duration,
    call: impl std::future::Future<Output = Result<T, bollard::errors::Error>>,
) -> anyhow::Result<T> {
    tokio::time::timeout(limit, call)
        .await
        .with_context(|| format!("{action} container {id} timed out after {limit:?}"))?
        .with_context(|| format!("{action} container {id}"))
}

/// Stops a container (`docker stop -t SECONDS`): SIGTERM, then SIGKILL after `stop_timeout`.
/// Its published host ports are kept for the next [`start_existing_container`]. Bounded to
/// `stop_timeout` plus 60 s.
pub async fn stop_container(id: &str, stop_timeout: Duration) -> anyhow::Result<()> {
    let docker = connect().await?;
    let seconds = i32::try_from(stop_timeout.as_secs()).unwrap_or(i32::MAX);
    let options = StopContainerOptionsBuilder::new().t(seconds).build();
    bounded(
        "stopping",
        id,
        stop_timeout + Duration::from_secs(60),
        docker.stop_container(id, Some(options)),
    )
    .await
}

/// Starts a container that exists but is stopped (`docker start`), on the host ports it was
/// created with. Bounded to 60 s.
pub async fn start_existing_container(id: &str) -> anyhow::Result<()> {
    let docker = connect().await?;
    bounded(
        "starting",
        id,
        Duration::from_secs(60),
        docker.start_container(id, None),
    )
    .await
}

/// Sends `signal` (e.g. `SIGKILL`) to a container's main process (`docker kill -s`). Bounded
/// to 30 s.
pub async fn kill_container(id: &str, signal: &str) -> anyhow::Result<()> {
    let docker = connect().await?;
    let options = KillContainerOptionsBuilder::new().signal(signal).build();
    bounded(
        "killing",
        id,
        Duration::from_secs(30),
        docker.kill_container(id, Some(options)),
    )
    .await
}

/// Freezes every process of a container (`docker pause`): its ports stay open but nothing
/// answers. Bounded to 30 s.
pub async fn pause_container(id: &str) -> anyhow::Result<()> {
    let docker = connect().await?;
    bounded(
        "pausing",
        id,
        Duration::from_secs(30),
        docker.pause_container(id),
    )
    .await
}

/// Thaws a container frozen by [`pause_container`] (`docker unpause`). Bounded to 30 s.
pub async fn unpause_container(id: &str) -> anyhow::Result<()> {
    let docker = connect().await?;
    bounded(
        "unpausing",
        id,
        Duration::from_secs(30),
        docker.unpause_container(id),
    )
    .await
}

/// Removes a container (force, with its anonymous volumes). A container that is already gone,
/// or being removed by someone else, counts as removed.
pub async fn remove_container(id: &str) -> anyhow::Result<()> {
    let docker = connect().await?;
    remove_with(&docker, id).await.map(|_| ())
}

/// Removes a container; `Ok(false)` when it was already gone or another caller is removing it.
async fn remove_with(docker: &Docker, id: &str) -> anyhow::Result<bool> {
    let options = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    match tokio::time::timeout(
        Duration::from_secs(30),
        docker.remove_container(id, Some(options)),
    )
    .await
    {
        Err(_) => anyhow::bail!("removing container {id} timed out after 30 s"),
        Ok(Ok(())) => Ok(true),
        Ok(Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        })) => Ok(false),
        // Two sweeps racing (parallel tests, another run): the other one is removing it.
        Ok(Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            message,
        })) if message.contains("already in progress") => Ok(false),
        Ok(Err(error)) => Err(error).with_context(|| format!("removing container {id}")),
    }
}

/// Removes a container without an async runtime: `docker rm -f -v` through the CLI, or bollard on
/// a thread of its own when no CLI is installed. For `Drop` and process-exit clean-up; bounded
/// to about 30 s.
pub fn remove_container_blocking(id: &str) -> anyhow::Result<()> {
    let spawned = Command::new(cli())
        .args(["rm", "-f", "-v", id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let id = id.to_owned();
            return block_on_own_thread(async move { remove_container(&id).await })
                .context("removing the container through the engine API")?;
        }
        Err(error) => return Err(error).context("running `docker rm`"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().context("waiting for `docker rm`")? {
            if status.success() {
                return Ok(());
            }
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
            }
            if stderr.contains("No such container") {
                return Ok(());
            }
            anyhow::bail!("`docker rm -f {id}` failed ({status}): {}", stderr.trim());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("`docker rm -f {id}` did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The docker CLI to shell out to: Debian's `/usr/bin/docker` (same version as the packaged
/// engine, BuildKit built in) when present, else `docker` from `PATH`.
pub fn cli() -> PathBuf {
    let debian = PathBuf::from("/usr/bin/docker");
    if debian.exists() {
        debian
    } else {
        PathBuf::from("docker")
    }
}

/// Runs `future` to completion on a new current-thread runtime in a new thread, so that it
/// works whether or not the caller is inside a runtime.
pub(crate) fn block_on_own_thread<T: Send + 'static>(
    future: impl std::future::Future<Output = T> + Send + 'static,
) -> anyhow::Result<T> {
    let worker = std::thread::Builder::new()
        .name("harness-docker".to_owned())
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|runtime| runtime.block_on(future))
        })
        .context("spawning a thread for a Docker call")?;
    match worker.join() {
        Ok(result) => result.context("building a runtime for a Docker call"),
        Err(_) => anyhow::bail!("the Docker call thread panicked"),
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_container_of_a_dead_owner_on_this_host_is_stale() {
        let l = labels(&[
            (LABEL, "mysql"),
            (OWNER_PID_LABEL, "999999"),
            (OWNER_HOST_LABEL, "box"),
        ]);
        let reason = stale_reason(&l, NOW, NOW, "box", |_, _| false);
        assert_eq!(reason.as_deref(), Some("owner pid 999999 is gone"));
    }

    #[test]
    fn a_container_of_a_live_owner_is_kept_however_old() {
        let l = labels(&[
            (OWNER_PID_LABEL, "42"),
            (OWNER_HOST_LABEL, "box"),
            (STARTED_AT_LABEL, "0"),
        ]);
        assert_eq!(stale_reason(&l, 0, NOW, "box", |_, _| true), None);
    }

    #[test]
    fn the_owner_start_time_is_passed_to_the_liveness_check() {
        let l = labels(&[
            (OWNER_PID_LABEL, "42"),
            (OWNER_START_LABEL, "777"),
            (OWNER_HOST_LABEL, "box"),
        ]);
        let reason = stale_reason(&l, NOW, NOW, "box", |pid, ticks| {
            pid == 42 && ticks == Some(777)
        });
        assert_eq!(reason, None);
    }

    #[test]
    fn a_container_from_another_host_is_stale_only_after_six_hours() {
        let young = labels(&[
            (OWNER_PID_LABEL, "42"),
            (OWNER_HOST_LABEL, "other"),
            (STARTED_AT_LABEL, &(NOW - 60).to_string()),
        ]);
        assert_eq!(stale_reason(&young, 0, NOW, "box", |_, _| false), None);
        let old = labels(&[
            (OWNER_PID_LABEL, "42"),
            (OWNER_HOST_LABEL, "other"),
            (STARTED_AT_LABEL, &(NOW - 7 * 3600).to_string()),
        ]);
        assert!(stale_reason(&old, 0, NOW, "box", |_, _| true).is_some());
    }

    #[test]
    fn a_container_without_owner_labels_falls_back_to_its_creation_time() {
        let bare = labels(&[(LABEL, "x")]);
        assert_eq!(
            stale_reason(&bare, NOW - 60, NOW, "box", |_, _| false),
            None
        );
        assert!(stale_reason(&bare, NOW - 7 * 3600, NOW, "box", |_, _| false).is_some());
    }

    #[test]
    fn references_split_into_name_and_tag() {
        assert_eq!(split_reference("mysql:8.4"), ("mysql".into(), "8.4".into()));
        assert_eq!(split_reference("mysql"), ("mysql".into(), "latest".into()));
        assert_eq!(
            split_reference("127.0.0.1:5000/mysql"),
            ("127.0.0.1:5000/mysql".into(), "latest".into())
        );
        assert_eq!(
            split_reference("127.0.0.1:5000/mysql:8"),
            ("127.0.0.1:5000/mysql".into(), "8".into())
        );
    }

    #[test]
    fn owner_labels_name_this_process() {
        let l = owner_labels("mysql");
        assert_eq!(l.get(LABEL).map(String::as_str), Some("mysql"));
        assert_eq!(
            l.get(OWNER_PID_LABEL),
            Some(&std::process::id().to_string())
        );
        assert!(l.contains_key(STARTED_AT_LABEL));
        assert!(l.contains_key(OWNER_HOST_LABEL));
    }
}
