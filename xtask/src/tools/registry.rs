//! A local image registry for tests and a laptop's `push`: Debian's `docker-registry`
//! (distribution 2.8) serving plain HTTP on 127.0.0.1:5000, its config and data under the tools
//! cache (`registry/`), started in the background once and found again on the next call.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use backing::wait::{wait_until_blocking, Attempt};

use crate::cmd::Cmd;
use crate::runner::{find_program, Runner};

/// Where the local registry listens.
pub const LOCAL_REGISTRY: &str = "127.0.0.1:5000";

/// How long a freshly started registry gets to answer `/v2/` (it takes about 0.2 s).
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// What answers on an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// Nothing listens.
    Closed,
    /// A Docker registry (v2 API) answers.
    Registry,
    /// Something else listens.
    Other,
}

/// Makes sure a registry answers on [`LOCAL_REGISTRY`]: returns at once if one does, otherwise
/// installs `docker-registry` (apt, as root) if missing, writes its config under
/// `cache_dir()/registry/` and starts it in the background (log and pid file there). Returns the
/// registry as `--registry` takes it: `127.0.0.1:5000`. Errors if another program holds the port.
pub fn ensure_local_registry(runner: &dyn Runner) -> Result<String> {
    let addr: SocketAddr = LOCAL_REGISTRY
        .parse()
        .context("parsing the local registry address")?;
    match probe(addr) {
        Probe::Registry => return Ok(LOCAL_REGISTRY.to_string()),
        Probe::Other => bail!(
            "something that is not a Docker registry listens on {LOCAL_REGISTRY}; stop it \
             (`ss -ltnp 'sport = :5000'` names it) and run this again"
        ),
        Probe::Closed => {}
    }
    super::ensure_apt_packages(runner, &["docker-registry"], "the local image registry")?;
    let program = find_program("docker-registry")
        .context("docker-registry is not on PATH after installing it")?;
    let dir = super::cache_dir().join("registry");
    let config = write_config(&dir)?;
    eprintln!("registry: starting a local registry on {LOCAL_REGISTRY}");
    let spawned = runner.spawn(
        &Cmd::new(program.display().to_string())
            .arg("serve")
            .arg(config.display().to_string()),
        &dir.join("registry.log"),
    )?;
    let log = spawned.log.clone();
    let pid = spawned.detach();
    let pid_file = dir.join("registry.pid");
    std::fs::write(&pid_file, format!("{pid}\n"))
        .with_context(|| format!("writing {}", pid_file.display()))?;
    let started = Instant::now();
    wait_until_blocking(
        &format!("Docker registry answering GET /v2/ on {LOCAL_REGISTRY}"),
        START_TIMEOUT,
        Duration::from_millis(50),
        || match probe(addr) {
            Probe::Registry => Attempt::Ready(()),
            other => Attempt::Pending(format!("{other:?}")),
        },
    )
    .map_err(|error| anyhow!("{error}; see {}", log.display()))?;
    eprintln!(
        "registry: up on {LOCAL_REGISTRY} after {:.2} s (pid {pid}, data in {})",
        started.elapsed().as_secs_f64(),
        dir.join("data").display()
    );
    Ok(LOCAL_REGISTRY.to_string())
}

/// The registry's config: plain HTTP on 127.0.0.1:5000, storage under `dir/data`, deletes on.
pub fn config_yaml(data: &Path) -> String {
    format!(
        "version: 0.1\n\
         log: {{level: warn}}\n\
         storage:\n  filesystem: {{rootdirectory: {}}}\n  delete: {{enabled: true}}\n\
         http: {{addr: {LOCAL_REGISTRY}}}\n",
        data.display()
    )
}

fn write_config(dir: &Path) -> Result<PathBuf> {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let config = dir.join("config.yml");
    std::fs::write(&config, config_yaml(&data))
        .with_context(|| format!("writing {}", config.display()))?;
    Ok(config)
}

/// Asks `addr` for `GET /v2/` (bounded: 1 s to connect, 2 s to answer).
pub fn probe(addr: SocketAddr) -> Probe {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return Probe::Closed;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /v2/ HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return Probe::Other;
    }
    let mut answer = Vec::new();
    let _ = stream.take(64 * 1024).read_to_end(&mut answer);
    classify(&String::from_utf8_lossy(&answer))
}

/// A registry answers `/v2/` with the `Docker-Distribution-Api-Version` header (200, or 401 when
/// it wants a login).
pub fn classify(answer: &str) -> Probe {
    if answer.lines().any(|line| {
        line.to_ascii_lowercase()
            .starts_with("docker-distribution-api-version:")
    }) {
        Probe::Registry
    } else {
        Probe::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_is_known_by_its_api_header() {
        let registry = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDocker-Distribution-Api-Version: registry/2.0\r\n\r\n{}";
        assert_eq!(classify(registry), Probe::Registry);
        assert_eq!(
            classify("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
            Probe::Other
        );
        assert_eq!(classify(""), Probe::Other);
    }

    #[test]
    fn nothing_listening_is_closed() {
        let port = backing::port::free_port().unwrap();
        assert_eq!(
            probe(SocketAddr::from(([127, 0, 0, 1], port))),
            Probe::Closed
        );
    }

    #[test]
    fn another_server_is_not_a_registry() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 256];
            let _ = conn.read(&mut buf);
            conn.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
        });
        assert_eq!(probe(addr), Probe::Other);
        server.join().unwrap();
    }

    #[test]
    fn config_serves_loopback_only_with_deletes() {
        let yaml = config_yaml(Path::new("/cache/registry/data"));
        assert!(yaml.contains("addr: 127.0.0.1:5000"), "{yaml}");
        assert!(
            yaml.contains("rootdirectory: /cache/registry/data"),
            "{yaml}"
        );
        assert!(yaml.contains("delete: {enabled: true}"), "{yaml}");
        let parsed: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(parsed["http"]["addr"].as_str(), Some("127.0.0.1:5000"));
    }
}

#[cfg(test)]
mod real {
    use super::*;
    use crate::runner::SystemRunner;

    /// Starts (or finds) the real registry: `cargo test -p xtask -- --ignored local_registry`.
    #[test]
    #[ignore = "installs docker-registry and starts it on 127.0.0.1:5000"]
    fn local_registry_starts_once_and_is_found_again() {
        let runner = SystemRunner::default();
        assert_eq!(ensure_local_registry(&runner).unwrap(), LOCAL_REGISTRY);
        let started = Instant::now();
        assert_eq!(ensure_local_registry(&runner).unwrap(), LOCAL_REGISTRY);
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(probe(LOCAL_REGISTRY.parse().unwrap()), Probe::Registry);
    }
}
