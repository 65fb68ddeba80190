//! event-producer's settings, loaded in layers through [`Load`] (see [`platform::config`]): defaults → config
//! file → the seed's variables → `EVENT_PRODUCER__…` environment → secrets directory.
//!
//! | setting | environment | seed variable | default |
//! |---|---|---|---|
//! | `port` | `EVENT_PRODUCER__PORT` | `REST_SERVER_PORT` | 8080 |
//! | `redis.url` | `EVENT_PRODUCER__REDIS__URL` | `REDIS_URL` | none |
//! | `redis.host` | `EVENT_PRODUCER__REDIS__HOST` | `REDIS_HOST` | `127.0.0.1` |
//! | `redis.port` | `EVENT_PRODUCER__REDIS__PORT` | `REDIS_PORT` | 6379 |
//! | `redis.password` | `EVENT_PRODUCER__REDIS__PASSWORD`, secret file `redis-password` | `REDIS_PASSWORD` | none |
//! | `redis.stream` | `EVENT_PRODUCER__REDIS__STREAM` | `REDIS_STREAM` | `NotificationStream` |
//! | `max_len` | `EVENT_PRODUCER__MAX_LEN` | `REDIS_STREAM_MAX_LEN` | 0 (no trimming) |
//! | `write_timeout` | `EVENT_PRODUCER__WRITE_TIMEOUT` | `REDIS_WRITE_TIMEOUT` (s) | 2 s |
//! | `reconnect_interval` | `EVENT_PRODUCER__RECONNECT_INTERVAL` | | 1 s |
//! | `max_description_bytes` | `EVENT_PRODUCER__MAX_DESCRIPTION_BYTES` | | 65536 (64 KiB) |
//! | `limits.*` | `EVENT_PRODUCER__LIMITS__BODY_LIMIT_BYTES`, … | | see [`Limits`] |
//! | `connections.*` | `EVENT_PRODUCER__CONNECTIONS__HEADER_READ_TIMEOUT`, `…__IDLE_TIMEOUT`, `…__MAX_CONNECTIONS`, … | | see [`Connections`](platform::serve::Connections) |
//! | `log_level` | `EVENT_PRODUCER__LOG_LEVEL` | `LOG_LEVEL` | `info` |
//! | `auth.jwt_secret` | `EVENT_PRODUCER__AUTH__JWT_SECRET`, secret file `jwt-secret` | | none: auth off (required with `MOCKVIDEO_ENV=prod`) |
//! | `auth.issuer`, `auth.leeway`, `auth.max_lifetime` | `EVENT_PRODUCER__AUTH__…` | | `mockvideo`, 30 s, 24 h |
//!
//! With a JWT secret, `POST /event` needs a bearer token for the audience `event-producer` (see
//! [`platform::auth`]).
//!
//! Durations are seconds (`2`, `0.5`) or strings with a unit (`"500ms"`).

use std::time::Duration;

use platform::{
    auth::AuthSettings,
    config::{Alias, ConfigError, Layout, Load, SeedValues},
    http::Limits,
};
use serde::Deserialize;

use crate::redis_link::{RedisSettings, REDIS_SECRET_FILES};

/// Environment variable prefix: `EVENT_PRODUCER__REDIS__HOST` sets `redis.host`.
pub const ENV_PREFIX: &str = "EVENT_PRODUCER";

/// The default of `max_description_bytes`: 64 KiB.
pub const DEFAULT_MAX_DESCRIPTION_BYTES: usize = 64 * 1024;

