//! A Redis server for tests, from the first provider that works: `REDIS_URL`, a container
//! (through the engine's API; `redis:7`, else a Redis image built locally), or a local `redis-server`
//! process. Tests share a server and keep apart by key prefix ([`Redis::unique_prefix`]).
//!
//! `MOCKVIDEO_REDIS_PROVIDERS` (comma list of `url`, `docker`, `local`; default all three) limits
//! which providers are tried.

mod container;
mod from_url;
mod process;
mod ready;

use std::fmt;

use tokio::sync::OnceCell;

use super::providers::{self, Chain, Server};

/// Redis's provisioning chain: `REDIS_URL`, Docker, local `redis-server`.
const CHAIN: Chain = Chain {
    kind: "redis",
    display: "Redis",
    url_env: "REDIS_URL",
    providers_env: "MOCKVIDEO_REDIS_PROVIDERS",
    local_name: "local redis-server",
    fix: "Fix one of: run `cargo xtask bootstrap` (installs docker.io and debootstrap, starts \
          dockerd, builds the images); or `apt-get install -y docker.io` and start dockerd; or \
          `apt-get install -y redis-server` for a local redis-server; or set \
          REDIS_URL=redis://HOST:PORT to a server the tests may write to.",
};

/// Image the container provider tries first (override with `MOCKVIDEO_REDIS_IMAGE`).
pub const DEFAULT_IMAGE: &str = "redis:7";

/// How the server is started (ignored for `REDIS_URL`, which is used as it is).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedisOptions {
    /// Persist every write to an append-only file (`--appendonly yes --appendfsync always`), so
    /// data survives [`Redis::restart`].
    pub append_only: bool,
}

impl RedisOptions {
    /// Extra `redis-server` arguments for these options.
    fn server_args(&self) -> Vec<&'static str> {
        if self.append_only {
            vec!["--appendonly", "yes", "--appendfsync", "always"]
        } else {
            Vec::new()
        }
    }
}

/// What a provider hands back: the server and its `redis://…` URL as the provider knows it
/// (with credentials for `REDIS_URL`).
type Provisioned = providers::Provisioned<String>;

/// A running Redis server.
///
/// Dropping it removes the container or kills the process (blocking, best effort); [`stop`]
/// does the same without blocking. Servers still alive when the process exits normally are
/// removed by an exit hook; after a SIGKILL the next provisioning run sweeps them.
///
/// [`stop`]: Redis::stop
pub struct Redis {
    url: String,
    options: RedisOptions,
    server: Server,
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redis")
            .field("server", &self.server)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// Provisions a server with default options; see [`Redis::start_with`].
    pub async fn start() -> anyhow::Result<Redis> {
        Redis::start_with(RedisOptions::default()).await
    }

    /// Provisions a server from the first provider that works, in order: `REDIS_URL`, Docker,
    /// local `redis-server`. Every attempt and the winner are printed to stderr. When none
    /// works, the error lists each attempt's reason and what to install.
    pub async fn start_with(options: RedisOptions) -> anyhow::Result<Redis> {
        let (server, url) = CHAIN
            .start(
                |url| async move { from_url::start(&url).await },
                || container::start(options),
                || process::start(options),
            )
            .await?;
        Ok(Redis {
            url,
            options,
            server,
        })
    }

    /// One server (default options) for the whole test binary, started on first call. Statics
    /// are never dropped, so the server is removed by the process-exit hook instead. A failed
    /// start is remembered, so every test fails at once with the same message.
    pub async fn shared() -> anyhow::Result<&'static Redis> {
        static SHARED: OnceCell<Result<Redis, String>> = OnceCell::const_new();
        providers::shared(&SHARED, "Redis", Redis::start).await
    }

    /// `redis://127.0.0.1:PORT` (for `REDIS_URL`, that URL as given). Stays valid across
    /// [`Redis::restart`].
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where it runs and how it was provided (provider, host, port, container id).
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// The options the server was started with.
    pub fn options(&self) -> RedisOptions {
        self.options
    }

    /// A key prefix no other call returns: `name` reduced to `[a-z0-9_]` (at most 40
    /// characters, `test` when empty), `:`, 12 random hex digits, `:`. Tests sharing a server
    /// put every key under their own prefix.
    pub fn unique_prefix(&self, name: &str) -> String {
        unique_prefix(name)
    }

    /// Restarts the container (`docker restart`, graceful stop within 10 s) and waits until
    /// `PING` answers again. The host port is fixed, so [`Redis::url`] stays valid; with
    /// [`RedisOptions::append_only`] the data is kept. Containers only: a `REDIS_URL` server is
    /// not ours to restart, and local processes are not supported.
    pub async fn restart(&self) -> anyhow::Result<()> {
        self.server.restart::<ready::Pong>(&self.url).await
    }

    /// Waits (up to the container start-up limit, 60 s) until `PING` answers `PONG`, e.g. after
    /// a fault (the harness's `fault` module) was undone. Returns how long it waited.
    pub async fn wait_until_ready(&self) -> anyhow::Result<std::time::Duration> {
        self.server.wait_until_ready::<ready::Pong>(&self.url).await
    }

    /// Removes the container or kills the process now.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.server.stop().await
    }
}

/// See [`Redis::unique_prefix`].
fn unique_prefix(name: &str) -> String {
    format!("{}:", super::unique_name(name, 40, "test", ':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_unique_and_readable() {
        let a = unique_prefix("Stream Test!");
        let b = unique_prefix("Stream Test!");
        assert_ne!(a, b);
        assert!(a.starts_with("stream_test_:"));
        assert!(a.ends_with(':'));
        assert_eq!(a.len(), "stream_test_:".len() + 13);
        assert!(unique_prefix("").starts_with("test:"));
        assert!(unique_prefix(&"x".repeat(100)).len() <= 54);
    }

    #[test]
    fn append_only_adds_fsync_always() {
        assert!(RedisOptions::default().server_args().is_empty());
        assert_eq!(
            RedisOptions { append_only: true }.server_args(),
            ["--appendonly", "yes", "--appendfsync", "always"]
        );
    }
}
