//! accountd's settings, loaded in layers through [`Load`] (see [`platform::config`]):
//! defaults → the seed-format config file → `ACCOUNTD__…` environment → secrets directory.
//!
//! | setting | file key (seed) | environment | secret file | default |
//! |---|---|---|---|---|
//! | `port` | `port` | `ACCOUNTD__PORT` | | 5000 |
//! | `log_level` | `logLevel` | `ACCOUNTD__LOG_LEVEL` | | `info` (0–6 or a filter) |
//! | `db.host` | `dbHost` | `ACCOUNTD__DB__HOST` | | `127.0.0.1` |
//! | `db.port` | `dbPort` | `ACCOUNTD__DB__PORT` | | 3306 |
//! | `db.name` | `dbName` | `ACCOUNTD__DB__NAME` | | `mockvideo` |
//! | `db.user` | | `ACCOUNTD__DB__USER` | `dbuser` | `admin` |
//! | `db.password` | | `ACCOUNTD__DB__PASSWORD` | `dbpassword` | `admin` |
//! | `db.migrate` | | `ACCOUNTD__DB__MIGRATE` | | true |
//! | `max_concurrent_bulk_operations` | `maxConcurrentBulkOperations` | `ACCOUNTD__MAX_CONCURRENT_BULK_OPERATIONS` | | 10 |
//! | `hashing.concurrent` | | `ACCOUNTD__HASHING__CONCURRENT` | | the cores, at most 4 (19 MiB each) |
//! | `hashing.queue` | | `ACCOUNTD__HASHING__QUEUE` | | 64 (a bulk request's users; a single create or update waits behind one hash per thread at most) |
//! | `hashing.wait_ms` | | `ACCOUNTD__HASHING__WAIT_MS` | | 5000 |
//! | `limits.*` | | `ACCOUNTD__LIMITS__BODY_LIMIT_BYTES`, `…__CONCURRENCY_LIMIT`, `…__ADAPTIVE`, `…__MIN_CONCURRENCY`, `…__REQUEST_TIMEOUT`, `…__RETRY_AFTER_SECS` | | see [`Limits`] |
//! | `connections.*` | | `ACCOUNTD__CONNECTIONS__HEADER_READ_TIMEOUT`, `…__IDLE_TIMEOUT`, `…__MAX_CONNECTIONS`, … | | see [`Connections`](platform::serve::Connections) |
//! | `auth.jwt_secret` | | `ACCOUNTD__AUTH__JWT_SECRET` | `jwt-secret` | none: auth off (required with `MOCKVIDEO_ENV=prod`) |
//! | `auth.issuer` | | `ACCOUNTD__AUTH__ISSUER` | | `mockvideo` |
//! | `auth.leeway` | | `ACCOUNTD__AUTH__LEEWAY` | | 30 s |
//! | `auth.max_lifetime` | | `ACCOUNTD__AUTH__MAX_LIFETIME` | | 24 h |
//!
//! With a JWT secret, every route but health, metrics and the OpenAPI document needs a bearer
//! token for the audience `accountd` (see [`platform::auth`]).

pub use platform::mysql::DbSettings;
use platform::{
    auth::AuthSettings,
    config::{ConfigError, Layout, Load, SeedValues},
    http::Limits,
};
use serde::Deserialize;

use crate::domain::password::HashLimits;

/// Environment variable prefix: `ACCOUNTD__DB__HOST` sets `db.host`.
pub const ENV_PREFIX: &str = "ACCOUNTD";

/// Everything accountd needs to start.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Listen port on all interfaces; 0 picks a free one.
    pub port: u16,
    /// Log level when `RUST_LOG` is unset: the seed's 0–6 or an `EnvFilter` directive.
    pub log_level: String,
    /// The MySQL database.
    pub db: DbSettings,
    /// Users of one bulk request processed at the same time (> 0).
    pub max_concurrent_bulk_operations: usize,
    /// Password hashing: how many at once, how many waiting, for how long (beyond: 429).
    pub hashing: HashLimits,
    /// HTTP limits: body size, concurrency, timeout. The adaptive concurrency limit's floor
    /// (`limits.min_concurrency`) defaults to the default number of hashing threads.
    pub limits: Limits,
    /// JWT bearer auth on every route but health, metrics and the OpenAPI document (off unless
    /// a secret is configured).
    pub auth: AuthSettings,
    /// Connection limits: header-read and idle timeouts, connection cap, HTTP/2 streams.
    pub connections: platform::serve::Connections,
    /// `Idempotency-Key` on the writes: how long keys are kept, how long a running request
    /// holds its key (longer than `limits.request_timeout`), the largest body and answer.
    pub idempotency: platform::idempotency::Policy,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            port: 5000,
            log_level: "info".to_owned(),
            db: DbSettings::default(),
            max_concurrent_bulk_operations: 10,
            hashing: HashLimits::default(),
            // Creates are bound by the hashing threads: while they are slow, no more requests
            // than threads need be admitted (the adaptive limit grows again for fast reads).
            limits: Limits {
                min_concurrency: HashLimits::default().concurrent,
                ..Limits::default()
            },
            auth: AuthSettings::default(),
            connections: platform::serve::Connections::default(),
            idempotency: platform::idempotency::Policy::default(),
        }
    }
}

