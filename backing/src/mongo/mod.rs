//! A MongoDB-wire server for tests, from the first provider that works: `MONGODB_URL`, a
//! container (through the engine's API; `mongo:7`, else a SecantusDB image built locally), or a local
//! `mongod` / `secantusd-rs` / `secantusd-py` process. Tests share a server and keep apart by
//! database ([`Mongo::unique_database`]).
//!
//! `MOCKVIDEO_MONGO_PROVIDERS` (comma list of `url`, `docker`, `local`; default all three) limits
//! which providers are tried.

mod container;
mod from_url;
mod process;
mod ready;

use std::fmt;

use anyhow::Context as _;
use tokio::sync::OnceCell;

use super::providers::{self, Chain, Server};

/// MongoDB's provisioning chain: `MONGODB_URL`, Docker, a local server.
const CHAIN: Chain = Chain {
    kind: "mongo",
    display: "MongoDB",
    url_env: "MONGODB_URL",
    providers_env: "MOCKVIDEO_MONGO_PROVIDERS",
    local_name: "local mongod/secantusd",
    fix: "Fix one of: run `cargo xtask bootstrap` (installs docker.io and debootstrap, starts \
          dockerd, builds the images, among them a SecantusDB image); or `apt-get install -y \
          docker.io` and start dockerd; or `pip install secantusdb` for a local secantusd-py; or \
          set MONGODB_URL=mongodb://HOST:PORT/?directConnection=true to a server the tests may \
          write to.",
};

/// Image the container provider tries first (override with `MOCKVIDEO_MONGO_IMAGE`).
pub const DEFAULT_IMAGE: &str = "mongo:7";

/// Longest name [`Mongo::unique_database`] returns, in bytes (MongoDB allows 63; this leaves
/// room for collection namespaces).
pub const MAX_DATABASE_NAME: usize = 38;

/// What a provider hands back: the server and its `mongodb://…` URL as the provider knows it
/// (with credentials for `MONGODB_URL`).
type Provisioned = providers::Provisioned<String>;

/// A running MongoDB-wire server.
///
/// Dropping it removes the container or kills the process (blocking, best effort); [`stop`]
/// does the same without blocking. Servers still alive when the process exits normally are
/// removed by an exit hook; after a SIGKILL the next provisioning run sweeps them.
///
/// [`stop`]: Mongo::stop
pub struct Mongo {
    url: String,
    server: Server,
}

impl fmt::Debug for Mongo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mongo")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl Mongo {
    /// Provisions a server from the first provider that works, in order: `MONGODB_URL`,
    /// Docker, a local `mongod` / SecantusDB. Every attempt and the winner are printed to
    /// stderr. When none works, the error lists each attempt's reason and what to install.
    pub async fn start() -> anyhow::Result<Mongo> {
        let (server, url) = CHAIN
            .start(
                |url| async move { from_url::start(&url).await },
                container::start,
                process::start,
            )
            .await?;
        Ok(Mongo { url, server })
    }

    /// One server for the whole test binary, started on first call. Statics are never dropped,
    /// so the server is removed by the process-exit hook instead. A failed start is remembered,
    /// so every test fails at once with the same message.
    pub async fn shared() -> anyhow::Result<&'static Mongo> {
        static SHARED: OnceCell<Result<Mongo, String>> = OnceCell::const_new();
        providers::shared(&SHARED, "MongoDB", Mongo::start).await
    }

    /// `mongodb://127.0.0.1:PORT/?directConnection=true` (for `MONGODB_URL`, that URL as
    /// given). Stays valid across [`Mongo::restart`].
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where it runs and how it was provided (provider, host, port, container id).
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// A database name no other call returns: `name` reduced to `[a-z0-9_]` (at most 25
    /// characters, `test` when empty), `_`, 12 random hex digits; at most
    /// [`MAX_DATABASE_NAME`] bytes. Each test or scenario works in its own database.
    pub fn unique_database(&self, name: &str) -> String {
        unique_database(name)
    }

    /// Drops the database `name` (dropping one that does not exist succeeds).
    pub async fn drop_database(&self, name: &str) -> anyhow::Result<()> {
        let attempt = async {
            let client = ready::quick_client(&self.url).await?;
            let dropped = client.database(name).drop().await;
            client.shutdown().await;
            dropped
        };
        tokio::time::timeout(std::time::Duration::from_secs(30), attempt)
            .await
            .with_context(|| format!("dropping database {name} timed out"))?
            .with_context(|| format!("dropping database {name}"))
    }

    /// Restarts the container (`docker restart`, graceful stop within 10 s) and waits until
    /// `ping` answers again. The host port is fixed, so [`Mongo::url`] stays valid, and the data
    /// lives inside the container, so it is kept. Containers only: a `MONGODB_URL` server is not
    /// ours to restart, and local processes are not supported.
    pub async fn restart(&self) -> anyhow::Result<()> {
        self.server.restart::<ready::Ping>(&self.url).await
    }

    /// Waits (up to the container start-up limit, 60 s) until `ping` succeeds, e.g. after a
    /// fault (the harness's `fault` module) was undone. Returns how long it waited.
    pub async fn wait_until_ready(&self) -> anyhow::Result<std::time::Duration> {
        self.server.wait_until_ready::<ready::Ping>(&self.url).await
    }

    /// Removes the container or kills the process now.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.server.stop().await
    }
}

/// See [`Mongo::unique_database`].
fn unique_database(name: &str) -> String {
    super::unique_name(name, MAX_DATABASE_NAME - 13, "test", '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_unique_sanitized_and_short() {
        let a = unique_database("Movies: list/all.");
        let b = unique_database("Movies: list/all.");
        assert_ne!(a, b);
        assert!(a.starts_with("movies__list_all__"), "{a}");
        assert_eq!(a.len(), "movies__list_all__".len() + 12);
        assert!(unique_database("").starts_with("test_"));
        assert!(unique_database("../").starts_with("test_"));
        let long = unique_database(&"é x".repeat(100));
        assert!(long.len() <= MAX_DATABASE_NAME, "{long}");
        assert!(long
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
    }
}
