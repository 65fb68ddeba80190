//! activity-server's settings, loaded in layers through [`Load`] (see [`platform::config`]):
//! defaults → config file → `PORT` (the original's only setting) → `ACTIVITY__…` environment
//! → secrets directory.
//!
//! | setting | file key | environment | secret file | default |
//! |---|---|---|---|---|
//! | `port` | `port` | `ACTIVITY__PORT`, else `PORT` | | 50051 |
//! | `admin_port` | `adminPort` | `ACTIVITY__ADMIN_PORT` | | 9091 |
//! | `log_level` | `logLevel` | `ACTIVITY__LOG_LEVEL` | | `info` (0–6 or a filter) |
//! | `db.host` | `dbHost` | `ACTIVITY__DB__HOST` | | `127.0.0.1` |
//! | `db.port` | `dbPort` | `ACTIVITY__DB__PORT` | | 3306 |
//! | `db.name` | `dbName` | `ACTIVITY__DB__NAME` | | `activity` |
//! | `db.user` | | `ACTIVITY__DB__USER` | `dbuser` | `admin` |
//! | `db.password` | | `ACTIVITY__DB__PASSWORD` | `dbpassword` | `admin` |
//! | `db.migrate` | | `ACTIVITY__DB__MIGRATE` | | true |
//! | `limits.*` | | `ACTIVITY__LIMITS__MAX_MESSAGE_BYTES`, `…__MAX_MESSAGE_CHARS`, `…__CONCURRENCY_LIMIT`, `…__REQUEST_TIMEOUT`, `…__DRAIN_DEADLINE`, `…__MAX_LIST_STREAMS`, `…__STREAM_SEND_TIMEOUT` | | see [`GrpcLimits`] |
//! | `grpc.*` | | `ACTIVITY__GRPC__REFLECTION`, `…__MAX_CONCURRENT_STREAMS`, `…__CONCURRENCY_LIMIT_PER_CONNECTION`, `…__HTTP2_KEEPALIVE_INTERVAL`, … | | see [`GrpcServer`] |
//!
//! The service needs its own database (sqlx keeps one migrations table per database), hence
//! the default `activity` rather than accountd's `mockvideo`.

use std::time::Duration;

use platform::{
    config::{ConfigError, Layout, Load, SeedValues},
    mysql::DbSettings,
};
use serde::Deserialize;

/// Environment variable prefix: `ACTIVITY__DB__HOST` sets `db.host`.
pub const ENV_PREFIX: &str = "ACTIVITY";

/// The original server's port variable, honoured when `ACTIVITY__PORT` is not set.
pub const PORT_VAR: &str = "PORT";

/// Everything activity-server needs to start.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// gRPC port on all interfaces; 0 picks a free one.
    pub port: u16,
    /// Admin HTTP port (`/metrics`, `/livez`, `/readyz`) on all interfaces; 0 picks a free one.
    pub admin_port: u16,
    /// Log level when `RUST_LOG` is unset: 0–6 (logrus numbers) or an `EnvFilter` directive.
    pub log_level: String,
    /// The MySQL database holding the events (database name `activity` unless given).
    #[serde(deserialize_with = "activity_db")]
    pub db: DbSettings,
    /// gRPC limits.
    pub limits: GrpcLimits,
    /// The gRPC server's connections and optional services.
    pub grpc: GrpcServer,
}

/// How much the gRPC server accepts before it pushes back.
///
/// Durations are a number of seconds (`10`, `0.5`) or a string with a unit (`"500ms"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpcLimits {
    /// Largest request message accepted; larger ones get `RESOURCE_EXHAUSTED`. Default 64 KiB.
    pub max_message_bytes: usize,
    /// Longest event message, in characters; longer ones get `INVALID_ARGUMENT`. Default 4096.
    pub max_message_chars: usize,
    /// Calls in flight across all connections (a stream counts until it ends); more get
    /// `RESOURCE_EXHAUSTED` at once. Health checks are not counted. Default 256.
    pub concurrency_limit: usize,
    /// Longest time a call may take to answer (for `ListEvents`: to start streaming); slower
    /// calls are cancelled. Default 10 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub request_timeout: Duration,
    /// Longest time in-flight calls and streams get after shutdown starts; streams still
    /// running then end with `UNAVAILABLE`. Default 10 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub drain_deadline: Duration,
    /// `ListEvents` streams open at once; more get `RESOURCE_EXHAUSTED` at once. A stream's
    /// slot is freed when the server has sent its last event or ended it. Default 32.
    pub max_list_streams: usize,
    /// Longest a `ListEvents` stream waits for the client to take the next event (a client that
    /// stops reading); then it ends with `DEADLINE_EXCEEDED`. Default 30 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub stream_send_timeout: Duration,
}

