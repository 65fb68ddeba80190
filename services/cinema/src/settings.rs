//! The cinema services' settings, loaded in layers (see [`platform::config`]):
//! defaults → optional config file (`key=value` lines with dotted names) → the shared
//! `MONGODB_URL` → `<SERVICE>__…` environment → secrets directory.
//!
//! | setting | environment (movies; likewise `SHOWTIMES__`, `BOOKINGS__`, `USERS__`) | default |
//! |---|---|---|
//! | `port` | `MOVIES__PORT` | 8080 |
//! | `log_level` | `MOVIES__LOG_LEVEL` | `info` |
//! | `mongo.url` | `MOVIES__MONGO__URL`, else `MONGODB_URL`, else secret file `mongodb-url` | `mongodb://127.0.0.1:27017` |
//! | `mongo.database` | `MOVIES__MONGO__DATABASE` | `db` |
//! | `mongo.server_selection_timeout` | `MOVIES__MONGO__SERVER_SELECTION_TIMEOUT` | 2 s |
//! | `mongo.connect_timeout` | `MOVIES__MONGO__CONNECT_TIMEOUT` | 2 s |
//! | `mongo.operation_timeout` | `MOVIES__MONGO__OPERATION_TIMEOUT` | 5 s |
//! | `limits.*` | `MOVIES__LIMITS__BODY_LIMIT_BYTES`, … | see [`Limits`] |
//!
//! Durations are seconds (`2`, `0.5`) or strings with a unit (`"500ms"`). The URL may carry
//! credentials, so it is a secret: never logged.

use std::{path::Path, time::Duration};

use platform::{
    config::{ConfigError, Layered},
    http::Limits,
};
use secrecy::SecretString;
use serde::Deserialize;

use crate::Service;

/// The variable every service reads for the MongoDB URL (below its own `<SERVICE>__MONGO__URL`).
pub const MONGODB_URL: &str = "MONGODB_URL";

/// Secret file names and the settings they set.
const SECRET_FILES: &[(&str, &str)] = &[("mongodb-url", "mongo.url")];

/// Everything one cinema service needs to start.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// HTTP port on all interfaces; 0 picks a free one. Default 8080 (the original's).
    pub port: u16,
    /// Log level when `RUST_LOG` is unset. Default `info`.
    pub log_level: String,
    /// The database.
    pub mongo: MongoSettings,
    /// HTTP limits (body size, concurrency, request timeout, `Retry-After`).
    pub limits: Limits,
}

/// Where the documents live and how long to wait for them.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MongoSettings {
    /// `mongodb://…` connection string (a secret: it may hold a password).
    pub url: SecretString,
    /// The database name. Default `db` (the original's).
    pub database: String,
    /// How long the driver looks for a usable server before a call fails. Default 2 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub server_selection_timeout: Duration,
    /// TCP connect timeout. Default 2 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub connect_timeout: Duration,
    /// Longest one store call may take before the request gets 503. Default 5 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub operation_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            port: 8080,
            log_level: "info".to_owned(),
            mongo: MongoSettings::default(),
            limits: Limits::default(),
        }
    }
}

impl Default for MongoSettings {
    fn default() -> Self {
        Self {
            url: SecretString::from("mongodb://127.0.0.1:27017"),
            database: "db".to_owned(),
            server_selection_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
            operation_timeout: Duration::from_secs(5),
        }
    }
}

impl Settings {
    /// Loads `service`'s settings from the process environment and the given file and secrets
    /// directory (each optional); fails naming the bad setting.
    pub fn load(
        service: Service,
        config_file: Option<&Path>,
        secrets_dir: Option<&Path>,
    ) -> Result<Settings, ConfigError> {
        Self::load_with_env(
            service,
            config_file,
            secrets_dir,
            platform::config::process_env(),
        )
    }

