//! The cinema services' settings, loaded in layers through [`Settings::layout`] (see
//! [`platform::config`]): defaults → optional config file (`key=value` lines with dotted
//! names) → the shared `MONGODB_URL` → `<SERVICE>__…` environment → secrets directory.
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
//! | `mongo.write_concern_timeout` | `MOVIES__MONGO__WRITE_CONCERN_TIMEOUT` | 2 s (capped at `mongo.operation_timeout`) |
//! | `idempotency.ttl`, `.lease`, `.max_body_bytes`, `.max_answer_bytes` | `MOVIES__IDEMPOTENCY__TTL`, … | 24 h, 30 s (longer than `limits.request_timeout`), 1 MiB, 1 MiB: see [`Policy`] |
//! | `limits.*` | `MOVIES__LIMITS__BODY_LIMIT_BYTES`, … | see [`Limits`] |
//! | `connections.*` | `MOVIES__CONNECTIONS__HEADER_READ_TIMEOUT`, `…__IDLE_TIMEOUT`, `…__MAX_CONNECTIONS`, … | see [`Connections`](platform::serve::Connections) |
//! | `auth.jwt_secret` | `MOVIES__AUTH__JWT_SECRET`, else `CINEMA_JWT_SECRET`; secret file `jwt-secret` wins | none: auth off |
//! | `auth.issuer` | `MOVIES__AUTH__ISSUER` | `mockvideo` |
//! | `auth.leeway` | `MOVIES__AUTH__LEEWAY` | 30 s |
//! | `auth.max_lifetime` | `MOVIES__AUTH__MAX_LIFETIME` | 24 h |
//! | `suggestions.movies_url` | `USERS__SUGGESTIONS__MOVIES_URL`, else `MOVIES_URL` | `http://cinema-movies-svc` |
//! | `suggestions.showtimes_url` | `USERS__SUGGESTIONS__SHOWTIMES_URL`, else `SHOWTIMES_URL` | `http://cinema-showtimes-svc` |
//! | `suggestions.bookings_url` | `USERS__SUGGESTIONS__BOOKINGS_URL`, else `BOOKINGS_URL` | `http://cinema-bookings-svc` |
//! | `suggestions.timeout` | `USERS__SUGGESTIONS__TIMEOUT` | 2 s |
//! | `suggestions.attempts` | `USERS__SUGGESTIONS__ATTEMPTS` | 3 |
//! | `suggestions.retry_backoff` | `USERS__SUGGESTIONS__RETRY_BACKOFF` | 100 ms |
//! | `suggestions.concurrent` | `USERS__SUGGESTIONS__CONCURRENT` | 16 |
//! | `suggestions.queue` | `USERS__SUGGESTIONS__QUEUE` | 32 |
//! | `suggestions.queue_wait` | `USERS__SUGGESTIONS__QUEUE_WAIT` | 500 ms |
//! | `suggestions.upstream_calls` | `USERS__SUGGESTIONS__UPSTREAM_CALLS` | 3 |
//!
//! Durations are seconds (`2`, `0.5`) or strings with a unit (`"500ms"`). The URL may carry
//! credentials, so it is a secret: never logged; so is the JWT secret, which turns on auth for
//! every write (see [`platform::auth`]; a token's audience is the service's name) and must be at
//! least 32 bytes long; with `MOCKVIDEO_ENV=prod` it is required. The `suggestions.*`
//! settings are the users service's calls to the other three (see
//! [`crate::users::suggestions`]); the default URLs are the Kubernetes service names.

use std::{path::Path, time::Duration};

use platform::{
    config::{Alias, ConfigError, Layout, SeedValues},
    http::Limits,
    idempotency::Policy,
};
use secrecy::SecretString;
use serde::Deserialize;

use crate::Service;

/// The variable every service reads for the MongoDB URL (below its own `<SERVICE>__MONGO__URL`).
pub const MONGODB_URL: &str = "MONGODB_URL";

/// The variable every service reads for the JWT secret (below its own
/// `<SERVICE>__AUTH__JWT_SECRET`).
pub const CINEMA_JWT_SECRET: &str = "CINEMA_JWT_SECRET";