/// The gRPC server's connection settings and optional services.
///
/// Durations are a number of seconds (`10`, `0.5`) or a string with a unit (`"500ms"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpcServer {
    /// Serve gRPC server reflection (`grpc.reflection.v1`), for grpcurl and the like. Default
    /// true; the prod values turn it off.
    pub reflection: bool,
    /// HTTP/2 streams (calls) open at once on one connection. Default 100.
    pub max_concurrent_streams: u32,
    /// Calls handled at once on one connection; more wait for a slot. Default 64.
    pub concurrency_limit_per_connection: usize,
    /// How often a connection is pinged (HTTP/2), to find dead clients. Default 30 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub http2_keepalive_interval: Duration,
    /// How long a ping may go unanswered before the connection is closed. Default 10 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub http2_keepalive_timeout: Duration,
    /// Largest header list of a call (decoded), in bytes. Default 16 KiB.
    pub http2_max_header_list_size: u32,
    /// TCP keep-alive probes on accepted connections, after this much silence. Default 60 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub tcp_keepalive: Duration,
}

impl Default for GrpcServer {
    fn default() -> Self {
        Self {
            reflection: true,
            max_concurrent_streams: 100,
            concurrency_limit_per_connection: 64,
            http2_keepalive_interval: Duration::from_secs(30),
            http2_keepalive_timeout: Duration::from_secs(10),
            http2_max_header_list_size: 16 * 1024,
            tcp_keepalive: Duration::from_secs(60),
        }
    }
}

impl GrpcServer {
    /// Checks the values that would make the server unusable; names the bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            (
                "grpc.max_concurrent_streams",
                usize::try_from(self.max_concurrent_streams).unwrap_or(usize::MAX),
            ),
            (
                "grpc.concurrency_limit_per_connection",
                self.concurrency_limit_per_connection,
            ),
            (
                "grpc.http2_max_header_list_size",
                usize::try_from(self.http2_max_header_list_size).unwrap_or(usize::MAX),
            ),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(ConfigError::invalid(key, "must be greater than zero"));
            }
        }
        let durations = [
            (
                "grpc.http2_keepalive_interval",
                self.http2_keepalive_interval,
            ),
            ("grpc.http2_keepalive_timeout", self.http2_keepalive_timeout),
            ("grpc.tcp_keepalive", self.tcp_keepalive),
        ];
        for (key, value) in durations {
            if value.is_zero() {
                return Err(ConfigError::invalid(key, "must be greater than zero"));
            }
        }
        Ok(())
    }
}

/// The database activity-server uses unless told otherwise.
pub const DEFAULT_DB_NAME: &str = "activity";

fn default_db() -> DbSettings {
    DbSettings {
        name: DEFAULT_DB_NAME.to_owned(),
        ..DbSettings::default()
    }
}

fn activity_db<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<DbSettings, D::Error> {
    platform::mysql::deserialize_over(default_db(), deserializer)
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            port: 50051,
            admin_port: 9091,
            log_level: "info".to_owned(),
            db: default_db(),
            limits: GrpcLimits::default(),
            grpc: GrpcServer::default(),
        }
    }
}

impl Default for GrpcLimits {
    fn default() -> Self {
        Self {
            max_message_bytes: 64 * 1024,
            max_message_chars: 4096,
            concurrency_limit: 256,
            request_timeout: Duration::from_secs(10),
            drain_deadline: Duration::from_secs(10),
            max_list_streams: 32,
            stream_send_timeout: Duration::from_secs(30),
        }
    }
}

impl GrpcLimits {
    /// Checks the values that would make the server unusable; names the bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("limits.max_message_bytes", self.max_message_bytes),
            ("limits.max_message_chars", self.max_message_chars),
            ("limits.concurrency_limit", self.concurrency_limit),
            ("limits.max_list_streams", self.max_list_streams),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(ConfigError::invalid(key, "must be greater than zero"));
            }
        }
        let durations = [
            ("limits.request_timeout", self.request_timeout),
            ("limits.stream_send_timeout", self.stream_send_timeout),
        ];
        for (key, value) in durations {
            if value.is_zero() {
                return Err(ConfigError::invalid(key, "must be greater than zero"));
            }
        }
        Ok(())
    }
}

impl Load for Settings {
    const LAYOUT: Layout = Layout {
        prefix: ENV_PREFIX,
        seed_vars: &[(PORT_VAR, "port")],
        // As the original read it: an empty `PORT` is not a port.
        seed_values: SeedValues::AsGiven,
        // Config file keys (the accountd seed's style) and the settings they set.
        file_keys: &[
            ("port", "port"),
            ("adminPort", "admin_port"),
            ("logLevel", "log_level"),
            ("dbHost", "db.host"),
            ("dbPort", "db.port"),
            ("dbName", "db.name"),
        ],
        secret_files: &[("dbuser", "db.user"), ("dbpassword", "db.password")],
    };

