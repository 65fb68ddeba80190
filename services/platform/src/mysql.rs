//! MySQL for every service: the `db.*` settings ([`DbSettings`]), the pool ([`connect`], with
//! an `acquire_timeout`), migrations ([`migrate`], each service passes its own embedded
//! `sqlx::migrate!` migrator) and a cheap liveness query ([`ping`]).
//!
//! Each service owns its own database: sqlx records applied migrations in one
//! `_sqlx_migrations` table per database, so two services' migrators must not share one.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sqlx::{
    migrate::Migrator,
    mysql::{MySqlConnectOptions, MySqlPoolOptions},
    ConnectOptions as _, MySqlPool,
};

use crate::config::ConfigError;

/// Connections in a service's pool.
pub const MAX_CONNECTIONS: u32 = 16;

/// How long a request waits for a pooled connection before it fails.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a service's database lives (`db.*` in its settings).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DbSettings {
    /// MySQL host.
    pub host: String,
    /// MySQL port.
    pub port: u16,
    /// Database name.
    pub name: String,
    /// User name.
    pub user: String,
    /// Password (never logged).
    pub password: SecretString,
    /// Apply the service's migrations at start-up.
    pub migrate: bool,
}

impl Default for DbSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 3306,
            name: "mockvideo".to_owned(),
            user: "admin".to_owned(),
            password: SecretString::from("admin"),
            migrate: true,
        }
    }
}

impl DbSettings {
    /// Checks what types cannot: a host and a database name to talk to.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.host.trim().is_empty() {
            return Err(ConfigError::invalid("db.host", "must not be empty"));
        }
        if self.name.trim().is_empty() {
            return Err(ConfigError::invalid("db.name", "must not be empty"));
        }
        Ok(())
    }

    /// Connection options (nothing is logged, the password least of all).
    pub fn connect_options(&self) -> MySqlConnectOptions {
        connect_options(self)
    }

    /// `database "name" at host:port as "user"`, for messages (no password).
    pub fn describe(&self) -> String {
        format!(
            "MySQL database {:?} at {}:{} as {:?}",
            self.name, self.host, self.port, self.user
        )
    }
}

/// The `db.*` values actually given; the rest come from a service's own defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct DbOverrides {
    host: Option<String>,
    port: Option<u16>,
    name: Option<String>,
    user: Option<String>,
    password: Option<SecretString>,
    migrate: Option<bool>,
}

/// Deserializes `db.*` settings over `defaults` instead of [`DbSettings::default`], for a
/// service whose defaults differ (e.g. its own database name). Use it from a
/// `#[serde(deserialize_with = "…")]` function: serde's container defaults apply only when
/// the whole `db` table is absent, so without it one `db.port` would reset `db.name` to
/// `mockvideo`.
pub fn deserialize_over<'de, D>(
    defaults: DbSettings,
    deserializer: D,
) -> Result<DbSettings, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let given = DbOverrides::deserialize(deserializer)?;
    Ok(DbSettings {
        host: given.host.unwrap_or(defaults.host),
        port: given.port.unwrap_or(defaults.port),
        name: given.name.unwrap_or(defaults.name),
        user: given.user.unwrap_or(defaults.user),
        password: given.password.unwrap_or(defaults.password),
        migrate: given.migrate.unwrap_or(defaults.migrate),
    })
}

/// Why the database could not be used at start-up.
#[derive(Debug, thiserror::Error)]
pub enum MySqlError {
    /// The pool could not open a connection.
    #[error("connecting to {target}: {cause}")]
    Connect {
        /// Which database, where, as whom (never the password).
        target: String,
        /// What went wrong (connection refused, access denied, …).
        cause: String,
    },
    /// A migration failed.
    #[error("applying the migrations in {source_dir}")]
    Migrate {
        /// Where the migrations come from, e.g. `sql/activity/migrations`.
        source_dir: String,
        /// sqlx's error.
        source: sqlx::migrate::MigrateError,
    },
}

/// Connection options for `db` (nothing is logged, the password least of all).
pub fn connect_options(db: &DbSettings) -> MySqlConnectOptions {
    MySqlConnectOptions::new()
        .host(&db.host)
        .port(db.port)
        .username(&db.user)
        .password(db.password.expose_secret())
        .database(&db.name)
}

