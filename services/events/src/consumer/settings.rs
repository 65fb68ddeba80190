//! event-consumer's settings, loaded in layers through [`Load`] (see [`platform::config`]): defaults → config
//! file → the seed's variables → `EVENT_CONSUMER__…` environment → secrets directory.
//!
//! | setting | environment | seed variable | default |
//! |---|---|---|---|
//! | `redis.url` | `EVENT_CONSUMER__REDIS__URL` | `REDIS_URL` | none |
//! | `redis.host` / `redis.port` | `EVENT_CONSUMER__REDIS__HOST` / `…__PORT` | `REDIS_HOST` / `REDIS_PORT` | `127.0.0.1` / 6379 |
//! | `redis.password` | `EVENT_CONSUMER__REDIS__PASSWORD`, secret file `redis-password` | `REDIS_PASSWORD` | none |
//! | `redis.stream` | `EVENT_CONSUMER__REDIS__STREAM` | `REDIS_STREAM` | `NotificationStream` |
//! | `group` | `EVENT_CONSUMER__GROUP` | `REDIS_CONSUMER_GROUP` | `demo_consumer_group` |
//! | `consumer` | `EVENT_CONSUMER__CONSUMER` | `REDIS_CONSUMER` | `consumer-<hostname or pid>` |
//! | `admin_port` | `EVENT_CONSUMER__ADMIN_PORT` | | 9092 |
//! | `batch_size` | `EVENT_CONSUMER__BATCH_SIZE` | | 100 |
//! | `block` | `EVENT_CONSUMER__BLOCK` | `REDIS_READ_TIMEOUT` (s) | 1 s |
//! | `claim_min_idle` | `EVENT_CONSUMER__CLAIM_MIN_IDLE` | | 30 s |
//! | `claim_interval` | `EVENT_CONSUMER__CLAIM_INTERVAL` | | 5 s |
//! | `max_deliveries` | `EVENT_CONSUMER__MAX_DELIVERIES` | | 3 |
//! | `dead_letter_stream` | `EVENT_CONSUMER__DEAD_LETTER_STREAM` | | `<stream>:dead` |
//! | `retry_period` | `EVENT_CONSUMER__RETRY_PERIOD` | `REDIS_RETRY_PERIOD` (s) | 1 s |
//! | `log_level` | `EVENT_CONSUMER__LOG_LEVEL` | `LOG_LEVEL` | `info` |

use std::time::Duration;

use platform::config::{ConfigError, Layout, Load, SeedValues};
use serde::Deserialize;

use super::record::dead_letter_key;
use crate::redis_link::{RedisSettings, REDIS_SECRET_FILES};

/// Environment variable prefix: `EVENT_CONSUMER__REDIS__HOST` sets `redis.host`.
pub const ENV_PREFIX: &str = "EVENT_CONSUMER";

/// The seed's group name.
pub const DEFAULT_GROUP: &str = "demo_consumer_group";

/// Everything event-consumer needs to start.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Redis and the stream.
    pub redis: RedisSettings,
    /// Consumer group. Default `demo_consumer_group`.
    pub group: String,
    /// This consumer's name in the group; keep it stable across restarts so the pending
    /// entries of a killed process are read first by its successor.
    pub consumer: String,
    /// Admin HTTP port (`/metrics`, `/livez`, `/readyz`); 0 picks a free one. Default 9092.
    pub admin_port: u16,
    /// Entries per read and per claim. Default 100.
    pub batch_size: usize,
    /// `XREADGROUP … BLOCK`: how long one read waits for new entries. Default 1 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub block: Duration,
    /// `XAUTOCLAIM` min idle time: entries pending that long elsewhere are taken. Default 30 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub claim_min_idle: Duration,
    /// How often to run `XAUTOCLAIM`. Default 5 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub claim_interval: Duration,
    /// Deliveries after which an entry that cannot be processed goes to the dead-letter
    /// stream. Default 3.
    pub max_deliveries: u64,
    /// Dead-letter stream; default `<stream>:dead`.
    pub dead_letter_stream: Option<String>,
    /// Pause after a Redis error before reconnecting. Default 1 s.
    #[serde(deserialize_with = "platform::http::deserialize_duration")]
    pub retry_period: Duration,
    /// Log level when `RUST_LOG` is unset. Default `info`.
    pub log_level: String,
}

/// `consumer-<hostname>`, else `consumer-<pid>`.
pub fn default_consumer_name() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty());
    match host {
        Some(host) => format!("consumer-{host}"),
        None => format!("consumer-{}", std::process::id()),
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            redis: RedisSettings::default(),
            group: DEFAULT_GROUP.to_owned(),
            consumer: default_consumer_name(),
            admin_port: 9092,
            batch_size: 100,
            block: Duration::from_secs(1),
            claim_min_idle: Duration::from_secs(30),
            claim_interval: Duration::from_secs(5),
            max_deliveries: 3,
            dead_letter_stream: None,
            retry_period: Duration::from_secs(1),
            log_level: "info".to_owned(),
        }
    }
}