    /// Checks what types cannot: positive limits, a usable log level, a database to talk to.
    fn validate(&self) -> Result<(), ConfigError> {
        platform::config::check_log_level(&self.log_level)?;
        self.limits.validate()?;
        self.grpc.validate()?;
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
        assert_eq!(settings.port, 50051);
        assert_eq!(settings.admin_port, 9091);
        assert_eq!(settings.db.name, "activity");
        assert!(settings.db.migrate);
        assert_eq!(settings.limits, GrpcLimits::default());
        assert_eq!(settings.limits.max_message_bytes, 65536);
        assert_eq!(settings.limits.max_message_chars, 4096);
        assert_eq!(settings.limits.max_list_streams, 32);
        assert_eq!(settings.limits.stream_send_timeout, Duration::from_secs(30));
        assert!(settings.grpc.reflection);
        assert_eq!(settings.grpc, GrpcServer::default());
    }

    #[test]
    fn reflection_and_stream_bounds_are_settings() {
        let settings = Settings::load_with_env(
            None,
            None,
            env(&[
                ("ACTIVITY__GRPC__REFLECTION", "false"),
                ("ACTIVITY__LIMITS__STREAM_SEND_TIMEOUT", "2s"),
                ("ACTIVITY__LIMITS__MAX_LIST_STREAMS", "3"),
            ]),
        )
        .unwrap();
        assert!(!settings.grpc.reflection);
        assert_eq!(settings.limits.stream_send_timeout, Duration::from_secs(2));
        assert_eq!(settings.limits.max_list_streams, 3);
        let error = Settings::load_with_env(
            None,
            None,
            env(&[("ACTIVITY__GRPC__MAX_CONCURRENT_STREAMS", "0")]),
        )
        .unwrap_err();
        assert_eq!(error.key(), Some("grpc.max_concurrent_streams"));
    }

    #[test]
    fn port_comes_from_port_unless_activity_port_is_set() {
        let settings = Settings::load_with_env(None, None, env(&[("PORT", "5000")])).unwrap();
        assert_eq!(settings.port, 5000);
        let settings = Settings::load_with_env(
            None,
            None,
            env(&[("PORT", "5000"), ("ACTIVITY__PORT", "0")]),
        )
        .unwrap();
        assert_eq!(settings.port, 0);
        let error = Settings::load_with_env(None, None, env(&[("PORT", "grpc")])).unwrap_err();
        assert_eq!(error.key(), Some("port"));
        assert!(
            error.to_string().contains("environment variable PORT"),
            "{error}"
        );
    }

    #[test]
    fn file_env_and_secrets_layer() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            "# activity\nport=6000\nadminPort=0\ndbHost=db.internal\nlimits.max_message_chars=100\n",
        )
        .unwrap();
        let secrets = dir.path().join("secrets");
        std::fs::create_dir(&secrets).unwrap();
        std::fs::write(secrets.join("dbpassword"), "s3cret\n").unwrap();
        let settings = Settings::load_with_env(
            Some(&config),
            Some(&secrets),
            env(&[
                ("ACTIVITY__DB__PORT", "3307"),
                ("ACTIVITY__LIMITS__REQUEST_TIMEOUT", "500ms"),
                ("ACTIVITY__LIMITS__DRAIN_DEADLINE", "2"),
            ]),
        )
        .unwrap();
        assert_eq!((settings.port, settings.admin_port), (6000, 0));
        assert_eq!(settings.db.host, "db.internal");
        assert_eq!(settings.db.port, 3307);
        assert_eq!(
            settings.db.name, DEFAULT_DB_NAME,
            "kept although db.* values were given"
        );
        assert_eq!(settings.db.password.expose_secret(), "s3cret");
        assert_eq!(settings.limits.max_message_chars, 100);
        assert_eq!(settings.limits.request_timeout, Duration::from_millis(500));
        assert_eq!(settings.limits.drain_deadline, Duration::from_secs(2));
    }

    #[test]
    fn bad_values_are_named() {
        let error = Settings::load_with_env(
            None,
            None,
            env(&[("ACTIVITY__LIMITS__CONCURRENCY_LIMIT", "0")]),
        )
        .unwrap_err();
        assert_eq!(error.key(), Some("limits.concurrency_limit"));
        let error =
            Settings::load_with_env(None, None, env(&[("ACTIVITY__ADMIN_PORT", "x")])).unwrap_err();
        assert_eq!(error.key(), Some("admin_port"));
        let error =
            Settings::load_with_env(None, None, env(&[("ACTIVITY__DB__NAME", "")])).unwrap_err();
        assert_eq!(error.key(), Some("db.name"));
    }

    #[test]
    fn debug_output_hides_the_password() {
        let mut settings = Settings::default();
        settings.db.password = SecretString::from("hunter2");
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