/// The shared variables every service reads below its own `<SERVICE>__…` ones, and the settings
/// they set: the MongoDB URL, the JWT secret and the URLs naming the other services (what
/// `cargo xtask up` publishes).
pub const SHARED_VARS: &[Alias] = &[
    (MONGODB_URL, "mongo.url"),
    (CINEMA_JWT_SECRET, "auth.jwt_secret"),
    ("MOVIES_URL", "suggestions.movies_url"),
    ("SHOWTIMES_URL", "suggestions.showtimes_url"),
    ("BOOKINGS_URL", "suggestions.bookings_url"),
];

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
    /// Connection limits: header-read and idle timeouts, connection cap, HTTP/2 streams.
    pub connections: platform::serve::Connections,
    /// JWT auth on writes (off unless a secret is configured).
    pub auth: AuthSettings,
    /// Where the users service finds the other three, and how long it waits for them.
    pub suggestions: SuggestionSettings,
    /// `Idempotency-Key` on the writes: how long keys are kept, how long a running request
    /// holds its key (longer than `limits.request_timeout`), the largest body and answer.
    pub idempotency: Policy,
}

/// The users service's calls to the movies, showtimes and bookings services for
/// `GET /users/{id}/suggestions`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SuggestionSettings {
    /// Base URL of the movies service. Default `http://cinema-movies-svc` (its Kubernetes name).
    pub movies_url: String,
    /// Base URL of the showtimes service. Default `http://cinema-showtimes-svc`.
    pub showtimes_url: String,
    /// Base URL of the bookings service. Default `http://cinema-bookings-svc`.
    pub bookings_url: String,
    /// The whole budget of one suggestions request for its calls to the others, retries
    /// included; past it the answer is 504. Default 2 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub timeout: Duration,
    /// Tries per call (1 = no retry); only refused connections, 5xx and 429 are retried.
    /// Default 3.
    pub attempts: u32,
    /// Pause before the first retry, doubled before each next one. Default 100 ms.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub retry_backoff: Duration,
    /// Suggestion requests computed at once in this process (> 0). Default 16.
    pub concurrent: usize,
    /// Suggestion requests waiting for a slot at most; one more gets 429 at once. Default 32.
    pub queue: usize,
    /// Longest a suggestion request waits for a slot before it gets 429. Default 500 ms.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub queue_wait: Duration,
    /// Calls to the other services one suggestion request makes at once (> 0; 1 = one after
    /// the other). Default 3 (all of them).
    pub upstream_calls: usize,
}

impl Default for SuggestionSettings {
    fn default() -> Self {
        Self {
            movies_url: "http://cinema-movies-svc".to_owned(),
            showtimes_url: "http://cinema-showtimes-svc".to_owned(),
            bookings_url: "http://cinema-bookings-svc".to_owned(),
            timeout: Duration::from_secs(2),
            attempts: 3,
            retry_backoff: Duration::from_millis(100),
            concurrent: 16,
            queue: 32,
            queue_wait: Duration::from_millis(500),
            upstream_calls: 3,
        }
    }
}

/// Who may write: see [`platform::auth`].
pub use platform::auth::AuthSettings;

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
    /// The `wtimeout` of every write's write concern (`w: majority, j: true`): how long the
    /// server may wait for a journaled majority before it answers a write-concern error (503;
    /// the write may still land, and a retry with its `Idempotency-Key` finds it).
    /// Capped at `operation_timeout` ([`MongoSettings::wtimeout`]). Default 2 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub write_concern_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            port: 8080,
            log_level: "info".to_owned(),
            mongo: MongoSettings::default(),
            limits: Limits::default(),
            connections: platform::serve::Connections::default(),
            auth: AuthSettings::default(),
            suggestions: SuggestionSettings::default(),
            idempotency: Policy::default(),
        }
    }
}

impl MongoSettings {
    /// The `wtimeout` sent: `write_concern_timeout`, but never longer than `operation_timeout`
    /// (the server must answer before the service gives up on it).
    pub fn wtimeout(&self) -> Duration {
        self.write_concern_timeout.min(self.operation_timeout)
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
            write_concern_timeout: Duration::from_secs(2),
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
        Self::layout(service).load(config_file, secrets_dir, Settings::validate)
    }