    /// Like [`Settings::load`] with these variables instead of the process environment.
    pub fn load_with_env(
        service: Service,
        config_file: Option<&Path>,
        secrets_dir: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let prefix = service.env_prefix();
        let env: Vec<(String, String)> = env.into_iter().collect();
        // `MONGODB_URL` goes first, so the service's own `<PREFIX>__MONGO__URL` wins over it.
        let mut vars: Vec<(String, String)> = env
            .iter()
            .filter(|(name, _)| name == MONGODB_URL)
            .map(|(_, value)| (format!("{prefix}__MONGO__URL"), value.clone()))
            .collect();
        vars.extend(env);
        Layered::new(prefix)
            .file(config_file, &[])
            .secrets_dir(secrets_dir, SECRET_FILES)
            .env_vars(vars)
            .extract_valid(Settings::validate)
    }

    /// Checks what types cannot: positive timeouts, a database name, a usable log level.
    pub fn validate(&self) -> Result<(), ConfigError> {
        platform::config::check_log_level(&self.log_level)?;
        self.limits.validate()?;
        let mongo = &self.mongo;
        if mongo.database.trim().is_empty() {
            return Err(ConfigError::invalid("mongo.database", "must not be empty"));
        }
        for (key, value) in [
            (
                "mongo.server_selection_timeout",
                mongo.server_selection_timeout,
            ),
            ("mongo.connect_timeout", mongo.connect_timeout),
            ("mongo.operation_timeout", mongo.operation_timeout),
        ] {
            if value.is_zero() {
                return Err(ConfigError::invalid(key, "must be greater than zero"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use platform::config::vars as env;
    use secrecy::ExposeSecret as _;

    use super::*;

    #[test]
    fn defaults() {
        let settings = Settings::load_with_env(Service::Movies, None, None, env(&[])).unwrap();
        assert_eq!(settings.port, 8080);
        assert_eq!(
            settings.mongo.url.expose_secret(),
            "mongodb://127.0.0.1:27017"
        );
        assert_eq!(settings.mongo.database, "db");
        assert_eq!(
            settings.mongo.server_selection_timeout,
            Duration::from_secs(2)
        );
        assert_eq!(settings.mongo.operation_timeout, Duration::from_secs(5));
    }

    #[test]
    fn each_service_reads_its_own_prefix_and_the_shared_url() {
        let vars = env(&[
            ("MONGODB_URL", "mongodb://shared:27017"),
            ("MOVIES__PORT", "0"),
            ("MOVIES__MONGO__DATABASE", "test_1"),
            ("USERS__MONGO__URL", "mongodb://users:27017"),
            ("USERS__MONGO__OPERATION_TIMEOUT", "250ms"),
        ]);
        let movies = Settings::load_with_env(Service::Movies, None, None, vars.clone()).unwrap();
        assert_eq!(movies.port, 0);
        assert_eq!(movies.mongo.database, "test_1");
        assert_eq!(movies.mongo.url.expose_secret(), "mongodb://shared:27017");
        let users = Settings::load_with_env(Service::Users, None, None, vars).unwrap();
        assert_eq!(users.port, 8080);
        assert_eq!(users.mongo.url.expose_secret(), "mongodb://users:27017");
        assert_eq!(users.mongo.operation_timeout, Duration::from_millis(250));
    }

    #[test]
    fn bad_values_are_named() {
        let error = Settings::load_with_env(
            Service::Showtimes,
            None,
            None,
            env(&[("SHOWTIMES__MONGO__CONNECT_TIMEOUT", "0")]),
        )
        .unwrap_err();
        assert_eq!(error.key(), Some("mongo.connect_timeout"));
        let error = Settings::load_with_env(
            Service::Bookings,
            None,
            None,
            env(&[("BOOKINGS__PORT", "http")]),
        )
        .unwrap_err();
        assert_eq!(error.key(), Some("port"));
    }

    #[test]
    fn the_url_is_never_shown() {
        let settings = Settings::load_with_env(
            Service::Movies,
            None,
            None,
            env(&[("MONGODB_URL", "mongodb://admin:hunter2@db:27017")]),
        )
        .unwrap();
        let text = format!("{settings:?}");
        assert!(!text.contains("hunter2"), "{text}");
    }
}
