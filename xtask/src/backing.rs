//! The few calls xtask makes into `harness::backing`: images, stale-container sweep, MySQL,
//! Redis, MongoDB.
//!
//! Kept in one small module so the rest of xtask does not depend on the harness's exact shapes.

use anyhow::{Context, Result};
use harness::backing::mongo::Mongo;
use harness::backing::mysql::{DbParts, MySql};
use harness::backing::redis::Redis;
use harness::backing::{docker, images};

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

/// A Redis server started for `up` or `bench events`.
pub struct RedisServer {
    server: Redis,
}

impl RedisServer {
    /// Starts Redis (the harness tries REDIS_URL, a container, a local redis-server, in that
    /// order).
    pub async fn start() -> Result<Self> {
        let server = Redis::start().await.context("starting Redis")?;
        eprintln!("redis: using {}", server.server().provider());
        Ok(Self { server })
    }

    /// `redis://HOST:PORT` (with credentials when REDIS_URL carried them).
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
        stop_server("Redis", self.provider(), self.server.stop()).await
    }
}

/// A MongoDB-wire server started for `up`.
pub struct MongoServer {
    server: Mongo,
}

impl MongoServer {
    /// Starts MongoDB (the harness tries MONGODB_URL, a container, a local mongod or SecantusDB,
    /// in that order).
    pub async fn start() -> Result<Self> {
        let server = Mongo::start().await.context("starting MongoDB")?;
        eprintln!("mongo: using {}", server.server().provider());
        Ok(Self { server })
    }

    /// `mongodb://HOST:PORT/?directConnection=true` (MONGODB_URL as given, with credentials).
    pub fn url(&self) -> &str {
        self.server.url()
    }

    /// How the server was provided, in words.
    pub fn provider(&self) -> String {
        self.server.server().provider().to_string()
    }

    /// Stops the server (removes the container or kills the process).
    pub async fn stop(self) -> Result<String> {
        stop_server("MongoDB", self.provider(), self.server.stop()).await
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
