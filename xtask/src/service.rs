//! Running one of our service binaries for `up` and `bench`: pick a port, build the command line
//! with its configuration in the environment, wait until it is ready.

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use harness::backing::mysql::DbParts;

use crate::cmd::Cmd;
use crate::runner::Spawned;

/// `preferred` if it can be bound on all interfaces (as the service will), else a free port.
pub fn pick_port(preferred: Option<u16>) -> Result<u16> {
    if let Some(port) = preferred {
        if TcpListener::bind(("0.0.0.0", port)).is_ok() {
            return Ok(port);
        }
    }
    let listener = TcpListener::bind(("0.0.0.0", 0)).context("finding a free TCP port")?;
    Ok(listener
        .local_addr()
        .context("reading a bound port")?
        .port())
}

/// The command starting the accountd binary on `port` against `db`, loading the test users.
pub fn accountd_cmd(binary: &Path, port: u16, db: &DbParts) -> Cmd {
    Cmd::new(binary.display().to_string())
        .arg("--load-test-data")
        .env("ACCOUNTD__PORT", port.to_string())
        .env("ACCOUNTD__DB__HOST", &db.host)
        .env("ACCOUNTD__DB__PORT", db.port.to_string())
        .env("ACCOUNTD__DB__NAME", &db.name)
        .env("ACCOUNTD__DB__USER", &db.user)
        .env_secret("ACCOUNTD__DB__PASSWORD", &db.password)
}

/// Polls `url` until it answers 200, the process exits, or `timeout` passes.
pub async fn wait_ready(url: &str, process: &mut Spawned, timeout: Duration) -> Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .context("building an HTTP client")?;
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no answer yet");
    while Instant::now() < deadline {
        if let Some(status) = process.try_wait()? {
            bail!(
                "the service exited ({status}) before it was ready; its log:\n{}",
                tail(&process.log, 30)
            );
        }
        match client.get(url).send().await {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => last = format!("HTTP {}", response.status()),
            Err(error) => last = error.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!(
        "{url} was not ready after {:.0} s (last: {last}); its log:\n{}",
        timeout.as_secs_f64(),
        tail(&process.log, 30)
    )
}

/// The last `lines` lines of a log file (empty if unreadable).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn db() -> DbParts {
        DbParts {
            host: "127.0.0.1".into(),
            port: 13306,
            name: "mockvideo_1a2b".into(),
            user: "test".into(),
            password: "s3cret".into(),
        }
    }

    #[test]
    fn accountd_is_configured_through_the_environment() {
        let cmd = accountd_cmd(Path::new("/t/debug/accountd"), 5000, &db());
        assert_eq!(cmd.line(), "/t/debug/accountd --load-test-data");
        assert_eq!(
            cmd.to_string(),
            "ACCOUNTD__PORT=5000 ACCOUNTD__DB__HOST=127.0.0.1 ACCOUNTD__DB__PORT=13306 \
             ACCOUNTD__DB__NAME=mockvideo_1a2b ACCOUNTD__DB__USER=test \
             ACCOUNTD__DB__PASSWORD=*** /t/debug/accountd --load-test-data"
        );
        let password = cmd.env.iter().find(|v| v.key == "ACCOUNTD__DB__PASSWORD");
        assert_eq!(password.map(|v| v.value.as_str()), Some("s3cret"));
    }

    #[test]
    fn pick_port_falls_back_to_a_free_port_when_taken() {
        let taken = TcpListener::bind(("0.0.0.0", 0)).unwrap();
        let port = taken.local_addr().unwrap().port();
        let picked = pick_port(Some(port)).unwrap();
        assert_ne!(picked, port);
        assert_ne!(picked, 0);
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        std::fs::write(&path, "a\nb\nc\n").unwrap();
        assert_eq!(tail(&path, 2), "b\nc");
        assert_eq!(tail(&dir.path().join("missing"), 2), "");
    }
}