    /// Like [`Settings::load`] with these variables instead of the process environment.
    pub fn load_with_env(
        service: Service,
        config_file: Option<&Path>,
        secrets_dir: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        Self::layout(service).load_with_env(config_file, secrets_dir, env, Settings::validate)
    }

    /// Where `service`'s settings come from, besides the given file (dotted names only) and
    /// secrets directory.
    pub const fn layout(service: Service) -> Layout {
        Layout {
            prefix: service.env_prefix(),
            seed_vars: SHARED_VARS,
            // A URL or secret is used as given; an empty one is not "unset".
            seed_values: SeedValues::AsGiven,
            file_keys: &[],
            secret_files: &[("mongodb-url", "mongo.url"), platform::auth::SECRET_FILE],
        }
    }

    /// Checks what types cannot: positive timeouts, a database name, a usable log level, an
    /// idempotency lease longer than a request may last.
    pub fn validate(&self) -> Result<(), ConfigError> {
        platform::config::check_log_level(&self.log_level)?;
        self.limits.validate()?;
        self.idempotency.validate(self.limits.request_timeout)?;
        self.connections.validate()?;
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
            ("mongo.write_concern_timeout", mongo.write_concern_timeout),
            ("suggestions.timeout", self.suggestions.timeout),
        ] {
            if value.is_zero() {
                return Err(ConfigError::invalid(key, "must be greater than zero"));
            }
        }

        self.suggestions.validate()?;
        self.auth.validate()?;
        Ok(())
    }
}

