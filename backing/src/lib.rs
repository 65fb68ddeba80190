//! Backing services for tests (MySQL, Redis, a MongoDB-wire server), provisioned from a URL,
//! a container or a local process, and cleaned up whatever happens to the run.
//!
//! - [`mysql`]: [`mysql::MySql`] and the per-test [`mysql::DbParts`].
//! - [`redis`]: [`redis::Redis`], isolated per test by key prefixes.
//! - [`mongo`]: [`mongo::Mongo`] (MongoDB or SecantusDB), isolated per test by database.
//! - [`Server`]: what every provisioned server has (provider, host, port, container, clean-up).
//! - [`docker`]: engine access, the ownership labels, the stale-container sweep.
//! - `container`: the container provider every server shares (pull, or the local recipe).
//! - [`images`]: images built locally from recipes (no registry needed).
//! - [`scratch`]: owner-named scratch directories for local server processes, and their sweep.
//! - [`owner`]: who owns a container or directory, and whether that process still runs.
//! - [`launch`]: the one launcher of our binaries as child processes (log, readiness, stop).
//! - [`wait`]: the one poller behind every "until ready" loop.
//! - [`port`]: the one free-port picker.
//! - [`workspace`]: the checkout a command runs from (run-time `CARGO_MANIFEST_DIR`).

pub(crate) mod cleanup;
pub(crate) mod container;
pub mod docker;
pub(crate) mod fixed_port;
pub mod images;
pub mod launch;
pub(crate) mod local;
pub mod mongo;
pub mod mysql;
pub mod owner;
pub mod port;
pub(crate) mod providers;
pub(crate) mod ready;
pub mod redis;
pub mod scratch;
pub mod wait;
pub mod workspace;

pub use providers::Server;

/// Removes what earlier runs that are gone left behind: labelled containers
/// ([`docker::sweep_stale`], skipped without an engine) and scratch directories with their server
/// processes ([`scratch::sweep_stale`]). Returns how many things were removed.
pub async fn sweep_stale() -> anyhow::Result<usize> {
    let directories = tokio::task::spawn_blocking(scratch::sweep_stale)
        .await
        .unwrap_or(0);
    let containers = if docker::probe().await.is_ok() {
        docker::sweep_stale().await?
    } else {
        0
    };
    Ok(directories + containers)
}

/// `name` reduced to `[a-z0-9_]` (lower case, at most `max` characters, `fallback` when nothing
/// but `_` is left), then `separator` and 12 random hex digits: a name no other call returns,
/// for databases and key prefixes that keep tests apart.
pub(crate) fn unique_name(name: &str, max: usize, fallback: &str, separator: char) -> String {
    let mut clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(max)
        .collect();
    if clean.trim_matches('_').is_empty() {
        clean = fallback.to_owned();
    }
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{clean}{separator}{}", &suffix[..12])
}

/// Decodes escapes written as `marker` followed by `width` digits in `radix` (URL `%XX`, the
/// kernel's `\NNN` octal in `/proc/self/mounts`); invalid escapes are kept as written.
pub(crate) fn unescape(text: &str, marker: u8, width: usize, radix: u32) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == marker && i + 1 + width <= bytes.len() {
            let value = std::str::from_utf8(&bytes[i + 1..i + 1 + width])
                .ok()
                .and_then(|digits| u8::from_str_radix(digits, radix).ok());
            if let Some(value) = value {
                out.push(value);
                i += 1 + width;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