impl Load for Settings {
    const LAYOUT: Layout = Layout {
        prefix: ENV_PREFIX,
        seed_vars: &[],
        seed_values: SeedValues::AsGiven,
        // The seed's config file keys.
        file_keys: &[
            ("port", "port"),
            ("logLevel", "log_level"),
            ("dbHost", "db.host"),
            ("dbPort", "db.port"),
            ("dbName", "db.name"),
            (
                "maxConcurrentBulkOperations",
                "max_concurrent_bulk_operations",
            ),
        ],
        // The seed's secret file names.
        secret_files: &[
            ("dbuser", "db.user"),
            ("dbpassword", "db.password"),
            platform::auth::SECRET_FILE,
        ],
    };

    /// Checks what types cannot: positive sizes, a usable log level, a database to talk to.
    fn validate(&self) -> Result<(), ConfigError> {
        if self.max_concurrent_bulk_operations == 0 {
            return Err(ConfigError::invalid(
                "max_concurrent_bulk_operations",
                "must be greater than zero",
            ));
        }
        if self.hashing.concurrent == 0 {
            return Err(ConfigError::invalid(
                "hashing.concurrent",
                "must be greater than zero",
            ));
        }
        platform::config::check_log_level(&self.log_level)?;
        self.limits.validate()?;
        self.idempotency.validate(self.limits.request_timeout)?;
        self.auth.validate()?;
        self.connections.validate()?;
        self.db.validate()
    }
}

#[cfg(test)]
mod tests {
    use platform::config::vars as env;
    use secrecy::{ExposeSecret, SecretString};

    use super::*;

    #[test]
    fn defaults() {
        let settings = Settings::load_with_env(None, None, env(&[])).unwrap();
        assert_eq!(settings.port, 5000);
        assert_eq!(settings.max_concurrent_bulk_operations, 10);
        assert!(settings.db.migrate);
        assert_eq!(settings.db.user, "admin");
    }

    #[test]
    fn the_seed_config_file_and_secrets_load() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            "port=5000\nlogLevel=4\ndbHost=10.0.0.223\ndbPort=6603\ndbName=mockvideo\n\n# bulk\nmaxConcurrentBulkOperations=3\n",
        )
        .unwrap();
        let secrets = dir.path().join("secrets");
        std::fs::create_dir(&secrets).unwrap();
        std::fs::write(secrets.join("dbuser"), "admin").unwrap();
        std::fs::write(secrets.join("dbpassword"), "s3cret\n").unwrap();
        let settings = Settings::load_with_env(
            Some(&config),
            Some(&secrets),
            env(&[("ACCOUNTD__DB__HOST", "mysql"), ("ACCOUNTD__PORT", "0")]),
        )
        .unwrap();
        assert_eq!(settings.port, 0);
        assert_eq!(settings.log_level, "4");
        assert_eq!(settings.db.host, "mysql");
        assert_eq!(settings.db.port, 6603);
        assert_eq!(settings.max_concurrent_bulk_operations, 3);
        assert_eq!(settings.db.password.expose_secret(), "s3cret");
    }

    #[test]
    fn zero_or_garbage_bulk_concurrency_is_refused_by_name() {
        let error = Settings::load_with_env(
            None,
            None,
            env(&[("ACCOUNTD__MAX_CONCURRENT_BULK_OPERATIONS", "0")]),
        )
        .unwrap_err();
        assert_eq!(error.key(), Some("max_concurrent_bulk_operations"));
        let error = Settings::load_with_env(
            None,
            None,
            env(&[("ACCOUNTD__MAX_CONCURRENT_BULK_OPERATIONS", "ten")]),
        )
        .unwrap_err();
        assert_eq!(error.key(), Some("max_concurrent_bulk_operations"));
    }

    #[test]
    fn bad_port_and_log_level_are_named() {
        let error = Settings::load_with_env(None, None, env(&[("ACCOUNTD__DB__PORT", "99999")]))
            .unwrap_err();
        assert_eq!(error.key(), Some("db.port"), "{error}");
        let error =
            Settings::load_with_env(None, None, env(&[("ACCOUNTD__LOG_LEVEL", "9")])).unwrap_err();
        assert_eq!(error.key(), Some("log_level"), "{error}");
    }

    #[test]
    fn auth_is_off_by_default_and_on_with_the_secret_file() {
        let settings = Settings::load_with_env(None, None, env(&[])).unwrap();
        assert!(settings.auth.jwt_secret.is_none());
        let dir = tempfile::tempdir().unwrap();
        let secret = "0123456789abcdef0123456789abcdef";
        std::fs::write(dir.path().join("jwt-secret"), format!("{secret}\n")).unwrap();
        let settings = Settings::load_with_env(
            None,
            Some(dir.path()),
            env(&[("ACCOUNTD__AUTH__MAX_LIFETIME", "1h")]),
        )
        .unwrap();
        assert_eq!(
            settings.auth.jwt_secret.as_ref().unwrap().expose_secret(),
            secret
        );
        assert_eq!(
            settings.auth.max_lifetime,
            std::time::Duration::from_secs(3600)
        );
        assert!(!format!("{settings:?}").contains(secret));
        std::fs::write(dir.path().join("jwt-secret"), "short").unwrap();
        let error = Settings::load_with_env(None, Some(dir.path()), env(&[])).unwrap_err();
        assert_eq!(error.key(), Some("auth.jwt_secret"));
    }

    #[test]
    fn debug_output_hides_the_password() {
        let mut settings = Settings::default();
        settings.db.password = SecretString::from("hunter2");
        let text = format!("{settings:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("REDACTED"), "{text}");
    }
}