/// Opens the pool ([`MAX_CONNECTIONS`], [`ACQUIRE_TIMEOUT`]) and checks that the database
/// answers.
pub async fn connect(db: &DbSettings) -> Result<MySqlPool, MySqlError> {
    let result = MySqlPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_with(connect_options(db))
        .await;
    let cause = match result {
        Ok(pool) => return Ok(pool),
        // The pool retries until its timeout and then forgets why; one direct attempt tells
        // the operator (connection refused, unknown host, …).
        Err(sqlx::Error::PoolTimedOut) => {
            let attempt =
                tokio::time::timeout(ACQUIRE_TIMEOUT, connect_options(db).connect()).await;
            match attempt {
                Ok(Err(error)) => error.to_string(),
                Ok(Ok(_)) => "the database answered only after the pool gave up".to_owned(),
                Err(_) => format!("no answer within {ACQUIRE_TIMEOUT:?}"),
            }
        }
        Err(error) => error.to_string(),
    };
    Err(MySqlError::Connect {
        target: db.describe(),
        cause,
    })
}

/// Applies `migrator`'s pending migrations; `source_dir` names them in errors.
pub async fn migrate(
    pool: &MySqlPool,
    migrator: &Migrator,
    source_dir: &str,
) -> Result<(), MySqlError> {
    migrator
        .run(pool)
        .await
        .map_err(|source| MySqlError::Migrate {
            source_dir: source_dir.to_owned(),
            source,
        })
}

/// `SELECT 1` on a pooled connection: the database answers.
pub async fn ping(pool: &MySqlPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let db = DbSettings::default();
        assert!(db.migrate);
        assert!(db.validate().is_ok());
        let empty = DbSettings {
            name: " ".to_owned(),
            ..DbSettings::default()
        };
        assert_eq!(empty.validate().unwrap_err().key(), Some("db.name"));
        let no_host = DbSettings {
            host: String::new(),
            ..DbSettings::default()
        };
        assert_eq!(no_host.validate().unwrap_err().key(), Some("db.host"));
    }

    #[test]
    fn descriptions_hide_the_password() {
        let db = DbSettings {
            password: SecretString::from("hunter2"),
            ..DbSettings::default()
        };
        assert!(!format!("{db:?}").contains("hunter2"));
        assert!(!db.describe().contains("hunter2"));
        assert!(db.describe().contains("127.0.0.1:3306"));
    }

    #[derive(Debug, Deserialize)]
    struct Service {
        #[serde(deserialize_with = "own_db")]
        db: DbSettings,
    }

    fn own_db<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<DbSettings, D::Error> {
        let defaults = DbSettings {
            name: "own".to_owned(),
            ..DbSettings::default()
        };
        deserialize_over(defaults, deserializer)
    }

    #[test]
    fn a_service_keeps_its_own_defaults_when_some_db_values_are_given() {
        let env = [
            ("SVC__DB__PORT".to_owned(), "3307".to_owned()),
            ("SVC__DB__PASSWORD".to_owned(), "12345".to_owned()),
        ];
        let service: Service = crate::config::Layered::new("SVC")
            .env_vars(env)
            .extract()
            .unwrap();
        assert_eq!(service.db.name, "own");
        assert_eq!(service.db.port, 3307);
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&service.db.password),
            "12345"
        );
        let error = crate::config::Layered::new("SVC")
            .env_vars([("SVC__DB__HOTS".to_owned(), "typo".to_owned())])
            .extract::<Service>()
            .unwrap_err();
        assert_eq!(error.key(), Some("db.hots"), "{error}");
        let error = crate::config::Layered::new("SVC")
            .env_vars([("SVC__DB__PORT".to_owned(), "x".to_owned())])
            .extract::<Service>()
            .unwrap_err();
        assert_eq!(error.key(), Some("db.port"), "{error}");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_named_in_the_error() {
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        let db = DbSettings {
            port: 1,
            ..DbSettings::default()
        };
        let error = connect(&db).await.unwrap_err();
        let message = error.to_string();
        assert!(message.contains("127.0.0.1:1"), "{message}");
    }
}
