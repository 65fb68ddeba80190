//! `target/up/endpoints.env`: where the running stack can be reached, for scripts and tests.
//!
//! One `KEY=value` per line (readable by `source`, `docker --env-file` and dotenv loaders), with a
//! comment header. Written once everything is ready, removed when `up` stops.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::paths;

/// One published endpoint, e.g. `ACCOUNTD_URL` = `http://127.0.0.1:5000`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Variable name.
    pub key: String,
    /// Value (a URL).
    pub value: String,
}

impl Endpoint {
    /// An endpoint.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// Where the file goes: the repository's `target/up/endpoints.env`, whatever `CARGO_TARGET_DIR` says.
pub fn path() -> PathBuf {
    paths::up_dir().join("endpoints.env")
}

/// The file's text.
pub fn format(endpoints: &[Endpoint], pid: u32) -> String {
    let mut text = format!(
        "# Written by `cargo xtask up` (pid {pid}); removed when it stops.\n\
         # Load it with: set -a; . target/up/endpoints.env; set +a\n"
    );
    for endpoint in endpoints {
        text.push_str(&format!("{}={}\n", endpoint.key, endpoint.value));
    }
    text
}

/// Writes the file at `path`, creating its directory.
pub fn write(path: &Path, endpoints: &[Endpoint]) -> Result<()> {
    // It holds the development token and the stores' credentials: owner only.
    crate::paths::write_private(path, format(endpoints, std::process::id()).as_bytes())
}

/// Removes the file; returns whether it was there.
pub fn remove(path: &Path) -> Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error).with_context(|| format!("removing {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn file_is_a_header_then_one_key_value_per_line() {
        let text = format(
            &[
                Endpoint::new("ACCOUNTD_URL", "http://127.0.0.1:5000"),
                Endpoint::new(
                    "MYSQL_URL",
                    "mysql://test:test@127.0.0.1:32768/mockvideo_ab12",
                ),
            ],
            77,
        );
        assert_eq!(
            text,
            "# Written by `cargo xtask up` (pid 77); removed when it stops.\n\
             # Load it with: set -a; . target/up/endpoints.env; set +a\n\
             ACCOUNTD_URL=http://127.0.0.1:5000\n\
             MYSQL_URL=mysql://test:test@127.0.0.1:32768/mockvideo_ab12\n"
        );
        let pairs: Vec<(&str, &str)> = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .collect();
        assert_eq!(pairs[0], ("ACCOUNTD_URL", "http://127.0.0.1:5000"));
    }

    #[test]
    fn the_whole_stack_is_one_sourceable_file() {
        let mut endpoints = vec![
            Endpoint::new(
                "MYSQL_URL",
                "mysql://test:test@127.0.0.1:32768/mockvideo_ab12",
            ),
            Endpoint::new("ACCOUNTD_URL", "http://127.0.0.1:5000"),
        ];
        endpoints.extend(crate::up::components::activity_endpoints(
            50051,
            9091,
            Path::new("/work/main/target/debug/activity-client"),
        ));
        endpoints.extend(crate::up::events::redis_endpoints(
            "redis://127.0.0.1:32770",
        ));
        endpoints.push(Endpoint::new("EVENT_PRODUCER_URL", "http://127.0.0.1:8080"));
        endpoints.extend(crate::up::events::consumer_endpoints(
            1,
            "http://127.0.0.1:9092",
        ));
        endpoints.extend(crate::up::events::consumer_endpoints(
            2,
            "http://127.0.0.1:9093",
        ));
        endpoints.push(Endpoint::new("EVENT_SIMULATOR_ACTIVE", "1"));
        let text = format(&endpoints, 77);
        let pairs: Vec<(&str, &str)> = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .collect();
        assert_eq!(
            pairs,
            [
                (
                    "MYSQL_URL",
                    "mysql://test:test@127.0.0.1:32768/mockvideo_ab12"
                ),
                ("ACCOUNTD_URL", "http://127.0.0.1:5000"),
                ("ACTIVITY_ADDR", "127.0.0.1:50051"),
                ("ACTIVITY_ADMIN_URL", "http://127.0.0.1:9091"),
                (
                    "ACTIVITY_CLIENT_BIN",
                    "/work/main/target/debug/activity-client"
                ),
                ("REDIS_URL", "redis://127.0.0.1:32770"),
                ("REDIS_STREAM", "NotificationStream"),
                ("EVENT_PRODUCER_URL", "http://127.0.0.1:8080"),
                ("EVENT_CONSUMER_GROUP", "demo_consumer_group"),
                ("EVENT_CONSUMER_1_ADMIN_URL", "http://127.0.0.1:9092"),
                ("EVENT_CONSUMER_2_ADMIN_URL", "http://127.0.0.1:9093"),
                ("EVENT_SIMULATOR_ACTIVE", "1"),
            ]
        );
        // Every value is safe to `source` unquoted.
        assert!(pairs
            .iter()
            .all(|(_, value)| crate::cmd::quote(value) == *value));
    }

    #[test]
    fn cinema_endpoints_survive_sourcing_by_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("endpoints.env");
        let mongo = "mongodb://127.0.0.1:32771/?directConnection=true";
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1cC1kZXYifQ.c2lnbmF0dXJl_-";
        write(
            &file,
            &[
                Endpoint::new("MONGODB_URL", mongo),
                Endpoint::new("CINEMA_TOKEN", token),
                Endpoint::new("MOVIES_URL", "http://127.0.0.1:8081"),
            ],
        )
        .unwrap();
        let script = format!(
            "set -a; . '{}'; set +a; printf '%s\\n' \"$MONGODB_URL\" \"$CINEMA_TOKEN\" \"$MOVIES_URL\"",
            file.display()
        );
        let output = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(output.stdout).unwrap(),
            format!("{mongo}\n{token}\nhttp://127.0.0.1:8081\n")
        );
    }

    #[test]
    fn file_lives_in_the_repository_target_dir() {
        assert_eq!(path(), paths::repo_root().join("target/up/endpoints.env"));
    }

    #[test]
    fn write_then_remove() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("up/endpoints.env");
        write(&file, &[Endpoint::new("A", "b")]).unwrap();
        assert!(std::fs::read_to_string(&file).unwrap().ends_with("A=b\n"));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        assert!(remove(&file).unwrap());
        assert!(!remove(&file).unwrap());
    }
}