impl SuggestionSettings {
    /// Checks the URLs are `http://` (the services speak plain HTTP inside the cluster), and
    /// that at least one attempt, one computation and one call at a time are allowed.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, url) in [
            ("suggestions.movies_url", &self.movies_url),
            ("suggestions.showtimes_url", &self.showtimes_url),
            ("suggestions.bookings_url", &self.bookings_url),
        ] {
            let scheme_ok = url.starts_with("http://");
            if !scheme_ok || url.parse::<http::Uri>().is_err() {
                return Err(ConfigError::invalid(
                    key,
                    format!("must be an http:// URL (got {url:?})"),
                ));
            }
        }
        for (key, value) in [
            ("suggestions.attempts", self.attempts as usize),
            ("suggestions.concurrent", self.concurrent),
            ("suggestions.upstream_calls", self.upstream_calls),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(key, "must be at least 1"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
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
    fn idempotency_and_write_concern_settings_are_checked() {
        let settings = Settings::load_with_env(
            Service::Users,
            None,
            None,
            env(&[
                ("USERS__IDEMPOTENCY__TTL", "1h"),
                ("USERS__MONGO__WRITE_CONCERN_TIMEOUT", "500ms"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.idempotency.ttl, Duration::from_secs(3600));
        assert_eq!(settings.idempotency.lease, Duration::from_secs(30));
        assert_eq!(settings.mongo.wtimeout(), Duration::from_millis(500));
        let mut capped = settings.mongo.clone();
        capped.operation_timeout = Duration::from_millis(300);
        assert_eq!(capped.wtimeout(), Duration::from_millis(300));
        for (name, value, key) in [
            ("MOVIES__IDEMPOTENCY__LEASE", "5s", "idempotency"),
            (
                "MOVIES__MONGO__WRITE_CONCERN_TIMEOUT",
                "0",
                "mongo.write_concern_timeout",
            ),
        ] {
            let error = Settings::load_with_env(Service::Movies, None, None, env(&[(name, value)]))
                .unwrap_err();
            assert_eq!(error.key(), Some(key), "{name}={value}: {error}");
        }
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

    #[test]
    fn the_shared_service_urls_point_the_users_service_at_the_others() {
        let vars = env(&[
            ("MOVIES_URL", "http://127.0.0.1:8081"),
            ("SHOWTIMES_URL", "http://127.0.0.1:8082"),
            ("BOOKINGS_URL", "http://127.0.0.1:8083"),
            ("USERS__SUGGESTIONS__BOOKINGS_URL", "http://bookings.local"),
            ("USERS__SUGGESTIONS__TIMEOUT", "750ms"),
        ]);
        let users = Settings::load_with_env(Service::Users, None, None, vars).unwrap();
        assert_eq!(users.suggestions.movies_url, "http://127.0.0.1:8081");
        assert_eq!(users.suggestions.showtimes_url, "http://127.0.0.1:8082");
        assert_eq!(users.suggestions.bookings_url, "http://bookings.local");
        assert_eq!(users.suggestions.timeout, Duration::from_millis(750));
        assert_eq!(users.suggestions.attempts, 3);
        let defaults = Settings::default().suggestions;
        assert_eq!(defaults.movies_url, "http://cinema-movies-svc");
    }

    #[test]
    fn bad_suggestion_settings_are_named() {
        for (name, value, key) in [
            (
                "USERS__SUGGESTIONS__MOVIES_URL",
                "127.0.0.1:8081",
                "suggestions.movies_url",
            ),
            ("USERS__SUGGESTIONS__ATTEMPTS", "0", "suggestions.attempts"),
            ("USERS__SUGGESTIONS__TIMEOUT", "0", "suggestions.timeout"),
        ] {
            let error = Settings::load_with_env(Service::Users, None, None, env(&[(name, value)]))
                .unwrap_err();
            assert_eq!(error.key(), Some(key), "{name}={value}: {error}");
        }
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn auth_is_off_by_default_and_on_with_a_secret() {
        let settings = Settings::load_with_env(Service::Movies, None, None, env(&[])).unwrap();
        assert!(settings.auth.jwt_secret.is_none());
        assert!(settings
            .auth
            .verifier(platform::auth::Audience::Movies)
            .is_none());
        assert!(Settings::default()
            .auth
            .verifier(platform::auth::Audience::Movies)
            .is_none());

        let vars = env(&[
            ("CINEMA_JWT_SECRET", SECRET),
            (
                "USERS__AUTH__JWT_SECRET",
                "users-own-secret-of-32-bytes-or-more",
            ),
            ("USERS__AUTH__LEEWAY", "5s"),
        ]);
        let movies = Settings::load_with_env(Service::Movies, None, None, vars.clone()).unwrap();
        assert_eq!(
            movies.auth.jwt_secret.as_ref().unwrap().expose_secret(),
            SECRET
        );
        assert_eq!(movies.auth.leeway, Duration::from_secs(30));
        assert!(movies
            .auth
            .verifier(platform::auth::Audience::Movies)
            .is_some());
        let users = Settings::load_with_env(Service::Users, None, None, vars).unwrap();
        assert_eq!(
            users.auth.jwt_secret.as_ref().unwrap().expose_secret(),
            "users-own-secret-of-32-bytes-or-more"
        );
        assert_eq!(users.auth.leeway, Duration::from_secs(5));
    }

    #[test]
    fn the_jwt_secret_is_read_from_the_secrets_directory() {
        let dir = std::env::temp_dir().join(format!("cinema-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("jwt-secret"), format!("{SECRET}\n")).unwrap();
        let settings = Settings::load_with_env(
            Service::Bookings,
            None,
            Some(&dir),
            env(&[("CINEMA_JWT_SECRET", "the-environment-loses-to-the-file!!")]),
        );
        std::fs::remove_dir_all(&dir).unwrap();
        let settings = settings.unwrap();
        assert_eq!(
            settings.auth.jwt_secret.as_ref().unwrap().expose_secret(),
            SECRET
        );
    }

    #[test]
    fn a_short_jwt_secret_is_a_start_up_error_naming_the_setting() {
        let error = Settings::load_with_env(
            Service::Movies,
            None,
            None,
            env(&[("CINEMA_JWT_SECRET", "too-short")]),
        )
        .unwrap_err();
        assert_eq!(error.key(), Some("auth.jwt_secret"));
        assert!(!error.to_string().contains("too-short"), "{error}");
    }

    #[test]
    fn the_jwt_secret_is_never_shown() {
        let settings = Settings::load_with_env(
            Service::Movies,
            None,
            None,
            env(&[("CINEMA_JWT_SECRET", SECRET)]),
        )
        .unwrap();
        let text = format!("{settings:?}");
        assert!(!text.contains(SECRET), "{text}");
    }
}