/// Everything event-producer needs to start.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// HTTP port on all interfaces; 0 picks a free one. Default 8080.
    pub port: u16,
    /// Redis and the stream.
    pub redis: RedisSettings,
    /// `XADD … MAXLEN <n>` (exact); 0 = no trimming. Default 0. A blunt safety cap only: it
    /// drops the oldest entries whether or not every consumer group has read them. The stream
    /// is bounded safely by the consumers (`trim_stream`, see `consumer::trim`).
    pub max_len: u64,
    /// Longest one Redis command may take before the request gets 503. Default 2 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub write_timeout: Duration,
    /// Pause between reconnect attempts, and the period of the link check. Default 1 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub reconnect_interval: Duration,
    /// Longest accepted event description, in bytes; longer ones get 413 (each is stored in
    /// Redis, and read by every consumer). Default 64 KiB.
    pub max_description_bytes: usize,
    /// HTTP limits (body size, concurrency, request timeout, `Retry-After`).
    pub limits: Limits,
    /// Connection limits: header-read and idle timeouts, connection cap, HTTP/2 streams.
    pub connections: platform::serve::Connections,
    /// Log level when `RUST_LOG` is unset (`debug`, `info`, … or 0–6). Default `info`.
    pub log_level: String,
    /// JWT bearer auth on `POST /event` (off unless a secret is configured).
    pub auth: AuthSettings,
    /// How long an `Idempotency-Key` of `POST /event` is remembered (a Redis key with this
    /// lifetime). Default 24 h.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub idempotency_ttl: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            port: 8080,
            redis: RedisSettings::default(),
            max_len: 0,
            write_timeout: Duration::from_secs(2),
            reconnect_interval: Duration::from_secs(1),
            max_description_bytes: DEFAULT_MAX_DESCRIPTION_BYTES,
            limits: Limits::default(),
            connections: platform::serve::Connections::default(),
            log_level: "info".to_owned(),
            auth: AuthSettings::default(),
            idempotency_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

/// The secret files: Redis's password ([`REDIS_SECRET_FILES`]) and the JWT secret.
const SECRET_FILES: &[Alias] = &[
    REDIS_SECRET_FILES[0],
    REDIS_SECRET_FILES[1],
    platform::auth::SECRET_FILE,
];

impl Load for Settings {
    const LAYOUT: Layout = Layout {
        prefix: ENV_PREFIX,
        // The seed's variables and the settings they set.
        seed_vars: &[
            ("REST_SERVER_PORT", "port"),
            ("REDIS_URL", "redis.url"),
            ("REDIS_HOST", "redis.host"),
            ("REDIS_PORT", "redis.port"),
            ("REDIS_PASSWORD", "redis.password"),
            ("REDIS_STREAM", "redis.stream"),
            ("REDIS_STREAM_MAX_LEN", "max_len"),
            ("REDIS_WRITE_TIMEOUT", "write_timeout"),
            ("LOG_LEVEL", "log_level"),
        ],
        seed_values: SeedValues::Trimmed,
        // Config file keys (the Helm values' names) and the settings they set.
        file_keys: &[
            ("port", "port"),
            ("redisHost", "redis.host"),
            ("redisPort", "redis.port"),
            ("redisStream", "redis.stream"),
            ("maxLen", "max_len"),
            ("logLevel", "log_level"),
        ],
        secret_files: SECRET_FILES,
    };

    /// Checks what types cannot: positive timeouts and limits, a usable log level and Redis
    /// address.
    fn validate(&self) -> Result<(), ConfigError> {
        platform::config::check_log_level(&self.log_level)?;
        self.limits.validate()?;
        self.auth.validate()?;
        self.connections.validate()?;
        if self.max_description_bytes == 0 {
            return Err(ConfigError::invalid(
                "max_description_bytes",
                "must be greater than zero",
            ));
        }
        if self.write_timeout.is_zero() {
            return Err(ConfigError::invalid(
                "write_timeout",
                "must be greater than zero",
            ));
        }
        if self.idempotency_ttl < Duration::from_millis(1) {
            return Err(ConfigError::invalid(
                "idempotency_ttl",
                "must be at least 1 ms",
            ));
        }
        if self.reconnect_interval.is_zero() {
            return Err(ConfigError::invalid(
                "reconnect_interval",
                "must be greater than zero",
            ));
        }
        self.redis.validate()
    }
}

