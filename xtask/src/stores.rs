//! The stores xtask provisions through the `backing` crate (MySQL, Redis, MongoDB), and its few
//! other calls into it: the images, the stale-container sweep.
//!
//! Kept in one small module so the rest of xtask does not depend on the crate's exact shapes.
//! (Named `stores`, not `backing`, so that `backing::…` always means the crate.)

use anyhow::{Context, Result};
use backing::mongo::Mongo;
use backing::mysql::{DbParts, MySql};
use backing::redis::Redis;
use backing::{docker, images, Server};

/// Builds every image the harness has a recipe for (base, MariaDB, Redis, …) if missing; returns
/// one line per image.
pub async fn ensure_images() -> Result<Vec<String>> {
    let mut ready = Vec::new();
    for recipe in images::RECIPES {
        let reference = images::ensure_image(recipe)
            .await
            .with_context(|| format!("building the image {}", recipe.repository))?;
        ready.push(format!("image {reference} ready"));
    }
    Ok(ready)
}

/// The image references bootstrap builds (for `doctor`).
pub fn image_references() -> Vec<(&'static str, String)> {
    // Every recipe the harness knows, so a new backing service shows up here by itself.
    images::RECIPES
        .iter()
        .map(|recipe| (recipe.repository, recipe.reference()))
        .collect()
}

/// Removes containers left behind by dead processes; returns a note for the summary.
pub async fn sweep_stale() -> Result<String> {
    let removed = docker::sweep_stale()
        .await
        .context("sweeping stale harness containers")?;
    Ok(format!("removed {removed} stale container(s)"))
}

/// A MySQL server started for `up` or `bench`, with one database created on it.
pub struct Database {
    server: MySql,
    /// Connection parts of the created database.
    pub parts: DbParts,
}

impl Database {
    /// Starts MySQL (the harness tries MYSQL_URL, a container, a local mariadbd, in that order)
    /// and creates a fresh database named after `prefix`.
    pub async fn start(prefix: &str) -> Result<Self> {
        let server = MySql::start().await.context("starting MySQL")?;
        eprintln!("mysql: using {}", server.server().provider());
        let parts = server
            .create_database(prefix)
            .await
            .with_context(|| format!("creating a `{prefix}` database"))?;
        Ok(Self { server, parts })
    }

    /// Creates one more fresh database on the same server, named after `prefix`.
    pub async fn create_database(&self, prefix: &str) -> Result<DbParts> {
        self.server
            .create_database(prefix)
            .await
            .with_context(|| format!("creating a `{prefix}` database"))
    }

    /// How the server was provided, in words.
    pub fn provider(&self) -> String {
        self.server.server().provider().to_string()
    }

    /// Stops the server (removes the container or kills the process).
    pub async fn stop(self) -> Result<String> {
        stop_server("MySQL", self.provider(), self.server.stop()).await
    }
}

/// What xtask needs of a harness server it starts whole (Redis, MongoDB): how to start and stop
/// it, its URL and the shared [`Server`] facts.
pub trait HarnessServer: Sized + Send + Sync + 'static {
    /// Its name in messages, e.g. `Redis`.
    const DISPLAY: &'static str;
    /// Provisions one (URL, container or local process, as the harness decides).
    fn provision() -> impl std::future::Future<Output = anyhow::Result<Self>> + Send;
    /// Its URL as clients use it.
    fn url(&self) -> &str;
    /// Provider, host, port, container.
    fn server(&self) -> &Server;
    /// Removes the container or kills the process.
    fn stop(self) -> impl std::future::Future<Output = anyhow::Result<()>> + Send;
}

impl HarnessServer for Redis {
    const DISPLAY: &'static str = "Redis";
    async fn provision() -> anyhow::Result<Self> {
        Redis::start().await
    }
    fn url(&self) -> &str {
        Redis::url(self)
    }
    fn server(&self) -> &Server {
        Redis::server(self)
    }
    async fn stop(self) -> anyhow::Result<()> {
        Redis::stop(self).await
    }
}

impl HarnessServer for Mongo {
    const DISPLAY: &'static str = "MongoDB";
    async fn provision() -> anyhow::Result<Self> {
        Mongo::start().await
    }
    fn url(&self) -> &str {
        Mongo::url(self)
    }
    fn server(&self) -> &Server {
        Mongo::server(self)
    }
    async fn stop(self) -> anyhow::Result<()> {
        Mongo::stop(self).await
    }
}

/// A harness server started for `up` or `bench`, with the messages xtask prints about it.
pub struct UpServer<S: HarnessServer> {
    server: S,
}

/// Redis for `up` and `bench events` (`REDIS_URL`, a container, a local redis-server).
pub type RedisServer = UpServer<Redis>;

/// MongoDB for `up` (`MONGODB_URL`, a container, a local mongod or SecantusDB); its URL is
/// `mongodb://HOST:PORT/?directConnection=true` unless MONGODB_URL said otherwise.
pub type MongoServer = UpServer<Mongo>;

impl<S: HarnessServer> UpServer<S> {
    /// Starts the server, trying the harness's providers in order.
    pub async fn start() -> Result<Self> {
        let server = S::provision()
            .await
            .with_context(|| format!("starting {}", S::DISPLAY))?;
        eprintln!(
            "{}: using {}",
            S::DISPLAY.to_lowercase(),
            server.server().provider()
        );
        Ok(Self { server })
    }

    /// The URL clients use (with credentials when the given URL carried them).
    pub fn url(&self) -> &str {
        self.server.url()
    }

    /// How the server was provided, in words.
    pub fn provider(&self) -> String {
        self.server.server().provider().to_string()
    }

    /// The container's id, when Docker provided the server.
    pub fn container_id(&self) -> Option<&str> {
        self.server.server().container_id()
    }

    /// Stops the server (removes the container or kills the process).
    pub async fn stop(self) -> Result<String> {
        let provider = self.provider();
        stop_server(S::DISPLAY, provider, self.server.stop()).await
    }
}

/// Awaits `stop` of the `display` server provided by `provider`; returns
/// `stopped <display> (<provider>)`.
async fn stop_server(
    display: &str,
    provider: String,
    stop: impl std::future::Future<Output = Result<()>>,
) -> Result<String> {
    stop.await
        .with_context(|| format!("stopping {display} ({provider})"))?;
    Ok(format!("stopped {display} ({provider})"))
}