impl Settings {
    /// The dead-letter stream: the setting, else `<stream>:dead`.
    pub fn dead_letter_stream(&self) -> String {
        self.dead_letter_stream
            .clone()
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| dead_letter_key(&self.redis.stream))
    }
}

impl Load for Settings {
    const LAYOUT: Layout = Layout {
        prefix: ENV_PREFIX,
        seed_vars: &[
            ("REDIS_URL", "redis.url"),
            ("REDIS_HOST", "redis.host"),
            ("REDIS_PORT", "redis.port"),
            ("REDIS_PASSWORD", "redis.password"),
            ("REDIS_STREAM", "redis.stream"),
            ("REDIS_CONSUMER_GROUP", "group"),
            ("REDIS_CONSUMER", "consumer"),
            ("REDIS_READ_TIMEOUT", "block"),
            ("REDIS_RETRY_PERIOD", "retry_period"),
            ("LOG_LEVEL", "log_level"),
        ],
        seed_values: SeedValues::Trimmed,
        file_keys: &[
            ("redisHost", "redis.host"),
            ("redisPort", "redis.port"),
            ("redisStream", "redis.stream"),
            ("consumerGroup", "group"),
            ("consumer", "consumer"),
            ("logLevel", "log_level"),
        ],
        secret_files: REDIS_SECRET_FILES,
    };

    /// Checks what types cannot.
    fn validate(&self) -> Result<(), ConfigError> {
        platform::config::check_log_level(&self.log_level)?;
        for (key, value) in [("group", &self.group), ("consumer", &self.consumer)] {
            if value.trim().is_empty() {
                return Err(ConfigError::invalid(key, "must not be empty"));
            }
        }
        if self.batch_size == 0 {
            return Err(ConfigError::invalid(
                "batch_size",
                "must be greater than zero",
            ));
        }
        if self.max_deliveries == 0 {
            return Err(ConfigError::invalid(
                "max_deliveries",
                "must be greater than zero",
            ));
        }
        for (key, value) in [
            ("claim_interval", self.claim_interval),
            ("retry_period", self.retry_period),
        ] {
            if value.is_zero() {
                return Err(ConfigError::invalid(key, "must be greater than zero"));
            }
        }
        self.redis.validate()
    }
}

#[cfg(test)]
mod tests {
    use platform::config::vars as env;

    use super::*;

    #[test]
    fn defaults() {
        let settings = Settings::load_with_env(None, None, env(&[])).unwrap();
        assert_eq!(settings.group, "demo_consumer_group");
        assert!(settings.consumer.starts_with("consumer-"));
        assert_eq!(settings.admin_port, 9092);
        assert_eq!(settings.batch_size, 100);
        assert_eq!(settings.block, Duration::from_secs(1));
        assert_eq!(settings.max_deliveries, 3);
        assert_eq!(settings.dead_letter_stream(), "NotificationStream:dead");
    }

    #[test]
    fn seed_variables_are_honoured() {
        let settings = Settings::load_with_env(
            None,
            None,
            env(&[
                ("REDIS_HOST", "redis-master"),
                ("REDIS_STREAM", "NotificationMessageStream"),
                ("REDIS_CONSUMER_GROUP", "g"),
                ("REDIS_CONSUMER", "consumer"),
                ("REDIS_READ_TIMEOUT", "10"),
                ("REDIS_RETRY_PERIOD", "2"),
                ("EVENT_CONSUMER__CLAIM_MIN_IDLE", "1500ms"),
                ("EVENT_CONSUMER__DEAD_LETTER_STREAM", "dlq"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.redis.host, "redis-master");
        assert_eq!(settings.redis.stream, "NotificationMessageStream");
        assert_eq!(settings.group, "g");
        assert_eq!(settings.consumer, "consumer");
        assert_eq!(settings.block, Duration::from_secs(10));
        assert_eq!(settings.retry_period, Duration::from_secs(2));
        assert_eq!(settings.claim_min_idle, Duration::from_millis(1500));
        assert_eq!(settings.dead_letter_stream(), "dlq");
    }

    #[test]
    fn bad_values_are_named() {
        let error = Settings::load_with_env(None, None, env(&[("REDIS_READ_TIMEOUT", "soon")]))
            .unwrap_err();
        assert_eq!(error.key(), Some("block"));
        assert!(error.to_string().contains("REDIS_READ_TIMEOUT"), "{error}");
        let error =
            Settings::load_with_env(None, None, env(&[("EVENT_CONSUMER__MAX_DELIVERIES", "0")]))
                .unwrap_err();
        assert_eq!(error.key(), Some("max_deliveries"));
    }
}