#[cfg(test)]
mod tests {
    use platform::config::vars as env;
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn the_jwt_secret_and_every_redis_secret_file_are_read() {
        for alias in REDIS_SECRET_FILES {
            assert!(SECRET_FILES.contains(alias), "{alias:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        let secret = "0123456789abcdef0123456789abcdef";
        std::fs::write(dir.path().join("jwt-secret"), secret).unwrap();
        let settings = Settings::load_with_env(None, Some(dir.path()), env(&[])).unwrap();
        assert_eq!(
            settings.auth.jwt_secret.as_ref().unwrap().expose_secret(),
            secret
        );
        assert!(Settings::default().auth.jwt_secret.is_none());
    }

    #[test]
    fn defaults() {
        let settings = Settings::load_with_env(None, None, env(&[])).unwrap();
        assert_eq!(settings.port, 8080);
        assert_eq!(settings.redis.host, "127.0.0.1");
        assert_eq!(settings.redis.port, 6379);
        assert_eq!(settings.redis.stream, "NotificationStream");
        assert_eq!(settings.max_len, 0);
        assert_eq!(settings.write_timeout, Duration::from_secs(2));
        assert_eq!(settings.limits.body_limit_bytes, 1 << 20);
    }

    #[test]
    fn seed_variables_are_honoured_and_trimmed() {
        let settings = Settings::load_with_env(
            None,
            None,
            env(&[
                ("REST_SERVER_PORT", " 9000 "),
                ("REDIS_HOST", "redis-master"),
                ("REDIS_PORT", "6380"),
                ("REDIS_PASSWORD", "pw"),
                ("REDIS_STREAM", "NotificationMessageStream"),
                ("REDIS_STREAM_MAX_LEN", "100"),
                ("REDIS_WRITE_TIMEOUT", "5"),
                ("LOG_LEVEL", "DEBUG"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.port, 9000);
        assert_eq!(settings.redis.host, "redis-master");
        assert_eq!(settings.redis.port, 6380);
        assert_eq!(
            settings.redis.password.as_ref().unwrap().expose_secret(),
            "pw"
        );
        assert_eq!(settings.redis.stream, "NotificationMessageStream");
        assert_eq!(settings.max_len, 100);
        assert_eq!(settings.write_timeout, Duration::from_secs(5));
        assert_eq!(settings.log_level, "DEBUG");
    }

    #[test]
    fn prefixed_variables_win_over_seed_ones() {
        let settings = Settings::load_with_env(
            None,
            None,
            env(&[
                ("REST_SERVER_PORT", "9000"),
                ("EVENT_PRODUCER__PORT", "0"),
                ("REDIS_URL", "redis://127.0.0.1:7000"),
                ("EVENT_PRODUCER__WRITE_TIMEOUT", "250ms"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.port, 0);
        assert_eq!(
            settings.redis.url.as_deref(),
            Some("redis://127.0.0.1:7000")
        );
        assert_eq!(settings.write_timeout, Duration::from_millis(250));
    }

    #[test]
    fn bad_seed_values_name_the_seed_variable() {
        let error = Settings::load_with_env(None, None, env(&[("REDIS_STREAM_MAX_LEN", "lots")]))
            .unwrap_err();
        assert_eq!(error.key(), Some("max_len"));
        assert!(
            error.to_string().contains("REDIS_STREAM_MAX_LEN"),
            "{error}"
        );
        let error =
            Settings::load_with_env(None, None, env(&[("EVENT_PRODUCER__WRITE_TIMEOUT", "0")]))
                .unwrap_err();
        assert_eq!(error.key(), Some("write_timeout"));
    }

    #[test]
    fn password_from_the_secret_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("redis-password"), "s3cret\n").unwrap();
        let settings = Settings::load_with_env(None, Some(dir.path()), env(&[])).unwrap();
        assert_eq!(
            settings.redis.password.as_ref().unwrap().expose_secret(),
            "s3cret"
        );
        assert!(!format!("{settings:?}").contains("s3cret"));
    }
}
