//! A MySQL-compatible server for tests, from the first provider that works: `MYSQL_URL`, a
//! container (through the engine's API; `mysql:8.4`, else a MariaDB image built locally), or a local
//! `mariadbd`/`mysqld` process. Each test gets its own database from [`MySql::create_database`].
//!
//! `MOCKVIDEO_MYSQL_PROVIDERS` (comma list of `url`, `docker`, `local`; default all three) limits
//! which providers are tried, e.g. to exercise the local-process provider on a machine with Docker.

mod container;
mod from_url;
mod process;
mod ready;
mod scratch_database;

pub use scratch_database::ScratchDatabase;

use std::fmt;

use anyhow::Context as _;
use sqlx::Connection as _;

use tokio::sync::OnceCell;

use super::providers::{self, Chain, Server};

/// MySQL's provisioning chain: `MYSQL_URL`, Docker, local `mariadbd`/`mysqld`.
const CHAIN: Chain = Chain {
    kind: "mysql",
    display: "MySQL",
    url_env: "MYSQL_URL",
    providers_env: "MOCKVIDEO_MYSQL_PROVIDERS",
    local_name: "local mariadbd",
    fix: "Fix one of: run `cargo xtask bootstrap` (installs docker.io and debootstrap, starts \
          dockerd, builds the images); or `apt-get install -y docker.io` and start dockerd; or \
          `apt-get install -y mariadb-server` for a local mariadbd; or set \
          MYSQL_URL=mysql://USER:PASSWORD@HOST:PORT to a server where that user may CREATE DATABASE.",
};

/// Image the container provider tries first (override with `MOCKVIDEO_MYSQL_IMAGE`).
pub const DEFAULT_IMAGE: &str = "mysql:8.4";

/// Where one test database lives: everything a service's settings need.
#[derive(Clone, PartialEq, Eq)]
pub struct DbParts {
    /// Host to connect to (`127.0.0.1` for containers and local processes).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Database name, unique per [`MySql::create_database`] call.
    pub name: String,
    /// User with every privilege on the database.
    pub user: String,
    /// That user's password.
    pub password: String,
}

impl DbParts {
    /// `mysql://user:password@host:port/name`, user and password percent-encoded.
    pub fn url(&self) -> String {
        format!(
            "mysql://{}:{}@{}:{}/{}",
            percent_encode(&self.user),
            percent_encode(&self.password),
            self.host,
            self.port,
            self.name
        )
    }
}

impl fmt::Debug for DbParts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbParts")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("name", &self.name)
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

/// What a provider hands back: the server and a login that may create databases.
type Provisioned = providers::Provisioned<Login>;

/// A user that may create databases, and its password.
struct Login {
    user: String,
    password: String,
}

/// A running MySQL-compatible server the harness may create databases on.
///
/// Dropping it removes the container or kills the process (blocking, best effort); [`stop`]
/// does the same without blocking. Servers still alive when the process exits normally are
/// removed by an exit hook; after a SIGKILL the next provisioning run sweeps them.
///
/// [`stop`]: MySql::stop
pub struct MySql {
    admin_url: String,
    user: String,
    password: String,
    server: Server,
}

impl fmt::Debug for MySql {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MySql")
            .field("server", &self.server)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl MySql {
    /// Provisions a server from the first provider that works, in order: `MYSQL_URL`, Docker,
    /// local `mariadbd`. Every attempt and the winner are printed to stderr. When none works,
    /// the error lists each attempt's reason and what to install.
    pub async fn start() -> anyhow::Result<MySql> {
        let (server, login) = CHAIN
            .start(
                |url| async move { from_url::start(&url).await },
                container::start,
                process::start,
            )
            .await?;
        Ok(MySql::ready(server, login))
    }

    /// One server for the whole test binary, started on first call. For libtest integration
    /// tests that share a server through a static: statics are never dropped, so the server is
    /// removed by the process-exit hook instead. A failed start is remembered, so every test
    /// fails at once with the same message rather than retrying.
    pub async fn shared() -> anyhow::Result<&'static MySql> {
        static SHARED: OnceCell<Result<MySql, String>> = OnceCell::const_new();
        providers::shared(&SHARED, "MySQL", MySql::start).await
    }

    fn ready(server: Server, Login { user, password }: Login) -> MySql {
        let admin_url = format!(
            "mysql://{}:{}@{}:{}",
            percent_encode(&user),
            percent_encode(&password),
            server.host(),
            server.port()
        );
        MySql {
            admin_url,
            user,
            password,
            server,
        }
    }

    /// `mysql://user:password@host:port` of a user that may create databases.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// Where it runs and how it was provided (provider, host, port, container id).
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Creates a database with a unique name (`prefix` made a valid identifier, plus a random
    /// suffix) and returns how to reach it.
    pub async fn create_database(&self, prefix: &str) -> anyhow::Result<DbParts> {
        let name = unique_database_name(prefix);
        self.execute(&format!("CREATE DATABASE `{name}`"))
            .await
            .with_context(|| format!("creating database {name}"))?;
        Ok(DbParts {
            host: self.server.host().to_owned(),
            port: self.server.port(),
            name,
            user: self.user.clone(),
            password: self.password.clone(),
        })
    }

    /// Drops a database (no error when it does not exist).
    pub async fn drop_database(&self, name: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "refusing to drop {name:?}: not a name create_database makes"
        );
        self.execute(&format!("DROP DATABASE IF EXISTS `{name}`"))
            .await
            .with_context(|| format!("dropping database {name}"))
    }

    /// Removes the container or kills the process now.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.server.stop().await
    }

    /// Runs one statement on a fresh connection (no pool: a pool would be tied to the runtime
    /// that created it, and a shared server outlives the runtimes of single tests).
    async fn execute(&self, statement: &str) -> anyhow::Result<()> {
        let work = async {
            let mut connection = sqlx::MySqlConnection::connect(&self.admin_url).await?;
            sqlx::query(statement).execute(&mut connection).await?;
            connection.close().await?;
            Ok::<_, sqlx::Error>(())
        };
        tokio::time::timeout(std::time::Duration::from_secs(30), work)
            .await
            .context("timed out after 30 s")??;
        Ok(())
    }
}

/// `prefix` reduced to `[a-z0-9_]` (at most 40 characters, `db` when empty) plus `_` and 12
/// random hex digits: a valid, unquoted-safe identifier under MySQL's 64-character limit.
fn unique_database_name(prefix: &str) -> String {
    super::unique_name(prefix, 40, "db", '_')
}

/// Percent-encodes everything but RFC 3986 unreserved characters (for URL user info).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_unique_valid_identifiers() {
        let a = unique_database_name("Accountd Tests!");
        let b = unique_database_name("Accountd Tests!");
        assert_ne!(a, b);
        assert!(a.starts_with("accountd_tests__"));
        assert!(a.len() <= 64);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        assert!(unique_database_name("").starts_with("db_"));
        assert!(unique_database_name(&"x".repeat(100)).len() <= 64);
    }

    #[test]
    fn db_parts_url_encodes_user_info_and_hides_the_password_in_debug() {
        let parts = DbParts {
            host: "127.0.0.1".into(),
            port: 3306,
            name: "t_1".into(),
            user: "test".into(),
            password: "p@ss:w/rd".into(),
        };
        assert_eq!(
            parts.url(),
            "mysql://test:p%40ss%3Aw%2Frd@127.0.0.1:3306/t_1"
        );
        assert!(!format!("{parts:?}").contains("p@ss"));
    }
}
